//! Netfilter semantics on small hand-written tables: jumps, goto, RETURN,
//! policies, statistic (seeded and forced), nth, recent, marks, addrtype,
//! and the chain index keeping exact first-match order.

use packetwalk::engine::iptables::eval::{run_hook, Env, Facts, Outcome, RuleAt};
use packetwalk::engine::iptables::rule::Recent;
use packetwalk::engine::iptables::{save, Hook, TableName};
use packetwalk::engine::packet::{Ipv4Header, Packet, Proto, TcpFlags, Transport};
use packetwalk::engine::scenario::{Scenario, Text};
use packetwalk::engine::sim::{reply_spec, send, Force, SendSpec, SimState};
use packetwalk::engine::trace::{StepKind, Trace, Verdict};
use packetwalk::engine::World;
use std::net::Ipv4Addr;

/// A node (10.0.0.1 on eth0, LAN 10.0.0.0/24) with `rules`, a client
/// 10.0.0.2, and a web server pod 10.244.0.5 (and .6) behind veths.
fn scenario(rules: &str) -> Scenario {
    let json = serde_json::json!({
        "name": "t", "title": "t", "seed": 7,
        "hosts": [
            {"name": "node", "kind": "node",
             "devices": [
                {"name": "lo", "type": "loopback", "addrs": ["127.0.0.1/8"]},
                {"name": "eth0", "type": "ethernet", "lan": "lan", "addrs": ["10.0.0.1/24"]},
                {"name": "veth5", "type": "veth", "peer": "web5/eth0", "proxy_arp": true},
                {"name": "veth6", "type": "veth", "peer": "web6/eth0", "proxy_arp": true}],
             "routes": ["10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1",
                        "10.244.0.5 dev veth5 scope link", "10.244.0.6 dev veth6 scope link"],
             "iptables": rules,
             "listeners": [{"proto": "tcp", "port": 22}]},
            {"name": "web5", "kind": "pod", "devices": [{"name": "eth0", "type": "veth", "peer": "node/veth5", "addrs": ["10.244.0.5/32"]}],
             "routes": ["default via 169.254.1.1 dev eth0", "169.254.1.1 dev eth0 scope link"], "listeners": [{"proto": "tcp", "port": 80}]},
            {"name": "web6", "kind": "pod", "devices": [{"name": "eth0", "type": "veth", "peer": "node/veth6", "addrs": ["10.244.0.6/32"]}],
             "routes": ["default via 169.254.1.1 dev eth0", "169.254.1.1 dev eth0 scope link"], "listeners": [{"proto": "tcp", "port": 80}]},
            {"name": "client", "kind": "client", "devices": [{"name": "eth0", "type": "ethernet", "lan": "lan", "addrs": ["10.0.0.2/24"]}],
             "routes": ["10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2", "10.96.0.0/12 via 10.0.0.1 dev eth0", "10.244.0.0/16 via 10.0.0.1 dev eth0"]}
        ]
    });
    serde_json::from_value(json).unwrap()
}

fn nat(body: &str) -> String {
    format!("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{body}COMMIT\n")
}

fn trace(rules: &str, to: &str, force: Vec<Force>, times: usize) -> Vec<Trace> {
    let mut w = World::build(&scenario(rules)).unwrap_or_else(|e| panic!("{e}"));
    let mut s = SimState::new(&w);
    (0..times)
        .map(|i| {
            let mut spec = SendSpec::new("client", to, Proto::Tcp);
            spec.src_port = Some(40000 + i as u16);
            spec.force = force.clone();
            send(&mut w, &mut s, &spec).unwrap()
        })
        .collect()
}

/// [`scenario`] with a default route on the node, built: the node then
/// answers a pod's ARP for its gateway (proxy ARP), so pods can answer.
fn routed(rules: &str) -> (World, SimState) {
    with_route(rules, "default via 10.0.0.254 dev eth0")
}

/// [`scenario`] with `rules` and one more route on the node.
fn with_route(rules: &str, route: &str) -> (World, SimState) {
    let mut sc = scenario(rules);
    if let Text::Lines(routes) = &mut sc.hosts[0].routes {
        routes.push(route.into());
    }
    let w = World::build(&sc).unwrap_or_else(|e| panic!("{e}"));
    let s = SimState::new(&w);
    (w, s)
}

/// The rules of chain `chain` (in the node's namespace) a trace matched,
/// by number, in order.
fn matched_in(t: &Trace, chain: &str) -> Vec<usize> {
    (t.steps.iter())
        .filter_map(|st| match &st.kind {
            StepKind::RuleMatch { chain: c, rule, .. } if c == chain && st.ns == "node" => {
                Some(rule.index)
            }
            _ => None,
        })
        .collect()
}

/// The FORWARD rules a UDP datagram from `from` to the pod 10.244.0.5
/// matched, by number.
fn forward_matches(w: &mut World, s: &mut SimState, from: &str) -> Vec<usize> {
    let t = send(w, s, &SendSpec::new(from, "10.244.0.5:53", Proto::Udp)).unwrap();
    matched_in(&t, "FORWARD")
}

/// A TCP segment from `from` to `to` with the source port, flags
/// (`SYN,ACK`) and bytes of data given.
fn tcp_spec(from: &str, to: &str, port: u16, flags: &str, len: u16) -> SendSpec {
    let mut spec = SendSpec::new(from, to, Proto::Tcp);
    spec.src_port = Some(port);
    spec.flags = Some(TcpFlags::from_bits(TcpFlags::parse_list(flags).unwrap()));
    spec.payload_len = len;
    spec
}

/// Sequence numbers for a conversation between the client and the pod:
/// each side's segment starts where its last one ended (ISNs 1000 and
/// 5000) and, with ACK, acknowledges all the other side sent.
struct Talk {
    next: [u32; 2],
}

impl Talk {
    fn new() -> Talk {
        Talk { next: [1000, 5000] }
    }

    fn number(&mut self, client: bool, spec: &mut SendSpec) {
        let (me, peer) = if client { (0, 1) } else { (1, 0) };
        let f = spec.flags.unwrap();
        spec.seq = Some(self.next[me]);
        spec.ack = Some(if f.ack { self.next[peer] } else { 0 });
        self.next[me] += u32::from(spec.payload_len) + u32::from(f.syn) + u32::from(f.fin);
    }
}

/// The state conntrack's lookup on the node gave the packet.
fn node_ct_state(t: &Trace) -> String {
    (t.steps.iter())
        .find_map(|st| match &st.kind {
            StepKind::Conntrack(packetwalk::engine::trace::CtEvent::Lookup { state, .. })
                if st.ns == "node" =>
            {
                Some(state.clone())
            }
            _ => None,
        })
        .unwrap()
}

fn delivered(t: &Trace) -> String {
    match &t.verdict {
        Verdict::Delivered { ns, .. } => ns.clone(),
        v => format!("{v:?}"),
    }
}

const LB: &str = ":SVC - [0:0]\n:SEP5 - [0:0]\n:SEP6 - [0:0]\n\
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j SVC\n\
-A SVC -m statistic --mode random --probability 0.50000000000 -j SEP5\n\
-A SVC -j SEP6\n\
-A SEP5 -p tcp -j DNAT --to-destination 10.244.0.5:80\n\
-A SEP6 -p tcp -j DNAT --to-destination 10.244.0.6:80\n";

#[test]
fn statistic_is_seeded_recorded_and_forceable() {
    let rules = nat(LB);
    let a: Vec<String> = trace(&rules, "10.96.0.10:80", vec![], 40)
        .iter()
        .map(delivered)
        .collect();
    let b: Vec<String> = trace(&rules, "10.96.0.10:80", vec![], 40)
        .iter()
        .map(delivered)
        .collect();
    assert_eq!(a, b, "the same seed gives the same branches");
    let fives = a.iter().filter(|x| *x == "web5").count();
    assert!((10..=30).contains(&fives), "p=0.5 over 40 packets: {fives}");
    // The draw and the probability are in the trace.
    let t = &trace(&rules, "10.96.0.10:80", vec![], 1)[0];
    let st = t.steps.iter().find_map(|s| match &s.kind {
        StepKind::Statistic {
            probability,
            draw,
            matched,
            forced,
            rule,
            ..
        } => Some((*probability, *draw, *matched, *forced, *rule)),
        _ => None,
    });
    let (p, draw, matched, forced, rule) = st.unwrap();
    assert_eq!((p, forced, rule), (0.5, false, 1));
    assert_eq!(matched, draw < 0.5);
    // Forcing each branch.
    for (want, matched) in [("web5", true), ("web6", false)] {
        let f = Force {
            host: "node".into(),
            table: TableName::Nat,
            chain: "SVC".into(),
            rule: 1,
            matched,
        };
        let ts = trace(&rules, "10.96.0.10:80", vec![f], 5);
        assert!(ts.iter().all(|t| delivered(t) == want), "forced {matched}");
        // Its words say whether the draw would have done the same.
        for t in &ts {
            let said = (t.steps.iter())
                .find(|s| matches!(s.kind, StepKind::Statistic { .. }))
                .map(packetwalk::engine::render::summary)
                .unwrap();
            let StepKind::Statistic { draw, .. } = t
                .steps
                .iter()
                .find(|s| matches!(s.kind, StepKind::Statistic { .. }))
                .unwrap()
                .kind
            else {
                unreachable!()
            };
            let as_drawn = (draw < 0.5) == matched;
            assert_eq!(
                said.ends_with("(forced, as the draw has it)"),
                as_drawn,
                "{said}"
            );
            assert!(said.ends_with("(forced)") || as_drawn, "{said}");
        }
    }
}

#[test]
fn jump_goto_return_and_policy() {
    // goto skips the caller's remaining rules: RETURN from G goes back to PREROUTING's caller (the policy).
    let cases: &[(&str, &str)] = &[
        (":A - [0:0]\n-A PREROUTING -j A\n-A PREROUTING -p tcp -j DNAT --to-destination 10.244.0.6:80\n-A A -j RETURN\n-A A -p tcp -j DNAT --to-destination 10.244.0.5:80\n", "web6"),
        (":A - [0:0]\n:G - [0:0]\n-A PREROUTING -j A\n-A PREROUTING -p tcp -j DNAT --to-destination 10.244.0.6:80\n-A A -g G\n-A A -p tcp -j DNAT --to-destination 10.244.0.5:80\n-A G -j RETURN\n", "web6"),
        (":A - [0:0]\n-A PREROUTING -j A\n-A A -p tcp -j DNAT --to-destination 10.244.0.5:80\n-A PREROUTING -p tcp -j DNAT --to-destination 10.244.0.6:80\n", "web5"),
        // A goto from the built-in chain: falling off the user chain applies the built-in's policy.
        (":G - [0:0]\n-A PREROUTING -g G\n-A PREROUTING -p tcp -j DNAT --to-destination 10.244.0.6:80\n", "Dropped { ns: \"node\", reason: NoRoute }"),
        // Mark set in one chain, tested in another.
        (":M - [0:0]\n-A PREROUTING -j M\n-A PREROUTING -m mark --mark 0x10/0x10 -p tcp -j DNAT --to-destination 10.244.0.5:80\n-A M -j MARK --or-mark 0x10\n", "web5"),
        (":M - [0:0]\n-A PREROUTING -j M\n-A PREROUTING -m mark ! --mark 0x10/0x10 -p tcp -j DNAT --to-destination 10.244.0.5:80\n-A PREROUTING -p tcp -j DNAT --to-destination 10.244.0.6:80\n-A M -j MARK --set-xmark 0x10/0xffffffff\n", "web6"),
        // Ports: ranges, negation, multiport.
        ("-A PREROUTING -p tcp -m tcp --dport 81:90 -j DNAT --to-destination 10.244.0.5:80\n-A PREROUTING -p tcp -m tcp ! --dport 80 -j DNAT --to-destination 10.244.0.5:80\n-A PREROUTING -p tcp -m multiport --dports 443,80 -j DNAT --to-destination 10.244.0.6:80\n", "web6"),
        // addrtype: 10.96.0.10 is not local; 10.0.0.1 would be.
        ("-A PREROUTING -m addrtype --dst-type LOCAL -p tcp -j DNAT --to-destination 10.244.0.5:80\n-A PREROUTING -m addrtype ! --dst-type LOCAL -p tcp -j DNAT --to-destination 10.244.0.6:80\n", "web6"),
        // Interfaces with wildcards.
        ("-A PREROUTING -i veth+ -p tcp -j DNAT --to-destination 10.244.0.5:80\n-A PREROUTING -i eth+ -p tcp -j DNAT --to-destination 10.244.0.6:80\n", "web6"),
        // TCP flags: the client sends SYN.
        ("-A PREROUTING -p tcp -m tcp ! --syn -j DNAT --to-destination 10.244.0.5:80\n-A PREROUTING -p tcp -m tcp --tcp-flags SYN,ACK SYN -j DNAT --to-destination 10.244.0.6:80\n", "web6"),
    ];
    for (body, want) in cases {
        let t = &trace(&nat(body), "10.96.0.10:80", vec![], 1)[0];
        let got = delivered(t);
        assert!(got.starts_with(want), "{body}\n=> {got}");
    }
}

#[test]
fn nth_counts_as_the_kernel_does() {
    // Measured on the kernel (iptables 1.8.9, Linux 6.18): --every 3
    // --packet 0 takes the 1st and 4th packets, --packet 2 the 3rd and 6th.
    for (packet, want) in [
        (0, ["web5", "web6", "web6", "web5", "web6", "web6"]),
        (2, ["web6", "web6", "web5", "web6", "web6", "web5"]),
    ] {
        let body = format!(":S - [0:0]\n-A PREROUTING -d 10.96.0.10/32 -j S\n-A S -m statistic --mode nth --every 3 --packet {packet} -p tcp -j DNAT --to-destination 10.244.0.5:80\n-A S -p tcp -j DNAT --to-destination 10.244.0.6:80\n");
        let got: Vec<String> = trace(&nat(&body), "10.96.0.10:80", vec![], 6)
            .iter()
            .map(delivered)
            .collect();
        assert_eq!(got, want, "--packet {packet}");
    }
}

#[test]
fn recent_gives_session_affinity() {
    // kube-proxy's ClientIP affinity: once SEP5 recorded the client, rcheck sends it back there.
    let body = ":SVC - [0:0]\n:SEP5 - [0:0]\n:SEP6 - [0:0]\n\
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j SVC\n\
-A SVC -m recent --name SEP5 --mask 255.255.255.255 --rsource --rcheck --seconds 10800 --reap -j SEP5\n\
-A SVC -m recent --name SEP6 --mask 255.255.255.255 --rsource --rcheck --seconds 10800 --reap -j SEP6\n\
-A SVC -m statistic --mode random --probability 0.50000000000 -j SEP5\n\
-A SVC -j SEP6\n\
-A SEP5 -p tcp -m recent --name SEP5 --mask 255.255.255.255 --rsource --set -j DNAT --to-destination 10.244.0.5:80\n\
-A SEP6 -p tcp -m recent --name SEP6 --mask 255.255.255.255 --rsource --set -j DNAT --to-destination 10.244.0.6:80\n";
    let got: Vec<String> = trace(&nat(body), "10.96.0.10:80", vec![], 12)
        .iter()
        .map(delivered)
        .collect();
    assert!(got.iter().all(|g| *g == got[0]), "{got:?}");
}

/// An Env for driving eval directly.
struct Plain;
impl Facts for Plain {
    fn addr_type(&self, _: Ipv4Addr, _: Option<&str>) -> u16 {
        packetwalk::engine::iptables::rule::addrtype::UNICAST
    }
    fn ct_state(&self) -> u8 {
        packetwalk::engine::iptables::rule::ctstate::NEW
    }
}
impl Env for Plain {
    fn draw(&mut self, _: RuleAt) -> (u32, Option<bool>) {
        (0, Some(false))
    }
    fn nth(&mut self, _: RuleAt, _: usize, _: u32, _: u32) -> bool {
        false
    }
    fn recent(&mut self, _: &Recent, _: Ipv4Addr, _: bool) -> bool {
        false
    }
    fn count(&mut self, _: RuleAt, _: u64) {}
}

fn packet(dst: Ipv4Addr, dport: u16) -> Packet {
    Packet {
        outer: vec![],
        ip: Ipv4Header {
            src: "10.1.2.3".parse().unwrap(),
            dst,
            ttl: 64,
            protocol: Proto::Tcp,
            id: 1,
            df: true,
            total_len: 40,
            vxlan: None,
        },
        transport: Transport::Tcp {
            src_port: 40000,
            dst_port: dport,
            flags: TcpFlags::SYN,
            seq: 1,
            ack: 0,
        },
        payload_len: 0,
        mark: 0,
        iif: Some("eth0".into()),
        oif: None,
        physin: None,
        physout: None,
    }
}

