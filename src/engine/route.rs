//! Routing tables as `ip route` shows them, and the kernel's lookup:
//! the local table first, then main; within a table the longest prefix
//! wins, then the lowest metric, then the route listed first.
//!
//! Parsing and printing of `ip route` and `route -n` text live in
//! [`crate::engine::route_text`].

use crate::engine::policy::{Flow, RoutingRule, RuleAction};
use crate::engine::trace::{Candidate, RouteResult, RuleOutcome, RuleWeighed};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;

/// `ip route` route types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    Unicast,
    Local,
    Broadcast,
    Blackhole,
    Unreachable,
    Prohibit,
    /// The lookup goes on with the next `ip rule`, as if the table had no
    /// route.
    Throw,
}

impl RouteType {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteType::Unicast => "unicast",
            RouteType::Local => "local",
            RouteType::Broadcast => "broadcast",
            RouteType::Blackhole => "blackhole",
            RouteType::Unreachable => "unreachable",
            RouteType::Prohibit => "prohibit",
            RouteType::Throw => "throw",
        }
    }

    pub fn parse(s: &str) -> Option<RouteType> {
        Some(match s {
            "unicast" => RouteType::Unicast,
            "local" => RouteType::Local,
            "broadcast" => RouteType::Broadcast,
            "blackhole" => RouteType::Blackhole,
            "unreachable" => RouteType::Unreachable,
            "prohibit" => RouteType::Prohibit,
            "throw" => RouteType::Throw,
            _ => return None,
        })
    }
}

/// `scope` of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Global,
    Link,
    Host,
}

/// The routing table a route is in (`table local`, `table main`,
/// `table 2`): its number, as the kernel keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TableId(pub u32);

/// Why a word is not a table [`TableId::parse`] knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableWord {
    /// A name from the node's `/etc/iproute2/rt_tables`.
    Name,
    /// 0 (`unspec`): `ip route` puts the route in main, `ip rule` makes
    /// a new, empty table for the rule (both measured).
    Zero,
    /// A number `ip` refuses: too large (`-1` wraps to that), or not one
    /// (`08`, `5abc`).
    Invalid,
}

impl TableId {
    pub const LOCAL: TableId = TableId(255);
    pub const MAIN: TableId = TableId(254);
    pub const DEFAULT: TableId = TableId(253);

    /// A table as `ip` takes it: `local`, `main`, `default` or a number
    /// read as `strtoul` reads it (`0x10` is 16, `012` is 10, `+5` is 5,
    /// measured). Other names come from `/etc/iproute2/rt_tables`, which
    /// is not read: `Err(TableWord::Name)`; a word that starts with a digit
    /// or a sign is a number or wrong.
    pub fn parse(s: &str) -> Result<TableId, TableWord> {
        match s {
            "local" => Ok(TableId::LOCAL),
            "main" => Ok(TableId::MAIN),
            "default" => Ok(TableId::DEFAULT),
            _ if !s.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') => {
                Err(TableWord::Name)
            }
            _ => match crate::engine::text::strtoul(s) {
                Some(0) => Err(TableWord::Zero),
                Some(n) => Ok(TableId(n)),
                None => Err(TableWord::Invalid),
            },
        }
    }

    /// Why `ip` refuses a table word [`TableId::parse`] found
    /// [`TableWord::Invalid`].
    pub fn invalid_words(s: &str) -> String {
        let octal = s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit());
        let hint = if octal {
            format!(
                " (a leading 0 makes ip read it as octal: write {})",
                s.trim_start_matches('0')
            )
        } else {
            String::new()
        };
        format!("table \"{s}\" is not a number ip takes{hint}: write one from 1 to 4294967295, or main, local or default")
    }

    /// As `ip` prints it.
    pub fn name(self) -> String {
        match self {
            TableId::LOCAL => "local".into(),
            TableId::MAIN => "main".into(),
            TableId::DEFAULT => "default".into(),
            TableId(n) => n.to_string(),
        }
    }
}

