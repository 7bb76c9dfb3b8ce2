//! Policy routing: the rules `ip rule` lists, which choose the routing
//! table a lookup consults (`fib_rules_lookup`). A namespace starts with
//! three: `0: from all lookup local`, `32766: from all lookup main` and
//! `32767: from all lookup default`.
//!
//! The rules travel in a host's routes text, as `ip rule` prints them
//! (`1536:\tfrom 10.0.97.30 lookup 2`), among its `ip route show table
//! all` lines. The lookup itself is [`crate::engine::route::RouteTable`]'s.

use crate::engine::error::ParseError;
use crate::engine::iptables::rule::parse_net;
use crate::engine::route::{TableId, TableWord};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;

/// What a rule does when its selector matches (`ip rule`'s action).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// `lookup TABLE`: consult the table; no route there (or a `throw`
    /// route) goes on with the next rule.
    Lookup(TableId),
    /// `goto PREF`: go on at the first rule of that priority.
    Goto(u32),
    /// `nop`: nothing; the next rule.
    Nop,
    /// `blackhole`: the lookup fails with EINVAL; the packet is discarded.
    Blackhole,
    /// `unreachable`: the lookup fails with ENETUNREACH.
    Unreachable,
    /// `prohibit`: the lookup fails with EACCES.
    Prohibit,
}

/// One `ip rule` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    pub pref: u32,
    /// `not`: the selector inverted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not: bool,
    /// `from PREFIX` (`from all`: 0.0.0.0/0).
    pub from: Ipv4Net,
    /// `to PREFIX`.
    pub to: Ipv4Net,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    /// `fwmark VALUE/MASK` (a mask of all ones when none is written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<(u32, u32)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uidrange: Option<(u32, u32)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipproto: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<(u16, u16)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<(u16, u16)>,
    pub action: RuleAction,
    /// `suppress_prefixlength N`: a route this rule's table gives with a
    /// prefix of N bits or fewer is not taken; the next rule is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_prefixlength: Option<u8>,
    /// Line in the routes text (0 for the rules a namespace starts with).
    #[serde(default)]
    pub line: usize,
}

/// What a route lookup knows of the packet (the kernel's `flowi4`).
#[derive(Clone, Copy, Debug)]
pub struct Flow<'a> {
    pub dst: Ipv4Addr,
    /// 0.0.0.0 when the lookup has no source (an unbound socket's first).
    pub src: Ipv4Addr,
    pub mark: u32,
    /// The device the packet came in on; `lo` for a host's own packet.
    pub iif: &'a str,
    /// The IP protocol number (0: not known).
    pub proto: u8,
    pub ports: Option<(u16, u16)>,
}

impl Flow<'_> {
    /// A lookup of `dst` alone, as a host's own packet without a source.
    pub fn to(dst: Ipv4Addr) -> Flow<'static> {
        Flow {
            dst,
            src: Ipv4Addr::UNSPECIFIED,
            mark: 0,
            iif: "lo",
            proto: 0,
            ports: None,
        }
    }
}

const ALL: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::UNSPECIFIED, 0);

/// The three rules of a new namespace.
pub static DEFAULT_RULES: [RoutingRule; 3] = [
    RoutingRule::new(0, RuleAction::Lookup(TableId::LOCAL)),
    RoutingRule::new(32766, RuleAction::Lookup(TableId::MAIN)),
    RoutingRule::new(32767, RuleAction::Lookup(TableId::DEFAULT)),
];

impl RoutingRule {
    /// Whether it takes every packet (`from all`, no other test, nothing
    /// set aside): what the rules a namespace starts with are.
    fn takes_all(&self) -> bool {
        let plain = RoutingRule::new(self.pref, self.action);
        RoutingRule {
            line: 0,
            ..self.clone()
        } == plain
    }

