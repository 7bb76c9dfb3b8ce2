//! Synthetic kube-proxy (iptables mode) rulesets for the benchmarks.
//!
//! [`generate`] returns the text `iptables-save` (1.8.x, nf_tables) prints on a node
//! whose kube-proxy runs in iptables mode, in the layout and line formats of
//! `shared/tools/gen_kube_rules.py` with its default options:
//!
//! * mangle: `KUBE-IPTABLES-HINT` and the kubelet / kube-proxy canary chains;
//! * filter: `KUBE-PROXY-FIREWALL`, `KUBE-NODEPORTS` (health-check ports),
//!   `KUBE-EXTERNAL-SERVICES`, `KUBE-FIREWALL`, `KUBE-FORWARD` and `KUBE-SERVICES` with a
//!   "has no endpoints" REJECT per service without endpoints;
//! * nat: `KUBE-SERVICES` -> `KUBE-SVC-<hash>` -> `KUBE-SEP-<hash>` (DNAT), `KUBE-MARK-MASQ`,
//!   `KUBE-POSTROUTING`, `KUBE-NODEPORTS` -> `KUBE-EXT-<hash>`, `KUBE-SVL-<hash>` for
//!   externalTrafficPolicy=Local, `-m statistic` for multi-endpoint services and
//!   `-m recent` for sessionAffinity=ClientIP.
//!
//! Besides `services` user services (one port each) every dump has default/kubernetes and
//! kube-system/kube-dns (three ports). Above 1000 endpoints in total the per-endpoint
//! comments are left out, like kube-proxy's large-cluster mode.
//!
//! The output is deterministic for a given seed but not byte-identical to the Python
//! generator: it draws from splitmix64 instead of Python's Mersenne Twister, and chain
//! names hash the same text with FNV-1a instead of SHA-256 (still 16 base32 characters).

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

/// The default `--service-node-port-range`.
const NODEPORT_MIN: u16 = 30000;
const NODEPORT_MAX: u16 = 32767;

/// Fractions of user services with each feature (the Python generator's defaults).
const NODEPORT_FRAC: f64 = 0.05;
const LB_FRAC: f64 = 0.01;
const LOCAL_FRAC: f64 = 0.5;
const AFFINITY_FRAC: f64 = 0.01;
const NOEP_FRAC: f64 = 0.01;
const UDP_FRAC: f64 = 0.02;

/// kube-proxy's largeClusterEndpointsThreshold.
const LARGE_CLUSTER_ENDPOINTS: usize = 1000;

/// Service CIDR 10.96.0.0/12.
const SVC_NET: u32 = Ipv4Addr::new(10, 96, 0, 0).to_bits();
const SVC_NET_SIZE: u32 = 1 << 20;
/// Pod CIDR 10.0.0.0/14: one /24 per node, so at most 1024 nodes.
const CLUSTER_CIDR: &str = "10.0.0.0/14";
const POD_NET: u32 = Ipv4Addr::new(10, 0, 0, 0).to_bits();
const MAX_NODES: usize = 1024;
/// Load balancer pool 203.0.113.0/24.
const LB_NET: u32 = Ipv4Addr::new(203, 0, 113, 0).to_bits();
const LB_NET_SIZE: usize = 256;
/// This node's IP, the API server's endpoint.
const NODE_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 10);

/// Timestamp in the header comments.
const STAMP: &str = "Mon Jan  1 00:00:00 2024";

#[rustfmt::skip]
const NS_WORDS: &[&str] = &[
    "payments", "checkout", "search", "auth", "billing", "catalog", "orders", "inventory",
    "shipping", "users", "gateway", "monitoring", "logging", "ingress", "data", "ml",
    "analytics", "notifications", "media", "reports", "platform", "identity", "cart", "pricing",
    "recommendations", "fraud", "ledger", "support", "partners", "mobile",
];
#[rustfmt::skip]
const SVC_WORDS: &[&str] = &[
    "api", "web", "worker", "grpc", "cache", "db", "frontend", "backend", "proxy", "queue",
    "scheduler", "indexer", "exporter", "collector", "redis", "postgres", "kafka", "elastic",
    "admin", "internal", "public", "sync", "stream", "batch", "edge", "store", "reader",
    "writer", "controller", "webhook",
];

