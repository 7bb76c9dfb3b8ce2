//! kube-proxy's own expectations (`shared/vectors/kube-proxy`, converted from
//! `pkg/proxy/iptables/proxier_test.go`): for every case, the generated
//! restore input equals the expected dump after kube-proxy's normalisation,
//! the listed chains hold exactly the listed rules, and packets traced the
//! way kube-proxy's test tracer traces them reach the expected endpoints.
//!
//! The vectors are copied in `tests/data/vectors/kube-proxy` (its README says where
//! they come from); `PACKETWALK_VECTORS` points elsewhere. Without them
//! these tests fail: they must not pass vacuously.

use packetwalk::engine::k8s::Cluster;
use packetwalk::engine::kubeproxy::save::Kernel;
use packetwalk::engine::kubeproxy::{sort, Config, Proxier, Restore};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    let p = std::env::var("PACKETWALK_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors/kube-proxy")
        });
    assert!(
        p.join("README.md").exists(),
        "kube-proxy vectors not found at {}",
        p.display()
    );
    p
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The nearest `proxier.yaml` at or above `dir`.
fn config_for(dir: &Path, root: &Path) -> Config {
    let mut d = dir.to_path_buf();
    loop {
        let f = d.join("proxier.yaml");
        if f.exists() {
            return Config::from_yaml(&read(&f)).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        }
        if d == root || !d.pop() {
            return Config::default();
        }
    }
}

/// Every directory holding a `cluster.yaml`, sorted.
fn scenarios(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.join("cluster.yaml").exists() {
                out.push(p.clone());
            }
            scenarios(&p, out);
        }
    }
}

/// Steps of one test share a proxier: `step1-…`, `step2-…` or `steps/NN-…`.
/// The objects and configuration of vector `dir`, and the proxier and
/// kernel it runs on: steps of one test share them, one after the other.
fn vector_run<'a>(
    dir: &Path,
    root: &Path,
    proxiers: &'a mut BTreeMap<PathBuf, (Proxier, Kernel)>,
) -> (Cluster, Config, &'a mut (Proxier, Kernel)) {
    let cluster = Cluster::from_yaml(&read(&dir.join("cluster.yaml")))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let config = config_for(dir, root);
    let key = if is_step(dir) {
        dir.parent().unwrap().to_path_buf()
    } else {
        dir.to_path_buf()
    };
    let run = proxiers
        .entry(key)
        .or_insert_with(|| (Proxier::new(config.clone()), Kernel::default()));
    if dir.ends_with("09-full-resync-after-failed-partial-sync") {
        run.0.force_full_sync();
    }
    (cluster, config, run)
}

fn is_step(p: &Path) -> bool {
    let name = p.file_name().unwrap().to_string_lossy();
    name.starts_with("step") || p.parent().is_some_and(|d| d.ends_with("steps"))
}

/// The rules of a table as `(chain, raw rule)` in order, from restore or
/// `iptables-save` text.
fn chains_of(text: &str, table: &str) -> Vec<(String, String)> {
    let mut cur = String::new();
    let mut out = Vec::new();
    for l in text.lines() {
        if let Some(t) = l.strip_prefix('*') {
            cur = t.to_string();
        } else if cur == table {
            if let Some(rest) = l.strip_prefix("-A ") {
                let chain = rest.split(' ').next().unwrap().to_string();
                out.push((chain, l.to_string()));
            }
        }
    }
    out
}

// ---- kube-proxy's test tracer (README: "The packet tracer") ----

const LOCAL: [&str; 7] = [
    "127.0.0.1",
    "::1",
    "192.168.0.2",
    "192.168.1.2",
    "192.168.99.11",
    "2001:db8::1",
    "2001:db8:1::2",
];

struct Packet<'a> {
    src: &'a str,
    dst: String,
    proto: &'a str,
    port: String,
}

