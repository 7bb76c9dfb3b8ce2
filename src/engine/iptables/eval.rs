//! Runs a packet through the chains of one table at one hook, as the
//! kernel's `ipt_do_table` does: rules in order, first match wins, jumps push
//! a return point, goto does not, RETURN pops, a built-in chain's policy
//! decides when it runs out. Every decision becomes a trace step.

use super::ipset::IpSets;
use super::rule::{
    addrtype, ctstate, CtSide, CtTest, Dir, Match, MatchKind, NatRange, Recent, RejectWith, Rule,
};
use super::{Hook, Table, TableName, Target};
use crate::engine::packet::{Packet, Proto, Transport};
use crate::engine::trace::{Entry, Layer, RuleRef, Skip, Step, StepKind};
use std::net::Ipv4Addr;

/// A rule's place, for state kept per rule (counters, nth, forced draws).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleAt {
    pub table: TableName,
    pub chain: usize,
    pub rule: usize,
}

/// What the walk needs from the namespace around it.
pub trait Env: Facts {
    /// A random draw for `statistic --mode random` (31 bits, as the kernel
    /// uses), and whether the caller forces this rule's outcome.
    fn draw(&mut self, at: RuleAt) -> (u32, Option<bool>);
    /// Advances and tests the `statistic --mode nth` counter of a rule's
    /// match number `which` (each match of a rule counts on its own).
    fn nth(&mut self, at: RuleAt, which: usize, every: u32, packet: u32) -> bool;
    /// Runs a `recent` match against the namespace's lists; `negated`: the
    /// match is written with `!` (`--update` then stamps when the rule's
    /// test holds, as the kernel does). The result is before negation.
    fn recent(&mut self, r: &Recent, addr: Ipv4Addr, negated: bool) -> bool;
    /// Takes a packet from a `limit` match's bucket (match number `which`
    /// of the rule): whether there was one.
    fn limit(&mut self, _at: RuleAt, _which: usize, _avg: u32, _burst: u32) -> bool {
        true
    }
    /// Counts a matched rule (`iptables -L -v` counters).
    fn count(&mut self, at: RuleAt, bytes: u64);
    /// A `NOTRACK` rule matched: the packet is not to be tracked.
    fn notrack(&mut self) {}
    /// A `CONNMARK` rule set the connection's mark.
    fn set_ct_mark(&mut self, _mark: u32) {}
}

/// A packet's connection, as `-m conntrack --ctorigdst` and the others
/// read it: its tuples (the reply one as NAT has made it so far), the
/// packet's direction, its status bits ([`super::rule::ctstatus`]) and the
/// seconds it has left (0 before it is confirmed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CtView {
    pub original: crate::engine::trace::Tuple,
    pub reply: crate::engine::trace::Tuple,
    pub reply_dir: bool,
    pub status: u8,
    pub expires: u64,
}

impl CtView {
    fn addr(&self, side: CtSide) -> Ipv4Addr {
        match side {
            CtSide::OrigSrc => self.original.src,
            CtSide::OrigDst => self.original.dst,
            CtSide::ReplSrc => self.reply.src,
            CtSide::ReplDst => self.reply.dst,
        }
    }

    fn port(&self, side: CtSide) -> u16 {
        match side {
            CtSide::OrigSrc => self.original.sport,
            CtSide::OrigDst => self.original.dport,
            CtSide::ReplSrc => self.reply.sport,
            CtSide::ReplDst => self.reply.dport,
        }
    }

    /// Whether a conntrack test holds of this connection (before `!`).
    fn holds(&self, test: &CtTest) -> bool {
        match *test {
            CtTest::Proto(p) => self.original.proto.number() == p,
            CtTest::Addr { tuple, net } => net.contains(&self.addr(tuple)),
            CtTest::Port { tuple, lo, hi } => (lo..=hi).contains(&self.port(tuple)),
            CtTest::Reply(reply) => self.reply_dir == reply,
            CtTest::Status(bits) => self.status & bits != 0,
            CtTest::Expire(lo, hi) => (u64::from(lo)..=u64::from(hi)).contains(&self.expires),
        }
    }

    /// What a conntrack test read, in words.
    fn describe(&self, test: &CtTest) -> String {
        let side = |s: CtSide| match s {
            CtSide::OrigSrc => "original source",
            CtSide::OrigDst => "original destination",
            CtSide::ReplSrc => "reply source",
            CtSide::ReplDst => "reply destination",
        };
        match *test {
            CtTest::Proto(p) => format!(
                "the connection's protocol is {}, the rule tests {}",
                self.original.proto,
                Proto::from_number(p)
            ),
            CtTest::Addr { tuple, net } => {
                let a = self.addr(tuple);
                let is = if net.contains(&a) {
                    "is in"
                } else {
                    "is not in"
                };
                format!("the connection's {} {a} {is} {net}", side(tuple))
            }
            CtTest::Port { tuple, lo, hi } => format!(
                "the connection's {} port is {}, the rule tests {}",
                side(tuple),
                self.port(tuple),
                fmt_range(lo, hi)
            ),
            CtTest::Reply(_) => format!(
                "the packet goes the connection's {} way",
                if self.reply_dir { "reply" } else { "original" }
            ),
            CtTest::Status(bits) => format!(
                "the connection's status is {}, the rule tests {}",
                super::rule::ctstatus::names(self.status),
                super::rule::ctstatus::names(bits)
            ),
            CtTest::Expire(lo, hi) => format!(
                "the connection has {} s left{}, the rule tests {lo}:{hi}",
                self.expires,
                if self.status & 8 == 0 {
                    " (0: not yet confirmed)"
                } else {
                    ""
                }
            ),
        }
    }
}

