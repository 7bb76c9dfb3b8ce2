//! The Kubernetes objects that decide a node's rules and routes: Services,
//! EndpointSlices and Nodes, read from the YAML `kubectl get -o yaml`
//! prints, plus Packet Walk's own `Network` document naming the CNI mode.
//!
//! Only the fields kube-proxy and the CNI read are kept. A field that is
//! absent has the value the API gives it (an unset `type` is `ClusterIP`, an
//! unset `externalTrafficPolicy` is `Cluster`), and every bad value is an
//! error at its line, with the field's path.

pub mod apply;
pub mod edit;
pub mod yaml;

use crate::engine::error::{Errors, ParseError};
use crate::engine::lex::edit_distance;
use ipnet::{IpNet, Ipv4Net};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use yaml::{At, Report};

/// A Service's `spec.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceType {
    ClusterIp,
    NodePort,
    LoadBalancer,
    ExternalName,
}

/// `Cluster` or `Local` (`externalTrafficPolicy`, `internalTrafficPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    #[default]
    Cluster,
    Local,
}

/// `TCP`, `UDP` or `SCTP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// Lower case, as kube-proxy writes it in rules and hashes.
    pub fn lower(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// A Service's `spec.clusterIP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterIp {
    /// Empty: not allocated.
    Unset,
    /// `None`: a headless Service, which kube-proxy ignores.
    Headless,
    Ip(IpAddr),
}

/// `targetPort`: a number or the name of a container port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPort {
    Number(u16),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// `""` when the port has no name.
    pub name: String,
    pub protocol: Protocol,
    pub port: u16,
    pub target_port: Option<TargetPort>,
    /// 0 when there is none.
    pub node_port: u16,
    pub line: usize,
}

/// One `status.loadBalancer.ingress` entry with an IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingress {
    pub ip: IpAddr,
    /// `ipMode: Proxy`: the load balancer proxies, so kube-proxy writes no
    /// rule for this IP.
    pub proxy: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub kind: ServiceType,
    pub cluster_ip: ClusterIp,
    pub ports: Vec<ServicePort>,
    pub external_ips: Vec<IpAddr>,
    pub external_policy: Policy,
    pub internal_policy: Policy,
    /// `sessionAffinity: ClientIP`, with its timeout in seconds.
    pub affinity_timeout: Option<u32>,
    pub source_ranges: Vec<IpNet>,
    pub health_check_node_port: u16,
    pub ingress: Vec<Ingress>,
    pub line: usize,
    /// The line of `spec.clusterIP` (0 when it is not written).
    pub cluster_ip_line: usize,
    /// The line of `spec.healthCheckNodePort` (0 when it is not written).
    pub health_check_line: usize,
    /// `spec.selector` is given: the EndpointSlice controller would make
    /// its slices from the Pods it selects (here, the slices are written).
    pub has_selector: bool,
    /// Line and column of `spec.externalTrafficPolicy`'s value (line 0
    /// when it is not written).
    pub external_policy_at: (usize, usize),
}

impl Service {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Reachable from outside the cluster, as the API server counts it: a
    /// NodePort or LoadBalancer, or a ClusterIP with external IPs.
    pub fn externally_accessible(&self) -> bool {
        matches!(self.kind, ServiceType::NodePort | ServiceType::LoadBalancer)
            || (self.kind == ServiceType::ClusterIp && !self.external_ips.is_empty())
    }
}

/// An endpoint's `conditions`; unset ones are `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Conditions {
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub addresses: Vec<IpAddr>,
    pub conditions: Conditions,
    pub node_name: Option<String>,
    pub zone: Option<String>,
    /// `hints.forZones[].name`.
    pub zone_hints: Vec<String>,
    /// `hints.forNodes[].name`.
    pub node_hints: Vec<String>,
    /// `targetRef.name` when the target is a Pod.
    pub pod: Option<String>,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlicePort {
    /// `None` when the field is absent: kube-proxy then skips the port
    /// (an unnamed port is written `name: ""`).
    pub name: Option<String>,
    pub port: Option<u16>,
    pub protocol: Protocol,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressType {
    IPv4,
    IPv6,
    Fqdn,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSlice {
    pub namespace: String,
    pub name: String,
    /// The `kubernetes.io/service-name` label.
    pub service: String,
    pub address_type: AddressType,
    pub ports: Vec<SlicePort>,
    pub endpoints: Vec<Endpoint>,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub pod_cidrs: Vec<Ipv4Net>,
    /// `status.addresses` of type `InternalIP`.
    pub internal_ip: Option<Ipv4Addr>,
    pub line: usize,
    /// Lines of the first pod CIDR and of the InternalIP (the document's
    /// line when not given).
    pub cidr_line: usize,
    pub ip_line: usize,
    /// The line of `metadata.name`.
    pub name_line: usize,
}

/// A Pod: where it runs and what it listens on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    pub node_name: Option<String>,
    /// `status.podIP`.
    pub ip: Option<Ipv4Addr>,
    /// Lines of `spec.nodeName` and `status.podIP` (the document's line
    /// when not given).
    pub node_line: usize,
    pub ip_line: usize,
    /// `spec.containers[].ports[]`: protocol and port.
    pub ports: Vec<(Protocol, u16)>,
    pub line: usize,
}

/// Packet Walk's own document (`kind: Network`): the CNI and the LAN, and
/// how kube-proxy writes its rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// `calico-ipip` (the default), `calico-vxlan`, `flannel-vxlan` or
    /// `flannel-host-gw`.
    pub mode: String,
    /// The pod network (kube-proxy's `--cluster-cidr`, Calico's IP pool,
    /// Flannel's `Network`).
    pub cluster_cidr: Option<Ipv4Net>,
    /// The nodes' LAN interface (`ens33`).
    pub interface: Option<String>,
    /// The LAN's router.
    pub gateway: Option<Ipv4Addr>,
    /// Where `gateway:` is written (0 when it is not).
    pub gateway_line: usize,
    /// `legacy`: kube-proxy's rule layout of the article's time.
    pub kube_proxy: Option<String>,
    /// The packet to send first: `from` (a pod, node or `client`), `to`
    /// (a Service or `IP:port`), `proto`.
    pub preset: Option<(String, String, Option<String>)>,
    /// A title for the scenario.
    pub title: Option<String>,
    /// The API server's `--service-cluster-ip-range` (10.96.0.0/12 when
    /// not written).
    pub service_cidr: Option<Ipv4Net>,
    /// The API server's `--service-node-port-range` (30000-32767).
    pub node_port_range: Option<(u16, u16)>,
    /// Flannel's CNI config `hairpinMode` (the bridge plugin's, on every
    /// pod's port of `cni0`; true, as kube-flannel.yml writes it, when
    /// absent).
    pub hairpin_mode: Option<bool>,
    /// The MTU the CNI gives pods' veths (Calico's `veth_mtu`, Flannel's
    /// FLANNEL_MTU); the mode's own when absent (Calico IPIP 1480, VXLAN
    /// modes 1450, host-gw 1500). Set it wrong (1500 over a tunnel) to see
    /// what a misconfigured MTU does.
    pub pod_mtu: Option<u32>,
    pub line: usize,
}

/// The objects of one cluster, in the order they were written.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Cluster {
    pub services: Vec<Service>,
    pub slices: Vec<EndpointSlice>,
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub network: Option<Network>,
    /// What the API server filled in that the YAML left out (a cluster
    /// IP, a node port), said in words for the scenario's notes.
    pub allocated: Vec<String>,
}

/// The network modes [`Network::mode`] accepts.
pub const MODES: [&str; 4] = [
    "calico-ipip",
    "calico-vxlan",
    "flannel-vxlan",
    "flannel-host-gw",
];