    const fn new(pref: u32, action: RuleAction) -> RoutingRule {
        RoutingRule {
            pref,
            not: false,
            from: ALL,
            to: ALL,
            tos: None,
            fwmark: None,
            iif: None,
            oif: None,
            uidrange: None,
            ipproto: None,
            sport: None,
            dport: None,
            action,
            suppress_prefixlength: None,
            line: 0,
        }
    }

    /// Whether the selector takes `f` (`fib_rule_match`, with `not`
    /// applied).
    pub fn takes(&self, f: &Flow) -> bool {
        self.failing(f).is_none() != self.not
    }

    /// [`RoutingRule::takes`], and why in words: the first test that
    /// failed (with `not`: held).
    pub fn matches(&self, f: &Flow) -> (bool, String) {
        let failed = self.failing(f).map(|t| self.words(t, f));
        match (failed, self.not) {
            (None, false) => (true, String::new()),
            (Some(why), false) => (false, why),
            (None, true) => (false, "its selector matches, and \"not\" inverts it".into()),
            (Some(why), true) => (true, format!("{why}, and \"not\" inverts it")),
        }
    }

    /// The first test of the selector that `f` fails.
    fn failing(&self, f: &Flow) -> Option<Test> {
        let port_out = |range: Option<(u16, u16)>, port: Option<u16>| {
            range.is_some_and(|(lo, hi)| !(lo..=hi).contains(&port.unwrap_or(0)))
        };
        Some(if !self.from.contains(&f.src) {
            Test::From
        } else if !self.to.contains(&f.dst) {
            Test::To
        } else if self.tos.is_some_and(|t| t != 0) {
            Test::Tos
        } else if self.fwmark.is_some_and(|(v, m)| (f.mark ^ v) & m != 0) {
            Test::Mark
        } else if self.iif.as_deref().is_some_and(|i| i != f.iif) {
            Test::Iif
        } else if self.oif.is_some() {
            Test::Oif
        } else if self.uidrange.is_some_and(|(lo, _)| lo > 0) {
            Test::Uid
        } else if self.ipproto.is_some_and(|p| p != f.proto) {
            Test::Proto
        } else if port_out(self.sport, f.ports.map(|p| p.0)) {
            Test::Sport
        } else if port_out(self.dport, f.ports.map(|p| p.1)) {
            Test::Dport
        } else {
            return None;
        })
    }

    /// Why test `t` failed for `f`, in words.
    fn words(&self, t: Test, f: &Flow) -> String {
        match t {
            Test::From if f.src.is_unspecified() => {
                format!("from {}: the lookup has no source yet", self.from)
            }
            Test::From => format!("the source {} is not in {}", f.src, self.from),
            Test::To => format!("the destination {} is not in {}", f.dst, self.to),
            Test::Tos => format!(
                "tos {:#04x}: the packet's TOS is 0 (Packet Walk sends every packet with TOS 0)",
                self.tos.unwrap_or(0)
            ),
            Test::Mark => {
                let (v, m) = self.fwmark.unwrap_or_default();
                format!(
                    "the packet's mark {:#x} under the mask {m:#x} is {:#x}, not {v:#x}",
                    f.mark,
                    f.mark & m
                )
            }
            Test::Iif => {
                let i = self.iif.as_deref().unwrap_or_default();
                if f.iif == "lo" {
                    format!("iif {i}: this host's own packet is looked up as from lo")
                } else {
                    format!("the packet came in on {}, not {i}", f.iif)
                }
            }
            Test::Oif => {
                let o = self.oif.as_deref().unwrap_or_default();
                format!("oif {o}: only a socket bound to {o} looks up with that output device")
            }
            Test::Uid => {
                let (lo, hi) = self.uidrange.unwrap_or_default();
                format!("uidrange {lo}-{hi}: the lookup's user is root (0) in Packet Walk")
            }
            Test::Proto => format!(
                "ipproto {}: the packet's protocol is {}",
                proto_name(self.ipproto.unwrap_or(0)),
                proto_name(f.proto)
            ),
            Test::Sport | Test::Dport => {
                let (which, (lo, hi), port) = if t == Test::Sport {
                    (
                        "sport",
                        self.sport.unwrap_or_default(),
                        f.ports.map(|p| p.0),
                    )
                } else {
                    (
                        "dport",
                        self.dport.unwrap_or_default(),
                        f.ports.map(|p| p.1),
                    )
                };
                format!(
                    "{which} {}: the packet's is {}",
                    range_text(lo, hi),
                    port.unwrap_or(0)
                )
            }
        }
    }
}