/// What rules read from the namespace without changing anything: enough to
/// test or explain any match that has no side effects.
pub trait Facts {
    /// `RTN_*` type of `addr` in this namespace (bits of [`addrtype`]); with
    /// `dev`, LOCAL only counts addresses of that device.
    fn addr_type(&self, addr: Ipv4Addr, dev: Option<&str>) -> u16;
    /// Conntrack state bits of the packet ([`ctstate`]).
    fn ct_state(&self) -> u8;
    /// The namespace's IP sets (`ipset save` lines before its rules).
    fn ipsets(&self) -> Option<&IpSets> {
        None
    }
    /// The packet's connection's mark (None: untracked, or no connection).
    fn ct_mark(&self) -> Option<u32> {
        None
    }
    /// The packet's connection as `-m conntrack`'s other tests read it
    /// (None: untracked, or no connection).
    fn ct_view(&self) -> Option<CtView> {
        None
    }
    /// The socket a host's own packet was sent from (None: no socket,
    /// or not at OUTPUT or POSTROUTING, the only hooks that see it).
    fn socket(&self) -> Option<Socket> {
        None
    }
    /// The route back to `src` (`ip route get` from it): its type, the
    /// device it leaves by, and the route in words. `from` and `mark`: the
    /// lookup's source and mark (what `ip rule` selectors see).
    fn route_back(
        &self,
        _src: Ipv4Addr,
        _from: Ipv4Addr,
        _mark: u32,
    ) -> (crate::engine::route::RouteType, Option<String>, String) {
        (
            crate::engine::route::RouteType::Unreachable,
            None,
            "no route".into(),
        )
    }
}

/// The socket a host's own packet was sent from, as `-m owner` reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Socket {
    /// The uid and gid of the program that opened it; None for the
    /// kernel's own control socket (its resets, ICMP errors and echo
    /// replies), which has no file: a uid or gid test fails on it, and
    /// `--socket-exists` holds (owner_mt; measured on Linux 6.18).
    pub owner: Option<(u32, u32)>,
}

impl Socket {
    /// Whether one owner option holds (before its `!`).
    pub fn holds(self, t: super::rule::Owner) -> bool {
        use super::rule::Owner;
        match (t, self.owner) {
            (Owner::Uid(lo, hi), Some((uid, _))) => (lo..=hi).contains(&uid),
            (Owner::Gid(lo, hi), Some((_, gid))) => (lo..=hi).contains(&gid),
            (Owner::Uid(..) | Owner::Gid(..), None) => false,
            (Owner::SocketExists, _) => true,
        }
    }

    /// What the option read, in words.
    fn describe(self, t: super::rule::Owner) -> String {
        use super::rule::Owner;
        let range = |lo: u32, hi: u32| match lo == hi {
            true => lo.to_string(),
            false => format!("{lo}-{hi}"),
        };
        match (t, self.owner) {
            (Owner::Uid(lo, hi), Some((uid, _))) => format!("the socket's owner is uid {uid}, the rule tests {}", range(lo, hi)),
            (Owner::Gid(lo, hi), Some((_, gid))) => format!("the socket's group is gid {gid}, the rule tests {}", range(lo, hi)),
            (Owner::SocketExists, Some((uid, gid))) => format!("the packet has a socket (uid {uid}, gid {gid})"),
            (Owner::SocketExists, None) => "the packet has the kernel's own socket (its answers are sent from it)".into(),
            (_, None) => "the kernel sends this packet from its own socket, which no program owns: a uid or gid test fails on it (with ! it holds)".into(),
        }
    }
}

/// Tests an `rpfilter` match (before `--invert`), as `rpfilter_mt`
/// does, and why.
fn reverse_path(m: &MatchKind, pkt: &Packet, env: &dyn Facts) -> (bool, String) {
    use crate::engine::route::RouteType;
    let MatchKind::Rpfilter {
        loose,
        accept_local,
        validmark,
    } = m
    else {
        return (false, String::new());
    };
    let h = pkt.head();
    let iif = pkt.iif.as_deref().unwrap_or("lo");
    if iif == "lo" {
        return (
            true,
            "the packet came in on lo, which rpfilter always passes".into(),
        );
    }
    // rpfilter_mt's lookup: to the source, from the destination, with
    // the packet's mark only under --validmark.
    let mark = if *validmark { pkt.mark } else { 0 };
    let (kind, dev, route) = env.route_back(h.src, h.dst, mark);
    let dev = dev.unwrap_or_default();
    let src = h.src;
    match kind {
        RouteType::Unicast | RouteType::Local if kind == RouteType::Unicast || *accept_local => {
            if dev == iif {
                (true, format!("the route back to {src} ({route}) leaves by {iif}, where the packet came in"))
            } else if *loose {
                (true, format!("the route back to {src} ({route}) leaves by {dev}, not {iif}, and --loose takes any unicast route back"))
            } else {
                (false, format!("the route back to {src} ({route}) leaves by {dev}, not {iif}, where the packet came in"))
            }
        }
        RouteType::Local => (
            false,
            format!(
                "{src} is this host's own address ({route}), and only --accept-local takes that"
            ),
        ),
        _ => (
            false,
            format!("the route back to {src} is {route}, not a unicast route"),
        ),
    }
}