/// Parses an address as Go's `ParseIPSloppy` does: IPv4 parts may have
/// leading zeros (read as decimal), so `172.30.0.041` is 172.30.0.41.
pub fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        return s.parse().ok();
    }
    let mut parts = [0u8; 4];
    let mut n = 0;
    for p in s.split('.') {
        if n == 4 || p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parts[n] = p.parse().ok()?;
        n += 1;
    }
    (n == 4).then(|| IpAddr::from(parts))
}

/// `addr/len` with a sloppy address; the host bits are cleared, as Go's
/// `ParseCIDR` does.
pub fn parse_cidr_sloppy(s: &str) -> Option<IpNet> {
    let (a, l) = s.split_once('/')?;
    let addr = parse_ip_sloppy(a)?;
    let len: u8 = l.parse().ok()?;
    IpNet::new(addr, len).ok().map(|n| n.trunc())
}

fn path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn item(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// `metadata.name` and `metadata.namespace` (`default` when absent).
fn metadata(doc: At, r: &mut Report) -> Option<(String, String)> {
    let meta = r.ok(doc.get("metadata"))?;
    let Some(meta) = meta else {
        r.errors.push(doc.error("metadata.name is missing"));
        return None;
    };
    let m = At::new(meta, "metadata");
    let name = match r.ok(m.get("name"))? {
        Some(n) => r.ok(dns_name(At::new(n, "metadata.name"), 253, true))?,
        None => {
            r.errors.push(m.error("name is missing"));
            return None;
        }
    };
    let ns = match r.ok(m.get("namespace"))? {
        Some(n) => r.ok(dns_name(At::new(n, "metadata.namespace"), 63, false))?,
        None => "default".to_string(),
    };
    Some((ns, name))
}

/// A name as the API server takes it (a DNS subdomain with `dots`, else
/// a label): lowercase letters, digits, `-` (and `.`), starting and ending
/// with a letter or digit, at most `max` characters. (Anything else would
/// end up in the rules' comments and the pods' routes as it is.)
fn dns_name(n: At, max: usize, dots: bool) -> Result<String, ParseError> {
    let t = n.text()?;
    let ok_char =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dots && c == '.');
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !t.is_empty()
        && t.len() <= max
        && t.chars().all(ok_char)
        && ends(t.chars().next())
        && ends(t.chars().last())
    {
        return Ok(t);
    }
    // (A long or odd one is cut and escaped by the error itself.)
    Err(n.error(format_args!(
        "\"{t}\" is not a name the API server takes: at most {max} lowercase letters, digits{}, starting and ending with a letter or digit",
        if dots { ", '-' and '.'" } else { " and '-'" },
    )))
}

fn ip_at(n: At) -> Result<IpAddr, ParseError> {
    let t = n.text()?;
    parse_ip_sloppy(t.trim()).ok_or_else(|| n.error(format_args!("\"{t}\" is not an IP address")))
}

fn protocol_at(n: Option<At>) -> Result<Protocol, ParseError> {
    let Some(n) = n else {
        return Ok(Protocol::Tcp);
    };
    match n.text()?.as_str() {
        "TCP" => Ok(Protocol::Tcp),
        "UDP" => Ok(Protocol::Udp),
        "SCTP" => Ok(Protocol::Sctp),
        other => Err(n.error(format_args!(
            "\"{other}\" is not a protocol (TCP, UDP or SCTP)"
        ))),
    }
}

fn policy_at(n: At) -> Result<Policy, ParseError> {
    match n.text()?.as_str() {
        "" | "Cluster" => Ok(Policy::Cluster),
        "Local" => Ok(Policy::Local),
        other => Err(n.error(format_args!("\"{other}\" is not Cluster or Local"))),
    }
}

/// Looks up `key` under `n` and reads it with `f`; `None` when absent.
fn field<'a, 'y, T>(
    n: At<'a, 'y>,
    key: &str,
    r: &mut Report,
    f: impl FnOnce(At<'_, 'y>) -> Result<T, ParseError>,
) -> Option<T> {
    let v = r.ok(n.get(key)).flatten()?;
    let p = path(n.path, key);
    r.ok(f(At::new(v, &p)))
}

/// An object's own fields (a Service's, a Node's, a Pod's): a typo there
/// (`spek:`) would drop the whole spec without a word.
const OBJECT: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

/// Fields of the Service and EndpointSlice API that the reader does not use
/// but that `kubectl get -o yaml` prints: accepted, and ignored.
const SERVICE_SPEC: &[&str] = &[
    "type",
    "clusterIP",
    "clusterIPs",
    "ports",
    "selector",
    "externalIPs",
    "externalTrafficPolicy",
    "internalTrafficPolicy",
    "sessionAffinity",
    "sessionAffinityConfig",
    "loadBalancerSourceRanges",
    "healthCheckNodePort",
    "loadBalancerIP",
    "loadBalancerClass",
    "ipFamilies",
    "ipFamilyPolicy",
    "allocateLoadBalancerNodePorts",
    "publishNotReadyAddresses",
    "externalName",
    "trafficDistribution",
];
const SERVICE_PORT: &[&str] = &[
    "name",
    "protocol",
    "port",
    "targetPort",
    "nodePort",
    "appProtocol",
];
const SLICE_ENDPOINT: &[&str] = &[
    "addresses",
    "conditions",
    "hostname",
    "nodeName",
    "targetRef",
    "zone",
    "hints",
    "deprecatedTopology",
];
const SLICE_CONDITIONS: &[&str] = &["ready", "serving", "terminating"];
const SLICE_PORT: &[&str] = &["name", "protocol", "port", "appProtocol"];

/// Keys of `n` outside `known` are errors, as kubectl's strict field
/// validation makes them (`unknown field "spec.clusterIp"`): a typo would
/// otherwise drop the field without a word. Names the field meant when it
/// differs only in case or by one or two letters.
fn known_fields(n: At, known: &[&str], r: &mut Report) {
    unknown_fields(n, known, "the API server refuses it", r);
}

/// [`known_fields`], saying `why` of a field outside `known`.
fn unknown_fields(n: At, known: &[&str], why: &str, r: &mut Report) {
    for (key, line, col) in n.other_keys(known) {
        let meant = known
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&key))
            .or_else(|| known.iter().find(|k| edit_distance(k, &key) <= 2));
        let p = path(n.path, &key);
        let hint = meant.map_or(String::new(), |k| format!("; did you mean \"{k}\"?"));
        r.errors.push(ParseError::new(
            line,
            col,
            format!("unknown field \"{p}\": {why}{hint}"),
        ));
    }
}

/// The kinds the reader reads.
const KINDS: &[&str] = &["Service", "EndpointSlice", "Node", "Pod", "Network"];

/// Whether `n` is a mapping; if not, one error for it (instead of one per
/// field read from it) and the caller skips it.
fn is_mapping(n: At, r: &mut Report) -> bool {
    match n.entries() {
        Ok(_) => true,
        Err(e) => {
            r.errors.push(e);
            false
        }
    }
}

