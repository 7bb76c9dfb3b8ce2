//! The packet walk: one packet from its sender through every namespace it
//! crosses. Each namespace runs the kernel's IPv4 path:
//!
//! - received: raw PREROUTING, conntrack, mangle PREROUTING, nat PREROUTING,
//!   input routing; then local delivery (mangle/filter INPUT, nat INPUT) or
//!   forwarding (TTL, mangle/filter FORWARD);
//! - locally generated: output routing, raw OUTPUT, conntrack, mangle/nat/
//!   filter OUTPUT, re-routing if the destination or mark changed;
//! - leaving: mangle and nat POSTROUTING, conntrack confirm, the device
//!   (veth to its peer, Ethernet to the LAN neighbour, tunl0 encapsulation).
//!
//! Everything that happens is recorded as a [`Step`].

use crate::engine::conntrack::{self, invert, tuple_of, Dir};
use crate::engine::iptables::eval::{self, Env, Facts, Outcome, RuleAt};
use crate::engine::iptables::rule::{addrtype, ctstate, NatRange, Recent, RecentCmd, RejectWith};
use crate::engine::iptables::{Counters, Hook, Ruleset, TableName};
use crate::engine::nat;
use crate::engine::packet::{
    icmp, Ipv4Header, Packet, Proto, Quoted, TcpFlags, Transport, VxlanEncap,
};
use crate::engine::rng::Rng;
use crate::engine::route::RouteType;
use crate::engine::scenario::{DeviceKind, HostKind, World};
use crate::engine::trace::{
    Attached, CtEvent, DropReason, Endpoint, Layer, Lookup, NatKind, Nud, Step, StepKind, Trace,
    Tuple, Verdict, TRACE_VERSION,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// A branch the caller forces, for `statistic --mode random` rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Force {
    pub host: String,
    pub table: TableName,
    pub chain: String,
    /// Rule position from 1.
    pub rule: usize,
    pub matched: bool,
}

impl Force {
    /// Whether the rule it names is there and is a `statistic --mode
    /// random` rule (else forcing it would change nothing, silently).
    pub fn check(&self, world: &World) -> Result<(), String> {
        let (table, chain) = (self.table.as_str(), &self.chain);
        let host = (world.hosts.iter())
            .find(|h| h.name() == self.host)
            .ok_or_else(|| format!("there is no host {}", self.host))?;
        let c = (host.rules.as_ref())
            .and_then(|r| r.table(self.table))
            .and_then(|t| t.chain(chain))
            .ok_or_else(|| format!("{} has no chain {chain} in its {table} table", self.host))?;
        let rule = (self.rule.checked_sub(1))
            .and_then(|i| c.rules.get(i))
            .ok_or_else(|| {
                format!(
                    "{chain} has {} rules, not a rule {}",
                    c.rules.len(),
                    self.rule
                )
            })?;
        let random = (rule.matches.iter()).any(|m| {
            matches!(
                m.kind,
                crate::engine::iptables::rule::MatchKind::Random { .. }
            )
        });
        if !random {
            return Err(format!(
                "rule {} of {chain} has no statistic --mode random match to force: {}",
                self.rule, rule.args
            ));
        }
        Ok(())
    }
}

/// What to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendSpec {
    /// A host name (pod or node), or `client:IP` for a machine on the LAN.
    pub from: String,
    /// `IP`, `IP:PORT`, or a Service (`flask-ui`, `ms-test/flask-ui`, `flask-ui:http`).
    pub to: String,
    pub proto: Proto,
    /// TCP flags (default SYN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<TcpFlags>,
    /// Source address (default: chosen as the kernel does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<Ipv4Addr>,
    /// Source port (default: an ephemeral port from the seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    #[serde(default)]
    pub payload_len: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub force: Vec<Force>,
    /// TCP sequence number (default: a new ISN from the seed) and
    /// acknowledgement number (default 0): a reply continues the
    /// connection's numbers. For ICMP, `seq` is the echo's sequence
    /// (default 1); its identifier is `src_port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<u32>,
    /// ICMP: the message's type, 8 (echo-request, the default) or 0
    /// (echo-reply, what the answer to a ping is); 3 (destination
    /// unreachable) or 11 (time exceeded) for the kernel's answer to a
    /// refused packet, with `icmp_code` and `quote`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// An ICMP error's code (3: port unreachable, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    /// An ICMP error's quote: the header of the packet it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Quoted>,
    /// The connection the answer carries (see [`Attached`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ct: Option<Attached>,
    /// Sent by the kernel, not by a program: its answer to a refused
    /// packet (a reset or an ICMP error), which no socket sends or waits
    /// for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kernel: bool,
    /// Seconds since the packet before it (default 1: the clock moves a
    /// second a packet): time that conntrack's timeouts, the neighbour
    /// cache's states, `recent`, `limit` and the ICMP rate limit run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u32>,
    /// The uid and gid of the program that sends it (what `-m owner`
    /// tests at OUTPUT and POSTROUTING; default 0, root, as a container's
    /// process often is). The kernel's own answers come from its own
    /// socket, which no program owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

/// The longest wait between two packets: 10 days (an established TCP
/// connection's conntrack timeout is 5).
pub const MAX_WAIT: u32 = 864_000;

impl SendSpec {
    pub fn new(from: &str, to: &str, proto: Proto) -> SendSpec {
        SendSpec {
            from: from.into(),
            to: to.into(),
            proto,
            flags: None,
            src: None,
            src_port: None,
            payload_len: 0,
            ttl: None,
            force: Vec::new(),
            seq: None,
            ack: None,
            icmp_type: None,
            icmp_code: None,
            quote: None,
            ct: None,
            kernel: false,
            after: None,
            uid: None,
            gid: None,
        }
    }

    /// The kernel's answer to a refused packet, as the host `ns` sends it:
    /// `answer` as it made it, with the connection it carries.
    pub fn answer(ns: &str, answer: &Packet, ct: Option<Attached>) -> SendSpec {
        let mut spec = match &answer.transport {
            Transport::Tcp {
                src_port,
                dst_port,
                flags,
                seq,
                ack,
            } => {
                let mut s = SendSpec::new(ns, &format!("{}:{dst_port}", answer.ip.dst), Proto::Tcp);
                s.flags = Some(*flags);
                s.src_port = Some(*src_port);
                s.seq = Some(*seq);
                s.ack = Some(*ack);
                s
            }
            Transport::Icmp {
                icmp_type,
                code,
                quoted,
                seq,
                ..
            } => {
                let mut s = SendSpec::new(ns, &answer.ip.dst.to_string(), Proto::Icmp);
                s.icmp_type = Some(*icmp_type);
                s.icmp_code = Some(*code);
                s.seq = (*seq > 0).then_some(u32::from(*seq));
                s.quote = quoted.as_deref().cloned();
                s.src_port = Some(0);
                s
            }
            // (The kernel answers with a reset or an ICMP error only.)
            _ => SendSpec::new(ns, &answer.ip.dst.to_string(), answer.ip.protocol),
        };
        spec.src = Some(answer.ip.src);
        spec.payload_len = answer.payload_len;
        spec.ct = ct;
        spec.kernel = true;
        spec
    }

    /// Whether this is an ICMP error (which quotes the packet it is about).
    pub fn is_icmp_error(&self) -> bool {
        self.proto == Proto::Icmp && self.icmp_type.is_some_and(icmp::is_error)
    }
}

/// A socket that sent something and waits for the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Conn {
    proto: Proto,
    local: Ipv4Addr,
    lport: u16,
    remote: Ipv4Addr,
    rport: u16,
}

/// What a TCP socket has heard from its peer ([`SimState::heard`]).
#[derive(Clone, Copy, Debug)]
struct Heard {
    conn: Conn,
    acked: u32,
    received: u32,
    /// The peer's FIN came; its own FIN went.
    fin_in: bool,
    fin_out: bool,
    /// Its own FIN went before the peer's came (the active close: TIME_WAIT
    /// after both).
    fin_first: bool,
    /// An ACK came after both FINs: the socket is closed (LAST_ACK's end).
    closed: bool,
}

/// The receive window a socket checks a reset's number against (Linux
/// 6.18 advertised 64 KiB to a new connection, measured).
const RCV_WINDOW: u32 = 65_536;

/// `-m recent` lists of one namespace, by name.
type RecentLists = HashMap<String, RecentList>;

/// How many addresses a `recent` list holds (xt_recent's ip_list_tot).
const RECENT_LIST_MAX: usize = 100;

/// One `recent` list (`/proc/net/xt_recent/NAME`): its addresses and their
/// timestamps, least recently stamped first, and the mask every lookup in it uses, that of the first
/// rule naming it (the kernel makes the list when that rule is loaded).
#[derive(Clone, Debug)]
struct RecentList {
    mask: Ipv4Addr,
    entries: Vec<(Ipv4Addr, Vec<u64>)>,
}

/// Everything that lives across packets: conntrack, the random stream, the
/// clock, `recent` lists, `nth` counters, rule counters and open sockets.
#[derive(Clone, Debug)]
pub struct SimState {
    pub conntrack: Vec<conntrack::Table>,
    pub rng: Rng,
    /// Seconds since the start; each packet advances it by one.
    pub clock: u64,
    nth: HashMap<(usize, RuleAt, usize), u32>,
    /// Each `limit` match's bucket: its credit (in the kernel's
    /// ten-thousandths of a second) and when it was last filled.
    limits: HashMap<(usize, RuleAt, usize), (u64, u64)>,
    recent: Vec<RecentLists>,
    /// Packet/byte counters per rule, as `iptables -L -v` shows them.
    pub counters: HashMap<(usize, RuleAt), Counters>,
    ip_id: Vec<u16>,
    conns: Vec<Vec<Conn>>,
    /// Connections a listening socket accepted (its SYN arrived), per host.
    accepted: Vec<Vec<Conn>>,
    /// What each host's kernel keeps per peer address for ICMP: its
    /// redirects and its rate limit (`inet_peer`).
    peers: Vec<HashMap<Ipv4Addr, Peer>>,
    /// TCP sockets of `conns` whose connection is established (a SYN-ACK
    /// reached them), per host: a reset or an ICMP error ends those
    /// differently from one still connecting.
    connected: Vec<Vec<Conn>>,
    /// What each TCP socket has heard from its peer, per host: the last
    /// acknowledgement (where its own sequence stands, all acknowledged),
    /// the end of what it received (what it acknowledges), and its closing.
    heard: Vec<Vec<Heard>>,
    /// Each host's neighbour cache (`ip neigh`).
    neigh: Vec<Vec<Neighbour>>,
    /// The path MTUs each host learnt ([`Learnt`]).
    pmtu: Vec<Vec<Learnt>>,
}

/// A path MTU a host learnt from an ICMP fragmentation needed that
/// reached one of its sockets: a route exception for the destination the
/// error quoted, which every later packet the host itself sends there
/// meets, not one it forwards (`ip route get` shows `cache expires 599sec
/// mtu 1300`; measured on Linux 6.18: a second socket's send to it failed
/// with EMSGSIZE too).
#[derive(Clone, Copy, Debug)]
struct Learnt {
    dst: Ipv4Addr,
    mtu: u32,
    /// When it was learnt (the clock's seconds).
    at: u64,
    /// Named under 552, it was learnt as 552 and locked: the host's
    /// packets to `dst` leave without Don't Fragment from then on.
    locked: bool,
}

/// A learnt path MTU as `ip route get` shows it.
fn cache_words(mtu: u32, left: u64) -> String {
    format!("ip route get: cache expires {left}sec mtu {mtu}")
}

/// ip_rt_mtu_expires: how long a learnt path MTU holds, in seconds.
const PMTU_EXPIRES: u64 = 600;
/// ip_rt_min_pmtu: a path MTU is never learnt lower.
const MIN_PMTU: u32 = 552;

/// One entry of a host's neighbour cache: the device that answered for
/// `ip` on `dev`.
#[derive(Clone, Copy, Debug)]
struct Neighbour {
    dev: usize,
    ip: Ipv4Addr,
    /// The (host, device) whose link-layer address it holds.
    owner: (usize, usize),
    proxy: bool,
    /// When an answer confirmed it (the clock's seconds): REACHABLE for
    /// 30 s after (base_reachable_time; the kernel draws 15–45 s). None:
    /// learnt from the neighbour's own request, STALE from the start
    /// (neigh_event_ns).
    confirmed: Option<u64>,
    /// Used while STALE, and its owner would no longer answer: when its
    /// probes will have gone unanswered (5 s of DELAY, then 3 unicast
    /// probes 1 s apart) and it is FAILED.
    fails_at: Option<u64>,
}

/// base_reachable_time: how long an answer keeps an entry REACHABLE.
const REACHABLE_SECS: u64 = 30;
/// delay_first_probe_time, then ucast_solicit probes retrans_time apart.
const PROBE_FAILS_SECS: u64 = 5 + 3;

/// The kernel's ICMP bookkeeping for one peer address (`struct
/// inet_peer`), in milliseconds of the simulator's clock.
#[derive(Clone, Copy, Debug)]
struct Peer {
    /// When a redirect was last sent (or held back for good), or an ICMP
    /// error last asked the rate limit.
    rate_last: i64,
    /// The rate limit's tokens (`icmp_ratelimit`: 1000 per error).
    rate_tokens: i64,
    /// Redirects sent since the peer last went quiet.
    n_redirects: u32,
}

/// How the kernel decided on a redirect (`ip_rt_send_redirect`).
enum Redirected {
    Sent,
    /// Too soon after the last one: it backs off, doubling the wait.
    Backoff,
    /// Nine went unheeded: no more until the peer is quiet for 20 s.
    Unheeded,
}

impl SimState {
    pub fn new(world: &World) -> SimState {
        let n = world.hosts.len();
        SimState {
            conntrack: vec![conntrack::Table::default(); n],
            rng: Rng(world.scenario.seed),
            clock: 0,
            nth: HashMap::new(),
            limits: HashMap::new(),
            recent: vec![HashMap::new(); n],
            counters: HashMap::new(),
            ip_id: (0..n as u64)
                .map(|i| {
                    (world.scenario.seed.wrapping_mul(31).wrapping_add(i * 7919) & 0xffff) as u16
                })
                .collect(),
            conns: vec![Vec::new(); n],
            accepted: vec![Vec::new(); n],
            peers: vec![HashMap::new(); n],
            connected: vec![Vec::new(); n],
            heard: vec![Vec::new(); n],
            neigh: vec![Vec::new(); n],
            pmtu: vec![Vec::new(); n],
        }
    }

    /// The path MTU `host` learnt for `dst` and still holds: the MTU, and
    /// the seconds it has left.
    fn learnt_mtu(&self, host: usize, dst: Ipv4Addr) -> Option<(u32, u64)> {
        self.learnt(host, dst).map(|(l, left)| (l.mtu, left))
    }

    fn learnt(&self, host: usize, dst: Ipv4Addr) -> Option<(Learnt, u64)> {
        let l = self.pmtu.get(host)?.iter().find(|l| l.dst == dst)?;
        let left = (l.at + PMTU_EXPIRES).saturating_sub(self.clock);
        (left > 0).then_some((*l, left))
    }

    /// `host`'s learnt path MTUs as `ip route show cache` lists them (by
    /// destination; each with its route's gateway and device).
    pub fn route_cache(&self, world: &World, host: usize) -> Vec<String> {
        let (Some(h), Some(list)) = (world.hosts.get(host), self.pmtu.get(host)) else {
            return Vec::new();
        };
        let mut held: Vec<(Learnt, u64)> = list
            .iter()
            .filter_map(|l| self.learnt(host, l.dst))
            .collect();
        held.sort_by_key(|(l, _)| l.dst);
        held.into_iter()
            .map(|(l, left)| {
                let r = h.routes.lookup(l.dst).route;
                let via = r
                    .as_ref()
                    .and_then(|r| r.via)
                    .map(|g| format!(" via {g}"))
                    .unwrap_or_default();
                let dev = r
                    .as_ref()
                    .and_then(|r| r.dev.clone())
                    .map(|d| format!(" dev {d}"))
                    .unwrap_or_default();
                let lock = if l.locked { "lock " } else { "" };
                format!(
                    "{}{via}{dev}\n    cache expires {left}sec mtu {lock}{}",
                    l.dst, l.mtu
                )
            })
            .collect()
    }

    /// The peer record of `addr` on `host`, made as `inet_getpeer` makes
    /// one: quiet for the last minute.
    fn peer(&mut self, host: usize, addr: Ipv4Addr) -> &mut Peer {
        let now = self.clock as i64 * 1000;
        self.peers[host].entry(addr).or_insert(Peer {
            rate_last: now - 60_000,
            rate_tokens: 0,
            n_redirects: 0,
        })
    }

    /// `ip_rt_send_redirect`: whether a redirect to `to` is sent now
    /// (ip_rt_redirect_load 20 ms, doubled per redirect; at most 9;
    /// silence 20.48 s resets).
    fn redirect(&mut self, host: usize, to: Ipv4Addr) -> Redirected {
        let now = self.clock as i64 * 1000;
        let p = self.peer(host, to);
        if now > p.rate_last + (20 << 10) {
            p.rate_tokens = 0;
            p.n_redirects = 0;
        }
        if p.n_redirects >= 9 {
            p.rate_last = now;
            Redirected::Unheeded
        } else if p.n_redirects == 0 || now > p.rate_last + (20 << p.n_redirects) {
            p.rate_last = now;
            p.n_redirects += 1;
            Redirected::Sent
        } else {
            Redirected::Backoff
        }
    }

    /// `icmpv4_xrlim_allow`: whether an ICMP error to `to` passes the
    /// per-host rate limit (icmp_ratelimit 1000 ms, a burst of 6).
    fn icmp_allowed(&mut self, host: usize, to: Ipv4Addr) -> bool {
        let now = self.clock as i64 * 1000;
        let p = self.peer(host, to);
        let mut token = (p.rate_tokens + (now - p.rate_last)).min(6 * 1000);
        p.rate_last = now;
        let allowed = token >= 1000;
        if allowed {
            token -= 1000;
        }
        p.rate_tokens = token;
        allowed
    }

    /// Grows the per-host state when hosts were added (`client:IP`).
    fn fit(&mut self, n: usize) {
        while self.conntrack.len() < n {
            self.conntrack.push(conntrack::Table::default());
            self.recent.push(HashMap::new());
            self.ip_id
                .push((self.ip_id.len() as u16).wrapping_mul(7919));
            self.conns.push(Vec::new());
            self.accepted.push(Vec::new());
            self.peers.push(HashMap::new());
            self.connected.push(Vec::new());
            self.heard.push(Vec::new());
            self.neigh.push(Vec::new());
            self.pmtu.push(Vec::new());
        }
    }

    /// `host`'s neighbour cache as `ip neigh show` lists it (by device,
    /// then address), the link-layer address named by the device that
    /// has it.
    pub fn neighbours(&self, world: &World, host: usize) -> Vec<String> {
        let Some(h) = world.hosts.get(host) else {
            return Vec::new();
        };
        // The CNI's permanent entries (a VXLAN device's), then the learnt.
        let permanent = h.devs.iter().flat_map(|d| match &d.spec.kind {
            DeviceKind::Vxlan { neigh, .. } => neigh
                .iter()
                .map(|n| format!("{} dev {} lladdr {} PERMANENT", n.ip, d.spec.name, n.lladdr))
                .collect(),
            _ => Vec::new(),
        });
        let cache = self.neigh.get(host).map_or(&[][..], Vec::as_slice);
        let mut sorted: Vec<&Neighbour> = cache.iter().collect();
        sorted.sort_by_key(|n| (n.dev, n.ip));
        permanent
            .chain(sorted.into_iter().map(|n| {
                let dev = world.hosts[host].devs[n.dev].spec.name.as_str();
                let state = n.state(self.clock);
                if state == Nud::Failed {
                    return format!("{} dev {dev} FAILED", n.ip);
                }
                let proxy = if n.proxy { " (proxy ARP)" } else { "" };
                format!(
                    "{} dev {dev} lladdr [{}]{proxy} {}",
                    n.ip,
                    world.label(n.owner.0, n.owner.1),
                    state.name()
                )
            }))
            .collect()
    }

    /// The IP ID `host` gives its next packet (one counter per host).
    fn next_ip_id(&mut self, host: usize) -> u16 {
        let id = self.ip_id[host];
        self.ip_id[host] = id.wrapping_add(1);
        id
    }

    /// What replacing `host`'s rules with `rules` (iptables-restore) does
    /// to the state the old rules kept: their packet counters and each
    /// `statistic --mode nth` match's counter start again from zero, and
    /// a `recent` list outlives them only if a new rule names it (the
    /// kernel frees a list with the last rule naming it; measured on
    /// Linux 6.18 with iptables-nft 1.8.9).
    pub fn rules_replaced(&mut self, host: usize, rules: Option<&Ruleset>) {
        self.counters.retain(|(h, _), _| *h != host);
        self.nth.retain(|(h, _, _), _| *h != host);
        self.limits.retain(|(h, _, _), _| *h != host);
        if let Some(lists) = self.recent.get_mut(host) {
            lists.retain(|name, _| {
                rules.is_some_and(|rs| rs.recent_matches().any(|r| r.name == *name))
            });
        }
    }

    /// Lets `secs` seconds pass: the connections whose time runs out
    /// meanwhile are gone (the other clocks read the time when they are
    /// next asked).
    pub fn wait(&mut self, secs: u32) {
        self.clock += u64::from(secs.min(MAX_WAIT));
        for t in &mut self.conntrack {
            t.expire(self.clock);
        }
    }

    /// Forgets all tracked connections (`conntrack -F` everywhere). The
    /// sockets keep theirs, as on Linux: a connection whose NAT is then
    /// chosen anew (another endpoint, another masquerade port) meets a
    /// socket that does not know it.
    pub fn clear_conntrack(&mut self) {
        self.conntrack.iter_mut().for_each(conntrack::Table::clear);
    }
}

impl Neighbour {
    fn state(&self, now: u64) -> Nud {
        match (self.fails_at, self.confirmed) {
            (Some(f), _) if now >= f => Nud::Failed,
            (_, Some(c)) if now < c + REACHABLE_SECS => Nud::Reachable,
            _ => Nud::Stale,
        }
    }
}

/// Per-packet conntrack context within one namespace.
#[derive(Clone, Debug, Default)]
struct Ct {
    /// Confirmed entry and the packet's direction.
    entry: Option<(usize, Dir)>,
    /// A new connection not yet confirmed.
    new: Option<conntrack::Entry>,
    state: u8,
    related: bool,
    /// The connection an answer carries (not looked up: it need not be
    /// in the table), and the answer's direction.
    attached: Option<(conntrack::Entry, Dir)>,
}

/// Where the packet goes next.
enum Next {
    Receive {
        host: usize,
        dev: usize,
        from: Option<String>,
        pkt: Packet,
        /// The device whose MAC the frame is addressed to, when that is
        /// not `dev` itself: a pod behind the bridge `dev` is a port of,
        /// with that pod's port of the bridge.
        frame_to: Option<((usize, usize), usize)>,
    },
    LocalOut {
        host: usize,
        pkt: Packet,
    },
    Done(Verdict),
}

const MAX_HOPS: usize = 64;

