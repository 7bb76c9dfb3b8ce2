//! Golden traces of the article's paths. Each case states what a learner
//! would notice (chains walked, NAT, devices, verdict) and compares the whole
//! trace with a checked-in JSON file under tests/golden/.
//!
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites the files; review the diff.

use packetwalk::engine::packet::{Proto, TcpFlags, Transport};
use packetwalk::engine::scenario;
use packetwalk::engine::sim::{reply_spec, send, SendSpec, SimState};
use packetwalk::engine::trace::{CtEvent, DropReason, NatKind, Nud, StepKind, Trace, Verdict};
use packetwalk::engine::World;
use std::path::PathBuf;

fn world(name: &str) -> (World, SimState) {
    let w = World::build(&scenario::builtin(name).unwrap()).unwrap();
    let s = SimState::new(&w);
    (w, s)
}

/// The article's world with node8 changed by `edit` first.
fn article_with_node8(edit: impl FnOnce(&mut scenario::Host)) -> (World, SimState) {
    let mut sc = scenario::builtin("article").unwrap();
    edit(sc.host_mut("node8").unwrap());
    let w = World::build(&sc).unwrap();
    let s = SimState::new(&w);
    (w, s)
}

/// node8's routes text, changed by `f`.
fn node8_routes(n: &mut scenario::Host, f: impl FnOnce(String) -> String) {
    n.routes = scenario::Text::One(f(n.routes.to_text()));
}

/// node8's iptables-save text, changed by `f`.
fn node8_rules(n: &mut scenario::Host, f: impl FnOnce(String) -> String) {
    n.iptables = Some(scenario::Text::One(f(n
        .iptables
        .as_ref()
        .unwrap()
        .to_text())));
}

/// The article's world with `extra` routes after node8's own.
fn article_with_node8_routes(extra: &str) -> (World, SimState) {
    article_with_node8(|n| node8_routes(n, |r| r + extra))
}

fn golden(name: &str, t: &Trace) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"));
    let actual = serde_json::to_string_pretty(t).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let out = path.with_extension("actual.json");
        std::fs::write(&out, &actual).unwrap();
        panic!(
            "trace {name} differs from {}; the new trace is in {}",
            path.display(),
            out.display()
        );
    }
}

/// Chains entered on `ns`, in order (`nat/KUBE-SERVICES`).
fn chains(t: &Trace, ns: &str) -> Vec<String> {
    t.chains()
        .into_iter()
        .filter_map(|c| c.strip_prefix(&format!("{ns}/")).map(str::to_string))
        .collect()
}

fn nats(t: &Trace) -> Vec<(NatKind, String, String)> {
    t.steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Nat {
                nat, before, after, ..
            } => Some((*nat, before.to_string(), after.to_string())),
            _ => None,
        })
        .collect()
}

fn transmits(t: &Trace) -> Vec<String> {
    t.steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Transmit { dev, .. } => Some(format!("{}/{dev}", s.ns)),
            _ => None,
        })
        .collect()
}

fn delivered_in(t: &Trace) -> &str {
    match &t.verdict {
        Verdict::Delivered { ns, .. } => ns,
        v => panic!("not delivered: {v:?}"),
    }
}

fn dropped(t: &Trace) -> (&str, DropReason) {
    match &t.verdict {
        Verdict::Dropped { ns, reason } => (ns, *reason),
        v => panic!("not dropped: {v:?}"),
    }
}

/// The socket `t` was delivered to, in words.
fn socket_of(t: &Trace) -> &str {
    match &t.verdict {
        Verdict::Delivered { socket, .. } => socket,
        v => panic!("not delivered: {v:?}"),
    }
}

/// A reset with ACK, as a socket sends one.
const RST_ACK: TcpFlags = TcpFlags {
    rst: true,
    ack: true,
    syn: false,
    fin: false,
    psh: false,
    urg: false,
    ece: false,
    cwr: false,
};

/// The words of the drop that ends `t`.
fn drop_detail(t: &Trace) -> &str {
    match &t.steps.last().map(|st| &st.kind) {
        Some(StepKind::Drop { detail, .. }) => detail,
        other => panic!("not a drop: {other:?}"),
    }
}

/// The next-hop MTU of the ICMP fragmentation needed the kernel answered
/// the sender with, if that was its answer.
fn frag_needed_mtu(t: &Trace) -> Option<u16> {
    match answer(t)?.transport {
        Transport::Icmp {
            icmp_type: 3,
            code: 4,
            seq,
            ..
        } => Some(seq),
        _ => None,
    }
}

/// What the kernel answered the sender with (a reset, an ICMP error), if
/// the packet was refused.
fn answer(t: &Trace) -> Option<packetwalk::engine::packet::Packet> {
    match &t.steps.last()?.kind {
        StepKind::Drop {
            response: Some(p), ..
        } => Some((**p).clone()),
        _ => None,
    }
}

const FLASK_POD: &str = "flask-ui-6c9f7d8b5d-x2k4p";
const FLASK_POD_54: &str = "flask-ui-6c9f7d8b5d-r8w2n";
const CURL_POD: &str = "curl-7d4b9c6f5-qm2lx";

#[test]
fn article_client_to_service_follows_the_articles_chains() {
    let (mut w, mut s) = world("article");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp),
    )
    .unwrap();
    // The article's path, in order, inside nat PREROUTING.
    let nat: Vec<String> = chains(&t, "node8")
        .into_iter()
        .filter(|c| c.starts_with("nat/"))
        .take(5)
        .collect();
    assert_eq!(
        nat,
        [
            "nat/PREROUTING",
            "nat/KUBE-SERVICES",
            "nat/KUBE-SVC-7RUAH544RSSBQYKK",
            "nat/KUBE-MARK-MASQ",
            "nat/KUBE-SEP-IWORYNCAYHBSQHXU"
        ]
    );
    let n = nats(&t);
    assert_eq!(
        n[0],
        (
            NatKind::Dnat,
            "10.96.100.10:80".into(),
            "172.16.225.112:80".into()
        )
    );
    // The client is outside 172.16.0.0/16, so kube-proxy masquerades it.
    assert_eq!(n[1].0, NatKind::Masquerade);
    assert!(n[1].2.starts_with("192.168.11.58:"), "{:?}", n[1]);
    assert_eq!(transmits(&t), ["client/eth0", "node8/cali71ca141a178"]);
    assert_eq!(delivered_in(&t), FLASK_POD);
    let last = &t.steps.last().unwrap().packet;
    assert_eq!(
        (last.ip.dst.to_string(), last.ip.ttl),
        ("172.16.225.112".to_string(), 63)
    );
    // The DNAT rule is the article's, with its comment.
    let dnat_rule = t.steps.iter().find_map(|s| match &s.kind {
        StepKind::Nat {
            nat: NatKind::Dnat,
            rule: Some(r),
            ..
        } => Some(r.text.clone()),
        _ => None,
    });
    assert!(dnat_rule.unwrap().contains(
        "--comment \"ms-test/flask-ui:http\" -m tcp -j DNAT --to-destination 172.16.225.112:80"
    ));
    golden("article-client-to-service", &t);
}

#[test]
fn pod_to_cluster_ip_with_local_endpoint_keeps_its_source() {
    let (mut w, mut s) = world("article");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(CURL_POD, "10.96.100.10:80", Proto::Tcp),
    )
    .unwrap();
    assert!(chains(&t, "node8").contains(&"nat/KUBE-SEP-IWORYNCAYHBSQHXU".to_string()));
    assert!(
        !chains(&t, "node8").contains(&"nat/KUBE-MARK-MASQ".to_string()),
        "from inside the cluster CIDR: no masquerade mark"
    );
    assert_eq!(
        nats(&t),
        [(
            NatKind::Dnat,
            "10.96.100.10:80".into(),
            "172.16.225.112:80".into()
        )]
    );
    // The pod's default route via 169.254.1.1 is answered by proxy ARP on the host side.
    assert!(t.steps.iter().any(|s| matches!(&s.kind, StepKind::Arp { proxy: true, answered_by: Some(b), .. } if b == "node8/cali3f1d2a7c9e0")));
    assert_eq!(
        transmits(&t),
        [format!("{CURL_POD}/eth0"), "node8/cali71ca141a178".into()]
    );
    assert_eq!(delivered_in(&t), FLASK_POD);
    assert_eq!(
        t.steps.last().unwrap().packet.ip.src.to_string(),
        "172.16.225.101"
    );
    golden("pod-to-cluster-ip-local", &t);
}