fn service(doc: At, r: &mut Report) -> Option<Service> {
    let (namespace, name) = metadata(doc, r)?;
    let before = r.errors.0.len();
    known_fields(doc, OBJECT, r);
    let spec_node = r.ok(doc.get("spec")).flatten();
    let mut svc = Service {
        namespace,
        name,
        kind: ServiceType::ClusterIp,
        cluster_ip: ClusterIp::Unset,
        ports: Vec::new(),
        external_ips: Vec::new(),
        external_policy: Policy::Cluster,
        internal_policy: Policy::Cluster,
        affinity_timeout: None,
        source_ranges: Vec::new(),
        health_check_node_port: 0,
        ingress: Vec::new(),
        line: doc.line(),
        cluster_ip_line: 0,
        health_check_line: 0,
        has_selector: false,
        external_policy_at: (0, 0),
    };
    if let Some(spec_node) = spec_node {
        let spec = At::new(spec_node, "spec");
        known_fields(spec, SERVICE_SPEC, r);
        // (An empty selector selects nothing: no slices are made for it.)
        svc.has_selector = (r.ok(spec.get("selector")).flatten())
            .and_then(|n| At::new(n, "spec.selector").entries().ok())
            .is_some_and(|e| !e.is_empty());
        let errors_before_type = r.errors.0.len();
        if let Some(t) = field(spec, "type", r, |n| {
            match n.text()?.as_str() {
                "" | "ClusterIP" => Ok(ServiceType::ClusterIp),
                "NodePort" => Ok(ServiceType::NodePort),
                "LoadBalancer" => Ok(ServiceType::LoadBalancer),
                "ExternalName" => Ok(ServiceType::ExternalName),
                other => Err(n.error(format_args!(
                    "\"{other}\" is not a Service type (ClusterIP, NodePort, LoadBalancer or ExternalName)"
                ))),
            }
        }) {
            svc.kind = t;
        }
        // With a type that did not read, a node port is not judged by it.
        let type_read = r.errors.0.len() == errors_before_type;
        if let Some(c) = field(spec, "clusterIP", r, |n| {
            let t = n.text()?;
            match t.trim() {
                "" => Ok(ClusterIp::Unset),
                "None" => Ok(ClusterIp::Headless),
                _ => ip_at(n).map(ClusterIp::Ip),
            }
        }) {
            svc.cluster_ip = c;
            svc.cluster_ip_line = r
                .ok(spec.get("clusterIP"))
                .flatten()
                .map_or(0, |n| At::new(n, "").line());
        }
        if let Some(ports) = field(spec, "ports", r, |n| {
            n.items()
                .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
        }) {
            for (i, p) in ports.iter().enumerate() {
                let pp = item("spec.ports", i);
                let pn = At::new(p, &pp);
                if !is_mapping(pn, r) {
                    continue;
                }
                known_fields(pn, SERVICE_PORT, r);
                let port = field(pn, "port", r, |n| n.integer(1, 65535, "a port"));
                if port.is_none() && r.ok(pn.get("port")).flatten().is_none() {
                    r.errors.push(pn.error("port is missing"));
                }
                let sp = ServicePort {
                    name: field(pn, "name", r, |n| n.text()).unwrap_or_default(),
                    protocol: field(pn, "protocol", r, |n| protocol_at(Some(n)))
                        .unwrap_or(Protocol::Tcp),
                    port: port.unwrap_or(0) as u16,
                    target_port: field(pn, "targetPort", r, |n| {
                        match n.integer(1, 65535, "a port") {
                            Ok(v) => Ok(TargetPort::Number(v as u16)),
                            Err(e) => match n.text() {
                                Ok(t)
                                    if !t.is_empty() && !t.bytes().all(|b| b.is_ascii_digit()) =>
                                {
                                    Ok(TargetPort::Name(t))
                                }
                                _ => Err(e),
                            },
                        }
                    }),
                    node_port: field(pn, "nodePort", r, |n| {
                        let port = n.integer(0, 65535, "a port")?;
                        // As the API server: only a Service reachable from
                        // outside has node ports.
                        match svc.kind {
                            ServiceType::ClusterIp | ServiceType::ExternalName
                                if port != 0 && type_read =>
                            {
                                Err(n.error(format_args!(
                                    "may not be used when type is '{}' (the API server refuses it; NodePort or LoadBalancer have node ports)",
                                    if svc.kind == ServiceType::ClusterIp { "ClusterIP" } else { "ExternalName" }
                                )))
                            }
                            _ => Ok(port),
                        }
                    })
                    .unwrap_or(0) as u16,
                    line: pn.line(),
                };
                svc.ports.push(sp);
            }
        }
        if let Some(ips) = field(spec, "externalIPs", r, |n| {
            n.items()
                .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
        }) {
            for (i, ip) in ips.iter().enumerate() {
                let p = item("spec.externalIPs", i);
                if let Some(a) = r.ok(ip_at(At::new(ip, &p))) {
                    svc.external_ips.push(a);
                }
            }
        }
        if let Some(p) = field(spec, "externalTrafficPolicy", r, policy_at) {
            svc.external_policy = p;
            svc.external_policy_at =
                r.ok(spec.get("externalTrafficPolicy"))
                    .flatten()
                    .map_or((0, 0), |n| {
                        let at = At::new(n, "");
                        (at.line(), at.column())
                    });
        }
        if let Some(p) = field(spec, "internalTrafficPolicy", r, policy_at) {
            svc.internal_policy = p;
        }
        let affinity = field(spec, "sessionAffinity", r, |n| match n.text()?.as_str() {
            "" | "None" => Ok(false),
            "ClientIP" => Ok(true),
            other => Err(n.error(format_args!("\"{other}\" is not None or ClientIP"))),
        });
        if affinity == Some(true) {
            let timeout = r
                .ok(spec.get("sessionAffinityConfig"))
                .flatten()
                .and_then(|c| {
                    let c = At::new(c, "spec.sessionAffinityConfig");
                    let ci = r.ok(c.get("clientIP")).flatten()?;
                    let ci = At::new(ci, "spec.sessionAffinityConfig.clientIP");
                    field(ci, "timeoutSeconds", r, |n| n.integer(1, 86400, "seconds"))
                });
            svc.affinity_timeout = Some(timeout.unwrap_or(10800) as u32);
        }
        if let Some(ranges) = field(spec, "loadBalancerSourceRanges", r, |n| {
            n.items()
                .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
        }) {
            for (i, c) in ranges.iter().enumerate() {
                let p = item("spec.loadBalancerSourceRanges", i);
                let n = At::new(c, &p);
                if let Some(t) = r.ok(n.text()) {
                    match parse_cidr_sloppy(t.trim()) {
                        Some(net) => svc.source_ranges.push(net),
                        None => r.errors.push(
                            n.error(format_args!("\"{t}\" is not a CIDR (like 203.0.113.0/25)")),
                        ),
                    }
                }
            }
        }
        if let Some(p) = field(spec, "healthCheckNodePort", r, |n| {
            n.integer(0, 65535, "a port")
        }) {
            svc.health_check_node_port = p as u16;
            svc.health_check_line = r
                .ok(spec.get("healthCheckNodePort"))
                .flatten()
                .map_or(0, |n| At::new(n, "").line());
        }
        let needs_ports =
            !matches!(svc.kind, ServiceType::ExternalName) && svc.cluster_ip != ClusterIp::Headless;
        if needs_ports && svc.ports.is_empty() && r.errors.0.len() == before {
            r.errors.push(
                spec.error(
                    "ports: Required value (the API server refuses a Service without ports)",
                ),
            );
        }
    } else if r.errors.0.len() == before {
        r.errors.push(
            doc.error(
                "spec.ports: Required value (the API server refuses a Service without ports)",
            ),
        );
    }
    if let Some(status) = r.ok(doc.get("status")).flatten() {
        let st = At::new(status, "status");
        let lb = r
            .ok(st.get("loadBalancer"))
            .flatten()
            .map(|n| At::new(n, "status.loadBalancer"));
        if let Some(lb) = lb {
            if let Some(ing) = field(lb, "ingress", r, |n| {
                n.items()
                    .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
            }) {
                for (i, e) in ing.iter().enumerate() {
                    let p = item("status.loadBalancer.ingress", i);
                    let n = At::new(e, &p);
                    if !is_mapping(n, r) {
                        continue;
                    }
                    let Some(ip) = field(n, "ip", r, ip_at) else {
                        continue;
                    };
                    let proxy = field(n, "ipMode", r, |m| match m.text()?.as_str() {
                        "VIP" => Ok(false),
                        "Proxy" => Ok(true),
                        other => Err(m.error(format_args!("\"{other}\" is not VIP or Proxy"))),
                    })
                    .unwrap_or(false);
                    svc.ingress.push(Ingress { ip, proxy });
                }
            }
        }
    }
    (r.errors.0.len() == before).then_some(svc)
}