struct Walker<'w, 's> {
    world: &'w World,
    state: &'s mut SimState,
    spec: &'w SendSpec,
    steps: Vec<Step>,
    /// The connection an answer carries, and the host that sent it: its
    /// conntrack takes that instead of looking one up.
    attached: Option<(usize, Attached)>,
    /// The connection of a packet a host sends itself: it comes back in
    /// on lo with it, and conntrack looks nothing up ("previously seen").
    carried: Option<(usize, Ct)>,
    /// Why the ICMP error just asked for was not made (its rate limit).
    held_back: Option<String>,
    /// A host's own packet rerouted after OUTPUT to a smaller MTU: the
    /// new MTU, the one it was sized for, and whose MTU that is, in words
    /// (checked after POSTROUTING).
    resized: Option<(u32, u32, String)>,
    /// A forwarded packet without DF larger than its way out's MTU: that
    /// MTU (it is fragmented after POSTROUTING).
    pending_fragment: Option<u32>,
    /// The mangle table's OUTPUT chains changed the packet's mark (the
    /// kernel routes it again; a mark set in raw or filter does not).
    mangled_mark: bool,
    /// The host of the last route lookup, and the next hop it chose (what
    /// MASQUERADE takes its address toward).
    routed: Option<(usize, Option<Ipv4Addr>)>,
    /// The socket the packet was sent from, while it is in its sender's
    /// namespace (leaving it, the packet is orphaned, as a veth and lo
    /// do; a forwarded packet has none).
    socket: Option<eval::Socket>,
}

/// The environment rules see inside one namespace.
struct HostEnv<'a> {
    facts: HostFacts<'a>,
    state: &'a mut SimState,
    force: &'a [Force],
    /// A NOTRACK rule matched.
    notrack: bool,
    /// The packet already has its connection (back in on lo): NOTRACK
    /// leaves it so.
    has_ct: bool,
    /// A CONNMARK rule set the connection's mark (`facts.ct_mark`).
    ct_mark_set: bool,
}

/// What rules read from one namespace (addresses, the packet's conntrack state).
struct HostFacts<'a> {
    world: &'a World,
    host: usize,
    ct_state: u8,
    /// The packet's connection's mark (None: no connection).
    ct_mark: Option<u32>,
    /// The packet's connection, as `-m conntrack`'s tuple tests read it.
    ct_view: Option<eval::CtView>,
    /// The packet's socket, at the hooks that see it.
    socket: Option<eval::Socket>,
}

impl Facts for HostEnv<'_> {
    fn addr_type(&self, addr: Ipv4Addr, dev: Option<&str>) -> u16 {
        self.facts.addr_type(addr, dev)
    }

    fn ct_state(&self) -> u8 {
        self.facts.ct_state
    }

    fn ipsets(&self) -> Option<&crate::engine::iptables::ipset::IpSets> {
        self.facts.ipsets()
    }

    fn route_back(
        &self,
        src: Ipv4Addr,
        from: Ipv4Addr,
        mark: u32,
    ) -> (RouteType, Option<String>, String) {
        self.facts.route_back(src, from, mark)
    }

    fn ct_mark(&self) -> Option<u32> {
        self.facts.ct_mark
    }

    fn ct_view(&self) -> Option<eval::CtView> {
        self.facts.ct_view
    }

    fn socket(&self) -> Option<eval::Socket> {
        self.facts.socket
    }
}

impl Facts for HostFacts<'_> {
    fn ct_view(&self) -> Option<eval::CtView> {
        self.ct_view
    }

    fn addr_type(&self, addr: Ipv4Addr, dev: Option<&str>) -> u16 {
        // As the kernel's __inet_dev_addr_type: multicast by class, 0.0.0.0/8
        // and 255.255.255.255 are broadcast, otherwise the type of the local
        // table's route (LOCAL, BROADCAST; with --limit-iface only routes of
        // that device), and anything else is UNICAST, whatever the main
        // table says (blackhole and unreachable routes included).
        if addr.is_multicast() {
            return addrtype::MULTICAST;
        }
        if addr.octets()[0] == 0 || addr.is_broadcast() {
            return addrtype::BROADCAST;
        }
        let h = &self.world.hosts[self.host];
        // The longest prefix that holds it (a broadcast /32 inside a
        // `local` /24 is BROADCAST).
        let local = (h.routes.routes.iter())
            .filter(|r| {
                r.table == crate::engine::route::TableId::LOCAL
                    && r.dst.contains(&addr)
                    && dev.is_none_or(|d| r.dev.as_deref() == Some(d))
            })
            .max_by_key(|r| r.dst.prefix_len());
        match local.map(|r| r.kind) {
            Some(RouteType::Local) => addrtype::LOCAL,
            Some(RouteType::Broadcast) => addrtype::BROADCAST,
            _ => addrtype::UNICAST,
        }
    }

    fn ct_state(&self) -> u8 {
        self.ct_state
    }

    fn ipsets(&self) -> Option<&crate::engine::iptables::ipset::IpSets> {
        self.world.hosts[self.host]
            .rules
            .as_ref()
            .map(|r| &r.ipsets)
    }

    fn route_back(
        &self,
        src: Ipv4Addr,
        from: Ipv4Addr,
        mark: u32,
    ) -> (RouteType, Option<String>, String) {
        let flow = crate::engine::policy::Flow {
            src: from,
            mark,
            ..crate::engine::policy::Flow::to(src)
        };
        let back = self.world.hosts[self.host].routes.route_for(&flow);
        match &back.route {
            Some(r) => (r.kind, r.dev.clone(), r.to_string()),
            None => (RouteType::Unreachable, None, "no route".into()),
        }
    }
}

impl Env for HostEnv<'_> {
    fn set_ct_mark(&mut self, mark: u32) {
        if self.facts.ct_mark.is_some() {
            self.facts.ct_mark = Some(mark);
            self.ct_mark_set = true;
        }
    }

    fn notrack(&mut self) {
        self.notrack = true;
        // The packet is untracked from the target on: the raw table's
        // later rules see it so (`--ctstate UNTRACKED`, measured on Linux
        // 6.18), unless it had its connection already.
        if !self.has_ct {
            self.facts.ct_state = ctstate::UNTRACKED;
        }
    }

    fn draw(&mut self, at: RuleAt) -> (u32, Option<bool>) {
        let d = (self.state.rng.next_u64() as u32) & 0x7fff_ffff;
        let h = self.facts.world.hosts[self.facts.host].name();
        let chain = self.facts.world.hosts[self.facts.host]
            .rules
            .as_ref()
            .and_then(|r| r.table(at.table))
            .map(|t| t.chains[at.chain].name.as_str())
            .unwrap_or("");
        let forced = self
            .force
            .iter()
            .find(|f| {
                f.host == h && f.table == at.table && f.chain == chain && f.rule == at.rule + 1
            })
            .map(|f| f.matched);
        (d, forced)
    }

    fn nth(&mut self, at: RuleAt, which: usize, every: u32, packet: u32) -> bool {
        // As measured on the kernel: `--every N --packet P` matches the
        // (P+1)th packet the match sees, then every Nth after it. Each
        // match has its own counter, which only the packets that reach it
        // advance (a second nth match counts the first one's hits).
        let seen = self
            .state
            .nth
            .entry((self.facts.host, at, which))
            .or_insert(0);
        let hit = *seen % every == packet;
        *seen += 1;
        hit
    }

    fn limit(&mut self, at: RuleAt, which: usize, avg: u32, burst: u32) -> bool {
        // The bucket: full when the rule is made, filled as time passes
        // (a second is LIMIT_SCALE of credit), capped at the burst; a
        // packet takes one period's credit. iptables-nft hands the match
        // to nftables' `limit` (nft_limit, in nanoseconds and u64: no
        // overflow of xt_limit's u32 credits; `--limit 1/day` works).
        let (cost, cap) = (u64::from(avg), u64::from(avg) * u64::from(burst));
        let now = self.state.clock;
        let (credit, prev) = self
            .state
            .limits
            .entry((self.facts.host, at, which))
            .or_insert((cap, now));
        *credit = (*credit + (now - *prev) * u64::from(crate::engine::iptables::rule::LIMIT_SCALE))
            .min(cap);
        *prev = now;
        if *credit >= cost {
            *credit -= cost;
            true
        } else {
            false
        }
    }

    fn recent(&mut self, r: &Recent, addr: Ipv4Addr, negated: bool) -> bool {
        let now = self.state.clock;
        let (world, host) = (self.facts.world, self.facts.host);
        let list = self.state.recent[host]
            .entry(r.name.clone())
            .or_insert_with(|| {
                // The first rule of the ruleset naming the list made it.
                let first = (world.hosts[host].rules.as_deref()).and_then(|rs| {
                    (rs.recent_matches())
                        .find(|rc| rc.name == r.name)
                        .map(|rc| rc.mask)
                });
                RecentList {
                    mask: first.unwrap_or(r.mask),
                    entries: vec![],
                }
            });
        let addr = Ipv4Addr::from(u32::from(addr) & u32::from(list.mask));
        let list = &mut list.entries;
        let pos = list.iter().position(|(a, _)| *a == addr);
        let fresh = |times: &Vec<u64>| -> bool {
            let recent: Vec<&u64> = times
                .iter()
                .filter(|t| {
                    r.seconds
                        .is_none_or(|s| now.saturating_sub(**t) <= s as u64)
                })
                .collect();
            !recent.is_empty() && r.hitcount.is_none_or(|h| recent.len() as u32 >= h)
        };
        match r.cmd {
            RecentCmd::Set => {
                match pos {
                    Some(p) => stamp(list, p, now),
                    None => {
                        // A full list (ip_list_tot, 100) lets its least
                        // recently stamped address go.
                        if list.len() >= RECENT_LIST_MAX {
                            list.remove(0);
                        }
                        list.push((addr, vec![now]));
                    }
                }
                true
            }
            RecentCmd::Rcheck | RecentCmd::Update => {
                let Some(mut p) = pos else { return false };
                let ok = fresh(&list[p].1);
                // The kernel stamps when the match, negation and all, holds.
                let stamping = ok != negated && r.cmd == RecentCmd::Update;
                // --reap (recent_entry_reap): the list's least recently
                // stamped address goes when its last stamp is older than
                // --seconds, unless it is the one about to be stamped; one
                // address per lookup (measured on Linux 6.18).
                if let (true, Some(secs)) = (r.reap, r.seconds) {
                    let stale =
                        (list[0].1.last()).is_some_and(|t| now.saturating_sub(*t) > secs as u64);
                    if stale && !(p == 0 && stamping) {
                        list.remove(0);
                        match p.checked_sub(1) {
                            Some(q) => p = q,
                            None => return ok,
                        }
                    }
                }
                if stamping {
                    stamp(list, p, now);
                }
                ok
            }
            RecentCmd::Remove => match pos {
                Some(p) => {
                    list.remove(p);
                    true
                }
                None => false,
            },
        }
    }

    fn count(&mut self, at: RuleAt, bytes: u64) {
        let c = self
            .state
            .counters
            .entry((self.facts.host, at))
            .or_default();
        c.packets += 1;
        c.bytes += bytes;
    }
}

fn endpoint_dst(p: &Packet) -> Endpoint {
    Endpoint {
        addr: p.head().dst,
        port: p.head_ports().map(|x| x.1),
        echo_id: p.head_transport().and_then(|t| t.echo_id()),
    }
}

fn endpoint_src(p: &Packet) -> Endpoint {
    Endpoint {
        addr: p.head().src,
        port: p.head_ports().map(|x| x.0),
        echo_id: p.head_transport().and_then(|t| t.echo_id()),
    }
}

/// Stamps entry `p` of a `recent` list (recent_entry_update): its time
/// joins its stamps and it becomes the list's most recently stamped. The
/// kernel keeps as many stamps per address as the rules' largest
/// `--hitcount` asks, up to 65536 (measured on Linux 6.18, ip_pkt_list_tot
/// 0: `--hitcount 25` drops from the 25th packet, `--hitcount 300` from the
/// 300th): keeping 65535 gives the same answers to every `--hitcount`.
fn stamp(list: &mut Vec<(Ipv4Addr, Vec<u64>)>, p: usize, now: u64) {
    let mut e = list.remove(p);
    e.1.push(now);
    if e.1.len() > 65535 {
        e.1.remove(0);
    }
    list.push(e);
}

/// Whether TCP `flags` are a combination conntrack refuses for any packet,
/// new or of a known connection (`tcp_error`'s `tcp_valid_flags`: PSH
/// aside, only SYN, SYN+ACK, RST, RST+ACK, FIN+ACK, ACK, each with or
/// without URG where the kernel allows it).
fn tcp_flags_invalid(f: &crate::engine::packet::TcpFlags) -> bool {
    !matches!(
        (f.syn, f.ack, f.fin, f.rst, f.urg),
        (true, false, false, false, _)
            | (true, true, false, false, false)
            | (false, _, false, true, false)
            | (false, true, true, false, _)
            | (false, true, false, false, _)
    )
}

/// Why conntrack refuses to start a connection with this packet, if it does
/// (`nf_conntrack_tcp` from state NONE: a SYN starts one and, with the
/// default `nf_conntrack_tcp_loose = 1`, so does a bare ACK; SYN-ACK, FIN,
/// RST do not. ICMP: only requests start one; a reply or an error that
/// matches no connection is INVALID).
fn invalid_new(p: &Packet) -> Option<&'static str> {
    match &*p.head_transport()? {
        Transport::Tcp { flags, .. } => {
            if flags.rst {
                Some("a RST for no known connection")
            } else if flags.fin {
                Some("a FIN for no known connection")
            } else if flags.syn && flags.ack {
                Some("a SYN-ACK for no known connection")
            } else {
                None
            }
        }
        Transport::Icmp { icmp_type, .. } => match *icmp_type {
            icmp::ECHO_REQUEST | 13 | 15 | 17 => None,
            t if icmp::is_error(t) => Some("an ICMP error about no known connection"),
            _ => Some("an ICMP reply to no known request"),
        },
        _ => None,
    }
}

/// The UDP source port a VXLAN device picks for a packet: a hash of the
/// inner flow into the ephemeral range (32768–60999), as the kernel's
/// `udp_flow_src_port` spreads flows over paths. (The kernel hashes a
/// forwarded packet's flow; a local socket's packet carries the socket's
/// random `sk_txhash` instead, which this model does not draw: the
/// encapsulation step's words say so.)
fn flow_port(p: &Packet) -> u16 {
    let (sp, dp) = p.transport.ports().unwrap_or((0, 0));
    let mut h: u32 = 2166136261;
    for b in
        p.ip.src
            .octets()
            .into_iter()
            .chain(p.ip.dst.octets())
            .chain(sp.to_be_bytes())
            .chain(dp.to_be_bytes())
    {
        h = (h ^ u32::from(b)).wrapping_mul(16777619);
    }
    32768 + (h % (61000 - 32768)) as u16
}

/// A connection's state as a lookup names it: `RELATED`, `ESTABLISHED` or
/// `NEW (no reply seen yet)`, with `, reply direction` for a reply.
fn state_words(related: bool, seen_reply: bool, dir: Dir) -> String {
    let name = match (related, seen_reply) {
        (true, _) => "RELATED",
        (false, true) => "ESTABLISHED",
        (false, false) => "NEW (no reply seen yet)",
    };
    match dir {
        Dir::Reply => format!("{name}, reply direction"),
        Dir::Original => name.to_string(),
    }
}

/// What a route lookup of `pkt` knows (`flowi4`): its addresses, mark,
/// input device (`lo` for a host's own packet), protocol and ports. An
/// IPIP outer header is looked up with the tunnel's mark, 0, and no
/// source (tunl0 has no `local`); VXLAN's with the packet's mark
/// (`udp_tunnel_dst_lookup`; measured on Linux 6.18) and its device's
/// local address.
fn flow_of(pkt: &Packet, lookup: Lookup) -> crate::engine::policy::Flow<'_> {
    let h = pkt.head();
    let ipip = lookup == Lookup::Tunnel && h.vxlan.is_none();
    crate::engine::policy::Flow {
        dst: h.dst,
        // (tunl0 has no local address of its own: its lookup has none.)
        src: if ipip { Ipv4Addr::UNSPECIFIED } else { h.src },
        mark: if ipip { 0 } else { pkt.mark },
        iif: pkt.iif.as_deref().unwrap_or("lo"),
        proto: h.protocol.number(),
        ports: pkt.head_transport().and_then(|t| t.ports()),
    }
}

/// Reverse path filtering of a packet from `src` arriving on `dev` of
/// host `h` (`__fib_validate_source`), as why it fails: with rp_filter 1
/// (strict) the route back to `src` must leave by `dev`; with 2 (loose)
/// any unicast route back will do, but only on a device with an address of
/// its own (on one without, a Calico veth, loose fails as strict does:
/// `no_addr`, measured on Linux 6.18). Off (0), anything passes. `to`:
/// the packet's destination and the device its route leaves by (`lo` when
/// delivered here), which the lookup back gives `ip rule` as its source
/// and input device, with the packet's protocol and its ports swapped
/// (measured on Linux 6.18); None: none of it is known.
fn reverse_path(
    h: &crate::engine::scenario::Netns,
    dev: &str,
    src: Ipv4Addr,
    to: Option<(Ipv4Addr, &str, &Packet)>,
) -> Result<(), String> {
    let Some(d) = (h.devs.iter()).find(|d| d.spec.name == dev).filter(|d| {
        d.spec.rp_filter != 0
            && !matches!(d.spec.kind, crate::engine::scenario::DeviceKind::Loopback)
    }) else {
        return Ok(());
    };
    let rp = d.spec.rp_filter;
    let back = match to {
        Some((dst, out, pkt)) => h.routes.route_for(&crate::engine::policy::Flow {
            src: dst,
            iif: out,
            proto: pkt.head().protocol.number(),
            ports: pkt
                .head_transport()
                .and_then(|t| t.ports())
                .map(|(s, d)| (d, s)),
            ..crate::engine::policy::Flow::to(src)
        }),
        None => h.routes.route_for(&crate::engine::policy::Flow::to(src)),
    };
    let out = match back.result() {
        crate::engine::trace::RouteResult::Unicast { dev, .. } => Some(dev),
        _ => None,
    };
    let loose_ok = rp == 2 && !d.spec.addrs.is_empty();
    if out.as_deref().is_some_and(|o| o == dev || loose_ok) {
        return Ok(());
    }
    let mode = if rp == 1 { "strict" } else { "loose" };
    let why = match (&out, back.route.as_ref()) {
        (Some(o), Some(r)) if rp == 2 => format!("the route back to {src} ({r}) leaves by {o}, and {dev} has no address of its own, where loose mode wants the route back by it too"),
        (Some(o), Some(r)) => format!("the route back to {src} ({r}) leaves by {o}, not {dev}"),
        (None, Some(r)) => format!("the route back to {src} ({r}) sends nothing"),
        _ => format!("there is no route back to {src}"),
    };
    Err(format!(
        "reverse path filter ({dev}: rp_filter = {rp}, {mode}): {why}"
    ))
}

/// The sender address of the ARP request host `h` makes on `dev` for
/// `target` (arp_solicit): the packet's source when it is the host's own,
/// else the device's address for the target's subnet.
fn arp_sender(
    h: &crate::engine::scenario::Netns,
    dev: &str,
    target: Ipv4Addr,
    pkt: &Packet,
) -> Ipv4Addr {
    let src = pkt.head().src;
    if h.owns(src) {
        src
    } else {
        h.select_src(dev, Some(target)).unwrap_or(src)
    }
}

/// What the sender of a packet the kernel refused makes of no answer.
/// ` (1440)`: the MTU an ICMP fragmentation needed names, if any.
fn next_hop_mtu(p: &Packet) -> String {
    match &p.transport {
        Transport::Icmp { seq, .. } if *seq > 0 => format!(" ({seq})"),
        _ => String::new(),
    }
}

fn unheard(proto: Proto) -> &'static str {
    match proto {
        Proto::Tcp => "its connect() retries until it times out",
        Proto::Icmp => "ping hears nothing of this echo",
        _ => "its socket hears nothing",
    }
}

/// Parses `IP` or `IP:PORT`.
fn parse_addr_port(s: &str) -> Option<(Ipv4Addr, Option<u16>)> {
    match s.rsplit_once(':') {
        Some((a, p)) => Some((a.parse().ok()?, Some(p.parse().ok()?))),
        None => Some((s.parse().ok()?, None)),
    }
}