/// Tests a `set` match: whether the packet is in the set, and why.
fn in_set(m: &MatchKind, pkt: &Packet, env: &dyn Facts) -> (bool, String) {
    let MatchKind::Set(s) = m else {
        return (false, String::new());
    };
    match env.ipsets() {
        Some(sets) => sets.test(&s.name, &s.dirs, s.return_nomatch, pkt),
        None => (false, format!("there is no set {}", s.name)),
    }
}

/// How a table's walk ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Accept,
    Drop,
    Reject(RejectWith),
    Dnat(NatRange, RuleRef),
    Snat(NatRange, bool, RuleRef),
    Masquerade(Option<(u16, u16)>, bool, RuleRef),
    /// REDIRECT's ports and --random: the address is the in-device's.
    Redirect(Option<(u16, u16)>, bool, RuleRef),
    /// The walk stopped at one of the simulator's own limits (not the
    /// kernel's): chains that jump to the same chains many times over (a
    /// DAG, not a loop) can need exponentially many visits.
    Limit(Limit),
}

/// Which of the simulator's limits stopped a walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// [`MAX_VISITS`] rules visited.
    Visits,
    /// [`MAX_STEPS`] steps traced, at a jump.
    Jumps,
}

impl Limit {
    /// What stopped it, in words.
    pub fn describe(self) -> String {
        match self {
            Limit::Visits => format!("{MAX_VISITS} rule visits for one packet"),
            Limit::Jumps => format!(
                "{MAX_STEPS} trace steps for one packet (its chains jump into the same chains many times over)"
            ),
        }
    }
}

/// Rule visits allowed for one packet in one table.
pub const MAX_VISITS: usize = 1_000_000;

/// Trace steps after which a walk stops jumping into further chains.
pub const MAX_STEPS: usize = 20_000;

fn rule_ref(chain: &str, r: &Rule, i: usize) -> RuleRef {
    let mut text = String::with_capacity(4 + chain.len() + r.args.len());
    text.push_str("-A ");
    text.push_str(chain);
    if !r.args.is_empty() {
        text.push(' ');
        text.push_str(&r.args);
    }
    RuleRef {
        index: i + 1,
        line: r.line,
        text,
    }
}

fn in_port_range(p: u16, (lo, hi): (u16, u16)) -> bool {
    lo <= p && p <= hi
}

fn fmt_range(lo: u16, hi: u16) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}:{hi}")
    }
}

/// Whether one match holds (before its negation). Side effects (random
/// draws, nth counters, recent lists) happen here, only for matches the
/// kernel reaches; a random draw is recorded as a step.
fn holds(
    m: &Match,
    which: usize,
    pkt: &Packet,
    env: &mut dyn Env,
    at: RuleAt,
    site: &mut Site<'_>,
) -> bool {
    match &m.kind {
        MatchKind::Random {
            probability,
            threshold,
        } => {
            let (draw, forced) = env.draw(at);
            let matched = forced.unwrap_or(draw < *threshold);
            site.steps.push(Step {
                ns: site.ns.to_string(),
                layer: Layer::Network,
                kind: StepKind::Statistic {
                    table: at.table,
                    chain: site.chain.to_string(),
                    rule: at.rule + 1,
                    probability: *probability,
                    draw: draw as f64 / 2147483648.0,
                    matched,
                    forced: forced.is_some(),
                },
                packet: pkt.clone(),
            });
            matched
        }
        MatchKind::Nth { every, packet } => env.nth(at, which, *every, *packet),
        MatchKind::Limit { avg, burst } => env.limit(at, which, *avg, *burst),
        MatchKind::Recent(rc) => {
            let h = pkt.head();
            env.recent(rc, if rc.rdest { h.dst } else { h.src }, m.negated)
        }
        _ => holds_pure(m, pkt, env).unwrap_or(true),
    }
}