fn endpoint_slice(doc: At, r: &mut Report) -> Option<EndpointSlice> {
    let (namespace, name) = metadata(doc, r)?;
    let before = r.errors.0.len();
    known_fields(
        doc,
        &[
            "apiVersion",
            "kind",
            "metadata",
            "addressType",
            "endpoints",
            "ports",
        ],
        r,
    );
    let meta = At::new(r.ok(doc.get("metadata")).flatten()?, "metadata");
    let labels = r
        .ok(meta.get("labels"))
        .flatten()
        .map(|l| At::new(l, "metadata.labels"));
    let service = labels.and_then(|l| field(l, "kubernetes.io/service-name", r, |n| n.text()));
    let Some(service) = service else {
        r.errors.push(doc.error(
            "an EndpointSlice needs the label kubernetes.io/service-name naming its Service",
        ));
        return None;
    };
    let address_type = field(doc, "addressType", r, |n| match n.text()?.as_str() {
        "IPv4" => Ok(AddressType::IPv4),
        "IPv6" => Ok(AddressType::IPv6),
        "FQDN" => Ok(AddressType::Fqdn),
        other => Err(n.error(format_args!("\"{other}\" is not IPv4, IPv6 or FQDN"))),
    })
    .unwrap_or(AddressType::IPv4);
    // kube-proxy reads no FQDN slices (an ExternalName's): kept, without
    // its addresses, which are names.
    let fqdn = address_type == AddressType::Fqdn;
    let mut slice = EndpointSlice {
        namespace,
        name,
        service,
        address_type,
        ports: Vec::new(),
        endpoints: Vec::new(),
        line: doc.line(),
    };
    if let Some(ports) = field(doc, "ports", r, |n| {
        n.items()
            .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
    }) {
        for (i, p) in ports.iter().enumerate() {
            let pp = item("ports", i);
            let n = At::new(p, &pp);
            if !is_mapping(n, r) {
                continue;
            }
            known_fields(n, SLICE_PORT, r);
            let named = r
                .ok(n.entries())
                .is_some_and(|e| e.iter().any(|(k, _)| k == "name"));
            slice.ports.push(SlicePort {
                name: if named {
                    Some(field(n, "name", r, |n| n.text()).unwrap_or_default())
                } else {
                    None
                },
                port: field(n, "port", r, |n| n.integer(1, 65535, "a port")).map(|v| v as u16),
                protocol: field(n, "protocol", r, |n| protocol_at(Some(n)))
                    .unwrap_or(Protocol::Tcp),
            });
        }
    }
    if let Some(eps) = field(doc, "endpoints", r, |n| {
        n.items()
            .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
    })
    .filter(|_| !fqdn)
    {
        for (i, e) in eps.iter().enumerate() {
            let ep = item("endpoints", i);
            let n = At::new(e, &ep);
            if !is_mapping(n, r) {
                continue;
            }
            known_fields(n, SLICE_ENDPOINT, r);
            let mut addresses = Vec::new();
            if let Some(addrs) = field(n, "addresses", r, |n| {
                n.items()
                    .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
            }) {
                for (j, a) in addrs.iter().enumerate() {
                    let p = item(&path(&ep, "addresses"), j);
                    let at = At::new(a, &p);
                    match r.ok(ip_at(at)) {
                        // The API server checks each address against the
                        // slice's addressType.
                        Some(IpAddr::V6(_)) if address_type == AddressType::IPv4 => r.errors.push(
                            at.error("must be a valid IPv4 address, as the slice's addressType: IPv4 says (the API server refuses it)"),
                        ),
                        Some(IpAddr::V4(_)) if address_type == AddressType::IPv6 => r.errors.push(
                            at.error("must be a valid IPv6 address, as the slice's addressType: IPv6 says (the API server refuses it)"),
                        ),
                        Some(ip) => addresses.push(ip),
                        None => {}
                    }
                }
            }
            let mut conditions = Conditions::default();
            if let Some(c) = r.ok(n.get("conditions")).flatten() {
                let cp = path(&ep, "conditions");
                let c = At::new(c, &cp);
                known_fields(c, SLICE_CONDITIONS, r);
                if !is_mapping(c, r) {
                    continue;
                }
                conditions.ready = field(c, "ready", r, |n| n.boolean());
                conditions.serving = field(c, "serving", r, |n| n.boolean());
                conditions.terminating = field(c, "terminating", r, |n| n.boolean());
            }
            let (mut zone_hints, mut node_hints) = (Vec::new(), Vec::new());
            if let Some(h) = r.ok(n.get("hints")).flatten() {
                let hp = path(&ep, "hints");
                let h = At::new(h, &hp);
                for (key, out) in [("forZones", &mut zone_hints), ("forNodes", &mut node_hints)] {
                    let Some(list) = field(h, key, r, |n| {
                        n.items()
                            .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
                    }) else {
                        continue;
                    };
                    let lp = path(&hp, key);
                    for z in &list {
                        if let Some(name) = field(At::new(z, &lp), "name", r, |n| n.text()) {
                            out.push(name);
                        }
                    }
                }
            }
            slice.endpoints.push(Endpoint {
                addresses,
                conditions,
                node_name: field(n, "nodeName", r, |n| n.text()),
                zone: field(n, "zone", r, |n| n.text()),
                zone_hints,
                node_hints,
                pod: r
                    .ok(n.get("targetRef"))
                    .flatten()
                    .and_then(|t| {
                        let tp = path(&ep, "targetRef");
                        let t = At::new(t, &tp);
                        let kind = field(t, "kind", r, |n| n.text());
                        (kind.as_deref() == Some("Pod")).then(|| field(t, "name", r, |n| n.text()))
                    })
                    .flatten(),
                line: n.line(),
            });
        }
    }
    (r.errors.0.len() == before).then_some(slice)
}

fn node(doc: At, r: &mut Report) -> Option<Node> {
    let (_, name) = metadata(doc, r)?;
    known_fields(doc, OBJECT, r);
    let name_line = (doc.get("metadata").ok().flatten())
        .and_then(|m| {
            At::new(m, "metadata")
                .get("name")
                .ok()
                .flatten()
                .map(|n| At::new(n, "metadata.name").line())
        })
        .unwrap_or(doc.line());
    let mut node = Node {
        name,
        pod_cidrs: Vec::new(),
        internal_ip: None,
        line: doc.line(),
        cidr_line: doc.line(),
        ip_line: doc.line(),
        name_line,
    };
    if let Some(spec) = r.ok(doc.get("spec")).flatten() {
        let spec = At::new(spec, "spec");
        // Each at its own line; IPv6 pod CIDRs are not simulated.
        let mut first_line = None;
        let mut parse = |n: At| -> Result<Option<Ipv4Net>, ParseError> {
            first_line.get_or_insert(n.line());
            let t = n.text()?;
            match t.trim().parse::<Ipv4Net>() {
                Ok(net) => Ok(Some(net.trunc())),
                Err(_) if t.contains(':') => Ok(None),
                Err(_) => Err(n.error(format_args!(
                    "\"{t}\" is not an IPv4 CIDR (like 10.244.1.0/24)"
                ))),
            }
        };
        let mut cidrs: Vec<Ipv4Net> = Vec::new();
        if let Some(Some(c)) = field(spec, "podCIDR", r, &mut parse) {
            cidrs.push(c);
        }
        if let Some(list) = field(spec, "podCIDRs", r, |n| {
            n.items()
                .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
        }) {
            for (i, c) in list.iter().enumerate() {
                let p = item("spec.podCIDRs", i);
                if let Some(Some(net)) = r.ok(parse(At::new(c, &p))) {
                    cidrs.push(net);
                }
            }
        }
        node.cidr_line = first_line.unwrap_or(node.line);
        for net in cidrs {
            if !node.pod_cidrs.contains(&net) {
                node.pod_cidrs.push(net);
            }
        }
    }
    if let Some(status) = r.ok(doc.get("status")).flatten() {
        let st = At::new(status, "status");
        if let Some(addrs) = field(st, "addresses", r, |n| {
            n.items()
                .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
        }) {
            for (i, a) in addrs.iter().enumerate() {
                let p = item("status.addresses", i);
                let n = At::new(a, &p);
                if !is_mapping(n, r) {
                    continue;
                }
                if field(n, "type", r, |n| n.text()).as_deref() == Some("InternalIP") {
                    let mut line = n.line();
                    let ip = field(n, "address", r, |a| {
                        line = a.line();
                        ip_at(a)
                    });
                    if let (Some(IpAddr::V4(ip)), None) = (ip, node.internal_ip) {
                        node.internal_ip = Some(ip);
                        node.ip_line = line;
                    }
                }
            }
        }
    }
    Some(node)
}