/// The chain index never changes which rule matches: every service of a
/// generated dump, and addresses in between, walk to the same outcome and
/// the same steps' rule positions with and without the index.
#[test]
fn chain_index_keeps_first_match_semantics() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gen-1500x1.iptables-save"
    ))
    .unwrap();
    let rs = save::parse(&text).unwrap();
    let nat = rs.table(TableName::Nat).unwrap();
    let mut plain = nat.clone();
    for c in &mut plain.chains {
        c.index = None;
    }
    assert!(nat.chain("KUBE-SERVICES").unwrap().index.is_some());
    let mut targets: Vec<(Ipv4Addr, u16)> = nat
        .chain("KUBE-SERVICES")
        .unwrap()
        .rules
        .iter()
        .filter_map(|r| {
            let d = r
                .args
                .split("-d ")
                .nth(1)?
                .split('/')
                .next()?
                .parse()
                .ok()?;
            let p = r
                .args
                .split("--dport ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()?;
            Some((d, p))
        })
        .collect();
    targets.push(("10.96.0.10".parse().unwrap(), 9999));
    targets.push(("192.168.0.10".parse().unwrap(), 30001));
    assert!(targets.len() > 1000);
    let positions = |steps: &[packetwalk::engine::trace::Step]| -> Vec<String> {
        steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::RuleMatch { chain, rule, .. } => Some(format!("{chain}:{}", rule.index)),
                StepKind::RulesSkipped {
                    chain, first, last, ..
                } => Some(format!("{chain}:{first}-{last}")),
                _ => None,
            })
            .collect()
    };
    for (d, p) in targets {
        let (mut p1, mut p2) = (packet(d, p), packet(d, p));
        let (mut s1, mut s2) = (Vec::new(), Vec::new());
        let o1: Outcome = run_hook(nat, Hook::Prerouting, &mut p1, &mut Plain, "n", &mut s1);
        let o2 = run_hook(&plain, Hook::Prerouting, &mut p2, &mut Plain, "n", &mut s2);
        assert_eq!(o1, o2, "{d}:{p}");
        assert_eq!(positions(&s1), positions(&s2), "{d}:{p}");
        assert_eq!(p1, p2);
    }
}

#[test]
fn log_writes_a_kernel_log_line_and_explain_names_the_failed_match() {
    let body = "-A PREROUTING -p tcp -m tcp --dport 81 -j ACCEPT\n-A PREROUTING -p tcp -j LOG --log-prefix \"svc: \"\n-A PREROUTING -d 10.96.0.10/32 -p tcp -j DNAT --to-destination 10.244.0.5:80\n";
    let t = &trace(&nat(body), "10.96.0.10:80", vec![], 1)[0];
    let line = t
        .steps
        .iter()
        .find_map(|s| match &s.kind {
            StepKind::Log { line } => Some(line.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        line.starts_with(
            "svc: IN=eth0 OUT= SRC=10.0.0.2 DST=10.96.0.10 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID="
        ),
        "{line}"
    );
    assert!(
        line.ends_with("PROTO=TCP SPT=40000 DPT=80 WINDOW=64240 RES=0x00 SYN URGP=0"),
        "{line}"
    );
    // The first rule was evaluated and skipped, with its reason.
    let skipped = t.steps.iter().find_map(|s| match &s.kind {
        StepKind::RulesSkipped { reasons, .. } => reasons.first().cloned(),
        _ => None,
    });
    let s = skipped.unwrap();
    assert_eq!(
        (s.failed.as_str(), s.reason.as_str()),
        ("--dport 81", "destination port 80 is not 81")
    );
    // The same reason on request, for any rule.
    let w = World::build(&scenario(&nat(body))).unwrap();
    let pkt = &t.steps[0].packet;
    let why =
        packetwalk::engine::sim::explain_rule(&w, "node", TableName::Nat, "PREROUTING", 1, pkt)
            .unwrap();
    assert_eq!(
        why,
        Some((
            "--dport 81".to_string(),
            "destination port 80 is not 81".to_string()
        ))
    );
    let none =
        packetwalk::engine::sim::explain_rule(&w, "node", TableName::Nat, "PREROUTING", 3, pkt)
            .unwrap();
    assert_eq!(none, None, "rule 3 matches");
    // A mark is logged after the rest, as nf_log prints it.
    let body = "-A PREROUTING -j MARK --set-xmark 0x4000/0x4000\n-A PREROUTING -j LOG\n";
    let t = &trace(
        &format!("*mangle\n:PREROUTING ACCEPT [0:0]\n{body}COMMIT\n"),
        "10.244.0.5:80",
        vec![],
        1,
    )[0];
    let line = t.steps.iter().find_map(|s| match &s.kind {
        StepKind::Log { line } => Some(line.clone()),
        _ => None,
    });
    assert!(
        line.as_deref()
            .is_some_and(|l| l.ends_with("SYN URGP=0 MARK=0x4000")),
        "{line:?}"
    );
}

/// Chains that call the same chains twice at every level (a DAG, no loop):
/// 2^24 paths. The walk stops with a clear verdict instead of running away.
#[test]
fn exponential_chain_graphs_stop_with_a_verdict() {
    let mut body = String::new();
    // 15 chains deep (as deep as nf_tables allows), each jumping four
    // times into the next: 4^14 walks of the last one.
    for i in 0..15 {
        body.push_str(&format!(":C{i} - [0:0]\n"));
    }
    body.push_str("-A PREROUTING -j C0\n");
    for i in 0..14 {
        body.push_str(&format!("-A C{i} -j C{}\n", i + 1).repeat(4));
    }
    let t = &trace(&nat(&body), "10.96.0.10:80", vec![], 1)[0];
    match &t.verdict {
        Verdict::Dropped { reason, .. } => {
            assert_eq!(*reason, packetwalk::engine::trace::DropReason::RuleLimit)
        }
        v => panic!("{v:?}"),
    }
    assert!(t.steps.len() < 25_000, "{}", t.steps.len());
}

/// Conntrack refuses to start connections with packets that cannot start
/// one, and raw rules run before the lookup.
#[test]
fn invalid_packets_and_raw_before_conntrack() {
    let mut w = World::build(&scenario(&format!(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -m conntrack --ctstate INVALID -j ACCEPT\nCOMMIT\n{}*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n",
        nat(LB)
    )))
    .unwrap();
    let mut s = SimState::new(&w);
    let mut spec = SendSpec::new("client", "10.244.0.5:80", Proto::Tcp);
    spec.flags = Some(TcpFlags {
        syn: true,
        ack: true,
        ..Default::default()
    });
    let t = send(&mut w, &mut s, &spec).unwrap();
    let order: Vec<String> = t
        .steps
        .iter()
        .filter(|s| s.ns == "node")
        .filter_map(|s| match &s.kind {
            StepKind::Chain { table, chain, .. } => Some(format!("{table}/{chain}")),
            StepKind::Conntrack(c) => Some(format!("{c:?}").split(' ').next().unwrap().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        order[..2],
        ["raw/PREROUTING".to_string(), "Lookup".to_string()],
        "{order:?}"
    );
    // The raw rule saw no connection (INVALID); the SYN-ACK stays INVALID,
    // starts no connection, and FORWARD drops it.
    assert!(t
        .steps
        .iter()
        .any(|s| matches!(&s.kind, StepKind::RuleMatch { chain, .. } if chain == "PREROUTING")));
    assert!(!t
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::Nat { .. })));
    match &t.verdict {
        Verdict::Dropped { reason, .. } => {
            assert_eq!(*reason, packetwalk::engine::trace::DropReason::Filtered)
        }
        v => panic!("{v:?}"),
    }
}

/// Two connections SNATed onto the same source address and port: the second
/// cannot be inserted into conntrack and is dropped, as the kernel does.
#[test]
fn snat_clash_is_dropped_at_confirm() {
    let rules = nat("-A POSTROUTING -p tcp -j SNAT --to-source 10.0.0.1:5000\n");
    let ts = trace(&rules, "10.244.0.5:80", vec![], 2);
    assert_eq!(delivered(&ts[0]), "web5");
    match &ts[1].verdict {
        Verdict::Dropped { reason, .. } => {
            assert_eq!(
                *reason,
                packetwalk::engine::trace::DropReason::ConntrackClash
            )
        }
        v => panic!("{v:?}"),
    }
}

/// A `recent` list's mask is its first rule's, even a `--rcheck` that the
/// packets reach before the `--set`: a second client of the same /24 is
/// found (`/proc/net/xt_recent` shows the masked address).
#[test]
fn a_recent_list_masks_with_its_first_rules_mask() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A FORWARD -m recent --rcheck --name M3 --mask 255.255.255.0 --rsource\n\
-A FORWARD -s 10.0.0.2/32 -m recent --set --name M3 --mask 255.255.255.255 --rsource\n\
-A FORWARD -m recent --rcheck --name M3 --mask 255.255.255.255 --rsource\nCOMMIT\n";
    let (mut w, mut s) = routed(rules);
    let got: Vec<Vec<usize>> = ["client", "client:10.0.0.3"]
        .iter()
        .map(|from| forward_matches(&mut w, &mut s, from))
        .collect();
    // The first: set, then found; the second (10.0.0.3): found by both
    // lookups, as 10.0.0.0.
    assert_eq!(got, [vec![2, 3], vec![1, 3]]);
}

/// `--reap` lets one address go per lookup: the list's least recently
/// stamped, when its last stamp is older than `--seconds` (measured on
/// Linux 6.18: three addresses set, then two lookups of the newest after
/// the others went stale: the oldest went at the first, the next at the
/// second). A list holds 100 addresses; the 101st pushes the least
/// recently stamped out. Rule 1 finds an address at any age, rule 2 reaps,
/// rule 3 stamps; the clock moves 1 s per packet.
#[test]
fn a_recent_reap_lets_the_oldest_stale_address_go() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A FORWARD -m recent --rcheck --name R --rsource\n\
-A FORWARD -m recent --rcheck --seconds 2 --reap --name R --rsource\n\
-A FORWARD -m recent --set --name R --rsource\nCOMMIT\n";
    let (mut w, mut s) = routed(rules);
    let mut matched = |from: &str| forward_matches(&mut w, &mut s, from);
    let got: Vec<Vec<usize>> = [
        "client:10.0.0.2",
        "client:10.0.0.3",
        "client:10.0.0.4",
        // .2 and .3 are stale now: this lookup reaps .2 alone.
        "client:10.0.0.4",
        "client:10.0.0.3",
        "client:10.0.0.2",
    ]
    .iter()
    .map(|from| matched(from))
    .collect();
    assert_eq!(
        got,
        [
            vec![3],
            vec![3],
            vec![3],
            vec![1, 2, 3],
            vec![1, 3],
            vec![3]
        ]
    );
    // 101 addresses: the first one set is the one pushed out.
    let (mut w, mut s) = routed(rules);
    let mut matched = |from: String| forward_matches(&mut w, &mut s, &from).contains(&1);
    for i in 10..111 {
        assert!(!matched(format!("client:10.0.0.{i}")), "10.0.0.{i} is new");
    }
    assert!(
        !matched("client:10.0.0.10".into()),
        "the oldest of 101 went"
    );
    assert!(matched("client:10.0.0.110".into()), "the newest stays");
}

