//! Policy routing (`ip rule`), row by row against what Linux 6.18 answered
//! to `ip route get` in a network namespace (iproute2 6.1): a router with
//! eth1 10.0.97.1/24, eth2 10.0.96.2/24, eth3 10.0.95.2/24, main's default
//! via 10.0.95.1 dev eth3, and a default route in each numbered table whose
//! gateway names the table (10.0.96.1: table 2, .11: 1, .13: 3, .14: 4,
//! .16: 6, .110: 10).

use packetwalk::engine::policy::Flow;
use packetwalk::engine::route::{RouteTable, TableId};
use packetwalk::engine::route_text::parse_routes;
use packetwalk::engine::trace::RouteResult;
use std::net::Ipv4Addr;

const ROUTER: &str = "\
default via 10.0.95.1 dev eth3
10.0.95.0/24 dev eth3 proto kernel scope link src 10.0.95.2
10.0.96.0/24 dev eth2 proto kernel scope link src 10.0.96.2
10.0.97.0/24 dev eth1 proto kernel scope link src 10.0.97.1
default via 10.0.96.11 dev eth2 table 1
default via 10.0.96.1 dev eth2 table 2
default via 10.0.96.13 dev eth2 table 3
default via 10.0.96.14 dev eth2 table 4
default via 10.0.96.16 dev eth2 table 6
default via 10.0.96.110 dev eth2 table 10
";

/// What `ip route get` printed (without `src`, `uid`, `mark` and the
/// cache line), or its error.
fn route_get(t: &RouteTable, query: &str) -> String {
    let w: Vec<&str> = query.split_whitespace().collect();
    let dst: Ipv4Addr = w[0].parse().unwrap();
    let mut f = Flow::to(dst);
    let mut from = String::new();
    let mut i = 1;
    while i < w.len() {
        let v = w[i + 1];
        match w[i] {
            "from" => {
                f.src = v.parse().unwrap();
                from = format!(" from {v}");
            }
            "iif" => f.iif = v,
            "mark" => f.mark = u32::from_str_radix(v.trim_start_matches("0x"), 16).unwrap(),
            "ipproto" => f.proto = if v == "tcp" { 6 } else { 17 },
            "dport" => f.ports = Some((40000, v.parse().unwrap())),
            other => panic!("{other}"),
        }
        i += 2;
    }
    let d = t.lookup_flow(&f);
    let said = match d.result() {
        RouteResult::Unicast { dev, via, .. } => {
            let via = via.map(|v| format!(" via {v}")).unwrap_or_default();
            let table = d.route.as_ref().unwrap().table;
            let table = if table == TableId::MAIN {
                String::new()
            } else {
                format!(" table {}", table.name())
            };
            return format!("{dst}{from}{via} dev {dev}{table}");
        }
        RouteResult::Unreachable => "No route to host",
        RouteResult::Blackhole => "Invalid argument",
        RouteResult::Prohibit => "Permission denied",
        RouteResult::NoRoute => "Network is unreachable",
        RouteResult::Local => return format!("local {dst}{from} dev lo table local"),
    };
    format!("RTNETLINK answers: {said}")
}