/// Whether a match without side effects holds; `None` for the matches that
/// have them (random, nth, recent), whose outcome depends on state.
fn holds_pure(m: &Match, pkt: &Packet, env: &dyn Facts) -> Option<bool> {
    let h = pkt.head();
    let ports = pkt.head_ports();
    Some(match &m.kind {
        MatchKind::Src(net) => net.contains(&h.src),
        MatchKind::Dst(net) => net.contains(&h.dst),
        MatchKind::Proto(p) => h.protocol == *p,
        MatchKind::InIface(i) => i.matches(pkt.iif.as_deref()),
        MatchKind::OutIface(i) => i.matches(pkt.oif.as_deref()),
        MatchKind::Fragment => false,
        MatchKind::Sport(lo, hi) => ports.is_some_and(|(s, _)| in_port_range(s, (*lo, *hi))),
        MatchKind::Dport(lo, hi) => ports.is_some_and(|(_, d)| in_port_range(d, (*lo, *hi))),
        MatchKind::TcpFlags { mask, comp } => {
            matches!(pkt.head_transport().as_deref(), Some(Transport::Tcp { flags, .. }) if flags.bits() & mask == *comp)
        }
        MatchKind::IcmpType { icmp_type, code } => matches!(
            pkt.head_transport().as_deref(),
            Some(Transport::Icmp { icmp_type: t, code: c, .. })
                if icmp_type.is_none_or(|x| x == *t) && code.is_none_or(|x| x == *c)
        ),
        MatchKind::Multiport { dir, ports: list } => ports.is_some_and(|(s, d)| {
            let hit = |p: u16| list.iter().any(|&rg| in_port_range(p, rg));
            match dir {
                Dir::Src => hit(s),
                Dir::Dst => hit(d),
                Dir::Either => hit(s) || hit(d),
            }
        }),
        MatchKind::Mark { value, mask } => pkt.mark & mask == *value,
        MatchKind::AddrType { dir, types, .. } => {
            let (addr, dev) = addrtype_args(m, pkt, *dir);
            env.addr_type(addr, dev) & types != 0
        }
        MatchKind::CtState(bits) => env.ct_state() & bits != 0,
        MatchKind::ConnMark { value, mask } => env.ct_mark().is_some_and(|m| m & mask == *value),
        MatchKind::Comment | MatchKind::Nfacct => true,
        MatchKind::Set(_) => in_set(&m.kind, pkt, env).0,
        MatchKind::Rpfilter { .. } => reverse_path(&m.kind, pkt, env).0,
        MatchKind::Physdev(t) => physdev(t, m.negated, pkt),
        // No socket (a forwarded packet): each option fails, so the
        // match holds only if each is negated (owner_mt).
        MatchKind::Owner(t) => env.socket().is_some_and(|s| s.holds(*t)),
        // No connection: the test passes if the match tests the state
        // (which held), else it fails, `!` or not (conntrack_mt).
        MatchKind::Ct { test, with_state } => match env.ct_view() {
            Some(c) => c.holds(test),
            None => *with_state != m.negated,
        },
        MatchKind::Random { .. }
        | MatchKind::Nth { .. }
        | MatchKind::Recent(_)
        | MatchKind::Limit { .. } => return None,
    })
}

/// Whether a physdev option holds (before its negation), as Linux 6.18
/// did in a netns (a bridge with two ports and a routed veth,
/// bridge-nf-call-iptables = 1, every option and its negation counted):
/// a packet that did not come in through a bridge port has no bridge
/// ports, and each option fails unless negated; one that did, but is not
/// bridged (routed on, or to the host), has no port out, and
/// `--physdev-out` fails negated or not.
fn physdev(t: &super::rule::Physdev, negated: bool, pkt: &Packet) -> bool {
    use super::rule::Physdev;
    match t {
        Physdev::In(i) => pkt.physin.as_deref().is_some_and(|d| i.matches(Some(d))),
        Physdev::Out(_) if pkt.physin.is_some() && pkt.physout.is_none() => negated,
        Physdev::Out(i) => pkt.physout.as_deref().is_some_and(|d| i.matches(Some(d))),
        Physdev::IsIn => pkt.physin.is_some(),
        Physdev::IsOut | Physdev::IsBridged => pkt.physout.is_some(),
    }
}

/// The address and device an addrtype match looks at.
fn addrtype_args<'p>(m: &Match, pkt: &'p Packet, dir: Dir) -> (Ipv4Addr, Option<&'p str>) {
    let h = pkt.head();
    let addr = if dir == Dir::Src { h.src } else { h.dst };
    let dev = match m.kind {
        MatchKind::AddrType {
            limit_iface_in: true,
            ..
        } => pkt.iif.as_deref(),
        MatchKind::AddrType {
            limit_iface_out: true,
            ..
        } => pkt.oif.as_deref(),
        _ => None,
    };
    (addr, dev)
}