/// One route, with the fields `ip route` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub kind: RouteType,
    pub dst: Ipv4Net,
    pub via: Option<Ipv4Addr>,
    pub dev: Option<String>,
    /// `proto kernel|static|bird|boot|…` (kept as written).
    pub proto: Option<String>,
    pub scope: Scope,
    pub src: Option<Ipv4Addr>,
    pub metric: u32,
    pub onlink: bool,
    pub linkdown: bool,
    pub table: TableId,
    /// `mtu N` (`mtu lock N` reads the same): packets leaving by this
    /// route must fit it, instead of the device's MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// `mtu lock N`: path MTU discovery may not lower it, and a host's own
    /// packets by this route leave without Don't Fragment
    /// (`ip_dont_fragment`; measured on Linux 6.18).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mtu_lock: bool,
    /// Line in the text it came from (0 when generated).
    pub line: usize,
}

/// What the kernel keeps one route of: destination, metric and table
/// (`ip route add` of a second says "File exists"). Connected routes the
/// kernel adds for two devices in one subnet differ by their device.
pub type RouteKey<'a> = (Ipv4Net, u32, TableId, Option<&'a str>);

impl Route {
    /// [`RouteKey`] of this route.
    pub fn key(&self) -> RouteKey<'_> {
        let kernel =
            (self.proto.as_deref() == Some("kernel")).then(|| self.dev.as_deref().unwrap_or(""));
        (self.dst, self.metric, self.table, kernel)
    }

    pub fn new(kind: RouteType, dst: Ipv4Net) -> Route {
        Route {
            kind,
            dst,
            via: None,
            dev: None,
            proto: None,
            scope: Scope::Global,
            src: None,
            metric: 0,
            onlink: false,
            linkdown: false,
            table: TableId::MAIN,
            mtu: None,
            mtu_lock: false,
            line: 0,
        }
    }
}

impl fmt::Display for Route {
    /// Prints the route as `ip route` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteType::Unicast {
            write!(f, "{} ", self.kind.as_str())?;
        }
        if self.dst.prefix_len() == 0 && self.kind == RouteType::Unicast {
            f.write_str("default")?;
        } else if self.dst.prefix_len() == 32 {
            write!(f, "{}", self.dst.addr())?;
        } else {
            write!(f, "{}", self.dst)?;
        }
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if self.table != TableId::MAIN {
            write!(f, " table {}", self.table.name())?;
        }
        if let Some(p) = &self.proto {
            write!(f, " proto {p}")?;
        }
        match self.scope {
            Scope::Global => {}
            Scope::Link => f.write_str(" scope link")?,
            Scope::Host => f.write_str(" scope host")?,
        }
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if self.metric != 0 {
            write!(f, " metric {}", self.metric)?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
        }
        if self.linkdown {
            f.write_str(" linkdown")?;
        }
        if let Some(m) = self.mtu {
            let lock = if self.mtu_lock { "lock " } else { "" };
            write!(f, " mtu {lock}{m}")?;
        }
        Ok(())
    }
}

/// The routes of one network namespace (`ip route show table all`), and
/// its `ip rule` list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub routes: Vec<Route>,
    /// `ip rule`, in the order the kernel walks them (by priority). Empty:
    /// the three a namespace starts with ([`crate::engine::policy::DEFAULT_RULES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RoutingRule>,
}

/// The result of a lookup: the route taken and the candidates weighed.
#[derive(Clone, Debug)]
pub struct Decision {
    pub route: Option<Route>,
    pub candidates: Vec<Candidate>,
    /// The `ip rule` lines walked, up to the one that decided (empty when
    /// the routes text has no rule lines).
    pub rules: Vec<RuleWeighed>,
    /// A rule whose action ended the lookup (`blackhole`, `unreachable`,
    /// `prohibit`), as `ip rule` prints it.
    pub by_rule: Option<(RuleAction, String)>,
}

impl Decision {
    pub fn result(&self) -> RouteResult {
        match (&self.route, &self.by_rule) {
            (_, Some((RuleAction::Blackhole, _))) => RouteResult::Blackhole,
            (_, Some((RuleAction::Prohibit, _))) => RouteResult::Prohibit,
            (None, _) | (_, Some(_)) => RouteResult::NoRoute,
            (Some(r), None) => match r.kind {
                RouteType::Local | RouteType::Broadcast => RouteResult::Local,
                RouteType::Blackhole => RouteResult::Blackhole,
                RouteType::Unreachable => RouteResult::Unreachable,
                RouteType::Prohibit => RouteResult::Prohibit,
                RouteType::Throw => RouteResult::NoRoute,
                RouteType::Unicast => RouteResult::Unicast {
                    dev: r.dev.clone().unwrap_or_default(),
                    via: r.via,
                    src: r.src,
                },
            },
        }
    }