#[test]
fn remote_endpoint_crosses_tunl0_in_ipip() {
    let (mut w, mut s) = world("article-remote");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client:192.168.11.200", "ms-test/flask-ui", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(
        nats(&t)[0],
        (
            NatKind::Dnat,
            "10.96.100.10:80".into(),
            "172.16.3.70:80".into()
        )
    );
    // The /26 route to node54's block wins and goes out of tunl0.
    let route = t
        .steps
        .iter()
        .find_map(|s| match &s.kind {
            StepKind::Route {
                dst, candidates, ..
            } if dst.to_string() == "172.16.3.70" && s.ns == "node8" => candidates
                .iter()
                .find(|c| c.chosen)
                .map(|c| c.route.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        route,
        "172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink"
    );
    let encap = t.steps.iter().find_map(|s| match &s.kind {
        StepKind::Encap { outer, .. } => Some((
            s.ns.clone(),
            outer.src.to_string(),
            outer.dst.to_string(),
            outer.protocol,
        )),
        _ => None,
    });
    assert_eq!(
        encap,
        Some((
            "node8".into(),
            "192.168.11.58".into(),
            "192.168.11.54".into(),
            Proto::Ipip
        ))
    );
    // On the LAN the packet carries both headers; node54 removes the outer one on tunl0.
    let on_lan = t
        .steps
        .iter()
        .find(|s| {
            s.ns == "node54" && matches!(&s.kind, StepKind::Receive { dev, .. } if dev == "ens33")
        })
        .unwrap();
    assert_eq!(on_lan.packet.outer.len(), 1);
    assert_eq!(on_lan.packet.ip.dst.to_string(), "172.16.3.70");
    assert!(t
        .steps
        .iter()
        .any(|s| s.ns == "node54"
            && matches!(&s.kind, StepKind::Decap { dev, .. } if dev == "tunl0")));
    assert_eq!(
        transmits(&t),
        [
            "client/eth0",
            "node8/tunl0",
            "node8/ens33",
            "node54/cali5e8a41c7b62"
        ]
    );
    assert_eq!(delivered_in(&t), FLASK_POD_54);
    let last = &t.steps.last().unwrap().packet;
    assert!(last.outer.is_empty());
    assert_eq!(last.ip.ttl, 62, "forwarded by node8 and node54");
    // Masqueraded out of tunl0: the source is tunl0's address.
    assert_eq!(last.ip.src.to_string(), "172.16.225.64");
    golden("remote-endpoint-ipip", &t);
}

/// Istio's sidecar: the pod's own nat rules hand the article's packet to
/// Envoy's inbound port, an app's connection to its outbound port, and
/// let the proxy's own (uid 1337) out to the Service.
#[test]
fn istio_sidecar_redirects_to_envoy_but_not_the_proxys_own() {
    let (mut w, mut s) = world("istio-sidecar");
    let socket = |t: &Trace| match &t.verdict {
        Verdict::Delivered { ns, socket } => format!("{ns}: {socket}"),
        v => panic!("not delivered: {v:?}"),
    };
    let inbound = send(
        &mut w,
        &mut s,
        &SendSpec::new("client:192.168.11.200", "ms-test/flask-ui", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(
        socket(&inbound),
        format!(
            "{FLASK_POD}: tcp listening on 0.0.0.0:15006, held by envoy (istio-proxy, inbound)"
        )
    );
    golden("istio-sidecar-inbound", &inbound);
    let outbound = send(
        &mut w,
        &mut s,
        &SendSpec::new(FLASK_POD, "10.96.100.10:80", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(
        socket(&outbound),
        format!(
            "{FLASK_POD}: tcp listening on 0.0.0.0:15001, held by envoy (istio-proxy, outbound)"
        )
    );
    golden("istio-sidecar-app-outbound", &outbound);
    // The proxy's own connection leaves the pod by eth0: node8 sends it
    // to the Service's endpoint (this very pod), where it comes in.
    let mut spec = SendSpec::new(FLASK_POD, "10.96.100.10:80", Proto::Tcp);
    spec.uid = Some(1337);
    let proxy = send(&mut w, &mut s, &spec).unwrap();
    assert!(
        proxy.steps.iter().any(|st| st.ns == "node8"),
        "the proxy's packet reached node8"
    );
    assert_eq!(
        socket(&proxy),
        format!(
            "{FLASK_POD}: tcp listening on 0.0.0.0:15006, held by envoy (istio-proxy, inbound)"
        )
    );
}

#[test]
fn blackholed_block_drops_silently() {
    let (mut w, mut s) = world("article");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(CURL_POD, "172.16.225.99:80", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::Blackhole));
    match &t.steps.last().unwrap().kind {
        StepKind::Drop {
            detail, response, ..
        } => {
            assert_eq!(detail, "blackhole route 172.16.225.64/26");
            assert!(response.is_none(), "a blackhole sends no ICMP");
        }
        k => panic!("{k:?}"),
    }
    golden("blackhole", &t);
}

#[test]
fn reply_is_de_natted_by_conntrack() {
    let (mut w, mut s) = world("article");
    let syn = send(
        &mut w,
        &mut s,
        &SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp),
    )
    .unwrap();
    let spec = reply_spec(&syn).unwrap();
    assert_eq!(spec.from, FLASK_POD);
    let t = send(&mut w, &mut s, &spec).unwrap();
    // No nat chain runs for the reply; conntrack reverses both translations.
    assert!(
        chains(&t, "node8").iter().all(|c| !c.starts_with("nat/")),
        "{:?}",
        chains(&t, "node8")
    );
    let established = t.steps.iter().any(|s| matches!(&s.kind, StepKind::Conntrack(CtEvent::Lookup { state, .. }) if state.starts_with("ESTABLISHED, reply direction")));
    assert!(established);
    assert_eq!(delivered_in(&t), "client");
    let last = &t.steps.last().unwrap().packet;
    assert_eq!(
        (last.ip.src.to_string(), last.ip.dst.to_string()),
        ("10.96.100.10".into(), "192.168.11.200".into())
    );
    let seq_ack = |p: &packetwalk::engine::packet::Packet| match &p.transport {
        Transport::Tcp { seq, ack, .. } => (*seq, *ack),
        t => panic!("{t:?}"),
    };
    let (syn_seq, _) = seq_ack(&syn.steps[0].packet);
    match &last.transport {
        Transport::Tcp {
            src_port, flags, ..
        } => {
            assert_eq!(*src_port, 80);
            assert!(flags.syn && flags.ack);
        }
        t => panic!("{t:?}"),
    }
    // The SYN-ACK acknowledges the SYN; the client's ACK goes on from there.
    let (synack_seq, synack_ack) = seq_ack(last);
    assert_eq!(synack_ack, syn_seq.wrapping_add(1));
    let ack = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    assert_eq!(delivered_in(&ack), FLASK_POD);
    assert_eq!(
        seq_ack(&ack.steps.last().unwrap().packet),
        (syn_seq.wrapping_add(1), synack_seq.wrapping_add(1))
    );
    // A second SYN of the same connection skips the nat table and follows the binding.
    let mut again = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
    again.src_port = syn.steps[0].packet.transport.ports().map(|p| p.0);
    again.flags = Some(TcpFlags {
        ack: true,
        ..Default::default()
    });
    let t2 = send(&mut w, &mut s, &again).unwrap();
    assert!(t2
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::NatSkipped { .. })));
    assert_eq!(delivered_in(&t2), FLASK_POD);
    golden("reply-de-nat", &t);
}

/// A listening socket takes a SYN as a new connection; an ACK whose SYN
/// never arrived has no connection, and TCP answers it with a reset. After
/// the SYN, the same connection's ACK is delivered.
#[test]
fn an_ack_without_its_syn_is_reset_by_the_listener() {
    let (mut w, mut s) = world("article");
    let mut ack = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
    ack.src_port = Some(41000);
    ack.flags = Some(TcpFlags {
        ack: true,
        ..Default::default()
    });
    let t = send(&mut w, &mut s, &ack).unwrap();
    assert_eq!(dropped(&t), (FLASK_POD, DropReason::NoConnection));
    let reset = answer(&t);
    match reset.map(|p| p.transport) {
        Some(Transport::Tcp { flags, .. }) => assert!(flags.rst, "{flags}"),
        r => panic!("no reset: {r:?}"),
    }
    // A FIN alone is a flag combination conntrack refuses whatever the
    // connection (tcp_error): INVALID, and kube-proxy's KUBE-FORWARD drops
    // it on node8, without an answer.
    let mut fin = ack.clone();
    fin.flags = Some(TcpFlags {
        fin: true,
        ..Default::default()
    });
    let t = send(&mut w, &mut s, &fin).unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::Filtered));
    assert!(t.steps.iter().any(|st| matches!(&st.kind,
        StepKind::Conntrack(packetwalk::engine::trace::CtEvent::Lookup { state, .. }) if state.starts_with("INVALID (TCP flags FIN:"))));
    assert!(t.steps.iter().all(|st| !matches!(
        &st.kind,
        StepKind::Drop {
            response: Some(_),
            ..
        }
    )));
    let mut syn = ack.clone();
    syn.flags = None;
    assert_eq!(
        delivered_in(&send(&mut w, &mut s, &syn).unwrap()),
        FLASK_POD
    );
    assert_eq!(
        delivered_in(&send(&mut w, &mut s, &ack).unwrap()),
        FLASK_POD
    );
    // `conntrack -F` forgets netfilter's connections, not the sockets.
    // The client's connection was masqueraded with --random-fully: its
    // next ACK is NEW to conntrack, gets another source port, and the pod
    // has no such connection (why flushing breaks NATed connections).
    s.clear_conntrack();
    let after = send(&mut w, &mut s, &ack).unwrap();
    assert!(after.steps.iter().any(|st| matches!(&st.kind,
        StepKind::Conntrack(packetwalk::engine::trace::CtEvent::Lookup { state, .. }) if state.starts_with("NEW"))));
    assert_eq!(dropped(&after), (FLASK_POD, DropReason::NoConnection));
    // A pod's connection is not masqueraded: after the flush its ACK is
    // DNATed again (to the one endpoint) and reaches the connection the
    // pod accepted.
    let mut syn = SendSpec::new(CURL_POD, "flask-ui", Proto::Tcp);
    syn.src_port = Some(41001);
    assert_eq!(
        delivered_in(&send(&mut w, &mut s, &syn).unwrap()),
        FLASK_POD
    );
    s.clear_conntrack();
    let mut ack = syn.clone();
    ack.flags = Some(TcpFlags {
        ack: true,
        ..Default::default()
    });
    let after = send(&mut w, &mut s, &ack).unwrap();
    assert!(after.steps.iter().any(|st| matches!(&st.kind,
        StepKind::Conntrack(packetwalk::engine::trace::CtEvent::Lookup { state, .. }) if state.starts_with("NEW"))));
    assert_eq!(delivered_in(&after), FLASK_POD);
}

#[test]
fn nodeport_from_outside_is_masqueraded() {
    let (mut w, mut s) = world("article");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client:192.168.11.200", "192.168.11.58:30080", Proto::Tcp),
    )
    .unwrap();
    let c = chains(&t, "node8");
    for want in [
        "nat/KUBE-NODEPORTS",
        "nat/KUBE-EXT-7RUAH544RSSBQYKK",
        "nat/KUBE-MARK-MASQ",
        "nat/KUBE-SVC-7RUAH544RSSBQYKK",
        "nat/KUBE-SEP-IWORYNCAYHBSQHXU",
    ] {
        assert!(c.contains(&want.to_string()), "{want} missing from {c:?}");
    }
    let n = nats(&t);
    assert_eq!(
        n[0],
        (
            NatKind::Dnat,
            "192.168.11.58:30080".into(),
            "172.16.225.112:80".into()
        )
    );
    assert_eq!(n[1].0, NatKind::Masquerade);
    assert_eq!(delivered_in(&t), FLASK_POD);
    assert_eq!(
        t.steps.last().unwrap().packet.ip.src.to_string(),
        "192.168.11.58"
    );
    golden("nodeport-masquerade", &t);
}

