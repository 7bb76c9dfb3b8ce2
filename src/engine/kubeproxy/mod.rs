//! kube-proxy in iptables mode: from Services and EndpointSlices to the text
//! kube-proxy hands to `iptables-restore`, rule for rule as the current
//! proxier (`pkg/proxy/iptables/proxier.go`) writes it.
//!
//! [`Proxier`] keeps what a running kube-proxy keeps between syncs (which
//! services changed, which chains exist in the kernel), so a second sync is
//! a *partial* one, as on a real node: only changed services' chains are
//! written and chains no longer used are deleted with `-X`. Every written
//! rule carries its [`Origin`], the Service port (and endpoint) it stands
//! for.
//!
//! [`save`] turns the restore input into what `iptables-save` shows on the
//! node afterwards.

pub mod config;
pub mod legacy;
pub mod save;
pub mod sort;

use crate::engine::decimal;
use crate::engine::k8s::{Cluster, ClusterIp, Policy, Protocol, Service, ServiceType};
use ipnet::IpNet;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub use config::Config;

/// `namespace/name:port` (or `namespace/name` for an unnamed port): how
/// kube-proxy names a Service port in comments and hashes.
pub fn port_name(namespace: &str, name: &str, port: &str) -> String {
    if port.is_empty() {
        format!("{namespace}/{name}")
    } else {
        format!("{namespace}/{name}:{port}")
    }
}

/// The first 16 characters of the standard base32 encoding (RFC 4648,
/// `A–Z2–7`) of `bytes`: 10 bytes give exactly 16 characters. (A whole
/// base32 library costs the web page 15 KB for these few lines.)
fn base32_16(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(16);
    for chunk in bytes[..10].chunks(5) {
        let v = chunk.iter().fold(0u64, |a, b| a << 8 | u64::from(*b));
        for i in (0..8).rev() {
            out.push(ALPHABET[(v >> (i * 5) & 31) as usize] as char);
        }
    }
    out
}

/// The 16 characters kube-proxy appends to `KUBE-SVC-`, `KUBE-SVL-`,
/// `KUBE-EXT-` and `KUBE-FW-`: base32(sha256(port name + protocol)).
pub fn port_proto_hash(port_name: &str, protocol: &str) -> String {
    base32_16(&Sha256::digest(format!("{port_name}{protocol}").as_bytes()))
}

/// `KUBE-SEP-` + base32(sha256(port name + protocol + `IP:port`)), 16 chars.
pub fn endpoint_chain(port_name: &str, protocol: &str, endpoint: &str) -> String {
    let digest = Sha256::digest(format!("{port_name}{protocol}{endpoint}").as_bytes());
    format!("KUBE-SEP-{}", base32_16(&digest))
}

const SERVICE_CHAIN_PREFIXES: [&str; 5] = [
    "KUBE-SVC-",
    "KUBE-SVL-",
    "KUBE-SEP-",
    "KUBE-FW-",
    "KUBE-EXT-",
];

/// Whether kube-proxy owns (and may delete) a chain of this name.
pub fn is_service_chain(name: &str) -> bool {
    SERVICE_CHAIN_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// What made a rule: a Service port and, for endpoint rules, the endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Origin {
    /// `namespace/name:port`; empty for kube-proxy's own fixed rules.
    pub service_port: String,
    /// `IP:port` of the endpoint, for rules about one endpoint.
    pub endpoint: Option<String>,
}

/// One line of restore input and what made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub origin: Origin,
}

/// One sync's restore input: `*filter … COMMIT *nat … COMMIT`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restore {
    pub filter_chains: Vec<String>,
    pub filter_rules: Vec<Line>,
    pub nat_chains: Vec<String>,
    pub nat_rules: Vec<Line>,
    /// Whether this was a full sync.
    pub full: bool,
}

impl Restore {
    /// The text kube-proxy passes to `iptables-restore --noflush`.
    pub fn text(&self) -> String {
        let mut s = String::from("*filter\n");
        for c in &self.filter_chains {
            s += &format!(":{c} - [0:0]\n");
        }
        for r in &self.filter_rules {
            s += &r.text;
            s.push('\n');
        }
        s += "COMMIT\n*nat\n";
        for c in &self.nat_chains {
            s += &format!(":{c} - [0:0]\n");
        }
        for r in &self.nat_rules {
            s += &r.text;
            s.push('\n');
        }
        s += "COMMIT\n";
        s
    }

    /// Where a KUBE-SVC-/KUBE-SEP-/… chain comes from: the Service port
    /// (and endpoint) of the first rule in it.
    pub fn chain_origin(&self, chain: &str) -> Option<&Origin> {
        let prefix = format!("-A {chain} ");
        self.nat_rules
            .iter()
            .chain(&self.filter_rules)
            .find(|l| l.text.starts_with(&prefix) && !l.origin.service_port.is_empty())
            .map(|l| &l.origin)
    }
}