fn pod(doc: At, r: &mut Report) -> Option<Pod> {
    let (namespace, name) = metadata(doc, r)?;
    known_fields(doc, OBJECT, r);
    let mut pod = Pod {
        namespace,
        name,
        node_name: None,
        ip: None,
        node_line: doc.line(),
        ip_line: doc.line(),
        ports: Vec::new(),
        line: doc.line(),
    };
    if let Some(spec) = r.ok(doc.get("spec")).flatten() {
        let spec = At::new(spec, "spec");
        // A pod on its node's own network (kube-proxy's, calico-node's, a
        // control plane's) is the node's processes: no netns, no veth.
        if field(spec, "hostNetwork", r, |n| n.boolean()) == Some(true) {
            return None;
        }
        pod.node_name = field(spec, "nodeName", r, |n| {
            pod.node_line = n.line();
            n.text()
        });
        let containers = field(spec, "containers", r, |n| {
            n.items()
                .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
        })
        .unwrap_or_default();
        for (i, c) in containers.iter().enumerate() {
            let cp = item("spec.containers", i);
            let c = At::new(c, &cp);
            if !is_mapping(c, r) {
                continue;
            }
            let ports = field(c, "ports", r, |n| {
                n.items()
                    .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
            })
            .unwrap_or_default();
            for (j, p) in ports.iter().enumerate() {
                let pp = item(&path(&cp, "ports"), j);
                let p = At::new(p, &pp);
                let port = field(p, "containerPort", r, |n| n.integer(1, 65535, "a port"));
                let proto =
                    field(p, "protocol", r, |n| protocol_at(Some(n))).unwrap_or(Protocol::Tcp);
                if let Some(port) = port {
                    pod.ports.push((proto, port as u16));
                }
            }
        }
    }
    if let Some(status) = r.ok(doc.get("status")).flatten() {
        let st = At::new(status, "status");
        pod.ip = field(st, "podIP", r, |n| {
            pod.ip_line = n.line();
            match ip_at(n)? {
                IpAddr::V4(a) => Ok(a),
                IpAddr::V6(_) => Err(n.error("an IPv6 pod address is not simulated")),
            }
        });
    }
    Some(pod)
}

/// The fields of Packet Walk's `Network` document.
const NETWORK: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "mode",
    "clusterCIDR",
    "interface",
    "gateway",
    "kubeProxy",
    "preset",
    "title",
    "serviceClusterIPRange",
    "serviceNodePortRange",
    "hairpinMode",
    "podMTU",
];

fn network(doc: At, r: &mut Report) -> Option<Network> {
    unknown_fields(
        doc,
        NETWORK,
        "the Network document has no such field (the README lists them)",
        r,
    );
    let mode = field(doc, "mode", r, |n| {
        let m = n.text()?;
        if MODES.contains(&m.as_str()) {
            Ok(m)
        } else {
            Err(n.error(format_args!(
                "\"{m}\" is not a network mode ({})",
                MODES.join(", ")
            )))
        }
    })
    .unwrap_or_else(|| MODES[0].to_string());
    let cidr = |n: At| {
        let t = n.text()?;
        t.trim().parse::<Ipv4Net>().map(|c| c.trunc()).map_err(|_| {
            n.error(format_args!(
                "\"{t}\" is not an IPv4 CIDR (like 172.16.0.0/16)"
            ))
        })
    };
    Some(Network {
        mode,
        cluster_cidr: field(doc, "clusterCIDR", r, cidr),
        interface: field(doc, "interface", r, |n| {
            let t = n.text()?;
            match crate::engine::scenario::device_name_error(&t) {
                Some(why) => Err(n.error(why)),
                None => Ok(t),
            }
        }),
        gateway: field(doc, "gateway", r, |n| match ip_at(n)? {
            IpAddr::V4(a) => Ok(a),
            IpAddr::V6(_) => Err(n.error("expected an IPv4 address")),
        }),
        gateway_line: r
            .ok(doc.get("gateway"))
            .flatten()
            .map_or(0, |g| At::new(g, "gateway").line()),
        kube_proxy: field(doc, "kubeProxy", r, |n| {
            let t = n.text()?;
            match t.as_str() {
                "current" | "legacy" => Ok(t),
                _ => Err(n.error(format_args!("\"{t}\" is not current or legacy"))),
            }
        }),
        preset: r.ok(doc.get("preset")).flatten().and_then(|p| {
            let p = At::new(p, "preset");
            let from = field(p, "from", r, |n| n.text());
            let to = field(p, "to", r, |n| n.text());
            let proto = field(p, "proto", r, |n| n.text());
            match (from, to) {
                (Some(f), Some(t)) => Some((f, t, proto)),
                _ => {
                    r.errors.push(p.error("a preset needs from and to"));
                    None
                }
            }
        }),
        title: field(doc, "title", r, |n| n.text()),
        service_cidr: field(doc, "serviceClusterIPRange", r, cidr),
        node_port_range: field(doc, "serviceNodePortRange", r, |n| {
            let t = n.text()?;
            let range = t.split_once('-').and_then(|(a, b)| {
                let (a, b) = (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?);
                (a <= b).then_some((a, b))
            });
            range.ok_or_else(|| {
                n.error(format_args!(
                    "\"{t}\" is not a port range (like 30000-32767)"
                ))
            })
        }),
        hairpin_mode: field(doc, "hairpinMode", r, |n| n.boolean()),
        pod_mtu: field(doc, "podMTU", r, |n| {
            n.integer(68, 65535, "an MTU").map(|m| m as u32)
        }),
        line: doc.line(),
    })
}

/// What the API server allocates when a Service leaves it out (for a
/// cluster with a `Network` document, which stands for its configuration):
/// a cluster IP from `serviceClusterIPRange`, a node port for each port of
/// a NodePort or LoadBalancer, a health check node port for a Local
/// LoadBalancer. It picks at random; the first free one keeps a scenario
/// the same each time it is made. Each is said in `Cluster::allocated`.
fn allocate(c: &mut Cluster) {
    let net = (c.network.as_ref())
        .and_then(|n| n.service_cidr)
        .unwrap_or_else(|| "10.96.0.0/12".parse().expect("valid"));
    let mut ips: std::collections::HashSet<IpAddr> = (c.services.iter())
        .filter_map(|s| match s.cluster_ip {
            ClusterIp::Ip(ip) => Some(ip),
            _ => None,
        })
        .collect();
    // Addresses are only taken, so the first free one only moves on: the
    // search goes on from the last one given.
    let mut hosts = net.hosts().map(IpAddr::V4);
    let mut used = edit::node_ports_taken(c);
    let mut said = Vec::new();
    for i in 0..c.services.len() {
        let s = &c.services[i];
        let (key, line) = (s.key(), s.line);
        if s.cluster_ip == ClusterIp::Unset && s.kind != ServiceType::ExternalName {
            let free = hosts.find(|ip| !ips.contains(ip));
            if let Some(ip) = free {
                ips.insert(ip);
                c.services[i].cluster_ip = ClusterIp::Ip(ip);
                said.push(format!("line {line}: {key} has no spec.clusterIP: the API server allocates one from {net}; {ip} is used (the first free)."));
            }
        }
        let s = &c.services[i];
        let with_node_ports = matches!(s.kind, ServiceType::NodePort | ServiceType::LoadBalancer);
        for k in 0..s.ports.len() {
            if with_node_ports && c.services[i].ports[k].node_port == 0 {
                if let Some(p) = edit::free_node_port(c, &mut used) {
                    c.services[i].ports[k].node_port = p;
                    said.push(format!("line {line}: port {} of {key} has no nodePort: the API server allocates {p} (the first free in its range).", c.services[i].ports[k].port));
                }
            }
        }
        let s = &c.services[i];
        if s.kind == ServiceType::LoadBalancer
            && s.external_policy == Policy::Local
            && s.health_check_node_port == 0
        {
            if let Some(p) = edit::free_node_port(c, &mut used) {
                c.services[i].health_check_node_port = p;
                said.push(format!("line {line}: {key} has no spec.healthCheckNodePort: the API server allocates {p}."));
            }
        }
    }
    c.allocated = said;
}