/// kube-proxy REJECTs a Service without endpoints. From a pod, the ICMP
/// port-unreachable goes back and curl's connect() is refused. From the
/// LAN client, whose packet node8 sends back out of ens33 toward the
/// router, node8 first makes an ICMP redirect (NAT drops it: the
/// connection's NAT is not complete), and that holds the error back by
/// ICMP's rate limit: curl waits (measured on Linux 6.18 in netns:
/// IcmpOutRedirects went up, IcmpOutRateLimitHost too, and no error came).
#[test]
fn service_without_endpoints_is_rejected() {
    let (mut w, mut s) = world("article");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client:192.168.11.200", "ms-test/flask-api", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::Rejected));
    assert!(t.steps.iter().any(|s| matches!(&s.kind, StepKind::RuleMatch { rule, .. } if rule.text.contains("flask-api:http has no endpoints"))));
    let redirect = t.steps.iter().find_map(|st| match &st.kind {
        StepKind::Redirect {
            to,
            gateway,
            sent,
            holds_errors: true,
            note,
        } => Some((to.to_string(), gateway.to_string(), *sent, note.clone())),
        _ => None,
    });
    let (to, gateway, sent, note) = redirect.expect("node8 redirects the client");
    assert_eq!(
        (to.as_str(), gateway.as_str(), sent),
        ("192.168.11.200", "192.168.11.1", true)
    );
    assert!(
        note.contains("dropped on the way out: conntrack's NAT"),
        "{note}"
    );
    let StepKind::Drop {
        response, detail, ..
    } = &t.steps.last().unwrap().kind
    else {
        unreachable!()
    };
    assert!(
        response.is_none() && detail.contains("ICMP rate limit"),
        "{detail}"
    );
    assert_eq!(reply_spec(&t), None);
    golden("no-endpoints-reject", &t);

    // From a pod: the error goes back, and walks to curl's socket.
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(CURL_POD, "ms-test/flask-api", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::Rejected));
    assert!(!t
        .steps
        .iter()
        .any(|st| matches!(st.kind, StepKind::Redirect { .. })));
    match &t.steps.last().unwrap().kind {
        StepKind::Drop {
            response: Some(r), ..
        } => {
            assert_eq!(r.ip.dst.to_string(), "172.16.225.101");
            assert!(
                matches!(
                    r.transport,
                    Transport::Icmp {
                        icmp_type: 3,
                        code: 3,
                        ..
                    }
                ),
                "ICMP port unreachable"
            );
        }
        k => panic!("{k:?}"),
    }
    let back = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    assert_eq!(delivered_in(&back), CURL_POD);
    golden("no-endpoints-reject-answer", &back);
}

/// Short paths whose verdicts are table-driven: (scenario, from, to, proto, ttl, verdict ns, expected).
#[test]
fn verdicts() {
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Proto,
        Option<u8>,
        &'static str,
        &'static str,
    );
    let cases: &[Case] = &[
        (
            "article",
            "node8",
            "flask-ui",
            Proto::Tcp,
            None,
            FLASK_POD,
            "delivered",
        ),
        (
            "article",
            "node8",
            "10.96.0.1:443",
            Proto::Tcp,
            None,
            "node51",
            "delivered",
        ),
        (
            "article",
            CURL_POD,
            "172.16.225.112",
            Proto::Icmp,
            None,
            FLASK_POD,
            "delivered",
        ),
        (
            "article",
            CURL_POD,
            "172.16.225.112:8080",
            Proto::Tcp,
            None,
            FLASK_POD,
            "no_listener",
        ),
        (
            "article",
            CURL_POD,
            "172.16.225.112:53",
            Proto::Udp,
            None,
            FLASK_POD,
            "no_listener",
        ),
        (
            "article",
            "client:192.168.11.200",
            "flask-ui",
            Proto::Tcp,
            Some(1),
            "node8",
            "ttl_exceeded",
        ),
        (
            "article",
            CURL_POD,
            "172.17.0.5:80",
            Proto::Tcp,
            None,
            "node8",
            "no_neighbour",
        ),
        (
            "article",
            CURL_POD,
            "8.8.8.8:53",
            Proto::Udp,
            None,
            "node8",
            "left",
        ),
        (
            "article",
            "client:192.168.11.77",
            "flask-ui",
            Proto::Tcp,
            None,
            FLASK_POD,
            "delivered",
        ),
        (
            "article-remote",
            CURL_POD,
            "flask-ui",
            Proto::Tcp,
            None,
            FLASK_POD_54,
            "delivered",
        ),
        (
            "article-remote",
            "node8",
            "172.16.3.70:80",
            Proto::Tcp,
            None,
            FLASK_POD_54,
            "delivered",
        ),
    ];
    for (sc, from, to, proto, ttl, ns, want) in cases {
        let (mut w, mut s) = world(sc);
        let mut spec = SendSpec::new(from, to, *proto);
        spec.ttl = *ttl;
        let t = send(&mut w, &mut s, &spec).unwrap();
        let got = match &t.verdict {
            Verdict::Delivered { ns, .. } => (ns.as_str(), "delivered".to_string()),
            Verdict::Dropped { ns, reason } => (
                ns.as_str(),
                serde_json::to_value(reason)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
            ),
            Verdict::Left { ns, .. } => (ns.as_str(), "left".to_string()),
        };
        assert_eq!(
            got,
            (*ns, want.to_string()),
            "{sc}: {from} -> {to} {proto:?}"
        );
    }
}

#[test]
fn bad_send_requests_are_explained() {
    let (mut w, mut s) = world("article");
    let cases = [
        ("nobody", "flask-ui", "no host named \"nobody\""),
        (
            "client:192.168.12.9",
            "flask-ui",
            "192.168.12.9 is not on the LAN 192.168.11.0/24",
        ),
        // Addresses no client on the LAN can have.
        (
            "client:127.0.0.1",
            "flask-ui",
            "127.0.0.1 is not a LAN host's address",
        ),
        (
            "client:192.168.11.255",
            "flask-ui",
            "192.168.11.255 is the broadcast address of the LAN 192.168.11.0/24",
        ),
        (
            "client:192.168.11.0",
            "flask-ui",
            "192.168.11.0 is the network address of the LAN",
        ),
        (
            "client:192.168.11.1",
            "flask-ui",
            "192.168.11.1 is the LAN's router (the default gateway)",
        ),
        (
            "node8",
            "flask-ui\0",
            "the destination is not a host, an address or a Service name (9 characters, control characters among them)",
        ),
        (
            "node8",
            "no-such-svc",
            "\"no-such-svc\" is neither IP[:PORT] nor a Service",
        ),
        ("node8", "10.96.100.10", "tcp needs a destination port"),
        (
            "node8",
            "10.96.100.10:99999",
            "port \"99999\" of 10.96.100.10:99999 is not a port number",
        ),
        (
            "node8",
            "flask-ui:https",
            "Service ms-test/flask-ui has no port \"https\" (its ports: http 80/TCP)",
        ),
        // One packet to one host: no broadcast, no multicast.
        (
            "client:192.168.11.200",
            "192.168.11.255:30116",
            "192.168.11.255 is the broadcast address of 192.168.11.0/24: every host on it takes a copy, and Packet Walk follows one packet to one host (unicast)",
        ),
        (
            "node8",
            "255.255.255.255:67",
            "255.255.255.255 is the limited broadcast address",
        ),
        ("node8", "224.0.0.251:5353", "224.0.0.251 is a multicast address"),
    ];
    for (from, to, msg) in cases {
        let e = send(&mut w, &mut s, &SendSpec::new(from, to, Proto::Tcp)).unwrap_err();
        assert!(e.contains(msg), "{from} -> {to}: {e}");
    }
    // A request that cannot be sent makes no LAN client on the way.
    let hosts = w.hosts.len();
    let e = send(
        &mut w,
        &mut s,
        &SendSpec::new("client:192.168.11.77", "nosuch", Proto::Tcp),
    )
    .unwrap_err();
    assert!(
        e.contains("neither IP[:PORT] nor a Service") && w.hosts.len() == hosts,
        "{e}"
    );
    // A Service by its DNS name, as a pod would write it.
    for to in [
        "flask-ui.ms-test",
        "flask-ui.ms-test.svc",
        "flask-ui.ms-test.svc.cluster.local:http",
        "flask-ui.ms-test.svc.cluster.local.:80",
    ] {
        let t = send(&mut w, &mut s, &SendSpec::new("node8", to, Proto::Tcp))
            .unwrap_or_else(|e| panic!("{to}: {e}"));
        assert_eq!(t.steps[0].packet.ip.dst.to_string(), "10.96.100.10", "{to}");
    }
}

#[test]
fn node_to_service_is_rerouted_dst_changed_in_output() {
    let (mut w, mut s) = world("article");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("node8", "flask-ui", Proto::Tcp),
    )
    .unwrap();
    use packetwalk::engine::trace::{Lookup, RouteResult};
    let routes: Vec<(Lookup, RouteResult)> = t
        .steps
        .iter()
        .filter(|s| s.ns == "node8")
        .filter_map(|s| match &s.kind {
            StepKind::Route { lookup, result, .. } => Some((*lookup, result.clone())),
            _ => None,
        })
        .collect();
    // First routed toward the ClusterIP (default route), then re-routed to the pod's veth.
    assert_eq!(routes[0].0, Lookup::Output);
    assert!(matches!(&routes[0].1, RouteResult::Unicast { dev, .. } if dev == "ens33"));
    assert_eq!(routes[1].0, Lookup::Reroute);
    assert!(matches!(&routes[1].1, RouteResult::Unicast { dev, .. } if dev == "cali71ca141a178"));
    assert!(chains(&t, "node8")
        .starts_with(&["nat/OUTPUT".to_string(), "nat/KUBE-SERVICES".to_string()]));
    assert_eq!(delivered_in(&t), FLASK_POD);
    assert_eq!(
        t.steps.last().unwrap().packet.ip.src.to_string(),
        "192.168.11.58"
    );
}

#[test]
fn clearing_conntrack_sends_the_next_packet_through_nat_again() {
    let (mut w, mut s) = world("article");
    let mut spec = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
    spec.src_port = Some(40000);
    send(&mut w, &mut s, &spec).unwrap();
    let again = send(&mut w, &mut s, &spec).unwrap();
    assert!(again
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::NatSkipped { .. })));
    s.clear_conntrack();
    let fresh = send(&mut w, &mut s, &spec).unwrap();
    assert!(!fresh
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::NatSkipped { .. })));
    assert!(chains(&fresh, "node8").contains(&"nat/KUBE-SEP-IWORYNCAYHBSQHXU".to_string()));
}

#[test]
fn unreachable_and_prohibit_routes_answer_with_icmp() {
    let (mut w, mut s) =
        article_with_node8_routes("unreachable 10.123.0.0/16\nprohibit 10.124.0.0/16\n");
    for (to, reason, code) in [
        ("10.123.4.5:80", DropReason::Unreachable, 1),
        ("10.124.4.5:80", DropReason::Prohibit, 13),
    ] {
        let t = send(&mut w, &mut s, &SendSpec::new(CURL_POD, to, Proto::Tcp)).unwrap();
        assert_eq!(dropped(&t), ("node8", reason), "{to}");
        match &t.steps.last().unwrap().kind {
            StepKind::Drop {
                response: Some(r), ..
            } => {
                assert_eq!(r.ip.dst.to_string(), "172.16.225.101");
                assert!(
                    matches!(r.transport, Transport::Icmp { icmp_type: 3, code: c, .. } if c == code),
                    "{to}: {:?}",
                    r.transport
                );
            }
            k => panic!("{to}: {k:?}"),
        }
    }
}