/// The words of a rule the way the test's parser reads them: quoted strings
/// are one word; an unquoted comment is its first word.
fn words(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in rule.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn addr_matches(spec: &str, addr: &str) -> bool {
    if spec.contains('/') {
        let (Ok(net), Ok(a)) = (
            spec.parse::<ipnet::IpNet>(),
            addr.parse::<std::net::IpAddr>(),
        ) else {
            return false;
        };
        net.contains(&a)
    } else {
        spec == addr
    }
}

struct Walk<'a> {
    rules: &'a BTreeMap<(String, String), Vec<String>>,
    outputs: Vec<String>,
    masq: bool,
}

impl Walk<'_> {
    /// Runs a chain; true when it terminated.
    fn run(&mut self, table: &str, chain: &str, p: &Packet, depth: usize) -> bool {
        assert!(depth < 100, "the tracer looped in {chain}");
        let Some(rules) = self.rules.get(&(table.to_string(), chain.to_string())) else {
            return false;
        };
        for rule in rules.clone() {
            let w = words(&rule);
            let Some(j) = w.iter().position(|x| x == "-j") else {
                continue;
            };
            let target = w[j + 1].clone();
            let mut ok = true;
            let mut neg = false;
            let mut has_prob = false;
            let mut i = 2;
            while i < w.len() {
                let (opt, val) = (
                    w[i].as_str(),
                    w.get(i + 1).map(String::as_str).unwrap_or(""),
                );
                let hit = match opt {
                    "!" => {
                        neg = true;
                        i += 1;
                        continue;
                    }
                    "-s" => Some(addr_matches(val, p.src)),
                    "-d" => Some(addr_matches(val, &p.dst)),
                    "--src-type" => Some(val == "LOCAL" && LOCAL.contains(&p.src)),
                    "--dst-type" => Some(val == "LOCAL" && LOCAL.contains(&p.dst.as_str())),
                    "-p" => Some(val == p.proto),
                    "--dport" => Some(val == p.port),
                    "--rcheck" | "--mark" | "--ctstate" => Some(neg), // never matches
                    "--probability" => {
                        has_prob = true;
                        None
                    }
                    _ => None,
                };
                if let Some(h) = hit {
                    if h == neg {
                        ok = false;
                    }
                }
                neg = false;
                i += 1;
            }
            if !ok {
                continue;
            }
            match target.as_str() {
                "KUBE-MARK-MASQ" => self.masq = true,
                "ACCEPT" | "REJECT" | "DROP" => {
                    self.outputs.push(target.clone());
                    return true;
                }
                "DNAT" => {
                    let t = w.iter().position(|x| x == "--to-destination").unwrap();
                    self.outputs.push(w[t + 1].clone());
                    return true;
                }
                chain => {
                    if self.run(table, chain, p, depth + 1) && !has_prob {
                        return true;
                    }
                }
            }
        }
        false
    }
}

fn trace(text: &str, flow: &Value) -> (String, bool) {
    let mut rules: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for table in ["filter", "nat"] {
        for (chain, rule) in chains_of(text, table) {
            rules.entry((table.into(), chain)).or_default().push(rule);
        }
    }
    let mut p = Packet {
        src: flow["source_ip"].as_str().unwrap(),
        dst: flow["dest_ip"].as_str().unwrap().to_string(),
        proto: flow["protocol"].as_str().unwrap(),
        port: flow["dest_port"].to_string(),
    };
    let mut w = Walk {
        rules: &rules,
        outputs: Vec::new(),
        masq: false,
    };
    w.run("nat", "PREROUTING", &p, 0);
    if let Some(first) = w.outputs.first() {
        p.dst = first.split(':').next().unwrap().to_string();
    }
    for c in [
        "KUBE-SERVICES",
        "KUBE-EXTERNAL-SERVICES",
        "KUBE-NODEPORTS",
        "KUBE-PROXY-FIREWALL",
    ] {
        w.run("filter", c, &p, 0);
    }
    (w.outputs.join(", "), w.masq)
}