/// What the API server refuses across Services: a cluster IP or a node
/// port taken twice, and (for a cluster with a `Network` document, which
/// stands for its configuration) one outside the ranges it allocates from.
/// Objects without one are taken as kube-proxy's tests feed them.
fn api_server_checks(c: &Cluster, r: &mut Report) {
    // One object of a kind and name (in a namespace): a second is refused
    // ("AlreadyExists"). (A Node twice is the CNI's error, at its name.)
    // (Maps: a cluster of 100,000 objects is read in seconds, not minutes.)
    let mut names: HashMap<(&str, String), usize> = HashMap::new();
    let objects = (c.services.iter().map(|s| ("Service", s.key(), s.line)))
        .chain((c.pods.iter()).map(|p| ("Pod", format!("{}/{}", p.namespace, p.name), p.line)));
    for (kind, name, line) in objects {
        if let Some(first) = names.get(&(kind, name.clone())) {
            r.errors.push(ParseError::new(line, 1, format!(
                "{kind} \"{name}\" already exists (at line {first}): the API server refuses a second one of that name"
            )));
        } else {
            names.insert((kind, name), line);
        }
    }
    let mut ips: HashMap<IpAddr, usize> = HashMap::new();
    // Node ports given so far, by node port: Service, port number (0 for
    // a health check's), protocol, line.
    struct Taken {
        service: String,
        port: u16,
        proto: Option<Protocol>,
        line: usize,
    }
    let mut node_ports: HashMap<u16, Vec<Taken>> = HashMap::new();
    let cidr = c.network.as_ref().map(|n| {
        n.service_cidr
            .unwrap_or(Ipv4Net::new(Ipv4Addr::new(10, 96, 0, 0), 12).expect("valid"))
    });
    let range = c
        .network
        .as_ref()
        .map(|n| n.node_port_range.unwrap_or((30000, 32767)));
    for s in &c.services {
        if let ClusterIp::Ip(ip) = s.cluster_ip {
            let at = s.cluster_ip_line.max(s.line);
            if let Some(first) = ips.get(&ip) {
                r.errors.push(ParseError::new(at, 1, format!(
                    "spec.clusterIP: Invalid value: \"{ip}\": provided IP is already allocated (to the Service at line {first})"
                )));
            } else {
                ips.insert(ip, at);
            }
            if let (Some(net), IpAddr::V4(v4)) = (cidr, ip) {
                // The allocator hands out neither the network's own address
                // nor its broadcast address.
                if !net.contains(&v4) || v4 == net.network() || v4 == net.broadcast() {
                    r.errors.push(ParseError::new(at, 1, format!(
                        "spec.clusterIP: Invalid value: \"{ip}\": provided IP is not in the valid range {net} (the Network document's serviceClusterIPRange, the API server's --service-cluster-ip-range)"
                    )));
                }
            }
        }
        // A port number and protocol once per Service (validateServicePort).
        let mut given: HashMap<(u16, Protocol), usize> = HashMap::new();
        for (i, p) in s.ports.iter().enumerate() {
            if let Some(q) = given.get(&(p.port, p.protocol)).map(|&k| &s.ports[k]) {
                r.errors.push(ParseError::new(p.line, 1, format!(
                    "spec.ports[{i}]: Duplicate value: port {} {} (as at line {}): a Service gives a port number and protocol once",
                    p.port,
                    p.protocol.lower().to_ascii_uppercase(),
                    q.line
                )));
            } else {
                given.insert((p.port, p.protocol), i);
            }
        }
        // Port names are unique in a Service (the API server's
        // validateServicePort); several ports must each have one.
        let mut named: HashMap<&str, usize> = HashMap::new();
        for (i, p) in s.ports.iter().enumerate() {
            let dup = named.get(p.name.as_str()).map(|&k| &s.ports[k]);
            named.entry(p.name.as_str()).or_insert(i);
            if let Some(q) = dup.filter(|_| !p.name.is_empty()) {
                r.errors.push(ParseError::new(
                    p.line,
                    1,
                    format!(
                        "spec.ports[{i}].name: Duplicate value: \"{}\" (as at line {})",
                        p.name, q.line
                    ),
                ));
            } else if p.name.is_empty() && s.ports.len() > 1 {
                r.errors.push(ParseError::new(p.line, 1, format!(
                    "spec.ports[{i}].name: Required value: a Service with more than one port names each of them"
                )));
            }
        }
        let key = s.key();
        // Each node port with its field, port number (0: the health
        // check's) and protocol.
        let ports = s.ports.iter().enumerate().map(|(i, p)| {
            (
                format!("spec.ports[{i}].nodePort"),
                p.node_port,
                p.port,
                Some(p.protocol),
                p.line,
            )
        });
        if s.external_policy_at.0 != 0 && !s.externally_accessible() {
            let policy = match s.external_policy {
                Policy::Local => "Local",
                Policy::Cluster => "Cluster",
            };
            r.errors.push(ParseError::new(s.external_policy_at.0, s.external_policy_at.1, format!(
                "spec.externalTrafficPolicy: Invalid value: \"{policy}\": may only be set for externally-accessible services (type NodePort or LoadBalancer, or external IPs)"
            )));
        }
        // The API server keeps a health check port only for a
        // LoadBalancer with the Local policy (kube-proxy ignores others).
        let local_lb = s.kind == ServiceType::LoadBalancer && s.external_policy == Policy::Local;
        let health = (s.health_check_node_port != 0 && local_lb).then(|| {
            (
                "spec.healthCheckNodePort".to_string(),
                s.health_check_node_port,
                0,
                None,
                s.health_check_line.max(s.line),
            )
        });
        for (field, np, port, proto, line) in ports.chain(health).filter(|p| p.1 != 0) {
            if let Some((lo, hi)) = range.filter(|(lo, hi)| !(*lo..=*hi).contains(&np)) {
                r.errors.push(ParseError::new(line, 1, format!(
                    "{field}: Invalid value: {np}: provided port is not in the valid range. The range of valid ports is {lo}-{hi} (the Network document's serviceNodePortRange)"
                )));
            }
            // One Service may give the TCP and UDP of one port number the
            // same node port; nothing else may share one.
            let same = node_ports.get(&np).into_iter().flatten();
            let other = same
                .clone()
                .find(|t| t.service != key || t.port != port || port == 0);
            let twice = same
                .clone()
                .find(|t| t.service == key && t.port == port && t.proto == proto);
            if let Some(t) = twice.filter(|_| port != 0) {
                r.errors.push(ParseError::new(
                    line,
                    1,
                    format!("{field}: Duplicate value: {np} (as at line {})", t.line),
                ));
            } else if let Some(t) = other {
                r.errors.push(ParseError::new(line, 1, format!(
                    "{field}: Invalid value: {np}: provided port is already allocated (at line {})", t.line
                )));
            }
            node_ports.entry(np).or_default().push(Taken {
                service: key.clone(),
                port,
                proto,
                line,
            });
        }
    }
}

