//! Each network mode end to end: a cluster (Kubernetes YAML) is turned into
//! nodes, pods, routes and kube-proxy rules, and packets are traced pod to
//! remote pod in both directions, with the encapsulation headers checked
//! field by field; then the Service's three endpoints are reached by
//! forcing each `statistic` branch.

use packetwalk::engine::cni::{self, calico_veth};
use packetwalk::engine::iptables::TableName;
use packetwalk::engine::k8s::Cluster;
use packetwalk::engine::kubeproxy::port_proto_hash;
use packetwalk::engine::packet::{Proto, TcpFlags};
use packetwalk::engine::scenario::{Scenario, Text};
use packetwalk::engine::sim::{send, Force, SendSpec, SimState};
use packetwalk::engine::trace::{DropReason, Layer, StepKind, Trace, Verdict};
use packetwalk::engine::World;

fn cluster(mode: &str) -> Cluster {
    let path = format!(
        "{}/src/engine/scenarios/clusters/{mode}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    Cluster::from_yaml(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `text` (`iptables-save` output) with `rule` last in table `table`.
fn with_rule(text: &str, table: &str, rule: &str) -> String {
    let at = text.find(&format!("*{table}\n")).unwrap();
    let commit = at + text[at..].find("COMMIT").unwrap();
    format!("{}{rule}\n{}", &text[..commit], &text[commit..])
}

/// A node's rules as `iptables-save` writes them.
fn rules_of(sc: &Scenario, node: &str) -> String {
    sc.host(node).unwrap().iptables.as_ref().unwrap().to_text()
}

/// node8's rules as `iptables-save` writes them.
fn node8_rules(sc: &Scenario) -> String {
    rules_of(sc, "node8")
}

fn world(mode: &str) -> World {
    let sc = cni::build(&cluster(mode), mode, mode).unwrap_or_else(|e| panic!("{mode}: {e}"));
    World::build(&sc).unwrap_or_else(|e| panic!("{mode}: {e}"))
}

/// The calico-ipip cluster with more objects (YAML documents) after it.
fn calico_with(more: &str) -> Cluster {
    let yaml = format!("{}---\n{more}", cni::cluster_yaml("calico-ipip").unwrap());
    Cluster::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"))
}

/// The socket a delivered trace ended at.
fn socket_of(t: &Trace) -> &str {
    match &t.verdict {
        Verdict::Delivered { socket, .. } => socket,
        v => panic!("not delivered: {v:?}"),
    }
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

/// Where the walk of `t` was dropped, and why.
fn dropped_in(t: &Trace) -> (String, DropReason) {
    match &t.verdict {
        Verdict::Dropped { ns, reason } => (ns.clone(), *reason),
        v => panic!("not dropped: {v:?}"),
    }
}

/// A Pod object as YAML.
fn pod_yaml(namespace: &str, name: &str, node: &str, ip: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  nodeName: {node}\nstatus:\n  podIP: {ip}\n")
}

/// curl (node8) to flask's pod on node54 by its address, delivered.
fn curl_to_flask54(w: &mut World, s: &mut SimState) -> Trace {
    let t = send(w, s, &SendSpec::new("curl", "172.16.3.70:80", Proto::Tcp)).unwrap();
    assert_eq!(delivered_to(&t), "flask-ui-6c9f7d8b5d-q8wzt");
    t
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
                if vxlan.is_some() {
                    // The frame on the LAN: node8's NIC to node54's; inside,
                    // node8's VTEP to node54's.
                    let v = there
                        .steps
                        .iter()
                        .find_map(|s| match &s.kind {
                            StepKind::Encap { outer, .. } => outer.vxlan.clone(),
                            _ => None,
                        })
                        .unwrap();
                    assert_eq!(
                        (
                            v.outer_src_mac.as_str(),
                            v.outer_dst_mac.as_str(),
                            v.inner_src_mac.as_str(),
                            v.inner_dst_mac.as_str()
                        ),
                        (
                            "52:54:c0:a8:0b:3a",
                            "52:54:c0:a8:0b:36",
                            "0e:7a:c0:a8:0b:3a",
                            "0e:7a:c0:a8:0b:36"
                        ),
                        "{mode}: Ethernet headers"
                    );
                }
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

        // The steps in the KUBE-SVC chain come in the order the kernel
        // tries its rules: rule 1's skip, then each draw, then the match.
        let t = go(
            &mut w,
            "curl",
            "ms-test/flask-ui",
            vec![force(2, false), force(3, false)],
        );
        let steps: Vec<String> = t
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::RulesSkipped {
                    chain, first, last, ..
                } if *chain == svc => Some(format!("skipped {first}-{last}")),
                StepKind::Statistic {
                    chain,
                    rule,
                    matched,
                    ..
                } if *chain == svc => Some(format!("draw {rule} {matched}")),
                StepKind::RuleMatch { chain, rule, .. } if *chain == svc => {
                    Some(format!("match {}", rule.index))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            steps,
            ["skipped 1-1", "draw 2 false", "draw 3 false", "match 4"],
            "{mode}"
        );
    }
}

#[test]
fn calico_names_the_host_veth_from_the_pod() {
    let sc = cni::build(&cluster("calico-ipip"), "t", "t").unwrap();
    let node8 = sc.host("node8").unwrap();
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
    // Services and EndpointSlices alone (kube-proxy's own unit tests give
    // no Node): the message holds Nodes for the nodes the endpoints name,
    // which read as they are.
    let bare = "kind: Service\nmetadata: {name: s, namespace: n}\nspec:\n  clusterIP: 172.30.0.41\n  ports: [{port: 80}]\n---\nkind: EndpointSlice\napiVersion: discovery.k8s.io/v1\nmetadata: {name: s-1, namespace: n, labels: {kubernetes.io/service-name: s}}\naddressType: IPv4\nendpoints:\n- addresses: [10.180.0.1]\n  nodeName: test-node\nports: [{port: 80}]\n";
    let e = cni::build(&Cluster::from_yaml(bare).unwrap(), "t", "t").unwrap_err();
    let said = &e.0[0].message;
    let (_, docs) = said.split_once("one document each: ").expect(said);
    assert!(
        docs.contains("name: test-node}, spec: {podCIDR: 10.180.0.0/24}"),
        "{said}"
    );
    let with_nodes = format!("{bare}---\n{}\n", docs.replace(" --- ", "\n---\n"));
    let c = Cluster::from_yaml(&with_nodes).unwrap_or_else(|e| panic!("{e}"));
    assert!(cni::build(&c, "t", "t").is_ok());
    // Mistakes between objects, at the line of the field that is wrong
    // (calico-ipip: node54's podCIDR at line 32, its address at 36; the
    // curl pod's nodeName at 55, its podIP at 57).
    let yaml = std::fs::read_to_string(format!(
        "{}/src/engine/scenarios/clusters/calico-ipip.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for (from, to, line, says) in [
        ("address: 192.168.11.54", "address: 192.168.11.58", 36, "node node54's InternalIP 192.168.11.58 is node node8's already (line 25)"),
        ("podCIDR: 172.16.3.64/26", "podCIDR: 172.16.225.0/24", 32, "node node54's podCIDR 172.16.225.0/24 overlaps node node8's 172.16.225.64/26 (line 21)"),
        ("nodeName: node8\nstatus:\n  podIP: 172.16.225.101", "nodeName: node9\nstatus:\n  podIP: 172.16.225.101", 55, "pod ms-test/curl: no node runs it"),
        ("podIP: 172.16.225.101", "podIP: 172.16.9.101", 57, "pod ms-test/curl has address 172.16.9.101, outside node8's pod CIDR"),
        ("gateway: 192.168.11.1", "gateway: 10.0.0.1", 11, "gateway 10.0.0.1 must be a router's address on the nodes' LAN 192.168.11.0/24"),
        ("gateway: 192.168.11.1", "gateway: 192.168.11.54", 11, "gateway 192.168.11.54 is node node54's address"),
        ("name: node54", "name: node8", 30, "node node8 is defined twice (first at line 19)"),
    ] {
        assert!(yaml.contains(from), "{from}");
        let c = Cluster::from_yaml(&yaml.replacen(from, to, 1)).unwrap();
        let e = cni::build(&c, "t", "t").unwrap_err();
        assert!(e.0[0].line == line && e.0[0].message.starts_with(says), "{to}: {e}");
    }
}

/// An address of the other family in an EndpointSlice is the API
/// server's error, at the address (not at generated rules' lines).
#[test]
fn a_slice_address_must_be_of_its_address_type() {
    let yaml = std::fs::read_to_string(format!(
        "{}/src/engine/scenarios/clusters/calico-ipip.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let bad = yaml.replacen("addresses: [172.16.225.112]", "addresses: ['fd00::1']", 1);
    let e = Cluster::from_yaml(&bad).unwrap_err();
    assert_eq!((e.0[0].line, e.0.len()), (87, 1), "{e}");
    assert!(
        e.0[0]
            .message
            .contains("must be a valid IPv4 address, as the slice's addressType: IPv4 says"),
        "{e}"
    );
}

/// A resync makes kube-proxy's first sync only on a node the scenario did
/// not have (the others sync into their own tables): that node gets the
/// rules a fresh build gives it, the others keep the learner's.
#[test]
fn a_resync_gives_a_node_new_to_the_scenario_its_first_sync() {
    let c = cluster("calico-ipip");
    let full = cni::build(&c, "t", "t").unwrap();
    let mut sc = full.clone();
    sc.hosts.retain(|h| h.name != "node54");
    // The learner's rule in node8's filter table.
    let mine = with_rule(
        &rules_of(&sc, "node8"),
        "filter",
        "-A INPUT -s 10.9.9.9/32 -j DROP",
    );
    sc.host_mut("node8").unwrap().iptables = Some(packetwalk::engine::scenario::Text::One(mine));
    let (after, diffs) = cni::resync(Some(&c), &c, &sc).unwrap();
    assert!(diffs.iter().all(|d| d.note.is_none()), "{diffs:?}");
    let fresh = rules_of(&full, "node54");
    assert!(fresh.contains("-A KUBE-SERVICES"), "{fresh}");
    assert_eq!(rules_of(&after, "node54"), fresh);
    assert!(rules_of(&after, "node8").contains("-A INPUT -s 10.9.9.9/32 -j DROP"));
    assert!(!rules_of(&after, "node51").contains("10.9.9.9"));
}

/// The story: flask-ui goes from one endpoint to three; the node's
/// KUBE-SVC chain gets kube-proxy's probabilities, the learner's own chain
/// and route survive the sync, and the sync's diff lists what changed.
#[test]
fn a_resync_replaces_kube_proxys_chains_and_keeps_the_learners() {
    let three = cluster("calico-ipip");
    let yaml = std::fs::read_to_string(format!(
        "{}/src/engine/scenarios/clusters/calico-ipip.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    // Only the endpoint on node8.
    let cut = yaml.find("- addresses: [172.16.3.70]").unwrap();
    let one = Cluster::from_yaml(&yaml[..cut]).unwrap();

    let mut sc = cni::build(&one, "t", "t").unwrap();
    let node8 = sc.host_mut("node8").unwrap();
    let rules = node8.iptables.as_ref().unwrap().to_text();
    assert!(
        !rules.contains("--probability"),
        "one endpoint, no statistic rule"
    );
    // The learner adds a chain of their own and a route.
    let mine = rules.replacen(
        ":KUBE-EXTERNAL-SERVICES - [0:0]\n",
        ":KUBE-EXTERNAL-SERVICES - [0:0]\n:MY-SSH - [0:0]\n",
        1,
    );
    let mine = mine.replacen(
        "-A INPUT -j KUBE-FIREWALL\n",
        "-A INPUT -j KUBE-FIREWALL\n-A INPUT -j MY-SSH\n-A MY-SSH -p tcp -m tcp --dport 22 -j ACCEPT\n",
        1,
    );
    assert_ne!(mine, rules);
    node8.iptables = Some(packetwalk::engine::scenario::Text::One(mine));
    let mut routes = node8.routes.to_text();
    routes.push_str("10.99.0.0/16 via 192.168.11.1 dev ens33 proto static\n");
    node8.routes = packetwalk::engine::scenario::Text::One(routes);

    let (after, diffs) = cni::resync(Some(&one), &three, &sc).unwrap();
    let n8 = after.host("node8").unwrap();
    let rules = n8.iptables.as_ref().unwrap().to_text();
    assert!(rules.contains("--probability 0.33333333349"), "{rules}");
    assert!(rules.contains("--probability 0.50000000000"), "{rules}");
    assert!(
        rules.contains("-A MY-SSH -p tcp -m tcp --dport 22 -j ACCEPT"),
        "the learner's chain survives"
    );
    assert!(rules.contains("-A INPUT -j MY-SSH"));
    assert!(n8
        .routes
        .to_text()
        .contains("10.99.0.0/16 via 192.168.11.1 dev ens33 proto static"));
    let d = diffs.iter().find(|d| d.node == "node8").unwrap();
    let svc = format!(
        "KUBE-SVC-{}",
        port_proto_hash("ms-test/flask-ui:http", "tcp")
    );
    assert!(
        d.rules
            .added
            .iter()
            .any(|l| l.starts_with(&format!("-A {svc} ")) && l.contains("0.33333333349")),
        "{d:?}"
    );
    assert_eq!(
        d.rules
            .added
            .iter()
            .filter(|l| l.starts_with(":KUBE-SEP-"))
            .count(),
        2,
        "{d:?}"
    );
    assert!(d.routes.is_empty(), "no new node, no new block: {d:?}");
    // The new endpoints' pods exist and are reachable.
    let mut w = World::build(&after).unwrap();
    let t = go(&mut w, "curl", "172.16.166.140:80", vec![]);
    assert_eq!(delivered_to(&t), "flask-ui-6c9f7d8b5d-m5vjr");

    // Names of chains, as the UI shows them.
    let names = cni::chain_names(&three, "node8");
    assert!(
        names
            .iter()
            .any(|(c, w)| *c == svc && w == "ms-test/flask-ui:http"),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|(c, w)| c.starts_with("KUBE-SEP-")
                && w == "ms-test/flask-ui:http → 172.16.3.70:80"),
        "{names:?}"
    );
}

/// A learner's rule that jumps to one of Felix's chains, then a switch to
/// Flannel: Flannel's sync deletes Felix's chains but the one in use,
/// which iptables -X would refuse, and the sync's note says so; the
/// learner's rule stays.
#[test]
fn a_cni_switch_keeps_the_chain_a_learners_rule_jumps_to() {
    let calico = cluster("calico-ipip");
    let mut sc = cni::build(&calico, "t", "t").unwrap();
    let node8 = sc.host_mut("node8").unwrap();
    let rules = node8.iptables.as_ref().unwrap().to_text();
    let mine = rules.replacen(
        "-A FORWARD ",
        "-A FORWARD -p tcp -m tcp --dport 9999 -j cali-FORWARD\n-A FORWARD ",
        1,
    );
    assert_ne!(mine, rules);
    node8.iptables = Some(packetwalk::engine::scenario::Text::One(mine));
    let yaml = std::fs::read_to_string(format!(
        "{}/src/engine/scenarios/clusters/calico-ipip.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let flannel =
        Cluster::from_yaml(&yaml.replace("mode: calico-ipip", "mode: flannel-vxlan")).unwrap();
    let (after, diffs) = cni::resync(Some(&calico), &flannel, &sc).unwrap();
    let rules = rules_of(&after, "node8");
    assert!(
        rules.contains("-A FORWARD -p tcp -m tcp --dport 9999 -j cali-FORWARD"),
        "the learner's rule stays"
    );
    assert!(
        rules.contains(":cali-FORWARD - [0:0]") && !rules.contains(":cali-INPUT "),
        "only the chain in use stays"
    );
    assert!(rules.contains("FLANNEL-FWD"));
    let note = diffs
        .iter()
        .find(|d| d.node == "node8")
        .and_then(|d| d.note.clone())
        .unwrap_or_default();
    assert!(
        note.contains("filter chain cali-FORWARD stays, as iptables -X refuses a chain in use"),
        "{note}"
    );
    // Still a node that loads and forwards.
    World::build(&after).unwrap();
}

/// A node that holds an imported dump of 300 services kube-proxy does not
/// know: the sync deletes their chains, and the diff keeps the first
/// DIFF_LINES lines with the true counts (the page lists them all otherwise).
#[test]
fn a_large_sync_diff_keeps_its_first_lines_and_counts_them_all() {
    let c = cluster("calico-ipip");
    let mut sc = cni::build(&c, "t", "t").unwrap();
    let node8 = sc.host_mut("node8").unwrap();
    let rules = node8.iptables.as_ref().unwrap().to_text();
    let (decls, jumps): (String, String) = (0..300)
        .map(|i| {
            (
                format!(":KUBE-SVC-IMPORTED{i:05} - [0:0]\n"),
                format!("-A KUBE-SVC-IMPORTED{i:05} -j RETURN\n"),
            )
        })
        .unzip();
    // Into the nat table, where kube-proxy keeps its service chains.
    let (head, nat) = rules.split_once("*nat\n").unwrap();
    let nat = nat
        .replacen(
            ":KUBE-SERVICES - [0:0]\n",
            &format!(":KUBE-SERVICES - [0:0]\n{decls}"),
            1,
        )
        .replacen("COMMIT", &format!("{jumps}COMMIT"), 1);
    let imported = format!("{head}*nat\n{nat}");
    node8.iptables = Some(packetwalk::engine::scenario::Text::One(imported));

    let (after, diffs) = cni::resync(Some(&c), &c, &sc).unwrap();
    assert!(
        node8_rules(&after) == rules,
        "the sync gives kube-proxy's rules back"
    );
    let d = diffs.iter().find(|d| d.node == "node8").unwrap();
    assert_eq!((d.rules.added_total, d.rules.removed_total), (0, 600));
    assert_eq!(d.rules.removed.len(), cni::DIFF_LINES);
    assert_eq!(d.rules.removed[0], ":KUBE-SVC-IMPORTED00000 - [0:0]");
    assert_eq!(d.rules.removed[199], ":KUBE-SVC-IMPORTED00199 - [0:0]");
    assert!(d.routes.is_empty() && d.note.is_none() && !d.is_empty());
}

/// The NodePort scenario with externalTrafficPolicy: Local keeps the
/// client's address; node8, without a local endpoint, drops the packet.
#[test]
fn node_port_local_keeps_the_client_address_and_drops_without_an_endpoint() {
    let mut w = world("nodeport-local");
    let t = go(&mut w, "client", "192.168.11.54:30080", vec![]);
    assert_eq!(delivered_to(&t), "flask-ui-6c9f7d8b5d-q8wzt");
    let last = t.steps.last().unwrap();
    assert_eq!(
        last.packet.ip.src.to_string(),
        "192.168.11.200",
        "no masquerade: the pod sees the client"
    );
    let t = go(&mut w, "client", "192.168.11.58:30080", vec![]);
    match &t.verdict {
        Verdict::Dropped { ns, .. } => assert_eq!(ns, "node8"),
        v => panic!("{v:?}"),
    }
    let text = packetwalk::engine::render::table(&t);
    assert!(text.contains("has no local endpoints"), "{text}");
}

/// The CNI's own masquerade (Calico's natOutgoing, flanneld's --ip-masq):
/// a pod's packet to outside the pod network leaves with its node's
/// address, in every mode; and a pod reaching another node's NodePort
/// arrives from that node's address, so the Local policy keeps it there.
#[test]
fn pod_traffic_leaving_the_pod_network_is_masqueraded_by_the_cni() {
    for (mode, chain, pod) in [
        ("calico-ipip", "cali-nat-outgoing", "curl"),
        ("calico-vxlan", "cali-nat-outgoing", "curl"),
        ("flannel-vxlan", "FLANNEL-POSTRTG", "curl"),
        ("flannel-host-gw", "FLANNEL-POSTRTG", "curl"),
    ] {
        let sc = cni::build(&cluster(mode), mode, mode).unwrap();
        let rules = node8_rules(&sc);
        assert!(
            rules.contains(&format!(":{chain} - [0:0]")),
            "{mode}: {rules}"
        );
        let mut w = World::build(&sc).unwrap();
        let mut s = SimState::new(&w);
        let t = send(
            &mut w,
            &mut s,
            &SendSpec::new(pod, "1.1.1.1:443", Proto::Tcp),
        )
        .unwrap();
        let out = t.steps.last().unwrap();
        assert_eq!(
            (
                out.packet.ip.src.to_string(),
                matches!(t.verdict, Verdict::Left { .. })
            ),
            ("192.168.11.58".to_string(), true),
            "{mode}: {}",
            packetwalk::engine::render::table(&t)
        );
    }
    let mut w = world("nodeport-local");
    let t = go(&mut w, "curl", "192.168.11.54:30080", vec![]);
    assert_eq!(delivered_to(&t), "flask-ui-6c9f7d8b5d-q8wzt");
    let text = packetwalk::engine::render::table(&t);
    assert!(text.contains("jump to KUBE-SVL-"), "{text}");

    // A change of mode writes the CNI's chains anew.
    let current = cluster("calico-ipip");
    let sc = cni::build(&current, "t", "t").unwrap();
    let flannel = cni::cluster_yaml("calico-ipip")
        .unwrap()
        .replace("mode: calico-ipip\n", "mode: flannel-vxlan\n");
    let flannel = Cluster::from_yaml(&flannel).unwrap();
    let (after, diffs) = cni::resync(Some(&current), &flannel, &sc).unwrap();
    let rules = node8_rules(&after);
    assert!(
        rules.contains("-j FLANNEL-POSTRTG")
            && !rules.contains("cali-")
            && !rules.contains("0x10000"),
        "{rules}"
    );
    // The sync lists the devices it changed: Calico's tunnel goes,
    // Flannel's VXLAN device and bridge come.
    let links = &diffs.iter().find(|d| d.node == "node8").unwrap().links;
    assert!(
        links.removed.iter().any(|l| l.starts_with("tunl0: ipip"))
            && links
                .added
                .iter()
                .any(|l| l.starts_with("flannel.1: vxlan id 1 dstport 8472"))
            && links
                .added
                .iter()
                .any(|l| l.starts_with("cni0: bridge, ports ")),
        "{links:?}"
    );
    // Flannel's hairpinMode turned off: only the bridge ports' lines change.
    let hairpin_off = |c: &str| {
        c.replacen(
            "mode: flannel-vxlan\n",
            "mode: flannel-vxlan\nhairpinMode: false\n",
            1,
        )
    };
    let (_, diffs) = cni::resync(
        Some(&flannel),
        &Cluster::from_yaml(&hairpin_off(
            &cni::cluster_yaml("calico-ipip")
                .unwrap()
                .replace("mode: calico-ipip\n", "mode: flannel-vxlan\n"),
        ))
        .unwrap(),
        &after,
    )
    .unwrap();
    let d = diffs.iter().find(|d| d.node == "node8").unwrap();
    assert!(d.rules.is_empty() && d.routes.is_empty(), "{d:?}");
    assert!(
        d.links.removed_total == d.links.added_total
            && d.links.removed_total > 0
            && d.links
                .removed
                .iter()
                .all(|l| l.starts_with("veth") && l.contains(", hairpin on"))
            && d.links
                .added
                .iter()
                .all(|l| l.starts_with("veth") && !l.contains("hairpin")),
        "{:?}",
        d.links
    );

    // A learner's rule after the CNI's jump stays after it through a sync,
    // and Calico's jump comes after kube-proxy's, as Felix 3.29 appends it
    // (kube-proxy's masquerade first).
    let mut sc = sc;
    let node8 = sc.hosts.iter_mut().find(|h| h.name == "node8").unwrap();
    let text = node8.iptables.as_ref().unwrap().to_text();
    let edited = with_rule(
        &text,
        "nat",
        "-A POSTROUTING -s 172.16.0.0/16 -j SNAT --to-source 192.168.11.99",
    );
    node8.iptables = Some(packetwalk::engine::scenario::Text::One(edited));
    let moved = cni::cluster_yaml("calico-ipip")
        .unwrap()
        .replace("- addresses: [172.16.3.70]", "- addresses: [172.16.3.71]");
    let moved = Cluster::from_yaml(&moved).unwrap();
    let (after, _) = cni::resync(Some(&current), &moved, &sc).unwrap();
    let rules = node8_rules(&after);
    let order: Vec<usize> = [
        "-j KUBE-POSTROUTING",
        "-j cali-POSTROUTING",
        "--to-source 192.168.11.99",
    ]
    .iter()
    .map(|w| rules.find(w).unwrap_or_else(|| panic!("{w}: {rules}")))
    .collect();
    assert!(
        order[0] < order[1] && order[1] < order[2],
        "{order:?}\n{rules}"
    );
}

/// ClientIP affinity: every new connection from curl goes to the endpoint
/// the first one picked (the `recent` list of its KUBE-SEP chain).
#[test]
fn session_affinity_sends_every_connection_to_the_same_endpoint() {
    let mut w = world("session-affinity");
    let mut s = SimState::new(&w);
    let mut ends = Vec::new();
    for port in 40000..40006 {
        let mut spec = SendSpec::new("curl", "ms-test/flask-ui", Proto::Tcp);
        spec.src_port = Some(port);
        ends.push(delivered_to(&send(&mut w, &mut s, &spec).unwrap()));
    }
    assert!(ends.iter().all(|e| *e == ends[0]), "{ends:?}");
    // Without affinity the same six connections spread out.
    let mut w = world("calico-ipip");
    let mut s = SimState::new(&w);
    let mut spread = Vec::new();
    for port in 40000..40006 {
        let mut spec = SendSpec::new("curl", "ms-test/flask-ui", Proto::Tcp);
        spec.src_port = Some(port);
        spread.push(delivered_to(&send(&mut w, &mut s, &spec).unwrap()));
    }
    spread.sort();
    spread.dedup();
    assert!(spread.len() > 1, "{spread:?}");
}

/// kube-proxy 1.18's layout, as the article's node had it: the lines that
/// differ from today's, and a NodePort packet through them to a pod.
#[test]
fn the_legacy_layout_is_the_article_times() {
    let sc = cni::builtin("legacy-kube-proxy").unwrap();
    let node8 = sc.host("node8").unwrap();
    let rules = node8.iptables.as_ref().unwrap().to_text();
    let svc = format!(
        "KUBE-SVC-{}",
        port_proto_hash("ms-test/flask-ui:http", "tcp")
    );
    for want in [
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -m mark --mark 0x4000/0x4000 -j MASQUERADE".to_string(),
        "-A KUBE-SERVICES ! -s 172.16.0.0/16 -d 10.96.100.10/32 -p tcp -m comment --comment \"ms-test/flask-ui:http cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ".to_string(),
        format!("-A KUBE-SERVICES -d 10.96.100.10/32 -p tcp -m comment --comment \"ms-test/flask-ui:http cluster IP\" -m tcp --dport 80 -j {svc}"),
        format!("-A {svc} -m comment --comment \"ms-test/flask-ui:http\" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-"),
        "-A KUBE-NODEPORTS -p tcp -m comment --comment \"ms-test/flask-ui:http\" -m tcp --dport 30080 -j KUBE-MARK-MASQ".to_string(),
        "-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000".to_string(),
        "-A KUBE-FORWARD -s 172.16.0.0/16 -m comment --comment \"kubernetes forwarding conntrack pod source rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".to_string(),
    ] {
        assert!(rules.contains(&want), "missing {want}\n{rules}");
    }
    assert!(!rules.contains("KUBE-EXT-"), "no KUBE-EXT chains then");
    let mut w = World::build(&sc).unwrap();
    let t = go(&mut w, "client", "192.168.11.58:30080", vec![]);
    let pod = delivered_to(&t);
    assert!(pod.starts_with("flask-ui-"), "{pod}");
    // The DNAT rule reads as in the article: `/* ms-test/flask-ui:http */`.
    let dnat = t.steps.iter().find_map(|s| match &s.kind {
        StepKind::RuleMatch { rule, .. } if rule.text.contains("-j DNAT") => {
            Some(rule.text.clone())
        }
        _ => None,
    });
    assert!(dnat
        .unwrap()
        .contains("--comment \"ms-test/flask-ui:http\" -m tcp -j DNAT"));

    // 1.18 knew no internalTrafficPolicy (1.21): Local changes nothing;
    // a LoadBalancer whose source ranges hold the node's address lets the
    // node in from its ingress IP (allowFromNode).
    let legacy = cni::cluster_yaml("legacy-kube-proxy").unwrap();
    let rules_of = |yaml: &str| {
        node8_rules(&cni::build(&Cluster::from_yaml(yaml).unwrap(), "t", "t").unwrap())
    };
    let itp = legacy.replacen(
        "  type: NodePort\n",
        "  type: NodePort\n  internalTrafficPolicy: Local\n",
        1,
    );
    assert_ne!(itp, legacy);
    assert_eq!(rules_of(&itp), rules_of(legacy));
    let c = Cluster::from_yaml(legacy).unwrap();
    let lb = packetwalk::engine::k8s::edit::set_service_type(
        legacy,
        &c,
        "ms-test/flask-ui",
        "LoadBalancer",
    )
    .unwrap()
    .replacen(
        "  type: LoadBalancer\n",
        "  type: LoadBalancer\n  loadBalancerSourceRanges: [192.168.11.0/24]\n",
        1,
    );
    let rules = rules_of(&lb);
    assert!(
        rules.contains("-s 192.168.11.240/32 -m comment --comment \"ms-test/flask-ui:http loadbalancer IP\" -j KUBE-SVC-"),
        "{rules}"
    );
}

#[test]
fn switching_to_the_legacy_layout_resyncs_the_nodes() {
    let yaml = cni::cluster_yaml("calico-ipip").unwrap();
    let current = cluster("calico-ipip");
    let sc = cni::build(&current, "t", "t").unwrap();
    let legacy_yaml = yaml.replace(
        "mode: calico-ipip\n",
        "mode: calico-ipip\nkubeProxy: legacy\n",
    );
    let legacy = Cluster::from_yaml(&legacy_yaml).unwrap();
    let (after, _) = cni::resync(Some(&current), &legacy, &sc).unwrap();
    let rules = node8_rules(&after);
    assert!(
        rules.contains("kubernetes forwarding conntrack pod source rule"),
        "{rules}"
    );
    let names = cni::chain_names(&legacy, "node8");
    assert!(
        names
            .iter()
            .any(|(c, w)| c.starts_with("KUBE-SVC-") && w == "ms-test/flask-ui:http"),
        "{names:?}"
    );
}

/// Hostile pastes: deep nesting, a huge document, binary junk. Each is an
/// error at a line or an empty cluster, never a panic or a hang.
#[test]
fn hostile_yaml_is_an_error_not_a_crash() {
    for text in [
        "[".repeat(100_000),
        "? ".repeat(50_000) + "x\n",
        "- ? ".repeat(20_000) + "x\n",
        "a:\n".to_string() + &"  - ".repeat(50_000),
        format!(
            "kind: Service\nmetadata: {{name: x}}\nspec:\n  ports:\n{}",
            "  - port: 80\n".repeat(200_000)
        ),
        "\u{0}\u{1}\u{2}kind: [".to_string(),
        // Just inside the limit: parsed, within a 1 MB stack.
        format!("a:\n{}x\n", "  - ".repeat(59)),
        format!("a: {}{}\n", "[".repeat(64), "]".repeat(64)),
        "kind: Service\nmetadata:\n  name: x\nspec:\n  clusterIP: 10.0.0.1/33\n".to_string(),
    ] {
        let r = std::thread::Builder::new()
            .stack_size(1 << 20) // the browser's stack is small: so is this one
            .spawn(move || {
                Cluster::from_yaml(&text)
                    .map(|c| c.services.len())
                    .map_err(|e| e.0[0].line)
            })
            .unwrap()
            .join();
        assert!(r.is_ok(), "a panic or a stack overflow");
    }
    // Aliases of one long string: refused at the alias that could take the
    // expansion past 64 MB (a 1 MB file of 20,000 once took 24 GB), while
    // a few aliases in an ordinary file read.
    let long = format!(
        "kind: ConfigMap\nmetadata: {{name: x}}\ndata:\n  a: &s {}\n  l: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*s"; 100].join(", ")
    );
    let err = Cluster::from_yaml(&long).unwrap_err();
    assert_eq!(err.0[0].line, 5, "{err}");
    assert!(
        err.0[0].message.contains("Kubernetes objects need none"),
        "{err}"
    );
    // Not hidden by what only looks like a quote or a comment (`x'` and
    // `a#b` are plain scalars in YAML).
    for first in ["x'", "a#b"] {
        let sneaky = long.replacen("  l: [", &format!("  l: [{first}, "), 1);
        let err = Cluster::from_yaml(&sneaky).unwrap_err();
        assert!(err.0[0].message.contains("aliases"), "{first}: {err}");
    }
    // Many aliases of a small anchor in a large file read.
    let small = format!(
        "kind: ConfigMap\nmetadata: {{name: x}}\ndata:\n  pad: {}\n  a: &s hello\n  l: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*s"; 200].join(", ")
    );
    Cluster::from_yaml(&small).unwrap_or_else(|e| panic!("{e}"));
    let few = "kind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: &s hello\n  b: *s\n  c: *s\n";
    assert!(Cluster::from_yaml(few).is_ok());
    // A `*` that names no anchor is no alias: globs in a large file read.
    let globs = format!(
        "kind: ConfigMap\nmetadata: {{name: x}}\ndata:\n  pad: {}\n  run: |\n{}",
        "x".repeat(1 << 20),
        "    ls * | grep -v *.tmp\n".repeat(200)
    );
    Cluster::from_yaml(&globs).unwrap_or_else(|e| panic!("{e}"));
}

/// Rules that cannot be read as the kernel would hold them (here a rule for
/// a chain never declared) are kept as typed, and the sync says why.
#[test]
fn a_node_whose_rules_cannot_be_read_keeps_them_and_says_why() {
    let c = cluster("calico-ipip");
    let mut sc = cni::build(&c, "t", "t").unwrap();
    let n8 = sc.host_mut("node8").unwrap();
    let odd = n8.iptables.as_ref().unwrap().to_text().replacen(
        "-A INPUT -j KUBE-FIREWALL\n",
        "-A INPUT -j KUBE-FIREWALL\n-A NOWHERE -j ACCEPT\n",
        1,
    );
    n8.iptables = Some(packetwalk::engine::scenario::Text::One(odd.clone()));
    let (after, diffs) = cni::resync(Some(&c), &c, &sc).unwrap();
    let n8 = after.host("node8").unwrap();
    assert_eq!(
        n8.iptables.as_ref().unwrap().to_text(),
        odd,
        "kept as typed"
    );
    let d = diffs.iter().find(|d| d.node == "node8").unwrap();
    assert!(
        d.note
            .as_deref()
            .unwrap_or("")
            .contains("not synced on node8"),
        "{d:?}"
    );
}

/// Pods named like each other (two namespaces), like a node or like the
/// client still get hosts of their own.
#[test]
fn clashing_pod_names_get_their_own_hosts() {
    let text = "kind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 10.244.0.0/24}\nstatus: {addresses: [{type: InternalIP, address: 192.168.0.10}]}\n---\nkind: Pod\nmetadata: {name: web, namespace: a}\nspec: {nodeName: n1}\nstatus: {podIP: 10.244.0.5}\n---\nkind: Pod\nmetadata: {name: web, namespace: b}\nspec: {nodeName: n1}\nstatus: {podIP: 10.244.0.6}\n---\nkind: Pod\nmetadata: {name: n1, namespace: a}\nspec: {nodeName: n1}\nstatus: {podIP: 10.244.0.7}\n---\nkind: Pod\nmetadata: {name: client, namespace: a}\nspec: {nodeName: n1}\nstatus: {podIP: 10.244.0.8}\n";
    let sc = cni::build(&Cluster::from_yaml(text).unwrap(), "t", "t").unwrap();
    let mut names: Vec<&str> = sc.hosts.iter().map(|h| h.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["client", "client.a", "n1", "n1.a", "web.a", "web.b"]
    );
    World::build(&sc).unwrap();
}

/// Flannel's cni0 is a bridge, and Kubernetes needs br_netfilter: a frame
/// between two pods of one node is switched, not routed (no TTL taken),
/// and still passes the node's PREROUTING, FORWARD and POSTROUTING with
/// `-i cni0 -o cni0`. A DNAT to a pod of the bridge keeps the frame on it;
/// a pod reaching itself through its Service needs the port's hairpin
/// mode, and kube-proxy masquerades it to the bridge's address. Each row
/// was checked in network namespaces (a bridge, two veths, iptables-nft,
/// bridge-nf-call-iptables = 1) with tcpdump in the pods and counters in
/// mangle FORWARD and nat POSTROUTING.
#[test]
fn pods_on_one_bridge_are_switched_through_the_nodes_netfilter() {
    let svc = format!(
        "KUBE-SVC-{}",
        port_proto_hash("ms-test/flask-ui:http", "tcp")
    );
    // Endpoints sorted by IP:port text: 10.244.0.12 (beside curl on node8),
    // 10.244.1.7, 10.244.2.9.
    let local = vec![Force {
        host: "node8".into(),
        table: TableName::Nat,
        chain: svc,
        rule: 2,
        matched: true,
    }];
    let curl_veth = cni::bridge_veth("ms-test", "curl");
    let web = "flask-ui-6c9f7d8b5d-x2k4p";
    let web_veth = cni::bridge_veth("ms-test", web);
    struct Row {
        what: &'static str,
        from: &'static str,
        to: &'static str,
        force: Vec<Force>,
        hairpin: bool,
        /// The bridge step: (in port, out port, after a DNAT); `None`: routed.
        bridged: Option<(String, String, bool)>,
        /// Where it ends: the pod it reaches with (source, TTL), or the drop.
        end: Result<(&'static str, &'static str, u8), DropReason>,
    }
    let rows = [
        Row {
            what: "pod to pod",
            from: "curl",
            to: "10.244.0.12:80",
            force: vec![],
            hairpin: true,
            bridged: Some((curl_veth.clone(), web_veth.clone(), false)),
            end: Ok((web, "10.244.0.5", 64)),
        },
        Row {
            what: "pod to a Service whose endpoint is beside it",
            from: "curl",
            to: "ms-test/flask-ui",
            force: local.clone(),
            hairpin: true,
            bridged: Some((curl_veth.clone(), web_veth.clone(), true)),
            end: Ok((web, "10.244.0.5", 64)),
        },
        Row {
            what: "a pod to its own Service, hairpin on",
            from: web,
            to: "ms-test/flask-ui",
            force: local.clone(),
            hairpin: true,
            bridged: Some((web_veth.clone(), web_veth.clone(), true)),
            end: Ok((web, "10.244.0.1", 64)),
        },
        Row {
            what: "a pod to its own Service, hairpin off",
            from: web,
            to: "ms-test/flask-ui",
            force: local.clone(),
            hairpin: false,
            bridged: None,
            end: Err(DropReason::Hairpin),
        },
        Row {
            what: "pod to a pod of another node: routed",
            from: "curl",
            to: "10.244.1.7:80",
            force: vec![],
            hairpin: true,
            bridged: None,
            end: Ok(("flask-ui-6c9f7d8b5d-q8wzt", "10.244.0.5", 62)),
        },
    ];
    for row in rows {
        // The Network document's hairpinMode (Flannel's CNI config).
        let mut yaml = cni::cluster_yaml("flannel-vxlan").unwrap().to_string();
        if !row.hairpin {
            yaml = yaml.replacen(
                "mode: flannel-vxlan\n",
                "mode: flannel-vxlan\nhairpinMode: false\n",
                1,
            );
        }
        let c = Cluster::from_yaml(&yaml).unwrap();
        let mut w = World::build(&cni::build(&c, "flannel-vxlan", "t").unwrap()).unwrap();
        let mut s = SimState::new(&w);
        let mut spec = SendSpec::new(row.from, row.to, Proto::Tcp);
        spec.force = row.force.clone();
        let t = send(&mut w, &mut s, &spec).unwrap();
        let table = packetwalk::engine::render::table(&t);
        let what = row.what;
        let bridged = t.steps.iter().find_map(|s| match &s.kind {
            StepKind::Bridge {
                in_port,
                out_port,
                dst_changed,
                ..
            } => Some((in_port.clone(), out_port.clone(), *dst_changed)),
            _ => None,
        });
        assert_eq!(bridged, row.bridged, "{what}\n{table}");
        let on_node8 =
            |f: &dyn Fn(&StepKind) -> bool| t.steps.iter().any(|s| s.ns == "node8" && f(&s.kind));
        if bridged.is_some() {
            assert!(
                !on_node8(&|k| matches!(k, StepKind::Ttl { .. })),
                "{what}: a bridge takes no TTL\n{table}"
            );
            let chains = t.chains();
            for c in ["node8/filter/FORWARD", "node8/nat/POSTROUTING"] {
                assert!(
                    chains.iter().any(|x| x == c),
                    "{what}: {c} not passed\n{table}"
                );
            }
            // br_netfilter hands iptables the bridge as -i and -o.
            let forward = t.steps.iter().find(|s| {
                s.ns == "node8"
                    && matches!(&s.kind, StepKind::Chain { table, chain, .. } if *table == TableName::Filter && chain == "FORWARD")
            });
            let devs = forward.map(|s| (s.packet.iif.as_deref(), s.packet.oif.as_deref()));
            assert_eq!(devs, Some((Some("cni0"), Some("cni0"))), "{what}\n{table}");
        }
        match (row.end, &t.verdict) {
            (Ok((ns, src, ttl)), Verdict::Delivered { ns: got, .. }) => {
                let last = &t.steps.last().unwrap().packet;
                assert_eq!(
                    (got.as_str(), last.ip.src.to_string().as_str(), last.ip.ttl),
                    (ns, src, ttl),
                    "{what}\n{table}"
                );
            }
            (Err(reason), Verdict::Dropped { ns, reason: got }) => {
                assert_eq!((ns.as_str(), *got), ("node8", reason), "{what}\n{table}");
                // The bridge's decision: a link-layer step.
                assert_eq!(t.steps.last().unwrap().layer, Layer::Link, "{what}");
            }
            (want, got) => panic!("{what}: wanted {want:?}, got {got:?}\n{table}"),
        }
        // The answer comes back through the same bridge, from the address
        // the sender called (conntrack undoes the DNAT and the masquerade).
        if let Ok((_, _, ttl)) = row.end {
            let back = send(
                &mut w,
                &mut s,
                &packetwalk::engine::sim::reply_spec(&t).unwrap(),
            )
            .unwrap();
            assert_eq!(
                delivered_to(&back),
                row.from,
                "{what}: the answer\n{}",
                packetwalk::engine::render::table(&back)
            );
            let bridged_back = back
                .steps
                .iter()
                .any(|s| matches!(s.kind, StepKind::Bridge { .. }));
            assert_eq!(
                bridged_back,
                row.bridged.is_some(),
                "{what}: the answer is switched on the bridge as well"
            );
            let last = &back.steps.last().unwrap().packet;
            let called = if row.to.contains(':') {
                row.to.split(':').next().unwrap()
            } else {
                "10.96.100.10"
            };
            assert_eq!(
                (last.ip.src.to_string().as_str(), last.ip.ttl),
                (called, ttl),
                "{what}: the answer's source and TTL"
            );
        }
    }
}

/// What `kubectl get svc,endpointslices,nodes -o yaml` prints (a `List`
/// with managedFields, annotations, status) is read as it is.
#[test]
fn kubectl_list_output_is_read_as_is() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/kubectl-list.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let c = Cluster::from_yaml(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((c.services.len(), c.slices.len(), c.nodes.len()), (1, 1, 1));
    let sc = cni::build(&c, "t", "t").unwrap();
    let mut w = World::build(&sc).unwrap();
    let t = go(&mut w, "client", "192.168.11.58:30080", vec![]);
    assert_eq!(delivered_to(&t), "flask-ui-6c9f7d8b5d-x2k4p");
}

/// Every KUBE-* rule on node8 links back to the Service (or endpoint) it
/// was written for, and to that object's line in the YAML.
#[test]
fn each_generated_rule_links_back_to_its_object() {
    let c = cluster("calico-ipip");
    let origins = cni::rule_origins(&c, "node8");
    let sc = cni::build(&c, "t", "t").unwrap();
    let rules = node8_rules(&sc);
    // Each origin's rule is a rule of the node, word for word.
    for o in &origins {
        assert!(
            rules.lines().any(|l| l == o.rule),
            "{} is not on node8",
            o.rule
        );
    }
    let dnat = origins
        .iter()
        .find(|o| o.rule.contains("DNAT --to-destination 172.16.3.70:80"))
        .unwrap();
    assert_eq!(dnat.what, "ms-test/flask-ui:http → 172.16.3.70:80");
    let yaml = cni::cluster_yaml("calico-ipip").unwrap();
    assert!(
        yaml.lines()
            .nth(dnat.line - 1)
            .unwrap()
            .contains("172.16.3.70"),
        "line {}",
        dnat.line
    );
    let svc_rule = origins
        .iter()
        .find(|o| o.rule.starts_with("-A KUBE-SERVICES -d 10.96.100.10/32"))
        .unwrap();
    assert_eq!(svc_rule.what, "ms-test/flask-ui:http");
    assert!(
        yaml.lines()
            .nth(svc_rule.line - 1)
            .unwrap()
            .starts_with("apiVersion: v1")
            || yaml
                .lines()
                .nth(svc_rule.line - 1)
                .unwrap()
                .starts_with("kind: Service"),
        "line {}",
        svc_rule.line
    );
}

/// A value the API server (or, for the LAN's interface, Linux) would not
/// take is reported at its own line, before it reaches the rules' comments
/// and the routes it would be written into (a space in an interface's name
/// made a route `dev ens33 x`; a newline, a route of its own).
#[test]
fn a_bad_value_is_reported_at_its_own_line() {
    let long = "n".repeat(300);
    for (yaml, line, says) in [
        (
            "kind: Node\nmetadata:\n  name: n1\nspec:\n  podCIDR: 10.244.0.0/33\n".to_string(),
            5,
            "spec.podCIDR: \"10.244.0.0/33\" is not an IPv4 CIDR (like 10.244.1.0/24)".to_string(),
        ),
        (
            "kind: Network\ninterface: ens33 x\n".into(),
            2,
            "interface: device name \"ens33 x\" holds a '/', ':' or a space, which Linux does not take in a device's name".into(),
        ),
        (
            "kind: Network\ninterface: \"ens33\\n10.0.0.0/8 dev lo\"\n".into(),
            2,
            "interface: device name \"ens33\\n10.0.0.0/8 dev lo\" is longer than 15 characters (Linux's IFNAMSIZ)".into(),
        ),
        (
            "kind: Service\nmetadata:\n  name: flask ui\n".into(),
            3,
            "metadata.name: \"flask ui\" is not a name the API server takes: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit".into(),
        ),
        (
            "kind: Pod\nmetadata:\n  name: curl\n  namespace: ms.test\n".into(),
            4,
            "metadata.namespace: \"ms.test\" is not a name the API server takes: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit".into(),
        ),
        (
            "kind: Pod\nmetadata:\n  name: curl\nspek:\n  nodeName: node54\n".into(),
            4,
            "unknown field \"spek\": the API server refuses it; did you mean \"spec\"?".into(),
        ),
        (
            "kind: Service x1\nmetadata:\n  name: flask-ui\n".into(),
            1,
            "kind: \"Service x1\" is not a kind: a kind is one word".into(),
        ),
        (
            format!("kind: Node\nmetadata:\n  name: {long}\n"),
            3,
            // (The name's word cut at 200 characters, its length said.)
            format!(
                "metadata.name: \"{}… (102 characters more) is not a name the API server takes",
                &long[..199]
            ),
        ),
    ] {
        let e = Cluster::from_yaml(&yaml).unwrap_err();
        assert_eq!(e.0[0].line, line, "{yaml}");
        assert!(e.0[0].message.starts_with(&says), "{}", e.0[0].message);
    }
}

/// A route the learner wrote in place of one of the CNI's (a blackhole for
/// another node's block) stays through a sync, and the diff says so;
/// before, the sync failed on its own "File exists" at a line of a text
/// the learner never saw.
#[test]
fn a_learners_route_stands_in_for_the_cnis_through_a_sync() {
    let c = cluster("calico-ipip");
    let mut sc = cni::build(&c, "t", "t").unwrap();
    let n8 = sc.host_mut("node8").unwrap();
    let cnis = "172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink";
    let routes = n8.routes.to_text();
    assert!(routes.contains(cnis), "{routes}");
    n8.routes =
        packetwalk::engine::scenario::Text::One(routes.replace(cnis, "blackhole 172.16.3.64/26"));
    let (after, diffs) = cni::resync(Some(&c), &c, &sc).unwrap();
    let routes = after.host("node8").unwrap().routes.to_text();
    assert!(
        routes.contains("blackhole 172.16.3.64/26") && !routes.contains(cnis),
        "{routes}"
    );
    let note = diffs
        .iter()
        .find(|d| d.node == "node8")
        .unwrap()
        .note
        .clone()
        .unwrap_or_default();
    assert!(
        note.contains(
            "your route is kept: blackhole 172.16.3.64/26 (instead of the CNI's 172.16.3.64/26 via"
        ),
        "{note}"
    );
    World::build(&after).unwrap();
}

/// A LoadBalancer's IP is reachable from the LAN: one node answers ARP for
/// it (MetalLB's layer-2 mode), and kube-proxy's rules for the ingress IP
/// DNAT it there; with externalTrafficPolicy: Local, a node with a local
/// endpoint answers. Before, the packet left the scenario unanswered.
#[test]
fn a_load_balancer_ip_is_answered_on_the_lan_and_dnated() {
    use packetwalk::engine::k8s::edit::{set_service_field, set_service_type};
    use packetwalk::engine::trace::StepKind;
    let svc = "ms-test/flask-ui";
    let yaml = cni::cluster_yaml("calico-ipip").unwrap();
    let lb = set_service_type(
        yaml,
        &Cluster::from_yaml(yaml).unwrap(),
        svc,
        "LoadBalancer",
    )
    .unwrap();
    let local = set_service_field(
        &lb,
        &Cluster::from_yaml(&lb).unwrap(),
        svc,
        "externalTrafficPolicy",
        "Local",
    )
    .unwrap();
    for (text, announcer) in [(&lb, "node8"), (&local, "node8")] {
        let c = Cluster::from_yaml(text).unwrap();
        let sc = cni::build(&c, "t", "t").unwrap();
        assert_eq!(sc.announces.len(), 1, "{:?}", sc.announces);
        assert_eq!(
            (
                sc.announces[0].host.as_str(),
                sc.announces[0].addr.to_string().as_str()
            ),
            (announcer, "192.168.11.240")
        );
        let mut w = World::build(&sc).unwrap();
        let t = go(&mut w, "client", "192.168.11.240:80", Vec::new());
        let answered = t.steps.iter().any(|s| matches!(&s.kind, StepKind::Arp { target, answered_by: Some(b), .. } if target.to_string() == "192.168.11.240" && b.starts_with(announcer)));
        assert!(answered, "{}", packetwalk::engine::render::table(&t));
        assert!(
            delivered_to(&t).starts_with("flask-ui"),
            "{}",
            packetwalk::engine::render::table(&t)
        );
    }
}

/// The built-in hairpin scenario: its one endpoint calls its own Service,
/// with no branch to force, and the answer reaches it from the bridge.
#[test]
fn the_hairpin_scenario_needs_no_forcing() {
    let mut w = world("flannel-hairpin");
    let web = "flask-ui-6c9f7d8b5d-x2k4p";
    let t = go(&mut w, web, "ms-test/flask-ui", vec![]);
    assert_eq!(delivered_to(&t), web);
    let veth = cni::bridge_veth("ms-test", web);
    assert!(t.steps.iter().any(|s| matches!(&s.kind, StepKind::Bridge { in_port, out_port, .. } if *in_port == veth && *out_port == veth)));
    assert_eq!(
        t.steps.last().unwrap().packet.ip.src.to_string(),
        "10.244.0.1"
    );
}

/// A drop is labelled with the layer that decides it: nothing listening is
/// the transport layer's (the socket lookup), a bridge's hairpin the link
/// layer's (above), a route's the network layer's.
#[test]
fn drops_carry_the_layer_that_decides_them() {
    let mut w = world("flannel-vxlan");
    let t = go(&mut w, "curl", "10.244.0.12:8080", vec![]);
    let last = t.steps.last().unwrap();
    assert!(matches!(
        last.kind,
        StepKind::Drop {
            reason: DropReason::NoListener,
            ..
        }
    ));
    assert_eq!(last.layer, Layer::Transport);
}

/// A LoadBalancer with externalTrafficPolicy: Local at the LAN address
/// .200: the scenario's own client moves out of its way, the ingress IP
/// reaches the Service, and kube-proxy's health check server answers on
/// every node's health check node port.
#[test]
fn a_local_load_balancer_has_its_address_and_its_health_check() {
    use packetwalk::engine::k8s::edit;
    let yaml = cni::cluster_yaml("calico-ipip").unwrap();
    let c = Cluster::from_yaml(yaml).unwrap();
    let lb = edit::set_service_type(yaml, &c, "ms-test/flask-ui", "LoadBalancer").unwrap();
    let c = Cluster::from_yaml(&lb).unwrap();
    let local = edit::set_service_field(
        &lb,
        &c,
        "ms-test/flask-ui",
        "externalTrafficPolicy",
        "Local",
    )
    .unwrap();
    let local = edit::complete_health_check_port(&local, "ms-test/flask-ui")
        .unwrap()
        .replace("- ip: 192.168.11.240", "- ip: 192.168.11.200");
    let c = Cluster::from_yaml(&local).unwrap();
    let hc = c.services[0].health_check_node_port;
    assert!(hc != 0, "{local}");
    let sc = cni::build(&c, "t", "t").unwrap();
    let client = sc.host("client").unwrap();
    let addr = client.devices[0].addrs[0].addr().to_string();
    assert_ne!(
        addr, "192.168.11.200",
        "the client keeps off the ingress IP"
    );
    let mut w = World::build(&sc).unwrap();
    let t = go(&mut w, "client", "192.168.11.200:80", vec![]);
    assert!(delivered_to(&t).starts_with("flask-ui-"));
    // Nor can a LAN client be made at that address: a node announces it.
    let e = send(
        &mut w,
        &mut SimState::new(&World::build(&sc).unwrap()),
        &SendSpec::new("client:192.168.11.200", "flask-ui", Proto::Tcp),
    )
    .unwrap_err();
    assert!(
        e.contains("load balancer address of ms-test/flask-ui"),
        "{e}"
    );
    let t = go(&mut w, "client", &format!("192.168.11.58:{hc}"), vec![]);
    assert_eq!(delivered_to(&t), "node8");
    let socket = socket_of(&t);
    assert!(
        socket.contains("kube-proxy's health check server for ms-test/flask-ui"),
        "{socket}"
    );
}

/// default/kubernetes, as every `kubectl get -o yaml` dump has it: its
/// endpoint is the API server on a node's own address (hostNetwork), so the
/// DNATed packet reaches a server there, not a closed port.
#[test]
fn an_endpoint_on_a_nodes_own_address_is_served_there() {
    let c = calico_with(
        "kind: Service\nmetadata: {name: kubernetes, namespace: default}\nspec:\n  clusterIP: 10.96.0.1\n  ports: [{name: https, port: 443, protocol: TCP, targetPort: 6443}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}\naddressType: IPv4\nports: [{name: https, port: 6443, protocol: TCP}]\nendpoints:\n- addresses: [192.168.11.54]\n",
    );
    let mut w = World::build(&cni::build(&c, "t", "t").unwrap()).unwrap();
    let t = go(&mut w, "curl", "default/kubernetes", vec![]);
    assert_eq!(delivered_to(&t), "node54");
    assert!(socket_of(&t).contains("hostNetwork"), "{}", socket_of(&t));
}

/// A Service written as learners write it, without `clusterIP` or
/// `nodePort`: the API server fills them in, and so does the cluster (the
/// first free ones), saying so in the scenario's notes.
#[test]
fn what_the_api_server_allocates_is_filled_in_and_said() {
    let c = calico_with(
        "kind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  type: NodePort\n  ports: [{name: http, port: 8080, protocol: TCP}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nports: [{name: http, port: 8080, protocol: TCP}]\nendpoints:\n- addresses: [172.16.3.71]\n  nodeName: node54\n",
    );
    let web = c.services.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(
        web.cluster_ip,
        packetwalk::engine::k8s::ClusterIp::Ip("10.96.0.1".parse().unwrap())
    );
    let np = web.ports[0].node_port;
    assert!((30000..=32767).contains(&np) && np != 30080, "{np}");
    let sc = cni::build(&c, "t", "t").unwrap();
    assert!(
        sc.notes
            .iter()
            .any(|n| n.contains("default/web has no spec.clusterIP") && n.contains("10.96.0.1")),
        "{:?}",
        sc.notes
    );
    let mut w = World::build(&sc).unwrap();
    let t = go(&mut w, "client", &format!("192.168.11.58:{np}"), vec![]);
    let pod = delivered_to(&t);
    assert!(
        t.steps
            .iter()
            .any(|s| s.ns == pod && s.packet.ip.dst.to_string() == "172.16.3.71"),
        "{pod}"
    );
}

/// An ExternalName Service's FQDN EndpointSlice, as a real cluster's
/// dump holds it: kube-proxy reads none, and the file still opens.
#[test]
fn an_fqdn_endpoint_slice_is_kept_without_addresses() {
    let c = calico_with(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ext-1, namespace: default, labels: {kubernetes.io/service-name: ext}}\naddressType: FQDN\nports: [{name: http, port: 80, protocol: TCP}]\nendpoints:\n- addresses: [example.com]\n",
    );
    let ext = c.slices.iter().find(|s| s.name == "ext-1").unwrap();
    assert!(ext.endpoints.is_empty());
    cni::build(&c, "t", "t").unwrap();
}

/// The rules a CNI writes besides its masquerade. Flannel: FLANNEL-FWD
/// accepts the pod network's forwarded packets, so a node whose FORWARD
/// policy is DROP (Docker sets it) still carries pod traffic; and a
/// pod's route to the cluster network (flannel-cni's IPAM route) wins
/// over its default route. Calico (Felix 3.29 on): a node's own packet
/// into the tunnel from an address that is not the tunnel's takes the
/// tunnel's address (cali-POSTROUTING, after kube-proxy's rules).
#[test]
fn the_cnis_own_filter_and_tunnel_rules() {
    let sc = cni::build(&cluster("flannel-vxlan"), "t", "t").unwrap();
    // flanneld makes no raw table (Felix does).
    assert!(!node8_rules(&sc).contains("*raw"));
    let mut w = World::build(&sc).unwrap();
    for drop_policy in [false, true] {
        if drop_policy {
            let mut sc = sc.clone();
            let node8 = sc.hosts.iter_mut().find(|h| h.name == "node8").unwrap();
            let text = node8.iptables.as_ref().unwrap().to_text();
            let filter = text.find("*filter").unwrap();
            let (head, tail) = text.split_at(filter);
            assert!(tail.contains(":FORWARD ACCEPT"), "{text}");
            node8.iptables = Some(packetwalk::engine::scenario::Text::One(
                head.to_string() + &tail.replacen(":FORWARD ACCEPT", ":FORWARD DROP", 1),
            ));
            w = World::build(&sc).unwrap();
        }
        let t = go(&mut w, "curl", "10.244.2.9:80", vec![]);
        assert_eq!(delivered_to(&t), "flask-ui-6c9f7d8b5d-m5vjr");
        let text = packetwalk::engine::render::table(&t);
        assert!(
            text.contains("output lookup for 10.244.2.9: 10.244.0.0/16 via 10.244.0.1 dev eth0")
                && text.contains("cache has 10.244.2.0 on flannel.1: lladdr ")
                && text.contains(", PERMANENT (the CNI's entry): no ARP asked")
                && text.contains("rule 1 matches: -A FLANNEL-FWD -s 10.244.0.0/16"),
            "{text}"
        );
    }

    // A plain datagram to flannel.1's port is the VXLAN socket's, which
    // drops it without an answer; the next port is closed.
    for (port, reason) in [(8472, DropReason::NoTunnel), (8473, DropReason::NoListener)] {
        let mut s = SimState::new(&w);
        let mut spec = SendSpec::new(
            "client:192.168.11.200",
            &format!("192.168.11.58:{port}"),
            Proto::Udp,
        );
        spec.src_port = Some(40000);
        let t = send(&mut w, &mut s, &spec).unwrap();
        let answer = match &t.steps.last().unwrap().kind {
            StepKind::Drop { response, .. } => response.is_some(),
            k => panic!("{k:?}"),
        };
        assert_eq!(
            (&t.verdict, answer),
            (
                &Verdict::Dropped {
                    ns: "node8".into(),
                    reason
                },
                port == 8473
            ),
            "{port}"
        );
    }

    // node8's own packet from its LAN address to a pod behind node54's
    // vxlan.calico: masqueraded to node8's vxlan.calico address.
    let mut w = world("calico-vxlan");
    let mut s = SimState::new(&w);
    let mut spec = SendSpec::new("node8", "172.16.3.70:80", Proto::Tcp);
    spec.src = Some("192.168.11.58".parse().unwrap());
    let t = send(&mut w, &mut s, &spec).unwrap();
    assert_eq!(delivered_to(&t), "flask-ui-6c9f7d8b5d-q8wzt");
    let nat: Vec<String> = (t.steps.iter())
        .filter_map(|st| match &st.kind {
            StepKind::Nat { before, after, .. } => {
                Some(format!("{}: {} → {}", st.ns, before.addr, after.addr))
            }
            _ => None,
        })
        .collect();
    assert_eq!(nat, ["node8: 192.168.11.58 → 172.16.225.64"]);
    let text = packetwalk::engine::render::table(&t);
    assert!(
        text.contains("rule 2 matches: -A cali-POSTROUTING -o vxlan.calico"),
        "{text}"
    );
}

/// The rule that ended a chain walk on `ns` in `table` FORWARD or INPUT:
/// the matched rule's words (`-A FORWARD … -j ACCEPT`), in order.
fn verdict_rules(t: &Trace, ns: &str) -> Vec<String> {
    (t.steps.iter())
        .filter(|s| s.ns == ns)
        .filter_map(|s| match &s.kind {
            StepKind::RuleMatch {
                table: TableName::Filter,
                rule,
                target,
                ..
            } if target == "ACCEPT" || target == "DROP" => Some(rule.text.clone()),
            _ => None,
        })
        .collect()
}

/// Felix's filter chains, with no NetworkPolicy (each namespace's profile
/// allows all): a new connection from a pod passes its `cali-fw-` chain
/// and the profile, which marks it 0x10000, and FORWARD's last rule
/// accepts it; on the other node its `cali-tw-` chain does the same; the
/// answer, ESTABLISHED, is accepted by the workload chains' first rule.
/// The tunnel's packets are let in from the cluster's nodes. A profile
/// that no longer allows (a learner's deny-all) drops the next new
/// connection in the receiving pod's chain. A pod gone from the cluster
/// takes its chains with it at the next sync.
#[test]
fn felix_policy_chains_carry_pod_traffic() {
    let sc = cni::build(&cluster("calico-ipip"), "t", "t").unwrap();
    let curl = calico_veth("ms-test", "curl");
    // The Why names what Felix's chains stand for.
    let names = cni::cni_chain_names(&cluster("calico-ipip"), "node8");
    let named = |c: &str| names.iter().find(|(n, _)| n == c).map(|(_, w)| w.clone());
    assert_eq!(
        named(&format!("cali-fw-{curl}")).as_deref(),
        Some(format!("Felix's chain for packets from pod ms-test/curl (its veth {curl}): a known connection's at once, else its policy and profiles").as_str())
    );
    assert!(
        named("cali-pro-kns.ms-test").is_some_and(|w| w.contains("namespace ms-test's profile"))
    );
    let flask54 = calico_veth("ms-test", "flask-ui-6c9f7d8b5d-q8wzt");
    let mut w = World::build(&sc).unwrap();
    let mut s = SimState::new(&w);
    let t = curl_to_flask54(&mut w, &mut s);
    let chains = t.chains();
    for want in [
        format!("node8/filter/cali-fw-{curl}"),
        "node8/filter/cali-pro-kns.ms-test".into(),
        "node54/filter/cali-INPUT".into(),
        format!("node54/filter/cali-tw-{flask54}"),
        "node54/filter/cali-pri-kns.ms-test".into(),
    ] {
        assert!(chains.contains(&want), "{want} not in {chains:?}");
    }
    let accepted = "-A FORWARD -m comment --comment \"Policy explicitly accepted packet.\" -m mark --mark 0x10000/0x10000 -j ACCEPT";
    // The tunnel's packet leaves by cali-OUTPUT's rule for the other
    // Calico hosts.
    assert_eq!(
        verdict_rules(&t, "node8"),
        [
            accepted,
            "-A cali-OUTPUT -d 192.168.11.54/32 -p ipencap -m addrtype --src-type LOCAL -m comment --comment \"Allow IPIP packets to other Calico hosts\" -j ACCEPT"
        ]
    );
    assert_eq!(
        verdict_rules(&t, "node54"),
        [
            "-A cali-INPUT -s 192.168.11.58/32 -p ipencap -m addrtype --dst-type LOCAL -m comment --comment \"Allow IPIP packets from Calico hosts\" -j ACCEPT",
            accepted
        ]
    );
    let reply = send(
        &mut w,
        &mut s,
        &packetwalk::engine::sim::reply_spec(&t).unwrap(),
    )
    .unwrap();
    assert_eq!(delivered_to(&reply), "curl");
    assert_eq!(
        verdict_rules(&reply, "node54"),
        [
            format!("-A cali-fw-{flask54} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
            "-A cali-OUTPUT -d 192.168.11.58/32 -p ipencap -m addrtype --src-type LOCAL -m comment --comment \"Allow IPIP packets to other Calico hosts\" -j ACCEPT".into()
        ]
    );

    // A deny-all profile for ms-test on node54.
    let mut denied = sc.clone();
    let node54 = denied
        .hosts
        .iter_mut()
        .find(|h| h.name == "node54")
        .unwrap();
    let text = node54.iptables.as_ref().unwrap().to_text();
    let allow = "-A cali-pri-kns.ms-test -m comment --comment \"calico: profile kns.ms-test: allow all\" -j MARK --set-xmark 0x10000/0x10000\n";
    assert!(text.contains(allow), "{text}");
    node54.iptables = Some(packetwalk::engine::scenario::Text::One(
        text.replace(allow, ""),
    ));
    let mut w = World::build(&denied).unwrap();
    let t = go(&mut w, "curl", "172.16.3.70:80", vec![]);
    assert_eq!(
        (&t.verdict, verdict_rules(&t, "node54").last().cloned()),
        (
            &Verdict::Dropped {
                ns: "node54".into(),
                reason: DropReason::Filtered
            },
            Some(format!(
                "-A cali-tw-{flask54} -m comment --comment \"Drop if no profiles matched\" -j DROP"
            ))
        )
    );

    // flask's pod on node54 goes from the cluster: its chains go too.
    let current = cluster("calico-ipip");
    let yaml = cni::cluster_yaml("calico-ipip").unwrap();
    let start = yaml.find("- addresses: [172.16.3.70]").unwrap();
    let end = start + yaml[start..].find("- addresses: [172.16.166").unwrap();
    let fewer = Cluster::from_yaml(&format!("{}{}", &yaml[..start], &yaml[end..])).unwrap();
    let (after, _) = cni::resync(Some(&current), &fewer, &sc).unwrap();
    let rules = rules_of(&after, "node54");
    assert!(!rules.contains(&flask54), "{rules}");
    assert!(
        rules.contains(
            "-A cali-from-wl-dispatch -m comment --comment \"Unknown interface\" -j DROP"
        ),
        "{rules}"
    );
}

/// The node answers ARP for its bridge's own address (a Flannel pod's
/// gateway) as for any of its addresses: its rp_filter on the bridge
/// checks the asker first, so with the route back to the pod gone (a
/// blackhole) the pod gets no answer.
#[test]
fn the_bridge_address_answers_arp_only_past_rp_filter() {
    for (rp, answered) in [(0, true), (1, false)] {
        let mut sc = cni::build(&cluster("flannel-vxlan"), "t", "t").unwrap();
        let node8 = sc.hosts.iter_mut().find(|h| h.name == "node8").unwrap();
        node8.routes = packetwalk::engine::scenario::Text::One(
            node8.routes.to_text() + "blackhole 10.244.0.5\n",
        );
        for d in node8.devices.iter_mut().filter(|d| d.name == "cni0") {
            d.rp_filter = rp;
        }
        let mut w = World::build(&sc).unwrap();
        let t = go(&mut w, "curl", "1.1.1.1:443", vec![]);
        match (&t.verdict, answered) {
            (Verdict::Left { .. }, true) => {}
            (Verdict::Dropped { ns, reason }, false) => {
                assert_eq!((ns.as_str(), *reason), ("curl", DropReason::NoNeighbour));
                let text = packetwalk::engine::render::table(&t);
                assert!(
                    text.contains("node8/cni0 checks the asker's address 10.244.0.5 first, and refuses it: reverse path filter (cni0: rp_filter = 1, strict)"),
                    "{text}"
                );
            }
            (v, _) => panic!("rp_filter {rp}: {v:?}"),
        }
    }
}

/// Felix 3.29 in VXLAN mode leaves the tunnel's UDP flows untracked (raw
/// NOTRACK): the outer packet makes no conntrack entry and walks no nat
/// chain on either node; the pods' connection is tracked as ever.
#[test]
fn calico_vxlan_tunnel_packets_are_untracked() {
    let mut w = world("calico-vxlan");
    let mut s = SimState::new(&w);
    let t = curl_to_flask54(&mut w, &mut s);
    let untracked: Vec<&str> = (t.steps.iter())
        .filter(|st| {
            matches!(&st.kind, StepKind::Conntrack(packetwalk::engine::trace::CtEvent::Lookup { state, .. }) if state.starts_with("UNTRACKED"))
        })
        .map(|st| st.ns.as_str())
        .collect();
    assert_eq!(untracked, ["node8", "node54"]);
    // `ip neigh` lists the CNI's permanent entries beside the learnt ones.
    let neigh = s.neighbours(&w, w.host("node8").unwrap());
    assert!(
        neigh
            .iter()
            .any(|l| l.contains(" dev vxlan.calico lladdr ") && l.ends_with(" PERMANENT"))
            && neigh.iter().any(|l| l.ends_with(" REACHABLE")),
        "{neigh:?}"
    );
    for node in ["node8", "node54"] {
        let h = w.host(node).unwrap();
        let listed = s.conntrack[h].list(s.clock);
        assert!(
            listed.len() == 1 && listed[0].starts_with("tcp"),
            "{node}: {listed:?}"
        );
    }
}

/// Felix's names and dispatch as Felix makes them: a profile chain name
/// too long for iptables is hashed (SHA-256, base64url: the value Felix
/// gives `kns.observability-platform`), and interfaces that share the
/// character after `cali` are dispatched through a chain of their own,
/// which packets from them pass.
#[test]
fn felix_names_and_dispatch() {
    let pods: Vec<String> = (0..6)
        .map(|i| {
            pod_yaml(
                "observability-platform",
                &format!("p{i}"),
                "node8",
                &format!("172.16.225.{}", 120 + i),
            )
        })
        .collect();
    let c = calico_with(&pods.join("---\n"));
    let sc = cni::build(&c, "t", "t").unwrap();
    let rules = node8_rules(&sc);
    assert!(
        rules.contains(":cali-pro-_S6OSp8iwaar64TDc6H - [0:0]"),
        "{rules}"
    );
    let named: Vec<(String, String)> = (0..6)
        .map(|i| ("observability-platform".to_string(), format!("p{i}")))
        .chain(["curl", "flask-ui-6c9f7d8b5d-x2k4p"].map(|p| ("ms-test".into(), p.into())))
        .map(|(ns, p)| (calico_veth(&ns, &p), p))
        .collect();
    let mut veths: Vec<String> = named.iter().map(|(v, _)| v.clone()).collect();
    veths.sort();
    let nth = |v: &str| v.chars().nth(4).unwrap();
    let shared = veths
        .iter()
        .find(|v| veths.iter().filter(|w| nth(w) == nth(v)).count() > 1)
        .expect("two of eight names share a character");
    let c4 = nth(shared);
    assert!(
        rules.contains(&format!(
            "-A cali-from-wl-dispatch -i cali{c4}+ -g cali-from-wl-dispatch-{c4}\n"
        )) && rules.contains(&format!(
            "-A cali-from-wl-dispatch-{c4} -i {shared} -g cali-fw-{shared}\n"
        )),
        "{rules}"
    );
    let pod = &named.iter().find(|(v, _)| v == shared).unwrap().1;
    let mut w = World::build(&sc).unwrap();
    let t = go(&mut w, pod, "172.16.3.70:80", vec![]);
    assert_eq!(delivered_to(&t), "flask-ui-6c9f7d8b5d-q8wzt");
    let chains = t.chains();
    assert!(
        chains.contains(&format!("node8/filter/cali-from-wl-dispatch-{c4}")),
        "{pod} {shared}: {chains:?}"
    );
}

/// Felix splits dispatch on the character after the prefix all names
/// share: three interfaces that all begin with the same five characters
/// are not split on the fifth (no `…-dispatch-3` chain when all begin
/// `cali3`), and each is dispatched to its own chain.
#[test]
fn felix_dispatch_splits_after_the_shared_prefix() {
    let flask = calico_veth("ms-test", "flask-ui-6c9f7d8b5d-q8wzt");
    let twins: Vec<String> = (0..5000)
        .map(|i| format!("t{i}"))
        .filter(|p| calico_veth("ms-test", p)[..5] == flask[..5])
        .take(2)
        .collect();
    assert_eq!(twins.len(), 2);
    let pods: Vec<String> = (twins.iter().enumerate())
        .map(|(k, p)| pod_yaml("ms-test", p, "node54", &format!("172.16.3.{}", 80 + k)))
        .collect();
    let c = calico_with(&pods.join("---\n"));
    let sc = cni::build(&c, "t", "t").unwrap();
    let rules = rules_of(&sc, "node54");
    assert!(
        !rules.contains(&format!(":cali-from-wl-dispatch-{} - ", &flask[4..5])),
        "{rules}"
    );
    for p in twins
        .iter()
        .map(String::as_str)
        .chain(["flask-ui-6c9f7d8b5d-q8wzt"])
    {
        let v = calico_veth("ms-test", p);
        assert!(
            rules.contains(&format!(" -i {v} -g cali-fw-{v}\n")),
            "{p}: {rules}"
        );
    }
}

/// The pods' MTU is the CNI's, room left for its tunnel: a pod's socket
/// sends no more than fits. `podMTU: 1500` over Flannel's VXLAN is the
/// classic misconfiguration: the pod sends 1500-byte packets, and its own
/// node refuses them at flannel.1 (1450), telling the pod the MTU.
#[test]
fn the_pods_mtu_is_the_cnis_and_a_wrong_one_meets_the_tunnels() {
    let sized = |len: u16| {
        let mut spec = SendSpec::new("curl", "10.244.1.7:80", Proto::Tcp);
        spec.payload_len = len;
        // Data goes on an open connection's segments, not on a SYN.
        spec.flags = TcpFlags::parse_list("ACK,PSH").map(TcpFlags::from_bits);
        spec
    };
    let path = format!(
        "{}/src/engine/scenarios/clusters/flannel-vxlan.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let yaml = std::fs::read_to_string(path).unwrap();
    let build = |yaml: &str| {
        let c = Cluster::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}"));
        World::build(&cni::build(&c, "t", "t").unwrap()).unwrap()
    };
    let mut w = build(&yaml);
    let mut s = SimState::new(&w);
    let t = send(&mut w, &mut s, &sized(1460)).unwrap();
    assert_eq!(dropped_in(&t), ("curl".to_string(), DropReason::TooBig));
    // 1410 fits: the segment reaches the pod (which resets it: no SYN
    // opened a connection first).
    let t = send(&mut w, &mut s, &sized(1410)).unwrap();
    let (ns, reason) = dropped_in(&t);
    assert!(
        ns.starts_with("flask-ui") && reason == DropReason::NoConnection,
        "{ns}: {reason:?}"
    );

    let wrong = yaml.replace(
        "mode: flannel-vxlan\n",
        "mode: flannel-vxlan\npodMTU: 1500\n",
    );
    assert_ne!(wrong, yaml);
    let mut w = build(&wrong);
    let mut s = SimState::new(&w);
    let t = send(&mut w, &mut s, &sized(1460)).unwrap();
    assert_eq!(
        dropped_in(&t),
        ("node8".to_string(), DropReason::FragNeeded)
    );
    match &t.steps.last().unwrap().kind {
        StepKind::Drop {
            response: Some(r), ..
        } => {
            assert_eq!(r.ip.dst.to_string(), "10.244.0.5");
            assert!(
                matches!(
                    r.transport,
                    packetwalk::engine::packet::Transport::Icmp {
                        icmp_type: 3,
                        code: 4,
                        seq: 1450,
                        ..
                    }
                ),
                "{:?}",
                r.transport
            );
        }
        k => panic!("{k:?}"),
    }
    // An MTU the kernel would refuse is said at its line.
    let e = Cluster::from_yaml(
        &yaml.replace("mode: flannel-vxlan\n", "mode: flannel-vxlan\npodMTU: 20\n"),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("podMTU: expected an MTU from 68 to 65535, found 20"),
        "{e}"
    );
}

/// `-m physdev` as Linux 6.18 did it in a netns (a bridge with two
/// veth ports and a routed veth, bridge-nf-call-iptables = 1, each option
/// and its negation counted in FORWARD): a bridged frame has both ports;
/// a frame that came in by a port and is routed on has the port in but
/// none out, and `--physdev-out` fails then with `!` or without; a packet
/// that came in by no bridge port fails every option unless negated.
/// Here on Flannel's cni0 (kube-router's network policy writes
/// `--physdev-is-bridged` rules on k3s, which uses Flannel).
#[test]
fn physdev_sees_the_bridge_ports_as_the_kernel_does() {
    let curl = cni::bridge_veth("ms-test", "curl");
    let web = cni::bridge_veth("ms-test", "flask-ui-6c9f7d8b5d-x2k4p");
    let tests = [
        "--physdev-is-bridged".to_string(),
        "! --physdev-is-bridged".into(),
        "--physdev-is-in".into(),
        "! --physdev-is-in".into(),
        "--physdev-is-out".into(),
        "! --physdev-is-out".into(),
        format!("--physdev-in {curl}"),
        format!("! --physdev-in {curl}"),
        format!("--physdev-out {web}"),
        format!("! --physdev-out {web}"),
        "--physdev-out veth+".into(),
        "! --physdev-out nosuch".into(),
    ];
    let c = Cluster::from_yaml(cni::cluster_yaml("flannel-vxlan").unwrap()).unwrap();
    let mut sc = cni::build(&c, "flannel-vxlan", "t").unwrap();
    let node = sc.hosts.iter_mut().find(|h| h.name == "node8").unwrap();
    let text = node.iptables.as_ref().unwrap().to_text();
    // The counting rules first in filter FORWARD (no target: they count).
    let at = text.find("*filter\n").unwrap();
    let first = at + text[at..].find("\n-A FORWARD ").unwrap() + 1;
    let ours: String = (tests.iter())
        .map(|t| format!("-A FORWARD -m physdev {t}\n"))
        .collect();
    node.iptables = Some(Text::One(format!(
        "{}{ours}{}",
        &text[..first],
        &text[first..]
    )));
    let mut w = World::build(&sc).unwrap_or_else(|e| panic!("{e}"));
    let mut s = SimState::new(&w);
    let pod_on_node8 = vec![Force {
        host: "node8".into(),
        table: TableName::Nat,
        chain: format!(
            "KUBE-SVC-{}",
            port_proto_hash("ms-test/flask-ui:http", "tcp")
        ),
        rule: 2,
        matched: true,
    }];
    for (what, from, to, force, matched) in [
        (
            "bridged: curl to the pod beside it",
            "curl",
            "10.244.0.12:80",
            vec![],
            vec![1, 3, 5, 7, 9, 11, 12],
        ),
        (
            "in by a port, routed to another node",
            "curl",
            "10.244.1.7:80",
            vec![],
            vec![2, 3, 6, 7],
        ),
        (
            "in by ens33 to a NodePort, no bridge port",
            "client",
            "192.168.11.58:30080",
            pod_on_node8,
            vec![2, 4, 6, 8, 10, 12],
        ),
    ] {
        let mut spec = SendSpec::new(from, to, Proto::Tcp);
        spec.force = force;
        let t = send(&mut w, &mut s, &spec).unwrap();
        let got: Vec<usize> = (t.steps.iter())
            .filter_map(|st| match &st.kind {
                StepKind::RuleMatch {
                    table: TableName::Filter,
                    chain,
                    rule,
                    ..
                } if chain == "FORWARD" && st.ns == "node8" && rule.index <= tests.len() => {
                    Some(rule.index)
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            got,
            matched,
            "{what}:\n{}",
            packetwalk::engine::render::table(&t)
        );
    }
    // The kernel refuses a port out in OUTPUT, but for bridged frames.
    let out = |rule: &str| {
        let text = format!("*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m physdev {rule}\nCOMMIT\n");
        packetwalk::engine::iptables::save::parse(&text)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert!(out("--physdev-out eth0")
        .unwrap_err()
        .contains("--physdev-out works in FORWARD and POSTROUTING only"));
    assert!(out("--physdev-is-out").is_err());
    assert_eq!(out("--physdev-is-bridged --physdev-out eth0"), Ok(()));
    assert_eq!(out("--physdev-in eth0"), Ok(()));
    assert!(out("")
        .unwrap_err()
        .contains("PHYSDEV: no physdev option specified"));
}

/// A real cluster's `kubectl get pods -A -o yaml` holds pods on their
/// node's own network (kube-proxy's, calico-node's): they are the node's
/// processes, not pods with a veth, and the cluster builds as without them.
/// Two pods of one address are refused at the second (before, one of the
/// two /32 routes silently went).
#[test]
fn host_network_pods_are_the_nodes_and_an_address_is_given_once() {
    let host_pods = "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-proxy-x1, namespace: kube-system}\nspec: {nodeName: node8, hostNetwork: true}\nstatus: {podIP: 192.168.11.58}\n---\n\
        apiVersion: v1\nkind: Pod\nmetadata: {name: calico-node-x2, namespace: kube-system}\nspec: {nodeName: node8}\nstatus: {podIP: 192.168.11.58}\n";
    let with = cni::build(&calico_with(host_pods), "t", "t").unwrap_or_else(|e| panic!("{e}"));
    let without = cni::build(&cluster("calico-ipip"), "t", "t").unwrap();
    assert_eq!(with.hosts.len(), without.hosts.len());
    assert_eq!(
        with.host("node8").unwrap().routes.to_text(),
        without.host("node8").unwrap().routes.to_text()
    );
    let twin = "apiVersion: v1\nkind: Pod\nmetadata: {name: curl2, namespace: default}\nspec: {nodeName: node8}\nstatus: {podIP: 172.16.225.101}\n";
    let e = cni::build(&calico_with(twin), "t", "t")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pod default/curl2 has address 172.16.225.101, as pod ")
            && e.contains("the CNI gives each pod an address of its own"),
        "{e}"
    );
    // A node's address is a host's (0.0.0.0 was taken, and routes went
    // `via 0.0.0.0`).
    let zero = "apiVersion: v1\nkind: Node\nmetadata: {name: node99}\nspec: {podCIDR: 172.16.99.0/26}\nstatus:\n  addresses:\n  - {type: InternalIP, address: 0.0.0.0}\n";
    let e = cni::build(&calico_with(zero), "t", "t")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("node node99's InternalIP 0.0.0.0 is not a host's address"),
        "{e}"
    );
}