/// Rules replaced between packets (an edit, as iptables-restore loads
/// it): a `recent` list lives on only if a new rule names it, and each
/// `nth` match counts again from zero. Measured on Linux 6.18 with
/// iptables-nft 1.8.9 (`/proc/net/xt_recent/L1` kept its address across a
/// restore naming it, was gone after one that did not, and came back
/// empty; an nth --every 3 matched the first packet after a restore).
/// Each row: the rules each packet meets (None: the same as before), and
/// the FORWARD rules each packet matched.
#[test]
fn replaced_rules_keep_only_the_state_the_kernel_keeps() {
    let filter = |rules: &str| {
        format!(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{rules}COMMIT\n"
        )
    };
    let check = "-A FORWARD -m recent --rcheck --name L1 --rsource\n";
    let set = "-A FORWARD -m recent --set --name L1 --rsource\n";
    let other = "-A FORWARD -p tcp\n";
    let nth = "-A FORWARD -m statistic --mode nth --every 2 --packet 1\n";
    type Case<'a> = (&'a str, &'a [Option<String>], &'a [&'a [usize]]);
    let cases: &[Case] = &[
        (
            "a list a new rule names keeps its addresses",
            &[
                Some(filter(&format!("{check}{set}"))),
                Some(filter(&format!("{other}{check}{set}"))),
            ],
            &[&[2], &[2, 3]],
        ),
        (
            "a list no new rule names is gone, and comes back empty",
            &[
                Some(filter(&format!("{check}{set}"))),
                Some(filter(other)),
                Some(filter(&format!("{check}{set}"))),
            ],
            &[&[2], &[], &[2]],
        ),
        (
            "the same rules kept: the list and the nth counter go on",
            &[Some(filter(&format!("{check}{set}{nth}"))), None, None],
            &[&[2], &[1, 2, 3], &[1, 2]],
        ),
        (
            "an nth counter starts again with the rules",
            &[
                Some(filter(nth)),
                None,
                None,
                Some(filter(&format!("{nth}{other}"))),
                None,
            ],
            &[&[], &[1], &[], &[], &[1]],
        ),
    ];
    for (what, rules, want) in cases {
        let (mut w, mut s) = routed("");
        let mut got = vec![];
        for r in rules.iter() {
            if let Some(r) = r {
                w.set_rules(0, r).unwrap_or_else(|e| panic!("{what}: {e}"));
                let rs = w.hosts[0].rules.clone();
                s.rules_replaced(0, rs.as_deref());
            }
            got.push(forward_matches(&mut w, &mut s, "client"));
        }
        let want: Vec<Vec<usize>> = want.iter().map(|w| w.to_vec()).collect();
        assert_eq!(got, want, "{what}");
    }
}

/// Two DNATs onto one server: the second connection from the same client
/// port would have the first one's reply tuple. No rule asked for source
/// NAT, but the kernel's null binding at POSTROUTING moves its source port
/// (measured on Linux 6.18: established, with a free port, nothing
/// dropped), and the connection is SNAT from then on.
#[test]
fn a_dnat_clash_is_resolved_by_the_null_binding() {
    let rules = format!(
        "{}*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate SNAT\nCOMMIT\n",
        nat("-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.0.5:80\n-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 10.244.0.5:80\n")
    );
    let (mut w, mut s) = routed(&rules);
    let mut sent = vec![];
    for to in ["10.0.0.1:8080", "10.0.0.1:8081"] {
        let mut spec = SendSpec::new("client", to, Proto::Tcp);
        spec.src_port = Some(6000);
        sent.push(send(&mut w, &mut s, &spec).unwrap());
    }
    let moved = |t: &Trace| {
        t.steps.iter().find_map(|st| match &st.kind {
            StepKind::Nat {
                nat: packetwalk::engine::trace::NatKind::NullBinding,
                before,
                after,
                rule: None,
            } => Some((before.port, after.port)),
            _ => None,
        })
    };
    assert_eq!(moved(&sent[0]), None);
    assert_eq!(delivered(&sent[1]), "web5");
    let (from, to) = moved(&sent[1]).expect("a null binding step");
    assert!(
        from == Some(6000) && to.is_some_and(|p| p != 6000),
        "{from:?} → {to:?}"
    );
    // The answer finds its way back to port 6000, through the binding.
    let answer = send(&mut w, &mut s, &reply_spec(&sent[1]).unwrap()).unwrap();
    let Verdict::Delivered { socket, .. } = &answer.verdict else {
        panic!("{:?}", answer.verdict)
    };
    assert!(
        socket.contains(":6000 that sent to 10.0.0.1:8081"),
        "{socket}"
    );
    let snat_state = |t: &Trace| {
        t.steps
            .iter()
            .any(|st| matches!(&st.kind, StepKind::RuleMatch { chain, .. } if chain == "FORWARD"))
    };
    assert!(snat_state(&answer) && !snat_state(&sent[0]));
}

/// A drop or reject names what gave the verdict: the rule (its position,
/// chain, line and text) or the chain's policy.
#[test]
fn a_filter_verdict_names_its_rule_or_policy() {
    let filter = |head: &str, body: &str| {
        format!("*filter\n:INPUT ACCEPT [0:0]\n{head}:OUTPUT ACCEPT [0:0]\n{body}COMMIT\n")
    };
    let cases = [
        (
            filter(":FORWARD ACCEPT [0:0]\n", "-A FORWARD -d 10.244.0.5/32 -p tcp -j DROP\n"),
            "rule 1 of filter FORWARD (line 5) dropped it: -A FORWARD -d 10.244.0.5/32 -p tcp -j DROP",
        ),
        (
            filter(":FORWARD DROP [0:0]\n", ""),
            "the policy DROP of filter FORWARD (line 3) dropped it",
        ),
        (
            filter(":FORWARD ACCEPT [0:0]\n:CHECK - [0:0]\n", "-A FORWARD -j CHECK\n-A CHECK -p tcp --dport 80 -j REJECT\n"),
            "rule 1 of filter CHECK (line 7) rejected it: -A CHECK -p tcp --dport 80 -j REJECT",
        ),
    ];
    for (rules, detail) in cases {
        let t = &trace(&rules, "10.244.0.5:80", Vec::new(), 1)[0];
        match &t.steps.last().unwrap().kind {
            StepKind::Drop { detail: d, .. } => assert_eq!(d, detail, "{rules}"),
            k => panic!("{rules}: {k:?}"),
        }
    }
}

/// MASQUERADE and a node's own packets take the address of the outgoing
/// device whose subnet holds the next hop (`inet_select_addr` toward the
/// gateway), as the kernel did in a netns: vpod with 10.99.2.1/24 and
/// 10.99.3.1/24, a route via 10.99.3.5, masqueraded as 10.99.3.1, and the
/// node's own packet sent from 10.99.3.1 (10.99.2.1 toward 10.99.2.x).
#[test]
fn the_source_address_is_the_one_on_the_next_hops_subnet() {
    let routes = "10.99.1.0/24 dev eth0 proto kernel scope link src 10.99.1.1\n\
                  10.99.2.0/24 dev vpod proto kernel scope link src 10.99.2.1\n\
                  10.99.3.0/24 dev vpod proto kernel scope link src 10.99.3.1\n\
                  10.99.58.0/24 via 10.99.3.5 dev vpod\n\
                  10.99.59.0/24 via 10.99.2.5 dev vpod\n";
    // The client's packets are masqueraded; the node's own are not, so
    // their source is the one the node's routing picked.
    let rules = nat("-A POSTROUTING -s 10.99.1.0/24 -o vpod -j MASQUERADE\n");
    let sc = Scenario::replay(
        Some(&rules),
        routes,
        Some("10.99.1.2".parse().unwrap()),
        None,
    )
    .unwrap();
    for (from, to, src) in [
        ("client:10.99.1.2", "10.99.58.7:80", "10.99.3.1"),
        ("client:10.99.1.2", "10.99.59.7:80", "10.99.2.1"),
        ("node", "10.99.58.7:80", "10.99.3.1"),
        ("node", "10.99.59.7:80", "10.99.2.1"),
    ] {
        let mut w = World::build(&sc).unwrap();
        let mut s = SimState::new(&w);
        let t = send(&mut w, &mut s, &SendSpec::new(from, to, Proto::Tcp)).unwrap();
        assert!(
            matches!(t.verdict, Verdict::Left { .. }),
            "{from} → {to}: {:?}",
            t.verdict
        );
        assert_eq!(
            t.steps.last().unwrap().packet.ip.src.to_string(),
            src,
            "{from} → {to}"
        );
    }
}

/// Closing and reopening a TCP connection through a DNAT, as measured on
/// Linux 6.18: a SYN reopens it (a new entry, the nat table again) after
/// TIME_WAIT, after its own side's RST, or after any RST once a FIN began
/// the closing; after the other side's RST alone, or in LAST_ACK, it is
/// let through on the old entry, ESTABLISHED. A RST answering the first
/// packet deletes the entry (nf_conntrack_proto_tcp.c).
#[test]
fn a_closed_connection_is_reopened_only_as_the_kernel_does() {
    let rules = nat("-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.0.5:80\n");
    let client = |flags: &'static str| ("client", "10.0.0.1:8080", 40000, flags);
    let server = |flags: &'static str| ("web5", "10.0.0.2:40000", 80, flags);
    type Send = (&'static str, &'static str, u16, &'static str);
    let open = [client("SYN"), server("SYN,ACK"), client("ACK")];
    let opened = |then: &[Send]| open.iter().chain(then).copied().collect::<Vec<Send>>();
    let reopened = "NEW (a SYN on a closed connection, which a FIN began to close or the SYN's own side reset: conntrack deleted the";
    let cases: Vec<(&str, Vec<Send>, &str)> = vec![
        ("the client's RST", opened(&[client("RST")]), reopened),
        ("the server's RST", opened(&[server("RST")]), "ESTABLISHED"),
        (
            "TIME_WAIT",
            opened(&[client("FIN,ACK"), server("FIN,ACK"), client("ACK")]),
            reopened,
        ),
        (
            "LAST_ACK",
            opened(&[client("FIN,ACK"), server("FIN,ACK")]),
            "ESTABLISHED",
        ),
        // A FIN began the closing: a RST from either side then lets it reopen.
        (
            "a FIN, then the server's RST",
            opened(&[client("FIN,ACK"), server("RST")]),
            reopened,
        ),
        // The answering side's SYN after its own RST: INVALID, untranslated
        // (measured); the entry stays.
        (
            "the server's SYN after its RST",
            opened(&[server("RST"), server("SYN")]),
            "INVALID (a SYN from the answering side",
        ),
        // A RST before any answer, from either side: the kernel deletes
        // the entry at once.
        (
            "the client's RST before an answer",
            vec![client("SYN"), client("RST")],
            "NEW (the connection's entry was deleted when a RST came before any answer)",
        ),
        (
            "a RST answering the SYN",
            vec![client("SYN"), server("RST,ACK")],
            "NEW (the connection's entry was deleted when a RST came before any answer)",
        ),
        ("no close", opened(&[]), "ESTABLISHED"),
    ];
    for (what, close, want) in cases {
        let (mut w, mut s) = routed(&rules);
        let mut last = None;
        // Each case ends with the client's SYN, unless it ends with a SYN.
        let final_syn = [client("SYN")];
        let tail: &[Send] = if close.last().is_some_and(|x| x.3 == "SYN") {
            &[]
        } else {
            &final_syn
        };
        let mut talk = Talk::new();
        for (from, to, port, flags) in close.iter().chain(tail) {
            let mut spec = tcp_spec(from, to, *port, flags, 0);
            talk.number(*from == "client", &mut spec);
            last = Some(send(&mut w, &mut s, &spec).unwrap());
        }
        let t = last.unwrap();
        let state = node_ct_state(&t);
        assert!(state.starts_with(want), "after {what}: {state}");
        if want.starts_with("INVALID") {
            // Not translated back: it leaves with the pod's own address.
            let out = t.steps.iter().rev().find(|st| st.ns == "node").unwrap();
            assert_eq!(out.packet.ip.src.to_string(), "10.244.0.5", "after {what}");
            continue;
        }
        // Reopened or not, the SYN reaches the pod through the DNAT; a
        // closed connection's socket is gone, so the listener takes it (an
        // open one's socket answers with a challenge ACK).
        assert_eq!(delivered(&t), "web5", "after {what}");
        let listener = matches!(&t.verdict, Verdict::Delivered { socket, .. } if socket.starts_with("tcp listening"));
        assert_eq!(
            listener,
            what != "no close" && what != "LAST_ACK",
            "after {what}: {:?}",
            t.verdict
        );
        let nat_ran = t
            .steps
            .iter()
            .any(|st| matches!(&st.kind, StepKind::Nat { .. }) && st.ns == "node");
        assert_eq!(
            nat_ran,
            want.starts_with("NEW"),
            "after {what}: the nat table"
        );
    }
}

/// conntrack's TCP tracker through a DNAT, against Linux 6.18 (default
/// sysctls, a client → router → server netns chain with the same DNAT):
/// each sequence of segments, the last one's state for `-m conntrack`, and
/// `conntrack -L` after it. The kernel listed a second less of each
/// timeout; here it is the value the last packet set.
#[test]
fn conntrack_follows_the_kernels_tcp_state_table() {
    let rules = nat("-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.0.5:80\n");
    type Send = (&'static str, &'static str);
    let (c, sv) = ("client", "server");
    let open: [Send; 3] = [(c, "SYN"), (sv, "SYN,ACK"), (c, "ACK")];
    let opened = |then: &[Send]| open.iter().chain(then).copied().collect::<Vec<Send>>();
    let tuples = "src=10.0.0.2 dst=10.0.0.1 sport=40000 dport=8080";
    let reply = "src=10.244.0.5 dst=10.0.0.2 sport=80 dport=40000";
    let line = |timeout: u32, state: &str, replied: bool, assured: bool| {
        format!(
            "tcp      6 {timeout} {state} {tuples}{} {reply}{} mark=0 use=1",
            if replied { "" } else { " [UNREPLIED]" },
            if assured { " [ASSURED]" } else { "" }
        )
    };
    let cases: Vec<(&str, Vec<Send>, &str, String)> = vec![
        ("a SYN", vec![(c, "SYN")], "NEW; TCP state SYN_SENT", line(120, "SYN_SENT", false, false)),
        ("its answer", vec![(c, "SYN"), (sv, "SYN,ACK")], "ESTABLISHED, reply direction; TCP state SYN_SENT → SYN_RECV", line(60, "SYN_RECV", true, false)),
        ("the handshake", opened(&[]), "ESTABLISHED; TCP state SYN_RECV → ESTABLISHED", line(432000, "ESTABLISHED", true, true)),
        ("data", opened(&[(c, "PSH,ACK+100")]), "ESTABLISHED", line(300, "ESTABLISHED", true, true)),
        ("data acknowledged", opened(&[(c, "PSH,ACK+100"), (sv, "ACK")]), "ESTABLISHED, reply direction", line(432000, "ESTABLISHED", true, true)),
        ("a FIN", opened(&[(c, "FIN,ACK")]), "ESTABLISHED; TCP state ESTABLISHED → FIN_WAIT", line(120, "FIN_WAIT", true, true)),
        ("its ACK", opened(&[(c, "FIN,ACK"), (sv, "ACK")]), "ESTABLISHED, reply direction; TCP state FIN_WAIT → CLOSE_WAIT", line(60, "CLOSE_WAIT", true, true)),
        // Any ACK in FIN_WAIT, even from the FIN's own side.
        ("an ACK after its own FIN", opened(&[(c, "FIN,ACK"), (c, "ACK")]), "ESTABLISHED; TCP state FIN_WAIT → CLOSE_WAIT", line(60, "CLOSE_WAIT", true, true)),
        ("a retransmitted FIN", opened(&[(c, "FIN,ACK"), (c, "FIN,ACK")]), "ESTABLISHED; TCP state FIN_WAIT → LAST_ACK", line(30, "LAST_ACK", true, true)),
        ("then the server's ACK", opened(&[(c, "FIN,ACK"), (c, "FIN,ACK"), (sv, "ACK")]), "ESTABLISHED, reply direction; TCP state LAST_ACK → TIME_WAIT", line(120, "TIME_WAIT", true, true)),
        ("a RST", opened(&[(sv, "RST")]), "ESTABLISHED, reply direction; TCP state ESTABLISHED → CLOSE", line(10, "CLOSE", true, true)),
        // Invalid: the entry stays as it was.
        ("the server's SYN in SYN_RECV", vec![(c, "SYN"), (sv, "SYN,ACK"), (sv, "SYN")], "INVALID (a SYN from the answering side of a connection in SYN_RECV", line(60, "SYN_RECV", true, false)),
        ("the server's SYN when established", opened(&[(sv, "SYN")]), "INVALID (a SYN from the answering side of a connection in ESTABLISHED", line(432000, "ESTABLISHED", true, true)),
        ("the server's SYN in CLOSE_WAIT", opened(&[(sv, "FIN,ACK"), (c, "ACK"), (sv, "SYN")]), "INVALID (a SYN from the answering side of a connection in CLOSE_WAIT", line(60, "CLOSE_WAIT", true, true)),
        ("the client's SYN-ACK after its SYN", vec![(c, "SYN"), (c, "SYN,ACK")], "INVALID (a SYN-ACK from the opening side after its own SYN", line(120, "SYN_SENT", false, false)),
        ("the client's ACK before an answer", vec![(c, "SYN"), (c, "ACK")], "INVALID (an ACK from the opening side before any SYN-ACK came back", line(120, "SYN_SENT", false, false)),
        ("the client's FIN before an answer", vec![(c, "SYN"), (c, "FIN,ACK")], "INVALID (a FIN from the opening side before the handshake was answered", line(120, "SYN_SENT", false, false)),
        // Ignored: through on the entry, its NAT and state unchanged.
        ("a SYN when established", opened(&[(c, "SYN")]), "ESTABLISHED; a SYN on a connection in ESTABLISHED: conntrack's TCP tracker ignores it", line(432000, "ESTABLISHED", true, true)),
        ("a retransmitted SYN-ACK", opened(&[(sv, "SYN,ACK")]), "ESTABLISHED, reply direction; a SYN-ACK on a connection in ESTABLISHED: conntrack's TCP tracker ignores it", line(432000, "ESTABLISHED", true, true)),
        // Picked up mid-stream (nf_conntrack_tcp_loose): 300 s until its
        // third packet, ASSURED then.
        ("a lone ACK", vec![(c, "ACK")], "NEW; TCP state ESTABLISHED", line(300, "ESTABLISHED", false, false)),
        ("its answer", vec![(c, "ACK"), (sv, "ACK")], "ESTABLISHED, reply direction", line(300, "ESTABLISHED", true, false)),
        ("a third", vec![(c, "ACK"), (sv, "ACK"), (c, "ACK")], "ESTABLISHED", line(432000, "ESTABLISHED", true, true)),
    ];
    for (what, sends, want, listed) in cases {
        let (mut w, mut s) = routed(&rules);
        let mut last = None;
        let mut talk = Talk::new();
        for (who, flags) in &sends {
            let (flags, len) = flags.split_once('+').unwrap_or((flags, "0"));
            let mut spec = match *who {
                "client" => tcp_spec(
                    "client",
                    "10.0.0.1:8080",
                    40000,
                    flags,
                    len.parse().unwrap(),
                ),
                _ => tcp_spec("web5", "10.0.0.2:40000", 80, flags, len.parse().unwrap()),
            };
            talk.number(*who == "client", &mut spec);
            // In one burst, as measured (the listing's timeouts are the
            // ones the packets set).
            spec.after = Some(0);
            last = Some(send(&mut w, &mut s, &spec).unwrap());
        }
        let t = last.unwrap();
        let state = node_ct_state(&t);
        assert!(state.starts_with(want), "{what}: {state}");
        assert_eq!(s.conntrack[0].list(s.clock), [listed], "{what}");
    }
}

/// A RST's sequence number, as conntrack checks it once the other side
/// has acknowledged something (measured on Linux 6.18): the exact number
/// closes; another within the window leaves an assured connection
/// ESTABLISHED with the CLOSE timeout (the receiver will send a challenge
/// ACK); one before the acknowledgement is invalid; a RST answering a SYN
/// must not acknowledge past it. Client ISN 1000, server ISN 5000.
#[test]
fn conntrack_checks_a_resets_sequence_number() {
    let rules = nat("-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.0.5:80\n");
    type Seg = (&'static str, &'static str, u32, u32, u16);
    let (c, sv) = ("client", "server");
    // The handshake, 100 bytes from the client, and their ACK.
    let talked: [Seg; 5] = [
        (c, "SYN", 1000, 0, 0),
        (sv, "SYN,ACK", 5000, 1001, 0),
        (c, "ACK", 1001, 5001, 0),
        (c, "PSH,ACK", 1001, 5001, 100),
        (sv, "ACK", 5001, 1101, 0),
    ];
    let after = |then: &[Seg]| talked.iter().chain(then).copied().collect::<Vec<Seg>>();
    let tuples = "src=10.0.0.2 dst=10.0.0.1 sport=40000 dport=8080 src=10.244.0.5 dst=10.0.0.2 sport=80 dport=40000";
    // What the receiving socket did (RFC 5961): took the reset, answered
    // it with a challenge ACK, or discarded it. An invalid RST is not
    // translated: it reaches the node's own port, where nothing listens,
    // or, from the pod, the client, which never sent to the pod itself.
    let (reset, challenged) = (
        "the reset ends the connection",
        "TCP answers it with a challenge ACK",
    );
    let cases: Vec<(&str, Vec<Seg>, &str, String, &str)> = vec![
        ("the exact number", after(&[(c, "RST", 1101, 0, 0)]), "ESTABLISHED; TCP state ESTABLISHED → CLOSE", format!("tcp      6 10 CLOSE {tuples} [ASSURED] mark=0 use=1"), reset),
        ("with its ACK", after(&[(sv, "RST,ACK", 5001, 1101, 0)]), "ESTABLISHED, reply direction; TCP state ESTABLISHED → CLOSE", format!("tcp      6 10 CLOSE {tuples} [ASSURED] mark=0 use=1"), reset),
        ("in the window, past it", after(&[(c, "RST", 1200, 0, 0)]), "ESTABLISHED; a RST with sequence number 1200, past 1101, the most the other side has acknowledged", format!("tcp      6 10 ESTABLISHED {tuples} [ASSURED] mark=0 use=1"), challenged),
        // The acknowledgement is checked after either decision.
        ("in the window, acknowledging past the client's data", after(&[(sv, "RST,ACK", 5100, 1200, 0)]), "INVALID (a RST acknowledging 1200, past anything the other side sent (it ends at 1101)", format!("tcp      6 432000 ESTABLISHED {tuples} [ASSURED] mark=0 use=1"), "NoListener"),
        ("then the exact one", after(&[(c, "RST", 1200, 0, 0), (c, "RST", 1101, 0, 0)]), "ESTABLISHED; TCP state ESTABLISHED → CLOSE", format!("tcp      6 10 CLOSE {tuples} [ASSURED] mark=0 use=1"), reset),
        ("before the acknowledgement", after(&[(c, "RST", 1050, 0, 0)]), "INVALID (a RST with sequence number 1050 in ESTABLISHED, before 1101", format!("tcp      6 432000 ESTABLISHED {tuples} [ASSURED] mark=0 use=1"), "NoListener"),
        // A RST train: data not yet acknowledged, then a RST at its end.
        ("after the sender's own data", after(&[(sv, "PSH,ACK", 5001, 1101, 20), (sv, "RST,ACK", 5021, 1101, 0)]), "ESTABLISHED, reply direction; TCP state ESTABLISHED → CLOSE", format!("tcp      6 10 CLOSE {tuples} [ASSURED] mark=0 use=1"), reset),
        // Closing anyway: no check.
        ("in FIN_WAIT, before the acknowledgement", after(&[(c, "FIN,ACK", 1101, 5001, 0), (c, "RST", 1050, 0, 0)]), "ESTABLISHED; TCP state FIN_WAIT → CLOSE", format!("tcp      6 10 CLOSE {tuples} [ASSURED] mark=0 use=1"), "OutOfWindow"),
        // The socket, once the peer's FIN came, takes a reset at the FIN's
        // own number too; in TIME_WAIT, only the exact one; past its
        // window, none.
        ("at the FIN's number, in CLOSE_WAIT", after(&[(c, "FIN,ACK", 1101, 5001, 0), (c, "RST", 1101, 0, 0)]), "ESTABLISHED; TCP state FIN_WAIT → CLOSE", format!("tcp      6 10 CLOSE {tuples} [ASSURED] mark=0 use=1"), "the peer had closed its side: recv() reads the end of the stream"),
        ("inexact, in TIME_WAIT", after(&[(sv, "FIN,ACK", 5001, 1101, 0), (c, "FIN,ACK", 1101, 5002, 0), (c, "RST", 1105, 0, 0)]), "ESTABLISHED; TCP state LAST_ACK → CLOSE", format!("tcp      6 10 CLOSE {tuples} [ASSURED] mark=0 use=1"), "OutOfWindow"),
        ("past the socket's window", after(&[(c, "RST", 1101 + 70_000, 0, 0)]), "ESTABLISHED; a RST with sequence number 71101, past 1101", format!("tcp      6 10 ESTABLISHED {tuples} [ASSURED] mark=0 use=1"), "OutOfWindow"),
        ("answering the SYN", vec![(c, "SYN", 1000, 0, 0), (sv, "RST,ACK", 0, 1001, 0)], "ESTABLISHED, reply direction; a RST came before any answer, so conntrack deletes the connection", String::new(), "ECONNREFUSED"),
        // Before any answer the opener's window ends at its SYN's end
        // (measured: the entry stays SYN_SENT past it, goes at it).
        ("the opener's, past its SYN's end", vec![(c, "SYN", 1000, 0, 0), (c, "RST,ACK", 1002, 0, 0)], "INVALID (a RST with sequence number 1002, past 1001, where the opening SYN ended", "tcp      6 120 SYN_SENT src=10.0.0.2 dst=10.0.0.1 sport=40000 dport=8080 [UNREPLIED] src=10.244.0.5 dst=10.0.0.2 sport=80 dport=40000 mark=0 use=1".to_string(), "NoListener"),
        ("the opener's, at its SYN's end", vec![(c, "SYN", 1000, 0, 0), (c, "RST,ACK", 1001, 0, 0)], "NEW (no reply seen yet); a RST came before any answer, so conntrack deletes the connection", String::new(), "listening on 0.0.0.0:80"),
        ("acknowledging past the SYN", vec![(c, "SYN", 1000, 0, 0), (sv, "RST,ACK", 0, 1005, 0)], "INVALID (a RST acknowledging 1005, past anything the other side sent (it ends at 1001)", "tcp      6 120 SYN_SENT src=10.0.0.2 dst=10.0.0.1 sport=40000 dport=8080 [UNREPLIED] src=10.244.0.5 dst=10.0.0.2 sport=80 dport=40000 mark=0 use=1".to_string(), "NoListener"),
    ];
    for (what, segs, want, listed, socket) in cases {
        let (mut w, mut s) = routed(&rules);
        let mut last = None;
        for (who, flags, seq, ack, len) in &segs {
            let mut spec = match *who {
                "client" => tcp_spec("client", "10.0.0.1:8080", 40000, flags, *len),
                _ => tcp_spec("web5", "10.0.0.2:40000", 80, flags, *len),
            };
            spec.seq = Some(*seq);
            spec.ack = Some(*ack);
            // In one burst, as measured: the listing's timeouts are the
            // ones the packets set (none has run down).
            spec.after = Some(0);
            last = Some(send(&mut w, &mut s, &spec).unwrap());
        }
        let t = last.unwrap();
        let state = node_ct_state(&t);
        assert!(state.starts_with(want), "{what}: {state}");
        let did = match &t.verdict {
            Verdict::Delivered { socket, .. } => socket.clone(),
            v => format!("{v:?}"),
        };
        assert!(did.contains(socket), "{what}: {did}");
        let list: Vec<String> = s.conntrack[0]
            .list(s.clock)
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect();
        let want_list: Vec<String> = Some(listed).filter(|l| !l.is_empty()).into_iter().collect();
        assert_eq!(list, want_list, "{what}");
    }
}

/// ECN's flags (measured on Linux 6.18): a SYN with ECE and CWR is a SYN
/// to conntrack and to `--syn` (`--tcp-flags FIN,SYN,RST,ACK SYN`), and
/// the answer agrees to ECN (its SYN-ACK carries ECE: tcp_ecn = 2);
/// iptables' `--tcp-flags` itself knows neither name.
#[test]
fn an_ecn_syn_is_a_syn() {
    let rules = nat("-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 --tcp-flags FIN,SYN,RST,ACK SYN -j DNAT --to-destination 10.244.0.5:80\n");
    let (mut w, mut s) = routed(&rules);
    let syn = tcp_spec("client", "10.0.0.1:8080", 40000, "SYN,ECE,CWR", 0);
    let t = send(&mut w, &mut s, &syn).unwrap();
    assert_eq!(node_ct_state(&t), "NEW; TCP state SYN_SENT");
    assert_eq!(delivered(&t), "web5");
    let answer = reply_spec(&t).unwrap();
    assert_eq!(
        answer.flags.map(|f| f.to_string()).as_deref(),
        Some("SYN,ACK,ECE")
    );
    let back = send(&mut w, &mut s, &answer).unwrap();
    assert!(node_ct_state(&back).ends_with("TCP state SYN_SENT → SYN_RECV"));
    // A plain SYN's answer does not.
    let t = send(
        &mut w,
        &mut s,
        &tcp_spec("client", "10.0.0.1:8080", 40001, "SYN", 0),
    )
    .unwrap();
    assert_eq!(
        reply_spec(&t)
            .unwrap()
            .flags
            .map(|f| f.to_string())
            .as_deref(),
        Some("SYN,ACK")
    );
    let refused = World::build(&scenario(&nat(
        "-A PREROUTING -p tcp -m tcp --tcp-flags ECE,CWR ECE -j ACCEPT\n",
    )));
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("bad TCP flag list \"ECE,CWR\"")),
        "{}",
        refused.err().map(|e| e.to_string()).unwrap_or_default()
    );
}

