//! Each network mode end to end: a cluster (Kubernetes YAML) is turned into
//! nodes, pods, routes and kube-proxy rules, and packets are traced pod to
//! remote pod in both directions, with the encapsulation headers checked
//! field by field; then the Service's three endpoints are reached by
//! forcing each `statistic` branch.

use packetwalk::engine::cni::{self, calico_veth};
use packetwalk::engine::iptables::TableName;
use packetwalk::engine::k8s::Cluster;
use packetwalk::engine::kubeproxy::port_proto_hash;
use packetwalk::engine::packet::Proto;
use packetwalk::engine::sim::{send, Force, SendSpec, SimState};
use packetwalk::engine::trace::{StepKind, Trace, Verdict};
use packetwalk::engine::World;

fn cluster(mode: &str) -> Cluster {
    let path = format!(
        "{}/src/engine/scenarios/clusters/{mode}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    Cluster::from_yaml(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn world(mode: &str) -> World {
    let sc = cni::build(&cluster(mode), mode, mode).unwrap_or_else(|e| panic!("{mode}: {e}"));
    World::build(&sc).unwrap_or_else(|e| panic!("{mode}: {e}"))
}

fn go(w: &mut World, from: &str, to: &str, force: Vec<Force>) -> Trace {
    let mut s = SimState::new(w);
    let mut spec = SendSpec::new(from, to, Proto::Tcp);
    spec.force = force;
    send(w, &mut s, &spec).unwrap_or_else(|e| panic!("{from} -> {to}: {e}"))
}

fn delivered_to(t: &Trace) -> String {
    match &t.verdict {
        Verdict::Delivered { ns, .. } => ns.clone(),
        v => panic!(
            "not delivered: {v:?}\n{}",
            packetwalk::engine::render::table(t)
        ),
    }
}

type Outer = (String, String, String, String, Option<(u16, u32)>);

/// The outer header of the first encapsulation: (device, src, dst,
/// protocol, UDP destination port and VNI for VXLAN).
fn encap(t: &Trace) -> Option<Outer> {
    t.steps.iter().find_map(|s| match &s.kind {
        StepKind::Encap { dev, outer } => Some((
            dev.clone(),
            outer.src.to_string(),
            outer.dst.to_string(),
            outer.protocol.to_string(),
            outer.vxlan.as_ref().map(|v| (v.dst_port, v.vni)),
        )),
        _ => None,
    })
}

fn decap_dev(t: &Trace) -> Option<String> {
    t.steps.iter().find_map(|s| match &s.kind {
        StepKind::Decap { dev, .. } => Some(dev.clone()),
        _ => None,
    })
}

/// Mode, the remote pod's IP, the tunnel device, (UDP port, VNI) for
/// VXLAN, curl's IP.
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<(u16, u32)>,
    &'static str,
);

