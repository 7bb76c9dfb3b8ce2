//! The `packetwalk` command line, as an operator runs it.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_packetwalk"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn tmp(name: &str, text: &str) -> String {
    let p = std::env::temp_dir().join(format!("packetwalk-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn trace_prints_the_articles_path() {
    let (code, out, err) = run(&[
        "trace",
        "--scenario",
        "article",
        "--from",
        "client:192.168.11.200",
        "--to",
        "flask-ui",
    ]);
    assert_eq!(code, 0, "{err}");
    let pos = |s: &str| {
        out.find(s)
            .unwrap_or_else(|| panic!("{s} missing from\n{out}"))
    };
    // The chain path in order, then the DNAT, then the veth.
    assert!(pos("jump to KUBE-SERVICES") < pos("jump to KUBE-SVC-7RUAH544RSSBQYKK"));
    assert!(pos("jump to KUBE-SVC-7RUAH544RSSBQYKK") < pos("jump to KUBE-SEP-IWORYNCAYHBSQHXU"));
    assert!(
        pos("jump to KUBE-SEP-IWORYNCAYHBSQHXU")
            < pos("DNAT destination 10.96.100.10:80 → 172.16.225.112:80")
    );
    assert!(pos("DNAT destination") < pos("transmitted on cali71ca141a178"));
    assert!(out.contains("verdict: delivered in flask-ui-6c9f7d8b5d-x2k4p"));
}

#[test]
fn trace_remote_shows_tunl0_encapsulation() {
    let (code, out, err) = run(&[
        "trace",
        "--scenario",
        "article-remote",
        "--from",
        "client:192.168.11.200",
        "--to",
        "ms-test/flask-ui",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("tunl0 encapsulates (IPIP): outer 192.168.11.58 → 192.168.11.54"),
        "{out}"
    );
    assert!(
        out.contains("tunl0 decapsulates: outer 192.168.11.58 → 192.168.11.54 removed"),
        "{out}"
    );
    assert!(out.contains("verdict: delivered in flask-ui-6c9f7d8b5d-r8w2n"));
}

#[test]
fn trace_json_is_the_documented_shape() {
    let (code, out, _) = run(&[
        "trace",
        "--from",
        "client:192.168.11.200",
        "--to",
        "flask-ui",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["verdict"]["verdict"], "delivered");
    let nat = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "nat")
        .unwrap();
    assert_eq!(nat["after"]["addr"], "172.16.225.112");
    assert_eq!(nat["packet"]["ip"]["dst"], "172.16.225.112");
}

#[test]
fn scenarios_are_listed() {
    let (code, out, _) = run(&["scenarios"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("article "), "{out}");
    assert!(out.contains("(default)"));
    assert!(out.contains("article-remote"));
    // A reader that closes the pipe at once (`| head -0`) stops the output
    // quietly: no panic, no backtrace.
    let mut child = Command::new(env!("CARGO_BIN_EXE_packetwalk"))
        .args([
            "trace",
            "--scenario",
            "calico-ipip",
            "--from",
            "curl",
            "--to",
            "flask-ui",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.is_empty(),
        "{:?} {err}",
        out.status
    );
}

#[test]
fn check_locates_errors_and_fails() {
    let bad = tmp("bad.rules", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m nosuch -j ACCEPT\n-A INPUT -s 10.1.1.1/40 -j DROP\nCOMMIT\n");
    let (code, out, err) = run(&["check", &bad]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains(&format!("{bad}:3:13: unknown match \"nosuch\"")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{bad}:4:13: prefix length /40 is larger than 32")),
        "{err}"
    );
    let routes = tmp("routes.txt", "Kernel IP routing table\nDestination Gateway Genmask Flags Metric Ref Use Iface\n0.0.0.0 192.168.11.1 0.0.0.0 UG 100 0 0 ens33\n172.16.225.64 0.0.0.0 255.255.255.192 U 0 0 0 *\n");
    let (code, out, _) = run(&["check", &routes]);
    assert_eq!((code, out.trim()), (0, "routes: 2 routes, valid"));
    let json = tmp("s.json", "{\"name\": 1}");
    let (code, _, err) = run(&["check", &json]);
    assert_eq!(code, 1);
    assert!(err.contains(":1:"), "{err}");
    // What check tells apart: a marked file, another routing table's
    // routes, Kubernetes YAML.
    let cases = [
        (
            "bom.routes",
            "\u{feff}10.0.0.0/24 dev eth0\n10.9.0.0/16 via 10.0.0.9 dev eth0 table cali\n",
            0,
            "routes: 1 route, valid; 1 route (line 2) left out: a table named in the node's /etc/iproute2/rt_tables",
        ),
        (
            "rules.routes",
            "10.0.0.0/24 dev eth0\n10.9.0.0/16 via 10.0.0.9 dev eth0 table 100\n100:\tfrom 10.0.0.5 lookup 100\n",
            0,
            "routes: 2 routes and 4 ip rules, valid; ip rule: these rules join the 3 every namespace has (0: local, 32766: main, 32767: default), as after ip rule add",
        ),
        (
            "k.yaml",
            "apiVersion: v1\nkind: Service\n",
            1,
            "this is Kubernetes YAML: give it to `packetwalk generate --cluster`",
        ),
        ("empty.rules", " \n\n", 0, "the file is empty: as iptables-save output, a host without rules"),
        // Lines that end in CR alone: one line, a comment, to the parser.
        (
            "mac.rules",
            "# Generated by iptables-save\r*filter\r:INPUT ACCEPT [0:0]\rCOMMIT\r",
            1,
            ":1:29: a carriage return (CR) inside the line: the text's lines end in CR alone",
        ),
        (
            "nbsp.rules",
            "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING\u{a0}-d 10.1.1.1 -j ACCEPT\nCOMMIT\n",
            1,
            ":3:4: no chain \"PREROUTING\u{a0}-d\" in table nat; column 14 holds a non-breaking space (U+00A0)",
        ),
        (
            "zw.routes",
            "10.0.0.0/24 dev eth0\u{200b} scope link\n",
            1,
            ":1:21: an invisible zero-width character (U+200B)",
        ),
    ];
    for (name, text, want_code, says) in cases {
        let f = tmp(name, text);
        let (code, out, err) = run(&["check", &f]);
        assert!(
            code == want_code && (out.contains(says) || err.contains(says)),
            "{name}: {code} {out} {err}"
        );
    }
}

#[test]
fn a_real_nodes_dump_can_be_replayed() {
    // An operator's own rules and routes replace node8's.
    let rules = tmp(
        "node.rules",
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.96.100.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 172.16.225.112:80\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    );
    let (code, out, err) = run(&[
        "trace",
        "--from",
        "client:192.168.11.200",
        "--to",
        "flask-ui",
        "--rules",
        &rules,
        "--node",
        "node8",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chain FORWARD policy DROP"), "{out}");
    assert!(out.contains("verdict: dropped in node8"), "{out}");
    let (code, _, err) = run(&["trace", "--from", "nobody", "--to", "flask-ui"]);
    assert_eq!(code, 2);
    assert!(err.contains("no host named \"nobody\""));
}

/// `--force` takes the branch it names, and says what is wrong with one
/// that names no `statistic --mode random` rule (before, such a force
/// changed nothing, silently).
#[test]
fn a_forced_branch_is_taken() {
    let svc = "node8/nat/KUBE-SVC-IIC4K3ASDJPLM6AE";
    let trace = |force: &[String]| {
        let mut args = vec![
            "trace",
            "--scenario",
            "calico-ipip",
            "--from",
            "curl",
            "--to",
            "ms-test/flask-ui",
        ];
        for f in force {
            args.extend(["--force", f.as_str()]);
        }
        run(&args)
    };
    let mut pods = Vec::new();
    for force in [
        vec![format!("{svc}/2=yes")],
        vec![format!("{svc}/2=no"), format!("{svc}/3=yes")],
        vec![format!("{svc}/2=no"), format!("{svc}/3=no")],
    ] {
        let (code, out, err) = trace(&force);
        assert_eq!(code, 0, "{err}");
        let pod = out
            .lines()
            .find_map(|l| l.strip_prefix("verdict: delivered in "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_else(|| panic!("{force:?}: {out}"));
        pods.push(pod.to_string());
    }
    pods.sort();
    pods.dedup();
    assert_eq!(pods.len(), 3, "{pods:?}");
    for (force, says) in [
        (
            "nonsense".to_string(),
            "expected HOST/TABLE/CHAIN/RULE=yes|no",
        ),
        ("nohost/nat/X/1=yes".into(), "there is no host nohost"),
        (
            "node8/nat/NOPE/1=yes".into(),
            "node8 has no chain NOPE in its nat table",
        ),
        (
            format!("{svc}/99=yes"),
            "KUBE-SVC-IIC4K3ASDJPLM6AE has 4 rules, not a rule 99",
        ),
        (
            format!("{svc}/1=yes"),
            "rule 1 of KUBE-SVC-IIC4K3ASDJPLM6AE has no statistic --mode random match to force",
        ),
    ] {
        let (code, _, err) = trace(std::slice::from_ref(&force));
        assert_eq!(code, 2, "{force}");
        assert!(
            err.contains(&format!("--force {force}")) && err.contains(says),
            "{err}"
        );
    }
}

/// An operator's node alone: its `iptables-save` and the article's `route -n`
/// listing, with devices inferred from the routes.
#[test]
fn replay_a_node_from_its_own_dumps() {
    let sc = packetwalk::engine::scenario::builtin("article").unwrap();
    let rules = sc
        .host("node8")
        .unwrap()
        .iptables
        .as_ref()
        .unwrap()
        .to_text();
    let rules = tmp("replay.rules", &rules);
    let routes = tmp(
        "replay.routes",
        "Kernel IP routing table
Destination     Gateway         Genmask          Flags Metric Ref Use Iface
0.0.0.0         192.168.11.1    0.0.0.0          UG    100    0   0 ens33
172.16.3.64     192.168.11.54   255.255.255.192  UG    0      0   0 tunl0
172.16.225.64   0.0.0.0         255.255.255.192  U     0      0   0 *
172.16.225.112  0.0.0.0         255.255.255.255  UH    0      0   0 cali71ca141a178
192.168.11.0    0.0.0.0         255.255.255.0    U     100    0   0 ens33
",
    );
    // route -n has no source addresses: the client's subnet is unknown.
    let (code, _, err) = run(&[
        "trace",
        "--from",
        "client:192.168.11.200",
        "--to",
        "10.96.100.10:80",
        "--rules",
        &rules,
        "--routes",
        &routes,
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("client 192.168.11.200 is on none of the node's connected subnets"),
        "{err}"
    );
    // With `ip route` output the node's address is known.
    let ip_routes = tmp(
        "replay.iproute",
        "default via 192.168.11.1 dev ens33 proto static metric 100\n172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink\nblackhole 172.16.225.64/26 proto bird\n172.16.225.112 dev cali71ca141a178 scope link\n192.168.11.0/24 dev ens33 proto kernel scope link src 192.168.11.58 metric 100\n",
    );
    // One packet from `from` to `to` through the node replayed from
    // `rules` and the `ip route` listing, with more options.
    let replay = |from: &str, to: &str, rules: &str, more: &[&str]| {
        let mut args = vec![
            "trace", "--from", from, "--to", to, "--rules", rules, "--routes", &ip_routes,
        ];
        args.extend(more);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{from} → {to}: {err}");
        out
    };
    let out = replay("client:192.168.11.200", "10.96.100.10:80", &rules, &[]);
    assert!(
        out.contains("DNAT destination 10.96.100.10:80 → 172.16.225.112:80"),
        "{out}"
    );
    // The pod the DNAT sends to stands behind its veth and answers.
    assert!(
        out.contains("verdict: delivered in pod-172.16.225.112 to tcp listening on 0.0.0.0:80"),
        "{out}"
    );
    let out = replay("client:192.168.11.200", "172.16.3.70:80", &rules, &[]);
    assert!(
        out.contains("tunl0 encapsulates (IPIP): outer 192.168.11.58 → 192.168.11.54"),
        "{out}"
    );
    // A reply to a packet that left the scenario says so.
    let (code, _, err) = run(&[
        "trace",
        "--from",
        "client:192.168.11.200",
        "--to",
        "172.16.3.70:80",
        "--rules",
        &rules,
        "--routes",
        &ip_routes,
        "--then",
        "reply",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the packet before left the scenario on"),
        "{err}"
    );
    // A pod behind a cali veth sends too: it sits at the veth's far end.
    let pod_out = replay("client:172.16.225.112", "172.16.3.70:80", &rules, &[]);
    for said in [
        "172.16.225.112 is a pod behind the node's cali71ca141a178",
        "received on cali71ca141a178 from client/eth0",
        "tunl0 encapsulates (IPIP): outer 192.168.11.58 → 192.168.11.54",
    ] {
        assert!(pod_out.contains(said), "{said}: {pod_out}");
    }
    // A spoofed source (--src) meets Calico's raw rpfilter rule.
    let rpf = tmp(
        "replay-rpf.rules",
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -m rpfilter --invert -j DROP\nCOMMIT\n",
    );
    for (src, verdict) in [
        ("172.16.225.112", "verdict: left the scenario"),
        ("172.16.9.9", "verdict: dropped in node"),
    ] {
        let out = replay(
            "client:172.16.225.112",
            "192.168.11.54:22",
            &rpf,
            &["--src", src],
        );
        assert!(out.contains(verdict), "from {src}: {out}");
    }
    // With --json the notes go to stderr: stdout stays one document.
    let json = replay(
        "client:192.168.11.200",
        "172.16.3.70:80",
        &rules,
        &["--json"],
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
        "{json}"
    );
    // `ip route` alone leaves tunl0's /32 out (only the local table has
    // it): the trace says so first.
    assert!(
        out.starts_with(
            "note: tunl0 has no address in this listing (a tunnel's /32 is only in the local table"
        ),
        "{out}"
    );
}

/// A packet to a Service port goes with that port's protocol unless
/// `--proto` says otherwise (a DNS port is UDP).
#[test]
fn a_service_ports_protocol_is_the_default() {
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/engine/scenarios/clusters/calico-ipip.yaml"
    ))
    .unwrap()
        + "---\nkind: Service\nmetadata: {name: dns, namespace: kube-system}\nspec:\n  clusterIP: 10.96.0.10\n  ports: [{name: dns, port: 53, protocol: UDP}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: dns-1, namespace: kube-system, labels: {kubernetes.io/service-name: dns}}\naddressType: IPv4\nports: [{name: dns, port: 53, protocol: UDP}]\nendpoints:\n- addresses: [172.16.3.72]\n  nodeName: node54\n";
    let file = tmp("dns-cluster.yaml", &yaml);
    let curl_to = |to: &str, more: &[&str]| {
        let mut args = vec!["trace", "--cluster", &file, "--from", "curl", "--to", to];
        args.extend(more);
        run(&args)
    };
    let (code, out, err) = curl_to("kube-system/dns:dns", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("10.96.0.10:53 udp"), "{out}");
    assert!(out.contains("verdict: delivered"), "{out}");
    let (_, out, _) = curl_to("10.96.0.10:53", &[]);
    assert!(
        out.contains("10.96.0.10:53 udp"),
        "by its cluster IP and port too: {out}"
    );
    let (_, out, _) = curl_to("kube-system/dns:dns", &["--proto", "tcp"]);
    assert!(out.contains("10.96.0.10:53 tcp"), "{out}");
}

/// --then sends more packets on the state the ones before left: the
/// handshake, a reset, and the SYN that reopens the connection.
#[test]
fn then_sends_packets_on_the_same_state() {
    let (code, out, err) = run(&[
        "trace",
        "--from",
        "client:192.168.11.200",
        "--to",
        "flask-ui",
        "--sport",
        "40000",
        "--then",
        "reply",
        "--then",
        "reply",
        "--then",
        "again:RST",
        "--then",
        "again:SYN",
    ]);
    assert_eq!(code, 0, "{err}");
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("== packet")).collect();
    assert_eq!(headers.len(), 5, "{out}");
    let states: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("node8") && l.contains("lookup: tcp"))
        .collect();
    assert!(
        states[0].ends_with("is NEW; TCP state SYN_SENT")
            && states[1].contains("ESTABLISHED, reply direction"),
        "{states:?}"
    );
    assert!(
        states[3].contains("TCP state ESTABLISHED → CLOSE")
            && states[4].contains("is NEW (a SYN on a closed connection"),
        "{states:?}"
    );
    // Other flags are the connection's next segment: the server's reset
    // after its SYN-ACK starts at the SYN-ACK's end (what the client
    // expects; the SYN-ACK's own number would be discarded, RFC 5961).
    let args: Vec<&str> =
        "trace --from client:192.168.11.200 --to flask-ui --then reply --then again:RST,ACK"
            .split(' ')
            .collect();
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let last = out.lines().rfind(|l| l.starts_with("verdict:")).unwrap();
    assert!(last.contains("the reset ends the connection"), "{out}");
    let (code, _, err) = run(&[
        "trace", "--from", "node8", "--to", "flask-ui", "--then", "sideways",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--then sideways: use reply, again, again:FLAGS"),
        "{err}"
    );
    // A wait lets conntrack's timeouts run: the SYN's entry (120 s) is
    // listed with what it has left, then gone.
    for (then, code, said) in [
        ("wait:100", 0, "tcp      6 20 SYN_SENT"),
        (
            "wait:120",
            0,
            "== conntrack -L after the last packet (the seconds each connection has left)\n",
        ),
        (
            "wait:0",
            2,
            "--then wait:0: wait takes a number of seconds from 1 to 864000",
        ),
        (
            "wait:soon",
            2,
            "--then wait:soon: wait takes a number of seconds",
        ),
    ] {
        let (c, out, err) = run(&[
            "trace",
            "--from",
            "client:192.168.11.200",
            "--to",
            "flask-ui",
            "--then",
            then,
        ]);
        assert_eq!(c, code, "{then}: {err}");
        let text = if code == 0 { &out } else { &err };
        assert!(text.contains(said), "{then}: {text}");
        if then == "wait:120" {
            assert!(!out.contains("SYN_SENT src="), "{out}");
        }
    }
    // The handshake's last ACK gets no answer; a refused packet's answer
    // is the kernel's, followed back; a TTL runs out at node8.
    let cases: [(&[&str], i32, &str); 3] = [
        (
            &[
                "--to", "flask-ui", "--then", "reply", "--then", "reply", "--then", "reply",
            ],
            2,
            "--then reply (number 3): the packet before is a bare ACK, which TCP does not answer",
        ),
        (
            &[
                "--to",
                "ms-test/flask-api",
                "--from",
                "curl-7d4b9c6f5-qm2lx",
                "--then",
                "reply",
            ],
            0,
            "its connect() fails with ECONNREFUSED (Connection refused)",
        ),
        (
            &["--to", "flask-ui", "--ttl", "1", "--then", "reply"],
            0,
            "its connect() fails with EHOSTUNREACH (No route to host)",
        ),
    ];
    for (args, want_code, want) in cases {
        let mut all = vec!["trace"];
        if !args.contains(&"--from") {
            all.extend(["--from", "client:192.168.11.200"]);
        }
        all.extend_from_slice(args);
        let (code, out, err) = run(&all);
        assert_eq!(code, want_code, "{args:?}: {err}");
        assert!(
            out.contains(want) || err.contains(want),
            "{args:?}: {out}{err}"
        );
    }
}

/// A replay of an EKS node's `ip route show table all; ip rule`: a pod
/// on the secondary ENI (its veth eni…) leaves by that ENI, by its own
/// table, as rule 1536 says; a pod on the primary ENI goes by main.
#[test]
fn replay_routes_by_the_nodes_ip_rules() {
    let routes = format!("{}/tests/data/eks-node.routes", env!("CARGO_MANIFEST_DIR"));
    for (from, said, left) in [
        (
            "client:10.0.100.6",
            "input lookup for 8.8.8.8 by rule 1536: default via 10.0.96.1 dev eth1 table 2",
            "verdict: left the scenario from node on eth1 toward 10.0.96.1",
        ),
        (
            "client:10.0.100.5",
            "input lookup for 8.8.8.8 by rule 32766: default via 10.0.96.1 dev eth0",
            "verdict: left the scenario from node on eth0 toward 10.0.96.1",
        ),
    ] {
        let (code, out, err) = run(&[
            "trace",
            "--from",
            from,
            "--to",
            "8.8.8.8:443",
            "--routes",
            &routes,
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(said) && out.contains(left), "{from}: {out}");
    }
}

/// The AWS VPC CNI's CONNMARK story, replayed from an EKS node's own
/// dumps as an EKS helper's kernel run had them: a NodePort connection
/// gets the mark 0x80 on eth0, DNAT sends it to a pod on the secondary
/// ENI (which stands behind its veth and answers), and the pod's answer
/// gets the mark back and leaves by main's route (rule 1024), the way it
/// came; without the restore rule it leaves by the pod's ENI table (rule
/// 1536), as the kernel did.
#[test]
fn replay_an_eks_nodes_connmark_answer() {
    let routes = format!("{}/tests/data/eks-node.routes", env!("CARGO_MANIFEST_DIR"));
    let rules = |restore: bool| {
        let restore = if restore {
            "-A PREROUTING -i eni+ -m comment --comment \"AWS, primary ENI\" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80\n"
        } else {
            ""
        };
        tmp(
            if restore.is_empty() { "eks-norestore.rules" } else { "eks.rules" },
            &format!("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A PREROUTING -i eth0 -m comment --comment \"AWS, primary ENI\" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80\n{restore}COMMIT\n\
*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 30080 -m addrtype --dst-type LOCAL -j DNAT --to-destination 10.0.100.6:80\nCOMMIT\n"),
        )
    };
    for (restore, said) in [
        (
            true,
            "input lookup for 10.0.97.99 by rule 1024: 10.0.96.0/19 dev eth0",
        ),
        (
            false,
            "input lookup for 10.0.97.99 by rule 1536: default via 10.0.96.1 dev eth1 table 2",
        ),
    ] {
        let rules = rules(restore);
        let (code, out, err) = run(&[
            "trace",
            "--from",
            "client:10.0.97.99",
            "--to",
            "10.0.97.10:30080",
            "--rules",
            &rules,
            "--routes",
            &routes,
            "--then",
            "reply",
        ]);
        assert_eq!(code, 0, "{err}");
        let answer = out.split("== packet 2: reply").nth(1).unwrap_or_default();
        assert!(
            out.contains("verdict: delivered in pod-10.0.100.6 to tcp listening on 0.0.0.0:80"),
            "{out}"
        );
        assert!(answer.contains(said), "restore {restore}: {said}: {answer}");
    }
}

/// An EKS-like node's own dumps, as an EKS helper's Linux 6.18 network
/// namespaces printed them (the VPC CNI's mangle and nat rules, its ip
/// rules, a NodePort DNAT to a pod on the secondary ENI): each packet
/// leaves as the kernel sent it. A pod's outbound connection gets the
/// mark 0x80 in nat PREROUTING (AWS-CONNMARK-CHAIN-0), so it leaves by
/// main's route (rule 1024), SNATed to the primary ENI's address; a
/// NodePort answer is restored the mark and leaves by eth0 too.
#[test]
fn an_eks_nodes_own_dumps_replay_as_the_kernel_sent() {
    let data = |f: &str| format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"));
    let (rules, routes) = (data("eks-node.iptables-save"), data("eks-node.routes"));
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--from", "client:10.0.100.6", "--to", "8.8.8.8:443"],
            &[
                "input lookup for 8.8.8.8 by rule 1024: default via 10.0.96.1 dev eth0",
                "SNAT source 10.0.100.6:42361 → 10.0.97.10:",
                "verdict: left the scenario from node on eth0 toward 10.0.96.1",
            ],
        ),
        (
            &[
                "--from",
                "client:10.0.97.99",
                "--to",
                "10.0.97.10:30080",
                "--then",
                "reply",
            ],
            &[
                "input lookup for 10.0.100.6 by rule 512: 10.0.100.6 dev enibbbbbbbbbbb",
                "input lookup for 10.0.97.99 by rule 1024: 10.0.96.0/19 dev eth0",
                "verdict: delivered in client to the tcp socket 10.0.97.99:42361",
            ],
        ),
    ];
    for (args, said) in cases {
        let mut all = vec!["trace", "--rules", &rules, "--routes", &routes];
        all.extend_from_slice(args);
        let (code, out, err) = run(&all);
        assert_eq!(code, 0, "{args:?}: {err}");
        for s in *said {
            assert!(out.contains(s), "{args:?}: {s}: {out}");
        }
    }
}

/// A replay's pods listen where the DNAT rules send: a rule's port, or
/// the one sent to for a rule that keeps it; `! -p tcp` is UDP; each
/// address of a DNAT range that a /32 route puts behind a veth.
#[test]
fn a_replays_pods_listen_where_the_dnat_rules_send() {
    let routes = tmp(
        "pods.routes",
        "default via 10.0.0.1 dev eth0\n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.10\n\
10.1.0.5 dev cali1 scope link\n10.1.0.6 dev cali2 scope link\n10.1.0.7 dev cali3 scope link\n",
    );
    let rules = tmp(
        "pods.rules",
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.1.0.5:80\n\
-A PREROUTING -p tcp -m tcp --dport 30443 -j DNAT --to-destination 10.1.0.5:443\n\
-A PREROUTING ! -p tcp -j DNAT --to-destination 10.1.0.6\n\
-A PREROUTING -p tcp -m tcp --dport 8000 -j DNAT --to-destination 10.1.0.6-10.1.0.7:8080\nCOMMIT\n",
    );
    let (code, out, err) = run(&[
        "trace",
        "--from",
        "client:10.0.0.20",
        "--to",
        "10.0.0.10:53",
        "--proto",
        "udp",
        "--rules",
        &rules,
        "--routes",
        &routes,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"verdict\""), "{out}");
    assert!(
        err.contains("pod-10.1.0.5 behind cali1 (tcp 80, tcp 443); pod-10.1.0.6 behind cali2 (tcp 8080, udp 53); pod-10.1.0.7 behind cali3 (tcp 8080)"),
        "{err}"
    );
}
