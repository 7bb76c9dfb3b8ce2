//! `ip route` and `route -n` text: parsing (with located errors) and
//! printing. The model is [`crate::engine::route`].

use crate::engine::error::{Errors, ParseError};
use crate::engine::iptables::rule::parse_net;
use crate::engine::lex;
use crate::engine::route::{Route, RouteTable, RouteType, Scope, TableId, TableWord};
use crate::engine::text::{odd_char, odd_char_words, without_bom};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

fn err_at(line: &str, line_no: usize, word: &str, msg: impl Into<String>) -> ParseError {
    // Column of the word in the line: where that slice of it is, else its
    // first occurrence.
    let col = (lex::offset_in(line, word).or_else(|| line.find(word)))
        .map(|b| lex::column(line, b))
        .unwrap_or(1);
    ParseError::new(line_no, col, msg)
}

/// Parses `ip route` output (also `ip route show table all`), one route a line.
pub fn parse_ip_route(text: &str) -> Result<RouteTable, Errors> {
    let mut routes = Vec::new();
    let mut rules = Vec::new();
    let mut errors = Errors::default();
    let lines: Vec<&str> = text.lines().collect();
    // iptables-save text in the routes: one error that says so, not one
    // per line.
    let rules_line = lines.iter().position(|l| {
        let t = l.trim_start();
        t.starts_with("-A ")
            || t.starts_with("*filter")
            || t.starts_with("*nat")
            || t.starts_with("*mangle")
            || t.starts_with("*raw")
    });
    if let Some(i) = rules_line {
        errors.push(ParseError::new(
            i + 1,
            1,
            "this is iptables-save text (rules), not routes: it goes in the iptables rules",
        ));
        return Err(errors);
    }
    for (i, line) in lines.iter().enumerate() {
        if errors.full() {
            break;
        }
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        // A multipath route: its nexthops on the lines below it (left out
        // with its route when that is another table's).
        let nexthops = |l: &&str| l.trim_start().starts_with("nexthop");
        if t.starts_with("nexthop") {
            let under_route = lines[..i]
                .iter()
                .rev()
                .find(|l| !nexthops(l))
                .is_some_and(|l| !l.trim().is_empty());
            if !under_route {
                errors.push(ParseError::new(
                    i + 1,
                    1,
                    "a nexthop line belongs under its multipath route's line",
                ));
            }
            continue;
        }
        if lines.get(i + 1).is_some_and(nexthops) {
            if !matches!(parse_ip_route_line(line, i + 1), Ok(None)) {
                errors.push(ParseError::new(
                    i + 1,
                    1,
                    "a multipath route (the nexthop lines below it) is not modelled: keep one of its nexthops, as \"via GATEWAY dev NAME\" on this line",
                ));
            }
            continue;
        }
        if crate::engine::policy::is_rule_line(t) {
            match crate::engine::policy::parse_rule_line(t, i + 1) {
                Ok(r) => rules.push(r),
                Err(e) => errors.push(e),
            }
            continue;
        }
        match parse_ip_route_line(line, i + 1) {
            Ok(Some(r)) => routes.push(r),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(RouteTable {
            routes,
            rules: crate::engine::policy::listing(rules),
        })
    } else {
        Err(errors)
    }
}

/// The protocol names of iproute2's `rt_protos`.
const PROTOS: &[&str] = &[
    "unspec",
    "redirect",
    "kernel",
    "boot",
    "static",
    "gated",
    "ra",
    "mrt",
    "zebra",
    "bird",
    "dnrouted",
    "xorp",
    "ntk",
    "dhcp",
    "keepalived",
    "babel",
    "openr",
    "bgp",
    "isis",
    "ospf",
    "rip",
    "eigrp",
];

const KEYWORDS: &str =
    "via, dev, proto, scope, src, metric, table, onlink, linkdown, mtu, advmss, initcwnd, initrwnd, pref, expires, hoplimit, rtt, rttvar, ssthresh, window, reordering, rto_min, quickack, congctl, fastopen_no_cookie, features, realm, realms, nhid";

/// Whether an `ip route` line is an IPv6 route (`ip route show table all`
/// lists them with the IPv4 ones): its destination, or a default route's
/// gateway, is an IPv6 address.
fn is_ipv6_line(words: &[&str]) -> bool {
    let v6 = |w: &str| {
        w.contains(':')
            && w.split('/')
                .next()
                .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
    };
    let typed = words.first().is_some_and(|w| {
        RouteType::parse(w).is_some() || matches!(*w, "multicast" | "anycast" | "throw" | "nat")
    });
    let dst = words.get(usize::from(typed)).copied().unwrap_or("");
    // (`pref`, a router's preference, is printed for IPv6 only: `default
    // dev wg0 … pref medium` has no address to tell. An IPv4 route given
    // one, by an address or gateway, is IPv4: the kernel takes it and
    // leaves the preference out.)
    let v4 = |w: &str| {
        w.split('/')
            .next()
            .is_some_and(|a| a.parse::<std::net::Ipv4Addr>().is_ok())
    };
    let via_v4 = words.windows(2).any(|p| p[0] == "via" && v4(p[1]));
    v6(dst)
        || (words.contains(&"pref") && !v4(dst) && !via_v4)
        || (dst == "default" && words.windows(2).any(|p| p[0] == "via" && v6(p[1])))
}

/// The lines (from 1) of IPv6 routes, which [`parse_ip_route_line`]
/// reads past.
pub fn ipv6_lines(text: &str) -> Vec<usize> {
    (text.lines().enumerate())
        .filter(|(_, l)| {
            let w: Vec<&str> = l.split_whitespace().collect();
            !l.trim_start().starts_with('#') && is_ipv6_line(&w)
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// What a listing's routes leave out, in words (empty when nothing):
/// policy routing's other tables, and IPv6 routes.
pub fn notes(text: &str) -> String {
    let mut out = other_tables_note(&other_table_lines(text));
    let rules = crate::engine::policy::defaults_note(text);
    if !rules.is_empty() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(&rules);
    }
    let v6 = ipv6_lines(text);
    if !v6.is_empty() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let first = v6.first().copied().unwrap_or(0);
        out.push_str(&match v6.len() {
            1 => format!("1 IPv6 route (line {first}) left out: Packet Walk simulates IPv4"),
            n => {
                format!("{n} IPv6 routes (from line {first}) left out: Packet Walk simulates IPv4")
            }
        });
    }
    out
}

/// One `ip route` line. `Ok(None)` for lines that carry no route the
/// simulator keeps (other tables).
pub fn parse_ip_route_line(line: &str, line_no: usize) -> Result<Option<Route>, ParseError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    // `ip route show table all` lists IPv6 routes too: read past, with a
    // note (see [`notes`]).
    if is_ipv6_line(&words) {
        return Ok(None);
    }
    let mut k = 0;
    let mut kind = RouteType::Unicast;
    if let Some(t) = words.first().and_then(|w| RouteType::parse(w)) {
        kind = t;
        k = 1;
    } else if matches!(
        words.first().copied(),
        Some("multicast" | "anycast" | "nat")
    ) {
        return Err(err_at(
            line,
            line_no,
            words[0],
            format!("route type \"{}\" is not modelled", words[0]),
        )
        .expected("unicast, local, broadcast, blackhole, unreachable, prohibit or throw"));
    }
    // A command, not a listing: `ip route add 10.0.0.0/8 via …`.
    if words.first() == Some(&"ip") {
        let route = words
            .get(1)
            .is_some_and(|w| "route".starts_with(w) && !w.is_empty());
        let verb = words.get(2).copied().unwrap_or("");
        let shown = if route {
            words.get(3..).map(|w| w.join(" ")).unwrap_or_default()
        } else {
            String::new()
        };
        let rule = words
            .get(1)
            .is_some_and(|w| w.len() >= 2 && "rule".starts_with(w));
        let msg = if rule {
            "this is an ip rule command: write the rule as ip rule lists it, its priority first (\"5: from all lookup 2\")".to_string()
        } else if route
            && ["add", "append", "replace", "change", "a"].contains(&verb)
            && !shown.is_empty()
        {
            format!("this is an \"ip route {verb}\" command: write the route as `ip route` lists it, without the command (\"{shown}\")")
        } else {
            "this is an ip command: write the route as `ip route` lists it".to_string()
        };
        return Err(ParseError::new(line_no, 1, msg));
    }
    let Some(&dst_word) = words.get(k) else {
        return Err(
            ParseError::new(line_no, line.len() + 1, "missing destination")
                .expected("a prefix or \"default\""),
        );
    };
    let dst: Ipv4Net = if dst_word == "default" || dst_word == "0.0.0.0/0" {
        "0.0.0.0/0".parse().expect("valid")
    } else if dst_word.starts_with(['{', '[']) {
        return Err(err_at(
            line,
            line_no,
            dst_word,
            "this is JSON, not ip route text: paste the output of ip route (not ip -j route); a scenario file opens with Import…",
        ));
    } else {
        let n = parse_net(dst_word).map_err(|m| err_at(line, line_no, dst_word, m))?;
        // `ip route` rejects host bits set under the prefix ("Invalid prefix for given prefix length").
        let written: Ipv4Addr = dst_word
            .split('/')
            .next()
            .unwrap_or("")
            .parse()
            .unwrap_or(n.addr());
        if written != n.addr() {
            return Err(err_at(
                line,
                line_no,
                dst_word,
                format!("{dst_word} has host bits set; the network is {n}"),
            ));
        }
        n
    };
    let mut r = Route::new(kind, dst);
    if kind == RouteType::Local {
        r.table = TableId::LOCAL;
        r.scope = Scope::Host;
    }
    k += 1;
    let mut scope_given = false;
    while k < words.len() {
        let w = words[k];
        let value = |at: usize, what: &str| -> Result<&str, ParseError> {
            words.get(at + 1).copied().ok_or_else(|| {
                ParseError::new(line_no, line.len() + 1, format!("\"{w}\" needs a value"))
                    .expected(what.to_string())
            })
        };
        match w {
            "via" if r.via.is_some() => {
                return Err(err_at(
                    line,
                    line_no,
                    w,
                    "a second \"via\": a route has one gateway (ip route says \"use nexthop syntax to specify multiple via\"; multipath routes are not simulated)",
                ));
            }
            "dev" | "oif" if r.dev.is_some() => {
                let v = words.get(k + 1).copied().unwrap_or_default();
                return Err(err_at(
                    line,
                    line_no,
                    w,
                    format!("a second \"{w}\": a route goes out one device (ip route says: Either \"dev\" is duplicate, or \"{v}\" is a garbage)"),
                ));
            }
            "via" => {
                let mut v = value(k, "a gateway address")?;
                if v == "inet" {
                    k += 1;
                    v = value(k, "a gateway address")?;
                }
                r.via = Some(v.parse().map_err(|_| {
                    err_at(
                        line,
                        line_no,
                        v,
                        format!("\"{v}\" is not an IPv4 gateway address"),
                    )
                })?);
                k += 2;
            }
            "dev" | "oif" => {
                r.dev = Some(value(k, "a device name")?.to_string());
                k += 2;
            }
            "proto" => {
                let v = value(k, "a protocol such as kernel, static, bird")?;
                let known = PROTOS.contains(&v) || v.parse::<u8>().is_ok();
                if !known {
                    return Err(err_at(
                        line,
                        line_no,
                        v,
                        format!("\"{v}\" is not a routing protocol (ip route says \"protocol\" value is invalid)"),
                    )
                    .expected(format!("a number from 0 to 255 or a name from rt_protos: {}", PROTOS.join(", "))));
                }
                r.proto = Some(v.to_string());
                k += 2;
            }
            "scope" => {
                let v = value(k, "global, link or host")?;
                r.scope = match v {
                    "global" | "universe" | "0" => Scope::Global,
                    "link" | "253" => Scope::Link,
                    "host" | "254" => Scope::Host,
                    _ => {
                        return Err(err_at(line, line_no, v, format!("unknown scope \"{v}\""))
                            .expected("global, link or host"))
                    }
                };
                scope_given = true;
                k += 2;
            }
            "src" => {
                let v = value(k, "an address")?;
                r.src = Some(v.parse().map_err(|_| {
                    err_at(line, line_no, v, format!("\"{v}\" is not an IPv4 address"))
                })?);
                k += 2;
            }
            "metric" | "priority" | "preference" => {
                let v = value(k, "a number")?;
                r.metric = v.parse().map_err(|e: std::num::ParseIntError| {
                    let why = match e.kind() {
                        std::num::IntErrorKind::PosOverflow => {
                            "is out of range: at most 4294967295"
                        }
                        _ => "is not a number",
                    };
                    err_at(line, line_no, v, format!("metric \"{v}\" {why}"))
                })?;
                k += 2;
            }
            "table" => {
                let v = value(k, "main, local, default or a number")?;
                r.table = match TableId::parse(v) {
                    Ok(t) => t,
                    // The kernel puts a route for table 0 in main (measured).
                    Err(TableWord::Zero) => TableId::MAIN,
                    Err(TableWord::Invalid) => {
                        return Err(err_at(line, line_no, v, TableId::invalid_words(v)))
                    }
                    // A name from the node's rt_tables: left out, with a note.
                    Err(TableWord::Name) => return Ok(None),
                };
                k += 2;
            }
            "onlink" => {
                r.onlink = true;
                k += 1;
            }
            "linkdown" | "dead" | "pervasive" | "offload" | "trap" => {
                if w == "linkdown" {
                    r.linkdown = true;
                }
                k += 1;
            }
            "mtu" => {
                // `mtu lock 1400`: the host's own packets leave without DF.
                if words.get(k + 1) == Some(&"lock") {
                    r.mtu_lock = true;
                    k += 1;
                }
                let v = value(k, "a number")?;
                let n: u32 = v.parse().map_err(|_| {
                    err_at(
                        line,
                        line_no,
                        v,
                        format!("\"mtu\" value \"{v}\" is invalid"),
                    )
                })?;
                // The kernel keeps 0 as no MTU and stores at most 65520
                // (measured on Linux 6.18).
                r.mtu = (n > 0).then_some(n.min(65520));
                k += 2;
            }
            "advmss" | "initcwnd" | "initrwnd" | "pref" | "expires" | "hoplimit" | "realm"
            | "realms" | "rtt" | "rttvar" | "ssthresh" | "window" | "reordering" | "rto_min"
            | "quickack" | "congctl" | "fastopen_no_cookie" | "features" | "nhid" | "cache" => {
                // Attributes that do not change the path of one packet.
                if w == "cache" {
                    k += 1;
                } else {
                    // `mtu lock 1400`: the value may be locked.
                    if words.get(k + 1) == Some(&"lock") {
                        k += 1;
                    }
                    value(k, "a value")?;
                    k += 2;
                }
            }
            "nexthop" => {
                return Err(err_at(
                    line,
                    line_no,
                    w,
                    "a multipath route (nexthop …) is not modelled: keep one of its nexthops, as \"via GATEWAY dev NAME\"",
                ));
            }
            _ => {
                return Err(
                    err_at(line, line_no, w, format!("unknown keyword \"{w}\"")).expected(KEYWORDS)
                );
            }
        }
    }
    if !scope_given && r.via.is_none() && r.dev.is_some() && kind == RouteType::Unicast {
        r.scope = Scope::Link;
    }
    // The kernel's checks of a gateway's scope (ip route add answers with
    // these words).
    if r.via.is_some() && scope_given && r.scope != Scope::Global {
        let why = match (r.scope, r.onlink) {
            (Scope::Host, _) => "Route with host scope can not have a gateway",
            (_, false) => "Nexthop has invalid gateway",
            (_, true) => "Nexthop has invalid scope",
        };
        return Err(err_at(
            line,
            line_no,
            "scope",
            format!("a route through a gateway has scope global: ip route says \"{why}\""),
        ));
    }
    match kind {
        // `via` alone: the device is the one the gateway is reached by
        // (resolved once every line is read).
        RouteType::Unicast if r.dev.is_none() && r.via.is_none() => {
            return Err(ParseError::new(line_no, 1, "a unicast route needs \"dev\"")
                .expected("dev NAME (and via GATEWAY for a gateway route)"));
        }
        RouteType::Blackhole | RouteType::Unreachable | RouteType::Prohibit | RouteType::Throw
            if r.via.is_some() || r.dev.is_some() =>
        {
            let w = if r.via.is_some() { "via" } else { "dev" };
            return Err(err_at(
                line,
                line_no,
                w,
                format!(
                    "{} {} route has no gateway or device: ip route says \"Gateway, device and multipath can not be specified for this route type\"",
                    if kind.as_str().starts_with('u') { "an" } else { "a" },
                    kind.as_str()
                ),
            ));
        }
        _ => {}
    }
    r.line = line_no;
    Ok(Some(r))
}

/// Where `route -n`'s fields are in a line: by the last `Destination …`
/// header read (`route -n`; `netstat -rn` and `route -ne`, which print
/// MSS, Window and irtt where route -n prints Metric, Ref and Use; `route
/// -nee` prints all), else route -n's eight columns.
#[derive(Clone, Copy)]
struct RouteNColumns {
    count: usize,
    gateway: usize,
    genmask: usize,
    flags: usize,
    /// None: the listing has no metric (netstat -rn): every route's is 0.
    metric: Option<usize>,
    iface: usize,
}

impl RouteNColumns {
    const ROUTE_N: RouteNColumns = RouteNColumns {
        count: 8,
        gateway: 1,
        genmask: 2,
        flags: 3,
        metric: Some(4),
        iface: 7,
    };

    /// The columns a `Destination …` header names (None if it lacks one
    /// of the fields read).
    fn of_header(header: &str) -> Option<RouteNColumns> {
        let names: Vec<&str> = header.split_whitespace().collect();
        let at = |n: &str| names.iter().position(|w| *w == n);
        Some(RouteNColumns {
            count: names.len(),
            gateway: at("Gateway")?,
            genmask: at("Genmask")?,
            flags: at("Flags")?,
            metric: at("Metric"),
            iface: at("Iface")?,
        })
        .filter(|_| at("Destination") == Some(0))
    }
}

/// Parses `route -n` output (net-tools; `netstat -rn`'s too). An `Iface`
/// of `*` or `-` with no `G` flag is a blackhole route (`!` in the flags:
/// unreachable), as the article's `172.16.225.64 … *` line shows.
pub fn parse_route_n(text: &str) -> Result<RouteTable, Errors> {
    let mut routes = Vec::new();
    let mut errors = Errors::default();
    let mut columns = RouteNColumns::ROUTE_N;
    // Routes read without a metric, by destination and genmask.
    let mut unmetered: std::collections::HashMap<(&str, &str), u32> = Default::default();
    let mut header = "Destination Gateway Genmask Flags Metric Ref Use Iface".to_string();
    for (i, line) in text.lines().enumerate() {
        if errors.full() {
            break;
        }
        let line_no = i + 1;
        let t = line.trim();
        if t.starts_with("Destination") {
            match RouteNColumns::of_header(t) {
                Some(c) => {
                    columns = c;
                    header = t.split_whitespace().collect::<Vec<_>>().join(" ");
                }
                None => {
                    let words: Vec<&str> = t.split_whitespace().collect();
                    let missing: Vec<&str> = ["Gateway", "Genmask", "Flags", "Iface"]
                        .into_iter()
                        .filter(|c| !words.contains(c))
                        .collect();
                    errors.push(
                        ParseError::new(
                            line_no,
                            1,
                            format!(
                                "this header has no {} column: routes are read by it",
                                missing.join(", ")
                            ),
                        )
                        .expected("Destination Gateway Genmask Flags Metric Ref Use Iface"),
                    )
                }
            }
            continue;
        }
        if t.is_empty() || t.starts_with("Kernel IP routing table") || t.starts_with('#') {
            continue;
        }
        if t == "..." {
            errors.push(ParseError::new(
                line_no,
                1,
                "\"...\" stands for routes left out; remove it or write the routes",
            ));
            continue;
        }
        let f: Vec<&str> = t.split_whitespace().collect();
        if f.len() != columns.count {
            errors.push(
                ParseError::new(
                    line_no,
                    1,
                    format!(
                        "a line under this header has {} columns, this one has {}",
                        columns.count,
                        f.len()
                    ),
                )
                .expected(header.clone()),
            );
            continue;
        }
        let addr = |w: &str, what: &str| -> Result<Ipv4Addr, ParseError> {
            w.parse().map_err(|_| {
                err_at(
                    line,
                    line_no,
                    w,
                    format!("{what} \"{w}\" is not an IPv4 address"),
                )
            })
        };
        let parsed = (|| -> Result<Route, ParseError> {
            let dst = addr(f[0], "destination")?;
            // net-tools prints reject routes as `- ! … - … -`.
            let gw = if f[columns.gateway] == "-" {
                Ipv4Addr::UNSPECIFIED
            } else {
                addr(f[columns.gateway], "gateway")?
            };
            let mask = addr(f[columns.genmask], "genmask")?;
            let bits = u32::from(mask);
            if bits.leading_ones() + bits.trailing_zeros() != 32 {
                return Err(err_at(
                    line,
                    line_no,
                    f[columns.genmask],
                    format!("genmask {mask} is not contiguous"),
                ));
            }
            let net = Ipv4Net::new(dst, bits.leading_ones() as u8).expect("valid prefix");
            if net.trunc().addr() != dst {
                return Err(err_at(
                    line,
                    line_no,
                    f[0],
                    format!("{dst} has bits set outside genmask {mask}"),
                ));
            }
            let flags = f[columns.flags];
            if let Some(bad) = flags.chars().find(|c| !"UGHRDMAC!".contains(*c)) {
                return Err(
                    err_at(line, line_no, flags, format!("unknown flag '{bad}'"))
                        .expected("U, G, H, R, D, M, A, C or !"),
                );
            }
            let metric: u32 = match columns.metric.map(|i| f[i]) {
                // netstat -rn shows no metric, and lists a destination's
                // routes lowest metric first (the kernel's order): each
                // one after the first gets the next metric, so both stay
                // (two uplinks' default routes) and the first is chosen.
                None => {
                    let seen = unmetered.entry((f[0], f[columns.genmask])).or_insert(0);
                    *seen += 1;
                    *seen - 1
                }
                Some("-") => 0,
                Some(m) => m
                    .parse()
                    .map_err(|_| err_at(line, line_no, m, "metric is not a number"))?,
            };
            let iface = f[columns.iface];
            let kind = if flags.contains('!') {
                RouteType::Unreachable
            } else if (iface == "*" || iface == "-") && !flags.contains('G') {
                RouteType::Blackhole
            } else {
                RouteType::Unicast
            };
            let mut r = Route::new(kind, net);
            r.metric = metric;
            r.line = line_no;
            if kind == RouteType::Unicast {
                r.dev = Some(iface.to_string());
                if flags.contains('G') {
                    r.via = Some(gw);
                    // route -n cannot show onlink; a gateway through a
                    // tunnel device (tunl0) is onlink by construction.
                    r.onlink = iface.starts_with("tunl")
                        || iface.starts_with("vxlan")
                        || iface.starts_with("flannel");
                } else {
                    r.scope = Scope::Link;
                }
            }
            Ok(r)
        })();
        match parsed {
            Ok(r) => routes.push(r),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(RouteTable {
            routes,
            rules: Vec::new(),
        })
    } else {
        Err(errors)
    }
}

/// Whether a listing is `route -n` output rather than `ip route`.
pub fn looks_like_route_n(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.starts_with("Kernel IP routing table") || l.starts_with("Destination"))
}

/// Parses either format.
pub fn parse_routes(text: &str) -> Result<RouteTable, Errors> {
    let mut table = read_routes(text)?;
    // route -n cannot show onlink: its gateways are not checked.
    let errors = check_table(&mut table, text, !looks_like_route_n(text));
    if errors.is_empty() {
        Ok(table)
    } else {
        Err(errors)
    }
}

/// The lines (from 1) of routes in tables known by a name from the
/// node's `/etc/iproute2/rt_tables` (`table cali`), which
/// [`parse_ip_route_line`] reads past: the name's number is not known.
pub fn other_table_lines(text: &str) -> Vec<usize> {
    (text.lines().enumerate())
        .filter(|(_, l)| {
            let w: Vec<&str> = l.split_whitespace().collect();
            !l.trim_start().starts_with('#')
                && !crate::engine::policy::is_rule_line(l)
                && w.windows(2)
                    .any(|p| p[0] == "table" && TableId::parse(p[1]) == Err(TableWord::Name))
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// What [`other_table_lines`] found, in words (empty when none): the
/// first ten lines named.
pub fn other_tables_note(lines: &[usize]) -> String {
    const NAMED: usize = 10;
    let named: Vec<String> = lines.iter().take(NAMED).map(|l| l.to_string()).collect();
    let more = match lines.len().saturating_sub(NAMED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let why = "a table named in the node's /etc/iproute2/rt_tables, which Packet Walk does not have: write the table's number (ip -N route show table all prints it)";
    match lines.len() {
        0 => String::new(),
        1 => format!("1 route (line {}) left out: {why}", named[0]),
        n => format!(
            "{n} routes (lines {}{more}) left out: {why}",
            named.join(", ")
        ),
    }
}

/// [`parse_routes`] without the checks between routes (see
/// [`check_table`]), for a caller that makes them knowing the host.
pub fn read_routes(text: &str) -> Result<RouteTable, Errors> {
    let text = without_bom(text);
    // A space that is none to ip, or an invisible character: `ip route`
    // would refuse the line (or take a device name with it in).
    let mut odd = Errors::default();
    for (i, line) in text.lines().enumerate() {
        let comment = line.trim_start().starts_with('#');
        if let Some((col, c)) = odd_char(line).filter(|&(_, c)| !comment || c == '\r') {
            odd.push(ParseError::new(i + 1, col, odd_char_words(c)));
        }
    }
    if !odd.is_empty() {
        return Err(odd);
    }
    if looks_like_route_n(text) {
        parse_route_n(text)
    } else {
        parse_ip_route(text)
    }
}

/// What `ip route add` checks between the routes of one text: one route
/// per destination and metric ("File exists"), a gateway on a subnet the
/// text connects to the device it names ("Nexthop has invalid gateway";
/// checked again against the device's addresses when the host is known),
/// and the device of a route given by its gateway alone. `gateways`: check
/// gateways against the text's subnets (a caller that knows the devices'
/// addresses checks them against those instead).
pub fn check_table(table: &mut RouteTable, text: &str, gateways: bool) -> Errors {
    let mut errors = Errors::default();
    let column = |line: usize, word: &str| {
        let l = text.lines().nth(line.wrapping_sub(1)).unwrap_or("");
        crate::engine::lex::words(l)
            .ok()
            .and_then(|ws| {
                ws.iter()
                    .find(|w| w.text == word)
                    .map(|w| crate::engine::lex::column(l, w.start))
            })
            .unwrap_or(1)
    };
    let connected: Vec<(Ipv4Net, String)> = (table.routes.iter())
        .filter(|r| r.via.is_none() && r.kind == RouteType::Unicast)
        .filter_map(|r| Some((r.dst, r.dev.clone()?)))
        .collect();
    for r in table
        .routes
        .iter_mut()
        .filter(|r| r.via.is_some() && r.dev.is_none())
    {
        let via = r.via.unwrap_or(Ipv4Addr::UNSPECIFIED);
        match connected.iter().filter(|(n, _)| n.contains(&via)).max_by_key(|(n, _)| n.prefix_len()) {
            Some((_, dev)) => r.dev = Some(dev.clone()),
            None => errors.push(ParseError::new(
                r.line,
                column(r.line, &via.to_string()),
                format!("no route here reaches gateway {via} directly, so it is not known which device leads to it: add \"dev NAME\""),
            )),
        }
    }
    let mut seen: std::collections::HashMap<crate::engine::route::RouteKey, usize> =
        Default::default();
    // route -n does not say which routes the kernel made: two devices
    // with addresses in one subnet each have its connected route (the
    // kernel appends them; `ip route` shows them `proto kernel`).
    let route_n = looks_like_route_n(text);
    let kernel_made = |r: &Route, first: usize| {
        route_n
            && r.via.is_none()
            && (table.routes.iter())
                .find(|f| f.line == first)
                .is_some_and(|f| f.via.is_none() && f.dev != r.dev)
    };
    for r in &table.routes {
        if let Some(&first) = seen.get(&r.key()).filter(|&&f| !kernel_made(r, f)) {
            errors.push(ParseError::new(
                r.line,
                1,
                format!(
                    "a route to {} with metric {} is already at line {first} (ip route add says \"File exists\"); give this one another metric (only `ip route append` keeps both, and the kernel then uses the first: this one would never be chosen)",
                    r.dst, r.metric
                ),
            ));
        } else {
            seen.insert(r.key(), r.line);
        }
    }
    for r in table.routes.iter().filter(|_| gateways) {
        let (Some(via), Some(dev), false) = (r.via, &r.dev, r.onlink) else {
            continue;
        };
        let on_dev: Vec<&Ipv4Net> = connected
            .iter()
            .filter(|(_, d)| d == dev)
            .map(|(n, _)| n)
            .collect();
        if !on_dev.is_empty() && !on_dev.iter().any(|n| n.contains(&via)) {
            errors.push(ParseError::new(
                r.line,
                column(r.line, &via.to_string()),
                format!("gateway {via} is on none of the subnets this text connects to {dev} (\"Nexthop has invalid gateway\"); add \"onlink\" if it is reached anyway"),
            ));
        }
    }
    errors
}

/// The main table's routes in the order the kernel lists them (`ip
/// route`, `/proc/net/route`, so `route -n`), whatever order they were
/// added in: by destination address, a longer prefix first at one
/// address, then by metric (checked with `ip route` in a network
/// namespace).
pub fn kernel_order(t: &RouteTable) -> Vec<&crate::engine::route::Route> {
    let mut main: Vec<_> = t
        .routes
        .iter()
        .filter(|r| r.table == TableId::MAIN)
        .collect();
    main.sort_by_key(|r| {
        (
            u32::from(r.dst.network()),
            std::cmp::Reverse(r.dst.prefix_len()),
            r.metric,
        )
    });
    main
}

/// Prints the main table as `route -n` does, in the kernel's order.
pub fn emit_route_n(t: &RouteTable) -> String {
    let mut s = String::from("Kernel IP routing table\nDestination     Gateway         Genmask         Flags Metric Ref    Use Iface\n");
    for r in kernel_order(t) {
        let mut flags = String::from("U");
        if r.via.is_some() {
            flags.push('G');
        }
        if r.dst.prefix_len() == 32 {
            flags.push('H');
        }
        if matches!(r.kind, RouteType::Unreachable | RouteType::Prohibit) {
            flags = if r.dst.prefix_len() == 32 {
                "!H".into()
            } else {
                "!".into()
            };
        }
        let iface = match r.kind {
            RouteType::Blackhole => "*".to_string(),
            RouteType::Unreachable | RouteType::Prohibit => "-".to_string(),
            _ => r.dev.clone().unwrap_or_default(),
        };
        let reject = matches!(r.kind, RouteType::Unreachable | RouteType::Prohibit);
        let gateway = if reject {
            "-".to_string()
        } else {
            r.via.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string()
        };
        let refs = if reject { "-" } else { "0" };
        s.push_str(&format!(
            "{:<15} {:<15} {:<15} {:<5} {:<6} {:<6} {:>3} {}\n",
            r.dst.addr(),
            gateway,
            r.dst.netmask(),
            flags,
            r.metric,
            refs,
            0,
            iface
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The article's `route -n` listing (without its "..." lines).
    const ARTICLE_ROUTE_N: &str = "\
Kernel IP routing table
Destination     Gateway         Genmask          Flags Metric Ref Use Iface
0.0.0.0         192.168.11.1    0.0.0.0          UG    100    0   0 ens33
172.16.3.64     192.168.11.54   255.255.255.192  UG    0      0   0 tunl0
172.16.104.0    192.168.11.52   255.255.255.192  UG    0      0   0 tunl0
172.16.135.0    192.168.11.53   255.255.255.192  UG    0      0   0 tunl0
172.16.166.128  192.168.11.51   255.255.255.192  UG    0      0   0 tunl0
172.16.225.64   0.0.0.0         255.255.255.192  U     0      0   0 *
172.16.225.112  0.0.0.0         255.255.255.255  UH    0      0   0 cali71ca141a178
172.17.0.0      0.0.0.0         255.255.0.0      U     0      0   0 docker0
192.168.11.0    0.0.0.0         255.255.255.0    U     100    0   0 ens33
";

    #[test]
    fn article_route_n_becomes_ip_route() {
        let t = parse_route_n(ARTICLE_ROUTE_N).unwrap();
        assert_eq!(
            t.to_ip_route(),
            "default via 192.168.11.1 dev ens33 metric 100\n\
             172.16.3.64/26 via 192.168.11.54 dev tunl0 onlink\n\
             172.16.104.0/26 via 192.168.11.52 dev tunl0 onlink\n\
             172.16.135.0/26 via 192.168.11.53 dev tunl0 onlink\n\
             172.16.166.128/26 via 192.168.11.51 dev tunl0 onlink\n\
             blackhole 172.16.225.64/26\n\
             172.16.225.112 dev cali71ca141a178 scope link\n\
             172.17.0.0/16 dev docker0 scope link\n\
             192.168.11.0/24 dev ens33 scope link metric 100\n"
        );
        // And back: route -n of the parsed table has the article's flags and `*`.
        let back = emit_route_n(&t);
        assert!(
            back.contains(
                "172.16.225.64   0.0.0.0         255.255.255.192 U     0      0        0 *"
            ),
            "{back}"
        );
        assert!(
            back.contains("172.16.225.112  0.0.0.0         255.255.255.255 UH"),
            "{back}"
        );
    }

    /// `route -n` lists routes as the kernel keeps them, not as typed: by
    /// address, a longer prefix first, then by metric (as `ip route` and
    /// /proc/net/route listed them in a network namespace).
    #[test]
    fn route_n_lists_the_kernels_order() {
        let t = parse_ip_route(
            "10.1.0.0/16 dev d0\n10.0.0.0/16 dev d0 metric 5\n10.0.0.0/8 dev d0\ndefault via 192.168.5.254 dev d0\n10.0.0.0/16 dev d1 metric 2\n9.0.0.0/8 dev d0\n192.168.5.0/24 dev d0\n",
        )
        .unwrap();
        let dsts: Vec<String> = emit_route_n(&t)
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().take(5).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            dsts,
            [
                "0.0.0.0 192.168.5.254 0.0.0.0 UG 0",
                "9.0.0.0 0.0.0.0 255.0.0.0 U 0",
                "10.0.0.0 0.0.0.0 255.255.0.0 U 2",
                "10.0.0.0 0.0.0.0 255.255.0.0 U 5",
                "10.0.0.0 0.0.0.0 255.0.0.0 U 0",
                "10.1.0.0 0.0.0.0 255.255.0.0 U 0",
                "192.168.5.0 0.0.0.0 255.255.255.0 U 0",
            ]
        );
    }

    #[test]
    fn reject_routes_in_route_n() {
        // net-tools prints an unreachable route with `-` for gateway, ref and iface.
        let t = parse_route_n(
            "10.9.0.0        -               255.255.0.0     !     0      -        0 -\n",
        )
        .unwrap();
        assert_eq!(t.to_ip_route(), "unreachable 10.9.0.0/16\n");
        assert!(
            emit_route_n(&t).contains(
                "10.9.0.0        -               255.255.0.0     !     0      -        0 -"
            ),
            "{}",
            emit_route_n(&t)
        );
    }

    #[test]
    fn netstat_rn_and_route_nee_are_read_by_their_headers() {
        // netstat -rn prints MSS, Window and irtt where route -n prints
        // Metric, Ref and Use: its routes have no metric (not 1460).
        let netstat = "Kernel IP routing table
Destination     Gateway         Genmask         Flags   MSS Window  irtt Iface
0.0.0.0         192.168.11.1    0.0.0.0         UG     1460 0          0 ens33
0.0.0.0         10.0.0.1        0.0.0.0         UG        0 0          0 eth1
10.0.0.0        0.0.0.0         255.255.255.0   U         0 0          0 eth1
192.168.11.0    0.0.0.0         255.255.255.0   U         0 0          0 ens33
";
        // Two uplinks' default routes: both kept, the first listed first
        // (its metric lower, as the kernel lists them).
        let t = parse_routes(netstat).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            t.to_ip_route(),
            "default via 192.168.11.1 dev ens33\ndefault via 10.0.0.1 dev eth1 metric 1\n10.0.0.0/24 dev eth1 scope link\n192.168.11.0/24 dev ens33 scope link\n"
        );
        // route -nee: all eleven columns.
        let nee = "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface    MSS   Window irtt
0.0.0.0         192.168.11.1    0.0.0.0         UG    100    0        0 ens33    0     0      0
";
        let t = parse_route_n(nee).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            t.to_ip_route(),
            "default via 192.168.11.1 dev ens33 metric 100\n"
        );
        // A line that fits no header is named with the header it misses.
        let e = parse_route_n(&format!(
            "{netstat}10.0.0.0 0.0.0.0 255.0.0.0 U 0 0 0 0 eth1\n"
        ))
        .unwrap_err();
        assert_eq!(
            (
                e.0[0].line,
                e.0[0]
                    .to_string()
                    .contains("Destination Gateway Genmask Flags MSS Window irtt Iface")
            ),
            (7, true),
            "{e}"
        );
        let e = parse_route_n("Destination Gateway Genmask Metric Use\n").unwrap_err();
        assert!(e.0[0].message.contains("has no Flags, Iface column"), "{e}");
    }

    #[test]
    fn ip_route_round_trip() {
        let text = "default via 192.168.11.1 dev ens33 proto static metric 100\n\
                    172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink\n\
                    blackhole 172.16.225.64/26 proto bird\n\
                    172.16.225.112 dev cali71ca141a178 scope link\n\
                    172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown\n\
                    192.168.11.0/24 dev ens33 proto kernel scope link src 192.168.11.58 metric 100\n";
        assert_eq!(parse_ip_route(text).unwrap().to_ip_route(), text);
    }

    #[test]
    fn errors_are_located() {
        let cases: &[(&str, usize, usize, &str)] = &[
            (
                "10.0.0.0/33 dev eth0",
                1,
                1,
                "prefix length /33 is larger than 32",
            ),
            (
                "default via 1.2.3 dev eth0",
                1,
                13,
                "\"1.2.3\" is not an IPv4 gateway address",
            ),
            (
                "10.0.0.1/8 dev eth0",
                1,
                1,
                "10.0.0.1/8 has host bits set; the network is 10.0.0.0/8",
            ),
            (
                "default via 10.0.0.1 dev eth0 colour blue",
                1,
                31,
                "unknown keyword \"colour\"",
            ),
            (
                "10.0.0.0/8 dev eth0 dev eth1",
                1,
                21,
                "a second \"dev\": a route goes out one device (ip route says: Either \"dev\" is duplicate, or \"eth1\" is a garbage)",
            ),
            (
                "default via 10.0.0.1 via 10.0.0.2 dev eth0",
                1,
                22,
                "a second \"via\": a route has one gateway (ip route says \"use nexthop syntax to specify multiple via\"; multipath routes are not simulated)",
            ),
            (
                "10.0.0.0/8 dev eth0 table 4294967296",
                1,
                27,
                "table \"4294967296\" is not a number ip takes: write one from 1 to 4294967295, or main, local or default",
            ),
            (
                "10.0.0.0/8 dev eth0 table 09",
                1,
                27,
                "table \"09\" is not a number ip takes (a leading 0 makes ip read it as octal: write 9): write one from 1 to 4294967295, or main, local or default",
            ),
            (
                "10.0.0.0/8 via 10.0.0.1",
                1,
                16,
                "no route here reaches gateway 10.0.0.1 directly, so it is not known which device leads to it: add \"dev NAME\"",
            ),
            // What ip route add answers between routes of one text.
            (
                "10.0.0.0/8 dev eth0\n10.0.0.0/8 dev eth0",
                2,
                1,
                "a route to 10.0.0.0/8 with metric 0 is already at line 1 (ip route add says \"File exists\"); give this one another metric (only `ip route append` keeps both, and the kernel then uses the first: this one would never be chosen)",
            ),
            (
                "10.0.0.0/24 dev eth0 proto kernel scope link\n10.20.0.0/16 via 8.8.8.8 dev eth0",
                2,
                18,
                "gateway 8.8.8.8 is on none of the subnets this text connects to eth0 (\"Nexthop has invalid gateway\"); add \"onlink\" if it is reached anyway",
            ),
            (
                "unreachable 10.20.0.0/16 dev eth1",
                1,
                26,
                "an unreachable route has no gateway or device: ip route says \"Gateway, device and multipath can not be specified for this route type\"",
            ),
            (
                "default proto static metric 100\n\tnexthop via 10.0.0.1 dev eth0 weight 1",
                1,
                1,
                "a multipath route (the nexthop lines below it) is not modelled: keep one of its nexthops, as \"via GATEWAY dev NAME\" on this line",
            ),
            ("blackhole", 1, 10, "missing destination"),
            // The wrong text: a command, or rules (one error, not one a line).
            (
                "10.0.0.0/24 dev eth0\nip route add 10.9.0.0/16 via 10.0.0.1 dev eth0",
                2,
                1,
                "this is an \"ip route add\" command: write the route as `ip route` lists it, without the command (\"10.9.0.0/16 via 10.0.0.1 dev eth0\")",
            ),
            (
                "# Generated by iptables-save v1.8.9\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT",
                2,
                1,
                "this is iptables-save text (rules), not routes: it goes in the iptables rules",
            ),
            // As ip route add answers in a network namespace (iproute2 6.1).
            (
                "10.60.0.0/16 via 10.0.0.1 dev eth0 scope host",
                1,
                36,
                "a route through a gateway has scope global: ip route says \"Route with host scope can not have a gateway\"",
            ),
            (
                "10.60.0.0/16 via 10.0.0.1 dev eth0 scope link onlink",
                1,
                36,
                "a route through a gateway has scope global: ip route says \"Nexthop has invalid scope\"",
            ),
            (
                "10.61.0.0/16 dev eth0 proto frobnicate",
                1,
                29,
                "\"frobnicate\" is not a routing protocol (ip route says \"protocol\" value is invalid)",
            ),
        ];
        for (text, line, col, msg) in cases {
            let e = &parse_routes(text).unwrap_err().0[0];
            assert_eq!(
                (e.line, e.column, e.message.as_str()),
                (*line, *col, *msg),
                "{text}"
            );
        }
        assert_eq!(
            parse_routes("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n")
                .unwrap_err()
                .0
                .len(),
            1
        );
        // A gateway alone names its device by the route that reaches it;
        // a locked mtu is read.
        let ok = parse_routes(
            "10.0.0.0/24 dev eth0 proto kernel scope link\ndefault via 10.0.0.1 mtu lock 1400\n",
        )
        .unwrap();
        assert_eq!(ok.routes[1].dev.as_deref(), Some("eth0"));
        // A multipath route of a table known by a name only is left out
        // with its table; a nexthop under no route is a mistake.
        let ok = parse_routes("10.0.0.0/24 dev eth0\ndefault proto static table cali\n\tnexthop via 10.0.0.1 dev eth0 weight 1\n").unwrap();
        assert_eq!(ok.routes.len(), 1);
        // Table numbers as strtoul reads them, 0 as the kernel puts it
        // (in main), all measured with ip route add in a netns.
        let ok = parse_routes("10.9.0.0/16 dev eth0 table 0\n10.6.0.0/16 dev eth0 table 00012\n10.5.0.0/16 dev eth0 table 0x10\n10.7.0.0/16 dev eth0 table 4294967295\n10.4.0.0/16 dev eth0 table +5\n10.3.0.0/16 dev eth0 table 0x0\n").unwrap();
        let tables: Vec<String> = ok.routes.iter().map(|r| r.table.name()).collect();
        assert_eq!(tables, ["main", "10", "16", "4294967295", "5", "main"]);
        let e = parse_routes("\tnexthop via 10.0.0.1 dev eth0 weight 1\n").unwrap_err();
        assert_eq!(
            e.0[0].message,
            "a nexthop line belongs under its multipath route's line"
        );
        // What ip route takes: short prefixes, protocol numbers.
        let ok =
            parse_ip_route("0/0 dev eth0\n10/8 dev eth0 proto 77\n10.2.3/24 dev eth0 proto bird\n")
                .unwrap();
        let dsts: Vec<String> = ok.routes.iter().map(|r| r.dst.to_string()).collect();
        assert_eq!(dsts, ["0.0.0.0/0", "10.0.0.0/8", "10.2.3.0/24"]);
        let e = parse_route_n("0.0.0.0 192.168.11.1 255.0.255.0 UG 100 0 0 ens33").unwrap_err();
        assert_eq!(e.0[0].message, "genmask 255.0.255.0 is not contiguous");
        assert_eq!(e.0[0].column, 22);
    }

    /// `ip route show table all` on Linux 6.18, with the metrics a tuned
    /// host has and a nexthop object: the IPv4 routes are read, the
    /// metrics passed over, the IPv6 ones left out with a note.
    #[test]
    fn show_table_all_with_ipv6_and_metrics_reads() {
        let text = "\
default via 192.168.11.1 dev v0 proto static metric 100 rttvar 2ms ssthresh 20 reordering 3 features ecn rto_min lock 200ms quickack 1 congctl cubic fastopen_no_cookie 1 
10.70.0.0/16 via 192.168.11.1 dev v0 realms 1/2 
10.71.0.0/16 nhid 12 via 192.168.11.1 dev v0 
192.168.11.0/24 dev v0 proto kernel scope link src 192.168.11.58 
local 192.168.11.58 dev v0 table local proto kernel scope host src 192.168.11.58 
broadcast 192.168.11.255 dev v0 table local proto kernel scope link src 192.168.11.58 
2001:db8::/64 dev v0 proto kernel metric 256 pref medium
fe80::/64 dev v0 proto kernel metric 256 pref medium
default via 2001:db8::fe dev v0 metric 1024 pref medium
local ::1 dev lo table local proto kernel metric 0 pref medium
multicast ff00::/8 dev v0 table local proto kernel metric 256 pref medium
";
        let t = parse_routes(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.routes.len(), 6);
        assert_eq!(t.routes[0].metric, 100);
        assert_eq!(
            notes(text),
            "5 IPv6 routes (from line 7) left out: Packet Walk simulates IPv4"
        );
        assert_eq!(notes("default via 10.0.0.1 dev eth0\n"), "");
        // An IPv4 route given a preference is IPv4: the kernel takes it
        // (measured: `ip route add 10.0.0.0/8 via … pref high`) and leaves
        // the preference out.
        let pref = "10.0.0.0/8 via 192.168.11.1 dev v0 pref high\n192.168.11.0/24 dev v0\n";
        assert_eq!(
            (notes(pref), parse_routes(pref).unwrap().routes.len()),
            (String::new(), 2)
        );
    }

    /// Two devices with addresses in one subnet (a node with two ENIs):
    /// route -n lists the connected route of each, as the kernel keeps
    /// them; the same two typed as `ip route` lines, not said to be the
    /// kernel's, are what `ip route add` refuses.
    #[test]
    fn route_n_keeps_the_connected_route_of_each_device() {
        let route_n = "Kernel IP routing table
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface
0.0.0.0         192.168.11.1    0.0.0.0         UG    100    0        0 eth0
192.168.11.0    0.0.0.0         255.255.255.0   U     0      0        0 eth0
192.168.11.0    0.0.0.0         255.255.255.0   U     0      0        0 eth1
";
        let t = parse_routes(route_n).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.routes.len(), 3);
        let typed = "192.168.11.0/24 dev eth0 scope link\n192.168.11.0/24 dev eth1 scope link\n";
        let e = parse_routes(typed).unwrap_err();
        assert!(e.0[0].message.contains("File exists"), "{e}");
        // `ip rule` lines among the routes are the rules the lookup walks,
        // joined by the ones a namespace starts with that they leave out
        // (a rule of main for one destination is not main's own).
        let t =
            parse_routes("0:\tfrom all lookup local\n512:\tfrom all to 10.0.1.50 lookup main\n")
                .unwrap();
        let prefs: Vec<u32> = t.rules.iter().map(|r| r.pref).collect();
        assert_eq!(prefs, [0, 512, 32766, 32767]);
    }
}