/// What the packet has that the match tested, in words: the reason a
/// match failed (or, negated, held). Computed only when a step needs it.
fn describe(m: &Match, pkt: &Packet, env: &dyn Facts) -> String {
    let h = pkt.head();
    let ports = pkt.head_ports();
    let inside = |net: &ipnet::Ipv4Net, a: Ipv4Addr| {
        if net.contains(&a) {
            "is in"
        } else {
            "is not in"
        }
    };
    let port = |p: u16, lo: u16, hi: u16| {
        let is = if in_port_range(p, (lo, hi)) {
            "is"
        } else {
            "is not"
        };
        format!("{p} {is} {}", fmt_range(lo, hi))
    };
    let iface = |what: &str, dev: Option<&str>, i: &super::rule::IfaceMatch| {
        let wild = if i.wildcard { "+" } else { "" };
        format!(
            "{what} is {}, the rule tests {}{wild}",
            dev.unwrap_or("(none at this hook)"),
            i.name
        )
    };
    match &m.kind {
        MatchKind::Ct { test, .. } => match env.ct_view() {
            Some(c) => c.describe(test),
            None => "the packet has no connection (INVALID or UNTRACKED): conntrack's tests of one fail without it".into(),
        },
        MatchKind::Owner(t) => match env.socket() {
            None => "the packet has no socket here (it is forwarded, or came over lo or a veth: a host's own packet has its socket at OUTPUT and POSTROUTING only): each owner option fails without one, with ! they hold".into(),
            Some(s) => s.describe(*t),
        },
        MatchKind::Physdev(t) => {
            use super::rule::Physdev;
            match (t, &pkt.physin, &pkt.physout) {
                (_, None, _) => "the packet did not come in through a bridge port: it has no bridge ports to test".into(),
                (Physdev::Out(_), Some(p), None) => format!("the packet came in by bridge port {p} but is not bridged (it is routed, or for this host): it has no bridge port out, and --physdev-out fails, with ! or without"),
                (Physdev::In(i), Some(p), _) => iface("the bridge port it came in by", Some(p), i),
                (Physdev::Out(i), _, Some(o)) => iface("the bridge port it leaves by", Some(o), i),
                (Physdev::IsIn, Some(p), _) => format!("it came in by bridge port {p}"),
                (Physdev::IsOut | Physdev::IsBridged, Some(p), None) => format!("it came in by bridge port {p} but is not bridged (routed, or for this host)"),
                (Physdev::IsOut | Physdev::IsBridged, _, Some(o)) => format!("it is bridged, out by bridge port {o}"),
            }
        }
        MatchKind::Src(net) => format!("source {} {} {net}", h.src, inside(net, h.src)),
        MatchKind::Dst(net) => format!("destination {} {} {net}", h.dst, inside(net, h.dst)),
        MatchKind::Proto(p) => format!("protocol is {}, the rule tests {p}", h.protocol),
        MatchKind::InIface(i) => iface("in-interface", pkt.iif.as_deref(), i),
        MatchKind::OutIface(i) => iface("out-interface", pkt.oif.as_deref(), i),
        MatchKind::Fragment => "the packet is not a fragment".into(),
        MatchKind::Sport(lo, hi) => match ports {
            Some((s, _)) => format!("source port {}", port(s, *lo, *hi)),
            None => "the packet has no ports".into(),
        },
        MatchKind::Dport(lo, hi) => match ports {
            Some((_, d)) => format!("destination port {}", port(d, *lo, *hi)),
            None => "the packet has no ports".into(),
        },
        MatchKind::TcpFlags { .. } => match pkt.head_transport().as_deref() {
            Some(Transport::Tcp { flags, .. }) => format!("TCP flags are {flags}"),
            _ => "not a TCP packet".into(),
        },
        MatchKind::IcmpType { .. } => match pkt.head_transport().as_deref() {
            Some(Transport::Icmp {
                icmp_type: t,
                code: c,
                ..
            }) => {
                format!(
                    "ICMP type {t} code {c} ({})",
                    crate::engine::packet::icmp::name(*t, *c)
                )
            }
            _ => "not an ICMP packet".into(),
        },
        MatchKind::Multiport { .. } => match ports {
            Some((s, d)) => format!("ports {s} -> {d}"),
            None => "the packet has no ports".into(),
        },
        MatchKind::Random { probability, .. } => {
            format!(
                "the random draw was not below {}",
                crate::engine::decimal::short(*probability)
            )
        }
        MatchKind::Nth { every, .. } => format!("not this rule's turn (every {every}th packet)"),
        MatchKind::Limit { avg, burst } => format!(
            "the rate limit ({}, burst {burst}) has no packet left to let through: it lets one more through every {} s",
            super::rule::limit_text(*avg),
            crate::engine::decimal::short(f64::from(*avg) / f64::from(super::rule::LIMIT_SCALE))
        ),
        MatchKind::Mark { value, mask } => format!(
            "mark {:#x} & {mask:#x} is {:#x}, the rule tests {value:#x}",
            pkt.mark,
            pkt.mark & mask
        ),
        MatchKind::AddrType { dir, types, .. } => {
            let (addr, dev) = addrtype_args(m, pkt, *dir);
            let which = if *dir == Dir::Src {
                "source"
            } else {
                "destination"
            };
            let t = env.addr_type(addr, dev);
            // With --limit-iface-in/out only that device's addresses count.
            let on = dev
                .map(|d| format!(" on {d} (--limit-iface counts only {d}'s own addresses)"))
                .unwrap_or_default();
            format!(
                "{which} {addr} is {}{on}, the rule tests {}",
                addrtype::names(t),
                addrtype::names(*types)
            )
        }
        MatchKind::CtState(bits) => {
            let state = env.ct_state();
            // SNAT and DNAT are conntrack's virtual states (iptables-extensions(8)).
            let virt = if state & (ctstate::SNAT | ctstate::DNAT) != 0 {
                " (SNAT and DNAT are virtual states: the connection's source or destination is translated)"
            } else {
                ""
            };
            format!(
                "connection state is {}, the rule tests {}{virt}",
                ctstate::names(state),
                ctstate::names(*bits)
            )
        }
        MatchKind::Recent(rc) => {
            let addr = if rc.rdest { h.dst } else { h.src };
            format!(
                "{addr} is not in the recent list {} within the time limit",
                rc.name
            )
        }
        MatchKind::Comment | MatchKind::Nfacct => "always holds".into(),
        MatchKind::ConnMark { value, mask } => match env.ct_mark() {
            Some(m) => format!(
                "connection mark {m:#x} & {mask:#x} is {:#x}, the rule tests {value:#x}",
                m & mask
            ),
            None => "the packet has no connection (untracked), so no connection mark".into(),
        },
        MatchKind::Set(_) => in_set(&m.kind, pkt, env).1,
        MatchKind::Rpfilter { .. } => reverse_path(&m.kind, pkt, env).1,
    }
}

/// Where steps of a rule evaluation go: the trace, the namespace and the chain.
struct Site<'a> {
    steps: &'a mut Vec<Step>,
    ns: &'a str,
    chain: &'a str,
}