/// The jump rules kube-proxy puts at the top of the built-in chains on a
/// full sync, outside the restore (`iptablesJumpChains` and kubelet's
/// `KUBE-FIREWALL` jumps), in the order they are inserted: each is
/// prepended, so a later one ends up above an earlier one.
pub const JUMPS: [(&str, &str, &str); 14] = [
    ("filter", "INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES"),
    ("filter", "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES"),
    ("filter", "INPUT", "-m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS"),
    ("filter", "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("filter", "OUTPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("filter", "FORWARD", "-m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"),
    ("filter", "INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL"),
    ("filter", "OUTPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL"),
    ("filter", "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL"),
    ("nat", "OUTPUT", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("nat", "PREROUTING", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"),
    ("nat", "POSTROUTING", "-m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"),
    ("filter", "INPUT", "-j KUBE-FIREWALL"),
    ("filter", "OUTPUT", "-j KUBE-FIREWALL"),
];

/// One endpoint of a Service port, as kube-proxy's endpoints map holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ep {
    pub ip: IpAddr,
    pub port: u16,
    pub local: bool,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    pub zone_hints: BTreeSet<String>,
    pub node_hints: BTreeSet<String>,
}

impl Ep {
    /// `IP:port`, IPv6 in brackets.
    pub fn text(&self) -> String {
        match self.ip {
            IpAddr::V4(a) => format!("{a}:{}", self.port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
        }
    }
}

/// A Service port as kube-proxy's service map holds it (the values of one
/// IP family only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SvcPort {
    pub namespace: String,
    pub name: String,
    pub port_name: String,
    pub protocol: Protocol,
    pub cluster_ip: IpAddr,
    pub port: u16,
    pub node_port: u16,
    pub external_ips: Vec<IpAddr>,
    pub lb_vips: Vec<IpAddr>,
    pub source_ranges: Vec<IpNet>,
    pub health_check_node_port: u16,
    pub external_policy_local: bool,
    pub internal_policy_local: bool,
    /// Session affinity timeout (seconds), for `sessionAffinity: ClientIP`.
    pub sticky: Option<u32>,
}

impl SvcPort {
    /// `namespace/name:port`.
    pub fn name_string(&self) -> String {
        port_name(&self.namespace, &self.name, &self.port_name)
    }
    pub(crate) fn externally_accessible(&self) -> bool {
        self.node_port != 0 || !self.lb_vips.is_empty() || !self.external_ips.is_empty()
    }
    fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_policy_local || self.externally_accessible()
    }
    fn uses_local_endpoints(&self) -> bool {
        self.internal_policy_local || (self.external_policy_local && self.externally_accessible())
    }
}

fn same_family(a: IpAddr, ipv6: bool) -> bool {
    a.is_ipv6() == ipv6
}

/// The Service ports kube-proxy of this family programs, in a stable order
/// (namespace, name, port name, protocol).
pub fn service_ports(cluster: &Cluster, ipv6: bool) -> Vec<SvcPort> {
    let mut out = Vec::new();
    for svc in &cluster.services {
        let ClusterIp::Ip(cip) = svc.cluster_ip else {
            continue; // headless or not allocated
        };
        if svc.kind == ServiceType::ExternalName || !same_family(cip, ipv6) {
            continue;
        }
        out.extend(ports_of(svc, cip, ipv6));
    }
    out.sort_by(|a, b| {
        (&a.namespace, &a.name, &a.port_name, a.protocol).cmp(&(
            &b.namespace,
            &b.name,
            &b.port_name,
            b.protocol,
        ))
    });
    out
}

fn ports_of(svc: &Service, cip: IpAddr, ipv6: bool) -> Vec<SvcPort> {
    let externally = matches!(svc.kind, ServiceType::LoadBalancer | ServiceType::NodePort)
        || (svc.kind == ServiceType::ClusterIp && !svc.external_ips.is_empty());
    let external_policy_local = externally && svc.external_policy == Policy::Local;
    let mut ranges: Vec<IpNet> = svc
        .source_ranges
        .iter()
        .copied()
        .filter(|n| same_family(n.addr(), ipv6))
        .collect();
    if ranges.iter().any(|n| n.prefix_len() == 0) {
        ranges.clear(); // a /0 range allows everyone: no firewall chain
    }
    let health = if svc.kind == ServiceType::LoadBalancer && external_policy_local {
        svc.health_check_node_port
    } else {
        0
    };
    svc.ports
        .iter()
        .map(|p| SvcPort {
            namespace: svc.namespace.clone(),
            name: svc.name.clone(),
            port_name: p.name.clone(),
            protocol: p.protocol,
            cluster_ip: cip,
            port: p.port,
            node_port: p.node_port,
            external_ips: svc
                .external_ips
                .iter()
                .copied()
                .filter(|a| same_family(*a, ipv6))
                .collect(),
            lb_vips: svc
                .ingress
                .iter()
                .filter(|i| !i.proxy && same_family(i.ip, ipv6))
                .map(|i| i.ip)
                .collect(),
            source_ranges: ranges.clone(),
            health_check_node_port: health,
            external_policy_local,
            internal_policy_local: svc.internal_policy == Policy::Local,
            sticky: svc.affinity_timeout,
        })
        .collect()
}

/// The endpoints of one Service port: from the EndpointSlices of its
/// Service whose port has the same name and protocol; the first address of
/// each endpoint; one per `IP:port` (a non-terminating one wins); sorted by
/// `IP:port` text.
pub fn endpoints_of(cluster: &Cluster, sp: &SvcPort, config: &Config) -> Vec<Ep> {
    use crate::engine::k8s::AddressType;
    let family = if config.ipv6 {
        AddressType::IPv6
    } else {
        AddressType::IPv4
    };
    let mut by_text: BTreeMap<String, Ep> = BTreeMap::new();
    for slice in &cluster.slices {
        if slice.namespace != sp.namespace
            || slice.service != sp.name
            || slice.address_type != family
        {
            continue;
        }
        for p in &slice.ports {
            let (Some(name), Some(port)) = (&p.name, p.port) else {
                continue;
            };
            if *name != sp.port_name || p.protocol != sp.protocol || port == 0 {
                continue;
            }
            for e in &slice.endpoints {
                let Some(&ip) = e.addresses.first() else {
                    continue;
                };
                let ep = Ep {
                    ip,
                    port,
                    local: !config.node_name.is_empty()
                        && e.node_name.as_deref() == Some(config.node_name.as_str()),
                    ready: e.conditions.ready.unwrap_or(true),
                    serving: e.conditions.serving.unwrap_or(true),
                    terminating: e.conditions.terminating.unwrap_or(false),
                    zone_hints: e.zone_hints.iter().cloned().collect(),
                    node_hints: e.node_hints.iter().cloned().collect(),
                };
                let key = ep.text();
                match by_text.get(&key) {
                    Some(_) if ep.terminating => {}
                    _ => {
                        by_text.insert(key, ep);
                    }
                }
            }
        }
    }
    // BTreeMap order is byte-wise order of the `IP:port` text.
    by_text.into_values().collect()
}

/// The endpoints of a Service port sorted for traffic: `cluster` for Cluster
/// policy, `local` for Local policy, `reachable` (each gets a KUBE-SEP
/// chain), and whether the Service has any usable endpoint at all
/// (`CategorizeEndpoints` in `pkg/proxy/topology.go`).
pub struct Categorized {
    pub cluster: Vec<Ep>,
    pub local: Vec<Ep>,
    pub reachable: Vec<Ep>,
    pub any: bool,
}

pub fn categorize(eps: &[Ep], sp: &SvcPort, config: &Config) -> Categorized {
    let mut c = Categorized {
        cluster: Vec::new(),
        local: Vec::new(),
        reachable: Vec::new(),
        any: false,
    };
    if eps.is_empty() {
        return c;
    }
    let zone = config.zone.clone().unwrap_or_default();
    // Topology mode from the hints of the ready endpoints.
    let ready: Vec<&Ep> = eps.iter().filter(|e| e.ready).collect();
    let mode = if ready.is_empty() {
        ""
    } else if ready.iter().all(|e| !e.node_hints.is_empty())
        && ready
            .iter()
            .any(|e| e.node_hints.contains(&config.node_name))
    {
        "node"
    } else if ready.iter().all(|e| !e.zone_hints.is_empty())
        && ready.iter().any(|e| e.zone_hints.contains(&zone))
    {
        "zone"
    } else {
        ""
    };
    let available = |e: &Ep| match mode {
        "node" => e.node_hints.contains(&config.node_name),
        "zone" => e.zone_hints.contains(&zone),
        _ => true,
    };
    if sp.uses_cluster_endpoints() {
        c.cluster = eps
            .iter()
            .filter(|e| e.ready && available(e))
            .cloned()
            .collect();
        if c.cluster.is_empty() {
            c.cluster = eps
                .iter()
                .filter(|e| e.serving && e.terminating)
                .cloned()
                .collect();
        }
        c.any = !c.cluster.is_empty();
    }
    if !sp.uses_local_endpoints() {
        c.reachable = c.cluster.clone();
        return c;
    }
    let (mut local_ready, mut local_st) = (false, false);
    for e in eps {
        if e.ready {
            c.any = true;
            local_ready |= e.local;
        } else if e.serving && e.terminating {
            c.any = true;
            local_st |= e.local;
        }
    }
    let mut serving_terminating = false;
    if local_ready {
        c.local = eps.iter().filter(|e| e.local && e.ready).cloned().collect();
    } else if local_st {
        c.local = eps
            .iter()
            .filter(|e| e.local && e.serving && e.terminating)
            .cloned()
            .collect();
        serving_terminating = true;
    }
    if !sp.uses_cluster_endpoints() {
        c.reachable = c.local.clone();
    } else if mode.is_empty() && !serving_terminating {
        c.reachable = c.cluster.clone();
    } else {
        // The union; kube-proxy's order here is a Go map's, so any order
        // is right: sorted by `IP:port` like the rest.
        let mut all: BTreeMap<String, Ep> = BTreeMap::new();
        for e in c.cluster.iter().chain(&c.local) {
            all.insert(e.text(), e.clone());
        }
        c.reachable = all.into_values().collect();
    }
    c
}

/// `1/n` as kube-proxy writes a probability (`%0.10f`).
pub fn probability_text(n: usize) -> String {
    decimal::fixed(1.0 / n as f64, 10)
}

/// A running kube-proxy: settings, and what it remembers between syncs.
#[derive(Clone, Debug)]
pub struct Proxier {
    pub config: Config,
    need_full_sync: bool,
    /// Per Service (`namespace/name`): its ports and endpoints at the last
    /// sync, to tell which Services changed.
    last: BTreeMap<String, Vec<(SvcPort, Vec<Ep>)>>,
    /// The nat chains in the kernel after the last restore.
    kernel_nat_chains: BTreeSet<String>,
    /// Probabilities kube-proxy formats once and keeps (`1/n`, 10 decimals).
    probabilities: Vec<String>,
}

struct Out<'a> {
    chains: &'a mut Vec<String>,
    rules: &'a mut Vec<Line>,
}