#[test]
fn every_mode_carries_pod_to_remote_pod_both_ways() {
    let cases: [Case; 4] = [
        (
            "calico-ipip",
            "172.16.3.70",
            Some("tunl0"),
            None,
            "172.16.225.101",
        ),
        (
            "calico-vxlan",
            "172.16.3.70",
            Some("vxlan.calico"),
            Some((4789, 4096)),
            "172.16.225.101",
        ),
        (
            "flannel-vxlan",
            "10.244.1.7",
            Some("flannel.1"),
            Some((8472, 1)),
            "10.244.0.5",
        ),
        ("flannel-host-gw", "10.244.1.7", None, None, "10.244.0.5"),
    ];
    for (mode, remote, dev, vxlan, curl_ip) in cases {
        let mut w = world(mode);
        let there = go(&mut w, "curl", &format!("{remote}:80"), vec![]);
        assert_eq!(delivered_to(&there), "flask-ui-6c9f7d8b5d-q8wzt", "{mode}");
        match dev {
            Some(d) => {
                let proto = if vxlan.is_some() { "udp" } else { "ipencap" };
                assert_eq!(
                    encap(&there),
                    Some((
                        d.into(),
                        "192.168.11.58".into(),
                        "192.168.11.54".into(),
                        proto.into(),
                        vxlan
                    )),
                    "{mode}: outer header"
                );
                assert_eq!(
                    decap_dev(&there).as_deref(),
                    Some(d),
                    "{mode}: decapsulated on node54's {d}"
                );
            }
            None => {
                assert_eq!(encap(&there), None, "{mode}: host-gw does not encapsulate");
                assert!(
                    there.steps.iter().any(|s| matches!(&s.kind, StepKind::Transmit { dev, next_hop: Some(h) } if dev == "ens33" && h.to_string() == "192.168.11.54")),
                    "{mode}: routed to node54 on the LAN"
                );
            }
        }
        // The inner packet is untouched: pod to pod, no NAT.
        let last = there.steps.last().unwrap();
        assert_eq!(
            (
                last.packet.ip.src.to_string(),
                last.packet.ip.dst.to_string()
            ),
            (curl_ip.to_string(), remote.to_string()),
            "{mode}"
        );
        assert!(
            last.packet.outer.is_empty(),
            "{mode}: delivered without the outer header"
        );

        let back = go(
            &mut w,
            "flask-ui-6c9f7d8b5d-q8wzt",
            &format!("{curl_ip}:80"),
            vec![],
        );
        // curl listens on nothing: the packet reaches it and is refused there.
        let reached = back.steps.iter().any(|s| s.ns == "curl");
        assert!(
            reached,
            "{mode}: the reply direction reaches curl\n{}",
            packetwalk::engine::render::table(&back)
        );
        if let Some(d) = dev {
            let (_, src, dst, _, _) = encap(&back).unwrap();
            assert_eq!(
                (src.as_str(), dst.as_str()),
                ("192.168.11.54", "192.168.11.58"),
                "{mode}: {d} back"
            );
        }
    }
}

#[test]
fn forcing_each_branch_reaches_each_endpoint() {
    for mode in ["calico-ipip", "flannel-vxlan"] {
        let mut w = world(mode);
        let svc = format!(
            "KUBE-SVC-{}",
            port_proto_hash("ms-test/flask-ui:http", "tcp")
        );
        let force = |rule: usize, matched: bool| Force {
            host: "node8".into(),
            table: TableName::Nat,
            chain: svc.clone(),
            rule,
            matched,
        };
        // Rule 1 marks traffic from outside the pod network; the endpoints
        // are rules 2 (p=1/3), 3 (p=1/2) and 4, sorted by IP:port text.
        let ends: Vec<String> = [
            vec![force(2, true)],
            vec![force(2, false), force(3, true)],
            vec![force(2, false), force(3, false)],
        ]
        .into_iter()
        .map(|f| delivered_to(&go(&mut w, "curl", "ms-test/flask-ui", f)))
        .collect();
        let mut sorted = ends.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 3, "{mode}: three different pods: {ends:?}");
    }
}

#[test]
fn calico_names_the_host_veth_from_the_pod() {
    let sc = cni::build(&cluster("calico-ipip"), "t", "t").unwrap();
    let node8 = sc.hosts.iter().find(|h| h.name == "node8").unwrap();
    let veth = calico_veth("ms-test", "flask-ui-6c9f7d8b5d-x2k4p");
    assert!(veth.starts_with("cali") && veth.len() == 15, "{veth}");
    assert!(node8.devices.iter().any(|d| d.name == veth));
    let routes = node8.routes.to_text();
    for want in [
        "blackhole 172.16.225.64/26 proto bird",
        "172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink",
        &format!("172.16.225.112 dev {veth} scope link"),
    ] {
        assert!(routes.contains(want), "{want}\n{routes}");
    }
}

#[test]
fn bad_cluster_objects_are_reported_with_their_line() {
    let text = "kind: Node\nmetadata:\n  name: n1\nspec:\n  podCIDR: 10.244.0.0/24\n---\nkind: Network\nmode: weave\n";
    let e = Cluster::from_yaml(text).unwrap_err();
    assert_eq!(e.0[0].line, 8);
    assert!(
        e.0[0].message.contains("\"weave\" is not a network mode"),
        "{}",
        e.0[0].message
    );
    let c = Cluster::from_yaml("kind: Node\nmetadata:\n  name: n1\n").unwrap();
    let e = cni::build(&c, "t", "t").unwrap_err();
    assert!(
        e.0[0].message.contains("node n1 needs status.addresses"),
        "{e}"
    );
}