/// A route whose gateway is the host's own address: the kernel ignores the
/// gateway (a host-scope nexthop) and resolves the destination itself on
/// the link; before, the packet was sent toward node8's own address.
#[test]
fn gateway_of_own_address_sends_straight_to_the_destination() {
    let (mut w, mut s) = article_with_node8_routes("10.99.0.0/16 via 192.168.11.58 dev ens33\n");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(CURL_POD, "10.99.0.5:80", Proto::Tcp),
    )
    .unwrap();
    match &t.verdict {
        Verdict::Left { ns, dev, next_hop } => {
            assert_eq!((ns.as_str(), dev.as_str()), ("node8", "ens33"));
            assert_eq!(next_hop.to_string(), "10.99.0.5");
        }
        v => panic!("{v:?}"),
    }
    let (result, why) = t
        .steps
        .iter()
        .find_map(|s| match &s.kind {
            StepKind::Route {
                result, candidates, ..
            } if s.ns == "node8" => Some((
                result.describe(),
                candidates.iter().find(|c| c.chosen).unwrap().why.clone(),
            )),
            _ => None,
        })
        .unwrap();
    assert_eq!(result, "dev ens33");
    assert!(
        why.contains("its gateway 192.168.11.58 is this host's own address"),
        "{why}"
    );
}

/// A pod that calls its own Service: kube-proxy's KUBE-SEP chain marks the
/// packet for masquerade (`-s <pod IP> -j KUBE-MARK-MASQ`), so it comes
/// back from node8's address and is delivered. Without that rule it comes
/// back with the pod's own address as its source, a martian the pod's
/// kernel drops (as a netns showed: "martian source 10.99.2.2 from
/// 10.99.2.2, on dev eth0").
#[test]
fn a_pod_reaching_itself_needs_kube_proxys_hairpin_masquerade() {
    const FLASK: &str = FLASK_POD;
    let (mut w, mut s) = world("article");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(FLASK, "flask-ui", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(delivered_in(&t), FLASK);
    // MASQUERADE out of a cali veth, which has no address: the node's.
    assert_eq!(
        t.steps.last().unwrap().packet.ip.src.to_string(),
        "192.168.11.58"
    );
    let (mut w, mut s) = article_with_node8(|n| {
        node8_rules(n, |rules| {
            let without: String = rules
                .lines()
                .filter(|l| !l.starts_with("-A KUBE-SEP-IWORYNCAYHBSQHXU -s 172.16.225.112/32"))
                .map(|l| format!("{l}\n"))
                .collect();
            assert_ne!(without, rules);
            without
        })
    });
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(FLASK, "flask-ui", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(dropped(&t), (FLASK, DropReason::Martian));
    let last = t.steps.last().unwrap();
    assert_eq!(
        (
            last.packet.ip.src.to_string(),
            last.packet.ip.dst.to_string()
        ),
        ("172.16.225.112".into(), "172.16.225.112".into())
    );
}

/// The article's world with `commands` applied to node8's rules and
/// `route` (if any) in place of the route to the flask-ui pod.
fn article_node8(commands: &[&str], route: &str) -> (World, SimState) {
    use packetwalk::engine::iptables::{command::apply_command, save};
    article_with_node8(|n| {
        node8_rules(n, |text| {
            let mut rs = save::parse(&text).unwrap();
            for c in commands {
                apply_command(&mut rs, c).unwrap();
            }
            save::emit(&rs)
        });
        if !route.is_empty() {
            node8_routes(n, |r| {
                r.replace("172.16.225.112 dev cali71ca141a178 scope link", route)
            });
        }
    })
}

/// The kernel's answer to a refused packet, followed back with Reply: it
/// leaves through conntrack, which takes the DNAT back, so the client gets
/// it from the ClusterIP it sent to, quoting its packet as sent, and its
/// socket fails as the kernel's does. Measured on Linux 6.18 in netns (a
/// REJECT after DNAT to 10.99.2.2:8081 answered from 10.99.9.9:80): the
/// error is RELATED at the node's OUTPUT, walks no nat chain, and the
/// client's connect() gets the errno in the last column.
#[test]
fn answers_to_a_dnated_packet_come_back_from_the_address_it_was_sent_to() {
    let rows: [(&str, &str, &str, &str, &str); 5] = [
        (
            "REJECT with a reset in FORWARD",
            "-I FORWARD 1 -d 172.16.225.112/32 -p tcp -j REJECT --reject-with tcp-reset",
            "",
            "RELATED, reply direction (the kernel attached",
            "ECONNREFUSED",
        ),
        (
            "REJECT with ICMP in FORWARD",
            "-I FORWARD 1 -d 172.16.225.112/32 -p tcp -j REJECT --reject-with icmp-port-unreachable",
            "",
            "RELATED, reply direction (the kernel attached",
            "connect() fails with ECONNREFUSED (Connection refused)",
        ),
        (
            "REJECT with host-prohibited",
            "-I FORWARD 1 -d 172.16.225.112/32 -p tcp -j REJECT --reject-with icmp-host-prohibited",
            "",
            "RELATED, reply direction (the kernel attached",
            "connect() fails with EHOSTUNREACH (No route to host)",
        ),
        (
            "an unreachable route",
            "",
            "unreachable 172.16.225.112",
            "RELATED, reply direction (the kernel attached",
            "connect() fails with EHOSTUNREACH (No route to host)",
        ),
        // The pod's own reset: nothing listens on 80 any more. No
        // connection is attached to it: the node finds it by lookup.
        (
            "no listener in the pod",
            "-t nat -I KUBE-SEP-IWORYNCAYHBSQHXU 1 -p tcp -j DNAT --to-destination 172.16.225.112:81",
            "",
            "ESTABLISHED, reply direction",
            "connect() fails with ECONNREFUSED",
        ),
    ];
    for (what, rule, route, node_state, errno) in rows {
        let rules: Vec<&str> = [rule].into_iter().filter(|r| !r.is_empty()).collect();
        let (mut w, mut s) = article_node8(&rules, route);
        let mut spec = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
        spec.src_port = Some(40000);
        let t = send(&mut w, &mut s, &spec).unwrap();
        assert!(answer(&t).is_some(), "{what}: no answer");
        let back = reply_spec(&t).unwrap_or_else(|| panic!("{what}: Reply gives nothing"));
        assert!(back.kernel, "{what}");
        let b = send(&mut w, &mut s, &back).unwrap();
        let table = packetwalk::engine::render::table(&b);
        assert!(
            matches!(&b.verdict, Verdict::Delivered { ns, .. } if ns == "client"),
            "{what}\n{table}"
        );
        let Verdict::Delivered { socket, .. } = &b.verdict else {
            unreachable!()
        };
        assert!(socket.contains(errno), "{what}: {socket}");
        // node8's conntrack on the way out.
        let at_node = b.steps.iter().find_map(|st| match &st.kind {
            StepKind::Conntrack(CtEvent::Lookup { state, .. }) if st.ns == "node8" => {
                Some(state.clone())
            }
            _ => None,
        });
        assert!(
            at_node
                .as_deref()
                .is_some_and(|st| st.starts_with(node_state)),
            "{what}: {at_node:?}\n{table}"
        );
        // No nat chain is walked for an ICMP error; a REJECT's reset
        // walks nat POSTROUTING, as its connection never reached it
        // (measured: those rules count it, and the DNAT is taken back).
        let nat: Vec<String> = (b.chains().into_iter())
            .filter(|c| c.starts_with("node8/nat/"))
            .collect();
        let want: &[&str] = match what {
            "REJECT with a reset in FORWARD" => {
                &["node8/nat/POSTROUTING", "node8/nat/KUBE-POSTROUTING"]
            }
            _ => &[],
        };
        assert_eq!(nat, want, "{what}");
        let a = &b.steps.last().unwrap().packet;
        assert_eq!(
            (a.ip.src.to_string(), a.ip.dst.to_string()),
            ("10.96.100.10".into(), "192.168.11.200".into()),
            "{what}\n{table}"
        );
        match &a.transport {
            Transport::Tcp {
                src_port, dst_port, ..
            } => assert_eq!((*src_port, *dst_port), (80, 40000), "{what}"),
            Transport::Icmp {
                quoted: Some(q), ..
            } => assert_eq!(
                (
                    q.ip.src.to_string(),
                    q.ip.dst.to_string(),
                    q.src_port,
                    q.dst_port
                ),
                ("192.168.11.200".into(), "10.96.100.10".into(), 40000, 80),
                "{what}"
            ),
            other => panic!("{what}: {other:?}"),
        }
        // The kernel answers once: no Again, and nothing answers it.
        assert_eq!(
            packetwalk::engine::sim::again_spec(&back, &b),
            None,
            "{what}"
        );
        assert_eq!(reply_spec(&b), None, "{what}");
    }
    // TTL 1: node8 cannot forward it, and its time-exceeded comes back
    // from the ClusterIP too (conntrack translates the error's outer
    // header by the connection, as traceroute through a NAT shows), and
    // the connecting socket fails (tcp_v4_err: EHOSTUNREACH).
    let (mut w, mut s) = article_node8(&[], "");
    let mut spec = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
    spec.ttl = Some(1);
    let t = send(&mut w, &mut s, &spec).unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::TtlExceeded));
    let b = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    let got = &b.steps.last().unwrap().packet;
    assert_eq!(got.ip.src.to_string(), "10.96.100.10");
    assert!(
        matches!(&b.verdict, Verdict::Delivered { socket, .. } if socket.ends_with("its connect() fails with EHOSTUNREACH (No route to host)")),
        "{:?}",
        b.verdict
    );
    // The same error as fragmentation needed is news of the path's MTU
    // (tcp_v4_err), not a failure: the socket still takes the
    // time-exceeded after it.
    let (mut w, mut s) = article_node8(&[], "");
    let t = send(&mut w, &mut s, &spec).unwrap();
    let answer = reply_spec(&t).unwrap();
    let mut frag = answer.clone();
    (frag.icmp_type, frag.icmp_code) = (Some(3), Some(4));
    for (error, says) in [
        (&frag, "the connection goes on"),
        (
            &answer,
            "its connect() fails with EHOSTUNREACH (No route to host)",
        ),
    ] {
        let b = send(&mut w, &mut s, error).unwrap();
        assert!(
            matches!(&b.verdict, Verdict::Delivered { socket, .. } if socket.ends_with(says)),
            "{:?}",
            b.verdict
        );
    }
    spec.ttl = Some(0);
    assert_eq!(
        send(&mut w, &mut s, &spec).unwrap_err(),
        "a TTL of 0 cannot be sent: it is 1 to 255 (64 by default)"
    );
    // A host's own packet, DNATed in OUTPUT to one of its own addresses,
    // comes back in on lo already translated: the reset to it still comes
    // from the address the program connected to (Linux 6.18: RELATED on
    // lo's PREROUTING and INPUT too).
    let (mut w, mut s) = article_node8(
        &[
            "-t nat -I OUTPUT 1 -d 10.96.200.200/32 -p tcp -j DNAT --to-destination 192.168.11.58:6443",
            "-I INPUT 1 -p tcp --dport 6443 -j REJECT --reject-with tcp-reset",
        ],
        "",
    );
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("node8", "10.96.200.200:443", Proto::Tcp),
    )
    .unwrap();
    let b = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    let table = packetwalk::engine::render::table(&b);
    assert!(
        matches!(&b.verdict, Verdict::Delivered { ns, .. } if ns == "node8"),
        "{table}"
    );
    let r = &b.steps.last().unwrap().packet;
    assert_eq!(
        (r.ip.src.to_string(), r.transport.ports().map(|p| p.0)),
        ("10.96.200.200".into(), Some(443)),
        "{table}"
    );
}

