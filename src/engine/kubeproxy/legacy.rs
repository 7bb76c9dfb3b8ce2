//! kube-proxy's rule layout of the article's time (release 1.18, before
//! the KUBE-EXT- chains, the partial syncs of 1.26, and the RETURN/xor-mark
//! KUBE-POSTROUTING that kubernetes PR 92035 brought in June 2020: 1.19
//! has it, and 1.16-1.18 patch releases got it):
//!
//! - KUBE-SERVICES itself marks off-cluster traffic to a ClusterIP for
//!   masquerade (`! -s <cluster CIDR> … -j KUBE-MARK-MASQ`) before the jump;
//! - the KUBE-SVC- rules carry the Service port's name as comment
//!   (`ms-test/flask-ui:http`), not `… -> IP:port`;
//! - NodePorts with `externalTrafficPolicy: Cluster` are marked in
//!   KUBE-NODEPORTS; `Local` goes through a KUBE-XLB- chain;
//! - KUBE-POSTROUTING masquerades marked packets in one rule, and kubelet's
//!   KUBE-MARK-DROP / KUBE-FIREWALL drop what is marked 0x8000;
//! - KUBE-FORWARD accepts established traffic from and to the pod network.
//!
//! This layout is written from the structure of that release's
//! `proxier.go` as remembered and as countless dumps of the time show it;
//! no copy of that source or its tests is reachable here to compare with
//! byte for byte (the current layout in `mod.rs` is checked against
//! kube-proxy's own test vectors). Only full syncs existed then.

use super::{
    categorize, commented, endpoint_chain, endpoints_of, port_proto_hash, quoted, service_ports,
    Config, Line, Origin, Restore,
};
use crate::engine::k8s::Cluster;

fn text_line(text: String, origin: &Origin) -> Line {
    Line {
        text,
        origin: origin.clone(),
    }
}

fn line(words: &[&str], origin: &Origin) -> Line {
    Line {
        text: words.join(" "),
        origin: origin.clone(),
    }
}

/// One full sync in the 1.18 layout on a node whose nat table holds
/// `existing` chains: kube-proxy's own that are no longer used are deleted.
pub fn generate_on(cluster: &Cluster, cfg: &Config, existing: &[String]) -> Restore {
    let mut r = generate(cluster, cfg);
    let ours = ["KUBE-SVC-", "KUBE-SEP-", "KUBE-FW-", "KUBE-XLB-"];
    for c in existing {
        if ours.iter().any(|p| c.starts_with(p)) && !r.nat_chains.contains(c) {
            r.nat_chains.push(c.clone());
            r.nat_rules.push(Line {
                text: format!("-X {c}"),
                origin: Origin::default(),
            });
        }
    }
    r
}