    /// The drop reason of a lookup that found no route: an `unreachable`
    /// rule's, or none found.
    pub fn no_route_reason(&self) -> crate::engine::trace::DropReason {
        match self.by_rule {
            Some(_) => crate::engine::trace::DropReason::RuleUnreachable,
            None => crate::engine::trace::DropReason::NoRoute,
        }
    }

    /// Why no route was found, in words: `no route to 8.8.8.8`, or the
    /// `unreachable` rule that ended the lookup.
    pub fn no_route(&self, dst: Ipv4Addr) -> String {
        match &self.by_rule {
            Some((RuleAction::Unreachable, rule)) => format!(
                "rule {rule} ends the lookup for {dst}: network unreachable, as when no route is found"
            ),
            _ => format!("no route to {dst}"),
        }
    }
}

/// The best route of one table for the destination (the longest prefix,
/// then the lowest metric, then the one listed first).
fn best_of<'a>(containing: &[&'a Route], t: TableId) -> Option<&'a Route> {
    let mut best: Option<&Route> = None;
    for r in containing.iter().copied().filter(|r| r.table == t) {
        best = match best {
            None => Some(r),
            Some(b) => {
                let better = r.dst.prefix_len() > b.dst.prefix_len()
                    || (r.dst.prefix_len() == b.dst.prefix_len() && r.metric < b.metric);
                Some(if better { r } else { b })
            }
        };
    }
    best
}

/// Why `r` lost to `w`, a route of the same table.
fn lost_to(r: &Route, w: &Route) -> String {
    if w.dst.prefix_len() > r.dst.prefix_len() {
        format!(
            "/{} is shorter than /{}",
            r.dst.prefix_len(),
            w.dst.prefix_len()
        )
    } else if w.metric < r.metric {
        format!(
            "same prefix, metric {} is higher than {}",
            r.metric, w.metric
        )
    } else {
        "same prefix and metric, listed after the winner".to_string()
    }
}

/// The `ip rule` lines a lookup walked, as the trace lists them: words
/// only when the routes text has rules, and a long run of rules that do
/// not apply (or that a goto jumps over) told, after its first few, in
/// one row (`more` rules, `priorities A to B`).
struct Walked {
    explicit: bool,
    rows: Vec<RuleWeighed>,
    /// Rules of the same outcome in a row so far.
    run: usize,
    /// The priority the row told as one starts at.
    from: u32,
}

impl Walked {
    /// Rules of a run listed one by one before the rest are told as one.
    const LISTED: usize = 8;

    fn push(&mut self, r: &RoutingRule, outcome: RuleOutcome, why: &dyn Fn() -> String) {
        if !self.explicit {
            return;
        }
        let passed = matches!(outcome, RuleOutcome::NoMatch | RuleOutcome::JumpedOver);
        let same = self.rows.last().is_some_and(|l| l.outcome == outcome);
        self.run = if passed && same { self.run + 1 } else { 1 };
        if passed && self.run > Self::LISTED + 1 {
            if let Some(last) = self.rows.last_mut() {
                last.more += 1;
                last.rule = format!("priorities {} to {}", self.from, r.pref);
                return;
            }
        }
        let told = passed && self.run == Self::LISTED + 1;
        if told {
            self.from = r.pref;
        }
        self.rows.push(RuleWeighed {
            rule: if told {
                format!("priority {}", r.pref)
            } else {
                r.to_string()
            },
            outcome,
            why: match outcome {
                _ if !told => why(),
                RuleOutcome::NoMatch => "none of their selectors takes the packet".into(),
                _ => "a goto above jumps over them".into(),
            },
            line: if told { 0 } else { r.line },
            more: usize::from(told),
        });
    }
}