/// A service port: (name, port, targetPort, protocol); an empty name is an unnamed port.
type PortKind = (&'static str, u16, u16, &'static str);

const PORT_KINDS: &[PortKind] = &[
    ("http", 80, 8080, "tcp"),
    ("https", 443, 8443, "tcp"),
    ("grpc", 9090, 9090, "tcp"),
    ("metrics", 9100, 9100, "tcp"),
    ("http", 8080, 8080, "tcp"),
    ("redis", 6379, 6379, "tcp"),
    ("postgres", 5432, 5432, "tcp"),
    ("", 80, 80, "tcp"),
    ("", 8080, 8080, "tcp"),
    ("web", 3000, 3000, "tcp"),
];
const UDP_PORT_KINDS: &[PortKind] = &[("syslog", 514, 5514, "udp"), ("statsd", 8125, 8125, "udp")];

/// Returns the dump for `services` user services with `endpoints` endpoints each (the
/// ones that have endpoints at all), as `iptables-save` prints it.
pub fn generate(services: usize, endpoints: usize, seed: u64) -> String {
    let cluster = Cluster::build(services, endpoints, seed);
    let mut filter = Table::new(
        "filter",
        &["INPUT", "FORWARD", "OUTPUT"],
        &[
            "KUBE-EXTERNAL-SERVICES",
            "KUBE-FIREWALL",
            "KUBE-FORWARD",
            "KUBE-KUBELET-CANARY",
            "KUBE-NODEPORTS",
            "KUBE-PROXY-CANARY",
            "KUBE-PROXY-FIREWALL",
            "KUBE-SERVICES",
        ],
    );
    let mut nat = Table::new(
        "nat",
        &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        &[
            "KUBE-KUBELET-CANARY",
            "KUBE-MARK-MASQ",
            "KUBE-NODEPORTS",
            "KUBE-POSTROUTING",
            "KUBE-PROXY-CANARY",
            "KUBE-SERVICES",
        ],
    );
    let mangle = Table::new(
        "mangle",
        &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        &[
            "KUBE-IPTABLES-HINT",
            "KUBE-KUBELET-CANARY",
            "KUBE-PROXY-CANARY",
        ],
    );

    let lb_firewall = r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL"#;
    let portals = r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#;
    let external = r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES"#;
    filter.push_all(
        "INPUT",
        &[
            lb_firewall,
            r#"-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS"#,
            external,
            "-j KUBE-FIREWALL",
        ],
    );
    filter.push_all(
        "FORWARD",
        &[
            lb_firewall,
            r#"-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD"#,
            portals,
            external,
        ],
    );
    filter.push_all("OUTPUT", &[lb_firewall, portals, "-j KUBE-FIREWALL"]);
    filter.push_all(
        "KUBE-FIREWALL",
        &[r#"! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"#],
    );
    filter.push_all(
        "KUBE-FORWARD",
        &[
            "-m conntrack --ctstate INVALID -j DROP",
            r#"-m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT"#,
            r#"-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"#,
        ],
    );

    let nat_portals = r#"-m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#;
    nat.push_all("PREROUTING", &[nat_portals]);
    nat.push_all("OUTPUT", &[nat_portals]);
    nat.push_all(
        "POSTROUTING",
        &[r#"-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING"#],
    );
    nat.push_all("KUBE-MARK-MASQ", &["-j MARK --set-xmark 0x4000/0x4000"]);
    nat.push_all(
        "KUBE-POSTROUTING",
        &[
            "-m mark ! --mark 0x4000/0x4000 -j RETURN",
            "-j MARK --set-xmark 0x4000/0x0",
            r#"-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully"#,
        ],
    );

    for &i in &cluster.order {
        add_service(&mut filter, &mut nat, &cluster.services[i], cluster.large);
    }
    nat.push_all(
        "KUBE-SERVICES",
        &[r#"-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"#],
    );

    let mut out = String::new();
    for table in [&mangle, &filter, &nat] {
        table.render(&mut out);
    }
    out
}

/// ClusterIP and port of a TCP service with endpoints whose rule sits roughly in the
/// middle of nat `KUBE-SERVICES` in `generate(services, endpoints, seed)`.
#[allow(dead_code)] // not every bench uses every probe
pub fn probe_service(services: usize, endpoints: usize, seed: u64) -> (Ipv4Addr, u16) {
    let cluster = Cluster::build(services, endpoints, seed);
    let mid = cluster.order.len() / 2;
    let (after, before) = (&cluster.order[mid..], &cluster.order[..mid]);
    after
        .iter()
        .chain(before.iter().rev())
        .map(|&i| &cluster.services[i])
        .find(|s| s.proto == "tcp" && !s.endpoints.is_empty())
        .map(|s| (s.cluster_ip, s.port))
        .expect("default/kubernetes always has an endpoint")
}

/// NodePort of a TCP NodePort service roughly in the middle of nat `KUBE-NODEPORTS` in
/// `generate(services, endpoints, seed)`, if there is any NodePort service.
#[allow(dead_code)] // not every bench uses every probe
pub fn probe_nodeport(services: usize, endpoints: usize, seed: u64) -> Option<u16> {
    let cluster = Cluster::build(services, endpoints, seed);
    let nodeports: Vec<u16> = cluster
        .order
        .iter()
        .map(|&i| &cluster.services[i])
        .filter(|s| s.proto == "tcp")
        .filter_map(|s| s.nodeport)
        .collect();
    nodeports.get(nodeports.len() / 2).copied()
}

/// Appends the filter and nat rules of one service port.
fn add_service(filter: &mut Table, nat: &mut Table, s: &Svc, large: bool) {
    let spn = s.spn();
    let p = s.proto;
    if s.endpoints.is_empty() {
        filter.push(
            "KUBE-SERVICES",
            format!(
                r#"-d {}/32 -p {p} -m comment --comment "{spn} has no endpoints" -m {p} --dport {} -j REJECT --reject-with icmp-port-unreachable"#,
                s.cluster_ip, s.port
            ),
        );
        return;
    }
    let h = chain_hash(&format!("{spn}{p}"));
    let (svc_chain, ext_chain, svl_chain) = (
        format!("KUBE-SVC-{h}"),
        format!("KUBE-EXT-{h}"),
        format!("KUBE-SVL-{h}"),
    );
    nat.declare(&svc_chain);
    nat.push(
        "KUBE-SERVICES",
        format!(
            r#"-d {}/32 -p {p} -m comment --comment "{spn} cluster IP" -m {p} --dport {} -j {svc_chain}"#,
            s.cluster_ip, s.port
        ),
    );
    if let Some(lb_ip) = s.lb_ip {
        nat.push(
            "KUBE-SERVICES",
            format!(
                r#"-d {lb_ip}/32 -p {p} -m comment --comment "{spn} loadbalancer IP" -m {p} --dport {} -j {ext_chain}"#,
                s.port
            ),
        );
    }
    if let Some(nodeport) = s.nodeport {
        nat.push(
            "KUBE-NODEPORTS",
            format!(
                r#"-p {p} -m comment --comment "{spn}" -m {p} --dport {nodeport} -j {ext_chain}"#
            ),
        );
        nat.declare(&ext_chain);
        if let Some(hc_port) = s.hc_port {
            nat.push(&ext_chain, format!(r#"-s {CLUSTER_CIDR} -m comment --comment "pod traffic for {spn} external destinations" -j {svc_chain}"#));
            nat.push(&ext_chain, format!(r#"-m comment --comment "masquerade LOCAL traffic for {spn} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ"#));
            nat.push(&ext_chain, format!(r#"-m comment --comment "route LOCAL traffic for {spn} external destinations" -m addrtype --src-type LOCAL -j {svc_chain}"#));
            nat.push(&ext_chain, format!("-j {svl_chain}"));
            filter.push(
                "KUBE-NODEPORTS",
                format!(r#"-p tcp -m comment --comment "{spn} health check node port" -m tcp --dport {hc_port} -j ACCEPT"#),
            );
        } else {
            nat.push(&ext_chain, format!(r#"-m comment --comment "masquerade traffic for {spn} external destinations" -j KUBE-MARK-MASQ"#));
            nat.push(&ext_chain, format!("-j {svc_chain}"));
        }
    }

    // KUBE-SVC-*: masquerade off-cluster sources, then pick an endpoint.
    nat.push(
        &svc_chain,
        format!(
            r#"! -s {CLUSTER_CIDR} -d {}/32 -p {p} -m comment --comment "{spn} cluster IP" -m {p} --dport {} -j KUBE-MARK-MASQ"#,
            s.cluster_ip, s.port
        ),
    );
    let comment = if large {
        String::new()
    } else {
        format!(r#" -m comment --comment "{spn}""#)
    };
    let mut seps = Vec::with_capacity(s.endpoints.len());
    for e in &s.endpoints {
        let ep = format!("{}:{}", e.ip, e.port);
        let sep = format!("KUBE-SEP-{}", chain_hash(&format!("{spn}{p}{ep}")));
        nat.declare(&sep);
        nat.push(&sep, format!("-s {}/32{comment} -j KUBE-MARK-MASQ", e.ip));
        let dnat = if s.affinity {
            format!("-p {p}{comment} -m recent --set --name {sep} --mask 255.255.255.255 --rsource -m {p} -j DNAT --to-destination {ep}")
        } else {
            format!("-p {p}{comment} -m {p} -j DNAT --to-destination {ep}")
        };
        nat.push(&sep, dnat);
        seps.push(SepJump {
            chain: sep,
            endpoint: ep,
            local: e.local,
        });
    }
    let all: Vec<&SepJump> = seps.iter().collect();
    add_endpoint_jumps(nat, &svc_chain, &spn, s.affinity, &all, large);
    if s.hc_port.is_some() {
        let local: Vec<&SepJump> = seps.iter().filter(|j| j.local).collect();
        nat.declare(&svl_chain);
        add_endpoint_jumps(nat, &svl_chain, &spn, s.affinity, &local, large);
    }
}

/// A `KUBE-SEP-*` chain as the KUBE-SVC/KUBE-SVL chains jump to it.
struct SepJump {
    chain: String,
    /// "ip:port"
    endpoint: String,
    local: bool,
}

/// Appends the jumps from a KUBE-SVC/KUBE-SVL chain to its endpoints' KUBE-SEP chains:
/// the `-m recent` checks for session affinity, then a `-m statistic` lottery.
fn add_endpoint_jumps(
    nat: &mut Table,
    chain: &str,
    spn: &str,
    affinity: bool,
    seps: &[&SepJump],
    large: bool,
) {
    let comment = |ep: &str| {
        if large {
            String::new()
        } else {
            format!(r#"-m comment --comment "{spn} -> {ep}" "#)
        }
    };
    if affinity {
        for sep in seps {
            nat.push(
                chain,
                format!(
                    "{}-m recent --rcheck --seconds 10800 --reap --name {} --mask 255.255.255.255 --rsource -j {}",
                    comment(&sep.endpoint),
                    sep.chain,
                    sep.chain
                ),
            );
        }
    }
    for (i, sep) in seps.iter().enumerate() {
        let remaining = seps.len() - i;
        let rule = if remaining > 1 {
            format!(
                "{}-m statistic --mode random --probability {} -j {}",
                comment(&sep.endpoint),
                save_probability(1.0 / remaining as f64),
                sep.chain
            )
        } else {
            format!("{}-j {}", comment(&sep.endpoint), sep.chain)
        };
        nat.push(chain, rule);
    }
}

/// The text iptables-save prints for `--probability p`: kube-proxy writes `%0.10f`,
/// xt_statistic stores it rounded to a multiple of 2^-31 and prints it with `%.11f`.
fn save_probability(p: f64) -> String {
    let written: f64 = format!("{p:.10}").parse().expect("formatted float parses");
    let stored = (written * 2f64.powi(31) + 0.5).floor();
    format!("{:.11}", stored / 2f64.powi(31))
}

/// A 16-character base32 (A-Z2-7) chain-name suffix derived from `text`, standing in for
/// kube-proxy's base32(sha256(text))[:16].
fn chain_hash(text: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let fnv = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let bits = (u128::from(mix64(fnv)) << 16) | u128::from(mix64(!fnv) >> 48);
    (0..16)
        .map(|i| char::from(ALPHABET[((bits >> (75 - 5 * i)) & 31) as usize]))
        .collect()
}

/// splitmix64's output function.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// splitmix64: small, fast and good enough to draw the cluster's shape.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo) as usize + 1) as u32
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

struct Endpoint {
    ip: Ipv4Addr,
    port: u16,
    /// Runs on this node (node 0).
    local: bool,
}

/// One service port, as kube-proxy sees it.
struct Svc {
    ns: String,
    name: String,
    port_name: &'static str,
    port: u16,
    proto: &'static str,
    cluster_ip: Ipv4Addr,
    endpoints: Vec<Endpoint>,
    nodeport: Option<u16>,
    lb_ip: Option<Ipv4Addr>,
    /// Health-check node port, set for externalTrafficPolicy=Local.
    hc_port: Option<u16>,
    /// sessionAffinity=ClientIP
    affinity: bool,
}

impl Svc {
    fn new(
        ns: &str,
        name: &str,
        kind: PortKind,
        cluster_ip: Ipv4Addr,
        endpoints: Vec<Endpoint>,
    ) -> Svc {
        Svc {
            ns: ns.to_owned(),
            name: name.to_owned(),
            port_name: kind.0,
            port: kind.1,
            proto: kind.3,
            cluster_ip,
            endpoints,
            nodeport: None,
            lb_ip: None,
            hc_port: None,
            affinity: false,
        }
    }

    /// ServicePortName.String(): `ns/name[:portname]`.
    fn spn(&self) -> String {
        if self.port_name.is_empty() {
            format!("{}/{}", self.ns, self.name)
        } else {
            format!("{}/{}:{}", self.ns, self.name, self.port_name)
        }
    }
}

/// kube-proxy emits endpoints sorted by their "ip:port" string.
fn sort_endpoints(eps: &mut [Endpoint]) {
    eps.sort_by_cached_key(|e| format!("{}:{}", e.ip, e.port));
}

/// The services of the cluster and the order kube-proxy writes them in.
struct Cluster {
    services: Vec<Svc>,
    /// Indices into `services`: kube-proxy iterates a Go map, so the order is random.
    order: Vec<usize>,
    /// Large-cluster mode: no per-endpoint comments.
    large: bool,
}

/// Draws addresses for the services and their pods.
struct Allocator {
    rng: Rng,
    /// Pods are spread over this many nodes, one /24 of the pod CIDR each.
    nodes: usize,
    used_cluster_ips: HashSet<Ipv4Addr>,
}

impl Allocator {
    fn pod_ip(&mut self, node: usize) -> Ipv4Addr {
        let subnet = (node % self.nodes) as u32 * 256;
        Ipv4Addr::from_bits(POD_NET + subnet + self.rng.between(2, 254))
    }

    fn cluster_ip(&mut self) -> Ipv4Addr {
        loop {
            let ip = Ipv4Addr::from_bits(SVC_NET + self.rng.between(2, SVC_NET_SIZE - 2));
            if self.used_cluster_ips.insert(ip) {
                return ip;
            }
        }
    }

    /// `n` distinct pod endpoints listening on `port`, sorted.
    fn endpoints(&mut self, n: usize, port: u16) -> Vec<Endpoint> {
        let mut eps = Vec::with_capacity(n);
        let mut seen = HashSet::with_capacity(n);
        while eps.len() < n {
            let node = self.rng.below(self.nodes);
            let ip = self.pod_ip(node);
            if seen.insert(ip) {
                eps.push(Endpoint {
                    ip,
                    port,
                    local: node == 0,
                });
            }
        }
        sort_endpoints(&mut eps);
        eps
    }
}

impl Cluster {
    fn build(services: usize, endpoints: usize, seed: u64) -> Cluster {
        let mut alloc = Allocator {
            rng: Rng(seed),
            nodes: (services * endpoints / 30).clamp(3, MAX_NODES),
            used_cluster_ips: HashSet::from([
                Ipv4Addr::from_bits(SVC_NET),
                Ipv4Addr::from_bits(SVC_NET + 1),
                Ipv4Addr::from_bits(SVC_NET + 10),
            ]),
        };
        let mut free_nodeports: Vec<u16> = (NODEPORT_MIN..=NODEPORT_MAX).collect();
        alloc.rng.shuffle(&mut free_nodeports);

        // default/kubernetes -> the API server (host network, not a pod IP).
        let api_server = vec![Endpoint {
            ip: NODE_IP,
            port: 6443,
            local: true,
        }];
        let kubernetes = Svc::new(
            "default",
            "kubernetes",
            ("https", 443, 6443, "tcp"),
            Ipv4Addr::from_bits(SVC_NET + 1),
            api_server,
        );
        let mut all = vec![kubernetes];
        // kube-system/kube-dns: three ports sharing one cluster IP and two CoreDNS pods
        // (nodes 0 and 1: different /24s, so the pod IPs differ).
        let dns_pods = [alloc.pod_ip(0), alloc.pod_ip(1)];
        for kind in [
            ("dns", 53, 53, "udp"),
            ("dns-tcp", 53, 53, "tcp"),
            ("metrics", 9153, 9153, "tcp"),
        ] {
            let mut eps: Vec<Endpoint> = dns_pods
                .iter()
                .map(|&ip| Endpoint {
                    ip,
                    port: kind.2,
                    local: true,
                })
                .collect();
            sort_endpoints(&mut eps);
            let dns_ip = Ipv4Addr::from_bits(SVC_NET + 10);
            all.push(Svc::new("kube-system", "kube-dns", kind, dns_ip, eps));
        }
        let builtin = all.len();

        let mut used_names = HashSet::new();
        for _ in 0..services {
            let rng = &mut alloc.rng;
            let (ns, name) = loop {
                let ns = format!("{}-{}", rng.pick(NS_WORDS), rng.below(100));
                let name = format!(
                    "{}-{}-{}",
                    rng.pick(SVC_WORDS),
                    rng.pick(SVC_WORDS),
                    rng.below(1000)
                );
                if used_names.insert(format!("{ns}/{name}")) {
                    break (ns, name);
                }
            };
            let kinds = if rng.unit() < UDP_FRAC {
                UDP_PORT_KINDS
            } else {
                PORT_KINDS
            };
            let kind = *rng.pick(kinds);
            let cluster_ip = alloc.cluster_ip();
            let has_endpoints = endpoints > 0 && alloc.rng.unit() >= NOEP_FRAC;
            let affinity = has_endpoints && alloc.rng.unit() < AFFINITY_FRAC;
            let eps = if has_endpoints {
                alloc.endpoints(endpoints, kind.2)
            } else {
                Vec::new()
            };
            let mut svc = Svc::new(&ns, &name, kind, cluster_ip, eps);
            svc.affinity = affinity;
            all.push(svc);
        }

        // NodePort / LoadBalancer / Local services among user services with endpoints.
        let n_nodeport = ((services as f64 * NODEPORT_FRAC).round_ties_even() as usize)
            .min(free_nodeports.len());
        let n_lb = ((services as f64 * LB_FRAC).round_ties_even() as usize).min(n_nodeport);
        let mut candidates: Vec<usize> = (builtin..all.len())
            .filter(|&i| !all[i].endpoints.is_empty())
            .collect();
        alloc.rng.shuffle(&mut candidates);
        for (idx, &i) in candidates.iter().take(n_nodeport).enumerate() {
            all[i].nodeport = free_nodeports.pop();
            if idx >= n_lb {
                continue;
            }
            all[i].lb_ip = Some(Ipv4Addr::from_bits(
                LB_NET + 1 + (idx % (LB_NET_SIZE - 2)) as u32,
            ));
            if alloc.rng.unit() < LOCAL_FRAC && !free_nodeports.is_empty() {
                all[i].hc_port = free_nodeports.pop();
                if !all[i].endpoints.iter().any(|e| e.local) {
                    // externalTrafficPolicy=Local: put one endpoint on this node (node 0).
                    let ip = loop {
                        let ip = alloc.pod_ip(0);
                        if all[i].endpoints.iter().all(|e| e.ip != ip) {
                            break ip;
                        }
                    };
                    let eps = &mut all[i].endpoints;
                    eps[0].ip = ip;
                    eps[0].local = true;
                    sort_endpoints(eps);
                }
            }
        }

        let total_endpoints: usize = all.iter().map(|s| s.endpoints.len()).sum();
        let mut order: Vec<usize> = (0..all.len()).collect();
        alloc.rng.shuffle(&mut order);
        Cluster {
            services: all,
            order,
            large: total_endpoints > LARGE_CLUSTER_ENDPOINTS,
        }
    }
}

/// One table of the dump: its chains and their rules (without the "-A CHAIN " prefix).
struct Table {
    name: &'static str,
    builtin: &'static [&'static str],
    chains: BTreeMap<String, Vec<String>>,
}

impl Table {
    fn new(name: &'static str, builtin: &'static [&'static str], user: &[&str]) -> Table {
        let chains = builtin
            .iter()
            .chain(user)
            .map(|c| (c.to_string(), Vec::new()))
            .collect();
        Table {
            name,
            builtin,
            chains,
        }
    }

    fn declare(&mut self, chain: &str) {
        self.chains.insert(chain.to_owned(), Vec::new());
    }

    /// Appends a rule to a declared chain.
    fn push(&mut self, chain: &str, rule: String) {
        self.chains
            .get_mut(chain)
            .unwrap_or_else(|| panic!("chain {chain} not declared in {}", self.name))
            .push(rule);
    }

    fn push_all(&mut self, chain: &str, rules: &[&str]) {
        for rule in rules {
            self.push(chain, rule.to_string());
        }
    }

    /// Writes the table as iptables-save does: built-in chains first, then user chains
    /// sorted by name, then the rules grouped per chain in the same order.
    fn render(&self, out: &mut String) {
        let user: Vec<&str> = self
            .chains
            .keys()
            .map(String::as_str)
            .filter(|c| !self.builtin.contains(c))
            .collect();
        line(
            out,
            &["# Generated by iptables-save v1.8.9 (nf_tables) on ", STAMP],
        );
        line(out, &["*", self.name]);
        for chain in self.builtin {
            line(out, &[":", chain, " ACCEPT [0:0]"]);
        }
        for chain in &user {
            line(out, &[":", chain, " - [0:0]"]);
        }
        for &chain in self.builtin.iter().chain(&user) {
            for rule in &self.chains[chain] {
                line(out, &["-A ", chain, " ", rule]);
            }
        }
        line(out, &["COMMIT"]);
        line(out, &["# Completed on ", STAMP]);
    }
}

/// Appends the concatenation of `parts` and a newline.
fn line(out: &mut String, parts: &[&str]) {
    for part in parts {
        out.push_str(part);
    }
    out.push('\n');
}