/// One full sync in the 1.18 layout.
pub fn generate(cluster: &Cluster, cfg: &Config) -> Restore {
    let mut r = Restore {
        full: true,
        ..Restore::default()
    };
    let fixed = Origin::default();
    let mark = format!("{}/{}", cfg.masquerade_mark, cfg.masquerade_mark);
    r.filter_chains
        .extend(["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD"].map(String::from));
    r.nat_chains.extend(
        [
            "KUBE-SERVICES",
            "KUBE-NODEPORTS",
            "KUBE-POSTROUTING",
            "KUBE-MARK-MASQ",
        ]
        .map(String::from),
    );
    let mut masq = vec![
        "-A",
        "KUBE-POSTROUTING",
        "-m",
        "comment",
        "--comment",
        "\"kubernetes service traffic requiring SNAT\"",
        "-m",
        "mark",
        "--mark",
        &mark,
        "-j",
        "MASQUERADE",
    ];
    if cfg.random_fully {
        masq.push("--random-fully");
    }
    r.nat_rules.push(line(&masq, &fixed));
    r.nat_rules.push(line(
        &["-A", "KUBE-MARK-MASQ", "-j", "MARK", "--set-xmark", &mark],
        &fixed,
    ));
    let not_pods = cfg.local_detector.map(|c| c.to_string());

    for mut sp in service_ports(cluster, cfg.ipv6) {
        // internalTrafficPolicy came in 1.21: that release ignores it.
        sp.internal_policy_local = false;
        let eps = endpoints_of(cluster, &sp, cfg);
        // That release knew ready endpoints only.
        let ready: Vec<_> = eps.into_iter().filter(|e| e.ready).collect();
        let cat = categorize(&ready, &sp, cfg);
        let name = sp.name_string();
        let proto = sp.protocol.lower();
        let hash = port_proto_hash(&name, proto);
        let svc = format!("KUBE-SVC-{hash}");
        let xlb = format!("KUBE-XLB-{hash}");
        let fw = format!("KUBE-FW-{hash}");
        let origin = Origin {
            service_port: name.clone(),
            endpoint: None,
        };
        let has = !cat.cluster.is_empty();
        let local_policy = sp.external_policy_local;
        let port = sp.port.to_string();
        let cip = format!("{}/32", sp.cluster_ip);
        if has {
            r.nat_chains.push(svc.clone());
        }
        if local_policy && sp.externally_accessible() {
            r.nat_chains.push(xlb.clone());
        }
        let capture = |r: &mut Restore, dst: &str, what: &str, target: &str| {
            let c = quoted(format_args!("{name} {what}"));
            let rule = |tail: &str| {
                let m = format_args!("-m {proto} -p {proto} -d {dst} --dport {port} {tail}");
                text_line(commented("KUBE-SERVICES", &c, m), &origin)
            };
            if cfg.masquerade_all {
                r.nat_rules.push(rule("-j KUBE-MARK-MASQ"));
            } else if let Some(cidr) = &not_pods {
                r.nat_rules
                    .push(rule(&format!("! -s {cidr} -j KUBE-MARK-MASQ")));
            }
            r.nat_rules.push(rule(&format!("-j {target}")));
        };
        if has {
            capture(&mut r, &cip, "cluster IP", &svc);
        } else {
            let c = quoted(format_args!("{name} has no endpoints"));
            r.filter_rules.push(text_line(
                commented(
                    "KUBE-SERVICES",
                    &c,
                    format_args!("-m {proto} -p {proto} -d {cip} --dport {port} -j REJECT"),
                ),
                &origin,
            ));
        }
        for ip in &sp.external_ips {
            let dst = format!("{ip}/32");
            if has {
                // Traffic to an external IP is masqueraded whoever sends it
                // (Cluster policy), or kept for the XLB chain (Local).
                let c = quoted(format_args!("{name} external IP"));
                let rule = |target: &str| {
                    let m =
                        format_args!("-m {proto} -p {proto} -d {dst} --dport {port} -j {target}");
                    text_line(commented("KUBE-SERVICES", &c, m), &origin)
                };
                if !local_policy {
                    r.nat_rules.push(rule("KUBE-MARK-MASQ"));
                }
                r.nat_rules
                    .push(rule(if local_policy { &xlb } else { &svc }));
            } else {
                let c = quoted(format_args!("{name} has no endpoints"));
                r.filter_rules.push(text_line(
                    commented(
                        "KUBE-EXTERNAL-SERVICES",
                        &c,
                        format_args!("-m {proto} -p {proto} -d {dst} --dport {port} -j REJECT"),
                    ),
                    &origin,
                ));
            }
        }
        for ip in &sp.lb_vips {
            let dst = format!("{ip}/32");
            if !has {
                let c = quoted(format_args!("{name} has no endpoints"));
                r.filter_rules.push(text_line(
                    commented(
                        "KUBE-EXTERNAL-SERVICES",
                        &c,
                        format_args!("-m {proto} -p {proto} -d {dst} --dport {port} -j REJECT"),
                    ),
                    &origin,
                ));
                continue;
            }
            if !r.nat_chains.contains(&fw) {
                r.nat_chains.push(fw.clone());
            }
            let c = quoted(format_args!("{name} loadbalancer IP"));
            r.nat_rules.push(text_line(
                commented(
                    "KUBE-SERVICES",
                    &c,
                    format_args!("-m {proto} -p {proto} -d {dst} --dport {port} -j {fw}"),
                ),
                &origin,
            ));
        }
        if has && !sp.lb_vips.is_empty() {
            let c = quoted(format_args!("{name} loadbalancer IP"));
            let target = if local_policy { &xlb } else { &svc };
            if sp.source_ranges.is_empty() {
                if !local_policy {
                    r.nat_rules
                        .push(text_line(commented(&fw, &c, "-j KUBE-MARK-MASQ"), &origin));
                }
                r.nat_rules.push(line(
                    &["-A", &fw, "-m", "comment", "--comment", &c, "-j", target],
                    &origin,
                ));
            } else {
                let mut from_node = false;
                for cidr in &sp.source_ranges {
                    let s = cidr.to_string();
                    if !local_policy {
                        r.nat_rules.push(text_line(
                            commented(&fw, &c, format_args!("-s {s} -j KUBE-MARK-MASQ")),
                            &origin,
                        ));
                    }
                    r.nat_rules.push(text_line(
                        commented(&fw, &c, format_args!("-s {s} -j {target}")),
                        &origin,
                    ));
                    from_node |= cidr.contains(&cfg.node_ip);
                }
                // A range that holds the node's own address lets the node
                // reach its load balancer: its packets come from the
                // ingress IP (1.18's allowFromNode).
                if from_node {
                    for vip in &sp.lb_vips {
                        r.nat_rules.push(text_line(
                            commented(&fw, &c, format_args!("-s {vip}/32 -j {target}")),
                            &origin,
                        ));
                    }
                }
            }
            r.nat_rules
                .push(text_line(commented(&fw, &c, "-j KUBE-MARK-DROP"), &origin));
        }
        if sp.node_port != 0 {
            let np = sp.node_port.to_string();
            if has {
                let base = [
                    "-A",
                    "KUBE-NODEPORTS",
                    "-m",
                    "comment",
                    "--comment",
                    &name,
                    "-m",
                    proto,
                    "-p",
                    proto,
                    "--dport",
                    &np,
                ];
                if !local_policy {
                    let mut w = base.to_vec();
                    w.extend(["-j", "KUBE-MARK-MASQ"]);
                    r.nat_rules.push(line(&w, &origin));
                    let mut w = base.to_vec();
                    w.extend(["-j", &svc]);
                    r.nat_rules.push(line(&w, &origin));
                } else {
                    let mut w = base.to_vec();
                    w.extend(["-s", "127.0.0.0/8", "-j", "KUBE-MARK-MASQ"]);
                    r.nat_rules.push(line(&w, &origin));
                    let mut w = base.to_vec();
                    w.extend(["-j", &xlb]);
                    r.nat_rules.push(line(&w, &origin));
                }
            } else {
                let c = quoted(format_args!("{name} has no endpoints"));
                r.filter_rules.push(text_line(commented("KUBE-EXTERNAL-SERVICES", &c, format_args!("-m addrtype --dst-type LOCAL -m {proto} -p {proto} --dport {np} -j REJECT")), &origin));
            }
        }
        if !has {
            continue;
        }
        // The service chain: affinity first, then the balancing rules.
        let chains: Vec<(String, String)> = cat
            .cluster
            .iter()
            .map(|e| (e.text(), endpoint_chain(&name, proto, &e.text())))
            .collect();
        let eo = |t: &str| Origin {
            service_port: name.clone(),
            endpoint: Some(t.to_string()),
        };
        if let Some(secs) = sp.sticky {
            let secs = secs.to_string();
            for (t, c) in &chains {
                r.nat_rules.push(text_line(
                    commented(
                        &svc,
                        &name,
                        format_args!(
                            "-m recent --name {c} --rcheck --seconds {secs} --reap -j {c}"
                        ),
                    ),
                    &eo(t),
                ));
            }
        }
        let n = chains.len();
        for (i, (t, c)) in chains.iter().enumerate() {
            let mut w = vec!["-A", svc.as_str(), "-m", "comment", "--comment", &name];
            let p = super::probability_text(n - i);
            if i + 1 < n {
                w.extend(["-m", "statistic", "--mode", "random", "--probability", &p]);
            }
            w.extend(["-j", c]);
            r.nat_rules.push(line(&w, &eo(t)));
        }
        for e in &cat.cluster {
            let t = e.text();
            let c = endpoint_chain(&name, proto, &t);
            r.nat_chains.push(c.clone());
            let src = format!("{}/32", e.ip);
            r.nat_rules.push(text_line(
                commented(&c, &name, format_args!("-s {src} -j KUBE-MARK-MASQ")),
                &eo(&t),
            ));
            let mut w = vec!["-A", c.as_str(), "-m", "comment", "--comment", &name];
            if sp.sticky.is_some() {
                w.extend(["-m", "recent", "--name", &c, "--set"]);
            }
            w.extend([
                "-m",
                proto,
                "-p",
                proto,
                "-j",
                "DNAT",
                "--to-destination",
                &t,
            ]);
            r.nat_rules.push(line(&w, &eo(&t)));
        }
        if local_policy && sp.externally_accessible() {
            if let Some(cidr) = &not_pods {
                r.nat_rules.push(text_line(format!("-A {} -m comment --comment \"Redirect pods trying to reach external loadbalancer VIP to clusterIP\" -s {} -j {}", &xlb, cidr, &svc), &origin));
            }
            let c = quoted(format_args!("masquerade LOCAL traffic for {name} LB IP"));
            r.nat_rules.push(text_line(
                commented(&xlb, &c, "-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ"),
                &origin,
            ));
            let c = quoted(format_args!(
                "route LOCAL traffic for {name} LB IP to service chain"
            ));
            r.nat_rules.push(text_line(
                commented(
                    &xlb,
                    &c,
                    format_args!("-m addrtype --src-type LOCAL -j {svc}"),
                ),
                &origin,
            ));
            if cat.local.is_empty() {
                let c = quoted(format_args!("{name} has no local endpoints"));
                r.nat_rules
                    .push(text_line(commented(&xlb, &c, "-j KUBE-MARK-DROP"), &origin));
            } else {
                let n = cat.local.len();
                for (i, e) in cat.local.iter().enumerate() {
                    let t = e.text();
                    let c = endpoint_chain(&name, proto, &t);
                    let cm = quoted(format_args!("Balancing rule {i} for {name}"));
                    let mut w = vec!["-A", xlb.as_str(), "-m", "comment", "--comment", &cm];
                    let p = super::probability_text(n - i);
                    if i + 1 < n {
                        w.extend(["-m", "statistic", "--mode", "random", "--probability", &p]);
                    }
                    w.extend(["-j", &c]);
                    r.nat_rules.push(line(&w, &eo(&t)));
                }
            }
        }
    }
    r.nat_rules.push(text_line("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS".to_string(), &fixed));
    r.filter_rules.push(text_line(
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP".to_string(),
        &fixed,
    ));
    r.filter_rules.push(text_line(format!("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark {} -j ACCEPT", &mark), &fixed));
    if let Some(cidr) = &not_pods {
        r.filter_rules.push(text_line(format!("-A KUBE-FORWARD -s {} -m comment --comment \"kubernetes forwarding conntrack pod source rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", cidr), &fixed));
        r.filter_rules.push(text_line(format!("-A KUBE-FORWARD -d {} -m comment --comment \"kubernetes forwarding conntrack pod destination rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", cidr), &fixed));
    }
    r
}

/// The rules kube-proxy and kubelet of that time put in the built-in chains
/// (and kubelet's KUBE-MARK-DROP and KUBE-FIREWALL), prepended in this
/// order.
pub const JUMPS: [(&str, &str, &str); 9] = [
    ("filter", "INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES"),
    ("filter", "INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("filter", "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("filter", "FORWARD", "-m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"),
    ("filter", "OUTPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("nat", "PREROUTING", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("nat", "OUTPUT", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("nat", "POSTROUTING", "-m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"),
    ("filter", "INPUT", "-j KUBE-FIREWALL"),
];

/// kubelet's chains of that time, as restore text.
pub const KUBELET: &str = "*nat\n:KUBE-MARK-DROP - [0:0]\n-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000\nCOMMIT\n*filter\n:KUBE-FIREWALL - [0:0]\n-A KUBE-FIREWALL -m comment --comment \"kubernetes firewall for dropping marked packets\" -m mark --mark 0x8000/0x8000 -j DROP\nCOMMIT\n";