impl Out<'_> {
    fn chain(&mut self, c: &str) {
        self.chains.push(c.to_string());
    }
    fn text(&mut self, text: String, origin: &Origin) {
        self.rules.push(Line {
            text,
            origin: origin.clone(),
        });
    }
    fn rule(&mut self, words: &[&str], origin: &Origin) {
        self.rules.push(Line {
            text: words.join(" "),
            origin: origin.clone(),
        });
    }
}

fn quoted(s: impl std::fmt::Display) -> String {
    format!("\"{s}\"")
}

/// A rule of `chain` with kube-proxy's comment match first, then `rest`
/// (its matches and target), as iptables-save writes it.
fn commented(chain: &str, comment: &str, rest: impl std::fmt::Display) -> String {
    format!("-A {chain} -m comment --comment {comment} {rest}")
}

impl Proxier {
    pub fn new(config: Config) -> Proxier {
        Proxier {
            need_full_sync: config.first_sync_is_full,
            config,
            last: BTreeMap::new(),
            kernel_nat_chains: BTreeSet::new(),
            probabilities: Vec::new(),
        }
    }

    /// A kube-proxy starting on a node whose nat table already holds these
    /// chains: those it owns and no longer needs are deleted on the first
    /// sync, as after a restart.
    pub fn on_node(config: Config, nat_chains: impl IntoIterator<Item = String>) -> Proxier {
        let mut p = Proxier::new(config);
        p.kernel_nat_chains = nat_chains.into_iter().collect();
        p
    }