/// Evaluates a rule's matches in order. `Err(i)` names the first match that
/// failed, with the reason when `want_reason`.
fn rule_matches(
    rule: &Rule,
    pkt: &Packet,
    env: &mut dyn Env,
    at: RuleAt,
    site: &mut Site<'_>,
    want_reason: bool,
) -> Result<(), (usize, String)> {
    for (i, m) in rule.matches.iter().enumerate() {
        if holds(m, i, pkt, env, at, site) == m.negated {
            let why = if want_reason {
                reason(m, pkt, env)
            } else {
                String::new()
            };
            return Err((i, why));
        }
    }
    Ok(())
}

fn reason(m: &Match, pkt: &Packet, env: &dyn Facts) -> String {
    let w = describe(m, pkt, env);
    if m.negated {
        format!("{w}; the rule's ! asks for the opposite")
    } else {
        w
    }
}

/// Why `rule` does not match `pkt`, without side effects: for a learner who
/// asks about any one rule of a collapsed run. `None` when it would match
/// (matches whose outcome depends on state, like random, count as holding).
pub fn explain(rule: &Rule, pkt: &Packet, env: &dyn Facts) -> Option<(String, String)> {
    rule.matches.iter().find_map(|m| {
        let fails = holds_pure(m, pkt, env).is_some_and(|ok| ok == m.negated);
        fails.then(|| (rule.match_text(m).to_string(), reason(m, pkt, env)))
    })
}

/// Collects a run of non-matching rules into one step.
struct SkipRun {
    first: usize,
    last: usize,
    count: usize,
    by_index: usize,
    reasons: Vec<Skip>,
}

/// Reasons are listed for runs up to this long; longer runs give the count.
const MAX_REASONS: usize = 8;

impl SkipRun {
    fn new() -> SkipRun {
        SkipRun {
            first: 0,
            last: 0,
            count: 0,
            by_index: 0,
            reasons: Vec::new(),
        }
    }

    fn add(&mut self, pos: usize, n: usize, indexed: bool) {
        if n == 0 {
            return;
        }
        if self.count == 0 {
            self.first = pos + 1;
        }
        self.last = pos + n;
        self.count += n;
        if indexed {
            self.by_index += n;
        }
    }

    fn flush(
        &mut self,
        steps: &mut Vec<Step>,
        ns: &str,
        table: TableName,
        chain: &str,
        index_reason: Option<&str>,
        pkt: &Packet,
    ) {
        if self.count == 0 {
            return;
        }
        let mut reasons = std::mem::take(&mut self.reasons);
        if reasons.len() > MAX_REASONS {
            reasons.clear();
        }
        steps.push(Step {
            ns: ns.to_string(),
            layer: Layer::Network,
            kind: StepKind::RulesSkipped {
                table,
                chain: chain.to_string(),
                first: self.first,
                last: self.last,
                count: self.count,
                by_index: self.by_index,
                index_reason: if self.by_index > 0 {
                    index_reason.map(str::to_string)
                } else {
                    None
                },
                reasons,
            },
            packet: pkt.clone(),
        });
        *self = SkipRun::new();
    }
}