/// UDP through the node: 30 s until a packet after the answer comes more
/// than 2 s after the first (the simulator's clock moves 1 s a packet),
/// then a stream's 120 s and ASSURED; measured on Linux 6.18.
#[test]
fn a_udp_stream_is_assured_as_the_kernel_does() {
    let (mut w, mut s) = routed(&nat(""));
    let tuples = "src=10.0.0.2 dst=10.244.0.5 sport=40000 dport=53";
    let reply = "src=10.244.0.5 dst=10.0.0.2 sport=53 dport=40000";
    for (from, to, port, want) in [
        (
            "client",
            "10.244.0.5:53",
            40000,
            format!("udp      17 30 {tuples} [UNREPLIED] {reply} mark=0 use=1"),
        ),
        (
            "web5",
            "10.0.0.2:40000",
            53,
            format!("udp      17 30 {tuples} {reply} mark=0 use=1"),
        ),
        // 2 s after the first: not yet a stream.
        (
            "client",
            "10.244.0.5:53",
            40000,
            format!("udp      17 30 {tuples} {reply} mark=0 use=1"),
        ),
        (
            "client",
            "10.244.0.5:53",
            40000,
            format!("udp      17 120 {tuples} {reply} [ASSURED] mark=0 use=1"),
        ),
    ] {
        let mut spec = SendSpec::new(from, to, Proto::Udp);
        spec.src_port = Some(port);
        send(&mut w, &mut s, &spec).unwrap();
        assert_eq!(s.conntrack[0].list(s.clock), [want], "from {from}");
    }
}

/// A SYN on an established connection reaches that connection's socket,
/// which answers with a challenge ACK (RFC 5961) from where its sequence
/// stands, acknowledging what it had received: as a real server did on
/// Linux 6.18. conntrack ignores the SYN and lets the ACK through
/// (ESTABLISHED stays); the restarted client resets the old connection
/// (RFC 793: an ACK that does not answer its SYN), and its next SYN opens
/// a new one.
#[test]
fn a_syn_on_an_established_connection_gets_a_challenge_ack() {
    let rules = nat("-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.0.5:80\n");
    let (mut w, mut s) = routed(&rules);
    let mut spec = SendSpec::new("client", "10.0.0.1:8080", Proto::Tcp);
    spec.src_port = Some(40000);
    let syn = send(&mut w, &mut s, &spec).unwrap();
    let syn_ack = send(&mut w, &mut s, &reply_spec(&syn).unwrap()).unwrap();
    let ack = send(&mut w, &mut s, &reply_spec(&syn_ack).unwrap()).unwrap();
    let numbers = |t: &Trace| match &t.steps.last().unwrap().packet.transport {
        Transport::Tcp {
            seq, ack, flags, ..
        } => (flags.to_string(), *seq, *ack),
        x => panic!("{x:?}"),
    };
    let (_, client_next, server_next) = numbers(&ack);
    let again = send(&mut w, &mut s, &spec).unwrap();
    match &again.steps.last().unwrap().kind {
        StepKind::Deliver { socket, answer } => {
            assert!(
                socket.starts_with("the established connection's socket 10.244.0.5:80"),
                "{socket}"
            );
            assert!(answer.is_some());
        }
        k => panic!("{k:?}"),
    }
    let challenge = send(&mut w, &mut s, &reply_spec(&again).unwrap()).unwrap();
    assert_eq!(
        numbers(&challenge),
        ("ACK".to_string(), server_next, client_next)
    );
    let ct_state = |s: &SimState| {
        let line = s.conntrack[0].list(s.clock)[0].clone();
        line.split(' ')
            .filter(|w| !w.is_empty())
            .nth(3)
            .unwrap()
            .to_string()
    };
    assert_eq!(ct_state(&s), "ESTABLISHED");
    // The client, connecting anew (SYN_SENT), answers the ACK that is no
    // answer to its SYN with a reset whose number is that ACK's; it
    // closes the entry, and the client's next SYN opens a new connection.
    assert_eq!(
        delivered(&challenge),
        "Dropped { ns: \"client\", reason: NoConnection }"
    );
    let rst = send(&mut w, &mut s, &reply_spec(&challenge).unwrap()).unwrap();
    assert_eq!(numbers(&rst), ("RST".to_string(), client_next, 0));
    assert_eq!(ct_state(&s), "CLOSE");
    let syn = send(&mut w, &mut s, &spec).unwrap();
    assert_eq!(delivered(&syn), "web5");
    assert_eq!(ct_state(&s), "SYN_SENT");
}

/// Address ranges are hashed as the kernel hashes them (jhash2 of the
/// source, seeded with the destination): one client gets one address of a
/// DNAT range whatever its source port, and clients differ. The addresses
/// are the kernel's own choice for these tuples (the model of
/// `nat::pick_addr`, checked against Linux 6.18).
#[test]
fn a_dnat_address_range_gives_a_client_one_hashed_address() {
    let rules = nat("-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.0.5-10.244.0.6:80\n");
    let mut w = World::build(&scenario(&rules)).unwrap_or_else(|e| panic!("{e}"));
    let mut s = SimState::new(&w);
    for (client, pod) in [
        ("client", "web5"),
        ("client:10.0.0.3", "web6"),
        ("client:10.0.0.11", "web6"),
        ("client:10.0.0.6", "web5"),
    ] {
        for port in [40000, 40001, 51234] {
            let mut spec = SendSpec::new(client, "10.0.0.1:8080", Proto::Tcp);
            spec.src_port = Some(port);
            let t = send(&mut w, &mut s, &spec).unwrap();
            assert_eq!(delivered(&t), pod, "{client}:{port}");
        }
    }
}

/// `recent --hitcount` above the 20 timestamps the kernel keeps by
/// default works as written, beyond 255 too (Linux 6.18: `--hitcount 25`
/// dropped pings 25 to 30; `--hitcount 300` matched 101 of 400 pings).
#[test]
fn recent_hitcount_above_twenty_counts_every_packet() {
    for (hitcount, sends) in [(25, 30), (300, 305)] {
        let rules = format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
            -A FORWARD -p tcp -m recent --name t --set\n\
            -A FORWARD -p tcp -m recent --name t --rcheck --seconds 100000 --hitcount {hitcount} -j DROP\nCOMMIT\n");
        let got: Vec<bool> = trace(&rules, "10.244.0.5:80", vec![], sends)
            .iter()
            .map(|t| delivered(t) == "web5")
            .collect();
        let want: Vec<bool> = (1..=sends).map(|n| n < hitcount).collect();
        assert_eq!(got, want, "--hitcount {hitcount}");
    }
}

/// Nobody answers ARP for the next hop: a forwarded packet's sender gets an
/// ICMP host unreachable from the router (measured on Linux 6.18, about
/// 3 s later), reverse-NATed like any answer.
#[test]
fn an_unanswered_arp_answers_the_sender_with_host_unreachable() {
    let (mut w, mut s) = with_route(
        &nat("-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.0.7:80\n"),
        "10.244.0.7 dev veth5 scope link",
    );
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.0.0.1:8080", Proto::Tcp),
    )
    .unwrap();
    let last = t.steps.last().unwrap();
    let StepKind::Drop {
        reason,
        response: Some(r),
        detail,
        ..
    } = &last.kind
    else {
        panic!("{:?}", last.kind);
    };
    assert_eq!(*reason, packetwalk::engine::trace::DropReason::NoNeighbour);
    assert!(
        detail.contains("the kernel gives up and tells the sender"),
        "{detail}"
    );
    let Transport::Icmp {
        icmp_type: 3,
        code: 1,
        quoted: Some(q),
        ..
    } = &r.transport
    else {
        panic!("{:?}", r.transport);
    };
    // As the router makes it: quoting the packet as DNAT made it.
    assert_eq!((q.ip.dst, q.dst_port), ("10.244.0.7".parse().unwrap(), 80));
    // Followed back, it comes from the address the client sent to, quoting
    // its packet as sent, and the client's connect() fails.
    let back = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    let got = &back.steps.last().unwrap().packet;
    let Transport::Icmp {
        quoted: Some(q), ..
    } = &got.transport
    else {
        panic!("{:?}", got.transport);
    };
    assert_eq!(
        (got.ip.src, got.ip.dst),
        ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
    );
    assert_eq!((q.ip.dst, q.dst_port), ("10.0.0.1".parse().unwrap(), 8080));
    let Verdict::Delivered { socket, .. } = &back.verdict else {
        panic!("{:?}", back.verdict);
    };
    assert!(
        socket.contains("connect() fails with EHOSTUNREACH"),
        "{socket}"
    );
}

/// The kernel routes its answer to a refused packet before it sends it:
/// with no route back to the sender, icmp_send and the resets send nothing
/// and the sender hears nothing (measured on Linux 6.18: a router whose
/// main table is empty answers neither ping nor connect(), for no route
/// and for REJECT alike; given the route back, both are answered).
#[test]
fn a_host_with_no_route_back_answers_nothing() {
    let filter = |target: &str| {
        format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp -j {target}\nCOMMIT\n")
    };
    let only_pod = vec!["10.244.0.5 dev veth5 scope link".to_string()];
    // (rules, the node's routes or the scenario's, destination, what the drop says)
    type Case<'a> = (String, Option<Vec<String>>, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (String::new(), Some(only_pod.clone()), "10.244.0.9:80", Some("no ICMP network-unreachable goes back: node has no route to 10.0.0.2, so the kernel sends nothing; the sender hears nothing: its connect() retries until it times out")),
        (filter("REJECT"), Some(only_pod.clone()), "10.244.0.5:80", Some("no ICMP port-unreachable goes back: node has no route to 10.0.0.2")),
        (filter("REJECT --reject-with tcp-reset"), Some(only_pod), "10.244.0.5:80", Some("no reset goes back: node has no route to 10.0.0.2")),
        // With the route back, the same REJECT answers.
        (filter("REJECT"), None, "10.244.0.5:80", None),
    ];
    for (rules, routes, to, says) in cases {
        let mut sc = scenario(&rules);
        if let Some(r) = routes {
            sc.hosts[0].routes = Text::Lines(r);
        }
        let mut w = World::build(&sc).unwrap_or_else(|e| panic!("{e}"));
        let mut s = SimState::new(&w);
        let t = send(&mut w, &mut s, &SendSpec::new("client", to, Proto::Tcp)).unwrap();
        let StepKind::Drop {
            response, detail, ..
        } = &t.steps.last().unwrap().kind
        else {
            panic!("{rules} {to}: {:?}", t.verdict);
        };
        match says {
            Some(words) => {
                assert!(response.is_none(), "{rules} {to}: {response:?}");
                assert!(detail.contains(words), "{rules} {to}: {detail}");
                assert!(
                    reply_spec(&t).is_none(),
                    "{rules} {to}: nothing to follow back"
                );
            }
            None => assert!(
                response.is_some() && reply_spec(&t).is_some(),
                "{rules} {to}: {detail}"
            ),
        }
    }
}