impl RouteTable {
    /// The rules the lookup walks.
    pub fn rules(&self) -> &[RoutingRule] {
        if self.rules.is_empty() {
            &crate::engine::policy::DEFAULT_RULES
        } else {
            &self.rules
        }
    }

    /// The route for `dst` alone (`ip route get` without a source or
    /// mark): see [`RouteTable::lookup_flow`].
    pub fn lookup(&self, dst: Ipv4Addr) -> Decision {
        self.lookup_flow(&Flow::to(dst))
    }

    /// The route for a packet (`fib_lookup`): the `ip rule` list is walked
    /// by priority; a rule whose selector matches looks up its table, and
    /// the table's route ends the walk unless there is none, it is a
    /// `throw` route or the rule suppresses it (then the next rule). With
    /// the rules a namespace starts with: the local table first, then
    /// main. Within a table: the longest prefix; on equal prefixes the
    /// lowest metric; on equal metrics the route listed first. Every route
    /// of a table a matching rule looks up whose prefix contains `dst` is
    /// returned as a candidate, with why it won or lost.
    pub fn lookup_flow(&self, f: &Flow) -> Decision {
        self.decide(f, true)
    }

    /// The route for a packet, as [`RouteTable::lookup_flow`] finds it,
    /// without the candidates and rules in words: for a lookup no step
    /// shows (a source address, a next hop, a proxy ARP answer).
    pub fn route_for(&self, f: &Flow) -> Decision {
        self.decide(f, false)
    }