impl Cluster {
    /// Reads Services, EndpointSlices, Nodes, Pods and a `kind: Network` document
    /// from multi-document YAML; `kind: List` documents (what `kubectl get
    /// -o yaml` prints for several objects) are unpacked. Other kinds are
    /// skipped. Every error is reported, each at its line.
    pub fn from_yaml(text: &str) -> Result<Cluster, Errors> {
        let docs = yaml::documents(text)?;
        let mut r = Report::default();
        let mut cluster = Cluster::default();
        let mut objects = Vec::new();
        for d in &docs {
            let doc = At::new(d, "");
            if doc.is_null() {
                continue; // an empty document, or only comments
            }
            if !is_mapping(doc, &mut r) {
                continue;
            }
            let Some(kind) = field(doc, "kind", &mut r, |n| n.text()) else {
                if doc.get("kind").ok().flatten().is_none() {
                    r.errors.push(doc.error(
                        "this document has no kind (Service, EndpointSlice, Node or Network)",
                    ));
                }
                continue;
            };
            if kind == "List" {
                if let Some(items) = field(doc, "items", &mut r, |n| {
                    n.items()
                        .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
                }) {
                    for it in items {
                        let k = field(At::new(&it, ""), "kind", &mut r, |n| n.text());
                        objects.push((k.unwrap_or_default(), it));
                    }
                }
            } else {
                objects.push((kind, d.clone()));
            }
        }
        for (kind, obj) in &objects {
            let doc = At::new(obj, "");
            match kind.as_str() {
                "Service" => {
                    if let Some(s) = service(doc, &mut r) {
                        cluster.services.push(s);
                    }
                }
                "EndpointSlice" => {
                    if let Some(s) = endpoint_slice(doc, &mut r) {
                        cluster.slices.push(s);
                    }
                }
                "Node" => {
                    if let Some(n) = node(doc, &mut r) {
                        cluster.nodes.push(n);
                    }
                }
                "Pod" => {
                    if let Some(p) = pod(doc, &mut r) {
                        cluster.pods.push(p);
                    }
                }
                "Network" => {
                    if let Some(n) = network(doc, &mut r) {
                        if let Some(first) = &cluster.network {
                            r.errors.push(doc.error(format_args!(
                                "a second Network document (the first is at line {})",
                                first.line
                            )));
                        }
                        cluster.network = Some(n);
                    }
                }
                // Other kinds (a Deployment in `kubectl get all`) are not
                // read; a near miss of one that is, is a typo.
                other => {
                    let letters = |w: &str| {
                        let mut v: Vec<u8> = w.to_ascii_lowercase().into_bytes();
                        v.sort_unstable();
                        v
                    };
                    let meant = KINDS.iter().find(|k| {
                        k.eq_ignore_ascii_case(other)
                            || letters(k) == letters(other)
                            || (k.len() > 4 && edit_distance(k, other) <= 2)
                            || edit_distance(k, other) <= 1
                    });
                    // (A kind is one word, letters and digits: `Service x1`
                    // is a kind of none, not one left out.)
                    let word =
                        !other.is_empty() && other.chars().all(|c| c.is_ascii_alphanumeric());
                    let at = r.ok(doc.get("kind")).flatten().map(|n| At::new(n, "kind"));
                    let at = at.unwrap_or(doc);
                    if let Some(k) = meant {
                        r.errors.push(at.error(format_args!(
                            "\"{other}\" is not a kind Packet Walk reads (Service, EndpointSlice, Node, Pod, Network); did you mean \"{k}\"?"
                        )));
                    } else if !word {
                        r.errors.push(at.error(format_args!(
                            "\"{other}\" is not a kind: a kind is one word (Service, EndpointSlice, Node, Pod, Network are read; others are left out)"
                        )));
                    }
                }
            }
        }
        if r.errors.is_empty() {
            api_server_checks(&cluster, &mut r);
        }
        if r.errors.is_empty() && cluster.network.is_some() {
            allocate(&mut cluster);
        }
        if r.errors.is_empty() {
            Ok(cluster)
        } else {
            Err(r.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sloppy_addresses_are_read_as_go_reads_them() {
        assert_eq!(parse_ip_sloppy("172.30.0.041"), "172.30.0.41".parse().ok());
        assert_eq!(parse_ip_sloppy("2001:db8::1"), "2001:db8::1".parse().ok());
        for bad in ["1.2.3", "1.2.3.256", "1.2.3.4.5", "a.b.c.d", "", "1..2.3"] {
            assert_eq!(parse_ip_sloppy(bad), None, "{bad}");
        }
        assert_eq!(
            parse_cidr_sloppy("203.0.113.7/25"),
            "203.0.113.0/25".parse().ok()
        );
    }

    #[test]
    fn bad_fields_are_reported_at_their_line_with_their_path() {
        let text = "\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: 10.96.0.300
  ports:
  - port: eighty
    protocol: TCPX
  externalTrafficPolicy: Locale
---
kind: EndpointSlice
metadata:
  name: web-1
";
        let errs = Cluster::from_yaml(text).unwrap_err();
        let got: Vec<(usize, String)> =
            errs.0.iter().map(|e| (e.line, e.message.clone())).collect();
        assert_eq!(
            got,
            vec![
                (6, "spec.clusterIP: \"10.96.0.300\" is not an IP address".to_string()),
                (8, "spec.ports[0].port: expected a port from 1 to 65535, found \"eighty\"".into()),
                (9, "spec.ports[0].protocol: \"TCPX\" is not a protocol (TCP, UDP or SCTP)".into()),
                (10, "spec.externalTrafficPolicy: \"Locale\" is not Cluster or Local".into()),
                (12, "an EndpointSlice needs the label kubernetes.io/service-name naming its Service".into()),
            ]
        );
        // A list item that is not a mapping is one error, not one per field.
        let e = Cluster::from_yaml("kind: Service\nmetadata: {name: a}\nspec:\n  ports: [80]\n")
            .unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        assert_eq!(
            e.0[0].message,
            "spec.ports[0]: expected a mapping, found 80"
        );
        let syntax = Cluster::from_yaml("kind: Service\nspec: {\n").unwrap_err();
        assert_eq!(syntax.0[0].line, 3);
        assert!(
            syntax.0[0].message.starts_with("YAML: "),
            "{}",
            syntax.0[0].message
        );
    }

    /// What the API server refuses is an error at its line, not a Service
    /// that silently loses a field or vanishes: a field it does not know
    /// (kubectl's strict validation), a kind misspelt, a node port on a
    /// ClusterIP. Kinds the reader does not read (a Deployment) are skipped.
    #[test]
    fn what_the_api_server_refuses_is_an_error_at_its_line() {
        let svc = "kind: Service\nmetadata: {name: web}\nspec:\n";
        let slice = "kind: EndpointSlice\nmetadata:\n  name: web-1\n  labels: {kubernetes.io/service-name: web}\n";
        let cases: &[(&str, String, usize, &str)] = &[
            ("a field in the wrong case", format!("{svc}  clusterIp: 10.96.0.10\n"), 4,
             "unknown field \"spec.clusterIp\": the API server refuses it; did you mean \"clusterIP\"?"),
            ("a port field misspelt", format!("{svc}  ports:\n  - port: 80\n    targetPrt: 8080\n"), 6,
             "unknown field \"spec.ports[0].targetPrt\": the API server refuses it; did you mean \"targetPort\"?"),
            ("a kind misspelt", "kind: Servic\nmetadata: {name: web}\n".into(), 1,
             "kind: \"Servic\" is not a kind Packet Walk reads (Service, EndpointSlice, Node, Pod, Network); did you mean \"Service\"?"),
            ("a type misspelt: its error only", format!("{svc}  type: Nodeport\n  ports:\n  - port: 80\n    nodePort: 30080\n"), 4,
             "spec.type: \"Nodeport\" is not a Service type (ClusterIP, NodePort, LoadBalancer or ExternalName)"),
            ("a node port on a ClusterIP", format!("{svc}  type: ClusterIP\n  ports:\n  - port: 80\n    nodePort: 30080\n"), 7,
             "spec.ports[0].nodePort: may not be used when type is 'ClusterIP' (the API server refuses it; NodePort or LoadBalancer have node ports)"),
            ("an endpoint field misspelt", format!("{slice}endpoints:\n- addresses: [10.0.0.1]\n  nodename: n1\n"), 7,
             "unknown field \"endpoints[0].nodename\": the API server refuses it; did you mean \"nodeName\"?"),
            ("a condition misspelt", format!("{slice}endpoints:\n- addresses: [10.0.0.1]\n  conditions: {{redy: true}}\n"), 7,
             "unknown field \"endpoints[0].conditions.redy\": the API server refuses it; did you mean \"ready\"?"),
            // Across Services, and against the ranges of a cluster with a
            // Network document.
            ("a Network field misspelt", "kind: Network\nhairpinMod: false\n".into(), 2,
             "unknown field \"hairpinMod\": the Network document has no such field (the README lists them); did you mean \"hairpinMode\"?"),
            ("no spec", "kind: Service\nmetadata: {name: web}\n".into(), 1,
             "spec.ports: Required value (the API server refuses a Service without ports)"),
            ("two ports of one Service on one node port", format!("{svc}  type: NodePort\n  ports:\n  - {{name: a, port: 80, nodePort: 30080}}\n  - {{name: b, port: 81, protocol: UDP, nodePort: 30080}}\n"), 7,
             "spec.ports[1].nodePort: Invalid value: 30080: provided port is already allocated (at line 6)"),
            ("one port twice", format!("{svc}  ports:\n  - {{name: a, port: 80}}\n  - {{name: b, port: 80}}\n"), 6,
             "spec.ports[1]: Duplicate value: port 80 TCP (as at line 5): a Service gives a port number and protocol once"),
            ("a Service twice", format!("{svc}  ports: [{{port: 80}}]\n---\n{svc}  ports: [{{port: 81}}]\n"), 6,
             "Service \"default/web\" already exists (at line 1): the API server refuses a second one of that name"),
            ("a Pod twice", "kind: Pod\nmetadata: {name: p1}\n---\nkind: Pod\nmetadata: {name: p1}\n".into(), 4,
             "Pod \"default/p1\" already exists (at line 1): the API server refuses a second one of that name"),
            ("a kind's letters swapped", "kind: Pdo\nmetadata: {name: web}\n".into(), 1,
             "kind: \"Pdo\" is not a kind Packet Walk reads (Service, EndpointSlice, Node, Pod, Network); did you mean \"Pod\"?"),
            ("the health check on a node port", format!("kind: Network\n---\n{svc}  type: LoadBalancer\n  externalTrafficPolicy: Local\n  healthCheckNodePort: 30080\n  ports:\n  - {{port: 80, nodePort: 30080}}\n"), 8,
             "spec.healthCheckNodePort: Invalid value: 30080: provided port is already allocated (at line 10)"),
            ("the range's own address", format!("kind: Network\n---\n{svc}  clusterIP: 10.96.0.0\n  ports: [{{port: 80}}]\n"), 6,
             "spec.clusterIP: Invalid value: \"10.96.0.0\": provided IP is not in the valid range 10.96.0.0/12 (the Network document's serviceClusterIPRange, the API server's --service-cluster-ip-range)"),
            ("no ports", format!("{svc}  clusterIP: 10.96.0.10\n  ports: []\n"), 4,
             "spec: ports: Required value (the API server refuses a Service without ports)"),
            ("a cluster IP twice", format!("{svc}  clusterIP: 10.96.0.10\n  ports: [{{port: 80}}]\n---\nkind: Service\nmetadata: {{name: two}}\nspec:\n  clusterIP: 10.96.0.10\n  ports: [{{port: 80}}]\n"), 10,
             "spec.clusterIP: Invalid value: \"10.96.0.10\": provided IP is already allocated (to the Service at line 4)"),
            ("a node port twice", format!("{svc}  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 30080\n---\nkind: Service\nmetadata: {{name: two}}\nspec:\n  type: NodePort\n  ports:\n  - port: 81\n    protocol: UDP\n    nodePort: 30080\n"), 14,
             "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated (at line 6)"),
            ("a node port outside the range", format!("kind: Network\n---\n{svc}  type: NodePort\n  ports:\n  - port: 22\n    nodePort: 22\n"), 8,
             "spec.ports[0].nodePort: Invalid value: 22: provided port is not in the valid range. The range of valid ports is 30000-32767 (the Network document's serviceNodePortRange)"),
            ("a port name twice", format!("{svc}  ports:\n  - {{name: http, port: 80}}\n  - {{name: http, port: 81}}\n"), 6,
             "spec.ports[1].name: Duplicate value: \"http\" (as at line 5)"),
            ("two ports, one unnamed", format!("{svc}  ports:\n  - {{name: http, port: 80}}\n  - {{port: 81}}\n"), 6,
             "spec.ports[1].name: Required value: a Service with more than one port names each of them"),
            ("a traffic policy on a ClusterIP", format!("kind: Network\n---\n{svc}  externalTrafficPolicy: Local\n  ports: [{{port: 80}}]\n"), 6,
             "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for externally-accessible services (type NodePort or LoadBalancer, or external IPs)"),
            ("a cluster IP outside the range", format!("kind: Network\n---\n{svc}  clusterIP: 192.168.11.99\n  ports: [{{port: 80}}]\n"), 6,
             "spec.clusterIP: Invalid value: \"192.168.11.99\": provided IP is not in the valid range 10.96.0.0/12 (the Network document's serviceClusterIPRange, the API server's --service-cluster-ip-range)"),
        ];
        for (what, yaml, line, message) in cases {
            let e = Cluster::from_yaml(yaml).unwrap_err();
            assert_eq!(
                e.0.iter()
                    .map(|e| (e.line, e.message.as_str()))
                    .collect::<Vec<_>>(),
                [(*line, *message)],
                "{what}"
            );
        }
        // One port twice with its node port: both are said, as the API
        // server says both.
        let twice = format!("{svc}  type: NodePort\n  ports:\n  - {{name: a, port: 80, nodePort: 30080}}\n  - {{name: b, port: 80, nodePort: 30080}}\n");
        let e = Cluster::from_yaml(&twice).unwrap_err();
        assert_eq!(
            e.0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            [
                "spec.ports[1]: Duplicate value: port 80 TCP (as at line 6): a Service gives a port number and protocol once",
                "spec.ports[1].nodePort: Duplicate value: 30080 (as at line 6)"
            ]
        );
        // Not refused: a NodePort's node port, and a kind not read.
        let ok = format!("{svc}  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 30080\n---\nkind: Deployment\nmetadata: {{name: web}}\nspec: {{replicas: 2}}\n");
        let c = Cluster::from_yaml(&ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.services[0].ports[0].node_port, 30080);
        // One Service's TCP and UDP may share a node port; the ranges are
        // the Network document's when it sets them.
        let shared = format!("kind: Network\nserviceClusterIPRange: 172.30.0.0/16\nserviceNodePortRange: 3000-3999\n---\n{svc}  type: NodePort\n  clusterIP: 172.30.0.41\n  ports:\n  - {{name: a, port: 53, nodePort: 3053}}\n  - {{name: b, port: 53, protocol: UDP, nodePort: 3053}}\n");
        Cluster::from_yaml(&shared).unwrap_or_else(|e| panic!("{e}"));
    }
}
