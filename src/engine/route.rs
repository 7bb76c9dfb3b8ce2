//! Routing tables as `ip route` shows them, and the kernel's lookup:
//! the local table first, then main; within a table the longest prefix
//! wins, then the lowest metric, then the route listed first.
//!
//! Parsing and printing of `ip route` and `route -n` text live in
//! [`crate::engine::route_text`].

use crate::engine::trace::{Candidate, RouteResult};
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

/// The routing table a route is in (`table local` / `table main`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum TableId {
    Local,
    Main,
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
            table: TableId::Main,
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
        if self.table == TableId::Local {
            f.write_str(" table local")?;
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

/// The routes of one network namespace (`ip route show table all`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub routes: Vec<Route>,
}

/// The result of a lookup: the route taken and the candidates weighed.
#[derive(Clone, Debug)]
pub struct Decision {
    pub route: Option<Route>,
    pub candidates: Vec<Candidate>,
}

impl Decision {
    pub fn result(&self) -> RouteResult {
        match &self.route {
            None => RouteResult::NoRoute,
            Some(r) => match r.kind {
                RouteType::Local | RouteType::Broadcast => RouteResult::Local,
                RouteType::Blackhole => RouteResult::Blackhole,
                RouteType::Unreachable => RouteResult::Unreachable,
                RouteType::Prohibit => RouteResult::Prohibit,
                RouteType::Unicast => RouteResult::Unicast {
                    dev: r.dev.clone().unwrap_or_default(),
                    via: r.via,
                    src: r.src,
                },
            },
        }
    }
}

impl RouteTable {
    /// The route for `dst` (`ip route get`): the local table is consulted
    /// first, then main. Within a table: the longest prefix; on equal
    /// prefixes the lowest metric; on equal metrics the route listed first.
    /// Every route whose prefix contains `dst` is returned as a candidate,
    /// with why it won or lost.
    pub fn lookup(&self, dst: Ipv4Addr) -> Decision {
        let containing: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| r.dst.contains(&dst))
            .collect();
        let best_in = |t: TableId| -> Option<&Route> {
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
        };
        let winner = best_in(TableId::Local).or_else(|| best_in(TableId::Main));
        let candidates = containing
            .iter()
            .map(|r| {
                let chosen = winner.is_some_and(|w| std::ptr::eq(w, *r));
                let why = match winner {
                    _ if chosen => match r.table {
                        TableId::Local => {
                            "an address of this host: the local table is consulted first"
                                .to_string()
                        }
                        TableId::Main => {
                            let n = containing
                                .iter()
                                .filter(|x| x.table == TableId::Main)
                                .count();
                            if n == 1 {
                                "the only route that contains the destination".to_string()
                            } else {
                                format!(
                                    "longest prefix (/{}) among {n} matching routes",
                                    r.dst.prefix_len()
                                )
                            }
                        }
                    },
                    Some(w) if w.table != r.table => "the local table matched first".to_string(),
                    Some(w) if w.dst.prefix_len() > r.dst.prefix_len() => {
                        format!(
                            "/{} is shorter than /{}",
                            r.dst.prefix_len(),
                            w.dst.prefix_len()
                        )
                    }
                    Some(w) if w.metric < r.metric => format!(
                        "same prefix, metric {} is higher than {}",
                        r.metric, w.metric
                    ),
                    Some(_) => "same prefix and metric, listed after the winner".to_string(),
                    None => String::new(),
                };
                Candidate {
                    route: r.to_string(),
                    table: match r.table {
                        TableId::Local => "local".into(),
                        TableId::Main => "main".into(),
                    },
                    prefix_len: r.dst.prefix_len(),
                    metric: r.metric,
                    chosen,
                    why,
                    line: r.line,
                }
            })
            .collect();
        Decision {
            route: winner.cloned(),
            candidates,
        }
    }

    /// `ip route` (table main) text.
    pub fn to_ip_route(&self) -> String {
        let mut s = String::new();
        for r in self.routes.iter().filter(|r| r.table == TableId::Main) {
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