#[test]
fn route_get_through_ip_rules_as_the_kernel_answers() {
    // (rules and routes added to ROUTER, `ip route get` arguments, answer)
    let rows: &[(&str, &str, &str)] = &[
        // a: a source's own table, for a forwarded packet.
        (
            "32765:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.30 iif eth1",
            "8.8.8.8 from 10.0.97.30 via 10.0.96.1 dev eth2 table 2",
        ),
        (
            "32765:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.40 iif eth1",
            "8.8.8.8 from 10.0.97.40 via 10.0.95.1 dev eth3",
        ),
        // b: a mark sends it back to main first (the AWS VPC CNI's rule).
        (
            "1024:\tfrom all fwmark 0x80/0x80 lookup main\n32765:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.30 iif eth1 mark 0x80",
            "8.8.8.8 from 10.0.97.30 via 10.0.95.1 dev eth3",
        ),
        (
            "1024:\tfrom all fwmark 0x80/0x80 lookup main\n32765:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.30 iif eth1 mark 0x81",
            "8.8.8.8 from 10.0.97.30 via 10.0.95.1 dev eth3",
        ),
        (
            "1024:\tfrom all fwmark 0x80/0x80 lookup main\n32765:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.30 iif eth1 mark 0x100",
            "8.8.8.8 from 10.0.97.30 via 10.0.96.1 dev eth2 table 2",
        ),
        (
            "1024:\tfrom all fwmark 0x80/0x80 lookup main\n32765:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.30 iif eth1 mark 0x180",
            "8.8.8.8 from 10.0.97.30 via 10.0.95.1 dev eth3",
        ),
        // c: a table without the route: the next rule.
        (
            "100:\tfrom all lookup 100",
            "8.8.8.8 from 10.0.97.40 iif eth1",
            "8.8.8.8 from 10.0.97.40 via 10.0.95.1 dev eth3",
        ),
        (
            "100:\tfrom all lookup 100\n10.123.0.0/16 via 10.0.96.100 dev eth2 table 100",
            "10.123.0.1",
            "10.123.0.1 via 10.0.96.100 dev eth2 table 100",
        ),
        // d: a throw route: the next rule.
        (
            "32765:\tfrom 10.0.97.30 lookup 2\nthrow 10.5.0.0/16 table 2",
            "10.5.1.1 from 10.0.97.30 iif eth1",
            "10.5.1.1 from 10.0.97.30 via 10.0.95.1 dev eth3",
        ),
        (
            "32765:\tfrom 10.0.97.30 lookup 2\nthrow 10.5.0.0/16 table 2",
            "10.6.1.1 from 10.0.97.30 iif eth1",
            "10.6.1.1 from 10.0.97.30 via 10.0.96.1 dev eth2 table 2",
        ),
        // e: a route that refuses ends the lookup.
        (
            "160:\tfrom all to 10.7.0.0/16 lookup 2\nunreachable 10.7.0.0/16 table 2\nblackhole 10.7.1.0/24 table 2\nprohibit 10.7.2.0/24 table 2",
            "10.7.0.1 from 10.0.97.40 iif eth1",
            "RTNETLINK answers: No route to host",
        ),
        (
            "160:\tfrom all to 10.7.0.0/16 lookup 2\nunreachable 10.7.0.0/16 table 2\nblackhole 10.7.1.0/24 table 2\nprohibit 10.7.2.0/24 table 2",
            "10.7.1.1",
            "RTNETLINK answers: Invalid argument",
        ),
        (
            "160:\tfrom all to 10.7.0.0/16 lookup 2\nunreachable 10.7.0.0/16 table 2\nblackhole 10.7.1.0/24 table 2\nprohibit 10.7.2.0/24 table 2",
            "10.7.2.1 from 10.0.97.40 iif eth1",
            "RTNETLINK answers: Permission denied",
        ),
        // f: a rule's action ends it too, the first rule that matches.
        (
            "300:\tfrom all to 10.9.0.0/16 blackhole\n301:\tfrom all to 10.9.1.0/24 unreachable",
            "10.9.1.1",
            "RTNETLINK answers: Invalid argument",
        ),
        (
            "301:\tfrom all to 10.9.1.0/24 unreachable\n302:\tfrom all to 10.9.2.0/24 prohibit",
            "10.9.1.1 from 10.0.97.40 iif eth1",
            "RTNETLINK answers: Network is unreachable",
        ),
        (
            "301:\tfrom all to 10.9.1.0/24 unreachable\n302:\tfrom all to 10.9.2.0/24 prohibit",
            "10.9.2.1",
            "RTNETLINK answers: Permission denied",
        ),
        // g: suppress_prefixlength 0 sets main's default route aside.
        (
            "400:\tfrom all lookup main suppress_prefixlength 0\n401:\tfrom all lookup 2",
            "10.0.96.77",
            "10.0.96.77 dev eth2",
        ),
        (
            "400:\tfrom all lookup main suppress_prefixlength 0\n401:\tfrom all lookup 2",
            "8.8.8.8 from 10.0.97.40 iif eth1",
            "8.8.8.8 from 10.0.97.40 via 10.0.96.1 dev eth2 table 2",
        ),
        // h: goto jumps over a rule that matches; nop does nothing; a
        // goto with nowhere to go is passed over.
        (
            "200:\tfrom all goto 32766\n300:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.30 iif eth1",
            "8.8.8.8 from 10.0.97.30 via 10.0.95.1 dev eth3",
        ),
        (
            "202:\tfrom all nop\n300:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.30 iif eth1",
            "8.8.8.8 from 10.0.97.30 via 10.0.96.1 dev eth2 table 2",
        ),
        (
            "201:\tfrom all goto 31000 [unresolved]\n300:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.30 iif eth1",
            "8.8.8.8 from 10.0.97.30 via 10.0.96.1 dev eth2 table 2",
        ),
        (
            "201:\tfrom all goto 31000\n300:\tfrom 10.0.97.30 lookup 2\n31000:\tfrom 10.0.97.30 lookup 3",
            "8.8.8.8 from 10.0.97.30 iif eth1",
            "8.8.8.8 from 10.0.97.30 via 10.0.96.13 dev eth2 table 3",
        ),
        (
            "210:\tfrom 10.0.97.40 goto 32766\n300:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8 from 10.0.97.30 iif eth1",
            "8.8.8.8 from 10.0.97.30 via 10.0.96.1 dev eth2 table 2",
        ),
        // i: not (Calico's WireGuard rule).
        (
            "99:\tnot from all fwmark 0x100000/0x100000 lookup 1",
            "8.8.8.8",
            "8.8.8.8 via 10.0.96.11 dev eth2 table 1",
        ),
        (
            "99:\tnot from all fwmark 0x100000/0x100000 lookup 1",
            "8.8.8.8 from 10.0.97.40 iif eth1 mark 0x300000",
            "8.8.8.8 from 10.0.97.40 via 10.0.95.1 dev eth3",
        ),
        // j: iif lo is the host's own lookup.
        (
            "95:\tfrom all iif lo lookup 4",
            "8.8.8.8 from 10.0.97.1",
            "8.8.8.8 from 10.0.97.1 via 10.0.96.14 dev eth2 table 4",
        ),
        (
            "95:\tfrom all iif lo lookup 4",
            "8.8.8.8 from 10.0.97.40 iif eth1",
            "8.8.8.8 from 10.0.97.40 via 10.0.95.1 dev eth3",
        ),
        // k: oif never matches a lookup without one.
        (
            "96:\tfrom all oif eth2 lookup 3",
            "8.8.8.8",
            "8.8.8.8 via 10.0.95.1 dev eth3",
        ),
        // l: protocol and port.
        (
            "94:\tfrom all ipproto tcp dport 80 lookup 6",
            "8.8.8.8 from 10.0.97.40 iif eth1 ipproto tcp dport 80",
            "8.8.8.8 from 10.0.97.40 via 10.0.96.16 dev eth2 table 6",
        ),
        (
            "94:\tfrom all ipproto tcp dport 80 lookup 6",
            "8.8.8.8 ipproto tcp dport 81",
            "8.8.8.8 via 10.0.95.1 dev eth3",
        ),
        (
            "94:\tfrom all ipproto tcp dport 80 lookup 6",
            "8.8.8.8 ipproto udp dport 80",
            "8.8.8.8 via 10.0.95.1 dev eth3",
        ),
        // m: from and to together.
        (
            "89:\tfrom 10.1.0.0/16 to 10.2.0.0/16 lookup 10",
            "10.2.3.4 from 10.1.255.255 iif eth1",
            "10.2.3.4 from 10.1.255.255 via 10.0.96.110 dev eth2 table 10",
        ),
        (
            "89:\tfrom 10.1.0.0/16 to 10.2.0.0/16 lookup 10",
            "10.2.3.4 from 10.4.2.3 iif eth1",
            "10.2.3.4 from 10.4.2.3 via 10.0.95.1 dev eth3",
        ),
        // A rule at 0 goes after the local rule a namespace starts with,
        // which was there first.
        (
            "0:\tfrom all lookup 100\ndefault via 10.0.96.100 dev eth2 table 100\nlocal 10.0.97.1 dev eth1 table local proto kernel scope host src 10.0.97.1",
            "10.0.97.1 from 10.0.96.50 iif eth2",
            "local 10.0.97.1 from 10.0.96.50 dev lo table local",
        ),
        // n: an unbound socket's lookup has no source: `from` misses.
        (
            "32765:\tfrom 10.0.97.30 lookup 2",
            "8.8.8.8",
            "8.8.8.8 via 10.0.95.1 dev eth3",
        ),
    ];
    let mut wrong = Vec::new();
    for (added, query, want) in rows {
        let t = parse_routes(&format!("{ROUTER}{added}\n")).unwrap_or_else(|e| panic!("{e}"));
        let got = route_get(&t, query);
        if got != *want {
            wrong.push(format!("{added:?} / {query}: {got}, kernel: {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // suppress_prefixlength sets aside only a route that sends: an
    // unreachable or blackhole default ends the lookup all the same.
    for (kind, answer) in [
        ("unreachable", "RTNETLINK answers: No route to host"),
        ("blackhole", "RTNETLINK answers: Invalid argument"),
    ] {
        let t = parse_routes(&format!("{kind} default\n10.0.96.0/24 dev eth2 proto kernel scope link src 10.0.96.2\ndefault via 10.0.96.1 dev eth2 table 2\n100:\tfrom all lookup main suppress_prefixlength 0\n200:\tfrom all lookup 2\n")).unwrap();
        assert_eq!(route_get(&t, "8.8.8.8"), answer, "{kind}");
    }
    // Every rule missing: network unreachable.
    let t = parse_routes("throw 10.5.0.0/16 table 2\n150:\tfrom all to 10.5.0.0/16 lookup 2\n0:\tfrom all lookup local\n").unwrap();
    assert_eq!(
        route_get(&t, "10.5.1.1"),
        "RTNETLINK answers: Network is unreachable"
    );
}

/// `ip rule show`'s lines read and print back as the kernel printed them
/// (the tags it adds from what exists left aside).
#[test]
fn ip_rule_listing_reads_and_prints_back() {
    let listing = "0:\tfrom all lookup local
86:\tfrom 10.3.0.3 lookup default
87:\tfrom 10.3.0.2 lookup 100
89:\tfrom 10.1.0.0/16 to 10.2.0.0/16 lookup 10
90:\tfrom all uidrange 1000-2000 lookup 9
91:\tfrom all iif nosuchdev [detached] lookup 8
92:\tfrom all tos 0x10 lookup 7
93:\tfrom all sport 1000-2000 lookup 6
94:\tfrom all ipproto tcp dport 80 lookup 6
95:\tfrom all iif lo lookup 4
96:\tfrom all oif eth2 lookup 3
98:\tfrom all fwmark 0x1 lookup 5
99:\tnot from all fwmark 0x100000/0x100000 lookup 1
200:\tfrom all goto 32766
201:\tfrom all goto 31000 [unresolved]
202:\tfrom all nop
300:\tfrom all to 10.9.0.0/16 blackhole
301:\tfrom all to 10.9.1.0/24 unreachable
302:\tfrom all to 10.9.2.0/24 prohibit
400:\tfrom all lookup main suppress_prefixlength 0
512:\tfrom all to 10.0.97.30 lookup main
512:\tfrom all to 10.0.97.99 lookup 11
1024:\tfrom all fwmark 0x80/0x80 lookup main
32765:\tfrom 10.0.97.30 lookup 2
32766:\tfrom all lookup main
32767:\tfrom all lookup default
";
    let t = parse_routes(listing).unwrap_or_else(|e| panic!("{e}"));
    let printed: Vec<String> = t.rules.iter().map(|r| r.to_string()).collect();
    let want: Vec<String> = listing
        .lines()
        .map(|l| l.replace(" [detached]", "").replace(" [unresolved]", ""))
        .collect();
    assert_eq!(printed, want);
    // What ip refuses, named at its line and at the word (None: after
    // the line's end).
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "200:\tfrom all goto 100",
            "goto 100 does not go forward from rule 200",
            Some("100"),
        ),
        (
            "5:\tfrom all lookup cali",
            "table \"cali\" is not known",
            Some("cali"),
        ),
        (
            "5:\tfrom 10.0.0.0/33 lookup 2",
            "prefix length /33",
            Some("10.0.0.0/33"),
        ),
        ("5:\tfrom all", "the rule has no action", None),
        (
            "5:\tfrom all fwmark 0xzz lookup 2",
            "\"0xzz\" is not a mark",
            Some("0xzz"),
        ),
        (
            "5:\tfrom all lookup 2 suppress_prefixlength 40",
            "not a prefix length",
            Some("40"),
        ),
        (
            "5:\tfrom all frob 2 lookup 2",
            "unknown keyword \"frob\"",
            Some("frob"),
        ),
        (
            "1000:\tfrom all lookup 100 suppress_prefixlength 100",
            "not a prefix length",
            Some("100"),
        ),
        (
            "100:\tfrom all lookup 0",
            "table 0: the kernel gives such a rule a new, empty table",
            Some("0"),
        ),
    ];
    for (line, says, word) in cases {
        let e = parse_routes(&format!("10.0.0.0/24 dev eth0\n{line}\n")).unwrap_err();
        let x = &e.0[0];
        assert_eq!(x.line, 2, "{line}: {e}");
        assert!(x.message.contains(says), "{line}: {e}");
        let at: String = line.chars().skip(x.column - 1).collect();
        match word {
            // (The last occurrence: the offending word comes after any
            // earlier one of the same spelling here.)
            Some(w) => assert_eq!(
                at,
                line[line.rfind(w).unwrap()..],
                "{line}: column {}",
                x.column
            ),
            None => assert_eq!(at, "", "{line}: column {}", x.column),
        }
    }
    // Protocols by name, as iproute2 prints them.
    let t = parse_routes(
        "10:\tfrom all ipproto gre lookup 2\n11:\tfrom all ipproto ipv6-icmp lookup 2\n",
    )
    .unwrap();
    assert_eq!(t.rules[1].to_string(), "10:\tfrom all ipproto gre lookup 2");
}

/// A node with many rules (the AWS VPC CNI writes two for each pod): a
/// long run of rules that do not apply is listed by its first eight, and
/// the rest told in one row.
#[test]
fn a_long_run_of_rules_that_do_not_apply_is_one_row() {
    use packetwalk::engine::trace::RuleOutcome;
    let mut text = String::from(ROUTER);
    for p in 0..100u32 {
        text += &format!("{}:\tfrom 10.9.0.{p} lookup 2\n", 1000 + p);
    }
    let t = parse_routes(&text).unwrap();
    let d = t.lookup_flow(&Flow {
        src: "10.0.97.40".parse().unwrap(),
        iif: "eth1",
        ..Flow::to("8.8.8.8".parse().unwrap())
    });
    let rows: Vec<(String, RuleOutcome, usize)> = (d.rules.iter())
        .map(|r| (r.rule.clone(), r.outcome, r.more))
        .collect();
    assert_eq!(rows.len(), 1 + 8 + 1 + 1, "{rows:?}");
    assert_eq!(rows[0].1, RuleOutcome::GoesOn, "local");
    assert_eq!(
        rows[8],
        (
            "1007:\tfrom 10.9.0.7 lookup 2".into(),
            RuleOutcome::NoMatch,
            0
        )
    );
    assert_eq!(
        rows[9],
        ("priorities 1008 to 1099".into(), RuleOutcome::NoMatch, 92)
    );
    assert_eq!(
        rows[10],
        (
            "32766:\tfrom all lookup main".into(),
            RuleOutcome::Decides,
            0
        )
    );
}