/// Runs `pkt` through the built-in chain of `hook` in `table`.
pub fn run_hook(
    table: &Table,
    hook: Hook,
    pkt: &mut Packet,
    env: &mut dyn Env,
    ns: &str,
    steps: &mut Vec<Step>,
) -> Outcome {
    let Some(start) = table.chain_index(hook.chain_name()) else {
        return Outcome::Accept;
    };
    let bytes = pkt.head().total_len as u64;
    // Return stack of (chain, next rule position).
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut chain = start;
    let mut pos = 0usize;
    steps.push(Step {
        ns: ns.to_string(),
        layer: Layer::Network,
        kind: StepKind::Chain {
            hook,
            table: table.name,
            chain: table.chains[start].name.clone(),
            entry: Entry::Hook,
        },
        packet: pkt.clone(),
    });
    // Each rule visit costs one unit: a bound on pathological tables.
    let mut budget: usize = MAX_VISITS;
    loop {
        let c = &table.chains[chain];
        let mut run = SkipRun::new();
        // Candidate positions: all rules, or the index's shortlist.
        let candidates: Option<Vec<u32>> = c.index.as_ref().map(|ix| ix.candidates(pkt, pos));
        let index_reason = c.index.as_ref().map(|ix| ix.skip_reason());
        let mut ci = 0usize;
        let mut matched: Option<usize> = None;
        loop {
            let next = match &candidates {
                Some(list) => list.get(ci).map(|&x| x as usize),
                None => (pos < c.rules.len()).then_some(pos),
            };
            let Some(next) = next else {
                run.add(pos, c.rules.len().saturating_sub(pos), candidates.is_some());
                break;
            };
            ci += 1;
            if next > pos {
                run.add(pos, next - pos, true);
            }
            budget = budget.saturating_sub(1);
            if budget == 0 {
                run.flush(steps, ns, table.name, &c.name, index_reason, pkt);
                return Outcome::Limit(Limit::Visits);
            }
            let rule = &c.rules[next];
            let at = RuleAt {
                table: table.name,
                chain,
                rule: next,
            };
            let before = steps.len();
            let mut site = Site {
                steps,
                ns,
                chain: &c.name,
            };
            let result = rule_matches(
                rule,
                pkt,
                env,
                at,
                &mut site,
                run.reasons.len() <= MAX_REASONS,
            );
            // A random draw is a step of its own: the rules skipped before
            // it come first, in the order the kernel tried them.
            if steps.len() > before && run.count > 0 {
                let drawn = steps.split_off(before);
                run.flush(steps, ns, table.name, &c.name, index_reason, pkt);
                steps.extend(drawn);
            }
            match result {
                Ok(()) => {
                    matched = Some(next);
                    pos = next + 1;
                    break;
                }
                // Its draw step says why the rule did not match.
                Err((mi, _))
                    if matches!(rule.matches[mi].kind, MatchKind::Random { .. })
                        && !rule.matches[mi].negated =>
                {
                    pos = next + 1;
                }
                Err((mi, why)) => {
                    run.add(next, 1, false);
                    if run.reasons.len() <= MAX_REASONS {
                        run.reasons.push(Skip {
                            index: next + 1,
                            line: rule.line,
                            failed: rule.match_text(&rule.matches[mi]).to_string(),
                            reason: why,
                        });
                    }
                    pos = next + 1;
                }
            }
        }
        run.flush(steps, ns, table.name, &c.name, index_reason, pkt);
        let Some(ri) = matched else {
            // End of chain: back to the caller, or the built-in chain's policy.
            match leave(table, start, chain, &mut stack, pkt, ns, steps) {
                Ok((back, back_pos)) => {
                    chain = back;
                    pos = back_pos;
                    continue;
                }
                Err(outcome) => return outcome,
            }
        };
        let rule = &c.rules[ri];
        env.count(
            RuleAt {
                table: table.name,
                chain,
                rule: ri,
            },
            bytes,
        );
        let rref = rule_ref(&c.name, rule, ri);
        let does = match &rule.target {
            Target::None => "no target: counted only".to_string(),
            Target::Jump { goto: true, .. } => format!("goto {}", rule.target_name()),
            Target::Jump { .. } => format!("jump to {}", rule.target_name()),
            Target::PassOver(name) => {
                let what = super::rule::PASS_OVER
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("", |(_, w)| *w);
                format!("{name}: {what}")
            }
            t => t.name().to_string(),
        };
        // Why the tests that look into the namespace held: its sets,
        // routes, addresses and connections.
        let held = (rule.matches.iter())
            .filter(|m| {
                matches!(
                    m.kind,
                    MatchKind::Set(_)
                        | MatchKind::Rpfilter { .. }
                        | MatchKind::AddrType { .. }
                        | MatchKind::CtState(_)
                        | MatchKind::Ct { .. }
                        | MatchKind::ConnMark { .. }
                )
            })
            .map(|m| format!("{}: {}", rule.match_text(m), describe(m, pkt, env)))
            .collect();
        // The match itself changes nothing; a MARK target's change is its
        // own step right after, carrying the new mark.
        steps.push(Step {
            ns: ns.to_string(),
            layer: Layer::Network,
            kind: StepKind::RuleMatch {
                table: table.name,
                chain: c.name.clone(),
                rule: rref.clone(),
                target: does,
                held,
            },
            packet: pkt.clone(),
        });
        let old_mark = pkt.mark;
        if let Target::Mark { xor, mask } = rule.target {
            pkt.mark = (pkt.mark & !mask) ^ xor;
        }
        match &rule.target {
            Target::None | Target::PassOver(_) => {}
            // xt_connmark: nothing without a connection.
            // xt_connmark: nothing without a connection.
            Target::ConnMark(op) => {
                if let Some(ct) = env.ct_mark() {
                    let (ct_new, mark_new) = op.apply(ct, pkt.mark);
                    let kind = if ct_new != ct {
                        env.set_ct_mark(ct_new);
                        Some(StepKind::CtMark {
                            old: ct,
                            new: ct_new,
                        })
                    } else if mark_new != pkt.mark {
                        let old = std::mem::replace(&mut pkt.mark, mark_new);
                        Some(StepKind::Mark { old, new: mark_new })
                    } else {
                        None
                    };
                    if let Some(kind) = kind {
                        steps.push(Step {
                            ns: ns.to_string(),
                            layer: Layer::Network,
                            kind,
                            packet: pkt.clone(),
                        });
                    }
                }
            }
            Target::NoTrack { .. } => env.notrack(),
            Target::Mark { .. } => {
                if pkt.mark != old_mark {
                    steps.push(Step {
                        ns: ns.to_string(),
                        layer: Layer::Network,
                        kind: StepKind::Mark {
                            old: old_mark,
                            new: pkt.mark,
                        },
                        packet: pkt.clone(),
                    });
                }
            }
            Target::Log { prefix, level: _ } => {
                steps.push(Step {
                    ns: ns.to_string(),
                    layer: Layer::Network,
                    kind: StepKind::Log {
                        line: log_line(prefix, pkt),
                    },
                    packet: pkt.clone(),
                });
            }
            Target::Accept => return Outcome::Accept,
            Target::Drop => return Outcome::Drop,
            Target::Reject(w) => return Outcome::Reject(*w),
            Target::Dnat(r) => return Outcome::Dnat(r.clone(), rref),
            Target::Snat { to, random_fully } => {
                return Outcome::Snat(to.clone(), *random_fully, rref)
            }
            Target::Masquerade {
                ports,
                random_fully,
            } => return Outcome::Masquerade(*ports, *random_fully, rref),
            Target::Redirect { ports, random } => return Outcome::Redirect(*ports, *random, rref),
            Target::Return => match leave(table, start, chain, &mut stack, pkt, ns, steps) {
                Ok((back, back_pos)) => {
                    chain = back;
                    pos = back_pos;
                }
                Err(outcome) => return outcome,
            },
            Target::Jump {
                chain: to, goto, ..
            } => {
                if *to == usize::MAX {
                    // Unresolved (restore fragment): nothing to run.
                    continue;
                }
                if steps.len() > MAX_STEPS {
                    return Outcome::Limit(Limit::Jumps);
                }
                if !goto {
                    stack.push((chain, pos));
                }
                steps.push(Step {
                    ns: ns.to_string(),
                    layer: Layer::Network,
                    kind: StepKind::Chain {
                        hook,
                        table: table.name,
                        chain: rule.target_name().to_string(),
                        entry: if *goto { Entry::Goto } else { Entry::Jump },
                    },
                    packet: pkt.clone(),
                });
                chain = *to;
                pos = 0;
            }
        }
    }
}