/// An ICMP error about a masqueraded packet comes back through the node
/// that masqueraded it: conntrack finds the connection by the quoted
/// packet (RELATED, reply direction) and gives the pod back its address
/// in the outer header and in the quote (Linux 6.18 in netns: rewritten
/// at nat PREROUTING, RELATED with SNAT in FORWARD; the pod's connected
/// UDP socket gets ECONNREFUSED). A ping REJECTed on the way gets its
/// error too, and ping says so.
#[test]
fn icmp_errors_find_their_connection_by_the_packet_they_quote() {
    let (mut w, mut s) = world("flannel-vxlan");
    let mut spec = SendSpec::new("curl", "192.168.11.200:5000", Proto::Udp);
    spec.src_port = Some(42361);
    let t = send(&mut w, &mut s, &spec).unwrap();
    assert_eq!(dropped(&t), ("client", DropReason::NoListener));
    let b = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    let table = packetwalk::engine::render::table(&b);
    let at_node8 = b.steps.iter().find_map(|st| match &st.kind {
        StepKind::Conntrack(CtEvent::Lookup { state, .. }) if st.ns == "node8" => Some(state),
        _ => None,
    });
    assert_eq!(
        at_node8.map(String::as_str),
        Some("RELATED, reply direction"),
        "{table}"
    );
    assert!(
        matches!(&b.verdict, Verdict::Delivered { ns, socket } if ns == "curl" && socket.contains("ECONNREFUSED")),
        "{table}"
    );
    let got = &b.steps.last().unwrap().packet;
    let Transport::Icmp {
        quoted: Some(q), ..
    } = &got.transport
    else {
        panic!("{table}");
    };
    assert_eq!(
        (got.ip.dst.to_string(), q.ip.src.to_string(), q.src_port),
        ("10.244.0.5".into(), "10.244.0.5".into(), 42361),
        "{table}"
    );

    let (mut w, mut s) = article_node8(&["-I FORWARD 1 -p icmp -j REJECT"], "");
    let ping = SendSpec::new(CURL_POD, "172.16.225.112", Proto::Icmp);
    let t = send(&mut w, &mut s, &ping).unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::Rejected));
    let b = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    let table = packetwalk::engine::render::table(&b);
    assert!(
        matches!(&b.verdict, Verdict::Delivered { ns, socket } if ns == CURL_POD && socket.contains("\"From 192.168.11.58 … Destination Port Unreachable\"")),
        "{table}"
    );
}

/// A host that REJECTs its own packet in OUTPUT answers itself: the ICMP
/// error goes out on lo and back in, RELATED all the way, to the socket
/// (Linux 6.18 in netns: a UDP send fails with EPERM at once, and the next
/// receive with ECONNREFUSED).
#[test]
fn a_host_that_rejects_its_own_packet_answers_itself_on_lo() {
    let (mut w, mut s) = article_node8(&["-I OUTPUT 1 -p udp --dport 9 -j REJECT"], "");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("node8", "192.168.11.200:9", Proto::Udp),
    )
    .unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::Rejected));
    let detail = drop_detail(&t);
    assert!(
        detail.ends_with("the program's send fails with EPERM (Operation not permitted)"),
        "{detail}"
    );
    let b = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    let table = packetwalk::engine::render::table(&b);
    let states: Vec<&str> = b
        .steps
        .iter()
        .filter_map(|st| match &st.kind {
            StepKind::Conntrack(CtEvent::Lookup { state, .. }) => Some(state.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            "RELATED, reply direction (the kernel attached the connection of the packet it answers: nothing is looked up)",
            "RELATED, reply direction (the packet came back on lo with its connection: nothing is looked up)"
        ],
        "{table}"
    );
    assert!(
        matches!(&b.verdict, Verdict::Delivered { ns, socket } if ns == "node8" && socket.contains("ECONNREFUSED")),
        "{table}"
    );
}

/// SYNs one second apart from the LAN client to a Service without
/// endpoints, each a new connection: node8 redirects the first six (the
/// wait it keeps between redirects, 20 ms doubled each time, stays under a
/// second up to the sixth), and each redirect holds that SYN's error back;
/// from the seventh, no redirect, and the port-unreachable goes back.
/// Measured on Linux 6.18 in netns with SYNs 1.000 s apart: R R R R R R U
/// U U U U U U U.
#[test]
fn redirects_back_off_and_then_the_errors_come_through() {
    let (mut w, mut s) = world("article");
    let pattern: String = (0..10)
        .map(|k| {
            let mut spec = SendSpec::new("client:192.168.11.200", "ms-test/flask-api", Proto::Tcp);
            spec.src_port = Some(40000 + k);
            let t = send(&mut w, &mut s, &spec).unwrap();
            let redirected =
                (t.steps.iter()).any(|st| matches!(st.kind, StepKind::Redirect { sent: true, .. }));
            match (redirected, answer(&t).is_some()) {
                (true, false) => 'R',
                (false, true) => 'U',
                (true, true) => '!',
                (false, false) => '-',
            }
        })
        .collect();
    assert_eq!(pattern, "RRRRRRUUUU");
}

/// A reset ends an established connection (ECONNRESET) but refuses one
/// still connecting (ECONNREFUSED): the client's socket knows which, from
/// the SYN-ACK it got, though the client has no conntrack of its own.
#[test]
fn a_reset_refuses_a_connect_and_resets_a_connection() {
    use packetwalk::engine::sim::again_spec;
    let (mut w, mut s) = world("article");
    let mut syn = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
    syn.src_port = Some(40000);
    let t = send(&mut w, &mut s, &syn).unwrap();
    let synack_spec = reply_spec(&t).unwrap();
    let synack = send(&mut w, &mut s, &synack_spec).unwrap();
    assert_eq!(delivered_in(&synack), "client");
    // The server resets at its next sequence number (what the client
    // expects: a reset at any other is challenged, RFC 5961).
    let mut rst = again_spec(&synack_spec, &synack).unwrap();
    rst.flags = Some(RST_ACK);
    rst.seq = synack.steps[0].packet.seq_after();
    let reset = send(&mut w, &mut s, &rst).unwrap();
    assert!(
        socket_of(&reset).contains("ECONNRESET"),
        "{}",
        socket_of(&reset)
    );
    // A new connection refused at once: no SYN-ACK came.
    let (mut w, mut s) = world("article");
    let t = send(&mut w, &mut s, &syn).unwrap();
    let mut early = reply_spec(&t).unwrap();
    early.flags = Some(RST_ACK);
    let refused = send(&mut w, &mut s, &early).unwrap();
    assert!(
        socket_of(&refused).contains("ECONNREFUSED"),
        "{}",
        socket_of(&refused)
    );
}

/// A time-exceeded from node54 crosses the LAN inside IPIP: where the nat
/// table is not consulted for the outer packet, the reason is the outer
/// (ipencap) connection's, not the ICMP error's inside.
#[test]
fn the_outer_packet_of_a_tunnelled_icmp_error_skips_nat_as_a_later_packet() {
    let (mut w, mut s) = world("article-remote");
    let mut spec = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
    spec.ttl = Some(2);
    let t = send(&mut w, &mut s, &spec).unwrap();
    // The tunnel's own connection, as conntrack -L names a protocol it has
    // no tracker for.
    let listed = s.conntrack[w.host("node8").unwrap()].list(s.clock);
    assert!(
        listed
            .iter()
            .any(|l| l.starts_with("unknown  4 600 src=192.168.11.58 dst=192.168.11.54 ")),
        "{listed:?}"
    );
    let back = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    let outer: Vec<String> = (back.steps.iter())
        .filter(|st| matches!(st.kind, StepKind::NatSkipped { .. }) && !st.packet.outer.is_empty())
        .map(packetwalk::engine::render::summary)
        .collect();
    assert!(
        !outer.is_empty()
            && outer
                .iter()
                .all(|w| w.ends_with("not the first packet of the connection")),
        "{outer:?}"
    );
}

/// The client's ACK before any SYN-ACK came back (SYN_SENT): conntrack's
/// TCP tracker finds it invalid ("we haven't seen a SYN/ACK yet"), so
/// kube-proxy's KUBE-FORWARD drops it, and the entry stays SYN_SENT.
#[test]
fn an_ack_before_the_syn_ack_is_invalid() {
    use packetwalk::engine::sim::again_spec;
    let (mut w, mut s) = world("article");
    let syn = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
    let t = send(&mut w, &mut s, &syn).unwrap();
    let mut ack = again_spec(&syn, &t).unwrap();
    ack.flags = Some(TcpFlags {
        ack: true,
        ..Default::default()
    });
    let a = send(&mut w, &mut s, &ack).unwrap();
    assert_eq!(dropped(&a), ("node8", DropReason::Filtered));
    assert!(a.steps.iter().any(|st| matches!(&st.kind, StepKind::Conntrack(CtEvent::Lookup { state, .. }) if st.ns == "node8" && state.starts_with("INVALID (an ACK from the opening side before any SYN-ACK"))));
    let node8 = w.host("node8").unwrap();
    let listed = s.conntrack[node8].list(s.clock);
    assert!(
        listed[0].contains("SYN_SENT") && listed[0].contains("[UNREPLIED]"),
        "{listed:?}"
    );
}

/// A reset that reaches the listener's side: a connection accepted and
/// up ends with ECONNRESET; one still half-open (SYN_RECV) just leaves the
/// queue; only a connecting socket (SYN_SENT) is refused (tcp_reset;
/// measured on Linux 6.18: the server's socket got ECONNRESET).
#[test]
fn a_reset_to_the_listeners_side_ends_what_it_accepted() {
    use packetwalk::engine::sim::again_spec;
    for (handshake_done, says) in [
        (true, "ECONNRESET"),
        (
            false,
            "from the listener's queue: accept() never returns it",
        ),
    ] {
        let (mut w, mut s) = world("article");
        let mut syn = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
        syn.src_port = Some(40000);
        let t = send(&mut w, &mut s, &syn).unwrap();
        let synack_spec = reply_spec(&t).unwrap();
        let synack = send(&mut w, &mut s, &synack_spec).unwrap();
        let (last_spec, last) = if handshake_done {
            let ack_spec = reply_spec(&synack).unwrap();
            let ack = send(&mut w, &mut s, &ack_spec).unwrap();
            assert_eq!(delivered_in(&ack), FLASK_POD);
            (ack_spec, ack)
        } else {
            (synack_spec, synack)
        };
        // The client resets: again on the last packet the client sent, or
        // on the SYN-ACK's connection, from the client.
        let mut reset = if handshake_done {
            again_spec(&last_spec, &last).unwrap()
        } else {
            // After the SYN (at the number the server acknowledged: one
            // before it is an invalid RST for conntrack).
            let mut r = again_spec(&syn, &t).unwrap();
            r.src_port = Some(40000);
            r.seq = t.steps[0].packet.seq_after();
            r
        };
        reset.flags = Some(RST_ACK);
        let r = send(&mut w, &mut s, &reset).unwrap();
        let socket = socket_of(&r);
        assert!(
            socket.contains(says) && !socket.contains("ECONNREFUSED"),
            "handshake done {handshake_done}: {socket}"
        );
    }
}