/// A test of a rule's selector.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Test {
    From,
    To,
    Tos,
    Mark,
    Iif,
    Oif,
    Uid,
    Proto,
    Sport,
    Dport,
}

fn range_text(lo: u16, hi: u16) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

fn proto_name(p: u8) -> String {
    match PROTOCOLS.iter().find(|(_, n)| *n == p) {
        Some((name, _)) => name.to_string(),
        None => p.to_string(),
    }
}

fn net_text(n: &Ipv4Net) -> String {
    if n.prefix_len() == 0 {
        "all".into()
    } else if n.prefix_len() == 32 {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

impl fmt::Display for RoutingRule {
    /// As `ip rule` prints it, with its priority (`1536:\tfrom 10.0.97.30
    /// lookup 2`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:\t", self.pref)?;
        if self.not {
            f.write_str("not ")?;
        }
        write!(f, "from {}", net_text(&self.from))?;
        if self.to.prefix_len() > 0 {
            write!(f, " to {}", net_text(&self.to))?;
        }
        if let Some(t) = self.tos {
            write!(f, " tos {t:#04x}")?;
        }
        if let Some((v, m)) = self.fwmark {
            if m == u32::MAX {
                write!(f, " fwmark {v:#x}")?;
            } else {
                write!(f, " fwmark {v:#x}/{m:#x}")?;
            }
        }
        if let Some(i) = &self.iif {
            write!(f, " iif {i}")?;
        }
        if let Some(o) = &self.oif {
            write!(f, " oif {o}")?;
        }
        if let Some((lo, hi)) = self.uidrange {
            write!(f, " uidrange {lo}-{hi}")?;
        }
        if let Some(p) = self.ipproto {
            write!(f, " ipproto {}", proto_name(p))?;
        }
        if let Some((lo, hi)) = self.sport {
            write!(f, " sport {}", range_text(lo, hi))?;
        }
        if let Some((lo, hi)) = self.dport {
            write!(f, " dport {}", range_text(lo, hi))?;
        }
        match self.action {
            RuleAction::Lookup(t) => write!(f, " lookup {}", t.name())?,
            RuleAction::Goto(p) => write!(f, " goto {p}")?,
            RuleAction::Nop => f.write_str(" nop")?,
            RuleAction::Blackhole => f.write_str(" blackhole")?,
            RuleAction::Unreachable => f.write_str(" unreachable")?,
            RuleAction::Prohibit => f.write_str(" prohibit")?,
        }
        if let Some(n) = self.suppress_prefixlength {
            write!(f, " suppress_prefixlength {n}")?;
        }
        Ok(())
    }
}

/// Whether a routes text's line is an `ip rule` line: it starts with its
/// priority and a colon.
pub fn is_rule_line(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .and_then(|w| w.strip_suffix(':'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

const KEYWORDS: &str = "not, from, to, tos, fwmark, iif, oif, uidrange, ipproto, sport, dport, lookup, goto, nop, blackhole, unreachable, prohibit, suppress_prefixlength";

/// `ipproto`'s names, as iproute2 prints them (from /etc/protocols).
const PROTOCOLS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("ipencap", 4),
    ("tcp", 6),
    ("udp", 17),
    ("ipv6", 41),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("ipv6-icmp", 58),
    ("ospf", 89),
    ("vrrp", 112),
    ("sctp", 132),
    ("udplite", 136),
];

/// Parses one `ip rule` line (`PREF:\tSELECTOR ACTION`), as `ip rule`
/// lists it.
pub fn parse_rule_line(line: &str, line_no: usize) -> Result<RoutingRule, ParseError> {
    let words: Vec<(usize, &str)> = (line.split_whitespace())
        .map(|w| (crate::engine::lex::offset_in(line, w).unwrap_or(0), w))
        .collect();
    // An error at word `k` (past the end: after the line).
    let err = |k: usize, msg: String| {
        let col = match words.get(k) {
            Some((at, _)) => crate::engine::lex::column(line, *at),
            None => crate::engine::lex::column(line, line.len()),
        };
        ParseError::new(line_no, col, msg)
    };
    let Some((_, first)) = words.first() else {
        return Err(err(
            0,
            "an ip rule line needs its priority (100: from …)".into(),
        ));
    };
    let pref_word = first.trim_end_matches(':');
    let pref: u32 = pref_word.parse().map_err(|_| {
        err(
            0,
            format!("rule priority {pref_word} is out of range: at most 4294967295"),
        )
    })?;
    let mut r = RoutingRule::new(pref, RuleAction::Nop);
    let mut action = None;
    let mut k = 1;
    while k < words.len() {
        let w = words[k].1;
        let value = |what: &str| -> Result<&str, ParseError> {
            words.get(k + 1).map(|x| x.1).ok_or_else(|| {
                err(k + 1, format!("\"{w}\" needs a value")).expected(what.to_string())
            })
        };
        let v_err = |msg: String| err(k + 1, msg);
        let net = |v: &str| -> Result<Ipv4Net, ParseError> {
            if v == "all" || v == "default" {
                return Ok(ALL);
            }
            Ok(parse_net(v).map_err(&v_err)?.trunc())
        };
        let mut step = 2;
        match w {
            "not" => {
                r.not = true;
                step = 1;
            }
            "from" => r.from = net(value("a prefix or \"all\"")?)?,
            "to" => r.to = net(value("a prefix or \"all\"")?)?,
            "tos" | "dsfield" => {
                let v = value("a TOS value such as 0x10")?;
                r.tos = Some(
                    parse_u32(v)
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| v_err(format!("\"{v}\" is not a TOS value (0 to 0xff)")))?,
                );
            }
            "fwmark" => {
                let v = value("a mark, as 0x80 or 0x80/0x80")?;
                let (m, mask) = v.split_once('/').unwrap_or((v, "0xffffffff"));
                let bad = || v_err(format!("\"{v}\" is not a mark (as 0x80 or 0x80/0x80)"));
                r.fwmark = Some((
                    parse_u32(m).ok_or_else(bad)?,
                    parse_u32(mask).ok_or_else(bad)?,
                ));
            }
            "iif" | "dev" => r.iif = Some(value("a device name")?.to_string()),
            "oif" => r.oif = Some(value("a device name")?.to_string()),
            "[detached]" | "unresolved" | "[unresolved]" => step = 1,
            "uidrange" => {
                let v = value("a range of user ids, as 1000-2000")?;
                let (a, b) = v.split_once('-').unwrap_or((v, v));
                match (a.parse(), b.parse()) {
                    (Ok(a), Ok(b)) if a <= b => r.uidrange = Some((a, b)),
                    _ => {
                        return Err(v_err(format!(
                            "\"{v}\" is not a range of user ids (as 1000-2000)"
                        )))
                    }
                }
            }
            "ipproto" => {
                let v = value("a protocol name (tcp, udp, icmp, gre…) or a number")?;
                r.ipproto = Some(match PROTOCOLS.iter().find(|(n, _)| *n == v) {
                    Some((_, p)) => *p,
                    None => v.parse().map_err(|_| {
                        v_err(format!("\"{v}\" is not an IP protocol")).expected(
                            PROTOCOLS
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                                + " or a number",
                        )
                    })?,
                });
            }
            "sport" | "dport" => {
                let v = value("a port or a range, as 1000-2000")?;
                let (a, b) = v.split_once('-').unwrap_or((v, v));
                let range = match (a.parse::<u16>(), b.parse::<u16>()) {
                    (Ok(a), Ok(b)) if a <= b => (a, b),
                    _ => return Err(v_err(format!("\"{v}\" is not a port or a range of ports"))),
                };
                if w == "sport" {
                    r.sport = Some(range);
                } else {
                    r.dport = Some(range);
                }
            }
            "lookup" | "table" => {
                let v = value("a table: local, main, default or a number")?;
                if v == "[l3mdev-table]" {
                    return Err(v_err("a VRF's rule (l3mdev) is not modelled".into()));
                }
                let t = TableId::parse(v).map_err(|why| {
                    v_err(match why {
                        TableWord::Name => format!("table \"{v}\" is not known: write local, main, default or the table's number (other names come from the node's /etc/iproute2/rt_tables, which Packet Walk does not have; ip -N rule prints numbers)"),
                        TableWord::Zero => format!("table {v}: the kernel gives such a rule a new, empty table, whose number ip rule then shows (lookup 1, 2…): write that number"),
                        TableWord::Invalid => TableId::invalid_words(v),
                    })
                })?;
                action = Some(RuleAction::Lookup(t));
            }
            "goto" => {
                let v = value("a rule priority")?;
                let p = v
                    .parse()
                    .map_err(|_| v_err(format!("\"{v}\" is not a rule priority")))?;
                if p <= pref {
                    return Err(v_err(format!("goto {p} does not go forward from rule {pref}: ip rule says \"Backward goto not supported.\" (a goto goes to a later priority)")));
                }
                action = Some(RuleAction::Goto(p));
            }
            "nop" | "blackhole" | "unreachable" | "prohibit" => {
                action = Some(match w {
                    "nop" => RuleAction::Nop,
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    _ => RuleAction::Prohibit,
                });
                step = 1;
            }
            "suppress_prefixlength" => {
                let v = value("a prefix length")?;
                r.suppress_prefixlength =
                    Some(v.parse::<u8>().ok().filter(|n| *n <= 32).ok_or_else(|| {
                        v_err(format!("\"{v}\" is not a prefix length (0 to 32)"))
                    })?);
            }
            "proto" | "realms" | "priority" | "pref" | "preference" => {
                value("a value")?;
            }
            "suppress_ifgroup" | "l3mdev" | "nat" | "map-to" | "flowlabel" | "dscp" => {
                return Err(err(k, format!("\"{w}\" in a rule is not modelled")));
            }
            _ => {
                return Err(
                    err(k, format!("unknown keyword \"{w}\" in an ip rule line"))
                        .expected(KEYWORDS),
                );
            }
        }
        k += step;
    }
    r.action = action.ok_or_else(|| {
        err(words.len(), "the rule has no action".into())
            .expected("lookup TABLE, goto PREF, nop, blackhole, unreachable or prohibit")
    })?;
    r.line = line_no;
    Ok(r)
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The rules a namespace starts with that `rules` do not list (a rule
/// that takes every packet into the same table, at any priority).
fn missing_defaults(rules: &[RoutingRule]) -> Vec<RoutingRule> {
    if rules.is_empty() {
        return Vec::new();
    }
    DEFAULT_RULES
        .iter()
        .filter(|d| !rules.iter().any(|r| r.takes_all() && r.action == d.action))
        .cloned()
        .collect()
}

/// The `ip rule` list the lookup walks, from a text's rule lines: sorted
/// by priority (rules of one priority in the order written, as the
/// kernel keeps the order they were added in), with the rules a
/// namespace starts with that the text leaves out (see
/// [`defaults_note`]).
pub fn listing(rules: Vec<RoutingRule>) -> Vec<RoutingRule> {
    // They were there first: at one priority, before the text's.
    let mut all = missing_defaults(&rules);
    all.extend(rules);
    all.sort_by_key(|r| r.pref);
    all
}

/// Says which of the rules a namespace starts with a routes text's rules
/// were joined by (empty when none).
pub fn defaults_note(text: &str) -> String {
    let rules: Vec<RoutingRule> = (text.lines().enumerate())
        .filter(|(_, l)| is_rule_line(l))
        .filter_map(|(i, l)| parse_rule_line(l.trim(), i + 1).ok())
        .collect();
    let added: Vec<String> = missing_defaults(&rules)
        .iter()
        .map(|r| match r.action {
            RuleAction::Lookup(t) => format!("{}: {}", r.pref, t.name()),
            _ => r.pref.to_string(),
        })
        .collect();
    match added.len() {
        0 => String::new(),
        n => format!(
            "ip rule: these rules join the {} every namespace has ({}), as after ip rule add",
            if n == 1 {
                "one".to_string()
            } else {
                n.to_string()
            },
            added.join(", ")
        ),
    }
}

/// `ip rule` output given for a host whose routes text is `routes`: the
/// routes text with its rule lines replaced by those of `rules`. None
/// when `rules` holds anything but rule lines (blank lines and comments
/// aside) or none at all: a listing of routes, which replaces the text.
pub fn with_rules_of(routes: &str, rules: &str) -> Option<String> {
    let lines: Vec<&str> = (rules.lines())
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    // (route -n text cannot hold them: the file replaces it.)
    let route_n = crate::engine::route_text::looks_like_route_n(routes);
    if route_n || lines.is_empty() || !lines.iter().all(|l| is_rule_line(l)) {
        return None;
    }
    let mut out: String = (routes.lines())
        .filter(|l| !is_rule_line(l))
        .flat_map(|l| [l, "\n"])
        .collect();
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::with_rules_of;
    use crate::engine::route::TableId;

    /// `ip rule` output alone joins a host's routes, in place of the rule
    /// lines it had; anything else is a listing of its own.
    #[test]
    fn rule_output_replaces_only_the_rule_lines() {
        let routes = "default via 10.0.0.1 dev eth0\n5:\tfrom all lookup 9\n10.0.0.0/24 dev eth0\n";
        assert_eq!(
            with_rules_of(routes, "0:\tfrom all lookup local\n\n1536:\tfrom 10.0.0.5 lookup 2\n").as_deref(),
            Some("default via 10.0.0.1 dev eth0\n10.0.0.0/24 dev eth0\n0:\tfrom all lookup local\n1536:\tfrom 10.0.0.5 lookup 2\n")
        );
        assert_eq!(
            with_rules_of(
                routes,
                "default via 10.0.0.2 dev eth0\n5:\tfrom all lookup 9\n"
            ),
            None
        );
        assert_eq!(with_rules_of(routes, "# nothing\n"), None);
    }

    /// The table a rule looks up: a number as ip reads it, or why not
    /// (ip rule add lookup 0, measured, makes a new empty table).
    #[test]
    fn a_rules_table_is_read_as_ip_reads_it() {
        for (line, table, said) in [
            ("100:\tfrom all lookup 0x10", Some(16), ""),
            ("100:\tfrom all lookup +7", Some(7), ""),
            ("100:\tfrom all lookup cali", None, "is not known"),
            ("100:\tfrom all lookup 0", None, "a new, empty table"),
            ("100:\tfrom all lookup 08", None, "as octal: write 8"),
            (
                "100:\tfrom all lookup 4294967296",
                None,
                "is not a number ip takes",
            ),
        ] {
            match super::parse_rule_line(line, 1) {
                Ok(r) => assert!(
                    r.action == super::RuleAction::Lookup(TableId(table.unwrap_or(0))),
                    "{line}: {r:?}"
                ),
                Err(e) => assert!(table.is_none() && e.message.contains(said), "{line}: {e:?}"),
            }
        }
    }

    /// A blank line given to the parser (a fuzzer's) is an error, not a
    /// panic.
    #[test]
    fn a_blank_rule_line_is_an_error() {
        for line in ["", "   ", "\t"] {
            let e = super::parse_rule_line(line, 3).unwrap_err();
            assert!(
                e.line == 3 && e.message.contains("needs its priority"),
                "{e:?}"
            );
        }
    }
}