/// A ping through DNAT, as `ping` and the kernel's echo responder do it:
/// Reply is the echo-reply (same id and sequence), translated back by the
/// connection conntrack keyed on the id; Again is ping's next request on
/// the same entry; an echo-reply conntrack does not know is INVALID, and
/// no socket takes it.
#[test]
fn a_ping_is_answered_and_tracked_by_its_echo_id() {
    use packetwalk::engine::sim::{again_spec, reply_spec};
    let rules = nat("-A PREROUTING -d 10.0.0.1/32 -p icmp -j DNAT --to-destination 10.244.0.5\n");
    let (mut w, mut s) = routed(&rules);
    let mut ping = SendSpec::new("client", "10.0.0.1", Proto::Icmp);
    ping.src_port = Some(4242);
    let node_ct = |t: &Trace| {
        (t.steps.iter())
            .find_map(|st| match &st.kind {
                StepKind::Conntrack(packetwalk::engine::trace::CtEvent::Lookup {
                    state, ..
                }) if st.ns == "node" => Some(state.clone()),
                _ => None,
            })
            .unwrap()
    };
    let echo = |t: &Trace| match &t.steps.last().unwrap().packet.transport {
        Transport::Icmp {
            icmp_type, id, seq, ..
        } => (*icmp_type, *id, *seq),
        other => panic!("{other:?}"),
    };
    let request = send(&mut w, &mut s, &ping).unwrap();
    assert_eq!(delivered(&request), "web5");
    assert_eq!(echo(&request), (8, 4242, 1));

    let answer = reply_spec(&request).expect("the echo responder answers");
    assert_eq!(
        (answer.from.as_str(), answer.to.as_str()),
        ("web5", "10.0.0.2")
    );
    let reply = send(&mut w, &mut s, &answer).unwrap();
    assert_eq!(node_ct(&reply), "ESTABLISHED, reply direction");
    let last = reply.steps.last().unwrap();
    // From the address the client pinged, to its ping socket.
    assert_eq!(last.packet.ip.src.to_string(), "10.0.0.1");
    assert_eq!(echo(&reply), (0, 4242, 1));
    assert_eq!(
        reply.verdict,
        Verdict::Delivered {
            ns: "client".into(),
            socket: "the ping socket (echo id 4242) that sent to 10.0.0.1".into()
        }
    );
    // Nothing answers an echo-reply.
    assert!(reply_spec(&reply).is_none());
    // As conntrack -L lists it on the node: the reply tuple shows the DNAT.
    assert_eq!(
        s.conntrack[0].list(s.clock),
        ["icmp     1 30 src=10.0.0.2 dst=10.0.0.1 type=8 code=0 id=4242 src=10.244.0.5 dst=10.0.0.2 type=0 code=0 id=4242 mark=0 use=1"]
    );

    let next = send(&mut w, &mut s, &again_spec(&ping, &request).unwrap()).unwrap();
    assert_eq!(echo(&next), (8, 4242, 2));
    assert_eq!(node_ct(&next), "ESTABLISHED");
    assert_eq!(delivered(&next), "web5");

    // Ping's next echo after the reply: from the ping socket, seq 2.
    let after_reply = again_spec(&answer, &reply).expect("ping pings again");
    assert_eq!(
        (
            after_reply.from.as_str(),
            after_reply.to.as_str(),
            after_reply.src_port,
            after_reply.seq
        ),
        ("client", "10.0.0.1", Some(4242), Some(2))
    );

    // The pod pings the client with the same identifier: the type is part
    // of the tuple, so it is a connection of its own, not the reply
    // direction of the client's (measured on Linux 6.18).
    let mut back = SendSpec::new("web5", "10.0.0.2", Proto::Icmp);
    back.src_port = Some(4242);
    let back = send(&mut w, &mut s, &back).unwrap();
    assert_eq!(node_ct(&back), "NEW");
    assert_eq!(
        back.steps.last().unwrap().packet.ip.src.to_string(),
        "10.244.0.5"
    );

    // After conntrack -F the pod's echo-reply is INVALID and goes out
    // untranslated; the client's ping socket still takes it, by its
    // identifier alone (ping_lookup), and no ICMP error answers it.
    s.clear_conntrack();
    let stray = send(&mut w, &mut s, &answer).unwrap();
    assert_eq!(
        node_ct(&stray),
        "INVALID (an ICMP reply to no known request)"
    );
    assert_eq!(
        stray.verdict,
        Verdict::Delivered {
            ns: "client".into(),
            socket: "the ping socket (echo id 4242) that sent to 10.0.0.1, though this reply comes from 10.244.0.5: ping reports it as from there".into()
        }
    );

    // Echoes are sent, and the kernel's errors about a packet it quotes.
    let mut bad = ping.clone();
    for (t, code, want) in [
        (3, None, "ICMP type 3 (destination-unreachable) is an error about another packet: it needs the quote of that packet (Reply on a refused packet sends one)"),
        (11, Some(2), "ICMP type 11 (time-exceeded) has codes 0–1, not 2"),
        (13, None, "ICMP type 13 (timestamp-request) cannot be sent: only echo-request (8), echo-reply (0), and the errors destination-unreachable (3) and time-exceeded (11)"),
    ] {
        bad.icmp_type = Some(t);
        bad.icmp_code = code;
        assert_eq!(send(&mut w, &mut s, &bad).unwrap_err().to_string(), want);
    }
    // And an echo has no port.
    let port = SendSpec::new("client", "10.0.0.1:80", Proto::Icmp);
    assert_eq!(
        send(&mut w, &mut s, &port).unwrap_err().to_string(),
        "icmp has no ports: write 10.0.0.1 without :80 (an echo's identifier plays the part of a port)"
    );
}

/// NAT gives an echo an identifier as it gives a connection a port
/// (`nf_nat_l4proto_unique_tuple` for ICMP), measured on Linux 6.18: two
/// pods pinging one address with one identifier through MASQUERADE, the
/// second gets a random one; `--random-fully` draws one every time; a
/// DNAT that clashes takes the first free one from 0. Replies get theirs
/// back.
#[test]
fn nat_gives_an_echo_a_free_identifier_as_the_kernel_does() {
    use packetwalk::engine::sim::reply_spec;
    let cases = [
        (
            "MASQUERADE",
            "-A POSTROUTING -s 10.244.0.0/16 -d 10.0.0.2/32 -j MASQUERADE\n",
        ),
        (
            "MASQUERADE --random-fully",
            "-A POSTROUTING -s 10.244.0.0/16 -d 10.0.0.2/32 -j MASQUERADE --random-fully\n",
        ),
    ];
    let id_at = |t: &Trace, ns: &str| {
        t.steps
            .iter()
            .rev()
            .find(|st| st.ns == ns)
            .and_then(|st| st.packet.transport.echo_id())
            .unwrap()
    };
    for (what, rules) in cases {
        let (mut w, mut s) = routed(&nat(rules));
        let mut got = Vec::new();
        for pod in ["web5", "web6"] {
            let mut ping = SendSpec::new(pod, "10.0.0.2", Proto::Icmp);
            ping.src_port = Some(5555);
            let t = send(&mut w, &mut s, &ping).unwrap();
            assert_eq!(delivered(&t), "client", "{what}");
            let on_lan = id_at(&t, "node");
            let reply = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
            // The reply comes back to the pod with the pod's own identifier.
            assert_eq!(
                (delivered(&reply), id_at(&reply, pod)),
                (pod.to_string(), 5555),
                "{what}"
            );
            got.push(on_lan);
        }
        if what.contains("random") {
            assert!(got.iter().all(|&id| id != 5555), "{what}: {got:?}");
        } else {
            assert_eq!(got[0], 5555, "{what}");
        }
        assert_ne!(got[1], got[0], "{what}: {got:?}");
    }

    // A later echo of the same source and identifier to another address
    // takes the earlier mapping, identifier included (find_appropriate_src).
    let (mut w, mut s) = routed(&nat("-A POSTROUTING -s 10.244.0.0/16 -j MASQUERADE\n"));
    let mut ids = Vec::new();
    for (pod, to) in [
        ("web5", "10.0.0.2"),
        ("web6", "10.0.0.2"),
        ("web6", "10.0.0.9"),
    ] {
        let mut ping = SendSpec::new(pod, to, Proto::Icmp);
        ping.src_port = Some(5555);
        ids.push(id_at(&send(&mut w, &mut s, &ping).unwrap(), "node"));
    }
    assert!(
        ids[0] == 5555 && ids[1] != 5555 && ids[2] == ids[1],
        "{ids:?}"
    );

    // DNAT: the client pings the pod, then the address DNATed to it,
    // with one identifier: the second's reply would clash, so it gets 0.
    let rules = nat("-A PREROUTING -d 10.0.0.1/32 -p icmp -j DNAT --to-destination 10.244.0.5\n");
    let mut w = World::build(&scenario(&rules)).unwrap_or_else(|e| panic!("{e}"));
    let mut s = SimState::new(&w);
    for (to, want) in [("10.244.0.5", 6000), ("10.0.0.1", 0)] {
        let mut ping = SendSpec::new("client", to, Proto::Icmp);
        ping.src_port = Some(6000);
        let t = send(&mut w, &mut s, &ping).unwrap();
        assert_eq!(
            (delivered(&t), id_at(&t, "web5")),
            ("web5".to_string(), want),
            "to {to}"
        );
    }
}