fn check_flows(dir: &Path, rules_text: &str) -> usize {
    let f = dir.join("flows.json");
    if !f.exists() {
        return 0;
    }
    let flows: Value = serde_json::from_str(&read(&f)).unwrap();
    let flows = flows.as_array().unwrap();
    for flow in flows {
        let got = trace(rules_text, flow);
        let want = (
            flow["output"].as_str().unwrap().to_string(),
            flow["masq"].as_bool().unwrap(),
        );
        assert_eq!(got, want, "{}: flow {:?}", dir.display(), flow["name"]);
    }
    flows.len()
}

// ---- the tests ----

/// The rules a node holds after these syncs, as the tracer reads them: the
/// restore inputs applied with `--noflush` on top of kube-proxy's jump rules.
fn node_rules(kernel: &Kernel) -> String {
    kernel.save()
}

#[test]
fn generated_rules_match_every_vector() {
    let root = vectors();
    let mut dirs = Vec::new();
    scenarios(&root, &mut dirs);
    assert!(dirs.len() >= 40, "only {} scenarios found", dirs.len());

    let mut proxiers: BTreeMap<PathBuf, (Proxier, Kernel)> = BTreeMap::new();
    let (mut dumps, mut chains, mut flows, mut asserts) = (0, 0, 0, 0);
    for dir in &dirs {
        let (cluster, _, (proxier, kernel)) = vector_run(dir, &root, &mut proxiers);
        let restore: Restore = proxier.sync(&cluster);
        kernel
            .apply(&restore)
            .unwrap_or_else(|e| panic!("{}: the kernel refuses the restore: {e}", dir.display()));
        let text = restore.text();

        let expected = dir.join("expected.iptables-save");
        if expected.exists() {
            let got = sort::normalise(&text).unwrap();
            let want = read(&expected);
            assert!(
                got == want,
                "{}:\n--- got\n{got}\n--- want\n{want}",
                dir.display()
            );
            dumps += 1;
        }
        let ec = dir.join("expected_chains.json");
        if ec.exists() {
            let list: Value = serde_json::from_str(&read(&ec)).unwrap();
            for c in list.as_array().unwrap() {
                let (table, chain) = (c["table"].as_str().unwrap(), c["chain"].as_str().unwrap());
                let got: Vec<String> = chains_of(&text, table)
                    .into_iter()
                    .filter(|(ch, _)| ch == chain)
                    .map(|(_, r)| r)
                    .collect();
                let want: Vec<String> = c["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(got, want, "{}: {table} {chain}", dir.display());
                chains += 1;
            }
        }
        let ea = dir.join("expected_assertions.json");
        if ea.exists() {
            let list: Value = serde_json::from_str(&read(&ea)).unwrap();
            for a in list.as_array().unwrap() {
                let (table, chain) = (a["table"].as_str().unwrap(), a["chain"].as_str().unwrap());
                let dst = a["rule_with_destination"].as_str().unwrap();
                let present = chains_of(&text, table).iter().any(|(ch, r)| {
                    ch == chain && words(r).windows(2).any(|w| w[0] == "-d" && w[1] == dst)
                });
                assert_eq!(
                    present,
                    a["present"].as_bool().unwrap(),
                    "{}: -d {dst} in {chain}",
                    dir.display()
                );
                asserts += 1;
            }
        }
        flows += check_flows(dir, &node_rules(kernel));
    }
    eprintln!("{dumps} dumps, {chains} chains, {flows} flows, {asserts} assertions");
    assert!(dumps >= 10 && chains >= 10 && flows >= 150 && asserts >= 3);
}

#[test]
fn the_test_tracer_reproduces_kube_proxys_trace_packet_vector() {
    let dir = vectors().join("trace_packet");
    let n = check_flows(&dir, &read(&dir.join("rules.iptables-save")));
    assert_eq!(n, 7);
}

#[test]
fn the_normaliser_matches_kube_proxys_sort_vectors() {
    let root = vectors().join("sort_iptables_rules");
    let mut n = 0;
    for e in fs::read_dir(&root).unwrap().flatten() {
        let d = e.path();
        if d.join("input.iptables-save").exists() {
            let got = sort::normalise(&read(&d.join("input.iptables-save"))).unwrap();
            assert_eq!(
                got,
                read(&d.join("output.iptables-save")),
                "{}",
                d.display()
            );
            n += 1;
        }
    }
    assert_eq!(n, 4);
}

/// What `iptables-save` shows on a node after kube-proxy's full sync of the
/// overall vector, compared line for line with what the kernel printed
/// (`scripts/kernel_save.sh`, iptables 1.8.9 nf_tables; the nfacct matches
/// left out, as the kernel needs the counters to exist first).
#[test]
fn the_iptables_save_form_is_what_the_kernel_prints() {
    let restore = read(&vectors().join("overall_iptables_rules/expected.iptables-save"));
    let restore: String = restore
        .lines()
        .map(|l| {
            l.replace(" -m nfacct --nfacct-name ct_state_invalid_dropped_pkts", "")
                .replace(" -m nfacct --nfacct-name localhost_nps_accepted_pkts", "")
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let mut k = Kernel::default();
    k.apply_text(true, &restore).unwrap();
    let ours: Vec<String> = k
        .save()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let kernel_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kernel-overall.iptables-save");
    let theirs: Vec<String> = read(&kernel_file).lines().map(str::to_string).collect();
    assert_eq!(ours.len(), theirs.len(), "line counts");
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b);
    }
}

// ---- the same flows through Packet Walk's own netfilter ----

mod engine_walk {
    use packetwalk::engine::iptables::eval::{run_hook, Env, Facts, Outcome, RuleAt};
    use packetwalk::engine::iptables::rule::{addrtype, ctstate, Recent};
    use packetwalk::engine::iptables::{save, Hook, TableName};
    use packetwalk::engine::packet::{Ipv4Header, Packet, Proto, TcpFlags, Transport};
    use std::net::Ipv4Addr;

    /// The node's addresses (the tracer's LOCAL set) and the outcomes to
    /// give `statistic` rules in turn: `false` for the first `skip` draws,
    /// then `true`.
    struct Node {
        local: Vec<Ipv4Addr>,
        skip: usize,
        draws: usize,
    }
    impl Facts for Node {
        fn addr_type(&self, a: Ipv4Addr, _: Option<&str>) -> u16 {
            if self.local.contains(&a) || a.is_loopback() {
                addrtype::LOCAL
            } else {
                addrtype::UNICAST
            }
        }
        fn ct_state(&self) -> u8 {
            ctstate::NEW
        }
    }
    impl Env for Node {
        fn draw(&mut self, _: RuleAt) -> (u32, Option<bool>) {
            self.draws += 1;
            (0, Some(self.draws > self.skip))
        }
        fn nth(&mut self, _: RuleAt, _: usize, _: u32, _: u32) -> bool {
            false
        }
        fn recent(&mut self, _: &Recent, _: Ipv4Addr, _: bool) -> bool {
            false
        }
        fn count(&mut self, _: RuleAt, _: u64) {}
    }

    fn packet(src: Ipv4Addr, dst: Ipv4Addr, proto: &str, port: u16) -> Packet {
        let (protocol, transport) = match proto {
            "udp" => (
                Proto::Udp,
                Transport::Udp {
                    src_port: 40000,
                    dst_port: port,
                },
            ),
            _ => (
                Proto::Tcp,
                Transport::Tcp {
                    src_port: 40000,
                    dst_port: port,
                    flags: TcpFlags::SYN,
                    seq: 1,
                    ack: 0,
                },
            ),
        };
        Packet {
            outer: vec![],
            ip: Ipv4Header {
                src,
                dst,
                ttl: 64,
                protocol,
                id: 1,
                df: true,
                total_len: 40,
                vxlan: None,
            },
            transport,
            payload_len: 0,
            mark: 0,
            iif: Some("eth0".into()),
            oif: None,
            physin: None,
            physout: None,
        }
    }

    /// Every endpoint nat PREROUTING can DNAT this packet to (forcing each
    /// `statistic` branch in turn), and whether it was marked for
    /// masquerade on the way to the first.
    pub fn endpoints(
        rules: &str,
        src: &str,
        dst: &str,
        proto: &str,
        port: u16,
    ) -> Option<(Vec<String>, bool)> {
        let (Ok(src), Ok(dst)) = (src.parse::<Ipv4Addr>(), dst.parse::<Ipv4Addr>()) else {
            return None; // IPv6: the simulator is IPv4
        };
        if proto == "sctp" {
            return None; // the simulator sends no SCTP packets (its rules parse)
        }
        let rs = save::parse(rules)
            .unwrap_or_else(|e| panic!("the engine refuses the node's rules: {e}"));
        let nat = rs.table(TableName::Nat)?;
        let local = ["127.0.0.1", "192.168.0.2", "192.168.1.2", "192.168.99.11"]
            .map(|a| a.parse().unwrap())
            .to_vec();
        let (mut out, mut masq) = (Vec::new(), None);
        for skip in 0..64 {
            let mut env = Node {
                local: local.clone(),
                skip,
                draws: 0,
            };
            let mut pkt = packet(src, dst, proto, port);
            let outcome = run_hook(
                nat,
                Hook::Prerouting,
                &mut pkt,
                &mut env,
                "node",
                &mut Vec::new(),
            );
            masq.get_or_insert(pkt.mark & 0x4000 != 0);
            if let Outcome::Dnat(r, _) = outcome {
                let (a, _) = r.addr.unwrap();
                let text = format!("{a}:{}", r.ports.map(|p| p.0).unwrap_or(port));
                if !out.contains(&text) {
                    out.push(text);
                }
            }
            if env.draws <= skip {
                break; // past the last statistic rule: every branch seen
            }
        }
        Some((out, masq.unwrap_or(false)))
    }
}

/// The flows of every IPv4 vector again, through the simulator's own
/// netfilter over the node's `iptables-save` form: nat PREROUTING DNATs to
/// exactly the endpoints kube-proxy's test expects (each `statistic`
/// branch forced in turn), marks for masquerade when the test expects it,
/// and DNATs nothing when the test expects REJECT, DROP or nothing.
#[test]
fn the_simulators_netfilter_reaches_the_endpoints_each_vector_expects() {
    let root = vectors();
    let mut dirs = Vec::new();
    scenarios(&root, &mut dirs);
    let mut proxiers: BTreeMap<PathBuf, (Proxier, Kernel)> = BTreeMap::new();
    let mut checked = 0;
    for dir in &dirs {
        let (cluster, config, (proxier, kernel)) = vector_run(dir, &root, &mut proxiers);
        kernel.apply(&proxier.sync(&cluster)).unwrap();
        let f = dir.join("flows.json");
        if config.ipv6 || !f.exists() {
            continue;
        }
        let rules = kernel.save();
        let flows: Value = serde_json::from_str(&read(&f)).unwrap();
        for flow in flows.as_array().unwrap() {
            let want = flow["output"].as_str().unwrap();
            let Some((got, masq)) = engine_walk::endpoints(
                &rules,
                flow["source_ip"].as_str().unwrap(),
                flow["dest_ip"].as_str().unwrap(),
                flow["protocol"].as_str().unwrap(),
                flow["dest_port"].as_u64().unwrap() as u16,
            ) else {
                continue;
            };
            let what = format!("{}: flow {:?}", dir.display(), flow["name"]);
            if want.is_empty() || want == "REJECT" || want == "DROP" || want == "ACCEPT" {
                assert!(
                    got.is_empty(),
                    "{what}: DNAT to {got:?}, the test expects {want:?}"
                );
            } else {
                assert_eq!(got.join(", "), want, "{what}");
                assert_eq!(
                    masq,
                    flow["masq"].as_bool().unwrap(),
                    "{what}: masquerade mark"
                );
            }
            checked += 1;
        }
    }
    eprintln!("{checked} flows through the simulator's netfilter");
    assert!(checked >= 100, "only {checked}");
}