/// Sends one packet and returns its trace. State (conntrack, counters, the
/// random stream) carries over to the next packet. `world` grows a client
/// host when `from` names an address no host has (`client:IP`).
pub fn send(world: &mut World, state: &mut SimState, spec: &SendSpec) -> Result<Trace, String> {
    // No name is that long or holds control characters: said without
    // echoing it back whole.
    for (what, text) in [("destination", &spec.to), ("source", &spec.from)] {
        let control = text.chars().any(char::is_control);
        if text.len() > 256 || control {
            return Err(format!(
                "the {what} is not a host, an address or a Service name ({} characters{})",
                text.chars().count(),
                if control {
                    ", control characters among them"
                } else {
                    ""
                }
            ));
        }
    }
    if let Some(w) = spec.after.filter(|w| *w > MAX_WAIT) {
        return Err(format!(
            "a packet waits at most {MAX_WAIT} s (10 days) after the one before it, not {w}"
        ));
    }
    // Resolve the destination first: a packet that cannot be sent makes
    // no LAN client.
    let (dst, port) = match parse_addr_port(&spec.to) {
        Some((ip, Some(p))) if spec.proto == Proto::Icmp => {
            return Err(format!(
                "icmp has no ports: write {ip} without :{p} (an echo's identifier plays the part of a port)"
            ))
        }
        Some(x) => x,
        None => {
            if let Some((ip, p)) = spec.to.rsplit_once(':') {
                if ip.parse::<Ipv4Addr>().is_ok() {
                    return Err(format!(
                        "port \"{p}\" of {} is not a port number (0-65535)",
                        spec.to
                    ));
                }
            }
            if let (Proto::Icmp, Some((name, p))) = (spec.proto, spec.to.rsplit_once(':')) {
                return Err(format!(
                    "icmp has no ports: write {name} without :{p} (a ping goes to the Service's ClusterIP)"
                ));
            }
            let (svc, p) = world.find_service(&spec.to)?.ok_or_else(|| {
                let names: Vec<String> = (world.scenario.services.iter())
                    .map(|s| format!("{}/{}", s.namespace, s.name))
                    .collect();
                let known = if names.is_empty() {
                    "this scenario has no Service with an IPv4 cluster IP".to_string()
                } else {
                    format!("services: {}", names.join(", "))
                };
                format!("\"{}\" is neither IP[:PORT] nor a Service ({known})", spec.to)
            })?;
            (svc.cluster_ip, Some(p.port))
        }
    };
    match (spec.proto, spec.icmp_type) {
        (Proto::Icmp, Some(icmp::ECHO_REQUEST | icmp::ECHO_REPLY) | None) => {}
        // The kernel's answers: Reply on a refused packet sends them.
        (Proto::Icmp, Some(t @ (icmp::DEST_UNREACH | icmp::TIME_EXCEEDED))) => {
            let code = spec.icmp_code.unwrap_or(0);
            let (name, top) = match t {
                icmp::DEST_UNREACH => ("destination-unreachable", 15),
                _ => ("time-exceeded", 1),
            };
            if code > top {
                return Err(format!(
                    "ICMP type {t} ({name}) has codes 0–{top}, not {code}"
                ));
            }
            if spec.quote.is_none() {
                return Err(format!(
                    "ICMP type {t} ({name}) is an error about another packet: it needs the quote of that packet (Reply on a refused packet sends one)"
                ));
            }
        }
        (Proto::Icmp, Some(t)) => {
            return Err(format!(
                "ICMP type {t} ({}) cannot be sent: only echo-request (8), echo-reply (0), and the errors destination-unreachable (3) and time-exceeded (11)",
                icmp::name(t, 0)
            ))
        }
        (p, Some(_)) => return Err(format!("an ICMP type is given for a {p} packet")),
        _ => {}
    }
    if spec.quote.is_some() && !spec.is_icmp_error() {
        return Err("only an ICMP error quotes a packet".into());
    }
    if let (Proto::Icmp, Some(seq)) = (spec.proto, spec.seq) {
        if seq > u32::from(u16::MAX) {
            return Err(format!(
                "ICMP echo sequence {seq} is out of range (0–65535)"
            ));
        }
    }
    if spec.ttl == Some(0) {
        return Err("a TTL of 0 cannot be sent: it is 1 to 255 (64 by default)".into());
    }
    // Linux puts no data on a SYN (TCP Fast Open is off by default).
    let syn = spec.flags.is_none_or(|f| f.syn);
    if spec.proto == Proto::Tcp && syn && spec.payload_len > 0 {
        return Err(format!(
            "a plain connect() sends no data on its SYN, nor an accept() on its SYN-ACK (TCP Fast Open needs MSG_FASTOPEN and a cookie from the server): open the connection first, then send the {} bytes on it with ACK (and PSH) instead of SYN",
            spec.payload_len
        ));
    }
    // An IPv4 packet holds at most 65535 bytes, its headers included.
    let headers = match spec.proto {
        Proto::Tcp => 40,
        Proto::Udp | Proto::Icmp => 28,
        _ => 20,
    };
    if u32::from(spec.payload_len) + headers > u32::from(u16::MAX) {
        return Err(format!(
            "{} bytes of data do not fit in one IPv4 packet: at most {} with {} headers",
            spec.payload_len,
            u32::from(u16::MAX) - headers,
            spec.proto
        ));
    }
    if matches!(spec.proto, Proto::Tcp | Proto::Udp) && port.is_none() {
        return Err(format!(
            "{} needs a destination port: write {}:PORT",
            spec.proto, spec.to
        ));
    }
    if let Some(what) = world.many_hosts(dst) {
        return Err(format!(
            "{dst} is {what}, and Packet Walk follows one packet to one host (unicast)"
        ));
    }
    // Resolve the sender.
    let host = match spec.from.strip_prefix("client:") {
        Some(ip) => {
            let ip: Ipv4Addr = ip
                .parse()
                .map_err(|_| format!("\"{ip}\" is not an IPv4 address"))?;
            world.client(ip)?
        }
        None => world.host(&spec.from).ok_or_else(|| {
            let hint = if spec.from.parse::<Ipv4Addr>().is_ok() {
                format!(
                    "; an address is written client:{} (a machine with that address)",
                    spec.from
                )
            } else {
                String::new()
            };
            format!(
                "no host named \"{}\" (hosts: {}){hint}",
                spec.from,
                world
                    .hosts
                    .iter()
                    .map(|h| h.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?,
    };
    state.fit(world.hosts.len());
    let world: &World = world;
    state.wait(spec.after.unwrap_or(1));
    let h = &world.hosts[host];
    let src = match spec.src {
        Some(s) => s,
        None => {
            if h.spec.kind == HostKind::Client && spec.from.starts_with("client:") {
                spec.from[7..].parse().expect("parsed above")
            } else {
                // The socket's lookup: no source yet, its protocol and
                // destination port (what ip rule's selectors may test).
                let ports = matches!(spec.proto, Proto::Tcp | Proto::Udp)
                    .then(|| (spec.src_port.unwrap_or(0), port.unwrap_or(0)));
                let d = h.routes.route_for(&crate::engine::policy::Flow {
                    proto: spec.proto.number(),
                    ports,
                    ..crate::engine::policy::Flow::to(dst)
                });
                match d.route {
                    Some(r) if r.kind == RouteType::Local => dst,
                    Some(r) => r
                        .src
                        // fib_result_prefsrc: toward the gateway, if any.
                        .or_else(|| h.select_src(r.dev.as_deref()?, r.via))
                        .or_else(|| h.select_src("", None))
                        .unwrap_or(Ipv4Addr::UNSPECIFIED),
                    None => h.select_src("", None).unwrap_or(Ipv4Addr::UNSPECIFIED),
                }
            }
        }
    };
    let sport = spec
        .src_port
        .unwrap_or_else(|| state.rng.range(32768, 60999) as u16);
    let transport = match spec.proto {
        Proto::Tcp => Transport::Tcp {
            src_port: sport,
            dst_port: port.unwrap_or(0),
            flags: spec.flags.unwrap_or(TcpFlags::SYN),
            // Drawn even when given, so that every later draw stays the same.
            seq: {
                let isn = state.rng.next_u64() as u32;
                spec.seq.unwrap_or(isn)
            },
            ack: spec.ack.unwrap_or(0),
        },
        Proto::Udp => Transport::Udp {
            src_port: sport,
            dst_port: port.unwrap_or(0),
        },
        Proto::Icmp if spec.is_icmp_error() => Transport::Icmp {
            icmp_type: spec.icmp_type.unwrap_or(icmp::DEST_UNREACH),
            code: spec.icmp_code.unwrap_or(0),
            id: 0,
            // Fragmentation needed's next-hop MTU, where an echo has its
            // sequence number.
            seq: spec.seq.map_or(0, |s| s as u16),
            quoted: spec.quote.clone().map(Box::new),
        },
        Proto::Icmp => Transport::Icmp {
            icmp_type: spec.icmp_type.unwrap_or(icmp::ECHO_REQUEST),
            code: 0,
            id: sport,
            seq: spec.seq.map_or(1, |s| s as u16),
            quoted: None,
        },
        other => {
            return Err(format!(
                "sending {other} packets is not supported (tcp, udp or icmp)"
            ))
        }
    };
    let id = state.next_ip_id(host);
    let mut pkt = Packet {
        outer: Vec::new(),
        ip: Ipv4Header {
            src,
            dst,
            ttl: spec.ttl.unwrap_or(64),
            protocol: spec.proto,
            id,
            // The kernel's ICMP socket (its errors, and the echo-replies
            // it answers pings with) sends with DF clear.
            df: !spec.is_icmp_error() && spec.icmp_type != Some(icmp::ECHO_REPLY),
            total_len: 0,
            vxlan: None,
        },
        transport,
        payload_len: spec.payload_len,
        mark: 0,
        iif: None,
        oif: None,
        physin: None,
        physout: None,
    };
    pkt.fix_lengths();
    let (lport, rport) = match &pkt.transport {
        Transport::Icmp { id, .. } => (*id, *id),
        t => t.ports().unwrap_or((0, 0)),
    };
    let conn = Conn {
        proto: spec.proto,
        local: src,
        lport,
        remote: dst,
        rport,
    };
    let rst = matches!(&pkt.transport, Transport::Tcp { flags, .. } if flags.rst);
    // A SYN opens the connection anew: the sender connects (SYN_SENT),
    // whatever it was to these ports before.
    if matches!(&pkt.transport, Transport::Tcp { flags, .. } if flags.syn && !flags.ack && !flags.rst)
    {
        state.connected[host].retain(|c| *c != conn);
        state.accepted[host].retain(|c| *c != conn);
        state.heard[host].retain(|h| h.conn != conn);
    }
    // Its FIN: the connection is closing (a SYN then goes to the listener).
    if matches!(&pkt.transport, Transport::Tcp { flags, .. } if flags.fin) {
        (state.heard[host].iter_mut())
            .filter(|h| h.conn == conn)
            .for_each(|h| {
                if !h.fin_out {
                    h.fin_first = !h.fin_in;
                }
                h.fin_out = true;
            });
    }
    // An echo-reply is the kernel's answer, from no socket.
    let echo_reply = matches!(
        &pkt.transport,
        Transport::Icmp {
            icmp_type: icmp::ECHO_REPLY,
            ..
        }
    );
    if rst {
        // A reset closes the sender's side: its socket (a connection it
        // opened, or one its listener accepted) is gone.
        state.conns[host].retain(|c| *c != conn);
        state.accepted[host].retain(|c| *c != conn);
        state.connected[host].retain(|c| *c != conn);
        state.heard[host].retain(|h| h.conn != conn);
    } else if !echo_reply
        && !spec.kernel
        && !spec.is_icmp_error()
        && !state.conns[host].contains(&conn)
    {
        state.conns[host].push(conn);
    }
    let mut w = Walker {
        world,
        state,
        spec,
        steps: Vec::with_capacity(64),
        attached: spec.ct.map(|a| (host, a)),
        carried: None,
        held_back: None,
        resized: None,
        pending_fragment: None,
        mangled_mark: false,
        routed: None,
        // The kernel answers (resets, ICMP errors, echo replies) from its
        // own socket, which no program owns (measured on Linux 6.18).
        socket: Some(eval::Socket {
            owner: (!spec.kernel && spec.icmp_type != Some(icmp::ECHO_REPLY))
                .then(|| (spec.uid.unwrap_or(0), spec.gid.unwrap_or(0))),
        }),
    };
    let note = match &pkt.transport {
        _ if echo_reply => format!("the kernel of {} answers the ping", h.name()),
        Transport::Icmp {
            icmp_type, code, ..
        } if spec.kernel || spec.is_icmp_error() => format!(
            "the kernel of {} answers with an ICMP {}",
            h.name(),
            icmp::name(*icmp_type, *code)
        ),
        Transport::Tcp { flags, .. } if spec.kernel && !flags.rst => format!(
            "the TCP of {} answers with a challenge ACK (RFC 5961)",
            h.name()
        ),
        _ if spec.kernel => format!("the kernel of {} answers with a reset", h.name()),
        _ => match h.spec.kind {
            // A replay's sender with a pod's address sits behind its veth.
            HostKind::Client
                if (h.devs.iter()).any(|d| matches!(d.spec.kind, DeviceKind::Veth { .. })) =>
            {
                format!(
                    "a process in a pod ({}, behind the node's veth) sends",
                    h.name()
                )
            }
            HostKind::Client => format!("a program on {} (outside the cluster) sends", h.name()),
            HostKind::Pod => format!("a process in pod {} sends", h.name()),
            HostKind::Node => format!("a process on node {} sends", h.name()),
        },
    };
    // The kernel makes an ICMP error at the network layer; programs
    // send from sockets.
    let layer = match spec.is_icmp_error() {
        true => Layer::Network,
        false => Layer::Transport,
    };
    w.step(host, layer, StepKind::Send { note }, &pkt);
    let mut next = Next::LocalOut { host, pkt };
    let mut hops = 0;
    let verdict = loop {
        hops += 1;
        if hops > MAX_HOPS * 4 {
            break Verdict::Dropped {
                ns: world.hosts[host].name().to_string(),
                reason: DropReason::HopLimit,
            };
        }
        next = match next {
            Next::Done(v) => break v,
            Next::LocalOut { host, pkt } => w.local_out(host, pkt),
            Next::Receive {
                host,
                dev,
                from,
                pkt,
                frame_to,
            } => w.receive(host, dev, from, pkt, frame_to),
        };
    };
    Ok(Trace {
        version: TRACE_VERSION,
        steps: w.steps,
        verdict,
    })
}

/// The packet `spec` sent (its trace `trace`) once more on its connection:
/// the same addresses and source port, so conntrack finds it; after a
/// ping's echo-reply, ping's next echo-request.
pub fn again_spec(spec: &SendSpec, trace: &Trace) -> Option<SendSpec> {
    // The kernel answers once; no program sends it again.
    if spec.kernel || spec.is_icmp_error() {
        return None;
    }
    let first = trace.steps.first()?;
    // After an echo-reply, ping's next echo-request: from the socket that
    // took the reply, to the address it pinged, with the next sequence.
    if let (
        Transport::Icmp {
            icmp_type: icmp::ECHO_REPLY,
            id,
            seq,
            ..
        },
        Verdict::Delivered { ns, .. },
    ) = (&first.packet.transport, &trace.verdict)
    {
        let got = &trace.steps.last()?.packet;
        let mut next = SendSpec::new(ns, &got.ip.src.to_string(), Proto::Icmp);
        next.src = Some(got.ip.dst);
        next.src_port = Some(got.transport.echo_id().unwrap_or(*id));
        next.seq = Some(u32::from(seq.wrapping_add(1)));
        return Some(next);
    }
    let mut again = spec.clone();
    // A second after it, not after the wait that came before it.
    again.after = None;
    again.src_port = first.packet.transport.ports().map(|p| p.0);
    // Sent again, a segment keeps its numbers (a retransmission).
    if let Transport::Tcp { seq, ack, .. } = first.packet.transport {
        again.seq = Some(seq);
        again.ack = Some(ack);
    }
    // A ping's next echo: the same identifier, the next sequence.
    if let Transport::Icmp { id, seq, .. } = first.packet.transport {
        again.src_port = Some(id);
        again.seq = Some(u32::from(seq.wrapping_add(1)));
    }
    again.src.get_or_insert(first.packet.ip.src);
    Some(again)
}

/// The numbers of the next segment on the TCP connection of `first` (a
/// packet as it was sent), from the traces sent so far, newest last: the
/// sequence number after this side's last segment sent, and the
/// acknowledgement of the other side's last segment that reached it (each
/// when there is one). Again with other flags or data sends that segment,
/// not the packet's numbers again.
pub fn next_segment_numbers<'a>(
    first: &Packet,
    traces: impl DoubleEndedIterator<Item = &'a Trace> + Clone,
) -> (Option<u32>, Option<u32>) {
    let Some((sport, dport)) = first.head_ports() else {
        return (None, None);
    };
    let (src, dst) = (first.head().src, first.head().dst);
    // Ours: sent with the same addresses and ports, and not refused by a
    // challenge ACK (a SYN on the open connection: its number was not
    // taken).
    let challenged = |t: &Trace| {
        matches!(
            t.steps.last().map(|st| &st.kind),
            Some(StepKind::Deliver {
                answer: Some(_),
                ..
            })
        )
    };
    let seq = (traces.clone().rev())
        .filter(|t| !challenged(t))
        .filter_map(|t| t.steps.first().map(|st| &st.packet))
        .find(|p| {
            p.head().src == src && p.head().dst == dst && p.head_ports() == Some((sport, dport))
        })
        .and_then(|p| p.seq_after());
    // Theirs: delivered here, as this side sees the connection.
    let ack = (traces.rev())
        .filter(|t| matches!(t.verdict, Verdict::Delivered { .. }))
        .filter_map(|t| t.steps.last().map(|st| &st.packet))
        .find(|p| {
            p.head().dst == src && p.head().src == dst && p.head_ports() == Some((dport, sport))
        })
        .and_then(|p| p.seq_after());
    (seq, ack)
}

/// The answer to a delivered packet, sent from where it was delivered
/// (SYN → SYN-ACK, anything else → ACK; UDP and ICMP echo likewise; none
/// to a RST). A TCP answer acknowledges what it answers (its sequence
/// number, plus one for a SYN or a FIN, plus the payload) and, after a
/// SYN-ACK, goes on from the number the other side acknowledged; a SYN-ACK
/// starts from its own ISN. The answer to a refused packet is the
/// kernel's (the reset or ICMP error it made), from the host that refused
/// it, carrying the connection the kernel attached to it.
pub fn reply_spec(trace: &Trace) -> Option<SendSpec> {
    let last = trace.steps.last()?;
    // A refused packet: the kernel's answer, from where it was refused.
    if let StepKind::Drop {
        response: Some(r),
        attached,
        ..
    } = &last.kind
    {
        return Some(SendSpec::answer(&last.ns, r, *attached));
    }
    // What TCP answered by itself (a challenge ACK).
    if let StepKind::Deliver {
        answer: Some(a), ..
    } = &last.kind
    {
        return Some(SendSpec::answer(&last.ns, a, None));
    }
    let Verdict::Delivered { ns, .. } = &trace.verdict else {
        return None;
    };
    let p = &last.packet;
    let mut numbers = (None, None);
    let (proto, sport, dport, flags) = match &p.transport {
        // TCP never answers a reset (RFC 793), nor a bare ACK: only
        // what takes sequence space (a SYN, a FIN, data) is acknowledged.
        Transport::Tcp { flags, .. } if flags.rst => return None,
        Transport::Tcp { flags, .. } if !flags.syn && !flags.fin && p.payload_len == 0 => {
            return None
        }
        Transport::Tcp {
            src_port,
            dst_port,
            flags,
            ack,
            ..
        } => {
            numbers = ((flags.ack && !flags.rst).then_some(*ack), p.seq_after());
            let f = if flags.syn && !flags.ack {
                TcpFlags {
                    syn: true,
                    ack: true,
                    // Linux's tcp_ecn = 2 (its default): ECN when the
                    // other side asks for it (a SYN with ECE and CWR).
                    ece: flags.ece && flags.cwr,
                    ..Default::default()
                }
            } else {
                TcpFlags {
                    ack: true,
                    ..Default::default()
                }
            };
            (Proto::Tcp, *dst_port, *src_port, Some(f))
        }
        Transport::Udp { src_port, dst_port } => (Proto::Udp, *dst_port, *src_port, None),
        // The kernel's echo responder: an echo-reply with the request's
        // identifier and sequence (icmp_echo); nothing answers a reply.
        Transport::Icmp {
            icmp_type: icmp::ECHO_REQUEST,
            id,
            seq,
            ..
        } => {
            let mut spec = SendSpec::new(ns, &p.ip.src.to_string(), Proto::Icmp);
            spec.icmp_type = Some(icmp::ECHO_REPLY);
            // icmp_echo sends the request's data back.
            spec.payload_len = p.payload_len;
            spec.src = Some(p.ip.dst);
            spec.src_port = Some(*id);
            spec.seq = Some(u32::from(*seq));
            return Some(spec);
        }
        _ => return None,
    };
    Some(SendSpec {
        from: ns.clone(),
        to: format!("{}:{}", p.ip.src, dport),
        proto,
        flags,
        src: Some(p.ip.dst),
        src_port: Some(sport),
        payload_len: 0,
        ttl: None,
        force: Vec::new(),
        seq: numbers.0,
        ack: numbers.1,
        ..SendSpec::new(ns, "", proto)
    })
}

impl Walker<'_, '_> {
    fn ns(&self, host: usize) -> &str {
        self.world.hosts[host].name()
    }

    fn step(&mut self, host: usize, layer: Layer, kind: StepKind, pkt: &Packet) {
        let ns = self.world.hosts[host].name().to_string();
        self.steps.push(Step {
            ns,
            layer,
            kind,
            packet: pkt.clone(),
        });
    }

    fn drop(
        &mut self,
        host: usize,
        reason: DropReason,
        detail: String,
        response: Option<Packet>,
        pkt: &Packet,
    ) -> Next {
        self.refuse(host, reason, detail, response, None, pkt)
    }

    /// The connection the kernel attaches to an answer about a packet of
    /// connection `ct` (`nf_ct_attach`): confirmed or not.
    fn attach(&self, host: usize, ct: &Ct) -> Option<Attached> {
        if let Some(n) = &ct.new {
            return Some(Attached {
                original: n.original,
                reply: n.reply,
                refused_reply: false,
                unconfirmed: true,
                dnat: n.dst_natted(),
                snat: n.src_natted(),
            });
        }
        let (e, dir) = match (ct.entry, &ct.attached) {
            (Some((i, dir)), _) => (&self.state.conntrack[host].entries[i], dir),
            (None, Some((e, dir))) => (e, *dir),
            (None, None) => return None,
        };
        Some(Attached {
            original: e.original,
            reply: e.reply,
            refused_reply: dir == Dir::Reply,
            unconfirmed: false,
            dnat: e.dst_natted(),
            snat: e.src_natted(),
        })
    }

    /// A drop that sends `response` back, carrying connection `attached`.
    fn refuse(
        &mut self,
        host: usize,
        reason: DropReason,
        detail: String,
        response: Option<Packet>,
        attached: Option<Attached>,
        pkt: &Packet,
    ) -> Next {
        // The layer whose decision it is: a socket's (transport), a
        // neighbour's or a bridge's (link), else routing or netfilter.
        let layer = match reason {
            DropReason::NoListener
            | DropReason::NoPingSocket
            | DropReason::NoConnection
            | DropReason::OutOfWindow
            | DropReason::ConntrackClash => Layer::Transport,
            DropReason::NoNeighbour | DropReason::Hairpin => Layer::Link,
            _ => Layer::Network,
        };
        // icmp_send and the resets route their answer first; with no
        // route back to the sender they send nothing (measured on Linux
        // 6.18: a router whose main table is empty, or a REJECT on one
        // without the sender's route, answers neither ping nor connect()).
        let (response, detail) = match response {
            Some(r) if !self.routes_to(host, r.ip.dst) => {
                let what = match r.head_transport().as_deref() {
                    Some(Transport::Icmp {
                        icmp_type, code, ..
                    }) => {
                        format!("ICMP {}", icmp::name(*icmp_type, *code))
                    }
                    _ => "reset".to_string(),
                };
                let to = r.ip.dst;
                let why = format!(
                    "no {what} goes back: {} has no route to {to}, so the kernel sends nothing; the sender hears nothing: {}",
                    self.ns(host),
                    unheard(pkt.ip.protocol)
                );
                (None, format!("{detail}; {why}"))
            }
            r => (r, detail),
        };
        let attached = attached.filter(|_| response.is_some());
        let detail = match self.held_back.take() {
            Some(why) if response.is_none() => format!("{detail}; {why}"),
            _ => detail,
        };
        self.step(
            host,
            layer,
            StepKind::Drop {
                reason,
                detail,
                response: response.map(Box::new),
                attached,
            },
            pkt,
        );
        Next::Done(Verdict::Dropped {
            ns: self.ns(host).to_string(),
            reason,
        })
    }

    /// Whether `host` has a route to `dst` that sends a packet (to a
    /// device or to itself): what an answer of the kernel needs.
    fn routes_to(&self, host: usize, dst: Ipv4Addr) -> bool {
        let d = (self.world.hosts[host].routes).route_for(&crate::engine::policy::Flow::to(dst));
        matches!(
            d.result(),
            crate::engine::trace::RouteResult::Local
                | crate::engine::trace::RouteResult::Unicast { .. }
        )
    }

    /// The step of a conntrack lookup: the packet's tuple, the state it
    /// found and the connection's two tuples when there is one.
    fn ct_step(
        &mut self,
        host: usize,
        pkt: &Packet,
        tuple: Tuple,
        state: String,
        entry: Option<(Tuple, Tuple)>,
    ) {
        self.step(
            host,
            Layer::Transport,
            StepKind::Conntrack(CtEvent::Lookup {
                tuple,
                state,
                original: entry.map(|e| e.0),
                reply: entry.map(|e| e.1),
            }),
            pkt,
        );
    }

    /// Conntrack lookup (priority -200 at PREROUTING and OUTPUT).
    /// A packet the raw table marked NOTRACK: no connection is looked up
    /// or made, its state is UNTRACKED, and no nat chain sees it.
    fn ct_untracked(&mut self, host: usize, pkt: &Packet) -> Ct {
        let state = "UNTRACKED (the raw table's NOTRACK: conntrack keeps no entry for it, and no nat chain sees it)".to_string();
        self.ct_step(host, pkt, tuple_of(pkt), state, None);
        Ct {
            state: ctstate::UNTRACKED,
            ..Ct::default()
        }
    }

    fn ct_lookup(&mut self, host: usize, pkt: &Packet) -> Ct {
        let t = tuple_of(pkt);
        let mut ct = Ct::default();
        if let Some((_, ct)) = self.carried.take().filter(|(h, _)| *h == host) {
            self.ct_carried(host, pkt, &ct);
            return ct;
        }
        if let Some((_, a)) = self.attached.take().filter(|(h, _)| *h == host) {
            return self.ct_attached(host, pkt, a);
        }
        if let Some(Transport::Tcp { flags, .. }) = pkt.head_transport().as_deref() {
            if tcp_flags_invalid(flags) {
                // Refused before any connection is looked up.
                ct.state = ctstate::INVALID;
                let state = format!("INVALID (TCP flags {flags}: conntrack's tcp_error takes only SYN, SYN-ACK, ACK, FIN-ACK, RST or RST-ACK (PSH aside, and URG on SYN, ACK or FIN-ACK), whatever the connection)");
                self.ct_step(host, pkt, t, state, None);
                return ct;
            }
        }
        let table = &self.state.conntrack[host];
        // ICMP errors belong to the connection of the packet they quote.
        let quoted_tuple = match pkt.head_transport().as_deref() {
            Some(Transport::Icmp {
                icmp_type,
                quoted: Some(q),
                ..
            }) if icmp::is_error(*icmp_type) => Some(Tuple {
                proto: q.ip.protocol,
                src: q.ip.src,
                dst: q.ip.dst,
                sport: q.src_port,
                dport: q.dst_port,
            }),
            _ => None,
        };
        let found = match quoted_tuple {
            // The quoted packet went the other way: its mirror is a tuple
            // of the connection in the error's own direction
            // (nf_conntrack_inet_error).
            Some(q) => table.find(&invert(&q)).inspect(|_| ct.related = true),
            None => table.find(&t),
        };
        // A deleted entry is not found; the lookup takes it out.
        let killed = quoted_tuple.is_none().then(|| table.killed(&t)).flatten();
        let segment = match pkt.head_transport().as_deref() {
            Some(Transport::Tcp {
                flags, seq, ack, ..
            }) => Some(conntrack::Segment {
                flags: *flags,
                seq: *seq,
                ack: *ack,
                len: u32::from(pkt.payload_len),
            }),
            _ => None,
        };
        // What the TCP tracker made of it, said after the state.
        let mut tcp_words = String::new();
        let mut reopened = None;
        let mut invalid = None;
        if let Some(i) = killed {
            self.state.conntrack[host].remove(i);
            reopened = Some(conntrack::TcpState::Killed);
        }
        let found = match found {
            Some((i, dir)) if !ct.related => {
                let now = self.state.clock;
                let e = &mut self.state.conntrack[host].entries[i];
                let replied = e.seen_reply;
                let was = e.tcp.state;
                let outcome = match segment {
                    Some(s) => conntrack::Tcp::segment(e, dir, s, replied, now),
                    None => {
                        e.other_packet(replied, now);
                        conntrack::Outcome::Moved { from: was, to: was }
                    }
                };
                match outcome {
                    conntrack::Outcome::Invalid(why) => {
                        invalid = Some(why);
                        None
                    }
                    // A SYN of a connection that was closed: conntrack
                    // deletes the entry and looks again (NF_REPEAT).
                    conntrack::Outcome::Reopen => {
                        self.state.conntrack[host].remove(i);
                        reopened = Some(was);
                        None
                    }
                    outcome => {
                        tcp_words = match outcome {
                            conntrack::Outcome::Ignored(why) => format!("; {why}"),
                            conntrack::Outcome::Moved { to: conntrack::TcpState::Killed, .. } => "; a RST came before any answer, so conntrack deletes the connection (the next packet is NEW)".to_string(),
                            conntrack::Outcome::Moved { from, to } if from != to => {
                                format!("; TCP state {} → {}", from.name(), to.name())
                            }
                            _ => String::new(),
                        };
                        if dir == Dir::Reply {
                            e.seen_reply = true;
                        }
                        Some((i, dir))
                    }
                }
            }
            found => found,
        };
        match found {
            Some((i, dir)) => {
                let e = &self.state.conntrack[host].entries[i];
                ct.entry = Some((i, dir));
                ct.state = if ct.related {
                    ctstate::RELATED
                } else if e.seen_reply {
                    ctstate::ESTABLISHED
                } else {
                    ctstate::NEW
                };
                if e.dst_natted() {
                    ct.state |= ctstate::DNAT;
                }
                if e.src_natted() {
                    ct.state |= ctstate::SNAT;
                }
                let words = format!("{}{tcp_words}", state_words(ct.related, e.seen_reply, dir));
                let entry = (e.original, e.reply);
                self.ct_step(host, pkt, t, words, Some(entry));
            }
            None => {
                // No entry is made for an invalid packet, and NAT (which
                // needs a connection) leaves it alone.
                let made = match invalid.or_else(|| invalid_new(pkt).map(String::from)) {
                    Some(why) => Err(why),
                    None => conntrack::Entry::new(t, segment, self.state.clock),
                };
                // A connection whose time ran out before this packet.
                let gone = self.state.conntrack[host].just_expired(&t).map(|e| {
                    let state = match e.original.proto {
                        Proto::Tcp => format!("{}, ", e.tcp.state.name()),
                        _ if e.seen_reply => "answered, ".to_string(),
                        _ => "unanswered, ".to_string(),
                    };
                    format!(
                        "; its connection's entry expired before this packet ({state}its last packet had given it {} s)",
                        e.timeout
                    )
                });
                let state = match made {
                    Err(why) => {
                        ct.state = ctstate::INVALID;
                        format!("INVALID ({why}){}", gone.clone().unwrap_or_default())
                    }
                    Ok(e) => {
                        let tcp = match segment {
                            Some(_) => format!("; TCP state {}", e.tcp.state.name()),
                            None => String::new(),
                        };
                        ct.new = Some(e);
                        ct.state = ctstate::NEW;
                        match reopened {
                            Some(conntrack::TcpState::Killed) => format!("NEW (the connection's entry was deleted when a RST came before any answer){tcp}"),
                            Some(was) => format!("NEW (a SYN on a closed connection, which a FIN began to close or the SYN's own side reset: conntrack deleted the {} entry and made a new one, so the nat table is consulted again){tcp}", was.name()),
                            None => format!("NEW{tcp}{}", gone.unwrap_or_default()),
                        }
                    }
                };
                self.ct_step(host, pkt, t, state, None);
            }
        }
        ct
    }

    /// The lookup step of a packet back in on lo with its connection.
    fn ct_carried(&mut self, host: usize, pkt: &Packet, ct: &Ct) {
        let (e, dir) = match (ct.entry, &ct.attached) {
            (Some((i, dir)), _) => (self.state.conntrack[host].entries[i].clone(), dir),
            (None, Some((e, dir))) => (e.clone(), *dir),
            (None, None) if ct.state == ctstate::UNTRACKED => {
                let why = "UNTRACKED (it left on lo untracked, and stays so)".to_string();
                self.ct_step(host, pkt, tuple_of(pkt), why, None);
                return;
            }
            (None, None) => {
                let why = "INVALID (it left on lo without a connection)".to_string();
                self.ct_step(host, pkt, tuple_of(pkt), why, None);
                return;
            }
        };
        let words = format!(
            "{} (the packet came back on lo with its connection: nothing is looked up)",
            state_words(ct.related, e.seen_reply, dir)
        );
        self.ct_step(host, pkt, tuple_of(pkt), words, Some((e.original, e.reply)));
    }

    /// The connection the kernel attached to its answer (`nf_ct_attach`):
    /// RELATED, in the direction against the refused packet's.
    fn ct_attached(&mut self, host: usize, pkt: &Packet, a: Attached) -> Ct {
        let dir = if a.refused_reply {
            Dir::Original
        } else {
            Dir::Reply
        };
        let (dnat, snat) = (a.dnat, a.snat);
        let mut state = ctstate::RELATED;
        if dnat {
            state |= ctstate::DNAT;
        }
        if snat {
            state |= ctstate::SNAT;
        }
        let entry = conntrack::Entry {
            original: a.original,
            reply: a.reply,
            seen_reply: false,
            dnat,
            snat,
            dst_changed: dnat,
            src_changed: snat,
            tcp: conntrack::Tcp::default(),
            assured: false,
            timeout: 0,
            start: 0,
            renewed: 0,
            mark: 0,
        };
        let words = format!(
            "{} (the kernel attached the connection of the packet it answers: nothing is looked up)",
            state_words(true, false, dir)
        );
        self.ct_step(host, pkt, tuple_of(pkt), words, Some((a.original, a.reply)));
        Ct {
            entry: None,
            new: None,
            state,
            related: true,
            attached: Some((entry, dir)),
        }
    }

    /// Applies a confirmed connection's NAT binding: the destination part at
    /// PREROUTING/OUTPUT (`src_part` false), the source part at
    /// POSTROUTING/INPUT (`src_part` true).
    fn ct_translate(&mut self, host: usize, pkt: &mut Packet, ct: &Ct, src_part: bool) {
        let (e, dir) = match (ct.entry, &ct.attached) {
            (Some((i, dir)), _) => (self.state.conntrack[host].entries[i].clone(), dir),
            (None, Some((e, dir))) => (e.clone(), *dir),
            (None, None) => return,
        };
        // Original direction: DNAT rewrites dst, SNAT rewrites src.
        // Reply direction: undo SNAT on dst, undo DNAT on src.
        let (apply, addr, port) = match (dir, src_part) {
            (Dir::Original, false) => (e.dnat, e.reply.src, e.reply.sport),
            (Dir::Original, true) => (e.snat, e.reply.dst, e.reply.dport),
            (Dir::Reply, false) => (e.snat, e.original.src, e.original.sport),
            (Dir::Reply, true) => (e.dnat, e.original.dst, e.original.dport),
        };
        if !apply {
            return;
        }
        let before_t = tuple_of(pkt);
        let rewrite_dst = !src_part;
        let has_ports = conntrack::has_ports(pkt.head().protocol);
        let quotes = matches!(
            &pkt.transport,
            Transport::Icmp {
                quoted: Some(_),
                ..
            }
        );
        if ct.related && quotes {
            // Rewrite the outer header and the quoted one, in opposite senses.
            if rewrite_dst {
                pkt.head_mut().dst = addr;
            } else {
                pkt.head_mut().src = addr;
            }
            if let Transport::Icmp {
                quoted: Some(q), ..
            } = &mut pkt.transport
            {
                if rewrite_dst {
                    q.ip.src = addr;
                    q.src_port = port;
                } else {
                    q.ip.dst = addr;
                    q.dst_port = port;
                }
            }
        } else if rewrite_dst {
            pkt.head_mut().dst = addr;
            if has_ports {
                pkt.transport.set_dst_port(port);
            }
        } else {
            pkt.head_mut().src = addr;
            if has_ports {
                pkt.transport.set_src_port(port);
            }
        }
        if !ct.related && pkt.head().protocol == Proto::Icmp {
            // An echo's identifier is one for both directions: the
            // reply tuple's going out, the original's coming back.
            let id = match dir {
                Dir::Original => e.reply.sport,
                Dir::Reply => e.original.sport,
            };
            pkt.transport.set_echo_id(id);
        }
        let after_t = tuple_of(pkt);
        if before_t != after_t {
            self.step(
                host,
                Layer::Transport,
                StepKind::Conntrack(CtEvent::Translate {
                    before: before_t,
                    after: after_t,
                    reply: dir == Dir::Reply,
                }),
                pkt,
            );
        }
    }

    /// Runs the tables of one hook in priority order. `ct` is updated by NAT.
    /// Returns where the packet goes instead when a table drops or rejects it.
    fn hook(&mut self, host: usize, hook: Hook, pkt: &mut Packet, ct: &mut Ct) -> Option<Next> {
        let world = self.world;
        // A namespace without rules has no netfilter verdicts.
        let rules = world.hosts[host].rules.as_ref()?;
        let order: &[TableName] = match hook {
            Hook::Prerouting => &[TableName::Raw, TableName::Mangle, TableName::Nat],
            Hook::Output => &[
                TableName::Raw,
                TableName::Mangle,
                TableName::Nat,
                TableName::Filter,
                TableName::Security,
            ],
            Hook::Input => &[
                TableName::Mangle,
                TableName::Filter,
                TableName::Security,
                TableName::Nat,
            ],
            Hook::Forward => &[TableName::Mangle, TableName::Filter, TableName::Security],
            Hook::Postrouting => &[TableName::Mangle, TableName::Nat],
        };
        // Conntrack looks the packet up at priority -200: after raw, before
        // mangle, at PREROUTING and OUTPUT. Raw rules see no connection.
        let lookup_at = matches!(hook, Hook::Prerouting | Hook::Output);
        if lookup_at {
            ct.state = ctstate::INVALID;
        }
        let mut looked_up = false;
        // A raw table's NOTRACK: conntrack leaves the packet alone.
        let mut untracked = false;
        // NOTRACK leaves alone a packet that already has its connection:
        // one back in on lo, the kernel's answer ("Previously seen
        // (loopback)? Ignore.").
        let has_one = self.carried.as_ref().is_some_and(|(h, _)| *h == host)
            || self.attached.as_ref().is_some_and(|(h, _)| *h == host);
        for &tn in order {
            if lookup_at && !looked_up && tn != TableName::Raw {
                *ct = if untracked && !has_one {
                    self.ct_untracked(host, pkt)
                } else {
                    self.ct_lookup(host, pkt)
                };
                looked_up = true;
            }
            let Some(table) = rules.table(tn) else {
                continue;
            };
            if table.chain_index(hook.chain_name()).is_none() {
                continue;
            }
            if tn == TableName::Nat
                && ct.new.is_none()
                && ct.entry.is_none()
                && ct.attached.is_none()
            {
                // INVALID: no connection, so no NAT at all.
                continue;
            }
            // A REJECT's reset whose connection never reached a source
            // NAT hook (it was refused before): the kernel walks the nat
            // POSTROUTING chains for it (measured on Linux 6.18), and then
            // only takes the DNAT back, whatever they decide (a binding
            // they make dies with the refused connection).
            let unbound = tn == TableName::Nat
                && hook == Hook::Postrouting
                && ct.attached.is_some()
                && self.spec.ct.is_some_and(|a| a.unconfirmed)
                && !matches!(&pkt.transport, Transport::Icmp { .. });
            if tn == TableName::Nat && ct.new.is_none() && !unbound {
                // Only the first packet of a connection sees the nat table.
                // The binding is applied at the nat hook's priority instead:
                // the destination part at PREROUTING/OUTPUT, the source part
                // at POSTROUTING/INPUT.
                self.step(host, Layer::Network, StepKind::NatSkipped { hook }, pkt);
                self.ct_translate(
                    host,
                    pkt,
                    ct,
                    matches!(hook, Hook::Postrouting | Hook::Input),
                );
                continue;
            }
            // The connection's mark: an unconfirmed one's, a confirmed
            // one's, or the one an answer carries.
            let ct_mark = (ct.new.as_ref().map(|e| e.mark))
                .or_else(|| {
                    ct.entry
                        .and_then(|(i, _)| self.state.conntrack[host].entries.get(i))
                        .map(|e| e.mark)
                })
                .or_else(|| ct.attached.as_ref().map(|(e, _)| e.mark))
                .filter(|_| !untracked);
            let ct_view = (!untracked).then(|| self.ct_view(host, ct)).flatten();
            let mut env = HostEnv {
                facts: HostFacts {
                    world,
                    host,
                    ct_state: ct.state,
                    ct_mark,
                    ct_view,
                    socket: self
                        .socket
                        .filter(|_| matches!(hook, Hook::Output | Hook::Postrouting)),
                },
                state: self.state,
                force: &self.spec.force,
                notrack: false,
                has_ct: has_one,
                ct_mark_set: false,
            };
            let ns = world.hosts[host].name();
            let mark_before = pkt.mark;
            let mut outcome = eval::run_hook(table, hook, pkt, &mut env, ns, &mut self.steps);
            self.mangled_mark |= tn == TableName::Mangle && pkt.mark != mark_before;
            let set_mark = env.facts.ct_mark.filter(|_| env.ct_mark_set);
            let notracked = env.notrack;
            if let Some(m) = set_mark {
                if let Some(e) = ct.new.as_mut() {
                    e.mark = m;
                } else if let Some(e) = ct
                    .entry
                    .and_then(|(i, _)| self.state.conntrack[host].entries.get_mut(i))
                {
                    e.mark = m;
                } else if let Some((e, _)) = ct.attached.as_mut() {
                    e.mark = m;
                }
            }
            untracked |= notracked;
            if unbound {
                if matches!(
                    outcome,
                    Outcome::Dnat(..)
                        | Outcome::Snat(..)
                        | Outcome::Masquerade(..)
                        | Outcome::Redirect(..)
                ) {
                    outcome = Outcome::Accept;
                }
                self.ct_translate(host, pkt, ct, true);
            }
            match outcome {
                // No source NAT at a source hook: the kernel still binds
                // the connection (nf_nat_alloc_null_binding), which moves
                // its source port if another connection holds its reply
                // tuple (a DNAT onto the same server and port, say).
                Outcome::Accept
                    if tn == TableName::Nat
                        && matches!(hook, Hook::Postrouting | Hook::Input)
                        && ct.new.as_ref().is_some_and(|n| !n.snat)
                        && self.reply_used(host, ct, |_| {}) =>
                {
                    let src = pkt.head().src;
                    let to = NatRange {
                        addr: Some((src, src)),
                        ports: None,
                        random: false,
                        persistent: false,
                    };
                    self.apply_snat(host, pkt, ct, &to, NatKind::NullBinding, None);
                }
                Outcome::Accept => {}
                Outcome::Limit(limit) => {
                    let pk = pkt.clone();
                    let detail = format!(
                        "{tn} {hook}: Packet Walk stopped after {}; this is the simulator's limit, not the kernel's, which would walk on",
                        limit.describe()
                    );
                    return Some(self.drop(host, DropReason::RuleLimit, detail, None, &pk));
                }
                Outcome::Drop => {
                    let pk = pkt.clone();
                    let mut detail = self.verdict_by(tn, hook, "dropped it");
                    if hook == Hook::Output && pkt.outer.is_empty() {
                        // The program that sent it learns at once (a
                        // tunnel's outer header has no program).
                        detail.push_str(
                            "; the program's send fails with EPERM (Operation not permitted)",
                        );
                    }
                    return Some(self.drop(host, DropReason::Filtered, detail, None, &pk));
                }
                Outcome::Reject(with) => {
                    let resp = self.reject_response(host, pkt, with);
                    let pk = pkt.clone();
                    let mut detail = self.verdict_by(tn, hook, "rejected it");
                    if hook == Hook::Output
                        && pkt.outer.is_empty()
                        && matches!(pkt.head().protocol, Proto::Udp | Proto::Icmp)
                    {
                        // Measured on Linux 6.18: the datagram's send
                        // fails at once; the error reaches the socket too.
                        detail.push_str(
                            "; the program's send fails with EPERM (Operation not permitted)",
                        );
                    }
                    let ct = self.attach(host, ct);
                    return Some(self.refuse(host, DropReason::Rejected, detail, resp, ct, &pk));
                }
                Outcome::Dnat(range, rule) => {
                    self.apply_dnat(host, pkt, ct, &range, NatKind::Dnat, rule);
                }
                Outcome::Redirect(ports, random, rule) => {
                    // nf_nat_redirect_ipv4: the host's own packet to
                    // 127.0.0.1; another to the first address of the
                    // device it came in by, dropped when that has none.
                    let iif = pkt.iif.clone().unwrap_or_default();
                    let addr = match hook {
                        Hook::Output => Some(Ipv4Addr::LOCALHOST),
                        _ => world.hosts[host].first_addr(&iif),
                    };
                    let Some(addr) = addr else {
                        let pk = pkt.clone();
                        let detail = format!("REDIRECT: {iif}, the device the packet came in by, has no address to redirect it to, so the kernel drops it");
                        return Some(self.drop(host, DropReason::Filtered, detail, None, &pk));
                    };
                    let to = NatRange {
                        addr: Some((addr, addr)),
                        ports,
                        random,
                        persistent: false,
                    };
                    self.apply_dnat(host, pkt, ct, &to, NatKind::Redirect, rule);
                }
                Outcome::Snat(range, random_fully, rule) => {
                    let src = pkt.head().src;
                    let to = NatRange {
                        random: range.random || random_fully,
                        addr: range.addr.or(Some((src, src))),
                        ..range
                    };
                    self.apply_snat(host, pkt, ct, &to, NatKind::Snat, Some(rule));
                }
                Outcome::Masquerade(ports, random_fully, rule) => {
                    let oif = pkt.oif.clone().unwrap_or_default();
                    // The address toward the route's next hop.
                    let h = &world.hosts[host];
                    let dst = pkt.head().dst;
                    // (The route the packet took here, as rt_nexthop.)
                    let hop = match self.routed.filter(|(at, _)| *at == host) {
                        Some((_, hop)) => hop,
                        None => (h
                            .routes
                            .route_for(&crate::engine::policy::Flow::to(dst))
                            .route)
                            .map(|r| r.via.unwrap_or(dst)),
                    };
                    let Some(addr) = h.select_src(&oif, hop) else {
                        let pk = pkt.clone();
                        let detail = format!("MASQUERADE: no address to masquerade as on {oif}");
                        return Some(self.drop(host, DropReason::Filtered, detail, None, &pk));
                    };
                    let to = NatRange {
                        addr: Some((addr, addr)),
                        ports,
                        random: random_fully,
                        persistent: false,
                    };
                    self.apply_snat(host, pkt, ct, &to, NatKind::Masquerade, Some(rule));
                }
            }
        }
        None
    }

    /// The packet's connection as `-m conntrack`'s tests of it read it:
    /// a new one (not yet confirmed: no status, no time left), a confirmed
    /// one, or the one an answer carries.
    fn ct_view(&self, host: usize, ct: &Ct) -> Option<eval::CtView> {
        let now = self.state.clock;
        let view = |e: &conntrack::Entry, dir: Dir, confirmed: bool| eval::CtView {
            original: e.original,
            reply: e.reply,
            reply_dir: dir == Dir::Reply,
            status: u8::from(e.seen_reply) * 2 + u8::from(e.assured) * 4 + u8::from(confirmed) * 8,
            expires: if confirmed { e.left(now) } else { 0 },
        };
        if let Some(n) = &ct.new {
            return Some(view(n, Dir::Original, false));
        }
        if let Some((i, dir)) = ct.entry {
            return self.state.conntrack[host]
                .entries
                .get(i)
                .map(|e| view(e, dir, true));
        }
        ct.attached.as_ref().map(|(e, dir)| view(e, *dir, true))
    }

    /// The reply tuple a new connection would have with `change` made to
    /// it, and whether another connection already holds it.
    fn reply_used(&self, host: usize, ct: &Ct, change: impl Fn(&mut Tuple)) -> bool {
        ct.new.as_ref().is_some_and(|n| {
            let mut reply = n.reply;
            change(&mut reply);
            self.state.conntrack[host].reply_taken(&reply)
        })
    }

    /// The address and port a DNAT range maps the packet to, as the kernel
    /// picks them ([`nat`]).
    fn pick_dnat(
        &mut self,
        host: usize,
        pkt: &Packet,
        ct: &Ct,
        r: &NatRange,
    ) -> (Ipv4Addr, Option<u16>) {
        let (src, dst) = (pkt.head().src, pkt.head().dst);
        let addr = match r.addr {
            Some((lo, hi)) => nat::pick_addr(src, dst, lo, hi, r.persistent),
            None => dst,
        };
        let port = endpoint_dst(pkt)
            .port
            .filter(|_| conntrack::has_ports(pkt.head().protocol));
        let port = port.map(|p| {
            self.pick_port(p, r.ports, nat::Manip::Dst, r.random, |w, q| {
                w.reply_used(host, ct, |t| {
                    t.src = addr;
                    t.sport = q;
                })
            })
        });
        (addr, port)
    }

    /// The identifier an ICMP echo gets from a NAT to `addr` (its source
    /// for SNAT, its destination for DNAT), as the kernel picks it
    /// ([`nat::pick_icmp_id`]); None for other packets.
    fn pick_echo_id(
        &mut self,
        host: usize,
        pkt: &Packet,
        ct: &Ct,
        manip: nat::Manip,
        random: bool,
        addr: Ipv4Addr,
    ) -> Option<u16> {
        let id = pkt.head_transport()?.echo_id()?;
        let used = |w: &Walker, q: u16| {
            w.reply_used(host, ct, |t| {
                match manip {
                    nat::Manip::Src => t.dst = addr,
                    nat::Manip::Dst => t.src = addr,
                }
                t.sport = q;
            })
        };
        let mut rng = self.state.rng.clone();
        let picked = nat::pick_icmp_id(id, manip, random, &mut rng, |q| used(self, q));
        self.state.rng = rng;
        Some(picked)
    }

    /// [`nat::pick_port`] drawing from the simulation's random stream;
    /// `used` asks the walker whether a port would clash.
    fn pick_port(
        &mut self,
        port: u16,
        ports: Option<(u16, u16)>,
        manip: nat::Manip,
        random: bool,
        used: impl Fn(&Walker, u16) -> bool,
    ) -> u16 {
        let mut rng = self.state.rng.clone();
        let picked = nat::pick_port(port, ports, manip, random, &mut rng, |q| used(self, q));
        self.state.rng = rng;
        picked
    }

    /// A destination NAT (DNAT, or REDIRECT's to the host itself): the
    /// address and port picked from `range`, the echo identifier, and the
    /// new connection's reply tuple.
    fn apply_dnat(
        &mut self,
        host: usize,
        pkt: &mut Packet,
        ct: &mut Ct,
        range: &NatRange,
        nat: NatKind,
        rule: crate::engine::trace::RuleRef,
    ) {
        let before = endpoint_dst(pkt);
        let (addr, port) = self.pick_dnat(host, pkt, ct, range);
        pkt.head_mut().dst = addr;
        if let Some(p) = port {
            pkt.transport.set_dst_port(p);
        }
        let echo = self.pick_echo_id(host, pkt, ct, nat::Manip::Dst, range.random, addr);
        if let Some(id) = echo {
            pkt.transport.set_echo_id(id);
        }
        if let Some(n) = &mut ct.new {
            let was = n.reply;
            n.reply.src = addr;
            if let Some(p) = port.or(echo) {
                n.reply.sport = p;
            }
            n.dnat = true;
            n.dst_changed |= n.reply != was;
            if n.dst_natted() {
                ct.state |= ctstate::DNAT;
            }
        }
        self.step(
            host,
            Layer::Network,
            StepKind::Nat {
                nat,
                before,
                after: endpoint_dst(pkt),
                rule: Some(rule),
            },
            pkt,
        );
    }

    /// SNAT and MASQUERADE (`to` holds the address range; MASQUERADE's is
    /// the interface's address): the source the kernel picks
    /// (`get_unique_tuple`). Without `--random`, the packet's own source
    /// when it is in range and free, else the mapping an earlier
    /// connection from the same address and port got; else the range's
    /// hashed address and a port ([`nat::pick_port`]).
    fn apply_snat(
        &mut self,
        host: usize,
        pkt: &mut Packet,
        ct: &mut Ct,
        to: &NatRange,
        nat: NatKind,
        rule: Option<crate::engine::trace::RuleRef>,
    ) {
        let before = endpoint_src(pkt);
        let has_ports = conntrack::has_ports(pkt.head().protocol);
        // An echo's identifier is its "port" here: in the reply tuple's
        // source key (conntrack keeps one identifier for both ways).
        let icmp = before.echo_id.is_some();
        let key = before.port.or(before.echo_id);
        let (lo, hi) = to.addr.unwrap_or((before.addr, before.addr));
        let in_range = |a: Ipv4Addr, p: Option<u16>| {
            a >= lo
                && a <= hi
                && (!has_ports
                    || to
                        .ports
                        .is_none_or(|(l, h)| p.is_some_and(|p| p >= l && p <= h)))
        };
        let used = |s: &Walker, a: Ipv4Addr, p: Option<u16>| {
            s.reply_used(host, ct, |t| {
                t.dst = a;
                match p {
                    Some(p) if has_ports => t.dport = p,
                    Some(p) if icmp => t.sport = p,
                    _ => {}
                }
            })
        };
        // The newest earlier connection's mapping of the same source
        // address and port, in range (find_appropriate_src): its address
        // and port (or echo identifier) both.
        let earlier = (self.state.conntrack[host].entries.iter().rev())
            .filter(|e| {
                e.snat
                    && e.original.proto == pkt.head().protocol
                    && e.original.src == before.addr
                    && e.original.sport == key.unwrap_or(0)
            })
            .map(|e| {
                let k = match (has_ports, icmp) {
                    (true, _) => Some(e.reply.dport),
                    (_, true) => Some(e.reply.sport),
                    _ => None,
                };
                (e.reply.dst, k)
            })
            .find(|(a, p)| in_range(*a, *p));
        let kept = if to.random {
            None
        } else if in_range(before.addr, before.port) {
            Some((before.addr, key)).filter(|(a, p)| !used(self, *a, *p))
        } else {
            earlier.filter(|(a, p)| !used(self, *a, *p))
        };
        let (addr, key) = match kept {
            Some(k) => k,
            None => {
                let addr = nat::pick_addr(before.addr, pkt.head().dst, lo, hi, to.persistent);
                let picked = match before.port.filter(|_| has_ports) {
                    Some(p) => {
                        Some(
                            self.pick_port(p, to.ports, nat::Manip::Src, to.random, |w, q| {
                                used(w, addr, Some(q))
                            }),
                        )
                    }
                    None => self.pick_echo_id(host, pkt, ct, nat::Manip::Src, to.random, addr),
                };
                (addr, picked.or(key))
            }
        };
        pkt.head_mut().src = addr;
        match key {
            Some(k) if has_ports => pkt.transport.set_src_port(k),
            Some(k) if icmp => pkt.transport.set_echo_id(k),
            _ => {}
        }
        if let Some(n) = &mut ct.new {
            let was = n.reply;
            n.reply.dst = addr;
            match key {
                Some(k) if has_ports => n.reply.dport = k,
                Some(k) if icmp => n.reply.sport = k,
                _ => {}
            }
            n.snat = true;
            n.src_changed |= n.reply != was;
            if n.src_natted() {
                ct.state |= ctstate::SNAT;
            }
        }
        self.step(
            host,
            Layer::Network,
            StepKind::Nat {
                nat,
                before,
                after: endpoint_src(pkt),
                rule,
            },
            pkt,
        );
    }

    /// Conntrack confirm (after POSTROUTING or INPUT): the new connection is
    /// inserted. When another connection already holds one of its tuples
    /// (two flows NATed onto the same reply), the kernel drops the packet.
    fn ct_confirm(&mut self, host: usize, ct: &mut Ct, pkt: &Packet) -> Option<Next> {
        let e = ct.new.take()?;
        let (o, r) = (e.original, e.reply);
        let table = &self.state.conntrack[host];
        if table.find(&o).is_some() || table.find(&r).is_some() {
            let detail = format!(
                "conntrack cannot insert {o} / {r}: another connection holds the same tuple"
            );
            return Some(self.drop(host, DropReason::ConntrackClash, detail, None, pkt));
        }
        let i = self.state.conntrack[host].confirm(e);
        ct.entry = Some((i, Dir::Original));
        self.step(
            host,
            Layer::Transport,
            StepKind::Conntrack(CtEvent::Confirm {
                original: o,
                reply: r,
            }),
            pkt,
        );
        None
    }

    /// Who gave table `tn`'s verdict at `hook`, from the step just
    /// recorded: `rule 2 of filter KUBE-FORWARD (line 24) dropped it: -A …`,
    /// or `the policy DROP of filter FORWARD dropped it`.
    fn verdict_by(&self, tn: TableName, hook: Hook, what: &str) -> String {
        match self.steps.last().map(|s| &s.kind) {
            Some(StepKind::RuleMatch { chain, rule, .. }) => {
                let line = if rule.line > 0 {
                    format!(" (line {})", rule.line)
                } else {
                    String::new()
                };
                format!(
                    "rule {} of {tn} {chain}{line} {what}: {}",
                    rule.index, rule.text
                )
            }
            Some(StepKind::Policy {
                chain,
                policy,
                line,
                ..
            }) => {
                let at = if *line > 0 {
                    format!(" (line {line})")
                } else {
                    String::new()
                };
                format!("the policy {policy} of {tn} {chain}{at} {what}")
            }
            _ => format!("{tn} {hook} {what}"),
        }
    }

    fn route_step(
        &mut self,
        host: usize,
        lookup: Lookup,
        pkt: &Packet,
    ) -> crate::engine::route::Decision {
        let dst = pkt.head().dst;
        let h = &self.world.hosts[host];
        let mut d = h.routes.lookup_flow(&flow_of(pkt, lookup));
        // A gateway that is one of the host's own addresses makes a
        // host-scope nexthop, and the kernel uses a gateway only when its
        // scope is link: the destination itself is the neighbour (`ip route
        // get` prints no `via`; checked in a netns).
        if let Some(r) = d.route.as_mut() {
            if let Some(gw) = r.via.filter(|g| h.owns(*g)) {
                r.via = None;
                if let Some(c) = d.candidates.iter_mut().find(|c| c.chosen) {
                    c.why.push_str(&format!(
                        "; its gateway {gw} is this host's own address, so the kernel sends to {dst} itself as if on the link"
                    ));
                }
            }
        }
        // A path MTU the host learnt for the destination: the route's
        // cache entry (`ip route get`), which the host's own packet (or a
        // tunnel's outer one) must fit (a forwarded one need not: see
        // `forward`).
        let own = matches!(lookup, Lookup::Output | Lookup::Reroute | Lookup::Tunnel);
        if let Some(r) = d
            .route
            .as_ref()
            .filter(|r| own && r.kind != RouteType::Local)
        {
            if let (mtu, Some(left)) = self.path_mtu(host, r, dst) {
                if let Some(c) = d.candidates.iter_mut().find(|c| c.chosen) {
                    c.why.push_str(&format!(
                        "; with the path MTU {mtu} learnt for {dst} ({})",
                        cache_words(mtu, left)
                    ));
                }
            }
        }
        self.routed = Some((host, d.route.as_ref().map(|r| r.via.unwrap_or(dst))));
        // The decision gives the packet its output device (what a FORWARD
        // or POSTROUTING rule's -o sees): shown from this step on.
        let mut after = pkt.clone();
        after.oif = match &d.route {
            // Delivered here: no output device on input, lo on output.
            Some(r)
                if lookup == Lookup::Input
                    && matches!(r.kind, RouteType::Local | RouteType::Broadcast) =>
            {
                None
            }
            Some(r) if r.kind == RouteType::Local => Some("lo".into()),
            Some(r) => r.dev.clone(),
            None => None,
        };
        self.step(
            host,
            Layer::Network,
            StepKind::Route {
                lookup,
                dst,
                candidates: d.candidates.clone(),
                result: d.result(),
                rules: d.rules.clone(),
            },
            &after,
        );
        d
    }

    /// A packet this namespace generates (a socket, or tunl0's outer header).
    fn local_out(&mut self, host: usize, mut pkt: Packet) -> Next {
        pkt.iif = None;
        // (Measured: the host's own packet has no bridge port at OUTPUT
        // and POSTROUTING, even out through a bridge.)
        pkt.physin = None;
        pkt.physout = None;
        self.resized = None;
        self.pending_fragment = None;
        let lookup = if pkt.outer.is_empty() {
            Lookup::Output
        } else {
            Lookup::Tunnel
        };
        let d = self.route_step(host, lookup, &pkt);
        let by_rule = d.by_rule.as_ref().map(|(_, rule)| rule.clone());
        let Some(route) = d.route else {
            return self.drop(
                host,
                d.no_route_reason(),
                format!(
                    "{} (sendmsg fails with ENETUNREACH)",
                    d.no_route(pkt.head().dst)
                ),
                None,
                &pkt.clone(),
            );
        };
        if let Some(v) = self.unusable(host, &route, by_rule.as_deref(), &pkt, None) {
            return v;
        }
        // `mtu lock`, or a path MTU learnt locked (under 552): the host's
        // own packets by this route go without DF.
        let locked = (self.state.learnt(host, pkt.head().dst)).is_some_and(|(l, _)| l.locked);
        if (route.mtu_lock || locked) && pkt.outer.is_empty() {
            pkt.head_mut().df = false;
        }
        if let Some(v) = self.too_big(host, &route, &pkt) {
            return v;
        }
        // The size the socket made the packet for: a new route after
        // OUTPUT (a DNAT) may take less.
        let sized_for = self.path_mtu(host, &route, pkt.head().dst).0;
        pkt.oif = if route.kind == RouteType::Local {
            Some("lo".into())
        } else {
            route.dev.clone()
        };
        let mut ct = Ct::default();
        let dst0 = pkt.head().dst;
        self.mangled_mark = false;
        if let Some(n) = self.hook(host, Hook::Output, &mut pkt, &mut ct) {
            return n;
        }
        let mut route = route;
        if pkt.head().dst != dst0 || self.mangled_mark {
            // ip_route_me_harder: OUTPUT changed where the packet goes,
            // by nat (the destination) or mangle (the mark); a mark set
            // in raw or filter OUTPUT leaves the route as it was
            // (measured on Linux 6.18 with an `ip rule fwmark`).
            let d = self.route_step(host, Lookup::Reroute, &pkt);
            let by_rule = d.by_rule.as_ref().map(|(_, rule)| rule.clone());
            match d.route {
                Some(r) => route = r,
                None => {
                    return self.drop(
                        host,
                        d.no_route_reason(),
                        format!("{} after OUTPUT", d.no_route(pkt.head().dst)),
                        None,
                        &pkt.clone(),
                    )
                }
            }
            if let Some(v) = self.unusable(host, &route, by_rule.as_deref(), &pkt, None) {
                return v;
            }
            pkt.oif = if route.kind == RouteType::Local {
                Some("lo".into())
            } else {
                route.dev.clone()
            };
            let path = self.path_mtu(host, &route, pkt.head().dst);
            if route.kind != RouteType::Local && path.0 < sized_for && pkt.outer.is_empty() {
                let whose = Self::whose_mtu(&route, pkt.head().dst, path);
                self.resized = Some((path.0, sized_for, whose));
            }
        }
        if route.kind == RouteType::Local || route.kind == RouteType::Broadcast {
            // To this host itself: through POSTROUTING, out of lo and back in.
            if let Some(n) = self.hook(host, Hook::Postrouting, &mut pkt, &mut ct) {
                return n;
            }
            if let Some(n) = self.ct_confirm(host, &mut ct, &pkt) {
                return n;
            }
            let lo = self.world.hosts[host].dev("lo").unwrap_or(0);
            self.transmit_step(host, "lo", None, &pkt);
            // loopback_xmit orphans the packet: INPUT sees no socket.
            self.socket = None;
            self.carried = Some((host, ct));
            return Next::Receive {
                host,
                dev: lo,
                from: None,
                pkt,
                frame_to: None,
            };
        }
        self.post_routing(
            host,
            pkt,
            ct,
            route.dev.clone().unwrap_or_default(),
            route.via,
        )
    }

    /// A socket's packet larger than the MTU of the route it would leave
    /// by: TCP cuts its data into segments that fit (its MSS), a datagram
    /// leaves in fragments (IP_PMTUDISC_WANT, the default); neither is the
    /// one packet asked for, which is refused here with the size that fits.
    fn too_big(
        &mut self,
        host: usize,
        route: &crate::engine::route::Route,
        pkt: &Packet,
    ) -> Option<Next> {
        let path = self.path_mtu(host, route, pkt.head().dst);
        let mtu = path.0;
        let len = pkt.head().total_len;
        if route.kind == RouteType::Local || u32::from(len) <= mtu {
            return None;
        }
        // A tunnel's packet whose outer header does not fit the underlay:
        // without DF (VXLAN's outer header never has it; IPIP copies the
        // inner packet's, whose DF case `transmit` refused before
        // wrapping) it is fragmented as it leaves (measured on Linux 6.18,
        // a VXLAN device over a smaller underlay).
        if !pkt.outer.is_empty() {
            if !pkt.head().df {
                self.pending_fragment = Some(mtu);
            }
            return None;
        }
        let whose = Self::whose_mtu(route, pkt.head().dst, path);
        // (Named again, a learnt MTU in short.)
        let again = match path.1 {
            Some(_) => format!("the path MTU {mtu}"),
            None => whose.clone(),
        };
        let head = pkt.transport.header_len();
        let fits = mtu.saturating_sub(20 + u32::from(head));
        let what = match pkt.ip.protocol {
            Proto::Tcp => format!("TCP sends at most {fits} bytes of data in one segment here (its MSS: {again}, less 40 bytes of IP and TCP headers; {} with the timestamps Linux puts in each segment), and cuts {} bytes into segments of that size", fits.saturating_sub(12), pkt.payload_len),
            Proto::Udp => format!("a UDP datagram of {len} bytes leaves in fragments (IP_PMTUDISC_WANT, the default; with IP_PMTUDISC_DO, send() fails with EMSGSIZE), which Packet Walk does not follow: at most {fits} bytes of data fit {again}"),
            _ => format!("ping sends it in fragments (ping -M do: \"message too long, mtu={mtu}\"), which Packet Walk does not follow: at most {fits} bytes of data fit {again}"),
        };
        let detail =
            format!("{len} bytes do not fit {whose}: {what}. Send at most {fits} bytes of data.");
        Some(self.drop(host, DropReason::TooBig, detail, None, pkt))
    }

    /// `pkt` as it was before this host's SNAT of it, and its connection
    /// (`icmp_ndo_send`, which a device's own ICMP error goes through):
    /// found by the packet's tuple, its connection's reply tuple turned
    /// around. Unchanged, and none, when this host did not SNAT it.
    fn before_snat(&self, host: usize, pkt: &Packet) -> (Packet, Option<Attached>) {
        let t = tuple_of(pkt);
        let found = (self.state.conntrack[host].entries.iter()).position(|e| {
            e.src_natted()
                && e.reply.proto == t.proto
                && (e.reply.src, e.reply.sport, e.reply.dst, e.reply.dport)
                    == (t.dst, t.dport, t.src, t.sport)
        });
        let Some(i) = found else {
            return (pkt.clone(), None);
        };
        let e = &self.state.conntrack[host].entries[i];
        let mut about = pkt.clone();
        about.head_mut().src = e.original.src;
        about.transport.set_src_port(e.original.sport);
        let ct = Ct {
            entry: Some((i, Dir::Original)),
            ..Ct::default()
        };
        (about, self.attach(host, &ct))
    }

    /// A forwarded packet about to leave by the device it came in on
    /// (`in_dev`), toward a next hop on its sender's own link: the kernel
    /// sends the sender an ICMP redirect (`__mkroute_input` marks it when
    /// the sender is directly connected there, with `shared_media` on, the
    /// default; `ip_rt_send_redirect` sends it,
    /// backing off). Conntrack's NAT drops a redirect about a connection
    /// whose NAT is not complete, or that has NAT (`nf_nat_icmp_reply_
    /// translation`): a redirect could route around the translation. Made
    /// or not, it updates the peer's ICMP rate limit, so an ICMP error
    /// right after it is held back (measured on Linux 6.18).
    fn maybe_redirect(
        &mut self,
        host: usize,
        in_dev: &str,
        out_dev: Option<&str>,
        via: Option<Ipv4Addr>,
        pkt: &Packet,
        ct: &Ct,
    ) {
        if out_dev != Some(in_dev) || in_dev == "lo" {
            return;
        }
        let h = &self.world.hosts[host];
        let src = pkt.head().src;
        // fib_validate_source: the sender is reached directly on in_dev.
        let direct = (h
            .routes
            .route_for(&crate::engine::policy::Flow::to(src))
            .route)
            .is_some_and(|r| {
                r.kind == RouteType::Unicast && r.via.is_none() && r.dev.as_deref() == Some(in_dev)
            });
        // No check that the sender and the gateway share a subnet
        // (inet_addr_onlink): shared_media, on by default, waives it, so a
        // veth with no address of its own (a cali…) redirects too (measured
        // on Linux 6.18: a pod calling its own Service through DNAT).
        if !direct {
            return;
        }
        let gateway = via.unwrap_or(pkt.head().dst);
        let about_error = matches!(
            &pkt.transport,
            Transport::Icmp {
                quoted: Some(_),
                ..
            }
        );
        let redirected = self.state.redirect(host, src);
        // Only a backed-off redirect leaves the peer's clock alone.
        let holds_errors = !matches!(redirected, Redirected::Backoff);
        let (sent, note) = match redirected {
            // __icmp_send makes no error about an ICMP error (a redirect
            // is one); the peer's bookkeeping is done all the same.
            Redirected::Sent if about_error => (
                false,
                "not made: the kernel sends no ICMP error about an ICMP error, though it counts it as sent"
                    .to_string(),
            ),
            Redirected::Sent => {
                let nat = match (ct.new.as_ref(), ct.entry) {
                    (Some(_), _) => Some("its connection is new, and its NAT is not all set up until POSTROUTING"),
                    (None, Some((i, _)))
                        if {
                            let e = &self.state.conntrack[host].entries[i];
                            e.dst_natted() || e.src_natted()
                        } =>
                    {
                        Some("its connection is NATed")
                    }
                    _ => None,
                };
                let note = match nat {
                    Some(why) => format!("made, but dropped on the way out: conntrack's NAT lets no redirect out for a connection whose NAT is not all set up, or that is translated ({why}); the packet itself goes on"),
                    None => format!("sent: {src} may send to {gateway} directly from now on (the simulator does not follow that); the packet itself goes on"),
                };
                (true, note)
            }
            Redirected::Backoff => (false, "not sent: too soon after the last one to this sender (the kernel waits twice as long after each)".to_string()),
            Redirected::Unheeded => (false, "not sent: 9 went unheeded, so none until the sender is quiet for 20 s".to_string()),
        };
        self.step(
            host,
            Layer::Network,
            StepKind::Redirect {
                to: src,
                gateway,
                sent,
                holds_errors,
                note,
            },
            pkt,
        );
    }

    /// Nobody answered ARP for the next hop. After about 3 s of asking
    /// (neigh_invalidate), the kernel tells the sender: a forwarded packet
    /// gets an ICMP host unreachable back (measured on Linux 6.18); the
    /// program that sent a local one sees EHOSTUNREACH.
    fn unanswered_arp(&mut self, host: usize, detail: String, pkt: &Packet) -> Next {
        if !pkt.outer.is_empty() {
            // A tunnel's outer header: no program sent it.
            self.drop(host, DropReason::NoNeighbour, detail, None, pkt)
        } else if pkt.iif.is_some() {
            let resp = self.icmp_error(host, pkt, icmp::DEST_UNREACH, icmp::HOST_UNREACH);
            let detail = format!(
                "{detail}; after about 3 s of asking, the kernel gives up and tells the sender"
            );
            self.drop(host, DropReason::NoNeighbour, detail, resp, pkt)
        } else {
            let detail = format!("{detail}; after about 3 s of asking, the program's send fails with EHOSTUNREACH (No route to host)");
            self.drop(host, DropReason::NoNeighbour, detail, None, pkt)
        }
    }

    /// Drop for blackhole/unreachable/prohibit routes.
    fn unusable(
        &mut self,
        host: usize,
        route: &crate::engine::route::Route,
        // The ip rule whose action gave it, if one did (`Decision::by_rule`).
        by_rule: Option<&str>,
        pkt: &Packet,
        ct: Option<&Ct>,
    ) -> Option<Next> {
        let kind = route.kind;
        let (reason, code) = match kind {
            RouteType::Blackhole if by_rule.is_some() => (DropReason::RuleBlackhole, None),
            RouteType::Prohibit if by_rule.is_some() => {
                (DropReason::RuleProhibit, Some(icmp::ADMIN_PROHIBITED))
            }
            RouteType::Blackhole => (DropReason::Blackhole, None),
            RouteType::Unreachable => (DropReason::Unreachable, Some(icmp::HOST_UNREACH)),
            RouteType::Prohibit => (DropReason::Prohibit, Some(icmp::ADMIN_PROHIBITED)),
            _ => return None,
        };
        // Only a forwarding host answers a received packet with ICMP (ip_error).
        let answers = pkt.iif.is_some() && self.world.hosts[host].ip_forward;
        let resp = code
            .filter(|_| answers)
            .and_then(|c| self.icmp_error(host, pkt, icmp::DEST_UNREACH, c));
        let attached = ct.and_then(|ct| self.attach(host, ct));
        // A host's own packet: the route lookup fails the program's send
        // at once (fib_props' errors; measured on Linux 6.18), no ICMP.
        let own = match (pkt.iif.is_none() && pkt.outer.is_empty(), kind) {
            (false, _) => "",
            (true, RouteType::Blackhole) => "; the program's send fails with EINVAL (Invalid argument), and no ICMP is made",
            (true, RouteType::Unreachable) => "; the program's send fails with EHOSTUNREACH (No route to host), and no ICMP is made",
            (true, _) => "; the program's send fails with EACCES (Permission denied), and no ICMP is made",
        };
        // (Words only for a packet refused: this runs for every route.)
        let refuser = match by_rule {
            Some(rule) => format!("rule {rule}"),
            None => format!("{} route {}", kind.as_str(), route.dst),
        };
        Some(self.refuse(host, reason, format!("{refuser}{own}"), resp, attached, pkt))
    }

    /// A packet arrives on a device of `host`.
    fn receive(
        &mut self,
        host: usize,
        mut dev: usize,
        from: Option<String>,
        mut pkt: Packet,
        frame_to: Option<((usize, usize), usize)>,
    ) -> Next {
        // A port of a bridge hands what it receives to the bridge: the
        // network layer sees the packet arrive on the bridge (`cni0`).
        let port = dev;
        let bridge = self.world.bridge_of(host, dev);
        if let Some(b) = bridge {
            dev = b;
        }
        let dev_name = self.world.hosts[host].devs[dev].spec.name.clone();
        pkt.iif = Some(dev_name.clone());
        pkt.oif = None;
        // br_netfilter keeps the port it came in by, for -m physdev, while
        // the packet is in this namespace.
        pkt.physin = bridge.map(|_| self.world.hosts[host].devs[port].spec.name.clone());
        pkt.physout = None;
        self.step(
            host,
            Layer::Link,
            StepKind::Receive {
                dev: dev_name.clone(),
                from,
            },
            &pkt,
        );
        let mut ct = Ct::default();
        let dst = pkt.head().dst;
        if let Some(n) = self.hook(host, Hook::Prerouting, &mut pkt, &mut ct) {
            return n;
        }
        // br_netfilter ran PREROUTING for the bridge; a frame addressed to
        // another port's pod is switched to it, not routed (unless a DNAT
        // changed where it goes: then the kernel routes it first).
        let dnat = pkt.head().dst != dst;
        if let (Some(b), Some(to), false) = (bridge, frame_to, dnat) {
            return self.bridge_forward(host, port, b, to, pkt, ct, false);
        }
        let d = self.route_step(host, Lookup::Input, &pkt);
        let by_rule = d.by_rule.as_ref().map(|(_, rule)| rule.clone());
        let Some(route) = d.route else {
            let resp = if self.world.hosts[host].ip_forward {
                self.icmp_error(host, &pkt, icmp::DEST_UNREACH, icmp::NET_UNREACH)
            } else {
                None
            };
            let attached = self.attach(host, &ct);
            return self.refuse(
                host,
                d.no_route_reason(),
                d.no_route(pkt.head().dst),
                resp,
                attached,
                &pkt.clone(),
            );
        };
        let local = matches!(route.kind, RouteType::Local | RouteType::Broadcast);
        // As the route step showed it.
        pkt.oif = if local { None } else { route.dev.clone() };
        if let Some(v) = self.unusable(host, &route, by_rule.as_deref(), &pkt, Some(&ct)) {
            return v;
        }
        // fib_validate_source: a packet that arrives from outside with one
        // of this namespace's own addresses as its source is a martian
        // (net.ipv4.conf.*.accept_local = 0). Checked in a netns: a pod
        // that reaches itself through a DNAT without masquerade.
        // (A host that does not forward refuses a packet not for it before
        // it checks the source: ip_route_input_slow's no_route. Measured:
        // IpInAddrErrors, no martian logged.)
        let checked = local || self.world.hosts[host].ip_forward;
        let (src, dst) = (pkt.head().src, pkt.head().dst);
        if checked && dev_name != "lo" && self.world.hosts[host].owns(src) {
            let detail = format!(
                "martian source {dst} from {src}, on dev {dev_name}: {src} is this host's own address"
            );
            return self.drop(host, DropReason::Martian, detail, None, &pkt.clone());
        }
        // rp_filter, in the same check (fib_validate_source; measured on
        // Linux 6.18 with Felix's rp_filter=1 on the cali veths: a pod's
        // packet whose /32 route was gone, or pointed at another veth, was
        // dropped there).
        if let Some(Err(why)) = checked.then(|| {
            let out = if local {
                "lo"
            } else {
                route.dev.as_deref().unwrap_or("lo")
            };
            reverse_path(
                &self.world.hosts[host],
                &dev_name,
                src,
                Some((dst, out, &pkt)),
            )
        }) {
            let detail = format!(
                "{why}, so the kernel takes the source for spoofed and drops the packet (counted as IPReversePathFilter)"
            );
            return self.drop(host, DropReason::ReversePath, detail, None, &pkt.clone());
        }
        if local {
            return self.local_in(host, pkt, ct);
        }
        // A DNAT to an address out of the bridge it came in on: the frame
        // stays on the bridge, switched to the pod that answers ARP for
        // the new address (br_netfilter's "bridged DNAT"; no TTL taken).
        if let Some(b) = bridge.filter(|&b| {
            dnat && route.dev.as_deref() == Some(self.world.hosts[host].devs[b].spec.name.as_str())
        }) {
            let next_hop = route.via.unwrap_or(pkt.head().dst);
            let bridge_name = self.world.hosts[host].devs[b].spec.name.clone();
            let found = self.world.bridge_neighbour(host, b, next_hop);
            let got = self.neighbour(
                host,
                &bridge_name,
                next_hop,
                found.map(|f| f.0),
                false,
                &pkt,
            );
            let Some(to) = found.filter(|f| got == Some(f.0)) else {
                let detail =
                    format!("no container behind {bridge_name} answers ARP for {next_hop}");
                return self.unanswered_arp(host, detail, &pkt.clone());
            };
            return self.bridge_forward(host, port, b, to, pkt, ct, true);
        }
        // Forwarding.
        let h = &self.world.hosts[host];
        if !h.ip_forward {
            return self.drop(
                host,
                DropReason::NotForwarding,
                format!(
                    "{} is not for {} and forwarding is off",
                    pkt.head().dst,
                    h.name()
                ),
                None,
                &pkt.clone(),
            );
        }
        let ttl = pkt.head().ttl;
        if ttl <= 1 {
            let resp = self.icmp_error(host, &pkt, icmp::TIME_EXCEEDED, 0);
            let attached = self.attach(host, &ct);
            return self.refuse(
                host,
                DropReason::TtlExceeded,
                format!("TTL {ttl} would reach 0 here: a router does not forward it, and tells the sender"),
                resp,
                attached,
                &pkt.clone(),
            );
        }
        // ip_forward: a packet larger than the way out's MTU, with DF,
        // goes no further; the sender hears the MTU (ip_exceeds_mtu, before
        // FORWARD: measured on Linux 6.18, mangle FORWARD never saw it).
        // The route's or the device's: not a path MTU the router learnt
        // for the destination (ip_dst_mtu_maybe_forward, with
        // ip_forward_use_pmtu 0; measured: a router that had learnt 1300
        // forwarded 1400 bytes, and the next router refused them).
        let path = (self.world.hosts[host].route_mtu(&route), None);
        let mtu = path.0;
        let len = pkt.head().total_len;
        if u32::from(len) > mtu && pkt.head().df {
            let resp = self.icmp_error(host, &pkt, icmp::DEST_UNREACH, icmp::FRAG_NEEDED);
            let resp = resp.map(|mut r| {
                r.transport.set_next_hop_mtu(mtu);
                r
            });
            let attached = self.attach(host, &ct);
            let whose = Self::whose_mtu(&route, pkt.head().dst, path);
            return self.refuse(
                host,
                DropReason::FragNeeded,
                format!("{len} bytes do not fit {whose}, and the packet has Don't Fragment set: a router does not cut it up, and tells the sender the MTU (ICMP fragmentation needed, next-hop mtu {mtu})"),
                resp,
                attached,
                &pkt.clone(),
            );
        }
        // Without DF it is cut up as it leaves, after POSTROUTING.
        self.pending_fragment = (u32::from(len) > mtu).then_some(mtu);
        self.maybe_redirect(host, &dev_name, route.dev.as_deref(), route.via, &pkt, &ct);
        pkt.head_mut().ttl = ttl - 1;
        self.step(
            host,
            Layer::Network,
            StepKind::Ttl {
                old: ttl,
                new: ttl - 1,
            },
            &pkt,
        );
        pkt.oif = route.dev.clone();
        if let Some(n) = self.hook(host, Hook::Forward, &mut pkt, &mut ct) {
            return n;
        }
        self.post_routing(host, pkt, ct, route.dev.unwrap_or_default(), route.via)
    }

    /// Bridge `bridge` of `host` switches a frame that came in on its port
    /// `in_port` to port `out`, behind which `far` (a pod's `eth0`) is. With
    /// br_netfilter the frame passes FORWARD and POSTROUTING with the
    /// bridge as `-i` and `-o`; no TTL is taken (checked in network
    /// namespaces with a bridge, veths and bridge-nf-call-iptables = 1).
    #[allow(clippy::too_many_arguments)]
    fn bridge_forward(
        &mut self,
        host: usize,
        in_port: usize,
        bridge: usize,
        (far, out): ((usize, usize), usize),
        mut pkt: Packet,
        mut ct: Ct,
        dst_changed: bool,
    ) -> Next {
        let world = self.world;
        let h = &world.hosts[host];
        let bridge_name = h.devs[bridge].spec.name.clone();
        let in_name = h.devs[in_port].spec.name.clone();
        let out_name = h.devs[out].spec.name.clone();
        if out == in_port && !h.devs[in_port].spec.hairpin {
            let detail = format!(
                "{bridge_name}'s way to the pod is {in_name}, where the frame came in, and its hairpin mode is off (ip link set {in_name} type bridge_slave hairpin on)"
            );
            return self.drop(host, DropReason::Hairpin, detail, None, &pkt.clone());
        }
        pkt.oif = Some(bridge_name.clone());
        pkt.physout = Some(out_name.clone());
        self.step(
            host,
            Layer::Link,
            StepKind::Bridge {
                bridge: bridge_name,
                in_port: in_name,
                out_port: out_name.clone(),
                dst_changed,
            },
            &pkt,
        );
        if let Some(n) = self.hook(host, Hook::Forward, &mut pkt, &mut ct) {
            return n;
        }
        if let Some(n) = self.hook(host, Hook::Postrouting, &mut pkt, &mut ct) {
            return n;
        }
        if let Some(n) = self.ct_confirm(host, &mut ct, &pkt) {
            return n;
        }
        let next_hop = pkt.head().dst;
        self.hand_over(host, &out_name, next_hop, far, pkt)
    }

    fn post_routing(
        &mut self,
        host: usize,
        mut pkt: Packet,
        mut ct: Ct,
        dev: String,
        via: Option<Ipv4Addr>,
    ) -> Next {
        pkt.oif = Some(dev.clone());
        if let Some(n) = self.hook(host, Hook::Postrouting, &mut pkt, &mut ct) {
            return n;
        }
        if let Some(n) = self.ct_confirm(host, &mut ct, &pkt) {
            return n;
        }
        // A packet without DF larger than its way out's MTU (forwarded, or
        // a tunnel's outer packet) is cut up as it leaves.
        if let Some(mtu) = self.pending_fragment.take() {
            self.fragment_step(host, &dev, mtu, &pkt);
        }
        // A host's own packet sized for the route before OUTPUT's DNAT,
        // larger than the new one's MTU: with DF, dropped as it leaves
        // (ip_fragment), after POSTROUTING and the connection's confirm
        // (measured on Linux 6.18); without (`mtu lock`), fragmented.
        if let Some((mtu, sized_for, whose)) = self.resized.take() {
            let len = pkt.head().total_len;
            // Only TCP keeps its DF here: a datagram's socket (IP_PMTUDISC_
            // WANT, the default) lets the kernel fragment it all the same
            // (measured: 1444 + 34 bytes, without DF).
            if u32::from(len) > mtu && (!pkt.head().df || pkt.ip.protocol != Proto::Tcp) {
                self.fragment_step(host, &dev, mtu, &pkt);
            } else if u32::from(len) > mtu {
                let what = "the kernel drops it as it leaves (Don't Fragment is set) and tells the socket by an ICMP fragmentation needed to itself, over lo: TCP sends it again in segments that fit";
                let detail = format!(
                    "{len} bytes do not fit {whose}, the way out after OUTPUT changed the destination: the socket sized the packet for the route it had first ({sized_for}; after a handshake, the peer's MSS may keep segments smaller); {what}"
                );
                return self.drop(host, DropReason::TooBig, detail, None, &pkt.clone());
            }
        }
        self.transmit(host, pkt, &dev, via)
    }

    /// The packet is cut into fragments for `mtu` as it leaves by `dev`
    /// (`ip_fragment`): each with its IP header and a multiple of 8 bytes
    /// of the rest. The walk goes on with it whole.
    fn fragment_step(&mut self, host: usize, dev: &str, mtu: u32, pkt: &Packet) {
        let per = (mtu.saturating_sub(20) / 8 * 8).max(8);
        let pieces = u32::from(pkt.head().total_len.saturating_sub(20)).div_ceil(per);
        let dev = dev.to_string();
        self.step(
            host,
            Layer::Network,
            StepKind::Fragment { dev, mtu, pieces },
            pkt,
        );
    }

    /// Hands the packet to the device `dev`.
    fn transmit(&mut self, host: usize, pkt: Packet, dev: &str, via: Option<Ipv4Addr>) -> Next {
        let world = self.world;
        let h = &world.hosts[host];
        let Some(di) = h.dev(dev) else {
            return self.drop(
                host,
                DropReason::NoRoute,
                format!("device {dev} does not exist"),
                None,
                &pkt.clone(),
            );
        };
        let d = &h.devs[di];
        let next_hop = via.unwrap_or(pkt.head().dst);
        match &d.spec.kind {
            DeviceKind::Loopback => {
                self.transmit_step(host, dev, None, &pkt);
                self.socket = None;
                Next::Receive {
                    host,
                    dev: di,
                    from: None,
                    pkt,
                    frame_to: None,
                }
            }
            DeviceKind::Veth { .. } => {
                let (ph, pd) = d.peer.expect("veth peers are resolved by World::build");
                let peer = &world.hosts[ph];
                let pdev = &peer.devs[pd];
                // The far end is a bridge port (`cni0`): the bridge answers
                // for its own address, and switches to the other ports.
                if let Some(bi) = world.bridge_of(ph, pd) {
                    let b = &peer.devs[bi];
                    // The bridge's own address answers: the frame goes up to
                    // the node, which routes it. Another port's pod answers:
                    // the frame is addressed to it, and the bridge switches
                    // it there (see `receive`).
                    let ours = b.spec.addrs.iter().any(|a| a.addr() == next_hop);
                    let frame_to = world.bridge_neighbour(ph, bi, next_hop).filter(|_| !ours);
                    // The node answers for the bridge's address as for any
                    // of its own, its rp_filter first (arp_process).
                    let sip = arp_sender(&world.hosts[host], dev, next_hop, &pkt);
                    let refused = ours
                        .then(|| reverse_path(peer, &b.spec.name, sip, None).err())
                        .flatten();
                    let owner = if ours {
                        refused.is_none().then_some((ph, bi))
                    } else {
                        frame_to.map(|(far, _)| far)
                    };
                    return match self.neighbour(host, dev, next_hop, owner, false, &pkt) {
                        Some(to) => {
                            let frame_to = frame_to.filter(|(far, _)| *far == to);
                            self.hand_over_to(host, dev, next_hop, (ph, pd), pkt, frame_to)
                        }
                        None => {
                            let detail = match refused {
                                Some(rp) => format!(
                                    "nobody answers ARP for {next_hop} on {dev}: {} checks the asker's address {sip} first, and refuses it: {rp}",
                                    world.label(ph, bi)
                                ),
                                None => format!(
                                    "nobody on bridge {} answers ARP for {next_hop}",
                                    b.spec.name
                                ),
                            };
                            self.unanswered_arp(host, detail, &pkt.clone())
                        }
                    };
                }
                // arp_process: the peer looks the asked address up as if a
                // packet from the asker came in on this device (so ip rules
                // see both). A local address of any of its devices is
                // answered (arp_ignore = 0); with proxy_arp, and forwarding
                // on, one it routes out of another device (measured:
                // Calico's 169.254.1.1 works because the node's default
                // route leaves through its NIC).
                let sip = arp_sender(&world.hosts[host], dev, next_hop, &pkt);
                let flow = crate::engine::policy::Flow {
                    src: sip,
                    iif: &pdev.spec.name,
                    ..crate::engine::policy::Flow::to(next_hop)
                };
                let route = peer.routes.route_for(&flow).route;
                let owns = pdev.spec.addrs.iter().any(|a| a.addr() == next_hop)
                    || route.as_ref().is_some_and(|r| r.kind == RouteType::Local);
                let routed_elsewhere = peer.ip_forward
                    && route.as_ref().is_some_and(|r| {
                        r.kind == RouteType::Unicast
                            && r.dev.as_deref() != Some(pdev.spec.name.as_str())
                    });
                // The peer routes the request's sender address in first
                // (arp_process: ip_route_input_noref), so its rp_filter
                // may refuse to answer at all (measured on Linux 6.18: a
                // pod whose route back leads out of another veth got no
                // answer for 169.254.1.1).
                let filtered = reverse_path(peer, &pdev.spec.name, sip, None).err();
                let answered =
                    filtered.is_none() && (owns || (pdev.spec.proxy_arp && routed_elsewhere));
                let proxy = !owns && pdev.spec.proxy_arp;
                let fresh = answered.then_some((ph, pd));
                // A live entry is used without asking (the peer it names
                // is the only one a veth reaches).
                if self
                    .neighbour(host, dev, next_hop, fresh, proxy, &pkt)
                    .is_none()
                {
                    let why = match &filtered {
                        Some(rp) => format!("checks the asker's address {sip} first, and refuses it: {rp}"),
                        None if pdev.spec.proxy_arp && !peer.ip_forward => "does not own it and has proxy_arp, but does not forward (proxy ARP answers only for a forwarding host)".to_string(),
                        None if pdev.spec.proxy_arp => "does not own it and has proxy_arp but no route to it through another device".to_string(),
                        None => "does not own it and has no proxy_arp".to_string(),
                    };
                    let detail = format!(
                        "nobody answers ARP for {next_hop} on {dev}: the peer {} {why}",
                        world.label(ph, pd)
                    );
                    return self.unanswered_arp(host, detail, &pkt.clone());
                }
                self.hand_over(host, dev, next_hop, (ph, pd), pkt)
            }
            DeviceKind::Ethernet { lan } => match (world.lan_owners(lan, next_hop).into_iter())
                .filter(|o| o.0 != host)
                .collect::<Vec<_>>()
                .as_slice()
            {
                owners @ [first, ..] => {
                    // Each owner routes the asker's address in first, its
                    // rp_filter too (arp_process); each that takes it
                    // answers, and the first answer is kept.
                    let sip = arp_sender(&world.hosts[host], dev, next_hop, &pkt);
                    let refused = |o: &(usize, usize)| {
                        let odev = &world.hosts[o.0].devs[o.1].spec.name;
                        reverse_path(&world.hosts[o.0], odev, sip, None).err()
                    };
                    let mut answering = owners.iter().filter(|o| refused(o).is_none());
                    let fresh = answering.next().copied();
                    let also: Vec<(usize, usize)> = answering.copied().collect();
                    match self.neighbour(host, dev, next_hop, fresh, false, &pkt) {
                        Some(to) => {
                            self.answered_too(host, dev, sip, &also);
                            self.hand_over(host, dev, next_hop, to, pkt)
                        }
                        None => {
                            let detail = format!(
                                "nobody answers ARP for {next_hop} on {dev}: {} checks the asker's address {sip} first, and refuses it: {}",
                                world.label(first.0, first.1),
                                refused(first).unwrap_or_default()
                            );
                            self.unanswered_arp(host, detail, &pkt.clone())
                        }
                    }
                }
                _ => {
                    // Nobody in the scenario owns the next hop (a router,
                    // another machine): the packet leaves the model.
                    self.transmit_step(host, dev, Some(next_hop), &pkt);
                    // The last endpoint chain it entered here, if any.
                    let ns = h.name();
                    let sep = self
                        .steps
                        .iter()
                        .rev()
                        .filter(|s| s.ns == ns)
                        .find_map(|s| match &s.kind {
                            StepKind::Chain { chain, .. } if chain.starts_with("KUBE-SEP-") => {
                                Some(chain.as_str())
                            }
                            _ => None,
                        });
                    let note = world.cluster_ip_note(&pkt, sep);
                    self.step(
                        host,
                        Layer::Link,
                        StepKind::Exit {
                            dev: dev.into(),
                            next_hop,
                            note,
                        },
                        &pkt,
                    );
                    Next::Done(Verdict::Left {
                        ns: h.name().to_string(),
                        dev: dev.into(),
                        next_hop,
                    })
                }
            },
            DeviceKind::Bridge { .. } => {
                // A bridge reaches the hosts behind its listed ports; an
                // empty bridge (docker0 without containers) resolves nobody.
                let owner = world
                    .bridge_neighbour(host, di, next_hop)
                    .map(|(far, _)| far);
                match self.neighbour(host, dev, next_hop, owner, false, &pkt) {
                    Some(owner) => self.hand_over(host, dev, next_hop, owner, pkt),
                    None => self.unanswered_arp(
                        host,
                        format!("no container behind {dev} answers ARP for {next_hop}"),
                        &pkt.clone(),
                    ),
                }
            }
            DeviceKind::Ipip => {
                let Some(gw) = via else {
                    return self.drop(
                        host,
                        DropReason::NoNeighbour,
                        format!(
                            "{dev} has no remote end: an IPIP route needs \"via <node> onlink\""
                        ),
                        None,
                        &pkt.clone(),
                    );
                };
                // Outer source: tunl0 has no fixed local address, so the
                // kernel routes to the gateway and takes that route's source.
                let d = h.routes.route_for(&crate::engine::policy::Flow::to(gw));
                if d.route.as_ref().and_then(|r| r.dev.as_deref()) == Some(dev) {
                    // The tunnel endpoint is routed through the tunnel itself.
                    let detail = format!("the route to {gw} leads back into {dev}: the kernel refuses to encapsulate twice");
                    return self.drop(host, DropReason::NoRoute, detail, None, &pkt.clone());
                }
                let src = d
                    .route
                    .as_ref()
                    .filter(|r| r.dev.as_deref() != Some(dev))
                    .and_then(|r| {
                        r.src
                            .or_else(|| r.dev.as_deref().and_then(|x| h.dev_addr(x)))
                    })
                    .or_else(|| h.select_src("", None))
                    .unwrap_or(Ipv4Addr::UNSPECIFIED);
                // ip_tunnel_xmit: the packet inside must fit the underlay's
                // MTU less the 20 bytes IPIP adds; with DF its sender hears
                // the MTU that fits, before anything is wrapped.
                // (dst_mtu: with a path MTU the node learnt for the gateway.)
                let under = d
                    .route
                    .as_ref()
                    .map_or(1500, |r| self.path_mtu(host, r, gw).0);
                let inner_mtu = under.saturating_sub(20);
                let len = pkt.head().total_len;
                if u32::from(len) > inner_mtu && pkt.head().df {
                    // icmp_ndo_send: a packet this host SNATed is answered
                    // as it came, to its first source, with its connection.
                    let (about, attached) = self.before_snat(host, &pkt);
                    let resp = self
                        .icmp_error(host, &about, icmp::DEST_UNREACH, icmp::FRAG_NEEDED)
                        .map(|mut r| {
                            r.transport.set_next_hop_mtu(inner_mtu);
                            r
                        });
                    let out = d
                        .route
                        .as_ref()
                        .and_then(|r| r.dev.clone())
                        .unwrap_or_default();
                    let detail = format!(
                        "{len} bytes and the 20 of an IPIP header do not fit {out}'s MTU {under} on the way to {gw}, and the packet has Don't Fragment set: {dev} refuses it before it wraps it, and tells its sender {} the MTU that fits inside, {inner_mtu} (ip_tunnel_xmit)",
                        about.head().src
                    );
                    return self.refuse(
                        host,
                        DropReason::FragNeeded,
                        detail,
                        resp,
                        attached,
                        &pkt.clone(),
                    );
                }
                let id = self.state.next_ip_id(host);
                let outer = Ipv4Header {
                    src,
                    dst: gw,
                    ttl: pkt.ip.ttl,
                    protocol: Proto::Ipip,
                    id,
                    df: pkt.ip.df,
                    total_len: 0,
                    vxlan: None,
                };
                self.encapsulate(host, dev, gw, outer, pkt)
            }
            DeviceKind::Vxlan {
                vni,
                port,
                mac,
                local,
                neigh,
                fdb,
            } => {
                // The overlay next hop's MAC from the neighbour table, the
                // node behind that MAC from the forwarding database.
                let Some(n) = neigh.iter().find(|n| n.ip == next_hop) else {
                    self.arp(host, dev, next_hop, None, false, None, &pkt);
                    let detail = format!("{dev} has no neighbour entry for {next_hop}: the CNI adds one per node (ip neigh)");
                    return self.drop(host, DropReason::NoNeighbour, detail, None, &pkt.clone());
                };
                self.step(
                    host,
                    Layer::Link,
                    StepKind::Arp {
                        dev: dev.into(),
                        target: next_hop,
                        answered_by: Some(n.lladdr.clone()),
                        answered_too: Vec::new(),
                        proxy: false,
                        cached: Some(Nud::Permanent),
                    },
                    &pkt,
                );
                let Some(f) = fdb.iter().find(|f| f.lladdr == n.lladdr) else {
                    let detail = format!("{dev} has no forwarding entry for {} (bridge fdb): it does not know which node has that VTEP", n.lladdr);
                    return self.drop(host, DropReason::NoNeighbour, detail, None, &pkt.clone());
                };
                // The underlay must not lead back into the tunnel itself.
                let under = h.routes.route_for(&crate::engine::policy::Flow::to(f.dst));
                if under.route.as_ref().and_then(|r| r.dev.as_deref()) == Some(dev) {
                    let detail = format!(
                        "the route to {} leads back into {dev}: the kernel refuses a circular route",
                        f.dst
                    );
                    return self.drop(host, DropReason::NoRoute, detail, None, &pkt.clone());
                }
                // The LAN hop the outer frame goes to: the remote node, or
                // the router when the underlay route goes through one.
                let lan_hop = under.route.as_ref().and_then(|r| r.via).unwrap_or(f.dst);
                let id = self.state.next_ip_id(host);
                let outer = Ipv4Header {
                    src: *local,
                    dst: f.dst,
                    ttl: 64,
                    protocol: Proto::Udp,
                    id,
                    df: false,
                    total_len: 0,
                    vxlan: Some(Box::new(VxlanEncap {
                        src_port: flow_port(&pkt),
                        dst_port: *port,
                        vni: *vni,
                        inner_src_mac: mac.clone(),
                        inner_dst_mac: n.lladdr.clone(),
                        outer_src_mac: crate::engine::packet::nic_mac(*local),
                        outer_dst_mac: crate::engine::packet::nic_mac(lan_hop),
                    })),
                };
                self.encapsulate(host, dev, next_hop, outer, pkt)
            }
        }
    }

    /// A tunnel device takes the packet toward `next_hop` and puts `outer`
    /// (lengths and checksum filled in) in front of it; the encapsulated
    /// packet goes out again from this host.
    fn encapsulate(
        &mut self,
        host: usize,
        dev: &str,
        next_hop: Ipv4Addr,
        outer: Ipv4Header,
        mut pkt: Packet,
    ) -> Next {
        self.transmit_step(host, dev, Some(next_hop), &pkt);
        pkt.outer.insert(0, outer);
        pkt.fix_lengths();
        let outer = pkt.outer[0].clone();
        let dev = dev.into();
        self.step(host, Layer::Network, StepKind::Encap { dev, outer }, &pkt);
        Next::LocalOut { host, pkt }
    }

    /// The packet leaves on `dev`, toward `next_hop` when there is one.
    fn transmit_step(&mut self, host: usize, dev: &str, next_hop: Option<Ipv4Addr>, pkt: &Packet) {
        let dev = dev.to_string();
        self.step(host, Layer::Link, StepKind::Transmit { dev, next_hop }, pkt);
    }

    /// The neighbour `dev` sends to for `target`: the cache's entry if it
    /// has a live one (REACHABLE, or STALE: used at once and probed),
    /// else asked by ARP, `fresh` being who answers now. An answer fills
    /// both caches: the asker's, and the answerer's with the asker
    /// (arp_process: neigh_event_ns, STALE).
    fn neighbour(
        &mut self,
        host: usize,
        dev: &str,
        target: Ipv4Addr,
        fresh: Option<(usize, usize)>,
        proxy: bool,
        pkt: &Packet,
    ) -> Option<(usize, usize)> {
        let now = self.state.clock;
        let h = &self.world.hosts[host];
        let di = h.dev(dev).expect("a device the packet is sent on");
        let cache = &mut self.state.neigh[host];
        let mut failed = false;
        if let Some(i) = cache.iter().position(|n| n.dev == di && n.ip == target) {
            let n = &mut cache[i];
            match n.state(now) {
                Nud::Failed => {
                    cache.remove(i);
                    failed = true;
                }
                state => {
                    // The probe a STALE entry gets (DELAY, then PROBE) is
                    // answered as a request would be now, or not.
                    if state == Nud::Stale {
                        if fresh == Some(n.owner) {
                            n.confirmed = Some(now);
                            n.fails_at = None;
                        } else if n.fails_at.is_none() {
                            n.fails_at = Some(now + PROBE_FAILS_SECS);
                        }
                    }
                    let n = *n;
                    self.arp(host, dev, target, Some(n.owner), n.proxy, Some(state), pkt);
                    return Some(n.owner);
                }
            }
        }
        self.arp(
            host,
            dev,
            target,
            fresh,
            proxy,
            failed.then_some(Nud::Failed),
            pkt,
        );
        let owner = fresh?;
        self.state.neigh[host].push(Neighbour {
            dev: di,
            ip: target,
            owner,
            proxy,
            confirmed: Some(now),
            fails_at: None,
        });
        let sip = arp_sender(h, dev, target, pkt);
        self.learn_asker(owner, (host, di), sip);
        Some(owner)
    }

    /// neigh_event_ns: a host that answers an ARP request (`owner`, its
    /// device) makes the asker's entry, or sets it STALE with its
    /// address, unless it is REACHABLE with that address already.
    fn learn_asker(&mut self, owner: (usize, usize), asker: (usize, usize), sip: Ipv4Addr) {
        let now = self.state.clock;
        let learnt = Neighbour {
            dev: owner.1,
            ip: sip,
            owner: asker,
            proxy: false,
            confirmed: None,
            fails_at: None,
        };
        let theirs = &mut self.state.neigh[owner.0];
        match theirs.iter_mut().find(|n| n.dev == owner.1 && n.ip == sip) {
            // neigh_update: a valid entry keeps its state (and timers) when
            // the address is the same.
            Some(n) if n.owner == learnt.owner && n.state(now) != Nud::Failed => {}
            Some(n) => *n = learnt,
            None => theirs.push(learnt),
        }
    }

    /// The other hosts that answered the ARP request just asked (their
    /// answers came later and were not kept): the step names them, and
    /// each learnt the asker from the request, as the first did.
    fn answered_too(&mut self, host: usize, dev: &str, sip: Ipv4Addr, also: &[(usize, usize)]) {
        let labels: Vec<String> = also.iter().map(|o| self.world.label(o.0, o.1)).collect();
        let asked = match self.steps.last_mut().map(|s| &mut s.kind) {
            Some(StepKind::Arp {
                cached: None | Some(Nud::Failed),
                answered_too,
                ..
            }) => {
                *answered_too = labels;
                true
            }
            _ => false,
        };
        if let (true, Some(di)) = (asked, self.world.hosts[host].dev(dev)) {
            for &o in also {
                self.learn_asker(o, (host, di), sip);
            }
        }
    }

    /// The step of a neighbour resolution of `target` on `dev`.
    #[allow(clippy::too_many_arguments)]
    fn arp(
        &mut self,
        host: usize,
        dev: &str,
        target: Ipv4Addr,
        by: Option<(usize, usize)>,
        proxy: bool,
        cached: Option<Nud>,
        pkt: &Packet,
    ) {
        let answered_by = by.map(|(h, d)| self.world.label(h, d));
        self.step(
            host,
            Layer::Link,
            StepKind::Arp {
                dev: dev.into(),
                target,
                answered_by,
                answered_too: Vec::new(),
                proxy,
                cached,
            },
            pkt,
        );
    }

    /// Transmits on `dev` to the neighbour `to` (another namespace's device).
    /// Crossing namespaces scrubs the skb's metadata: the mark is not kept.
    fn hand_over(
        &mut self,
        host: usize,
        dev: &str,
        next_hop: Ipv4Addr,
        to: (usize, usize),
        pkt: Packet,
    ) -> Next {
        self.hand_over_to(host, dev, next_hop, to, pkt, None)
    }

    /// [`Walker::hand_over`] of a frame addressed to `frame_to` (a pod
    /// behind the bridge that `to` is a port of, and its port).
    fn hand_over_to(
        &mut self,
        host: usize,
        dev: &str,
        next_hop: Ipv4Addr,
        to: (usize, usize),
        mut pkt: Packet,
        frame_to: Option<((usize, usize), usize)>,
    ) -> Next {
        self.transmit_step(host, dev, Some(next_hop), &pkt);
        pkt.mark = 0;
        self.socket = None;
        Next::Receive {
            host: to.0,
            dev: to.1,
            from: Some(format!("{}/{dev}", self.ns(host))),
            pkt,
            frame_to,
        }
    }

    /// Local delivery: INPUT hooks, then a socket (or tunl0 for IPIP, a
    /// VXLAN device for its UDP port and VNI).
    fn local_in(&mut self, host: usize, mut pkt: Packet, mut ct: Ct) -> Next {
        if let Some(n) = self.hook(host, Hook::Input, &mut pkt, &mut ct) {
            return n;
        }
        if let Some(n) = self.ct_confirm(host, &mut ct, &pkt) {
            return n;
        }
        let world = self.world;
        let h = &world.hosts[host];
        if let Some(o) = pkt.outer.first() {
            // The device that takes the encapsulated packet: a VXLAN device
            // for its UDP port and VNI, or tunl0 for IPIP.
            let (tun, what) = match &o.vxlan {
                Some(v) => (
                    h.devs.iter().position(|d| {
                        matches!(&d.spec.kind, DeviceKind::Vxlan { vni, port, .. } if *vni == v.vni && *port == v.dst_port)
                    }),
                    format!("VXLAN {}", v.vni),
                ),
                None => (
                    h.devs.iter().position(|d| d.spec.kind == DeviceKind::Ipip),
                    "IPIP".to_string(),
                ),
            };
            let Some(tun) = tun else {
                let (resp, detail) = match o.vxlan.clone() {
                    Some(v) => {
                        // A VXLAN socket on the port drops a VNI it does not
                        // serve silently; with no socket, the port is
                        // unreachable.
                        let listening = h.devs.iter().any(|d| {
                            matches!(&d.spec.kind, DeviceKind::Vxlan { port, .. } if *port == v.dst_port)
                        });
                        let resp = (!listening)
                            .then(|| {
                                self.icmp_error(host, &pkt, icmp::DEST_UNREACH, icmp::PORT_UNREACH)
                            })
                            .flatten();
                        let detail = format!(
                            "no VXLAN device here serves UDP port {} with VNI {}",
                            v.dst_port, v.vni
                        );
                        (resp, detail)
                    }
                    None => (
                        self.icmp_error(host, &pkt, icmp::DEST_UNREACH, icmp::PROT_UNREACH),
                        "protocol 4 (IPIP) is not handled here".to_string(),
                    ),
                };
                let attached = self.attach(host, &ct);
                return self.refuse(host, DropReason::NoTunnel, detail, resp, attached, &pkt);
            };
            let outer = pkt.outer.remove(0);
            let name = h.devs[tun].spec.name.clone();
            self.step(
                host,
                Layer::Network,
                StepKind::Decap {
                    dev: name,
                    outer: outer.clone(),
                },
                &pkt,
            );
            return Next::Receive {
                host,
                dev: tun,
                from: Some(format!("{} ({what})", outer.src)),
                pkt,
                frame_to: None,
            };
        }
        // A VXLAN device's kernel socket holds its UDP port on every
        // address (measured on Linux 6.18: `ss -uan` lists 0.0.0.0:8472):
        // a datagram with no VXLAN header is taken in and dropped, with no
        // port unreachable.
        if let Transport::Udp { dst_port, .. } = &pkt.transport {
            let vxlan = h.devs.iter().find(
                |d| matches!(&d.spec.kind, DeviceKind::Vxlan { port, .. } if port == dst_port),
            );
            if let Some(d) = vxlan {
                let detail = format!(
                    "{}'s socket holds UDP port {dst_port} on every address, and this datagram is no VXLAN packet: it is taken in and dropped, unanswered",
                    d.spec.name
                );
                return self.drop(host, DropReason::NoTunnel, detail, None, &pkt.clone());
            }
        }
        if let Transport::Icmp {
            icmp_type,
            code,
            quoted: Some(q),
            ..
        } = &pkt.transport
        {
            if icmp::is_error(*icmp_type) {
                let (t, c, q) = (*icmp_type, *code, (**q).clone());
                return self.error_to_socket(host, pkt, t, c, &q);
            }
        }
        let ip = &pkt.ip;
        let (proto, sport, dport) = match &pkt.transport {
            Transport::Icmp { id, .. } => (ip.protocol, *id, *id),
            t => {
                let (s, d) = t.ports().unwrap_or((0, 0));
                (ip.protocol, s, d)
            }
        };
        // The socket that takes it: one of this host's sockets waiting for
        // an answer, the kernel's echo responder, or a listener.
        let (echo, echo_reply) = match pkt.transport {
            Transport::Icmp { icmp_type, .. } => (
                icmp_type == icmp::ECHO_REQUEST,
                icmp_type == icmp::ECHO_REPLY,
            ),
            _ => (false, false),
        };
        // (A SYN is no answer: it opens the connection anew, for the
        // listener, whatever these ports did before.)
        let syn_only = matches!(&pkt.transport, Transport::Tcp { flags, .. } if flags.syn && !flags.ack && !flags.rst);
        let answer = !syn_only
            && self.state.conns[host].iter().any(|c| {
                c.proto == proto
                    && c.local == ip.dst
                    && c.lport == dport
                    && c.remote == ip.src
                    && c.rport == sport
                    && !echo
            });
        // A ping socket takes an echo-reply by its identifier and address
        // alone (ping_lookup), from wherever it comes.
        let pinged = echo_reply
            .then(|| {
                (self.state.conns[host].iter())
                    .find(|c| c.proto == Proto::Icmp && c.local == ip.dst && c.lport == dport)
            })
            .flatten()
            .filter(|c| c.remote != ip.src)
            .map(|c| c.remote);
        let listener =
            h.spec.listeners.iter().find(|l| {
                l.proto == proto && l.port == dport && l.addr.is_none_or(|a| a == ip.dst)
            });
        // A listening TCP socket takes a SYN as a new connection; any other
        // segment must belong to a connection it accepted, or TCP answers
        // it with a reset (RFC 793, "reset generation").
        let tcp_flags = match &pkt.transport {
            Transport::Tcp { flags, .. } => Some(*flags),
            _ => None,
        };
        let conn = Conn {
            proto,
            local: ip.dst,
            lport: dport,
            remote: ip.src,
            rport: sport,
        };
        // A SYN of an established connection reaches that connection's
        // socket, not the listener: TCP answers it with a challenge ACK
        // (RFC 5961, tcp_send_challenge_ack) and the connection goes on.
        let open = (self.state.heard[host].iter()).any(|h| h.conn == conn && !h.closed);
        let connected = self.state.connected[host].contains(&conn);
        // A connection's socket takes a reset only at the exact sequence
        // number it expects next (rcv_nxt): RFC 5961, tcp_validate_incoming.
        // Past it (within the window) it answers with a challenge ACK;
        // before it, the reset is outside the window and discarded.
        // Once the peer's FIN came (CLOSE_WAIT, LAST_ACK, CLOSING), the
        // FIN's own number is taken too (tcp_reset_check); in TIME_WAIT
        // only the exact number, any other is dropped silently
        // (tcp_timewait_state_process); past the window (64 KiB here),
        // silently as well.
        // (None: taken; Ok: challenged; Err: discarded, and why.)
        let rst_off = match &pkt.transport {
            Transport::Tcp { flags, seq, .. } if flags.rst && connected => (self.state.heard[host]
                .iter())
            .find(|h| h.conn == conn && !h.closed)
            .and_then(|h| {
                let off = seq.wrapping_sub(h.received);
                let numbers = (*seq, h.received);
                if off == 0 || (h.fin_in && !h.fin_first && off == u32::MAX) {
                    None
                } else if (off as i32) < 0 {
                    Some(Err((numbers, "is before it, outside the receive window")))
                } else if off > RCV_WINDOW {
                    Some(Err((numbers, "is past its receive window (64 KiB here)")))
                } else if h.fin_in && h.fin_first {
                    Some(Err((numbers, "is not exact, and in TIME_WAIT the socket takes only a reset at that number and drops any other without an answer")))
                } else {
                    Some(Ok(numbers))
                }
            }),
            _ => None,
        };
        if let Some(Err(((seq, next), why))) = rst_off {
            let detail = format!(
                "the tcp socket {}:{dport} ← {}:{sport} expects sequence number {next} next: a reset with {seq} {why}, and TCP discards it (RFC 5961); the connection goes on",
                ip.dst, ip.src
            );
            return self.drop(host, DropReason::OutOfWindow, detail, None, &pkt.clone());
        }
        let challenge = ((syn_only && open && connected) || rst_off.is_some())
            .then(|| self.challenge_ack(host, &pkt, conn));
        if let (false, None, Some(_), Some(f)) = (answer, &challenge, listener, tcp_flags) {
            let accepted = &mut self.state.accepted[host];
            if f.syn && !f.ack {
                if !accepted.contains(&conn) {
                    accepted.push(conn);
                }
                // Half-open again (SYN_RECV), until the handshake's ACK.
                self.state.connected[host].retain(|c| *c != conn);
            } else if f.rst && accepted.contains(&conn) {
                // The reset ends the connection: a later segment of it
                // without a SYN is answered with a reset.
                accepted.retain(|c| *c != conn);
            } else if !accepted.contains(&conn) {
                // In LISTEN (RFC 793): an RST is ignored, an ACK is answered
                // with a reset, anything else is dropped.
                let resp = if f.ack && !f.rst {
                    self.tcp_rst(&pkt)
                } else {
                    None
                };
                let answer = if resp.is_some() {
                    "answered with a reset"
                } else {
                    "dropped without an answer"
                };
                let detail = format!(
                    "no connection {}:{dport} ← {}:{sport} on the socket listening on port {dport}: {f} without a SYN before it is {answer}",
                    ip.dst, ip.src
                );
                return self.drop(host, DropReason::NoConnection, detail, resp, &pkt.clone());
            }
        }
        // A socket connecting (SYN_SENT) takes only the answer to its SYN:
        // an ACK of anything else is answered with a reset (RFC 793), as a
        // restarted client answers its old connection's challenge ACK.
        if let (true, Some(f)) = (answer, tcp_flags) {
            let server = self.state.accepted[host].contains(&conn);
            if f.ack && !f.syn && !f.rst && !server && !self.state.connected[host].contains(&conn) {
                let resp = self.tcp_rst(&pkt);
                let detail = format!(
                    "the tcp socket {}:{dport} is connecting to {}:{sport} (SYN_SENT): an ACK that does not answer its SYN is answered with a reset (RFC 793), which ends the other side's old connection",
                    ip.dst, ip.src
                );
                return self.drop(host, DropReason::NoConnection, detail, resp, &pkt.clone());
            }
        }
        let socket = if let Some(Ok((seq, next))) = rst_off {
            Some(format!(
                "the connection's socket {}:{dport} ← {}:{sport}, which expects sequence number {next} next: a reset with {seq}, within the window but not exact, may be forged, so TCP answers it with a challenge ACK (RFC 5961; the peer, if it really reset, sends its RST again at {next}) and the connection goes on",
                ip.dst, ip.src
            ))
        } else if challenge.is_some() {
            Some(format!(
                "the established connection's socket {}:{dport} ← {}:{sport}, not the listener: TCP answers a SYN there with a challenge ACK (RFC 5961: the ACK it would send anyway, with its own sequence numbers; a peer that really restarted answers that with a RST), and the connection goes on",
                ip.dst, ip.src
            ))
        } else if answer && proto == Proto::Icmp {
            Some(format!(
                "the ping socket (echo id {dport}) that sent to {}",
                ip.src
            ))
        } else if let Some(to) = pinged {
            Some(format!(
                "the ping socket (echo id {dport}) that sent to {to}, though this reply comes from {}: ping reports it as from there",
                ip.src
            ))
        } else if answer {
            let mut s = format!(
                "the {proto} socket {}:{dport} that sent to {}:{sport}",
                ip.dst, ip.src
            );
            let connected = self.state.connected[host].contains(&conn);
            // A connection its listener took (it answered a SYN), not one
            // it opened.
            let server = self.state.accepted[host].contains(&conn);
            match tcp_flags {
                // tcp_reset: ECONNREFUSED only in SYN_SENT; a request
                // not yet accepted (SYN_RECV) just goes (measured on Linux
                // 6.18: an accepted connection's socket got ECONNRESET,
                // EPIPE in CLOSE_WAIT).
                Some(f) if f.rst => {
                    let peer_closed =
                        (self.state.heard[host].iter()).any(|h| h.conn == conn && h.fin_in);
                    s.push_str(match (connected, server) {
                        (true, _) if peer_closed => ": the reset ends the connection (the peer had closed its side: recv() reads the end of the stream, and the next send() fails with EPIPE)",
                        (true, _) => ": the reset ends the connection (the next call fails with ECONNRESET, Connection reset by peer)",
                        (false, true) => ": the reset drops the half-open connection (SYN_RECV) from the listener's queue: accept() never returns it",
                        (false, false) => ": the reset refuses the connection (connect() fails with ECONNREFUSED, Connection refused)",
                    });
                    self.state.conns[host].retain(|c| *c != conn);
                    self.state.connected[host].retain(|c| *c != conn);
                    self.state.accepted[host].retain(|c| *c != conn);
                    self.state.heard[host].retain(|h| h.conn != conn);
                }
                // The answer to its SYN: the socket's connection is up.
                Some(f) if f.syn && f.ack && !connected => self.state.connected[host].push(conn),
                // The handshake's last ACK: the listener's connection is
                // up (accept() returns it).
                Some(f) if server && f.ack && !f.syn && !connected => {
                    self.state.connected[host].push(conn)
                }
                _ => {}
            }
            Some(s)
        } else if echo {
            Some("the kernel's ICMP echo responder (answers with an echo reply)".to_string())
        } else {
            listener.map(|l| {
                let addr = l
                    .addr
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "0.0.0.0".into());
                let process = l
                    .process
                    .as_ref()
                    .map(|p| format!(", held by {p}"))
                    .unwrap_or_default();
                format!("{proto} listening on {addr}:{}{process}", l.port)
            })
        };
        match socket {
            Some(socket) => {
                if let (Transport::Tcp { flags, ack, .. }, None) = (&pkt.transport, &challenge) {
                    self.heard(host, conn, *flags, *ack, pkt.seq_after().unwrap_or(0));
                }
                self.step(
                    host,
                    Layer::Transport,
                    StepKind::Deliver {
                        socket: socket.clone(),
                        answer: challenge.map(Box::new),
                    },
                    &pkt,
                );
                Next::Done(Verdict::Delivered {
                    ns: h.name().to_string(),
                    socket,
                })
            }
            None => {
                let resp = match proto {
                    Proto::Tcp => self.tcp_rst(&pkt),
                    Proto::Udp => {
                        self.icmp_error(host, &pkt, icmp::DEST_UNREACH, icmp::PORT_UNREACH)
                    }
                    _ => None,
                };
                let reason = match proto {
                    Proto::Icmp => DropReason::NoPingSocket,
                    _ => DropReason::NoListener,
                };
                let detail = match &pkt.transport {
                    Transport::Icmp {
                        icmp_type, code, ..
                    } => format!(
                        "no socket on {} waits for this {} (echo id {dport}) from {}: the kernel drops it",
                        ip.dst,
                        icmp::name(*icmp_type, *code),
                        ip.src
                    ),
                    _ => format!("nothing listens on {} port {} of {}", proto, dport, ip.dst),
                };
                // An ICMP error carries the connection; TCP's reset
                // (tcp_v4_send_reset) does not.
                let attached = match proto {
                    Proto::Udp => self.attach(host, &ct),
                    _ => None,
                };
                self.refuse(host, reason, detail, resp, attached, &pkt)
            }
        }
    }

    /// A fragmentation needed reached a socket of `host`: the host learns
    /// the MTU it names for `dst` (`__ip_rt_update_pmtu`: never below
    /// 552, and only lower than one it holds). What it learnt, in words
    /// to follow the socket's.
    fn learn_mtu(&mut self, host: usize, dst: Ipv4Addr, pkt: &Packet) -> String {
        let Transport::Icmp { seq, .. } = pkt.transport else {
            return String::new();
        };
        let Some(route) = self.world.hosts[host].routes.lookup(dst).route else {
            return String::new();
        };
        let name = self.ns(host).to_string();
        let (now, left) = self.path_mtu(host, &route, dst);
        let mtu = u32::from(seq);
        // No MTU named, one larger than the path's, or a route under
        // `mtu lock`: nothing learnt. The same, learnt less than 5
        // minutes ago: kept as it is.
        if seq == 0 || route.mtu_lock || mtu > now {
            return String::new();
        }
        if let (true, Some(left)) = (mtu == now, left.filter(|l| *l > PMTU_EXPIRES / 2)) {
            return format!(
                "; {name} keeps {mtu} as the path MTU to {dst} as it had it ({})",
                cache_words(mtu, left)
            );
        }
        let (locked, mtu) = (mtu < MIN_PMTU, mtu.max(MIN_PMTU));
        let at = self.state.clock;
        let list = &mut self.state.pmtu[host];
        list.retain(|l| l.dst != dst);
        list.push(Learnt {
            dst,
            mtu,
            at,
            locked,
        });
        let lock = match locked {
            true => format!(" (named {seq}, under the least it takes: its packets there leave without Don't Fragment)"),
            false => String::new(),
        };
        format!(
            "; {name} keeps {mtu} as the path MTU to {dst}{lock} for 10 minutes, for every socket ({})",
            cache_words(mtu, PMTU_EXPIRES)
        )
    }

    /// The MTU a packet to `dst` by `route` must fit on `host`: the
    /// route's (or its device's), or a lower path MTU the host learnt for
    /// `dst` (not under `mtu lock`), with the seconds it has left.
    fn path_mtu(
        &self,
        host: usize,
        route: &crate::engine::route::Route,
        dst: Ipv4Addr,
    ) -> (u32, Option<u64>) {
        let mtu = self.world.hosts[host].route_mtu(route);
        match self.state.learnt_mtu(host, dst) {
            Some((m, left)) if m < mtu && !route.mtu_lock => (m, Some(left)),
            _ => (mtu, None),
        }
    }

    /// Whose MTU [`Self::path_mtu`] gave, in words.
    fn whose_mtu(
        route: &crate::engine::route::Route,
        dst: Ipv4Addr,
        (mtu, left): (u32, Option<u64>),
    ) -> String {
        match (left, route.mtu) {
            (Some(left), _) => format!(
                "the path MTU {mtu} learnt for {dst} from an ICMP fragmentation needed ({})",
                cache_words(mtu, left)
            ),
            (None, Some(_)) => format!("the route to {}'s mtu {mtu}", route.dst),
            (None, None) => format!("{}'s MTU {mtu}", route.dev.as_deref().unwrap_or("?")),
        }
    }

    /// An ICMP error reaches the socket that sent the packet it quotes
    /// (`icmp_socket_deliver`): what that socket makes of it.
    fn error_to_socket(&mut self, host: usize, pkt: Packet, t: u8, code: u8, q: &Quoted) -> Next {
        let proto = q.ip.protocol;
        let sender = self.state.conns[host].iter().copied().find(|c| {
            c.proto == proto
                && c.local == q.ip.src
                && c.lport == q.src_port
                && c.remote == q.ip.dst
                && (proto == Proto::Icmp || c.rport == q.dst_port)
        });
        let sent = sender.is_some();
        let what = format!("ICMP {}", icmp::name(t, code));
        if !sent {
            let detail = format!(
                "{what} about {proto} {}:{} → {}:{}",
                q.ip.src, q.src_port, q.ip.dst, q.dst_port
            );
            return self.drop(host, DropReason::NoSender, detail, None, &pkt);
        }
        let (errno, text, fatal) = icmp::errno(t, code);
        let connected = sender.is_some_and(|c| self.state.connected[host].contains(&c));
        // A connection the listener took and has not seen the handshake's
        // last ACK of (SYN_RECV): no socket yet. tcp_req_err drops it for
        // net or host unreachable, time exceeded or a parameter problem,
        // and ignores the rest (measured on Linux 6.18: ListenDrops went
        // up, accept() never returned it).
        let half_open =
            !connected && sender.is_some_and(|c| self.state.accepted[host].contains(&c));
        let aborts = t == icmp::TIME_EXCEEDED
            || t == icmp::PARAM_PROBLEM
            || (t == icmp::DEST_UNREACH && code <= icmp::HOST_UNREACH);
        // tcp_v4_err takes fragmentation needed as news of the path's MTU,
        // never as a failure; the host learns it ([`Self::learn_mtu`]),
        // but not from a half-open connection's (tcp_req_err).
        let mtu_news = proto == Proto::Tcp && t == icmp::DEST_UNREACH && code == icmp::FRAG_NEEDED;
        let learnt = match (t, code) {
            (icmp::DEST_UNREACH, icmp::FRAG_NEEDED) if !half_open => {
                self.learn_mtu(host, q.ip.dst, &pkt)
            }
            _ => String::new(),
        };
        if let (Proto::Tcp, false, Some(c), false) = (proto, connected, sender, mtu_news) {
            if !half_open || aborts {
                // connect() fails, or the request goes: the socket is
                // closed (tcp_done).
                self.state.conns[host].retain(|x| *x != c);
                self.state.accepted[host].retain(|x| *x != c);
            }
        }
        let from = pkt.ip.src;
        let socket = match proto {
            Proto::Icmp => format!(
                "ping (echo id {}), which prints \"From {from} … {}\"{learnt}",
                q.src_port,
                icmp::ping_says(t, code)
            ),
            Proto::Tcp if mtu_news => format!(
                "the tcp socket {}:{} that sent to {}:{}: TCP takes {what} as news of the path's MTU{} and sends smaller segments (path MTU discovery){learnt}; the connection goes on",
                q.ip.src, q.src_port, q.ip.dst, q.dst_port, next_hop_mtu(&pkt)
            ),
            Proto::Udp if t == icmp::DEST_UNREACH && code == icmp::FRAG_NEEDED => format!(
                "the udp socket {}:{} that sent to {}:{}: the kernel learns the path's MTU{}{learnt}; a connected socket's next send fails with EMSGSIZE (Message too long), and larger datagrams leave in fragments from then on (measured on Linux 6.18)",
                q.ip.src, q.src_port, q.ip.dst, q.dst_port, next_hop_mtu(&pkt)
            ),
            Proto::Tcp if half_open && aborts => format!(
                "the listening socket's half-open connection {}:{} ← {}:{} (SYN_RECV): {what} drops it from the listener's queue, so accept() never returns it (tcp_req_err; counted as ListenDrops)",
                q.ip.src, q.src_port, q.ip.dst, q.dst_port
            ),
            Proto::Tcp if half_open => format!(
                "the listening socket's half-open connection {}:{} ← {}:{} (SYN_RECV): TCP takes no note of {what} there, and sends its SYN-ACK again",
                q.ip.src, q.src_port, q.ip.dst, q.dst_port
            ),
            Proto::Tcp if connected => format!(
                "the tcp socket {}:{} that sent to {}:{}: on an established connection TCP takes {what} as a soft error ({errno}) and goes on retransmitting; it reports it only if it gives up",
                q.ip.src, q.src_port, q.ip.dst, q.dst_port
            ),
            Proto::Tcp => format!(
                "the tcp socket {}:{} that sent to {}:{}: its connect() fails with {errno} ({text})",
                q.ip.src, q.src_port, q.ip.dst, q.dst_port
            ),
            _ if fatal => format!(
                "the {proto} socket {}:{} that sent to {}:{}: if it is connected, its next send or receive fails with {errno} ({text}); an unconnected one hears of it only with IP_RECVERR",
                q.ip.src, q.src_port, q.ip.dst, q.dst_port
            ),
            _ => format!(
                "the {proto} socket {}:{} that sent to {}:{}: it hears of {what} ({errno}) only with IP_RECVERR set",
                q.ip.src, q.src_port, q.ip.dst, q.dst_port
            ),
        };
        self.step(
            host,
            Layer::Transport,
            StepKind::Deliver {
                socket: socket.clone(),
                answer: None,
            },
            &pkt,
        );
        Next::Done(Verdict::Delivered {
            ns: self.ns(host).to_string(),
            socket,
        })
    }

    fn reject_response(&mut self, host: usize, pkt: &Packet, with: RejectWith) -> Option<Packet> {
        match with {
            RejectWith::TcpReset => self.tcp_rst(pkt),
            RejectWith::Icmp(code) => self.icmp_error(host, pkt, icmp::DEST_UNREACH, code),
        }
    }

    /// An ICMP error about `pkt`, as `host` would send it back; none about
    /// an ICMP error (RFC 1122 3.2.2).
    fn icmp_error(&mut self, host: usize, pkt: &Packet, t: u8, code: u8) -> Option<Packet> {
        if let Some(Transport::Icmp { icmp_type, .. }) = pkt.head_transport().as_deref() {
            if icmp::is_error(*icmp_type) {
                return None;
            }
        }
        let head = pkt.head().clone();
        // icmpv4_xrlim_allow: errors to another host pass its rate limit,
        // once icmp_send has found a route to it (without one, refuse()
        // says so, and no token is spent).
        let h = &self.world.hosts[host];
        // icmpv4_mask_allow: fragmentation needed is never held back
        // ("Don't limit PMTU discovery").
        let pmtu = (t, code) == (icmp::DEST_UNREACH, icmp::FRAG_NEEDED);
        if !h.owns(head.src)
            && !pmtu
            && self.routes_to(host, head.src)
            && !self.state.icmp_allowed(host, head.src)
        {
            let ns = self.ns(host);
            let redirected = self.steps.iter().any(|s| {
                s.ns == ns
                    && matches!(s.kind, StepKind::Redirect { to, holds_errors: true, .. } if to == head.src)
            });
            let (errno, text, _) = icmp::errno(t, code);
            let unheard = match head.protocol {
                Proto::Tcp => format!(
                    "{}, where the error would have failed it with {errno} ({text})",
                    unheard(Proto::Tcp)
                ),
                Proto::Udp => format!("a connected socket would have had {errno} ({text})"),
                p => unheard(p).to_string(),
            };
            self.held_back = Some(format!(
                "no ICMP {} goes back: the ICMP rate limit for {} holds it (icmp_ratelimit: one error a second per host{}); the sender hears nothing: {unheard} (measured on Linux 6.18)",
                icmp::name(t, code),
                head.src,
                if redirected {
                    ", and the redirect just now set its clock"
                } else {
                    ""
                }
            ));
            return None;
        }
        let h = &self.world.hosts[host];
        let src = if h.owns(head.dst) {
            head.dst
        } else {
            // icmp_route_lookup: an ICMP packet of the host's own.
            let d = h.routes.route_for(&crate::engine::policy::Flow {
                proto: 1,
                ..crate::engine::policy::Flow::to(head.src)
            });
            d.route
                .and_then(|r| r.src.or_else(|| h.select_src(r.dev.as_deref()?, r.via)))
                .or_else(|| h.select_src("", None))
                .unwrap_or(head.dst)
        };
        let (sp, dp) = pkt.head_transport().map_or((0, 0), |t| conntrack::keys(&t));
        // icmp_send quotes as much of the packet as fits in 576 bytes.
        let quoted_len = head.total_len.min(576 - 28);
        let mut p = Packet {
            outer: Vec::new(),
            ip: Ipv4Header {
                src,
                dst: head.src,
                ttl: 64,
                protocol: Proto::Icmp,
                id: 0,
                df: false,
                total_len: 0,
                vxlan: None,
            },
            transport: Transport::Icmp {
                icmp_type: t,
                code,
                id: 0,
                seq: 0,
                quoted: Some(Box::new(Quoted {
                    ip: head,
                    src_port: sp,
                    dst_port: dp,
                })),
            },
            payload_len: quoted_len,
            mark: 0,
            iif: None,
            oif: None,
            physin: None,
            physout: None,
        };
        p.fix_lengths();
        Some(p)
    }

    /// What a TCP segment delivered to the socket of `conn` tells it.
    fn heard(&mut self, host: usize, conn: Conn, flags: TcpFlags, ack: u32, end: u32) {
        let heard = &mut self.state.heard[host];
        if flags.rst {
            return;
        }
        let i = match heard.iter().position(|h| h.conn == conn) {
            Some(i) => i,
            None => {
                heard.push(Heard {
                    conn,
                    acked: 0,
                    received: end,
                    fin_in: false,
                    fin_out: false,
                    fin_first: false,
                    closed: false,
                });
                heard.len() - 1
            }
        };
        let h = &mut heard[i];
        // rcv_nxt never goes back (a retransmission ends earlier).
        if end.wrapping_sub(h.received) as i32 > 0 {
            h.received = end;
        }
        if flags.ack {
            h.acked = ack;
            h.closed |= h.fin_in && h.fin_out;
        }
        h.fin_in |= flags.fin;
    }

    /// The challenge ACK the socket of connection `conn` sends to the SYN
    /// `pkt`: from where its sequence stands, acknowledging what it has
    /// received (not the SYN).
    fn challenge_ack(&self, host: usize, pkt: &Packet, conn: Conn) -> Packet {
        let (seq, ack) = (self.state.heard[host].iter())
            .find(|h| h.conn == conn)
            .map_or((0, 0), |h| (h.acked, h.received));
        let flags = TcpFlags {
            ack: true,
            ..Default::default()
        };
        tcp_answer(pkt, flags, seq, ack)
    }

    /// The reset the kernel answers a TCP segment with (tcp_v4_send_reset):
    /// none to a RST; to a segment with ACK, a RST whose sequence number is
    /// that ACK; otherwise a RST-ACK acknowledging the segment.
    fn tcp_rst(&self, pkt: &Packet) -> Option<Packet> {
        let head = pkt.head_transport();
        let Some(Transport::Tcp {
            seq, ack, flags, ..
        }) = head.as_deref()
        else {
            return None;
        };
        if flags.rst {
            return None;
        }
        let (rst_seq, rst_ack, with_ack) = if flags.ack {
            (*ack, 0, false)
        } else {
            (0, pkt.seq_after().unwrap_or(*seq), true)
        };
        let flags = TcpFlags {
            rst: true,
            ack: with_ack,
            ..Default::default()
        };
        Some(tcp_answer(pkt, flags, rst_seq, rst_ack))
    }
}

/// A segment TCP sends back by itself (a reset, a challenge ACK) to the
/// head of `pkt`: addresses and ports swapped, no data.
fn tcp_answer(pkt: &Packet, flags: TcpFlags, seq: u32, ack: u32) -> Packet {
    let (sp, dp) = pkt.head_ports().unwrap_or((0, 0));
    let mut p = Packet {
        outer: Vec::new(),
        ip: Ipv4Header {
            src: pkt.head().dst,
            dst: pkt.head().src,
            ttl: 64,
            protocol: Proto::Tcp,
            id: 0,
            df: true,
            total_len: 0,
            vxlan: None,
        },
        transport: Transport::Tcp {
            src_port: dp,
            dst_port: sp,
            flags,
            seq,
            ack,
        },
        payload_len: 0,
        mark: 0,
        iif: None,
        oif: None,
        physin: None,
        physout: None,
    };
    p.fix_lengths();
    p
}

/// Why a rule of a collapsed run did not match, on request: the rule at
/// `rule` (from 1) of `chain` in `host`'s `table`, for the packet of a step.
pub fn explain_rule(
    world: &World,
    host: &str,
    table: TableName,
    chain: &str,
    rule: usize,
    pkt: &Packet,
) -> Result<Option<(String, String)>, String> {
    let hi = world.host(host).ok_or_else(|| format!("no host {host}"))?;
    let t = world.hosts[hi]
        .rules
        .as_ref()
        .and_then(|r| r.table(table))
        .ok_or_else(|| format!("{host} has no {table} table"))?;
    let c = t.chain(chain).ok_or_else(|| format!("no chain {chain}"))?;
    let r = c
        .rules
        .get(rule.wrapping_sub(1))
        .ok_or_else(|| format!("chain {chain} has no rule {rule}"))?;
    // (As for a new connection: the packet's own tuple, not confirmed.)
    let original = tuple_of(pkt);
    let facts = HostFacts {
        world,
        host: hi,
        ct_state: ctstate::NEW,
        ct_mark: Some(0),
        socket: None,
        ct_view: Some(eval::CtView {
            original,
            reply: invert(&original),
            reply_dir: false,
            status: 0,
            expires: 0,
        }),
    };
    Ok(eval::explain(r, pkt, &facts))
}