/// Fixes measured against iptables 1.8.9 on Linux 6.18: the connection
/// states DNAT and SNAT only when NAT changed the tuple; `-i +` with no
/// input device; protocol names as /etc/protocols has them.
#[test]
fn nat_states_interface_wildcards_and_protocol_names_as_the_kernel_has_them() {
    let filter = |forward: &str, output: &str| {
        format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:X - [0:0]\n{forward}-A OUTPUT -j X\n{output}COMMIT\n")
    };
    let ends = |rules: &str, from: &str| {
        let mut w = World::build(&scenario(rules)).unwrap_or_else(|e| panic!("{e}"));
        let mut s = SimState::new(&w);
        let t = send(
            &mut w,
            &mut s,
            &SendSpec::new(from, "10.244.0.5:80", Proto::Tcp),
        )
        .unwrap();
        delivered(&t)
    };
    let dnat_to = |to: &str| {
        nat(&format!(
            "-A PREROUTING -d 10.244.0.5/32 -p tcp -j DNAT --to-destination {to}\n"
        ))
    };
    let state_drop = "-A FORWARD -m conntrack --ctstate DNAT -j DROP\n";
    let cases: &[(&str, String, &str, &str)] = &[
        (
            "a DNAT to where the packet goes already sets no DNAT state",
            dnat_to("10.244.0.5:80") + &filter(state_drop, ""),
            "client",
            "web5",
        ),
        (
            "a DNAT elsewhere does",
            dnat_to("10.244.0.6:80") + &filter(state_drop, ""),
            "client",
            "Dropped",
        ),
        (
            "-i + matches a packet with no input device (OUTPUT)",
            filter("", "-A X -i + -j DROP\n"),
            "node",
            "Dropped",
        ),
        (
            "! -i + never matches",
            filter("", "-A X ! -i + -j DROP\n"),
            "node",
            "web5",
        ),
        (
            "-i eth+ does not match no device",
            filter("", "-A X -i eth+ -j DROP\n"),
            "node",
            "web5",
        ),
    ];
    for (what, rules, from, end) in cases {
        let got = ends(rules, from);
        assert!(got.starts_with(end), "{what}: {got}");
    }
    // `-p ipip` is protocol 94; tunl0's IP-in-IP (4) is `ipencap`.
    for (name, number, printed) in [
        ("ipip", 94, "ipip"),
        ("ipencap", 4, "ipencap"),
        ("GRE", 47, "gre"),
        ("vrrp", 112, "vrrp"),
        ("4", 4, "ipencap"),
    ] {
        let p = Proto::parse(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!((p.number(), p.name().as_str()), (number, printed), "{name}");
    }
    // ICMP types by iptables' names, in any case: a ping is an
    // ECHO-REQUEST, not a redirect or a parameter-problem.
    for (icmp, end) in [
        ("ECHO-REQUEST", "Dropped"),
        ("ping", "Dropped"),
        ("redirect", "web5"),
        ("parameter-problem", "web5"),
    ] {
        let rules = filter(
            &format!("-A FORWARD -p icmp -m icmp --icmp-type {icmp} -j DROP\n"),
            "",
        );
        let mut w = World::build(&scenario(&rules)).unwrap_or_else(|e| panic!("{e}"));
        let mut s = SimState::new(&w);
        let t = send(
            &mut w,
            &mut s,
            &SendSpec::new("client", "10.244.0.5", Proto::Icmp),
        )
        .unwrap();
        assert!(
            delivered(&t).starts_with(end),
            "--icmp-type {icmp}: {}",
            delivered(&t)
        );
    }
    // A dump with keepalived's VRRP rule reads (it was "unknown protocol").
    save::parse("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p vrrp -j ACCEPT\n-A INPUT -p gre -j ACCEPT\nCOMMIT\n").unwrap();
}

/// Rules whose counters the kernel was asked for (Linux 6.18, iptables
/// 1.8.9: the same rules restored in a network namespace, the same packets
/// sent from another, `iptables-save -c` read after): how many of the
/// packets each rule matched, as `table/chain#rule`, on the node.
#[test]
fn rule_counters_are_the_kernels() {
    let raw = |body: &str| {
        format!("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{body}COMMIT\n")
    };
    let filter = |body: &str| {
        format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{body}COMMIT\n")
    };
    // What, the rules, the packet (destination, protocol), how many times
    // (when negative: once, then its answer), and the counts.
    type Case = (
        &'static str,
        String,
        (&'static str, Proto),
        i32,
        Vec<(&'static str, usize)>,
    );
    let cases: Vec<Case> = vec![
        (
            // NOTRACK untracks the packet at once: the raw table's later
            // rules see UNTRACKED, no longer INVALID.
            "NOTRACK, then the raw table's state matches",
            raw("-A PREROUTING -m conntrack --ctstate INVALID\n-A PREROUTING -j NOTRACK\n-A PREROUTING -m conntrack --ctstate UNTRACKED\n-A PREROUTING -m conntrack --ctstate INVALID\n"),
            ("10.244.0.5:53", Proto::Udp),
            1,
            vec![("raw/PREROUTING#1", 1), ("raw/PREROUTING#2", 1), ("raw/PREROUTING#3", 1)],
        ),
        (
            "NOTRACK in a user chain, then -m state",
            raw(":U - [0:0]\n-A PREROUTING -j U\n-A PREROUTING -m state --state UNTRACKED\n-A U -j CT --notrack\n"),
            ("10.244.0.5:53", Proto::Udp),
            1,
            vec![("raw/PREROUTING#1", 1), ("raw/PREROUTING#2", 1), ("raw/U#1", 1)],
        ),
        (
            // Each nth match counts on its own, and only the packets that
            // reach it: the second counts the first one's hits.
            "two nth matches in one rule, --every 3 --packet 0 twice",
            filter("-A FORWARD -m statistic --mode nth --every 3 --packet 0 -m statistic --mode nth --every 3 --packet 0\n"),
            ("10.244.0.5:53", Proto::Udp),
            6,
            vec![("filter/FORWARD#1", 1)],
        ),
        (
            "two nth matches, --every 3 --packet 1 then --every 2 --packet 0",
            filter("-A FORWARD -m statistic --mode nth --every 3 --packet 1 -m statistic --mode nth --every 2 --packet 0\n"),
            ("10.244.0.5:53", Proto::Udp),
            6,
            vec![("filter/FORWARD#1", 1)],
        ),
        (
            // A DNAT to the address already there changes no tuple: no
            // DNAT state, for an echo as for UDP.
            "a ping DNATed to its own destination",
            format!("{}{}", nat("-A PREROUTING -p icmp -j DNAT --to-destination 10.0.0.1\n"), filter("-A INPUT -m conntrack --ctstate DNAT\n-A INPUT -m conntrack --ctstate NEW\n")),
            ("10.0.0.1", Proto::Icmp),
            1,
            vec![("nat/PREROUTING#1", 1), ("filter/INPUT#2", 1)],
        ),
        (
            "a ping DNATed to a pod",
            format!("{}{}", nat("-A PREROUTING -p icmp -j DNAT --to-destination 10.244.0.5\n"), filter("-A FORWARD -m conntrack --ctstate DNAT\n")),
            ("10.0.0.1", Proto::Icmp),
            1,
            vec![("nat/PREROUTING#1", 1), ("filter/FORWARD#1", 1)],
        ),
        // `recent`: `! --update` stamps when the rule matches (the test
        // fails), so the third rule sees three stamps at the second packet.
        (
            "recent ! --update",
            filter("-A FORWARD -i eth0 -m recent --set --name A2 --mask 255.255.255.255 --rsource\n-A FORWARD -i eth0 -m recent ! --update --hitcount 3 --name A2 --mask 255.255.255.255 --rsource\n-A FORWARD -i eth0 -m recent --rcheck --hitcount 3 --name A2 --mask 255.255.255.255 --rsource\n"),
            ("10.244.0.5:53", Proto::Udp),
            3,
            vec![("filter/FORWARD#1", 3), ("filter/FORWARD#2", 1), ("filter/FORWARD#3", 2)],
        ),
        // A list's mask is the one of the rule that made it: every lookup
        // in it masks with that.
        (
            "recent lists keep their first rule's --mask",
            filter("-A FORWARD -i eth0 -m recent --set --name M2 --mask 255.255.255.0 --rsource\n-A FORWARD -i eth0 -m recent --rcheck --name M2 --mask 255.255.255.255 --rsource\n"),
            ("10.244.0.5:53", Proto::Udp),
            3,
            vec![("filter/FORWARD#1", 3), ("filter/FORWARD#2", 3)],
        ),
        // The same for SNAT (nf_nat_setup_info sets IPS_SRC_NAT only when
        // the tuple changed), seen on the answer.
        (
            "a ping SNATed to its own source, and its answer",
            format!("{}{}", nat("-A POSTROUTING -p icmp -j SNAT --to-source 10.0.0.2\n"), filter("-A FORWARD -m conntrack --ctstate SNAT\n-A FORWARD -m conntrack --ctstate ESTABLISHED\n")),
            ("10.244.0.5", Proto::Icmp),
            -1,
            vec![("nat/POSTROUTING#1", 1), ("filter/FORWARD#2", 1)],
        ),
        (
            "a ping SNATed to the node's address, and its answer",
            format!("{}{}", nat("-A POSTROUTING -p icmp -j SNAT --to-source 10.0.0.1\n"), filter("-A FORWARD -m conntrack --ctstate SNAT\n-A FORWARD -m conntrack --ctstate ESTABLISHED\n")),
            ("10.244.0.5", Proto::Icmp),
            -1,
            vec![("nat/POSTROUTING#1", 1), ("filter/FORWARD#1", 1), ("filter/FORWARD#2", 1)],
        ),
    ];
    for (what, rules, (to, proto), times, want) in cases {
        let (mut w, mut s) = routed(&rules);
        let mut got: std::collections::BTreeMap<String, usize> = Default::default();
        let mut last = None;
        for i in 0..times.unsigned_abs() + u32::from(times < 0) {
            let spec = match &last {
                Some(t) if times < 0 => {
                    reply_spec(t).unwrap_or_else(|| panic!("{what}: no answer"))
                }
                _ => {
                    let mut spec = SendSpec::new("client", to, proto);
                    if proto != Proto::Icmp {
                        spec.src_port = Some(41000 + i as u16);
                    }
                    spec
                }
            };
            let t = send(&mut w, &mut s, &spec).unwrap_or_else(|e| panic!("{what}: {e}"));
            for st in t.steps.iter().filter(|st| st.ns == "node") {
                if let StepKind::RuleMatch {
                    table, chain, rule, ..
                } = &st.kind
                {
                    *got.entry(format!("{table}/{chain}#{}", rule.index))
                        .or_default() += 1;
                }
            }
            last = Some(t);
        }
        let want: std::collections::BTreeMap<String, usize> =
            want.into_iter().map(|(r, n)| (r.to_string(), n)).collect();
        assert_eq!(got, want, "{what}");
    }
}

/// A host that does not forward drops a packet not for it before it
/// checks the source (ip_route_input_slow's no_route comes before
/// fib_validate_source): the client's own datagram, sent back to it by a
/// node whose default route points at it, is not a martian there. Measured
/// on Linux 6.18: IpInAddrErrors counted, no martian logged.
#[test]
fn a_host_that_does_not_forward_refuses_before_the_martian_check() {
    let (mut w, mut s) = with_route("", "default via 10.0.0.2 dev eth0");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.96.0.99:9", Proto::Udp),
    )
    .unwrap();
    assert!(
        matches!(&t.verdict, Verdict::Dropped { ns, reason: packetwalk::engine::trace::DropReason::NotForwarding } if ns == "client"),
        "{:?}",
        t.verdict
    );
}

/// A mark set in OUTPUT routes the host's own packet again only from the
/// mangle table (`ipt_mangle_out` calls `ip_route_me_harder`); raw and
/// filter leave its route, as a DNAT in nat OUTPUT does not (measured on
/// Linux 6.18: with `ip rule fwmark 0x1 lookup 100` to a blackhole, a
/// raw mark left the datagram on its way, a mangle one turned `sendto`
/// into EINVAL).
#[test]
fn only_a_mangle_mark_routes_the_hosts_packet_again() {
    use packetwalk::engine::trace::Lookup;
    for (table, again) in [("raw", false), ("mangle", true), ("filter", false)] {
        let rules = format!("*{table}\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n");
        let (mut w, mut s) = routed(&rules);
        let t = send(
            &mut w,
            &mut s,
            &SendSpec::new("node", "10.0.0.2:80", Proto::Tcp),
        )
        .unwrap();
        let lookups: Vec<Lookup> = (t.steps.iter())
            .filter_map(|st| match &st.kind {
                StepKind::Route { lookup, .. } if st.ns == "node" => Some(*lookup),
                _ => None,
            })
            .collect();
        let expected = if again {
            vec![Lookup::Output, Lookup::Reroute]
        } else {
            vec![Lookup::Output]
        };
        assert_eq!(lookups, expected, "a mark set in {table} OUTPUT");
        let leaves = t.steps.iter().rev().find(|st| st.ns == "node").unwrap();
        assert_eq!(
            leaves.packet.mark, 1,
            "{table}: the mark it leaves the node with"
        );
    }
}

/// `-m set` against `ipset save` lines before the rules: the most specific
/// entry decides (a nomatch one takes the packet out, and with
/// --return-nomatch only a nomatch one matches), an address and port set
/// tests the packet's protocol too (ICMP's type and code as its port),
/// fewer directions than the set has parts find nothing, a bitmap:port
/// set holds no ICMP, a list:set holds what its members hold, `netmask`
/// widens addresses. Each row is what Linux 6.18 counted for the same
/// rules (ipset 7.17, iptables 1.8.9), the packets sent from the host.
#[test]
fn a_set_match_finds_what_the_kernels_sets_hold() {
    let rules = "\
create S hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1
add S 10.0.0.0/8
add S 10.1.0.0/16 nomatch
add S 10.1.2.0/24
create P hash:ip,port family inet hashsize 1024 maxelem 65536
add P 10.5.0.1,tcp:80
add P 10.5.0.2,icmp:echo-request
create B bitmap:port range 1-1000
add B 80
create L list:set size 8
add L P
create I hash:ip family inet netmask 24
add I 10.7.0.9
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -m set --match-set S dst
-A OUTPUT -m set --match-set S dst --return-nomatch
-A OUTPUT -m set --match-set P dst,dst
-A OUTPUT -m set --match-set P dst
-A OUTPUT -m set ! --match-set B dst
-A OUTPUT -m set --match-set B dst
-A OUTPUT -m set --match-set L dst,dst
-A OUTPUT -m set --match-set I dst
-A OUTPUT -m set --match-set P dst,dst,src
COMMIT
";
    let rs = save::parse(rules).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(save::emit(&rs), rules, "printed back as read");
    let (mut w, mut s) = routed(rules);
    for (proto, to, matched) in [
        (Proto::Icmp, "10.1.2.3", vec![1, 5]),
        (Proto::Icmp, "10.1.3.3", vec![2, 5]),
        (Proto::Icmp, "10.2.0.1", vec![1, 5]),
        (Proto::Icmp, "10.5.0.2", vec![1, 3, 5, 7, 9]),
        (Proto::Icmp, "10.7.0.200", vec![1, 5, 8]),
        (Proto::Tcp, "10.5.0.1:80", vec![1, 3, 6, 7, 9]),
        (Proto::Tcp, "10.5.0.1:81", vec![1, 5]),
        (Proto::Tcp, "10.5.0.2:80", vec![1, 6]),
    ] {
        let t = send(&mut w, &mut s, &SendSpec::new("node", to, proto)).unwrap();
        assert_eq!(matched_in(&t, "OUTPUT"), matched, "{proto:?} to {to}");
    }
    // A skipped rule says what the set holds, or why it holds nothing.
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("node", "10.1.3.3", Proto::Icmp),
    )
    .unwrap();
    let why: Vec<String> = (t.steps.iter())
        .filter_map(|st| match &st.kind {
            StepKind::RulesSkipped { chain, reasons, .. } if chain == "OUTPUT" => Some(reasons),
            _ => None,
        })
        .flatten()
        .map(|r| r.reason.clone())
        .collect();
    assert_eq!(
        why[..3],
        [
            "10.1.3.3 falls under set S's (hash:net, 3 entries) nomatch entry 10.1.0.0/16, which takes it out of the set",
            "10.1.3.3,icmp:8/0 is not in set P (hash:ip,port, 2 entries)",
            "set P (hash:ip,port) has 2 parts and the rule names 1 direction: the kernel finds nothing",
        ],
        "{why:?}"
    );
}

/// `-m rpfilter` (Calico's raw table has it): the route back to the
/// source must leave by the device the packet came in on (`--loose`: any
/// unicast route back, `--accept-local`: the host's own address too,
/// `--invert` turns it round). Each row is what Linux 6.18 counted for
/// the same five rules, packets from the LAN with the source given.
#[test]
fn rpfilter_takes_the_route_back_as_the_kernel_does() {
    let rules = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A PREROUTING -i eth0 -m rpfilter\n\
-A PREROUTING -i eth0 -m rpfilter --loose\n\
-A PREROUTING -i eth0 -m rpfilter --invert\n\
-A PREROUTING -i eth0 -m rpfilter --accept-local\n\
-A PREROUTING -i eth0 -m rpfilter --loose --accept-local\nCOMMIT\n";
    let (mut w, mut s) = with_route(rules, "blackhole 10.8.0.0/24");
    for (src, matched) in [
        ("10.0.0.2", vec![1, 2, 4, 5]),
        ("10.244.0.5", vec![2, 3, 5]),
        ("10.8.0.5", vec![3]),
        ("10.0.0.1", vec![3, 4, 5]),
        ("203.0.113.9", vec![3]),
    ] {
        let mut spec = SendSpec::new("client", "10.0.0.1:22", Proto::Tcp);
        spec.src = Some(src.parse().unwrap());
        let t = send(&mut w, &mut s, &spec).unwrap();
        let got = matched_in(&t, "PREROUTING");
        assert_eq!(got, matched, "from {src}");
    }
    // A matched rule says what the route back was.
    let mut spec = SendSpec::new("client", "10.0.0.1:22", Proto::Tcp);
    spec.src = Some("10.244.0.5".parse().unwrap());
    let t = send(&mut w, &mut s, &spec).unwrap();
    let held: Vec<&String> = (t.steps.iter())
        .filter_map(|st| match &st.kind {
            StepKind::RuleMatch { rule, held, .. } if rule.index == 3 => Some(held),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        held,
        ["-m rpfilter --invert: the route back to 10.244.0.5 (10.244.0.5 dev veth5 scope link) leaves by veth5, not eth0, where the packet came in"]
    );
    // Only raw and mangle PREROUTING take it, as the kernel says.
    for (table, chain) in [("filter", "INPUT"), ("mangle", "INPUT")] {
        let text =
            format!("*{table}\n:{chain} ACCEPT [0:0]\n-A {chain} -m rpfilter -j DROP\nCOMMIT\n");
        let e = save::parse(&text).unwrap_err();
        assert!(e.0[0].message.contains("rpfilter"), "{table} {chain}: {e}");
        assert_eq!(e.0[0].column, 13, "{e}");
    }
}

/// Targets that leave the packet's way as it was (Calico's DSCP, NFLOG,
/// TRACE, TCPMSS…) count and let the walk go on, each saying what it does;
/// one bound to a table is refused elsewhere, as the kernel refuses it.
#[test]
fn pass_over_targets_count_and_go_on() {
    let rules = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp -j TRACE\nCOMMIT\n\
*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A PREROUTING -j DSCP --set-dscp 0x2e\n-A PREROUTING -p tcp -j TCPMSS --set-mss 1400\nCOMMIT\n\
*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -j NFLOG --nflog-group 5 --nflog-prefix cali-drop\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n";
    let (mut w, mut s) = routed(rules);
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.0.0.1:22", Proto::Tcp),
    )
    .unwrap();
    let matched: Vec<String> = (t.steps.iter())
        .filter_map(|st| match &st.kind {
            StepKind::RuleMatch { chain, target, .. } if st.ns == "node" => {
                Some(format!("{chain}: {target}"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        matched,
        [
            "PREROUTING: TRACE: marks the packet for the kernel's rule tracing (nft monitor trace); the packet goes on",
            "PREROUTING: DSCP: sets the DSCP bits of the type of service, which Packet Walk's packets do not carry; the packet goes on",
            "PREROUTING: TCPMSS: rewrites a SYN's MSS option, which Packet Walk's segments do not carry; the packet goes on",
            "INPUT: NFLOG: hands a copy of the packet to a logging program (nflog group); the packet goes on",
            "INPUT: DROP",
        ]
    );
    assert!(
        matches!(t.verdict, Verdict::Dropped { .. }),
        "{:?}",
        t.verdict
    );
    // Measured with iptables-nft 1.8.9: each refused with Invalid argument.
    for (text, said) in [
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DSCP --set-dscp 1\nCOMMIT\n", "DSCP is only valid in the mangle table"),
        ("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j TCPMSS --clamp-mss-to-pmtu\nCOMMIT\n", "TCPMSS here works in FORWARD, OUTPUT, POSTROUTING only"),
        ("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j CLASSIFY --set-class 1:1\nCOMMIT\n", "CLASSIFY here works in FORWARD, OUTPUT, POSTROUTING only"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j SECMARK --selctx x\nCOMMIT\n", "SECMARK is only valid in the mangle or security table"),
        // And by iptables itself, before the kernel.
        ("*mangle\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp -j TCPMSS --set-mss 65516\nCOMMIT\n", "--set-mss 65516: an MSS is a number from 0 to 65515"),
        ("*mangle\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp -j TCPMSS\nCOMMIT\n", "TCPMSS needs --set-mss VALUE or --clamp-mss-to-pmtu"),
    ] {
        let e = save::parse(text).unwrap_err();
        assert!(e.0[0].message.contains(said), "{text}: {e}");
    }
    assert!(save::parse("*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j CLASSIFY --set-class 1:1\n-A FORWARD -j TRACE\n-A FORWARD -p tcp -j TCPMSS --set-mss 65515\nCOMMIT\n").is_ok());
}

/// A host's own packet on a blackhole, unreachable or prohibit route: the
/// program's send fails at once with the route type's errno, and no ICMP
/// is made (measured on Linux 6.18 with connect()).
#[test]
fn a_hosts_own_packet_on_a_refusing_route_fails_its_send() {
    for (route, errno) in [
        ("blackhole 10.1.0.0/16", "EINVAL"),
        ("unreachable 10.1.0.0/16", "EHOSTUNREACH"),
        ("prohibit 10.1.0.0/16", "EACCES"),
    ] {
        let (mut w, mut s) = with_route("", route);
        let t = send(
            &mut w,
            &mut s,
            &SendSpec::new("node", "10.1.0.1:80", Proto::Tcp),
        )
        .unwrap();
        let Some(StepKind::Drop {
            detail, response, ..
        }) = t.steps.last().map(|st| &st.kind)
        else {
            panic!("{route}: {:?}", t.verdict)
        };
        assert!(
            detail.contains(&format!("the program's send fails with {errno}")),
            "{route}: {detail}"
        );
        assert!(response.is_none(), "{route}: no ICMP is made");
    }
}

/// `-m limit`: a bucket of `--limit-burst` packets, full when the rule is
/// made, one more each period (3/min: every 20 s; the simulator's clock
/// moves a second a packet). Linux 6.18 let the first 2 of 5 quick pings
/// through a `--limit 3/min --limit-burst 2` rule, and one more 20.5 s
/// later. New rules start with a full bucket again.
#[test]
fn a_limit_lets_its_burst_through_then_one_a_period() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p tcp --dport 22 -m limit --limit 3/min --limit-burst 2 -j ACCEPT\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n";
    let (mut w, mut s) = routed(rules);
    let mut accepted = Vec::new();
    for k in 1..=25 {
        let mut spec = SendSpec::new("client", "10.0.0.1:22", Proto::Tcp);
        spec.src_port = Some(40000 + k);
        let t = send(&mut w, &mut s, &spec).unwrap();
        if !matches!(t.verdict, Verdict::Dropped { .. }) {
            accepted.push(k);
        }
    }
    assert_eq!(accepted, [1, 2, 21]);
    // The reason a packet over the limit is given.
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.0.0.1:22", Proto::Tcp),
    )
    .unwrap();
    let why: Vec<String> = (t.steps.iter())
        .filter_map(|st| match &st.kind {
            StepKind::RulesSkipped { reasons, .. } => {
                Some(reasons.iter().map(|r| r.reason.clone()))
            }
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        why.iter().any(|r| r == "the rate limit (3/min, burst 2) has no packet left to let through: it lets one more through every 20 s"),
        "{why:?}"
    );
    s.rules_replaced(0, w.hosts[0].rules.as_deref());
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.0.0.1:22", Proto::Tcp),
    )
    .unwrap();
    assert!(
        !matches!(t.verdict, Verdict::Dropped { .. }),
        "new rules, a full bucket"
    );
}

/// More of the kernel's set answers (Linux 6.18, ipset 7.17): only a type
/// of networks turns its answer round for --return-nomatch; a range added
/// to a set of networks is stored as the networks covering it, so a more
/// specific nomatch wins inside it; `-exist` anywhere on a line lets a set
/// or an entry come again.
#[test]
fn set_ranges_return_nomatch_and_exist_as_the_kernel_does() {
    let rules = "\
create H hash:ip
add H 10.5.0.1
create R hash:net
add R 10.6.0.0-10.6.0.255
add R 10.6.0.0/25 nomatch
create E -exist hash:net
add E 10.7.0.0/16 -exist
add E 10.7.0.0/16 -exist
create E hash:net -exist
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -m set --match-set H dst --return-nomatch
-A OUTPUT -m set --match-set R dst
-A OUTPUT -m set --match-set E dst
COMMIT
";
    let (mut w, mut s) = routed(rules);
    for (to, matched) in [
        ("10.5.0.1", vec![1]),
        ("10.6.0.5", vec![]),
        ("10.6.0.200", vec![2]),
        ("10.7.1.1", vec![3]),
    ] {
        let t = send(&mut w, &mut s, &SendSpec::new("node", to, Proto::Icmp)).unwrap();
        assert_eq!(matched_in(&t, "OUTPUT"), matched, "to {to}");
    }
    let rs = save::parse(rules).unwrap();
    assert_eq!(rs.ipsets.get("E").unwrap().entries.len(), 1);
}

/// CONNMARK and `-m connmark` (the AWS VPC CNI's rules on an EKS node
/// work so): the connection's mark is set on its first packet, restored
/// into each packet's mark, and listed by conntrack -L. Linux 6.18
/// counted both INPUT rules twice for two pings of one connection, and
/// listed `mark=128`.
#[test]
fn connmark_sets_restores_and_tests_the_connections_mark() {
    let rules = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A PREROUTING -i eth0 -m conntrack --ctstate NEW -j CONNMARK --set-xmark 0x80/0x80\n\
-A PREROUTING -i eth0 -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80\nCOMMIT\n\
*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -i eth0 -m connmark --mark 0x80/0x80\n-A INPUT -i eth0 -m mark --mark 0x80/0x80\nCOMMIT\n";
    let (mut w, mut s) = routed(rules);
    // (One identifier: both pings are of one connection.)
    let mut ping = SendSpec::new("client", "10.0.0.1", Proto::Icmp);
    ping.src_port = Some(4242);
    let t = send(&mut w, &mut s, &ping).unwrap();
    let spec = reply_spec(&t).expect("the echo-reply");
    send(&mut w, &mut s, &spec).unwrap();
    let t2 = send(&mut w, &mut s, &ping).unwrap();
    for t in [&t, &t2] {
        assert_eq!(matched_in(t, "INPUT"), [1, 2]);
    }
    // The first packet's trace says the connection's mark changed.
    let set: Vec<(u32, u32)> = (t.steps.iter())
        .filter_map(|st| match st.kind {
            StepKind::CtMark { old, new } => Some((old, new)),
            _ => None,
        })
        .collect();
    assert_eq!(set, [(0, 0x80)]);
    let listed = s.conntrack[0].list(s.clock);
    assert!(
        listed
            .iter()
            .any(|l| l.contains("icmp") && l.ends_with("mark=128 use=1")),
        "{listed:?}"
    );
}

/// Policy routing with the AWS VPC CNI's rules: a pod whose address has a
/// table of its own (`from 10.244.0.5 lookup 2`, leaving by another
/// gateway) answers a NodePort connection. The mangle rules give the
/// connection the mark 0x80 on its way in by eth0, the answer gets it
/// back from the connection, and `fwmark 0x80/0x80 lookup main` sends it
/// by main's route, the way it came. Without the restore, rule 1536 sends
/// the answer to table 2's gateway.
#[test]
fn a_connections_mark_chooses_the_routing_table_of_its_answer() {
    use packetwalk::engine::trace::{Lookup, RouteResult};
    let nat = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.0.5:80\nCOMMIT\n";
    let mangle = |restore: bool| {
        let restore = if restore {
            "-A PREROUTING -i veth+ -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80\n"
        } else {
            ""
        };
        format!("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A PREROUTING -i eth0 -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80\n{restore}COMMIT\n{nat}")
    };
    for restore in [true, false] {
        let mut sc = scenario(&mangle(restore));
        if let Text::Lines(routes) = &mut sc.hosts[0].routes {
            routes.extend(
                [
                    "default via 10.0.0.254 dev eth0",
                    "default via 10.0.0.253 dev eth0 table 2",
                    "1024:\tfrom all fwmark 0x80/0x80 lookup main",
                    "1536:\tfrom 10.244.0.5 lookup 2",
                ]
                .map(String::from),
            );
        }
        let mut w = World::build(&sc).unwrap_or_else(|e| panic!("{e}"));
        let mut s = SimState::new(&w);
        let t = send(
            &mut w,
            &mut s,
            &tcp_spec("client", "10.0.0.1:30080", 40000, "SYN", 0),
        )
        .unwrap();
        assert_eq!(
            delivered(&t),
            "web5",
            "{}",
            packetwalk::engine::render::table(&t)
        );
        let answer = reply_spec(&t).expect("the SYN-ACK");
        let t = send(&mut w, &mut s, &answer).unwrap();
        // The node's input lookup of the answer: the rules walked, and
        // where it leaves.
        let (rules, result) = (t.steps.iter())
            .find_map(|st| match &st.kind {
                StepKind::Route {
                    lookup: Lookup::Input,
                    rules,
                    result,
                    ..
                } if st.ns == "node" => Some((rules.clone(), result.clone())),
                _ => None,
            })
            .expect("the node routes the answer");
        let decided = rules.iter().rfind(|r| r.decided()).expect("a rule decided");
        let via = match result {
            RouteResult::Unicast { via, .. } => via,
            other => panic!("{other:?}"),
        };
        if restore {
            assert_eq!(decided.rule, "1024:\tfrom all fwmark 0x80/0x80 lookup main");
            assert_eq!(via, None, "main: straight to the client on eth0's subnet");
            assert_eq!(
                delivered(&t),
                "client",
                "{}",
                packetwalk::engine::render::table(&t)
            );
        } else {
            assert_eq!(decided.rule, "1536:\tfrom 10.244.0.5 lookup 2");
            assert_eq!(via, Some("10.0.0.253".parse().unwrap()));
            // Rules 0 (local) and 1024 were walked past, and why.
            assert_eq!(
                rules[1].why,
                "the packet's mark 0x0 under the mask 0x80 is 0x0, not 0x80"
            );
        }
    }
}

/// An ip rule's action refuses a forwarded packet as Linux 6.18's router
/// did (tcpdump on the sender): unreachable with ICMP network unreachable
/// (code 0, where an unreachable route gives host unreachable, 1),
/// prohibit with administratively prohibited (13), blackhole with nothing;
/// and the node's own packet fails its send with ENETUNREACH, EACCES or
/// EINVAL.
#[test]
fn an_ip_rules_action_refuses_as_the_kernel_does() {
    use packetwalk::engine::trace::DropReason;
    for (action, answer, errno, why) in [
        (
            "unreachable",
            Some("network-unreachable"),
            "ENETUNREACH",
            DropReason::RuleUnreachable,
        ),
        (
            "prohibit",
            Some("communication-prohibited"),
            "EACCES",
            DropReason::RuleProhibit,
        ),
        ("blackhole", None, "EINVAL", DropReason::RuleBlackhole),
    ] {
        let (mut w, mut s) = with_route("", &format!("100:\tfrom all to 10.244.0.5 {action}"));
        let t = send(
            &mut w,
            &mut s,
            &tcp_spec("client", "10.244.0.5:80", 40000, "SYN", 0),
        )
        .unwrap();
        let (reason, detail, response) = (t.steps.iter())
            .find_map(|st| match &st.kind {
                StepKind::Drop {
                    reason,
                    detail,
                    response,
                    ..
                } => Some((
                    *reason,
                    detail.clone(),
                    response.as_ref().map(|r| r.summary()),
                )),
                _ => None,
            })
            .expect("refused");
        assert_eq!(reason, why, "{action}");
        assert!(
            detail.contains(&format!("rule 100 (from all to 10.244.0.5 {action})")),
            "{action}: {detail}"
        );
        match answer {
            Some(a) => assert!(
                response.as_deref().is_some_and(|r| r.contains(a)),
                "{action}: {response:?}"
            ),
            None => assert_eq!(response, None, "{action}"),
        }
        let t = send(
            &mut w,
            &mut s,
            &tcp_spec("node", "10.244.0.5:80", 40001, "SYN", 0),
        )
        .unwrap();
        let own = (t.steps.iter())
            .find_map(|st| match &st.kind {
                StepKind::Drop { detail, .. } => Some(detail.clone()),
                _ => None,
            })
            .expect("the node's own send fails");
        assert!(own.contains(errno), "{action}: {own}");
    }
}

/// The reverse path checks look back through the ip rules as Linux 6.18
/// did: a packet from 10.20.0.5 (which main routes by veth6) arrives on
/// eth0, and only table 20 routes 10.20.0.0/16 back by eth0. `-m
/// rpfilter` looks up with the packet's destination as its source and
/// lo as its input device; rp_filter (the sysctl) with the device its
/// forward route leaves by (veth5) instead.
#[test]
fn reverse_path_checks_look_back_through_ip_rules() {
    let rpfilter = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -m rpfilter --invert -j DROP\nCOMMIT\n";
    // (rule, passes -m rpfilter, passes rp_filter = 1)
    let rows = [
        ("", false, false),
        ("50:\tfrom all to 10.20.0.0/16 lookup 20", true, true),
        ("50:\tfrom 10.20.0.5 lookup 20", false, false),
        ("50:\tfrom 10.244.0.5 lookup 20", true, true),
        ("50:\tfrom all iif eth0 lookup 20", false, false),
        ("50:\tfrom all iif lo lookup 20", true, false),
        ("50:\tfrom all iif veth5 lookup 20", false, true),
        // rp_filter's lookup has the packet's protocol and its ports
        // swapped (from 40000 to 80: back to 40000 from 80); rpfilter's
        // neither.
        (
            "50:\tfrom all ipproto tcp dport 40000 lookup 20",
            false,
            true,
        ),
        ("50:\tfrom all ipproto tcp sport 80 lookup 20", false, true),
        (
            "50:\tfrom all ipproto tcp sport 40000 lookup 20",
            false,
            false,
        ),
    ];
    for (rule, by_match, by_sysctl) in rows {
        for (sysctl, passes) in [(false, by_match), (true, by_sysctl)] {
            let mut sc = scenario(if sysctl { "" } else { rpfilter });
            if let Text::Lines(routes) = &mut sc.hosts[0].routes {
                routes.extend(
                    [
                        "10.20.0.0/16 dev veth6 scope link",
                        "10.20.0.0/16 dev eth0 table 20",
                        rule,
                    ]
                    .map(String::from),
                );
            }
            sc.hosts[0].devices[1].rp_filter = u8::from(sysctl);
            let mut w = World::build(&sc).unwrap_or_else(|e| panic!("{e}"));
            let mut s = SimState::new(&w);
            let mut spec = tcp_spec("client", "10.244.0.5:80", 40000, "SYN", 0);
            spec.src = Some("10.20.0.5".parse().unwrap());
            let t = send(&mut w, &mut s, &spec).unwrap();
            let got = delivered(&t) == "web5";
            let how = if sysctl {
                "rp_filter = 1"
            } else {
                "-m rpfilter"
            };
            assert_eq!(
                got,
                passes,
                "{rule:?} under {how}: {}",
                packetwalk::engine::render::table(&t)
            );
        }
    }
}

/// arp_ignore = 0, the kernel's default: a node answers ARP on one NIC
/// for the address of another (measured on Linux 6.18 with an EKS-like
/// node's two ENIs), so a client that takes that address for on-link
/// reaches the node by the first NIC.
#[test]
fn a_node_answers_arp_for_its_other_nics_address() {
    let mut sc = scenario("");
    let extra: packetwalk::engine::scenario::Device = serde_json::from_value(serde_json::json!(
        {"name": "eth1", "type": "ethernet", "lan": "lan2", "addrs": ["10.0.9.1/24"]}))
    .unwrap();
    sc.hosts[0].devices.push(extra);
    if let Text::Lines(routes) = &mut sc.hosts[0].routes {
        routes.push("10.0.9.0/24 dev eth1 proto kernel scope link src 10.0.9.1".into());
    }
    if let Text::Lines(routes) = &mut sc.hosts[3].routes {
        routes.push("10.0.9.0/24 dev eth0 scope link".into());
    }
    let mut w = World::build(&sc).unwrap_or_else(|e| panic!("{e}"));
    let mut s = SimState::new(&w);
    let t = send(
        &mut w,
        &mut s,
        &tcp_spec("client", "10.0.9.1:22", 40000, "SYN", 0),
    )
    .unwrap();
    let said = packetwalk::engine::render::table(&t);
    assert!(
        said.contains("ARP who-has 10.0.9.1 on eth0: node/eth0 answers"),
        "{said}"
    );
    assert!(
        matches!(&t.verdict, Verdict::Delivered { ns, .. } if ns == "node"),
        "{}",
        packetwalk::engine::render::table(&t)
    );
}

/// Every node holds docker0's 172.17.0.1: a LAN client that takes it for
/// on-link gets an ARP answer from each, keeps the first (node8's, the
/// first node of the scenario) and is told the others answered too.
#[test]
fn every_holder_of_an_address_answers_arp_and_the_first_is_kept() {
    let mut sc = packetwalk::engine::scenario::builtin("article-remote").unwrap();
    let client = sc.hosts.iter_mut().find(|h| h.name == "client").unwrap();
    if let Text::Lines(routes) = &mut client.routes {
        routes.push("172.17.0.0/16 dev eth0 scope link".into());
    }
    let mut w = World::build(&sc).unwrap_or_else(|e| panic!("{e}"));
    let mut s = SimState::new(&w);
    let t = send(
        &mut w,
        &mut s,
        &tcp_spec("client", "172.17.0.1:22", 40000, "SYN", 0),
    )
    .unwrap();
    let said = packetwalk::engine::render::table(&t);
    assert!(
        said.contains("ARP who-has 172.17.0.1 on eth0: node8/ens33 answers first; node51/ens33, node52/ens33, node53/ens33, node54/ens33 answered too, later"),
        "{said}"
    );
    assert!(
        (t.steps.iter()).any(|s| s.ns == "node8"
            && matches!(&s.kind, StepKind::Receive { dev, .. } if dev == "ens33")),
        "{said}"
    );
    // Each that answered learnt the asker from its request (STALE).
    for node in ["node8", "node51", "node54"] {
        let neigh = s.neighbours(&w, w.host(node).unwrap());
        assert!(
            neigh
                .iter()
                .any(|n| n == "192.168.11.200 dev ens33 lladdr [client/eth0] STALE"),
            "{node}: {neigh:?}"
        );
    }
    // The second packet finds the entry REACHABLE: nobody is asked.
    let t = send(
        &mut w,
        &mut s,
        &tcp_spec("client", "172.17.0.1:22", 40001, "SYN", 0),
    )
    .unwrap();
    let said = packetwalk::engine::render::table(&t);
    assert!(
        said.contains("cache has 172.17.0.1 on eth0: node8/ens33, REACHABLE"),
        "{said}"
    );
    assert!(!said.contains("answered too"), "{said}");
}

/// Conntrack's timeouts run on the clock: a packet `after` seconds late
/// finds its connection gone once the timeout its last packet set is
/// out. The article's SYN leaves node8's entry SYN_SENT for 120 s: the
/// pod's SYN-ACK 119 s later is translated back to the client; 120 s
/// later it is INVALID (no connection), goes to node8's own address
/// (the masquerade's), where nothing listens: node8 resets it.
#[test]
fn conntrack_entries_expire_when_their_timeout_runs_out() {
    let sc = packetwalk::engine::scenario::builtin("article").unwrap();
    for (wait, listed, verdict) in [
        (
            119,
            "tcp      6 1 SYN_SENT",
            "delivered in client to the tcp socket 192.168.11.200:",
        ),
        (120, "", "dropped in node8: no socket listens on that port"),
    ] {
        let mut w = World::build(&sc).unwrap_or_else(|e| panic!("{e}"));
        let mut s = SimState::new(&w);
        let syn = send(&mut w, &mut s, &sc.preset.clone().unwrap().to_spec()).unwrap();
        // What conntrack -L on node8 says just before the answer.
        let mut quiet = s.clone();
        quiet.wait(wait);
        let node8 = w.host("node8").unwrap();
        let left = quiet.conntrack[node8].list(quiet.clock).join("\n");
        assert!(
            left.starts_with(listed) && (listed.is_empty() == left.is_empty()),
            "after {wait} s: {left:?}"
        );
        let mut answer = reply_spec(&syn).unwrap();
        answer.after = Some(wait);
        let t = send(&mut w, &mut s, &answer).unwrap();
        let said = packetwalk::engine::render::table(&t);
        assert!(said.contains(verdict), "after {wait} s:\n{said}");
        let invalid = said.contains("is INVALID (a SYN-ACK for no known connection); its connection's entry expired before this packet (SYN_SENT, its last packet had given it 120 s)");
        assert_eq!(invalid, wait == 120, "after {wait} s:\n{said}");
    }
}

/// A packet renews its connection's timeout, but not a SYN while the
/// entry is SYN_SENT and unanswered (nf_conntrack_proto_tcp: "do not
/// renew timeout on SYN retransmit", a simultaneous open's SYN too): 50 s
/// after the first SYN, what each second packet leaves.
#[test]
fn a_syn_before_any_answer_does_not_renew_the_timeout() {
    let rules = nat("-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.0.5:80\n");
    for (who, flags, seq, ack, listed) in [
        ("client", "SYN", 1000, 0, "tcp      6 70 SYN_SENT "),
        ("web5", "SYN", 5000, 0, "tcp      6 70 SYN_SENT2 "),
        ("web5", "SYN,ACK", 5000, 1001, "tcp      6 60 SYN_RECV "),
    ] {
        let (mut w, mut s) = routed(&rules);
        let mut first = tcp_spec("client", "10.0.0.1:8080", 40000, "SYN", 0);
        first.seq = Some(1000);
        send(&mut w, &mut s, &first).unwrap();
        let mut next = match who {
            "client" => tcp_spec("client", "10.0.0.1:8080", 40000, flags, 0),
            _ => tcp_spec("web5", "10.0.0.2:40000", 80, flags, 0),
        };
        (next.seq, next.ack, next.after) = (Some(seq), Some(ack), Some(50));
        let t = send(&mut w, &mut s, &next).unwrap();
        let list = s.conntrack[0].list(s.clock);
        assert!(
            list.len() == 1 && list[0].starts_with(listed),
            "{who} {flags}: {list:?}\n{}",
            packetwalk::engine::render::table(&t)
        );
    }
}

/// REDIRECT as Linux 6.18 did it in a netns (a client, a router with
/// 10.77.1.1/24 then 10.77.9.9/24 on its veth, `REDIRECT --to-ports
/// 15001` in nat PREROUTING, plain `REDIRECT` in OUTPUT): the client's
/// SYN to 10.77.9.9:80 reached the listener on 15001, conntrack's reply
/// tuple from 10.77.1.1 (the device's first address, not the one sent
/// to); the router's own SYN to 10.77.9.9:81 went to 127.0.0.1:81. The
/// answers go back from the address the client sent to.
#[test]
fn redirect_sends_to_the_in_devices_first_address_or_loopback() {
    let rules = nat(
        "-A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 22\n\
         -A OUTPUT -d 10.0.0.2/32 -p tcp --dport 81 -j REDIRECT\n",
    );
    let mut sc = scenario(&rules);
    sc.hosts[0].devices[1]
        .addrs
        .push("10.0.9.9/24".parse().unwrap());
    sc.hosts[3].listeners = serde_json::from_str(r#"[{"proto": "tcp", "port": 81}]"#).unwrap();
    if let Text::Lines(routes) = &mut sc.hosts[3].routes {
        routes.push("10.0.9.0/24 via 10.0.0.1 dev eth0".into());
    }
    // (So the node answers a pod's ARP for its gateway: proxy ARP.)
    if let Text::Lines(routes) = &mut sc.hosts[0].routes {
        routes.push("default via 10.0.0.254 dev eth0".into());
    }
    let mut w = World::build(&sc).unwrap_or_else(|e| panic!("{e}"));
    let mut s = SimState::new(&w);
    let redirected = |t: &Trace| {
        (t.steps.iter()).find_map(|st| match &st.kind {
            StepKind::Nat {
                nat,
                before,
                after,
                rule,
            } => Some((
                *nat,
                format!("{}:{}", before.addr, before.port.unwrap()),
                format!("{}:{}", after.addr, after.port.unwrap()),
                rule.as_ref().map(|r| r.index),
            )),
            _ => None,
        })
    };
    use packetwalk::engine::trace::NatKind::Redirect;
    for (from, to, nat, ns, socket) in [
        // Sent to the node's second address, or through it to a pod:
        // the first address of eth0, and port 22, either way.
        (
            "client",
            "10.0.9.9:80",
            (Redirect, "10.0.9.9:80", "10.0.0.1:22", Some(1)),
            "node",
            "tcp listening on 0.0.0.0:22",
        ),
        (
            "client",
            "10.244.0.5:80",
            (Redirect, "10.244.0.5:80", "10.0.0.1:22", Some(1)),
            "node",
            "tcp listening on 0.0.0.0:22",
        ),
        // Not port 80: no REDIRECT.
        (
            "client",
            "10.0.0.1:22",
            (Redirect, "", "", None),
            "node",
            "",
        ),
        // The node's own packet: to 127.0.0.1, its port kept; the
        // listener on the client never sees it.
        (
            "node",
            "10.0.0.2:81",
            (Redirect, "10.0.0.2:81", "127.0.0.1:81", Some(1)),
            "",
            "",
        ),
    ] {
        let t = send(&mut w, &mut s, &SendSpec::new(from, to, Proto::Tcp)).unwrap();
        let got = redirected(&t);
        if nat.3.is_none() {
            assert_eq!(got, None, "{to}");
            assert_eq!(delivered(&t), ns, "{to}");
            continue;
        }
        assert_eq!(
            got,
            Some((nat.0, nat.1.to_string(), nat.2.to_string(), nat.3)),
            "{from} → {to}: {:?}",
            t.verdict
        );
        if !ns.is_empty() {
            let Verdict::Delivered {
                ns: at,
                socket: held,
            } = &t.verdict
            else {
                panic!("{to}: {:?}", t.verdict)
            };
            assert!(at == ns && held.starts_with(socket), "{to}: {at} {held}");
            // The answer leaves from the address the client sent to.
            let answer = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
            let back = answer.steps.last().unwrap().packet.head();
            assert_eq!(
                (back.src.to_string(), delivered(&answer)),
                (
                    to.split(':').next().unwrap().to_string(),
                    "client".to_string()
                ),
                "{to}"
            );
        } else {
            // Nothing listens on the node's 127.0.0.1:81: it answers a reset.
            assert!(
                matches!(&t.verdict, Verdict::Dropped { ns, .. } if ns == "node"),
                "{:?}",
                t.verdict
            );
        }
    }
    // From a pod, in by a veth with no address (Calico's cali veths have
    // none): nowhere to redirect to, and the kernel drops the packet.
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("web5", "10.0.0.2:80", Proto::Tcp),
    )
    .unwrap();
    let Verdict::Dropped { ns, .. } = &t.verdict else {
        panic!("{:?}", t.verdict)
    };
    let said = packetwalk::engine::render::table(&t);
    assert!(ns == "node" && said.contains("REDIRECT: veth5, the device the packet came in by, has no address to redirect it to"), "{said}");
    // Where the kernel refuses REDIRECT, it is refused as iptables-restore
    // refuses it.
    for (text, says) in [
        (
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j REDIRECT\nCOMMIT\n",
            "nat",
        ),
        (
            &*nat("-A POSTROUTING -j REDIRECT\n"),
            "PREROUTING and OUTPUT",
        ),
        (
            &*nat("-A PREROUTING -j REDIRECT --to-ports 22\n"),
            "needs -p tcp",
        ),
    ] {
        let e = save::parse(text).unwrap_err();
        assert!(e.to_string().contains(says), "{text}: {e}");
    }
}

/// `-m conntrack`'s tests of the connection itself, as Linux 6.18 did
/// them in a netns (a client, a router, a server; each option counted in
/// FORWARD): Docker's advice for a published port, `--ctorigdstport`,
/// matches the port the client asked for after DNAT has changed `--dport`;
/// a new connection is not yet confirmed (`--ctexpire 0`, no status); a
/// packet with no connection (INVALID) fails every such test, `!` or not,
/// unless the same match tests its state, which then decides alone. An
/// echo's tuple holds its type and code where a port would be:
/// `--ctorigdstport 2048` (8 × 256) matches a ping, 8 does not.
#[test]
fn conntrack_tests_the_connection_as_the_kernel_does() {
    let tests = [
        "-p tcp --dport 8080",
        "-m conntrack --ctorigdstport 8080 --ctdir ORIGINAL",
        "-m conntrack --ctrepldst 10.0.0.2 --ctreplsrcport 80",
        "-m conntrack --ctstatus CONFIRMED",
        "-m conntrack --ctdir REPLY",
        "-m conntrack --ctexpire 0",
        "-m conntrack --ctorigdst 10.0.0.1 ! --ctproto udp",
        "-m conntrack --ctstate INVALID --ctorigdst 1.2.3.4",
        "-m conntrack --ctorigdst 1.2.3.4",
        "-m conntrack ! --ctorigdst 1.2.3.4",
        // An echo's tuple: the type and code where a port would be, read
        // as one number (256 × type + code); the reply's type is 0.
        "-p icmp -m conntrack --ctorigdstport 2048",
        "-p icmp -m conntrack --ctorigdstport 8",
        "-p icmp -m conntrack --ctrepldstport 0 --ctdir REPLY",
    ];
    let forward: String = tests.iter().map(|t| format!("-A FORWARD {t}\n")).collect();
    let rules = format!(
        "{}*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{forward}COMMIT\n",
        nat("-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.244.0.5:80\n")
    );
    let (mut w, mut s) = routed(&rules);
    let syn = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.0.0.1:8080", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(delivered(&syn), "web5");
    assert_eq!(
        matched_in(&syn, "FORWARD"),
        [2, 3, 6, 7, 10],
        "the SYN, DNATed to 10.244.0.5:80"
    );
    let syn_ack = send(&mut w, &mut s, &reply_spec(&syn).unwrap()).unwrap();
    assert_eq!(delivered(&syn_ack), "client");
    assert_eq!(
        matched_in(&syn_ack, "FORWARD"),
        [3, 4, 5, 7, 10],
        "the SYN-ACK, confirmed, the reply way"
    );
    // A SYN-ACK for no connection: INVALID.
    let stray = send(
        &mut w,
        &mut s,
        &tcp_spec("client", "10.244.0.5:80", 7000, "SYN,ACK", 0),
    )
    .unwrap();
    assert_eq!(
        matched_in(&stray, "FORWARD"),
        [8],
        "a SYN-ACK with no connection"
    );
    // A ping (echo request, type 8) to the pod, and its answer.
    let ping = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.244.0.5", Proto::Icmp),
    )
    .unwrap();
    assert_eq!(
        matched_in(&ping, "FORWARD"),
        [6, 10, 11],
        "the echo request"
    );
    let pong = send(&mut w, &mut s, &reply_spec(&ping).unwrap()).unwrap();
    assert_eq!(delivered(&pong), "client");
    assert_eq!(
        matched_in(&pong, "FORWARD"),
        [4, 5, 10, 11, 13],
        "the echo reply"
    );
    // Why a test failed, in words.
    let said = packetwalk::engine::render::table(&syn);
    assert!(said.contains("--ctorigdst 1.2.3.4 (the connection's original destination 10.0.0.1 is not in 1.2.3.4/32)"), "{said}");
    // What iptables refuses.
    for (rule, says) in [
        (
            "-m conntrack ! --ctdir REPLY",
            "\"--ctdir\" cannot be inverted",
        ),
        ("-m conntrack --ctdir SIDEWAYS", "ORIGINAL or REPLY"),
        ("-m conntrack --ctstatus FOO", "Bad ctstatus"),
    ] {
        let text = format!("*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD {rule}\nCOMMIT\n");
        let e = save::parse(&text).unwrap_err();
        assert!(e.to_string().contains(says), "{rule}: {e}");
    }
}

/// `-m owner` tests the socket a host's own packet was sent from, at
/// OUTPUT and POSTROUTING, as Istio's sidecar rules use it: the proxy's
/// uid 1337 goes out as sent, every other program's connection is
/// redirected to the proxy. A forwarded packet has no socket: an owner
/// option fails, and holds negated (owner_mt).
#[test]
fn owner_tests_the_sending_sockets_uid_as_istios_rules_do() {
    let rules = nat(":PROXY_OUTPUT - [0:0]\n:PROXY_REDIRECT - [0:0]\n\
-A OUTPUT -p tcp -j PROXY_OUTPUT\n\
-A POSTROUTING -m owner --socket-exists -j RETURN\n\
-A POSTROUTING -m owner ! --socket-exists -j RETURN\n\
-A PROXY_OUTPUT -m owner --uid-owner 1337 -j RETURN\n\
-A PROXY_OUTPUT -m owner --gid-owner 1337 -j RETURN\n\
-A PROXY_OUTPUT -d 127.0.0.1/32 -j RETURN\n\
-A PROXY_OUTPUT -j PROXY_REDIRECT\n\
-A PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 22\n");
    let (mut w, mut s) = routed(&rules);
    // (who sends, uid, gid): the chains' rules matched, and where it went.
    for (from, uid, gid, proxy, postrouting, to) in [
        ("node", None, None, vec![4], vec![1], "node"),
        ("node", Some(1000), Some(1000), vec![4], vec![1], "node"),
        ("node", Some(1337), None, vec![1], vec![1], "web5"),
        ("node", None, Some(1337), vec![2], vec![1], "web5"),
        // Forwarded: no socket.
        ("client", Some(1337), None, vec![], vec![2], "web5"),
    ] {
        let mut spec = SendSpec::new(from, "10.244.0.5:80", Proto::Tcp);
        (spec.uid, spec.gid) = (uid, gid);
        let t = send(&mut w, &mut s, &spec).unwrap();
        let got = (
            matched_in(&t, "PROXY_OUTPUT"),
            matched_in(&t, "POSTROUTING"),
            match &t.verdict {
                Verdict::Delivered { ns, .. } => ns.as_str(),
                v => panic!("{from} {uid:?}: {v:?}"),
            },
        );
        assert_eq!(
            got,
            (proxy, postrouting, to),
            "{from} uid {uid:?} gid {gid:?}"
        );
    }
    // Why a skipped owner rule did not match, in words.
    let mut spec = SendSpec::new("node", "10.244.0.5:80", Proto::Tcp);
    spec.uid = Some(1000);
    let t = send(&mut w, &mut s, &spec).unwrap();
    let why = (t.steps.iter())
        .find_map(|st| match &st.kind {
            StepKind::RulesSkipped { chain, reasons, .. } if chain == "PROXY_OUTPUT" => reasons
                .iter()
                .find(|r| r.index == 1)
                .map(|r| (r.failed.clone(), r.reason.clone())),
            _ => None,
        })
        .expect("rule 1 of PROXY_OUTPUT skipped");
    assert_eq!(
        why,
        (
            "--uid-owner 1337".to_string(),
            "the socket's owner is uid 1000, the rule tests 1337".to_string()
        )
    );
    // The socket at the sender's POSTROUTING: a program's (uid 0), the
    // kernel's own for its answers (a reset, an echo reply: it exists, no
    // program owns it), none for a forwarded packet (measured with
    // counters on Linux 6.18).
    let mangle = "*mangle\n:POSTROUTING ACCEPT [0:0]\n:OWNERS - [0:0]\n-A POSTROUTING -j OWNERS\n\
-A OWNERS -m owner --socket-exists -j MARK --or-mark 0x1\n-A OWNERS -m owner ! --socket-exists -j MARK --or-mark 0x2\n\
-A OWNERS -m owner --uid-owner 0 -j MARK --or-mark 0x4\n-A OWNERS -m owner ! --uid-owner 0 -j MARK --or-mark 0x8\nCOMMIT\n";
    let (mut w, mut s) = routed(mangle);
    let own = send(
        &mut w,
        &mut s,
        &SendSpec::new("node", "10.244.0.5:80", Proto::Tcp),
    )
    .unwrap();
    let forwarded = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.244.0.5:80", Proto::Tcp),
    )
    .unwrap();
    let refused = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.0.0.1:23", Proto::Tcp),
    )
    .unwrap();
    let reset = send(
        &mut w,
        &mut s,
        &reply_spec(&refused).expect("the kernel's reset"),
    )
    .unwrap();
    let ping = send(
        &mut w,
        &mut s,
        &SendSpec::new("client", "10.0.0.1", Proto::Icmp),
    )
    .unwrap();
    let echo = send(&mut w, &mut s, &reply_spec(&ping).expect("the echo reply")).unwrap();
    for (what, t, want) in [
        ("the node's own SYN", &own, [1, 3]),
        ("a forwarded SYN", &forwarded, [2, 4]),
        ("the kernel's reset", &reset, [1, 4]),
        ("its echo reply", &echo, [1, 4]),
    ] {
        assert_eq!(matched_in(t, "OWNERS"), want, "{what}");
    }
    // Where the kernel refuses it, and what iptables refuses (1.8.9).
    for (text, said) in [
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n", "owner works in OUTPUT and POSTROUTING only"),
        ("*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner -j ACCEPT\nCOMMIT\n", "at least one of --uid-owner, --gid-owner or --socket-exists"),
        ("*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:X - [0:0]\n-A INPUT -j X\n-A OUTPUT -j X\n-A X -m owner --uid-owner 5 -j ACCEPT\nCOMMIT\n", "owner in chain X is reached from INPUT, but owner is only valid from OUTPUT and POSTROUTING"),
        ("*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner --suppl-groups -j ACCEPT\nCOMMIT\n", "--suppl-groups needs --gid-owner"),
        ("*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner --uid-owner 4294967295 -j ACCEPT\nCOMMIT\n", "at most 4294967294"),
        ("*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner --uid-owner istio-proxy -j ACCEPT\nCOMMIT\n", "no node's /etc/passwd"),
    ] {
        let e = save::parse(text).unwrap_err();
        assert!(e.0[0].message.contains(said), "{text}: {e}");
    }
    assert!(save::parse("*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner ! --socket-exists ! --uid-owner 1000-2000 --gid-owner 0x10 --suppl-groups -j ACCEPT\n-A OUTPUT -m owner --uid-owner root -j ACCEPT\nCOMMIT\n").is_ok());
}