/// A pod calling its own Service through DNAT: node8 sends the packet
/// back out of the veth it came in on, so it makes an ICMP redirect,
/// though the veth has no address (shared_media, on by default, waives
/// the subnet check); NAT drops it (measured on Linux 6.18:
/// IcmpOutRedirects went up, none on the wire).
#[test]
fn a_pod_calling_itself_through_its_service_is_redirected() {
    let (mut w, mut s) = article_with_node8(|n| {
        node8_rules(n, |r| {
            r.replace(
                "--to-destination 172.16.225.112:80",
                "--to-destination 172.16.225.101:80",
            )
            .replace("-s 172.16.225.112/32", "-s 172.16.225.101/32")
        })
    });
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(CURL_POD, "flask-ui", Proto::Tcp),
    )
    .unwrap();
    let note = t.steps.iter().find_map(|st| match &st.kind {
        StepKind::Redirect { to, note, .. }
            if st.ns == "node8" && to.to_string() == "172.16.225.101" =>
        {
            Some(note.clone())
        }
        _ => None,
    });
    let note = note.expect("node8 redirects the pod");
    assert!(
        note.contains("dropped on the way out: conntrack's NAT"),
        "{note}"
    );
    // Masqueraded to node8's address, it reaches curl itself (which has
    // no listener on port 80: its kernel answers with a reset).
    assert_eq!(dropped(&t), (CURL_POD, DropReason::NoListener));
    assert_eq!(
        t.steps.last().unwrap().packet.ip.src.to_string(),
        "192.168.11.58"
    );
}

/// Calico's rp_filter = 1 on its veths: a pod whose route back does not
/// leave by its veth gets no answer to its ARP for 169.254.1.1 (node8
/// checks the asker's address first), and with the neighbour known, its
/// packet is dropped at node8 (measured on Linux 6.18: curl's /32 route
/// deleted, or pointed at flask's veth: with a cold ARP cache connect()
/// failed with EHOSTUNREACH; with a warm one the SYN went no further than
/// node8, counted as IPReversePathFilter). Loose mode (2) wants only some
/// route back, but on a device with no address (a cali veth) it fails as
/// strict does. Each case starts with cold caches.
#[test]
fn reverse_path_filtering_refuses_a_pod_with_no_route_back_by_its_veth() {
    const CURL_ROUTE: &str = "172.16.225.101 dev cali3f1d2a7c9e0 scope link";
    const WRONG: &str = "172.16.225.101 dev cali71ca141a178 scope link";
    let cases: [(&str, u8, Option<&str>); 4] = [
        (CURL_ROUTE, 1, None),
        ("", 1, Some("refuses it: reverse path filter (cali3f1d2a7c9e0: rp_filter = 1, strict): the route back to 172.16.225.101 (blackhole 172.16.225.64/26")),
        (WRONG, 1, Some("leaves by cali71ca141a178, not cali3f1d2a7c9e0")),
        (WRONG, 2, Some("rp_filter = 2, loose): the route back to 172.16.225.101 (172.16.225.101 dev cali71ca141a178 scope link) leaves by cali71ca141a178, and cali3f1d2a7c9e0 has no address of its own")),
    ];
    for (route, rp, says) in cases {
        let (mut w, mut s) = article_with_node8(|n| {
            node8_routes(n, |r| r.replace(CURL_ROUTE, route));
            for d in n.devices.iter_mut().filter(|d| d.name == "cali3f1d2a7c9e0") {
                d.rp_filter = rp;
            }
        });
        let t = send(
            &mut w,
            &mut s,
            &SendSpec::new(CURL_POD, "flask-ui", Proto::Tcp),
        )
        .unwrap();
        match says {
            None => assert_eq!(delivered_in(&t), FLASK_POD, "{route:?} rp_filter {rp}"),
            Some(words) => {
                assert_eq!(
                    dropped(&t),
                    (CURL_POD, DropReason::NoNeighbour),
                    "{route:?} rp_filter {rp}"
                );
                let detail = drop_detail(&t);
                assert!(detail.contains(words), "{detail}");
            }
        }
    }
    // On the LAN the same: node8 does not answer the client's ARP when its
    // route back to the client leaves by another device.
    let (mut w, mut s) = article_with_node8(|n| {
        node8_routes(n, |r| r + "192.168.11.200 dev cali71ca141a178 scope link\n");
        for d in n.devices.iter_mut().filter(|d| d.name == "ens33") {
            d.rp_filter = 1;
        }
    });
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(dropped(&t), ("client", DropReason::NoNeighbour));
    let detail = drop_detail(&t);
    assert!(detail.contains("checks the asker's address 192.168.11.200 first, and refuses it: reverse path filter (ens33: rp_filter = 1, strict): the route back to 192.168.11.200 (192.168.11.200 dev cali71ca141a178 scope link) leaves by cali71ca141a178, not ens33"), "{detail}");
    // A packet no ARP precedes, decapsulated from tunl0, meets the check
    // when it is routed in: node54's route back to node8's block leads out
    // of ens33, not tunl0.
    let mut sc = scenario::builtin("article-remote").unwrap();
    let node54 = sc.host_mut("node54").unwrap();
    let routes = node54.routes.to_text().replace(
        "172.16.225.64/26 via 192.168.11.58 dev tunl0 proto bird onlink",
        "172.16.225.64/26 via 192.168.11.58 dev ens33 proto bird",
    );
    node54.routes = scenario::Text::One(routes);
    // Strict drops it; loose, on tunl0, which has an address, wants only
    // some route back.
    for (rp, says) in [
        (1, Some("(tunl0: rp_filter = 1, strict): the route back to 172.16.225.64 (172.16.225.64/26 via 192.168.11.58 dev ens33 proto bird) leaves by ens33, not tunl0")),
        (2, None),
    ] {
        let node54 = sc.host_mut("node54").unwrap();
        for d in node54.devices.iter_mut().filter(|d| d.name == "tunl0") {
            d.rp_filter = rp;
        }
        let mut w = World::build(&sc).unwrap();
        let mut s = SimState::new(&w);
        let t = send(&mut w, &mut s, &SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp)).unwrap();
        match says {
            Some(words) => {
                assert_eq!(dropped(&t), ("node54", DropReason::ReversePath));
                assert!(drop_detail(&t).contains(words), "{}", drop_detail(&t));
            }
            None => assert_eq!(delivered_in(&t), FLASK_POD_54),
        }
    }
}

/// A neighbour (ARP) step: namespace, device, target, the cache's state
/// if an entry was there, who answered.
type ArpStep = (String, String, String, Option<Nud>, Option<String>);