    /// The next sync rewrites everything (what kube-proxy does when its
    /// canary chain disappears, or after a failed restore).
    pub fn force_full_sync(&mut self) {
        self.need_full_sync = true;
    }

    /// The nat chains the kernel holds after the syncs so far.
    pub fn kernel_nat_chains(&self) -> &BTreeSet<String> {
        &self.kernel_nat_chains
    }

    fn probability(&mut self, n: usize) -> String {
        while self.probabilities.len() <= n {
            let i = self.probabilities.len();
            self.probabilities.push(if i == 0 {
                "<bad value>".into()
            } else {
                probability_text(i)
            });
        }
        self.probabilities[n].clone()
    }

    /// One sync against the objects in `cluster`: the restore input.
    pub fn sync(&mut self, cluster: &Cluster) -> Restore {
        let cfg = self.config.clone();
        let full = self.need_full_sync;
        let ports = service_ports(cluster, cfg.ipv6);
        let endpoints: Vec<Vec<Ep>> = ports
            .iter()
            .map(|sp| endpoints_of(cluster, sp, &cfg))
            .collect();

        // Which Services changed since the last sync.
        let mut now: BTreeMap<String, Vec<(SvcPort, Vec<Ep>)>> = BTreeMap::new();
        for (sp, eps) in ports.iter().zip(&endpoints) {
            (now.entry(format!("{}/{}", sp.namespace, sp.name)))
                .or_default()
                .push((sp.clone(), eps.clone()));
        }
        let changed: BTreeSet<String> = now
            .iter()
            .filter(|(k, v)| self.last.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .chain(self.last.keys().filter(|k| !now.contains_key(*k)).cloned())
            .collect();

        let mut r = Restore {
            full,
            ..Restore::default()
        };
        let (mut skipped_chains, mut skipped_rules) = (Vec::new(), Vec::new());
        let fixed = Origin::default();
        let mark = cfg.masquerade_mark.clone();
        let mark_mask = format!("{mark}/{mark}");

        r.filter_chains.extend(
            [
                "KUBE-SERVICES",
                "KUBE-EXTERNAL-SERVICES",
                "KUBE-FORWARD",
                "KUBE-NODEPORTS",
                "KUBE-PROXY-FIREWALL",
            ]
            .map(String::from),
        );
        r.nat_chains.extend(
            [
                "KUBE-SERVICES",
                "KUBE-NODEPORTS",
                "KUBE-POSTROUTING",
                "KUBE-MARK-MASQ",
            ]
            .map(String::from),
        );
        {
            let mut nat = Out {
                chains: &mut r.nat_chains,
                rules: &mut r.nat_rules,
            };
            nat.text(
                format!(
                    "-A KUBE-POSTROUTING -m mark ! --mark {} -j RETURN",
                    &mark_mask
                ),
                &fixed,
            );
            nat.rule(
                &["-A", "KUBE-POSTROUTING", "-j", "MARK", "--xor-mark", &mark],
                &fixed,
            );
            let mut masq = vec![
                "-A",
                "KUBE-POSTROUTING",
                "-m",
                "comment",
                "--comment",
                "\"kubernetes service traffic requiring SNAT\"",
                "-j",
                "MASQUERADE",
            ];
            if cfg.random_fully {
                masq.push("--random-fully");
            }
            nat.rule(&masq, &fixed);
            nat.rule(
                &["-A", "KUBE-MARK-MASQ", "-j", "MARK", "--or-mark", &mark],
                &fixed,
            );
        }
        if !cfg.ipv6 && cfg.localhost_node_ports {
            r.filter_chains.push("KUBE-FIREWALL".into());
            r.filter_rules.push(Line {
                text: "-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP".into(),
                origin: fixed.clone(),
            });
        }

        let mut active: BTreeSet<String> = BTreeSet::new();
        let total: usize = endpoints.iter().map(Vec::len).sum();
        let large = total > cfg.large_cluster_threshold;

        for (sp, eps) in ports.iter().zip(&endpoints) {
            let name = sp.name_string();
            let proto = sp.protocol.lower();
            let hash = port_proto_hash(&name, proto);
            let origin = Origin {
                service_port: name.clone(),
                endpoint: None,
            };
            let cat = categorize(eps, sp, &cfg);
            let cluster_chain = format!("KUBE-SVC-{hash}");
            let local_chain = format!("KUBE-SVL-{hash}");
            let ext_chain = format!("KUBE-EXT-{hash}");
            let fw_chain = format!("KUBE-FW-{hash}");
            let uses_cluster_chain = !cat.cluster.is_empty() && sp.uses_cluster_endpoints();
            let uses_local_chain = !cat.local.is_empty() && sp.uses_local_endpoints();

            let mut internal_chain = &cluster_chain;
            let mut has_internal = cat.any;
            if sp.internal_policy_local {
                internal_chain = &local_chain;
                has_internal &= !cat.local.is_empty();
            }
            let mut external_policy_chain = &cluster_chain;
            let mut has_external = cat.any;
            if sp.external_policy_local {
                external_policy_chain = &local_chain;
                has_external &= !cat.local.is_empty();
            }
            let uses_ext_chain = cat.any && sp.externally_accessible();
            let uses_fw = cat.any && !sp.lb_vips.is_empty() && !sp.source_ranges.is_empty();
            let lb_chain = if uses_fw { &fw_chain } else { &ext_chain };

            let (int_target, int_comment, ext_target, ext_comment) = if !cat.any {
                let c = quoted(format_args!("{name} has no endpoints"));
                ("REJECT", c.clone(), "REJECT", c)
            } else {
                let c = quoted(format_args!("{name} has no local endpoints"));
                ("DROP", c.clone(), "DROP", c)
            };
            let port = sp.port.to_string();
            let cip = sp.cluster_ip.to_string();
            let cluster_ip_comment = quoted(format_args!("{name} cluster IP"));
            // A rule for this Service port at `dst`, jumping to `target`.
            let to_port = |chain: &str, comment: &str, dst: &str, target: &str| Line {
                text: commented(
                    chain,
                    comment,
                    format_args!("-m {proto} -p {proto} -d {dst} --dport {port} -j {target}"),
                ),
                origin: origin.clone(),
            };

            // KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS,
            // KUBE-PROXY-FIREWALL: written on every sync.
            if has_internal {
                r.nat_rules.push(to_port(
                    "KUBE-SERVICES",
                    &cluster_ip_comment,
                    &cip,
                    internal_chain,
                ));
            } else {
                r.filter_rules
                    .push(to_port("KUBE-SERVICES", &int_comment, &cip, int_target));
            }
            for ip in &sp.external_ips {
                let ip = ip.to_string();
                if cat.any {
                    let c = quoted(format_args!("{name} external IP"));
                    r.nat_rules
                        .push(to_port("KUBE-SERVICES", &c, &ip, &ext_chain));
                }
                if !has_external {
                    r.filter_rules.push(to_port(
                        "KUBE-EXTERNAL-SERVICES",
                        &ext_comment,
                        &ip,
                        ext_target,
                    ));
                }
            }
            for ip in &sp.lb_vips {
                let ip = ip.to_string();
                if cat.any {
                    let c = quoted(format_args!("{name} loadbalancer IP"));
                    r.nat_rules
                        .push(to_port("KUBE-SERVICES", &c, &ip, lb_chain));
                }
                if uses_fw {
                    let c = quoted(format_args!("{name} traffic not accepted by {fw_chain}"));
                    r.filter_rules
                        .push(to_port("KUBE-PROXY-FIREWALL", &c, &ip, "DROP"));
                }
            }
            if !has_external {
                for ip in &sp.lb_vips {
                    let ip = ip.to_string();
                    r.filter_rules.push(to_port(
                        "KUBE-EXTERNAL-SERVICES",
                        &ext_comment,
                        &ip,
                        ext_target,
                    ));
                }
            }
            if sp.node_port != 0 {
                let np = sp.node_port.to_string();
                if cat.any {
                    if cfg.localhost_node_ports && !cfg.ipv6 && cfg.nfacct_localhost {
                        r.nat_rules.push(Line {
                            text: commented("KUBE-NODEPORTS", &name, format_args!("-m {proto} -p {proto} -d 127.0.0.0/8 --dport {np} -m nfacct --nfacct-name localhost_nps_accepted_pkts -j {ext_chain}")),
                            origin: origin.clone(),
                        });
                    }
                    r.nat_rules.push(Line {
                        text: commented(
                            "KUBE-NODEPORTS",
                            &name,
                            format_args!("-m {proto} -p {proto} --dport {np} -j {ext_chain}"),
                        ),
                        origin: origin.clone(),
                    });
                }
                if !has_external {
                    r.filter_rules.push(Line {
                        text: commented("KUBE-EXTERNAL-SERVICES", &ext_comment, format_args!("-m addrtype --dst-type LOCAL -m {proto} -p {proto} --dport {np} -j {ext_target}")),
                        origin: origin.clone(),
                    });
                }
            }
            if sp.health_check_node_port != 0 {
                let c = quoted(format_args!("{name} health check node port"));
                let hc = sp.health_check_node_port.to_string();
                r.filter_rules.push(Line {
                    text: commented(
                        "KUBE-NODEPORTS",
                        &c,
                        format_args!("-m tcp -p tcp --dport {hc} -j ACCEPT"),
                    ),
                    origin: origin.clone(),
                });
            }

            // The per-service chains: only for changed Services in a
            // partial sync (but they stay active either way).
            let write = full || changed.contains(&format!("{}/{}", sp.namespace, sp.name));
            let mut nat = if write {
                Out {
                    chains: &mut r.nat_chains,
                    rules: &mut r.nat_rules,
                }
            } else {
                skipped_chains.clear();
                skipped_rules.clear();
                Out {
                    chains: &mut skipped_chains,
                    rules: &mut skipped_rules,
                }
            };
            if has_internal {
                let mut w = vec![
                    "-A",
                    internal_chain.as_str(),
                    "-m",
                    "comment",
                    "--comment",
                    &cluster_ip_comment,
                    "-m",
                    proto,
                    "-p",
                    proto,
                    "-d",
                    &cip,
                    "--dport",
                    &port,
                ];
                let not_local = cfg.local_detector.map(|c| c.to_string());
                if cfg.masquerade_all {
                    w.extend(["-j", "KUBE-MARK-MASQ"]);
                    nat.rule(&w, &origin);
                } else if let Some(cidr) = &not_local {
                    w.extend(["!", "-s", cidr, "-j", "KUBE-MARK-MASQ"]);
                    nat.rule(&w, &origin);
                }
            }
            if uses_ext_chain {
                nat.chain(&ext_chain);
                active.insert(ext_chain.clone());
                if !sp.external_policy_local {
                    let c = quoted(format_args!(
                        "masquerade traffic for {name} external destinations"
                    ));
                    nat.text(commented(&ext_chain, &c, "-j KUBE-MARK-MASQ"), &origin);
                } else {
                    if let Some(cidr) = cfg.local_detector {
                        let c =
                            quoted(format_args!("pod traffic for {name} external destinations"));
                        let cidr = cidr.to_string();
                        nat.text(
                            commented(&ext_chain, &c, format_args!("-s {cidr} -j {cluster_chain}")),
                            &origin,
                        );
                    }
                    let c = quoted(format_args!(
                        "masquerade LOCAL traffic for {name} external destinations"
                    ));
                    nat.text(
                        commented(
                            &ext_chain,
                            &c,
                            "-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ",
                        ),
                        &origin,
                    );
                    let c = quoted(format_args!(
                        "route LOCAL traffic for {name} external destinations"
                    ));
                    nat.text(
                        commented(
                            &ext_chain,
                            &c,
                            format_args!("-m addrtype --src-type LOCAL -j {cluster_chain}"),
                        ),
                        &origin,
                    );
                }
                if has_external {
                    nat.rule(&["-A", &ext_chain, "-j", external_policy_chain], &origin);
                }
            }
            if uses_fw {
                nat.chain(&fw_chain);
                active.insert(fw_chain.clone());
                let c = quoted(format_args!("{name} loadbalancer IP"));
                let mut from_node = false;
                for cidr in &sp.source_ranges {
                    let s = cidr.to_string();
                    nat.text(
                        commented(&fw_chain, &c, format_args!("-s {s} -j {ext_chain}")),
                        &origin,
                    );
                    from_node |= cidr.contains(&cfg.node_ip);
                }
                if from_node {
                    for ip in &sp.lb_vips {
                        let s = ip.to_string();
                        nat.text(
                            commented(&fw_chain, &c, format_args!("-s {s} -j {ext_chain}")),
                            &origin,
                        );
                    }
                }
                let c = quoted(format_args!(
                    "other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL"
                ));
                nat.rule(
                    &["-A", &fw_chain, "-m", "comment", "--comment", &c],
                    &origin,
                );
            }
            let probs: Vec<String> = (0..=cat.cluster.len().max(cat.local.len()))
                .map(|n| self.probability(n))
                .collect();
            if uses_cluster_chain {
                nat.chain(&cluster_chain);
                active.insert(cluster_chain.clone());
                service_to_endpoints(
                    &mut nat,
                    &name,
                    proto,
                    sp,
                    &cluster_chain,
                    &cat.cluster,
                    &probs,
                    large,
                );
            }
            if uses_local_chain {
                nat.chain(&local_chain);
                active.insert(local_chain.clone());
                service_to_endpoints(
                    &mut nat,
                    &name,
                    proto,
                    sp,
                    &local_chain,
                    &cat.local,
                    &probs,
                    large,
                );
            }
            for ep in &cat.reachable {
                let text = ep.text();
                let chain = endpoint_chain(&name, proto, &text);
                let eo = Origin {
                    service_port: name.clone(),
                    endpoint: Some(text.clone()),
                };
                nat.chain(&chain);
                active.insert(chain.clone());
                let mut w = vec!["-A", chain.as_str()];
                if !large {
                    w.extend(["-m", "comment", "--comment", &name]);
                }
                let ip = ep.ip.to_string();
                let mut first = w.clone();
                first.extend(["-s", &ip, "-j", "KUBE-MARK-MASQ"]);
                nat.rule(&first, &eo);
                if sp.sticky.is_some() {
                    w.extend(["-m", "recent", "--name", &chain, "--set"]);
                }
                w.extend([
                    "-m",
                    proto,
                    "-p",
                    proto,
                    "-j",
                    "DNAT",
                    "--to-destination",
                    &text,
                ]);
                nat.rule(&w, &eo);
            }
        }

        // Chains kube-proxy made before and no longer uses.
        let stale: Vec<String> = self
            .kernel_nat_chains
            .iter()
            .filter(|c| is_service_chain(c) && !active.contains(*c))
            .cloned()
            .collect();
        for c in &stale {
            r.nat_chains.push(c.clone());
            r.nat_rules.push(Line {
                text: format!("-X {c}"),
                origin: fixed.clone(),
            });
        }

        let last_rule =
            "\"kubernetes service nodeports; NOTE: this must be the last rule in this chain\"";
        match &cfg.node_port_addresses {
            None => {
                let mut w = vec![
                    "-A",
                    "KUBE-SERVICES",
                    "-m",
                    "comment",
                    "--comment",
                    last_rule,
                    "-m",
                    "addrtype",
                    "--dst-type",
                    "LOCAL",
                ];
                if cfg.ipv6 {
                    w.extend(["!", "-d", "::1/128"]);
                } else if !cfg.localhost_node_ports {
                    w.extend(["!", "-d", "127.0.0.0/8"]);
                }
                w.extend(["-j", "KUBE-NODEPORTS"]);
                r.nat_rules.push(Line {
                    text: w.join(" "),
                    origin: fixed.clone(),
                });
            }
            Some(cidrs) => {
                for ip in cfg.node_port_ips(cidrs) {
                    if ip.is_loopback() && (cfg.ipv6 || !cfg.localhost_node_ports) {
                        continue;
                    }
                    let ip = ip.to_string();
                    r.nat_rules.push(Line {
                        text: commented(
                            "KUBE-SERVICES",
                            last_rule,
                            format_args!("-d {ip} -j KUBE-NODEPORTS"),
                        ),
                        origin: fixed.clone(),
                    });
                }
            }
        }

        if !cfg.conntrack_tcp_liberal {
            let mut w = vec![
                "-A",
                "KUBE-FORWARD",
                "-m",
                "conntrack",
                "--ctstate",
                "INVALID",
            ];
            if cfg.nfacct_invalid {
                w.extend([
                    "-m",
                    "nfacct",
                    "--nfacct-name",
                    "ct_state_invalid_dropped_pkts",
                ]);
            }
            w.extend(["-j", "DROP"]);
            r.filter_rules.push(Line {
                text: w.join(" "),
                origin: fixed.clone(),
            });
        }
        r.filter_rules.push(Line {
            text: format!("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark {mark_mask} -j ACCEPT"),
            origin: fixed.clone(),
        });
        r.filter_rules.push(Line {
            text: "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into(),
            origin: fixed.clone(),
        });

        // What the kernel holds now, and what the next sync compares with.
        for c in &r.nat_chains {
            self.kernel_nat_chains.insert(c.clone());
        }
        for c in &stale {
            self.kernel_nat_chains.remove(c);
        }
        self.last = now;
        self.need_full_sync = false;
        r
    }
}

#[allow(clippy::too_many_arguments)]
fn service_to_endpoints(
    nat: &mut Out,
    name: &str,
    proto: &str,
    sp: &SvcPort,
    chain: &str,
    eps: &[Ep],
    probs: &[String],
    large: bool,
) {
    let texts: Vec<(String, String)> = eps
        .iter()
        .map(|e| {
            let t = e.text();
            let c = endpoint_chain(name, proto, &t);
            (t, c)
        })
        .collect();
    let comment = |t: &str| quoted(format_args!("{name} -> {t}"));
    if let Some(secs) = sp.sticky {
        let secs = secs.to_string();
        for (t, c) in &texts {
            let origin = Origin {
                service_port: name.to_string(),
                endpoint: Some(t.clone()),
            };
            let cm = comment(t);
            let mut w = vec!["-A", chain];
            if !large {
                w.extend(["-m", "comment", "--comment", &cm]);
            }
            w.extend([
                "-m",
                "recent",
                "--name",
                c,
                "--rcheck",
                "--seconds",
                &secs,
                "--reap",
                "-j",
                c,
            ]);
            nat.rule(&w, &origin);
        }
    }
    let n = texts.len();
    for (i, (t, c)) in texts.iter().enumerate() {
        let origin = Origin {
            service_port: name.to_string(),
            endpoint: Some(t.clone()),
        };
        let cm = comment(t);
        let mut w = vec!["-A", chain];
        if !large {
            w.extend(["-m", "comment", "--comment", &cm]);
        }
        if i + 1 < n {
            w.extend([
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                &probs[n - i],
            ]);
        }
        w.extend(["-j", c]);
        nat.rule(&w, &origin);
    }
}

/// One full sync of a fresh kube-proxy.
pub fn generate(cluster: &Cluster, config: &Config) -> Restore {
    let mut p = Proxier::new(config.clone());
    p.force_full_sync();
    p.sync(cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_are_hashed_as_kube_proxy_hashes_them() {
        // Names found in kube-proxy's own expected output.
        assert_eq!(port_proto_hash("ns1/svc1:p80", "tcp"), "XPGD46QRK7WJZT7O");
        assert_eq!(
            endpoint_chain("ns1/svc1:p80", "tcp", "10.180.0.1:80"),
            "KUBE-SEP-SXIVWICOYRO3J4NJ"
        );
        assert!(is_service_chain("KUBE-SVL-X") && !is_service_chain("KUBE-SERVICES"));
    }
}