/// Leaving `chain` (by RETURN or at its end): back to the rule after the
/// jump that entered it, or, from the built-in chain (or a chain it reached
/// by goto), the built-in chain's policy decides.
fn leave(
    table: &Table,
    start: usize,
    chain: usize,
    stack: &mut Vec<(usize, usize)>,
    pkt: &Packet,
    ns: &str,
    steps: &mut Vec<Step>,
) -> Result<(usize, usize), Outcome> {
    if !table.chains[chain].is_builtin() {
        if let Some((back, back_pos)) = stack.pop() {
            steps.push(Step {
                ns: ns.to_string(),
                layer: Layer::Network,
                kind: StepKind::Return {
                    table: table.name,
                    chain: table.chains[chain].name.clone(),
                    to: Some(table.chains[back].name.clone()),
                },
                packet: pkt.clone(),
            });
            return Ok((back, back_pos));
        }
    }
    let base = &table.chains[start];
    let policy = base.policy.unwrap_or(super::Policy::Accept);
    steps.push(Step {
        ns: ns.to_string(),
        layer: Layer::Network,
        kind: StepKind::Policy {
            table: table.name,
            chain: base.name.clone(),
            policy: policy.as_str().into(),
            line: base.line,
        },
        packet: pkt.clone(),
    });
    Err(match policy {
        super::Policy::Accept => Outcome::Accept,
        super::Policy::Drop => Outcome::Drop,
    })
}

/// The line `-j LOG` writes to the kernel log.
fn log_line(prefix: &str, pkt: &Packet) -> String {
    let h = pkt.head();
    let mut s = format!(
        "{prefix}IN={} OUT={} SRC={} DST={} LEN={} TOS=0x00 PREC=0x00 TTL={} ID={}{} PROTO={}",
        pkt.iif.as_deref().unwrap_or(""),
        pkt.oif.as_deref().unwrap_or(""),
        h.src,
        h.dst,
        h.total_len,
        h.ttl,
        h.id,
        if h.df { " DF" } else { "" },
        h.protocol.name().to_ascii_uppercase()
    );
    match pkt.head_transport().as_deref() {
        Some(Transport::Tcp {
            src_port,
            dst_port,
            flags,
            ..
        }) => {
            s.push_str(&format!(
                " SPT={src_port} DPT={dst_port} WINDOW=64240 RES=0x00"
            ));
            for (on, n) in [
                (flags.urg, "URG"),
                (flags.ack, "ACK"),
                (flags.psh, "PSH"),
                (flags.rst, "RST"),
                (flags.syn, "SYN"),
                (flags.fin, "FIN"),
            ] {
                if on {
                    s.push(' ');
                    s.push_str(n);
                }
            }
            s.push_str(" URGP=0");
        }
        Some(Transport::Udp { src_port, dst_port }) => {
            s.push_str(&format!(
                " SPT={src_port} DPT={dst_port} LEN={}",
                pkt.payload_len + 8
            ));
        }
        Some(Transport::Icmp {
            icmp_type,
            code,
            id,
            seq,
            quoted,
        }) => {
            s.push_str(&format!(" TYPE={icmp_type} CODE={code}"));
            // nf_log_dump_packet: an echo's identifier and sequence; an
            // error's quoted packet in brackets, and fragmentation needed's
            // MTU after it.
            match quoted {
                None => s.push_str(&format!(" ID={id} SEQ={seq}")),
                Some(q) => {
                    s.push_str(&format!(
                        " [SRC={} DST={} LEN={} TOS=0x00 PREC=0x00 TTL={} ID={}{} PROTO={}",
                        q.ip.src,
                        q.ip.dst,
                        q.ip.total_len,
                        q.ip.ttl,
                        q.ip.id,
                        if q.ip.df { " DF" } else { "" },
                        q.ip.protocol.name().to_ascii_uppercase()
                    ));
                    if matches!(q.ip.protocol, Proto::Tcp | Proto::Udp) {
                        s.push_str(&format!(" SPT={} DPT={}", q.src_port, q.dst_port));
                    }
                    s.push_str(" ]");
                    if (*icmp_type, *code) == (3, 4) {
                        s.push_str(&format!(" MTU={seq}"));
                    }
                }
            }
        }
        _ => {}
    }
    if h.protocol == Proto::Ipip {
        s.push_str(" (IPIP)");
    }
    if pkt.mark != 0 {
        s.push_str(&format!(" MARK={:#x}", pkt.mark));
    }
    s
}