/// The neighbour (ARP) steps of `t`.
fn arps(t: &Trace) -> Vec<ArpStep> {
    t.steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Arp {
                dev,
                target,
                answered_by,
                cached,
                ..
            } => Some((
                s.ns.clone(),
                dev.clone(),
                target.to_string(),
                *cached,
                answered_by.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// The neighbour cache: an answer makes an entry REACHABLE for 30 s, the
/// host that answered learns the asker (STALE), and a live entry is used
/// without asking, so the second packet ARPs for nothing, and the answer
/// to a forwarded packet finds its way back by what the node learnt.
#[test]
fn the_neighbour_cache_keeps_what_arp_learnt() {
    let arp = |ns: &str, dev: &str, target: &str, cached: Option<Nud>, by: &str| {
        (
            ns.to_string(),
            dev.to_string(),
            target.to_string(),
            cached,
            Some(by.to_string()),
        )
    };
    let (mut w, mut s) = world("article");
    let syn = send(
        &mut w,
        &mut s,
        &SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(
        arps(&syn),
        [
            arp("client", "eth0", "192.168.11.58", None, "node8/ens33"),
            arp(
                "node8",
                "cali71ca141a178",
                "172.16.225.112",
                None,
                &format!("{FLASK_POD}/eth0")
            ),
        ]
    );
    // flask asks for its gateway (node8 asked it from 192.168.11.58, which
    // is all flask learnt); node8 answers the client by the entry its
    // request made, STALE, probed as it is used.
    let synack = send(&mut w, &mut s, &reply_spec(&syn).unwrap()).unwrap();
    assert_eq!(
        arps(&synack),
        [
            arp(
                FLASK_POD,
                "eth0",
                "169.254.1.1",
                None,
                "node8/cali71ca141a178"
            ),
            arp(
                "node8",
                "ens33",
                "192.168.11.200",
                Some(Nud::Stale),
                "client/eth0"
            ),
        ]
    );
    // The handshake's ACK: every neighbour is known by now.
    let ack = send(&mut w, &mut s, &reply_spec(&synack).unwrap()).unwrap();
    assert_eq!(
        arps(&ack),
        [
            arp(
                "client",
                "eth0",
                "192.168.11.58",
                Some(Nud::Reachable),
                "node8/ens33"
            ),
            arp(
                "node8",
                "cali71ca141a178",
                "172.16.225.112",
                Some(Nud::Reachable),
                &format!("{FLASK_POD}/eth0")
            ),
        ]
    );
    assert_eq!(
        s.neighbours(&w, w.host("node8").unwrap()),
        [
            "192.168.11.200 dev ens33 lladdr [client/eth0] REACHABLE",
            "172.16.225.112 dev cali71ca141a178 lladdr [flask-ui-6c9f7d8b5d-x2k4p/eth0] REACHABLE",
        ]
    );
}

/// A warm entry outlives what made it: with curl's route back on node8
/// gone, curl's SYN still reaches node8 by its REACHABLE entry for
/// 169.254.1.1 and is dropped there by rp_filter; 30 s on, the entry is
/// STALE and its unicast probes go unanswered; 8 s later it has FAILED,
/// and ARP is asked anew, unanswered. (Measured on Linux 6.18 with a
/// ping a second: 39 packets reached the node, each counted as
/// IPReversePathFilter; STALE at 30.3 s, DELAY, PROBE at 36.0 s, FAILED
/// at 39.1 s, then broadcasts and Destination Host Unreachable.)
#[test]
fn a_warm_neighbour_entry_outlives_the_route_that_made_it() {
    const CURL_ROUTE: &str = "172.16.225.101 dev cali3f1d2a7c9e0 scope link\n";
    let (mut before, mut s) = world("article");
    let (mut after, _) = article_with_node8(|n| node8_routes(n, |r| r.replace(CURL_ROUTE, "")));
    let syn = SendSpec::new(CURL_POD, "flask-ui", Proto::Tcp);
    let t = send(&mut before, &mut s, &syn).unwrap();
    assert_eq!(delivered_in(&t), FLASK_POD);
    let mut seen: Vec<(Option<Nud>, DropReason, usize)> = Vec::new();
    for _ in 0..40 {
        let t = send(&mut after, &mut s, &syn).unwrap();
        let first = arps(&t).first().map(|a| a.3);
        let key = (first.flatten(), dropped(&t).1);
        match seen.last_mut() {
            Some((c, r, n)) if (*c, *r) == key => *n += 1,
            _ => seen.push((key.0, key.1, 1)),
        }
    }
    assert_eq!(
        seen,
        [
            (Some(Nud::Reachable), DropReason::ReversePath, 29),
            (Some(Nud::Stale), DropReason::ReversePath, 8),
            (Some(Nud::Failed), DropReason::NoNeighbour, 1),
            (None, DropReason::NoNeighbour, 2),
        ]
    );
}

/// A STALE entry whose probe goes unanswered recovers when a later probe
/// is answered (the route back put again within the 8 s): it is
/// REACHABLE again, and does not fail at the time the first probe set.
/// The cached steps say so in words.
#[test]
fn a_stale_entry_answered_again_stays() {
    const CURL_ROUTE: &str = "172.16.225.101 dev cali3f1d2a7c9e0 scope link\n";
    let (mut before, mut s) = world("article");
    let (mut after, _) = article_with_node8(|n| node8_routes(n, |r| r.replace(CURL_ROUTE, "")));
    let syn = SendSpec::new(CURL_POD, "flask-ui", Proto::Tcp);
    send(&mut before, &mut s, &syn).unwrap();
    let mut first = Vec::new();
    for k in 0..45 {
        // Gone for packets 30 to 31 of the cache's life: the first STALE
        // use meets no answer; then back.
        let w = if (29..31).contains(&k) {
            &mut after
        } else {
            &mut before
        };
        let t = send(w, &mut s, &syn).unwrap();
        first.push(arps(&t)[0].3);
        if k == 29 {
            let says = packetwalk::engine::render::summary(&t.steps[2]);
            assert!(says.starts_with("cache has 169.254.1.1 on eth0: node8/cali3f1d2a7c9e0 by proxy ARP, STALE: used at once, no ARP asked"), "{says}");
        }
    }
    // Used STALE while unanswered (29, 30) and once more as the answered
    // probe confirms it (31); then REACHABLE, past the 8 s (37).
    assert_eq!(first[28], Some(Nud::Reachable));
    assert_eq!(first[29..32], [Some(Nud::Stale); 3]);
    assert!(
        first[32..].iter().all(|c| *c == Some(Nud::Reachable)),
        "{first:?}"
    );
}

/// The raw table's NOTRACK: the packet is UNTRACKED (a conntrack
/// `--ctstate UNTRACKED` rule sees it), no entry is made and no nat chain
/// runs, so a Service's address is not translated; the answer to an
/// untracked SYN is INVALID where the SYN went through (measured on Linux
/// 6.18 with a router's raw NOTRACK of port 80: its FORWARD counted the
/// SYNs as UNTRACKED, the SYN-ACKs as INVALID). `-j NOTRACK` and
/// `-j CT --notrack` print back as written (iptables 1.8.9).
#[test]
fn notrack_leaves_a_packet_to_itself() {
    let (mut w, mut s) = article_node8(
        &[
            "-t raw -A PREROUTING -p tcp --dport 80 -j NOTRACK",
            "-t raw -A OUTPUT -p udp --dport 53 -j CT --notrack",
            "-I FORWARD 1 -m conntrack --ctstate UNTRACKED -j ACCEPT",
        ],
        "",
    );
    let node8 = w.host("node8").unwrap();
    let text = packetwalk::engine::iptables::save::emit(w.hosts[node8].rules.as_ref().unwrap());
    assert!(
        text.contains("--dport 80 -j NOTRACK\n") && text.contains("--dport 53 -j CT --notrack\n"),
        "{text}"
    );
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(CURL_POD, "172.16.225.112:80", Proto::Tcp),
    )
    .unwrap();
    assert_eq!(delivered_in(&t), FLASK_POD);
    let table = packetwalk::engine::render::table(&t);
    assert!(
        table.contains("is UNTRACKED (the raw table's NOTRACK"),
        "{table}"
    );
    assert!(
        chains(&t, "node8").iter().all(|c| !c.starts_with("nat/")),
        "{table}"
    );
    assert!(s.conntrack[node8].list(s.clock).is_empty());
    let back = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    assert_eq!(dropped(&back), ("node8", DropReason::Filtered));
    assert!(
        drop_detail(&back).contains("--ctstate INVALID -j DROP"),
        "{}",
        drop_detail(&back)
    );
    // node8 to itself, untracked in raw OUTPUT: it comes back in on lo
    // still UNTRACKED. A raw PREROUTING NOTRACK on lo leaves a connection
    // that is tracked alone: it came in with it.
    for (rule, state) in [
        ("-t raw -A OUTPUT -p tcp --dport 22 -j NOTRACK", "UNTRACKED"),
        ("-t raw -A PREROUTING -i lo -j NOTRACK", "NEW"),
    ] {
        let (mut w, mut s) = article_node8(&[rule], "");
        let t = send(
            &mut w,
            &mut s,
            &SendSpec::new("node8", "192.168.11.58:22", Proto::Tcp),
        )
        .unwrap();
        assert_eq!(delivered_in(&t), "node8");
        let states: Vec<&str> = (t.steps.iter())
            .filter_map(|st| match &st.kind {
                StepKind::Conntrack(CtEvent::Lookup { state, .. }) => Some(state.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            states.len() == 2 && states.iter().all(|x| x.starts_with(state)),
            "{rule}: {states:?}"
        );
    }
    // To the Service: no DNAT, so the packet follows node8's default route
    // with the ClusterIP still its destination.
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(CURL_POD, "flask-ui", Proto::Tcp),
    )
    .unwrap();
    assert!(nats(&t).is_empty());
    assert!(
        matches!(&t.verdict, Verdict::Left { ns, .. } if ns == "node8"),
        "{:?}",
        t.verdict
    );
}

/// An ICMP error about a SYN-ACK, reaching the listener's half-open
/// connection (SYN_RECV): host unreachable drops it from the queue
/// (tcp_req_err; measured on Linux 6.18: ListenDrops went up, accept()
/// never returned it); it is not a connect() that fails.
#[test]
fn an_icmp_error_drops_a_half_open_connection_from_the_listeners_queue() {
    // node8's route to the client is `unreachable`: it answers flask's
    // SYN-ACK with host unreachable.
    let (mut w, mut s) = article_with_node8_routes("unreachable 192.168.11.200\n");
    let mut syn = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
    syn.src_port = Some(40000);
    let t = send(&mut w, &mut s, &syn).unwrap();
    assert_eq!(delivered_in(&t), FLASK_POD);
    let synack = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    assert_eq!(dropped(&synack), ("node8", DropReason::Unreachable));
    let error = send(&mut w, &mut s, &reply_spec(&synack).unwrap()).unwrap();
    let socket = socket_of(&error);
    assert!(
        socket.contains("drops it from the listener's queue") && !socket.contains("connect()"),
        "{socket}"
    );
}

/// An ICMP error for a socket that is gone: the first one failed its
/// connect() and closed it, so the same error again finds no sender, and
/// the kernel drops it.
#[test]
fn an_icmp_error_for_a_closed_socket_finds_no_sender() {
    let (mut w, mut s) = world("article");
    let t = send(
        &mut w,
        &mut s,
        &SendSpec::new(CURL_POD, "ms-test/flask-api", Proto::Tcp),
    )
    .unwrap();
    let answer = reply_spec(&t).unwrap();
    let first = send(&mut w, &mut s, &answer).unwrap();
    assert_eq!(delivered_in(&first), CURL_POD);
    let again = send(&mut w, &mut s, &answer).unwrap();
    assert_eq!(dropped(&again), (CURL_POD, DropReason::NoSender));
}

/// MTUs: the article's tunl0 and pod veths are Calico's 1440. A packet
/// from the LAN that fits ens33 (1500) but not tunl0 stops at node8, which
/// tells the client the MTU; one byte less goes through; a pod's own
/// socket never sends more than its eth0 takes; a route's `mtu` wins over
/// its device's.
#[test]
fn packets_larger_than_an_mtu() {
    let sized = |from: &str, to: &str, len: u16| {
        let mut spec = SendSpec::new(from, to, Proto::Tcp);
        spec.payload_len = len;
        // Data goes on an open connection's segments, not on a SYN.
        spec.flags = TcpFlags::parse_list("ACK,PSH").map(TcpFlags::from_bits);
        spec
    };
    // A connection opened (SYN, SYN-ACK), then its data: 1400 bytes + 40
    // of headers = 1440 fits tunl0 exactly; 1401 does not.
    let (mut w, mut s) = world("article-remote");
    let on_conn = |len: u16| {
        let mut spec = sized("client:192.168.11.200", "flask-ui", len);
        spec.src_port = Some(40000);
        spec
    };
    let mut syn = SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp);
    syn.src_port = Some(40000);
    let t = send(&mut w, &mut s, &syn).unwrap();
    let back = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    assert_eq!(delivered_in(&back), "client");
    let t = send(&mut w, &mut s, &on_conn(1400)).unwrap();
    assert_eq!(delivered_in(&t), FLASK_POD_54);
    let outer = t.steps.iter().find_map(|st| match &st.kind {
        StepKind::Encap { outer, .. } => Some(outer.total_len),
        _ => None,
    });
    assert_eq!(outer, Some(1460), "the IPIP packet is 20 bytes longer");
    let t = send(&mut w, &mut s, &on_conn(1401)).unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::FragNeeded));
    assert!(
        drop_detail(&t).starts_with(
            "1441 bytes do not fit tunl0's MTU 1440, and the packet has Don't Fragment set"
        ),
        "{}",
        drop_detail(&t)
    );
    // Before FORWARD, as ip_forward checks it: no filter FORWARD step.
    assert!(!chains(&t, "node8").iter().any(|c| c.ends_with("/FORWARD")));
    let r = answer(&t).expect("node8 answers");
    assert_eq!(r.ip.dst.to_string(), "192.168.11.200");
    assert_eq!(frag_needed_mtu(&t), Some(1440), "{:?}", r.transport);
    let back = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    assert_eq!(delivered_in(&back), "client");
    assert!(
        socket_of(&back).contains("news of the path's MTU (1440)")
            && socket_of(&back).contains("client keeps 1440 as the path MTU to 10.96.100.10 for 10 minutes, for every socket (ip route get: cache expires 600sec mtu 1440)"),
        "{}",
        socket_of(&back)
    );
    golden("frag-needed-answer", &back);
    // The client learnt it: its next 1401 bytes to the Service stay home,
    // 1400 go (the route's step names the MTU learnt); after 10 minutes
    // it is forgotten, and node8 refuses them again.
    let t = send(&mut w, &mut s, &on_conn(1401)).unwrap();
    assert_eq!(dropped(&t), ("client", DropReason::TooBig));
    assert!(
        drop_detail(&t).starts_with("1441 bytes do not fit the path MTU 1440 learnt for 10.96.100.10 from an ICMP fragmentation needed (ip route get: cache expires 599sec mtu 1440)"),
        "{}",
        drop_detail(&t)
    );
    let t = send(&mut w, &mut s, &on_conn(1400)).unwrap();
    assert_eq!(delivered_in(&t), FLASK_POD_54);
    let said = serde_json::to_string(&t).unwrap();
    assert!(said.contains("with the path MTU 1440 learnt for 10.96.100.10 (ip route get: cache expires 598sec mtu 1440)"), "{said}");
    assert_eq!(
        s.route_cache(&w, w.host("client").unwrap()),
        ["10.96.100.10 via 192.168.11.58 dev eth0\n    cache expires 598sec mtu 1440"],
        "ip route show cache"
    );
    s.wait(600);
    let t = send(&mut w, &mut s, &on_conn(1401)).unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::FragNeeded));

    // curl's own socket: its eth0 takes 1440, so 1400 bytes of data at most.
    let (mut w, mut s) = world("article");
    let t = send(&mut w, &mut s, &sized(CURL_POD, "flask-ui", 1401)).unwrap();
    assert_eq!(dropped(&t), (CURL_POD, DropReason::TooBig));
    assert!(
        drop_detail(&t).contains("TCP sends at most 1400 bytes of data in one segment here")
            && drop_detail(&t).ends_with("Send at most 1400 bytes of data."),
        "{}",
        drop_detail(&t)
    );
    let t = send(&mut w, &mut s, &sized(CURL_POD, "flask-ui", 1400)).unwrap();
    assert_eq!(dropped(&t), (FLASK_POD, DropReason::NoConnection));
    // No data on a SYN.
    let mut spec = SendSpec::new(CURL_POD, "flask-ui", Proto::Tcp);
    spec.payload_len = 10;
    let e = send(&mut w, &mut s, &spec).unwrap_err();
    assert!(
        e.starts_with("a plain connect() sends no data on its SYN"),
        "{e}"
    );

    // A route's mtu: node8's way to the local pod made 1300.
    let (mut w, mut s) = article_with_node8_routes("");
    let (mut w2, mut s2) = article_with_node8(|n| {
        node8_routes(n, |r| {
            r.replace(
                "172.16.225.112 dev cali71ca141a178 scope link",
                "172.16.225.112 dev cali71ca141a178 scope link mtu 1300",
            )
        })
    });
    let spec = sized("client:192.168.11.200", "flask-ui", 1300);
    // (Without the mtu it reaches the pod, which resets a segment of no
    // connection it knows.)
    assert_eq!(
        dropped(&send(&mut w, &mut s, &spec).unwrap()),
        (FLASK_POD, DropReason::NoConnection)
    );
    let t = send(&mut w2, &mut s2, &spec).unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::FragNeeded));
    assert!(
        drop_detail(&t)
            .starts_with("1340 bytes do not fit the route to 172.16.225.112/32's mtu 1300"),
        "{}",
        drop_detail(&t)
    );

    // An MTU under 552 named: the client learns 552, locked, and sends
    // without DF from then on; node8 cuts such packets up.
    let (mut w, mut s) = article_with_node8(|n| {
        node8_routes(n, |r| {
            r.replace(
                "172.16.225.112 dev cali71ca141a178 scope link",
                "172.16.225.112 dev cali71ca141a178 scope link mtu 500",
            )
        })
    });
    let spec = sized("client:192.168.11.200", "flask-ui", 500);
    let t = send(&mut w, &mut s, &spec).unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::FragNeeded));
    let back = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    assert!(
        socket_of(&back).contains("client keeps 552 as the path MTU to 10.96.100.10 (named 500, under the least it takes: its packets there leave without Don't Fragment) for 10 minutes"),
        "{}",
        socket_of(&back)
    );
    let t = send(&mut w, &mut s, &spec).unwrap();
    let at_node8 = t.steps.iter().find(|st| st.ns == "node8").unwrap();
    assert!(!at_node8.packet.ip.df, "sent without DF");
    assert!(t
        .steps
        .iter()
        .any(|st| st.ns == "node8" && matches!(&st.kind, StepKind::Fragment { mtu: 500, .. })));
    assert_eq!(dropped(&t), (FLASK_POD, DropReason::NoConnection));

    // node8's own socket sizes its packet for the route to the ClusterIP
    // (ens33, 1500); OUTPUT's DNAT reroutes it to the pod's veth (1440):
    // refused as it leaves, after POSTROUTING.
    let (mut w, mut s) = world("article");
    let t = send(&mut w, &mut s, &sized("node8", "flask-ui", 1420)).unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::TooBig));
    assert!(
        drop_detail(&t).starts_with("1460 bytes do not fit cali71ca141a178's MTU 1440, the way out after OUTPUT changed the destination: the socket sized the packet for the route it had first (1500;"),
        "{}",
        drop_detail(&t)
    );
    assert!(chains(&t, "node8")
        .iter()
        .any(|c| c.ends_with("POSTROUTING")));
    // `mtu lock`: the host's own packets leave without DF, so node8
    // forwards nothing it would refuse (fragments are not followed: the
    // packet goes on whole).
    let mut sc = scenario::builtin("article-remote").unwrap();
    let client = sc.host_mut("client").unwrap();
    client.routes = scenario::Text::One(client.routes.to_text().replace(
        "10.96.0.0/12 via 192.168.11.58 dev eth0",
        "10.96.0.0/12 via 192.168.11.58 dev eth0 mtu lock 1500",
    ));
    let mut w = World::build(&sc).unwrap();
    let mut s = SimState::new(&w);
    let t = send(
        &mut w,
        &mut s,
        &sized("client:192.168.11.200", "flask-ui", 1401),
    )
    .unwrap();
    assert!(
        !t.steps.last().unwrap().packet.ip.df,
        "no DF under mtu lock"
    );
    assert_eq!(dropped(&t), (FLASK_POD_54, DropReason::NoConnection));
    // node8 cuts it in two for tunl0 (1440: 1416 + 25 bytes after the
    // header), after POSTROUTING.
    let i = t.steps.iter().position(
        |st| matches!(&st.kind, StepKind::Fragment { dev, mtu: 1440, pieces: 2 } if dev == "tunl0"),
    );
    let post = t.steps.iter().position(|st| {
        st.ns == "node8"
            && matches!(&st.kind, StepKind::Chain { chain, .. } if chain == "POSTROUTING")
    });
    assert!(
        i.is_some() && post.is_some() && post < i,
        "{i:?} after {post:?}"
    );

    // The underlay smaller than the tunnel wants: node8's route to its LAN
    // made mtu 1400. tunl0 (1440) takes 1430 bytes, its IPIP packet (1450)
    // does not fit ens33's route: the tunnel refuses it, and tells the
    // client the MTU that fits inside (1380), from the Service's address.
    let mut sc = scenario::builtin("article-remote").unwrap();
    let n8 = sc.host_mut("node8").unwrap();
    n8.routes = scenario::Text::One(n8.routes.to_text().replace(
        "192.168.11.0/24 dev ens33 proto kernel scope link src 192.168.11.58",
        "192.168.11.0/24 dev ens33 proto kernel scope link src 192.168.11.58 mtu 1400",
    ));
    let mut w = World::build(&sc).unwrap();
    let mut s = SimState::new(&w);
    let t = send(&mut w, &mut s, &syn).unwrap();
    send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    let t = send(&mut w, &mut s, &on_conn(1390)).unwrap();
    assert_eq!(dropped(&t), ("node8", DropReason::FragNeeded));
    assert!(
        drop_detail(&t)
            .starts_with("1430 bytes and the 20 of an IPIP header do not fit ens33's MTU 1400")
            && drop_detail(&t).contains("tells its sender 192.168.11.200"),
        "{}",
        drop_detail(&t)
    );
    // Before wrapping: no IPIP header added.
    assert!(!t
        .steps
        .iter()
        .any(|st| matches!(st.kind, StepKind::Encap { .. })));
    assert_eq!(frag_needed_mtu(&t), Some(1380), "the client hears of it");
    let back = send(&mut w, &mut s, &reply_spec(&t).unwrap()).unwrap();
    assert_eq!(delivered_in(&back), "client");
    assert_eq!(
        back.steps.last().unwrap().packet.ip.src.to_string(),
        "10.96.100.10"
    );

    // More data than an IPv4 packet holds is refused before it is sent.
    let (mut w, mut s) = world("article");
    let e = send(&mut w, &mut s, &sized(CURL_POD, "flask-ui", 65500)).unwrap_err();
    assert_eq!(
        e,
        "65500 bytes of data do not fit in one IPv4 packet: at most 65495 with tcp headers"
    );
}