    fn decide(&self, f: &Flow, words: bool) -> Decision {
        let dst = f.dst;
        let explicit = words && !self.rules.is_empty();
        let rules = self.rules();
        let containing: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| r.dst.contains(&dst))
            .collect();
        let mut weighed = Walked {
            explicit,
            rows: Vec::new(),
            run: 0,
            from: 0,
        };
        // The tables looked up, in order, and the routes set aside (a
        // throw route, or one suppressed).
        let mut tables: Vec<TableId> = Vec::new();
        let mut set_aside: Vec<(&Route, String)> = Vec::new();
        let mut winner: Option<(&Route, u32)> = None;
        let mut by_rule = None;
        let next = ", so the next rule is tried";
        let mut i = 0;
        while i < rules.len() {
            let r = &rules[i];
            i += 1;
            if !r.takes(f) {
                weighed.push(r, RuleOutcome::NoMatch, &|| r.matches(f).1);
                continue;
            }
            // (Words only for a `not` rule: why it took the packet.)
            let why = if r.not { r.matches(f).1 } else { String::new() };
            let took = if why.is_empty() {
                "takes the packet".to_string()
            } else {
                format!("takes the packet ({why})")
            };
            match r.action {
                RuleAction::Goto(p) => match rules.iter().position(|x| x.pref == p) {
                    Some(at) => {
                        weighed.push(r, RuleOutcome::Jumps, &|| {
                            format!("{took} and jumps to rule {p}")
                        });
                        for over in rules.get(i..at).unwrap_or_default() {
                            weighed.push(over, RuleOutcome::JumpedOver, &|| {
                                format!("jumped over by rule {}'s goto {p}", r.pref)
                            });
                        }
                        i = at.max(i);
                    }
                    None => weighed.push(r, RuleOutcome::GoesOn, &|| {
                        format!("{took}, but there is no rule {p} to go to (ip rule shows it [unresolved]){next}")
                    }),
                },
                RuleAction::Nop => weighed.push(r, RuleOutcome::GoesOn, &|| {
                    format!("{took}: nop does nothing{next}")
                }),
                RuleAction::Blackhole | RuleAction::Unreachable | RuleAction::Prohibit => {
                    let ends = match r.action {
                        RuleAction::Blackhole => "the lookup fails: the packet is discarded silently (a program of this host sending it gets EINVAL)",
                        RuleAction::Unreachable => "the lookup fails as if no route were found: a router answers ICMP network unreachable (a program of this host gets ENETUNREACH)",
                        _ => "the lookup fails: a router answers ICMP administratively prohibited (a program of this host gets EACCES)",
                    };
                    weighed.push(r, RuleOutcome::Refuses, &|| {
                        format!("{took}; {ends}")
                    });
                    let text = r.to_string();
                    let text = text
                        .split_once(":\t")
                        .map_or(text.clone(), |(p, s)| format!("{p} ({s})"));
                    by_rule = Some((r.action, text));
                    break;
                }
                RuleAction::Lookup(t) => {
                    if !tables.contains(&t) {
                        tables.push(t);
                    }
                    let name = || t.name();
                    let sends = |b: &Route| {
                        matches!(
                            b.kind,
                            RouteType::Unicast | RouteType::Local | RouteType::Broadcast
                        )
                    };
                    match best_of(&containing, t) {
                        None => weighed.push(r, RuleOutcome::GoesOn, &|| {
                            format!("{took}, but table {} has no route to {dst}{next}", name())
                        }),
                        Some(b) if b.kind == RouteType::Throw => {
                            weighed.push(r, RuleOutcome::GoesOn, &|| {
                                format!(
                                    "{took}, but table {}'s route to {dst} is throw {}{next}",
                                    name(),
                                    b.dst
                                )
                            });
                            set_aside.push((
                                b,
                                "a throw route: the lookup goes on with the next rule".into(),
                            ));
                        }
                        // (Only a route that sends is set aside: an error
                        // route ends the lookup all the same.)
                        Some(b)
                            if sends(b)
                                && r.suppress_prefixlength
                                    .is_some_and(|n| b.dst.prefix_len() <= n) =>
                        {
                            let n = r.suppress_prefixlength.unwrap_or(0);
                            let len = b.dst.prefix_len();
                            weighed.push(r, RuleOutcome::GoesOn, &|| {
                                format!("{took}; table {} has {b}, but /{len} is not longer than suppress_prefixlength {n}: set aside{next}", name())
                            });
                            set_aside.push((b, format!("rule {} sets it aside: /{len} is not longer than its suppress_prefixlength {n}", r.pref)));
                        }
                        Some(b) => {
                            let (outcome, does) = if sends(b) {
                                (RuleOutcome::Decides, "decides")
                            } else {
                                (RuleOutcome::Refuses, "ends the lookup with its route")
                            };
                            weighed.push(r, outcome, &|| {
                                format!("{took}; table {} {does}: {b}", name())
                            });
                            winner = Some((b, r.pref));
                            break;
                        }
                    }
                }
            }
        }
        let looked = tables.len();
        // Tables of later rules that would have matched: their routes are
        // candidates too (the local table's winner over main's routes).
        let later = if words {
            &rules[i.min(rules.len())..]
        } else {
            &[]
        };
        for r in later {
            if let RuleAction::Lookup(t) = r.action {
                if r.takes(f) && !tables.contains(&t) {
                    tables.push(t);
                }
            }
        }
        let mut candidates = Vec::new();
        for (k, &t) in tables.iter().enumerate().filter(|_| words) {
            let after = k >= looked;
            let best = best_of(&containing, t);
            for (at, r) in (containing.iter().copied().enumerate()).filter(|(_, r)| r.table == t) {
                let chosen = winner.is_some_and(|(w, _)| std::ptr::eq(w, r));
                let why = if chosen {
                    let (w, pref) = winner.expect("chosen");
                    let base = if w.table == TableId::LOCAL {
                        "an address of this host: the local table is consulted first".to_string()
                    } else {
                        let n = containing.iter().filter(|x| x.table == t).count();
                        if n == 1 && explicit {
                            "the only route of its table that contains the destination".to_string()
                        } else if n == 1 {
                            "the only route that contains the destination".to_string()
                        } else {
                            format!(
                                "longest prefix (/{}) among {n} matching routes",
                                r.dst.prefix_len()
                            )
                        }
                    };
                    if explicit {
                        format!("{base} (table {}, by rule {pref})", t.name())
                    } else {
                        base
                    }
                } else if let Some((_, why)) = set_aside.iter().find(|(b, _)| std::ptr::eq(*b, r)) {
                    why.clone()
                } else if after {
                    match winner {
                        Some((w, _)) if w.table == TableId::LOCAL && !explicit => {
                            "the local table matched first".to_string()
                        }
                        Some((_, pref)) => {
                            format!("table {} not searched: rule {pref} decided first", t.name())
                        }
                        None => match &by_rule {
                            Some((_, rule)) => format!(
                                "table {} not searched: rule {rule} ended the lookup first",
                                t.name()
                            ),
                            None => String::new(),
                        },
                    }
                } else if let Some(b) = best.filter(|b| !std::ptr::eq(*b, r)) {
                    lost_to(r, b)
                } else {
                    match &by_rule {
                        Some((_, rule)) => format!("rule {rule} ended the lookup first"),
                        None => String::new(),
                    }
                };
                candidates.push((
                    at,
                    Candidate {
                        route: r.to_string(),
                        table: t.name(),
                        prefix_len: r.dst.prefix_len(),
                        metric: r.metric,
                        chosen,
                        why,
                        line: r.line,
                    },
                ));
            }
        }
        // With the rules a namespace starts with, in the order listed;
        // with rules of its own, in the order the tables were consulted.
        if !explicit {
            candidates.sort_by_key(|(at, _)| *at);
        }
        let candidates = candidates.into_iter().map(|(_, c)| c).collect();
        let route = match (&by_rule, winner) {
            (Some((RuleAction::Blackhole, _)), _) => {
                Some(Route::new(RouteType::Blackhole, dst.into()))
            }
            (Some((RuleAction::Prohibit, _)), _) => {
                Some(Route::new(RouteType::Prohibit, dst.into()))
            }
            (Some(_), _) => None,
            (None, w) => w.map(|(w, _)| w.clone()),
        };
        Decision {
            route,
            candidates,
            rules: weighed.rows,
            by_rule,
        }
    }

    /// `ip route` (table main) text.
    pub fn to_ip_route(&self) -> String {
        let mut s = String::new();
        for r in self.routes.iter().filter(|r| r.table == TableId::MAIN) {
            s.push_str(&r.to_string());
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::route_text::parse_ip_route;

    /// Table-driven longest-prefix match on the article's node8 routes.
    #[test]
    fn longest_prefix_then_metric_then_order() {
        let t = parse_ip_route(
            "default via 192.168.11.1 dev ens33 proto static metric 100\n\
             blackhole 172.16.225.64/26 proto bird\n\
             172.16.225.112 dev cali71ca141a178 scope link\n\
             172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink\n\
             10.0.0.0/8 via 192.168.11.2 dev ens33 metric 200\n\
             10.0.0.0/8 via 192.168.11.3 dev ens33 metric 50\n\
             10.1.0.0/16 via 192.168.11.4 dev ens33\n\
             10.1.0.0/16 via 192.168.11.5 dev ens33\n\
             192.168.11.0/24 dev ens33 proto kernel scope link src 192.168.11.58 metric 100\n",
        )
        .unwrap();
        let cases: &[(&str, &str)] = &[
            (
                "172.16.225.112",
                "172.16.225.112 dev cali71ca141a178 scope link",
            ),
            ("172.16.225.99", "blackhole 172.16.225.64/26 proto bird"),
            (
                "172.16.3.70",
                "172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink",
            ),
            (
                "192.168.11.54",
                "192.168.11.0/24 dev ens33 proto kernel scope link src 192.168.11.58 metric 100",
            ),
            (
                "8.8.8.8",
                "default via 192.168.11.1 dev ens33 proto static metric 100",
            ),
            (
                "10.9.9.9",
                "10.0.0.0/8 via 192.168.11.3 dev ens33 metric 50",
            ),
            ("10.1.2.3", "10.1.0.0/16 via 192.168.11.4 dev ens33"),
        ];
        for (dst, want) in cases {
            let d = t.lookup(dst.parse().unwrap());
            assert_eq!(d.route.unwrap().to_string(), *want, "lookup {dst}");
            assert_eq!(d.candidates.iter().filter(|c| c.chosen).count(), 1);
        }
        let d = t.lookup("172.16.225.112".parse().unwrap());
        assert_eq!(
            d.candidates.len(),
            3,
            "/32, /26 blackhole and default all contain it"
        );
        let lost = d.candidates.iter().find(|c| c.prefix_len == 26).unwrap();
        assert_eq!(lost.why, "/26 is shorter than /32");
    }
}