/// Every built-in scenario's rules name only devices their host has (the
/// editor's note on interfaces a host lacks is for a real node's dump
/// loaded onto another host), and a dump of another node's is told.
#[test]
fn built_in_rules_name_their_own_devices() {
    for name in scenario::BUILTIN {
        let sc = scenario::builtin(name).unwrap_or_else(|| panic!("{name}"));
        let w = World::build(&sc).unwrap_or_else(|e| panic!("{name}: {e}"));
        for h in &w.hosts {
            let devs: Vec<&str> = h.devs.iter().map(|d| d.spec.name.as_str()).collect();
            if let Some(rs) = &h.rules {
                assert_eq!(
                    rs.interfaces_not_in(&devs),
                    Vec::<String>::new(),
                    "{name} {}",
                    h.name()
                );
            }
        }
    }
    let rs = packetwalk::engine::iptables::save::parse(
        "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -i cali590d00a25cf -j ACCEPT\n-A FORWARD -o vxlan.calico -j ACCEPT\n-A FORWARD -i cali+ -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    assert_eq!(
        rs.interfaces_note("node8", &["lo", "ens33", "cali71ca141a178", "tunl0"]),
        "The rules name 2 interfaces node8 does not have (cali590d00a25cf, vxlan.calico): rules testing them never match here (were they written for another node?)"
    );
}
