//! The CNI as the learner's lever: from a [`Cluster`] (Nodes with their pod
//! CIDRs, Pods, Services, EndpointSlices) and a network mode to every
//! node's devices, `ip route` text and kube-proxy rules, as a
//! [`Scenario`] the simulator runs.
//!
//! | mode | pod side | between nodes |
//! |---|---|---|
//! | `calico-ipip` | `cali…` veth, 169.254.1.1 by proxy ARP | `<block> via <node> dev tunl0 onlink` (IPIP) |
//! | `calico-vxlan` | `cali…` veth | `<block> via <tunnel address> dev vxlan.calico onlink` (VXLAN 4096, UDP 4789) |
//! | `flannel-vxlan` | veth on the `cni0` bridge | `<subnet> via <subnet>.0 dev flannel.1 onlink` (VXLAN 1, UDP 8472) |
//! | `flannel-host-gw` | veth on the `cni0` bridge | `<subnet> via <node> dev <lan>` |
//!
//! Calico gives each node a block (here the Node's `podCIDR`, a /26 in the
//! article) with a blackhole route for the whole block and a /32 route per
//! local pod; Flannel gives each node a subnet (a /24) routed to `cni0`.

use crate::engine::error::{Errors, ParseError};
use crate::engine::k8s::{self, Cluster, Protocol};
use crate::engine::kubeproxy::{self, save::Kernel, Config, Proxier, Restore};
use crate::engine::packet::Proto;
use crate::engine::scenario::{
    self, Announce, Device, DeviceKind, Fdb, Host, HostKind, Listener, Neigh, Preset, Scenario,
    Text,
};
use ipnet::{IpNet, Ipv4Net};
use sha1::{Digest, Sha1};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

/// A network mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    CalicoIpip,
    CalicoVxlan,
    FlannelVxlan,
    FlannelHostGw,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "calico-ipip" => Mode::CalicoIpip,
            "calico-vxlan" => Mode::CalicoVxlan,
            "flannel-vxlan" => Mode::FlannelVxlan,
            "flannel-host-gw" => Mode::FlannelHostGw,
            _ => return None,
        })
    }
    fn calico(self) -> bool {
        matches!(self, Mode::CalicoIpip | Mode::CalicoVxlan)
    }

    /// The MTU the CNI gives pods' veths (and Flannel's cni0) over a 1500
    /// byte network, room left for the tunnel's header: Calico's detected
    /// MTU (IPIP 20 bytes, VXLAN 50), Flannel's FLANNEL_MTU. None is 1500.
    fn pod_mtu(self) -> Option<u32> {
        match self {
            Mode::CalicoIpip => Some(1480),
            Mode::CalicoVxlan | Mode::FlannelVxlan => Some(1450),
            Mode::FlannelHostGw => None,
        }
    }
}

/// The host-side veth of a pod as Calico names it: `cali` and the first 11
/// hex digits of SHA-1 of `namespace.pod`.
pub fn calico_veth(namespace: &str, pod: &str) -> String {
    let h = Sha1::digest(format!("{namespace}.{pod}").as_bytes());
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!("cali{}", &hex[..11])
}

/// The host-side veth of a pod on the `cni0` bridge. The bridge plugin
/// picks 8 random hex digits; here they come from the pod's name, so a
/// scenario is the same every time.
pub fn bridge_veth(namespace: &str, pod: &str) -> String {
    let h = Sha1::digest(format!("{namespace}/{pod}").as_bytes());
    let hex: String = h.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("veth{hex}")
}

/// A VTEP's MAC address, made from the node's address (Flannel and Calico
/// pick one at random; a fixed one keeps traces reproducible).
fn vtep_mac(node_ip: Ipv4Addr) -> String {
    let o = node_ip.octets();
    format!("0e:7a:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

struct NodeInfo {
    name: String,
    ip: Ipv4Addr,
    block: Ipv4Net,
}

impl NodeInfo {
    /// Calico's tunnel address (the block's first address) or Flannel's
    /// `flannel.1` address (`<subnet>.0`).
    fn tunnel_addr(&self) -> Ipv4Addr {
        self.block.network()
    }
    /// Flannel's `cni0` address, `<subnet>.1`.
    fn bridge_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.block.network()).wrapping_add(1))
    }
}

struct PodInfo {
    name: String,
    namespace: String,
    node: usize,
    ip: Ipv4Addr,
    ports: Vec<(Protocol, u16)>,
    /// Where the pod (or the endpoint it was made from) is written.
    line: usize,
}

fn proto(p: Protocol) -> Proto {
    match p {
        Protocol::Tcp => Proto::Tcp,
        Protocol::Udp => Proto::Udp,
        // SCTP is not simulated; its ports still name a Service port.
        Protocol::Sctp => Proto::Tcp,
    }
}

fn err(line: usize, m: impl Into<String>) -> ParseError {
    ParseError::new(line, 1, m)
}

fn lo() -> Device {
    Device {
        name: "lo".into(),
        kind: DeviceKind::Loopback,
        addrs: vec!["127.0.0.1/8".parse().expect("valid")],
        proxy_arp: false,
        rp_filter: 0,
        hairpin: false,
        mtu: None,
    }
}

/// Why a cluster without Nodes cannot be built, with a Node for each node
/// its endpoints name (or one), ready to paste: a pod CIDR around the
/// node's first endpoint, LAN addresses from 192.168.0.2. (kube-proxy's
/// own unit tests give Services and EndpointSlices alone.)
fn no_node(cluster: &Cluster) -> String {
    let mut named: Vec<(&str, Option<Ipv4Addr>)> = Vec::new();
    for e in cluster.slices.iter().flat_map(|s| &s.endpoints) {
        let v4 = e.addresses.iter().find_map(|a| match a {
            std::net::IpAddr::V4(a) => Some(*a),
            _ => None,
        });
        match named
            .iter_mut()
            .find(|(n, _)| Some(*n) == e.node_name.as_deref())
        {
            Some((_, first)) => *first = first.or(v4),
            None => named.push((e.node_name.as_deref().unwrap_or("node1"), v4)),
        }
    }
    if named.is_empty() {
        named.push(("node1", None));
    }
    // Each its own /24: around its first endpoint, else one of 10.244/16.
    let mut blocks: Vec<String> = Vec::new();
    let docs: Vec<String> = (named.iter().take(8).enumerate())
        .map(|(i, (name, addr))| {
            let around = addr.and_then(|a| Ipv4Net::new(a, 24).ok()).map(|n| n.trunc().to_string());
            let block = around
                .filter(|b| !blocks.contains(b))
                .unwrap_or_else(|| format!("10.244.{i}.0/24"));
            blocks.push(block.clone());
            format!(
                "{{apiVersion: v1, kind: Node, metadata: {{name: {name}}}, spec: {{podCIDR: {block}}}, status: {{addresses: [{{type: InternalIP, address: 192.168.0.{}}}]}}}}",
                i + 2
            )
        })
        .collect();
    let more = match named.len().saturating_sub(8) {
        0 => String::new(),
        n => format!(" (and {n} more nodes the endpoints name)"),
    };
    format!(
        "the cluster has no Node: Packet Walk needs each node, with spec.podCIDR (the block its pods' addresses come from) and an InternalIP. For instance, one document each: {}{more}",
        docs.join(" --- ")
    )
}

/// The nodes' LAN: the /24 around the first node's address.
fn lan_of(nodes: &[NodeInfo]) -> Ipv4Net {
    Ipv4Net::new(nodes[0].ip, 24).expect("valid").trunc()
}

/// The pods of the cluster: `kind: Pod` documents, and one pod per
/// EndpointSlice endpoint on a node (named by its `targetRef`).
fn pods(cluster: &Cluster, nodes: &[NodeInfo], errors: &mut Errors) -> Vec<PodInfo> {
    let mut out: Vec<PodInfo> = Vec::new();
    let node_of = |name: Option<&str>, ip: Ipv4Addr| -> Option<usize> {
        match name {
            Some(n) => nodes.iter().position(|x| x.name == n),
            None => nodes.iter().position(|x| x.block.contains(&ip)),
        }
    };
    for p in &cluster.pods {
        // (On its node's own network, without saying hostNetwork: the
        // node's processes, as an endpoint there is.)
        if p.ip.is_some_and(|ip| nodes.iter().any(|n| n.ip == ip)) {
            continue;
        }
        let Some(ip) = p.ip else {
            errors.push(err(
                p.line,
                format!("pod {}/{} has no status.podIP", p.namespace, p.name),
            ));
            continue;
        };
        let Some(node) = node_of(p.node_name.as_deref(), ip) else {
            errors.push(err(
                if p.node_name.is_some() { p.node_line } else { p.ip_line },
                format!("pod {}/{}: no node runs it (spec.nodeName, or a node whose podCIDR holds {ip})", p.namespace, p.name),
            ));
            continue;
        };
        out.push(PodInfo {
            name: p.name.clone(),
            namespace: p.namespace.clone(),
            node,
            ip,
            ports: p.ports.clone(),
            line: p.ip_line,
        });
    }
    // Each address's pod, by its place in `out`: one pod an address (the
    // CNI's IPAM hands each out once).
    let mut by_ip: HashMap<Ipv4Addr, usize> = HashMap::new();
    for (i, p) in out.iter().enumerate() {
        match by_ip.get(&p.ip).map(|&k| &out[k]) {
            Some(first) => errors.push(err(
                p.line,
                format!(
                    "pod {}/{} has address {}, as pod {}/{} (line {}) has: the CNI gives each pod an address of its own",
                    p.namespace, p.name, p.ip, first.namespace, first.name, first.line
                ),
            )),
            None => {
                by_ip.insert(p.ip, i);
            }
        }
    }
    for s in &cluster.slices {
        for e in &s.endpoints {
            let Some(IpAddr::V4(ip)) = e.addresses.first().copied() else {
                continue;
            };
            if nodes.iter().any(|n| n.ip == ip) {
                continue; // host network (the API server on a node)
            }
            let ports: Vec<(Protocol, u16)> = s
                .ports
                .iter()
                .filter_map(|p| p.port.map(|n| (p.protocol, n)))
                .collect();
            if let Some(existing) = by_ip.get(&ip).map(|&i| &mut out[i]) {
                if let Some(named) = e.pod.as_ref().filter(|n| **n != existing.name) {
                    errors.push(err(
                        e.line,
                        format!(
                            "the endpoint {ip} of {}/{} is pod {named}, but pod {}/{} (line {}) has that address: the CNI gives each pod an address of its own",
                            s.namespace, s.service, existing.namespace, existing.name, existing.line
                        ),
                    ));
                    continue;
                }
                for port in ports {
                    if !existing.ports.contains(&port) {
                        existing.ports.push(port);
                    }
                }
                continue;
            }
            let Some(node) = node_of(e.node_name.as_deref(), ip) else {
                continue; // an endpoint outside the cluster's nodes
            };
            let name = e
                .pod
                .clone()
                .unwrap_or_else(|| format!("{}-{}", s.service, ip.to_string().replace('.', "-")));
            by_ip.insert(ip, out.len());
            out.push(PodInfo {
                name,
                namespace: s.namespace.clone(),
                node,
                ip,
                ports,
                line: e.line,
            });
        }
    }
    // Every host needs its own name: a pod named like a node, like the
    // client, or like a pod of another namespace is called
    // `name.namespace` (and numbered if that is taken too).
    let mut taken: HashSet<String> = nodes
        .iter()
        .map(|n| n.name.clone())
        .chain(["client".to_string()])
        .collect();
    let mut original: HashMap<String, usize> = HashMap::new();
    for p in &out {
        *original.entry(p.name.clone()).or_default() += 1;
    }
    for p in out.iter_mut() {
        let twins = original.get(&p.name).is_some_and(|&n| n > 1);
        let clash = twins || taken.contains(&p.name);
        if clash {
            let base = format!("{}.{}", p.name, p.namespace);
            let mut name = base.clone();
            let mut k = 2;
            while taken.contains(&name) || original.contains_key(&name) {
                name = format!("{base}-{k}");
                k += 1;
            }
            p.name = name;
        }
        taken.insert(p.name.clone());
    }
    for p in &out {
        let n = &nodes[p.node];
        if !n.block.contains(&p.ip) {
            errors.push(err(
                p.line,
                format!(
                    "pod {}/{} has address {}, outside {}'s pod CIDR {}",
                    p.namespace, p.name, p.ip, n.name, n.block
                ),
            ));
        }
    }
    out
}

/// Builds the scenario: every node's devices, routes and kube-proxy rules,
/// the pods, a client on the LAN, and the Services by name.
pub fn build(cluster: &Cluster, name: &str, title: &str) -> Result<Scenario, Errors> {
    build_with_rules(cluster, name, title, &|_| true)
}

/// [`build`], with kube-proxy's first sync made only on the nodes
/// `rules_on` names (the others get no rules at all): a resync syncs into
/// the nodes' own tables, so a first sync of theirs would be thrown away.
fn build_with_rules(
    cluster: &Cluster,
    name: &str,
    title: &str,
    rules_on: &dyn Fn(&str) -> bool,
) -> Result<Scenario, Errors> {
    let mut errors = Errors::default();
    let net = cluster.network.clone();
    let mode_name = net
        .as_ref()
        .map(|n| n.mode.clone())
        .unwrap_or_else(|| k8s::MODES[0].into());
    let mode = Mode::parse(&mode_name).expect("validated when read");
    let iface = net
        .as_ref()
        .and_then(|n| n.interface.clone())
        .unwrap_or_else(|| "eth0".into());
    let hairpin_mode = net.as_ref().and_then(|n| n.hairpin_mode).unwrap_or(true);
    let pod_mtu = net
        .as_ref()
        .and_then(|n| n.pod_mtu)
        .or(mode.pod_mtu())
        .filter(|m| *m != 1500);

    let mut nodes = Vec::new();
    for n in &cluster.nodes {
        // One object per name: a second Node of that name is the API
        // server's conflict, not a second node.
        if let Some(first) = (cluster.nodes.iter())
            .take_while(|o| !std::ptr::eq(*o, n))
            .find(|o| o.name == n.name)
        {
            errors.push(err(
                n.name_line,
                format!(
                    "node {} is defined twice (first at line {}): a name names one Node",
                    n.name, first.name_line
                ),
            ));
            continue;
        }
        let (Some(ip), Some(block)) = (n.internal_ip, n.pod_cidrs.first().copied()) else {
            errors.push(err(
                n.line,
                format!(
                    "node {} needs status.addresses (InternalIP) and spec.podCIDR",
                    n.name
                ),
            ));
            continue;
        };
        // Two nodes cannot share an address or pod addresses: the
        // routes and ARP would not know which one is meant.
        let same_ip = (cluster.nodes.iter())
            .take_while(|o| !std::ptr::eq(*o, n))
            .find(|o| o.internal_ip == Some(ip))
            .map(|o| {
                let why = format!(
                    "InternalIP {ip} is node {}'s already (line {})",
                    o.name, o.ip_line
                );
                (n.ip_line, why)
            });
        let overlap = || {
            let o = nodes.iter().find(|o: &&NodeInfo| {
                o.block.contains(&block.network()) || block.contains(&o.block.network())
            })?;
            let line = (cluster.nodes.iter().find(|x| x.name == o.name)).map_or(0, |x| x.cidr_line);
            let why = format!(
                "podCIDR {block} overlaps node {}'s {} (line {line})",
                o.name, o.block
            );
            Some((n.cidr_line, why))
        };
        // A host's address: not 0.0.0.0, loopback, multicast or the
        // broadcast address (the routes to its pods would go through it).
        let not_host =
            (ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || ip.is_broadcast())
                .then(|| {
                    (
                        n.ip_line,
                        format!("InternalIP {ip} is not a host's address"),
                    )
                });
        if let Some((line, why)) = same_ip.or(not_host).or_else(overlap) {
            errors.push(err(line, format!("node {}'s {why}", n.name)));
            continue;
        }
        nodes.push(NodeInfo {
            name: n.name.clone(),
            ip,
            block,
        });
    }
    if nodes.is_empty() {
        if errors.is_empty() {
            errors.push(err(0, no_node(cluster)));
        }
        return Err(errors);
    }
    let lan = lan_of(&nodes);
    if let Some((g, line)) = net
        .as_ref()
        .and_then(|n| Some((n.gateway?, n.gateway_line)))
    {
        let why = if !lan.contains(&g) || g == lan.network() || g == lan.broadcast() {
            Some(format!("gateway {g} must be a router's address on the nodes' LAN {lan} (the nodes' default route goes through it)"))
        } else {
            (nodes.iter().find(|n| n.ip == g)).map(|n| format!("gateway {g} is node {}'s address: the router is a machine of its own on the LAN {lan}", n.name))
        };
        if let Some(why) = why {
            errors.push(err(line, why));
            return Err(errors);
        }
    }
    let gateway = net
        .as_ref()
        .and_then(|n| n.gateway)
        .unwrap_or_else(|| Ipv4Addr::from(u32::from(lan.network()).wrapping_add(1)));
    let cluster_cidr = net
        .as_ref()
        .and_then(|n| n.cluster_cidr)
        .unwrap_or_else(|| {
            Ipv4Net::new(nodes[0].block.network(), 16)
                .expect("valid")
                .trunc()
        });
    let pods = pods(cluster, &nodes, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut hosts = Vec::new();
    // Every node runs sshd, and kube-proxy's health check server on each
    // health check node port (a LoadBalancer with the Local policy).
    let mut health_checks = vec![Listener {
        proto: Proto::Tcp,
        port: 22,
        addr: None,
        process: Some("sshd".into()),
    }];
    for svc in &cluster.services {
        let local_lb =
            svc.kind == k8s::ServiceType::LoadBalancer && svc.external_policy == k8s::Policy::Local;
        if local_lb && svc.health_check_node_port != 0 {
            health_checks.push(Listener {
                proto: Proto::Tcp,
                port: svc.health_check_node_port,
                addr: None,
                process: Some(format!(
                    "kube-proxy's health check server for {} (HTTP 200 when this node has a ready endpoint, 503 when not)",
                    svc.key()
                )),
            });
        }
    }
    // An endpoint at a node's own address is a server on the node's
    // network (hostNetwork: the API server behind default/kubernetes).
    let host_network = |ip: Ipv4Addr| {
        (cluster.slices.iter())
            .filter(move |sl| {
                sl.endpoints
                    .iter()
                    .any(|e| e.addresses.contains(&IpAddr::V4(ip)))
            })
            .flat_map(|sl| {
                sl.ports.iter().filter_map(move |p| {
                    Some(Listener {
                        proto: proto(p.protocol),
                        port: p.port?,
                        addr: None,
                        process: Some(format!(
                            "an endpoint of {}/{} on the node's own network (hostNetwork)",
                            sl.namespace, sl.service
                        )),
                    })
                })
            })
    };
    for (ni, n) in nodes.iter().enumerate() {
        let mut devices = vec![
            lo(),
            Device {
                name: iface.clone(),
                kind: DeviceKind::Ethernet { lan: "lan".into() },
                addrs: vec![Ipv4Net::new(n.ip, lan.prefix_len()).expect("valid")],
                proxy_arp: false,
                rp_filter: 0,
                hairpin: false,
                mtu: None,
            },
        ];
        let mut routes = vec![format!(
            "default via {gateway} dev {iface} proto static metric 100"
        )];
        let others: Vec<&NodeInfo> = nodes.iter().filter(|o| o.name != n.name).collect();
        let local: Vec<&PodInfo> = pods.iter().filter(|p| p.node == ni).collect();
        let tunnel32 = Ipv4Net::new(n.tunnel_addr(), 32).expect("valid");
        match mode {
            Mode::CalicoIpip => {
                devices.push(Device {
                    name: "tunl0".into(),
                    kind: DeviceKind::Ipip,
                    addrs: vec![tunnel32],
                    proxy_arp: false,
                    rp_filter: 0,
                    hairpin: false,
                    mtu: None,
                });
                for o in &others {
                    routes.push(format!(
                        "{} via {} dev tunl0 proto bird onlink",
                        o.block, o.ip
                    ));
                }
            }
            Mode::CalicoVxlan | Mode::FlannelVxlan => {
                let (dev, vni, port) = if mode == Mode::CalicoVxlan {
                    ("vxlan.calico", 4096, 4789)
                } else {
                    ("flannel.1", 1, 8472)
                };
                devices.push(Device {
                    name: dev.into(),
                    kind: DeviceKind::Vxlan {
                        vni,
                        port,
                        mac: vtep_mac(n.ip),
                        local: n.ip,
                        neigh: others
                            .iter()
                            .map(|o| Neigh {
                                ip: o.tunnel_addr(),
                                lladdr: vtep_mac(o.ip),
                            })
                            .collect(),
                        fdb: others
                            .iter()
                            .map(|o| Fdb {
                                lladdr: vtep_mac(o.ip),
                                dst: o.ip,
                            })
                            .collect(),
                    },
                    addrs: vec![tunnel32],
                    proxy_arp: false,
                    rp_filter: 0,
                    hairpin: false,
                    mtu: None,
                });
                for o in &others {
                    let proto = if mode == Mode::CalicoVxlan {
                        " proto 80"
                    } else {
                        ""
                    };
                    routes.push(format!(
                        "{} via {} dev {dev}{proto} onlink",
                        o.block,
                        o.tunnel_addr()
                    ));
                }
            }
            Mode::FlannelHostGw => {
                for o in &others {
                    routes.push(format!("{} via {} dev {iface}", o.block, o.ip));
                }
            }
        }
        if mode.calico() {
            // Felix programs it in VXLAN mode (no BIRD): protocol 80.
            let proto = if mode == Mode::CalicoVxlan {
                "80"
            } else {
                "bird"
            };
            routes.push(format!("blackhole {} proto {proto}", n.block));
            for p in &local {
                let veth = calico_veth(&p.namespace, &p.name);
                devices.push(Device {
                    name: veth.clone(),
                    kind: DeviceKind::Veth {
                        peer: format!("{}/eth0", p.name),
                    },
                    addrs: Vec::new(),
                    proxy_arp: true,
                    rp_filter: 1,
                    hairpin: false,
                    mtu: pod_mtu,
                });
                routes.push(format!("{} dev {veth} scope link", p.ip));
            }
        } else {
            let mut ports = Vec::new();
            for p in &local {
                let veth = bridge_veth(&p.namespace, &p.name);
                devices.push(Device {
                    name: veth.clone(),
                    kind: DeviceKind::Veth {
                        peer: format!("{}/eth0", p.name),
                    },
                    addrs: Vec::new(),
                    proxy_arp: false,
                    rp_filter: 0,
                    // The bridge plugin's hairpinMode, which Flannel's
                    // CNI config sets (the Network document may turn it off).
                    hairpin: hairpin_mode,
                    mtu: pod_mtu,
                });
                ports.push(veth);
            }
            devices.push(Device {
                name: "cni0".into(),
                kind: DeviceKind::Bridge { ports },
                addrs: vec![Ipv4Net::new(n.bridge_addr(), n.block.prefix_len()).expect("valid")],
                proxy_arp: false,
                rp_filter: 0,
                hairpin: false,
                mtu: pod_mtu,
            });
            routes.push(format!(
                "{} dev cni0 proto kernel scope link src {}",
                n.block,
                n.bridge_addr()
            ));
        }
        routes.push(format!(
            "{lan} dev {iface} proto kernel scope link src {} metric 100",
            n.ip
        ));

        // The CNI's masquerade, then kube-proxy on this node.
        let config = kube_proxy_config(&n.name, n.ip, &iface, lan, cluster_cidr);
        let workloads: Vec<Workload> = (pods.iter())
            .filter(|p| nodes[p.node].name == n.name)
            .map(|p| Workload {
                namespace: p.namespace.clone(),
                veth: calico_veth(&p.namespace, &p.name),
            })
            .collect();
        let node_ips: Vec<Ipv4Addr> = nodes.iter().map(|n| n.ip).collect();
        let cni = cni_nat(mode, cluster_cidr, n.block, &workloads, &node_ips);
        let iptables = match rules_on(&n.name) {
            true => Some(Text::One(
                node_rules(cluster, config, &cni)
                    .map_err(|e| Errors::from(err(0, format!("{}: {e}", n.name))))?,
            )),
            false => None,
        };

        hosts.push(Host {
            name: n.name.clone(),
            kind: HostKind::Node,
            node: None,
            namespace: None,
            devices,
            routes: Text::Lines(routes),
            iptables,
            listeners: {
                let mut l = health_checks.clone();
                for h in host_network(n.ip) {
                    if !l.iter().any(|x| (x.proto, x.port) == (h.proto, h.port)) {
                        l.push(h);
                    }
                }
                l
            },
            ip_forward: None,
        });
    }
    for p in &pods {
        let n = &nodes[p.node];
        let (addr, routes) = if mode.calico() {
            (
                Ipv4Net::new(p.ip, 32).expect("valid"),
                vec![
                    "default via 169.254.1.1 dev eth0".to_string(),
                    "169.254.1.1 dev eth0 scope link".into(),
                ],
            )
        } else {
            (
                Ipv4Net::new(p.ip, n.block.prefix_len()).expect("valid"),
                // flannel-cni adds the cluster network as a route of its
                // IPAM (getDelegateIPAM), besides the bridge plugin's
                // default route.
                vec![
                    format!("default via {} dev eth0", n.bridge_addr()),
                    format!("{cluster_cidr} via {} dev eth0", n.bridge_addr()),
                    format!("{} dev eth0 proto kernel scope link src {}", n.block, p.ip),
                ],
            )
        };
        let veth = if mode.calico() {
            calico_veth(&p.namespace, &p.name)
        } else {
            bridge_veth(&p.namespace, &p.name)
        };
        hosts.push(Host {
            name: p.name.clone(),
            kind: HostKind::Pod,
            node: Some(n.name.clone()),
            namespace: Some(p.namespace.clone()),
            devices: vec![
                lo(),
                Device {
                    name: "eth0".into(),
                    kind: DeviceKind::Veth {
                        peer: format!("{}/{veth}", n.name),
                    },
                    addrs: vec![addr],
                    proxy_arp: false,
                    rp_filter: 0,
                    hairpin: false,
                    mtu: pod_mtu,
                },
            ],
            routes: Text::Lines(routes),
            iptables: None,
            listeners: p
                .ports
                .iter()
                .map(|(pr, port)| Listener {
                    proto: proto(*pr),
                    port: *port,
                    addr: None,
                    process: None,
                })
                .collect(),
            ip_forward: None,
        });
    }
    // A machine outside the cluster, on the LAN.
    // Not an address a node, the router, a load balancer or an external IP has.
    let services = cluster.services.iter();
    let service_ips = services.flat_map(|s| {
        s.ingress
            .iter()
            .map(|i| i.ip)
            .chain(s.external_ips.iter().copied())
    });
    let taken: Vec<Ipv4Addr> = (nodes.iter().map(|n| n.ip).chain([gateway]))
        .chain(service_ips.filter_map(|ip| match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        }))
        .collect();
    let client_ip = (200..250u32)
        .map(|i| Ipv4Addr::from(u32::from(lan.network()).wrapping_add(i)))
        .find(|a| !taken.contains(a) && lan.contains(a))
        .unwrap_or(Ipv4Addr::from(u32::from(lan.network()).wrapping_add(2)));
    hosts.push(Host {
        name: "client".into(),
        kind: HostKind::Client,
        node: None,
        namespace: None,
        devices: vec![
            lo(),
            Device {
                name: "eth0".into(),
                kind: DeviceKind::Ethernet { lan: "lan".into() },
                addrs: vec![Ipv4Net::new(client_ip, lan.prefix_len()).expect("valid")],
                proxy_arp: false,
                rp_filter: 0,
                hairpin: false,
                mtu: None,
            },
        ],
        routes: Text::Lines(vec![
            format!("default via {gateway} dev eth0"),
            format!("{lan} dev eth0 proto kernel scope link src {client_ip}"),
        ]),
        iptables: None,
        listeners: Vec::new(),
        ip_forward: None,
    });

    let services = cluster
        .services
        .iter()
        .filter_map(|s| match s.cluster_ip {
            k8s::ClusterIp::Ip(IpAddr::V4(ip)) => Some(scenario::Service {
                namespace: s.namespace.clone(),
                name: s.name.clone(),
                cluster_ip: ip,
                ports: s
                    .ports
                    .iter()
                    .map(|p| scenario::ServicePort {
                        name: p.name.clone(),
                        protocol: proto(p.protocol),
                        port: p.port,
                        node_port: (p.node_port != 0).then_some(p.node_port),
                    })
                    .collect(),
            }),
            _ => None,
        })
        .collect::<Vec<_>>();
    let given = net
        .as_ref()
        .and_then(|n| n.preset.clone())
        .map(|(from, to, proto)| Preset {
            from,
            to,
            proto: proto.as_deref().and_then(Proto::parse),
        });
    let title = net
        .as_ref()
        .and_then(|n| n.title.clone())
        .unwrap_or_else(|| title.to_string());
    let preset = given.or(match (services.first(), pods.first()) {
        (Some(s), _) => Some(Preset {
            from: "client".into(),
            to: format!("{}/{}", s.namespace, s.name),
            proto: None,
        }),
        (None, Some(p)) => Some(Preset {
            from: "client".into(),
            to: p.ip.to_string(),
            proto: None,
        }),
        _ => None,
    });
    // A LoadBalancer's IP is announced on the LAN as MetalLB's layer-2
    // mode does: by one node, one with a ready endpoint of the Service
    // when its traffic policy is Local (else the first node).
    let mut announces = Vec::new();
    for svc in cluster
        .services
        .iter()
        .filter(|s| s.kind == k8s::ServiceType::LoadBalancer)
    {
        let local = (cluster.slices.iter())
            .filter(|sl| sl.namespace == svc.namespace && sl.service == svc.name)
            .flat_map(|sl| &sl.endpoints)
            .filter(|e| e.conditions.ready != Some(false))
            .find_map(|e| {
                let ip = match e.addresses.first()? {
                    IpAddr::V4(a) => *a,
                    IpAddr::V6(_) => return None,
                };
                match &e.node_name {
                    Some(n) => nodes.iter().find(|x| &x.name == n),
                    None => nodes.iter().find(|x| x.block.contains(&ip)),
                }
            });
        let node = match svc.external_policy {
            k8s::Policy::Local => local,
            k8s::Policy::Cluster => nodes.first(),
        };
        for ing in &svc.ingress {
            if let (Some(n), IpAddr::V4(addr)) = (node, ing.ip) {
                announces.push(Announce {
                    host: n.name.clone(),
                    dev: iface.clone(),
                    addr,
                    service: Some(format!("{}/{}", svc.namespace, svc.name)),
                });
            }
        }
    }
    Ok(Scenario {
        name: name.into(),
        title,
        description: format!("Generated from Kubernetes objects: {} nodes in {mode_name} mode.", nodes.len()),
        notes: vec![
            format!("The nodes' LAN is {lan} with the router at {gateway}; the client outside the cluster is {client_ip}."),
            format!("kube-proxy's --cluster-cidr is {cluster_cidr}."),
        ]
        .into_iter()
        .chain(cluster.allocated.iter().cloned())
        .collect(),
        seed: 1,
        hosts,
        services,
        announces,
        preset,
        cluster: None,
        sends: Vec::new(),
        eras: Vec::new(),
        flushes: Vec::new(),
        page: None,
    })
}

/// The built-in scenarios made from Kubernetes objects, name and title
/// (their YAML, in `scenarios/clusters/`, is [`cluster_yaml`]'s: the page
/// lists the titles without carrying the YAML).
pub const CLUSTERS: [(&str, &str); 8] = [
    ("calico-ipip", "Calico IPIP: three endpoints, one per node"),
    ("calico-vxlan", "Calico VXLAN: pod to pod across nodes"),
    (
        "flannel-vxlan",
        "Flannel VXLAN: flannel.1 and the cni0 bridge",
    ),
    (
        "flannel-host-gw",
        "Flannel host-gw: plain routes to the other nodes",
    ),
    (
        "flannel-hairpin",
        "Hairpin: a pod calls its own Service on cni0",
    ),
    (
        "nodeport-local",
        "NodePort with externalTrafficPolicy: Local",
    ),
    (
        "session-affinity",
        "Session affinity: ClientIP sticks to one endpoint",
    ),
    (
        "legacy-kube-proxy",
        "kube-proxy 1.18 layout: the article's time",
    ),
];

/// A built-in cluster's YAML.
pub fn cluster_yaml(name: &str) -> Option<&'static str> {
    Some(match name {
        "calico-ipip" => include_str!("scenarios/clusters/calico-ipip.yaml"),
        "calico-vxlan" => include_str!("scenarios/clusters/calico-vxlan.yaml"),
        "flannel-vxlan" => include_str!("scenarios/clusters/flannel-vxlan.yaml"),
        "flannel-host-gw" => include_str!("scenarios/clusters/flannel-host-gw.yaml"),
        "flannel-hairpin" => include_str!("scenarios/clusters/flannel-hairpin.yaml"),
        "nodeport-local" => include_str!("scenarios/clusters/nodeport-local.yaml"),
        "session-affinity" => include_str!("scenarios/clusters/session-affinity.yaml"),
        "legacy-kube-proxy" => include_str!("scenarios/clusters/legacy-kube-proxy.yaml"),
        _ => return None,
    })
}

/// A built-in cluster's title (without building it).
pub fn cluster_title(name: &str) -> Option<&'static str> {
    CLUSTERS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A built-in scenario made from a cluster.
pub fn builtin(name: &str) -> Option<Scenario> {
    builtin_with_objects(name).map(|(_, sc)| sc)
}

/// A built-in cluster's objects (read once) and the scenario they make.
pub fn builtin_with_objects(name: &str) -> Option<(Cluster, Scenario)> {
    let yaml = cluster_yaml(name)?;
    let title = cluster_title(name).unwrap_or(name);
    let cluster = Cluster::from_yaml(yaml).expect("built-in clusters are valid (tested)");
    let sc = build(&cluster, name, title).expect("built-in clusters build (tested)");
    Some((cluster, sc))
}

fn kube_proxy_config(
    node: &str,
    ip: Ipv4Addr,
    iface: &str,
    lan: Ipv4Net,
    cluster_cidr: Ipv4Net,
) -> Config {
    let interfaces = vec![
        (
            "lo".to_string(),
            vec!["127.0.0.1/8".parse::<IpNet>().expect("valid")],
        ),
        (
            iface.to_string(),
            vec![IpNet::V4(
                Ipv4Net::new(ip, lan.prefix_len()).expect("valid"),
            )],
        ),
    ];
    // kube-proxy's `--random-fully` stays off: with it every masquerade
    // draws from the scenario's random stream, and links and embeds made
    // before would pick other endpoints when replayed.
    Config::for_node(node, ip, interfaces, Some(IpNet::V4(cluster_cidr)))
}

/// kube-proxy's settings on `node` of this cluster: its name, address and
/// interfaces, and the cluster CIDR of the `Network` document.
pub fn node_config(cluster: &Cluster, node: &str) -> Option<Config> {
    let first = cluster.nodes.first()?;
    let n = cluster.nodes.iter().find(|n| n.name == node)?;
    let lan = Ipv4Net::new(first.internal_ip?, 24).ok()?.trunc();
    let net = cluster.network.as_ref();
    let iface = net
        .and_then(|n| n.interface.clone())
        .unwrap_or_else(|| "eth0".into());
    let cidr = net.and_then(|n| n.cluster_cidr).or_else(|| {
        Some(
            Ipv4Net::new(first.pod_cidrs.first()?.network(), 16)
                .ok()?
                .trunc(),
        )
    })?;
    Some(kube_proxy_config(
        &n.name,
        n.internal_ip?,
        &iface,
        lan,
        cidr,
    ))
}

/// Whether the cluster asks for kube-proxy's 1.18 layout
/// (`kubeProxy: legacy` in its Network document).
pub fn legacy(cluster: &Cluster) -> bool {
    cluster
        .network
        .as_ref()
        .and_then(|n| n.kube_proxy.as_deref())
        == Some("legacy")
}

/// One node's iptables after kube-proxy's first sync and the CNI's rules
/// (`cni`), as `iptables-save` prints it.
pub fn node_rules(cluster: &Cluster, config: Config, cni: &CniRules) -> Result<String, String> {
    let mut kernel = Kernel::default();
    sync_into(&mut kernel, cluster, config)?;
    install_cni(&mut kernel, cni)?;
    Ok(kernel.save())
}

/// The workloads of `node` in `sc` (a scenario built from a cluster):
/// its pods, by the node's end of their veth.
fn workloads_of(sc: &Scenario, node: &str) -> Vec<Workload> {
    (sc.hosts.iter())
        .filter(|h| h.kind == HostKind::Pod && h.node.as_deref() == Some(node))
        .filter_map(|h| {
            let veth = h.devices.iter().find_map(|d| match &d.kind {
                DeviceKind::Veth { peer } => peer.strip_prefix(&format!("{node}/")),
                _ => None,
            })?;
            Some(Workload {
                namespace: h.namespace.clone().unwrap_or_default(),
                veth: veth.to_string(),
            })
        })
        .collect()
}

/// [`cni_nat`] for `node` of `cluster`, whose pods are `workloads`.
fn node_cni_nat(cluster: &Cluster, node: &str, workloads: &[Workload]) -> Option<CniRules> {
    let n = cluster.nodes.iter().find(|n| n.name == node)?;
    let net = cluster.network.as_ref();
    let mode = Mode::parse(net.map_or(k8s::MODES[0], |n| n.mode.as_str()))?;
    let cidr = node_config(cluster, node)?.local_detector?;
    let IpNet::V4(cidr) = cidr else {
        return None;
    };
    let hosts: Vec<Ipv4Addr> = cluster.nodes.iter().filter_map(|n| n.internal_ip).collect();
    Some(cni_nat(
        mode,
        cidr,
        *n.pod_cidrs.first()?,
        workloads,
        &hosts,
    ))
}

/// Whether a chain is one a CNI writes (Felix's `cali-…`, flanneld's
/// `FLANNEL-…`).
fn cni_chain(name: &str) -> bool {
    name.starts_with("cali-") || name.starts_with("FLANNEL-")
}

/// A local workload (pod) as Felix knows it: its namespace and the host
/// side of its veth.
pub struct Workload {
    pub namespace: String,
    pub veth: String,
}

/// A Felix chain name for `prefix` + `id`, as Felix limits it to
/// iptables' 28 characters (its GetLengthLimitedID): as it is when it
/// fits, else the prefix, `_` and as much of the id's SHA-256 in
/// unpadded base64url as fits.
fn felix_chain(prefix: &str, id: &str) -> String {
    const MAX: usize = 28;
    let len = prefix.len() + id.len();
    if len < MAX || (len == MAX && !id.starts_with('_')) {
        return format!("{prefix}{id}");
    }
    use base64::Engine;
    let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(id.as_bytes()));
    format!("{prefix}_{}", &hash[..MAX - prefix.len() - 1])
}

/// The CNI's own rules on a node: its chains with their rules, and its
/// jumps to them from the built-in chains.
pub struct CniRules {
    /// (table, chain, rules).
    chains: Vec<(&'static str, String, Vec<String>)>,
    /// Rules of the other CNI in built-in chains that lead to none of
    /// its chains, deleted by their text: (table, chain, rule).
    foreign: Vec<(&'static str, &'static str, String)>,
    /// (table, built-in chain, the rule, first): a rule in a built-in
    /// chain, put first (Felix inserts its filter jumps) or appended
    /// (flanneld appends its rules; Felix appends its POSTROUTING jump
    /// since Calico 3.29, so that kube-proxy's masquerade comes first,
    /// and its FORWARD rule that accepts what policy accepted).
    jumps: Vec<(&'static str, &'static str, String, bool)>,
}

/// The CNI's own rules on a node with pod block `block`.
///
/// Calico (as Felix 3.29 and later writes them): in nat, its IP pool's
/// `natOutgoing: true` (the default), which Felix writes as a match on
/// its ipsets of the pools (here the cluster CIDR, which the one pool
/// covers), and the masquerade of the node's own packets into its tunnel
/// from an address that is not the tunnel's; in filter, its policy for
/// the node's `workloads` ([`felix_filter`]). Flannel: flanneld's
/// `--ip-masq` rules in FLANNEL-POSTRTG, which leave kube-proxy's marked
/// packets to it, and FLANNEL-FWD, which accepts the pod network's
/// forwarded packets (so a FORWARD policy of DROP does not stop them).
fn cni_nat(
    mode: Mode,
    cluster: Ipv4Net,
    block: Ipv4Net,
    workloads: &[Workload],
    hosts: &[Ipv4Addr],
) -> CniRules {
    if mode.calico() {
        let tunnel = match mode {
            Mode::CalicoVxlan => "vxlan.calico",
            _ => "tunl0",
        };
        let (mut chains, mut jumps) = felix_filter(mode, workloads, hosts);
        chains.extend([
                (
                    "nat",
                    "cali-POSTROUTING".to_string(),
                    vec![
                        "-m comment --comment \"calico: natOutgoing of its IP pools\" -j cali-nat-outgoing".into(),
                        format!("-o {tunnel} -m comment --comment \"calico: the node's own packets into the tunnel take the tunnel's address\" -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully"),
                    ],
                ),
                (
                    "nat",
                    "cali-nat-outgoing".to_string(),
                    vec![format!("-s {cluster} ! -d {cluster} -m comment --comment \"calico: pool {cluster} to outside the pools (Felix matches ipsets cali40masq-ipam-pools, cali40all-ipam-pools)\" -j MASQUERADE --random-fully")],
                ),
            ]);
        jumps.push((
            "nat",
            "POSTROUTING",
            "-m comment --comment \"calico: its POSTROUTING chain\" -j cali-POSTROUTING".into(),
            false,
        ));
        return CniRules {
            chains,
            jumps,
            foreign: Vec::new(),
        };
    }
    let c = "-m comment --comment \"flanneld masq\"";
    let f = "-m comment --comment \"flanneld forward\"";
    CniRules {
        chains: vec![
            (
                "nat",
                "FLANNEL-POSTRTG".to_string(),
                vec![
                    format!("-m mark --mark 0x4000/0x4000 {c} -j RETURN"),
                    format!("-s {block} -d {cluster} {c} -j RETURN"),
                    format!("-s {cluster} -d {block} {c} -j RETURN"),
                    format!("! -s {cluster} -d {block} {c} -j RETURN"),
                    format!("-s {cluster} ! -d 224.0.0.0/4 {c} -j MASQUERADE --random-fully"),
                    format!("! -s {cluster} -d {cluster} {c} -j MASQUERADE --random-fully"),
                ],
            ),
            (
                "filter",
                "FLANNEL-FWD".to_string(),
                vec![
                    format!("-s {cluster} {f} -j ACCEPT"),
                    format!("-d {cluster} {f} -j ACCEPT"),
                ],
            ),
        ],
        jumps: vec![
            (
                "nat",
                "POSTROUTING",
                format!("{c} -j FLANNEL-POSTRTG"),
                false,
            ),
            ("filter", "FORWARD", format!("{f} -j FLANNEL-FWD"), false),
        ],
        foreign: felix_forward_appends()
            .map(|r| ("filter", "FORWARD", r))
            .to_vec(),
    }
}

/// Chains (table, name, rules) and rules in built-in chains (table,
/// chain, rule, first).
type FelixRules = (
    Vec<(&'static str, String, Vec<String>)>,
    Vec<(&'static str, &'static str, String, bool)>,
);

/// Felix's filter (and raw) chains on a node with these local
/// `workloads`, as Felix 3.29 writes them in its default setup (no
/// NetworkPolicy, each namespace's profile allowing all,
/// DefaultEndpointToHostAction ACCEPT): a packet from a workload goes
/// through that workload's `cali-fw-…` chain, one to a workload through
/// its `cali-tw-…` chain; each accepts a packet of a known connection at
/// once, drops an INVALID one, drops tunnel packets from pods, and else
/// asks the policy (here the namespace's and the service account's
/// profiles), which sets the mark bit 0x10000 when it accepts; FORWARD's
/// last rule accepts what carries it. The comments are Packet Walk's
/// words where Felix writes `cali:` and a hash. Left out: host endpoints
/// (their chains are empty without them), `cali-cidr-block`, the raw
/// table's rpfilter match and Felix's ipsets (the engine matches both in
/// a real node's dump, but a generated node's text stays one plain
/// iptables-save listing: the cluster's nodes are one rule each instead).
fn felix_filter(mode: Mode, workloads: &[Workload], hosts: &[Ipv4Addr]) -> FelixRules {
    let said = |what: &str| format!("-m comment --comment \"{what}\"");
    let vxlan = mode == Mode::CalicoVxlan;
    let mut chains = vec![(
        "filter",
        "cali-FORWARD".to_string(),
        vec![
            format!(
                "{} -j MARK --set-xmark 0x0/0xe0000",
                said("calico: clear its mark bits")
            ),
            format!(
                "-i cali+ {} -j cali-from-wl-dispatch",
                said("calico: from a workload")
            ),
            format!(
                "-o cali+ {} -j cali-to-wl-dispatch",
                said("calico: to a workload")
            ),
        ],
    )];
    // The workloads by interface name, as Felix sorts them.
    let mut sorted: Vec<&Workload> = workloads.iter().collect();
    sorted.sort_by(|a, b| a.veth.cmp(&b.veth));
    let mut profiles: Vec<&str> = Vec::new();
    for w in &sorted {
        let fw = felix_chain("cali-fw-", &w.veth);
        let tw = felix_chain("cali-tw-", &w.veth);
        let ns = &w.namespace;
        let kns = |dir: &str| felix_chain(&format!("cali-{dir}-"), &format!("kns.{ns}"));
        let ksa = |dir: &str| felix_chain(&format!("cali-{dir}-"), &format!("ksa.{ns}.default"));
        let endpoint = |dir: &str, encap: bool| {
            let mut rules = vec![
                "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".to_string(),
                "-m conntrack --ctstate INVALID -j DROP".to_string(),
                "-j MARK --set-xmark 0x0/0x30000".to_string(),
            ];
            if encap {
                // Both, whatever the pool's encapsulation (Felix's
                // AllowVXLANPacketsFromWorkloads and
                // AllowIPIPPacketsFromWorkloads are off by default).
                rules.push(format!(
                    "-p udp -m multiport --dports 4789 {} -j DROP",
                    said("Drop VXLAN encapped packets originating in workloads")
                ));
                rules.push(format!(
                    "-p ipencap {} -j DROP",
                    said("Drop IPinIP encapped packets originating in workloads")
                ));
            }
            for profile in [kns(dir), ksa(dir)] {
                rules.push(format!("-j {profile}"));
                rules.push(format!(
                    "-m mark --mark 0x10000/0x10000 {} -j RETURN",
                    said("Return if profile accepted")
                ));
            }
            rules.push(format!("{} -j DROP", said("Drop if no profiles matched")));
            rules
        };
        chains.push(("filter", fw, endpoint("pro", true)));
        chains.push(("filter", tw, endpoint("pri", false)));
        if !profiles.contains(&ns.as_str()) {
            profiles.push(ns);
            for dir in ["pro", "pri"] {
                chains.push((
                    "filter",
                    kns(dir),
                    vec![
                        format!(
                            "{} -j MARK --set-xmark 0x10000/0x10000",
                            said(&format!("calico: profile kns.{ns}: allow all"))
                        ),
                        "-m mark --mark 0x10000/0x10000 -j RETURN".into(),
                    ],
                ));
                // The service account's profile has no rules of its own.
                chains.push(("filter", ksa(dir), Vec::new()));
            }
        }
    }
    // Dispatch by interface name, as Felix's prefix tree at one level: the
    // names (sorted, once each) are split on the character after the
    // prefix they all share; a group of more than one goes through a
    // chain of its own, named by the group's prefix after "cali".
    let mut names: Vec<&str> = sorted.iter().map(|w| w.veth.as_str()).collect();
    names.dedup();
    let common = (names.iter())
        .map(|n| {
            let first = names[0].as_bytes();
            n.bytes().zip(first).take_while(|(a, b)| a == *b).count()
        })
        .min()
        .unwrap_or(0);
    for (dir, opt, to) in [("from", "-i", "fw"), ("to", "-o", "tw")] {
        let root = format!("cali-{dir}-wl-dispatch");
        let unknown = format!("{} -j DROP", said("Unknown interface"));
        let goto = |name: &str| {
            format!(
                "{opt} {name} -g {}",
                felix_chain(&format!("cali-{to}-"), name)
            )
        };
        let mut rules = Vec::new();
        let mut k = 0;
        while k < names.len() {
            let key = &names[k][..(common + 1).min(names[k].len())];
            let group: Vec<&str> = (names[k..].iter())
                .take_while(|n| n.starts_with(key))
                .copied()
                .collect();
            if group.len() == 1 {
                rules.push(goto(group[0]));
            } else {
                let child = format!("{root}-{}", key.strip_prefix("cali").unwrap_or(key));
                rules.push(format!("{opt} {key}+ -g {child}"));
                let mut child_rules: Vec<String> = group.iter().map(|n| goto(n)).collect();
                child_rules.push(unknown.clone());
                chains.push(("filter", child, child_rules));
            }
            k += group.len();
        }
        rules.push(unknown);
        chains.push(("filter", root, rules));
    }
    // The tunnel's packets are let in from, and out to, the cluster's
    // hosts only (Felix matches its ipset of them, cali40all-hosts-net or
    // cali40all-vxlan-net; here one rule per node).
    let (tunnel, allow_in, deny_in, allow_out) = if vxlan {
        (
            "-p udp -m udp --dport 4789",
            "Allow IPv4 VXLAN packets from allowed hosts",
            "Drop IPv4 VXLAN packets from non-allowed hosts",
            "Allow IPv4 VXLAN packets to other allowed hosts",
        )
    } else {
        (
            "-p ipencap",
            "Allow IPIP packets from Calico hosts",
            "Drop IPIP packets from non-Calico hosts",
            "Allow IPIP packets to other Calico hosts",
        )
    };
    let local = if vxlan {
        " -m addrtype --dst-type LOCAL"
    } else {
        ""
    };
    let mut input: Vec<String> = (hosts.iter())
        .map(|h| {
            format!(
                "-s {h}/32 {tunnel} -m addrtype --dst-type LOCAL {} -j ACCEPT",
                said(allow_in)
            )
        })
        .collect();
    input.push(format!("{tunnel}{local} {} -j DROP", said(deny_in)));
    input.extend([
        format!(
            "-i cali+ {} -g cali-wl-to-host",
            said("calico: from a workload to this host")
        ),
        "-m mark --mark 0x10000/0x10000 -j ACCEPT".into(),
        "-j MARK --set-xmark 0x0/0xf0000".into(),
    ]);
    chains.push(("filter", "cali-INPUT".into(), input));
    chains.push((
        "filter",
        "cali-wl-to-host".into(),
        vec![
            "-j cali-from-wl-dispatch".into(),
            format!(
                "{} -j ACCEPT",
                said("Configured DefaultEndpointToHostAction")
            ),
        ],
    ));
    let mut output = vec![
        "-m mark --mark 0x10000/0x10000 -j ACCEPT".to_string(),
        format!(
            "-o cali+ {} -j RETURN",
            said("calico: to a workload: the host's own packets do not meet its policy")
        ),
    ];
    output.extend((hosts.iter()).map(|h| {
        format!(
            "-d {h}/32 {tunnel} -m addrtype --src-type LOCAL {} -j ACCEPT",
            said(allow_out)
        )
    }));
    output.push("-j MARK --set-xmark 0x0/0xf0000".into());
    chains.push(("filter", "cali-OUTPUT".into(), output));
    // raw: Calico's mark bits cleared as a packet enters or leaves, and
    // (since Felix 3.29) VXLAN's UDP flows left untracked.
    for chain in ["cali-PREROUTING", "cali-OUTPUT"] {
        let mut rules = vec![format!(
            "{} -j MARK --set-xmark 0x0/0xf0000",
            said("calico: clear its mark bits")
        )];
        if vxlan {
            rules.push(format!(
                "-p udp -m udp --dport 4789 {} -j NOTRACK",
                said("calico: VXLAN's packets are not tracked")
            ));
        }
        chains.push(("raw", chain.into(), rules));
    }
    let jumps = vec![
        (
            "filter",
            "FORWARD",
            format!("{} -j cali-FORWARD", said("calico: its FORWARD chain")),
            true,
        ),
        (
            "filter",
            "INPUT",
            format!("{} -j cali-INPUT", said("calico: its INPUT chain")),
            true,
        ),
        (
            "filter",
            "OUTPUT",
            format!("{} -j cali-OUTPUT", said("calico: its OUTPUT chain")),
            true,
        ),
        (
            "raw",
            "PREROUTING",
            format!(
                "{} -j cali-PREROUTING",
                said("calico: its raw PREROUTING chain")
            ),
            true,
        ),
        (
            "raw",
            "OUTPUT",
            format!("{} -j cali-OUTPUT", said("calico: its raw OUTPUT chain")),
            true,
        ),
    ];
    let mut jumps = jumps;
    jumps.extend(felix_forward_appends().map(|r| ("filter", "FORWARD", r, false)));
    (chains, jumps)
}

/// The rules Felix appends to FORWARD that jump to none of its chains:
/// another CNI taking over deletes them by their text.
fn felix_forward_appends() -> [String; 2] {
    [
        "-m comment --comment \"Policy explicitly accepted packet.\" -m mark --mark 0x10000/0x10000 -j ACCEPT".into(),
        "-j MARK --set-xmark 0x10000/0x10000".into(),
    ]
}

/// Writes the CNI's rules into `kernel` as the CNI does on each of its
/// syncs: its chains' rules anew, the chains it no longer wants (the
/// other CNI's, a workload's that is gone) and the rules that lead to
/// them deleted, its rules in the built-in chains kept where they are,
/// or put where it puts them when missing.
///
/// A chain of the other CNI that a rule of the learner's (one no CNI
/// wrote) still jumps to stays, as `iptables -X` refuses a chain in use
/// ("Too many links"); its own jumps to the chains that go are deleted
/// with them. What stayed so is returned, in words.
fn install_cni(kernel: &mut Kernel, cni: &CniRules) -> Result<Vec<String>, String> {
    let mut kept_words = Vec::new();
    for table in ["raw", "nat", "filter"] {
        let own: Vec<&str> = (cni.chains.iter())
            .filter(|(t, ..)| *t == table)
            .map(|(_, n, _)| n.as_str())
            .collect();
        // A table the node does not have stays so when nothing goes in it.
        if own.is_empty() && !kernel.has_table(table) {
            continue;
        }
        let stale: Vec<String> = (kernel.chains(table).into_iter())
            .filter(|c| cni_chain(c) && !own.contains(&c.as_str()))
            .collect();
        // The CNIs' own rules say whose they are in a comment.
        // (Felix itself writes `cali:<hash>` comments, an imported node's.)
        let cni_rule = |r: &str| {
            r.contains("--comment \"calico:")
                || r.contains("--comment \"cali:")
                || r.contains("--comment \"flanneld ")
        };
        let (_kept, stale): (Vec<String>, Vec<String>) = stale.into_iter().partition(|c| {
            let mine = kernel.referrers(table, c).into_iter().find(|(from, r)| !cni_chain(from) && !cni_rule(r));
            if let Some((from, r)) = &mine {
                kept_words.push(format!("{table} chain {c} stays, as iptables -X refuses a chain in use: a rule not the CNI's jumps to it (-A {from} {r})"));
            }
            mine.is_some()
        });
        let stale: Vec<&str> = stale.iter().map(String::as_str).collect();
        kernel.drop_chains(table, &stale);
        // Only where the other CNI wrote them: its first such rule (Felix's
        // "Policy explicitly accepted packet.", which no one else writes)
        // says so, and then each goes once.
        let foreign: Vec<_> = (cni.foreign.iter()).filter(|(t, ..)| *t == table).collect();
        if let Some((_, chain, first)) = foreign.first() {
            if kernel.has_rule(table, chain, first)? {
                for (_, chain, rule) in &foreign {
                    kernel.delete_rule(table, chain, rule)?;
                }
            }
        }
        if own.is_empty() {
            continue;
        }
        let mut text = format!("*{table}\n");
        for name in &own {
            text += &format!(":{name} - [0:0]\n");
        }
        for (_, name, rules) in cni.chains.iter().filter(|(t, ..)| *t == table) {
            for r in rules {
                text += &format!("-A {name} {r}\n");
            }
        }
        kernel.restore(&(text + "COMMIT\n"))?;
        for (_, chain, rule, first) in cni.jumps.iter().filter(|(t, ..)| *t == table) {
            if *first {
                kernel.ensure_jump(table, chain, rule)?;
            } else {
                kernel.ensure_appended(table, chain, rule)?;
            }
        }
    }
    Ok(kept_words)
}

/// kube-proxy (in the layout the cluster asks for) starting on a node whose
/// tables are `kernel`, and syncing into them: its own stale chains go.
fn sync_into(kernel: &mut Kernel, cluster: &Cluster, config: Config) -> Result<(), String> {
    let existing = kernel.chains("nat");
    if legacy(cluster) {
        kernel.apply_legacy(&kubeproxy::legacy::generate_on(cluster, &config, &existing))
    } else {
        kernel.apply(&Proxier::on_node(config, existing).sync(cluster))
    }
}

/// One full sync's restore input, in the layout the cluster asks for.
fn restore_for(cluster: &Cluster, config: &Config) -> Restore {
    if legacy(cluster) {
        kubeproxy::legacy::generate(cluster, config)
    } else {
        kubeproxy::generate(cluster, config)
    }
}

/// kube-proxy's restore input for one node (what `--restore-input` prints).
pub fn node_restore(cluster: &Cluster, config: Config) -> String {
    restore_for(cluster, &config).text()
}

/// kube-proxy's restore input on `node`, for naming its chains and rules.
pub fn node_sync(cluster: &Cluster, node: &str) -> Option<Restore> {
    Some(restore_for(cluster, &node_config(cluster, node)?))
}

/// What one sync changed on a node: lines of `iptables-save` and of
/// `ip route` that appeared and disappeared.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeDiff {
    pub node: String,
    pub rules: LineChanges,
    pub routes: LineChanges,
    /// The node's devices, one line each as [`device_line`] writes it
    /// (a mode's tunnel, a bridge port's hairpin mode).
    #[serde(default)]
    pub links: LineChanges,
    /// Why the sync could not be made, when it could not.
    pub note: Option<String>,
}

impl NodeDiff {
    pub fn is_empty(&self) -> bool {
        self.note.is_none()
            && self.rules.is_empty()
            && self.routes.is_empty()
            && self.links.is_empty()
    }
}

/// A device as `ip -d addr` would sum it up in one line: its name, type,
/// the facts a sync can change, its addresses
/// (`cni0: bridge, ports vethebae075e vethc4c25030, inet 10.244.0.1/24`).
pub fn device_line(d: &Device) -> String {
    let mut out = format!("{}: ", d.name);
    match &d.kind {
        DeviceKind::Loopback => out += "loopback",
        DeviceKind::Ethernet { lan } => out += &format!("ethernet on {lan}"),
        DeviceKind::Veth { peer } => out += &format!("veth, peer {peer}"),
        DeviceKind::Ipip => out += "ipip",
        DeviceKind::Bridge { ports } => out += &format!("bridge, ports {}", ports.join(" ")),
        DeviceKind::Vxlan {
            vni, port, local, ..
        } => out += &format!("vxlan id {vni} dstport {port} local {local}"),
    }
    if d.hairpin {
        out += ", hairpin on";
    }
    if d.proxy_arp {
        out += ", proxy_arp";
    }
    if d.rp_filter != 0 {
        out += &format!(", rp_filter {}", d.rp_filter);
    }
    // ip link's mtu, when not the kind's default.
    if let Some(m) = d.mtu {
        out += &format!(", mtu {m}");
    }
    for a in &d.addrs {
        out += &format!(", inet {a}");
    }
    out
}

/// A host's devices, one [`device_line`] each.
fn device_lines(h: &Host) -> String {
    h.devices.iter().map(|d| device_line(d) + "\n").collect()
}

/// How many lines of each kind a [`LineChanges`] keeps. A sync over an
/// imported 10k-service dump removes 150,000 lines: the learner reads the
/// first ones and the counts, and the page does not hold them all.
pub const DIFF_LINES: usize = 200;

/// Lines that appeared in a text and lines that disappeared from it: the
/// first [`DIFF_LINES`] of each, in order, and how many there are in all.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub added_total: usize,
    pub removed_total: usize,
}

impl LineChanges {
    pub fn is_empty(&self) -> bool {
        self.added_total == 0 && self.removed_total == 0
    }
}

/// Lines of `after` not in `before` and of `before` not in `after`
/// (counting repeats), comments and blank lines left out.
fn line_diff(before: &str, after: &str) -> LineChanges {
    let keep = |l: &&str| !l.trim().is_empty() && !l.starts_with('#');
    // Counts of each line, so a 100,000-line sync compares in linear time.
    let mut old: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for l in before.lines().filter(keep) {
        *old.entry(l).or_default() += 1;
    }
    let mut d = LineChanges::default();
    for l in after.lines().filter(keep) {
        match old.get_mut(l) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                d.added_total += 1;
                if d.added.len() < DIFF_LINES {
                    d.added.push(l.to_string());
                }
            }
        }
    }
    // What is left in the counts was not matched: removed.
    for l in before.lines().filter(keep) {
        if let Some(n) = old.get_mut(l).filter(|n| **n > 0) {
            *n -= 1;
            d.removed_total += 1;
            if d.removed.len() < DIFF_LINES {
                d.removed.push(l.to_string());
            }
        }
    }
    d
}

/// Regenerates a scenario after the cluster changed, the way the node's own
/// components would: kube-proxy syncs against what the node's tables hold
/// now (its KUBE-* chains are replaced, chains it no longer needs are
/// deleted), the CNI writes its own again (`install_cni`: every
/// `cali-…` or `FLANNEL-…` chain it does not want now goes, a learner's
/// own of such a name too, as Felix and flanneld delete theirs), every
/// other chain and rule stays, and the CNI's routes are
/// replaced while routes added by hand (not in `old`'s generated set) stay.
/// Pods and the client are made again from the cluster. Returns the new
/// scenario and, per node, what changed.
pub fn resync(
    old: Option<&Cluster>,
    cluster: &Cluster,
    current: &Scenario,
) -> Result<(Scenario, Vec<NodeDiff>), Errors> {
    // kube-proxy's first sync only on nodes new to `current` (the others
    // sync into their own tables below); of `old`, only routes are read.
    let new_node = |n: &str| current.host(n).is_none();
    let mut sc = build_with_rules(cluster, &current.name, &current.title, &new_node)?;
    let before =
        old.and_then(|c| build_with_rules(c, &current.name, &current.title, &|_| false).ok());
    let mut diffs = Vec::new();
    let workloads: Vec<(String, Vec<Workload>)> = (sc.hosts.iter())
        .filter(|h| h.kind == HostKind::Node)
        .map(|h| (h.name.clone(), workloads_of(&sc, &h.name)))
        .collect();
    for h in sc.hosts.iter_mut().filter(|h| h.kind == HostKind::Node) {
        let local = (workloads.iter())
            .find(|(n, _)| *n == h.name)
            .map_or(&[][..], |(_, w)| w.as_slice());
        let Some(prev) = current.host(&h.name) else {
            continue; // a new node: as generated
        };
        let prev_rules = prev
            .iptables
            .as_ref()
            .map(Text::as_text)
            .unwrap_or_default();
        // kube-proxy syncs against what the node holds. When that cannot be
        // read as the kernel would hold it, the node keeps its rules as
        // they are (the learner's text is never replaced) and says why.
        let mut note = None;
        let synced = Kernel::from_save(&prev_rules).and_then(|mut kernel| {
            let config = node_config(cluster, &h.name).ok_or("the node has no address")?;
            sync_into(&mut kernel, cluster, config)?;
            // The CNI writes its chains again (its mode may have changed).
            let kept = match node_cni_nat(cluster, &h.name, local) {
                Some(cni) => install_cni(&mut kernel, &cni)?,
                None => Vec::new(),
            };
            Ok((kernel.save(), kept))
        });
        match synced {
            Ok((text, kept)) => {
                h.iptables = Some(Text::One(text));
                if !kept.is_empty() {
                    note = Some(kept.join("; "));
                }
            }
            Err(e) => {
                h.iptables = prev.iptables.clone();
                note = Some(format!(
                    "kube-proxy's rules were not synced on {}: its tables could not be read as the kernel holds them ({e}); they are kept as they were",
                    h.name
                ));
            }
        }
        // Routes: the CNI's own, plus those added by hand.
        let generated_before: Vec<String> = before
            .as_ref()
            .and_then(|b| b.host(&h.name))
            .map(|b| b.routes.to_text().lines().map(str::to_string).collect())
            .unwrap_or_default();
        let mut routes: Vec<String> = h.routes.to_text().lines().map(str::to_string).collect();
        // The kernel keeps one route per key (route::RouteKey).
        let parsed = |l: &str| {
            crate::engine::route_text::parse_ip_route_line(l, 1)
                .ok()
                .flatten()
        };
        let mut replaced = Vec::new();
        for l in prev.routes.to_text().lines() {
            if before.is_some()
                && !generated_before.iter().any(|g| g == l)
                && !routes.iter().any(|r| r == l)
            {
                // The learner's route stands in for the CNI's own with the
                // same key (a blackhole for a block, say).
                if let Some(mine) = parsed(l) {
                    routes.retain(|g| {
                        let same = parsed(g).is_some_and(|g| g.key() == mine.key());
                        if same {
                            replaced.push(format!("{l} (instead of the CNI's {g})"));
                        }
                        !same
                    });
                }
                routes.push(l.to_string());
            }
        }
        if !replaced.is_empty() {
            let kept = format!(
                "your route{} kept: {}",
                if replaced.len() == 1 { " is" } else { "s are" },
                replaced.join("; ")
            );
            note = Some(match note {
                Some(n) => format!("{n}; {kept}"),
                None => kept,
            });
        }
        h.routes = Text::Lines(routes);
        diffs.push(NodeDiff {
            node: h.name.clone(),
            rules: line_diff(
                &prev_rules,
                &h.iptables.as_ref().map(Text::to_text).unwrap_or_default(),
            ),
            routes: line_diff(&prev.routes.to_text(), &h.routes.to_text()),
            links: line_diff(&device_lines(prev), &device_lines(h)),
            note,
        });
    }
    Ok((sc, diffs))
}

/// What each KUBE-SVC-/KUBE-SVL-/KUBE-EXT-/KUBE-FW-/KUBE-SEP- chain on a
/// node stands for: `namespace/name:port`, and `→ IP:port` for an
/// endpoint's chain.
pub fn chain_names(cluster: &Cluster, node: &str) -> Vec<(String, String)> {
    node_sync(cluster, node).map_or_else(Vec::new, |r| chain_names_in(&r))
}

/// What the CNI's own chains on `node` stand for, as full phrases
/// (`Felix's chain for …`, `flanneld's …`): Felix's per pod and per
/// namespace, and the fixed ones of the cluster's mode.
pub fn cni_chain_names(cluster: &Cluster, node: &str) -> Vec<(String, String)> {
    let net = cluster.network.as_ref();
    let Some(mode) = Mode::parse(net.map_or(k8s::MODES[0], |n| n.mode.as_str())) else {
        return Vec::new();
    };
    let fixed: &[(&str, &str)] = if mode.calico() {
        &[
            ("cali-FORWARD", "Felix's FORWARD chain: it sends a packet from a pod, or to one, through that pod's own chain"),
            ("cali-from-wl-dispatch", "Felix's chain that picks, by the veth a packet came in on, the chain of the pod that sent it"),
            ("cali-to-wl-dispatch", "Felix's chain that picks, by the veth a packet goes out on, the chain of the pod it goes to"),
            ("cali-INPUT", "Felix's INPUT chain: the tunnel's packets only from the cluster's nodes, a pod's packets to this node through cali-wl-to-host"),
            ("cali-wl-to-host", "Felix's chain for a pod's packets to this node: the pod's own chain, then DefaultEndpointToHostAction (ACCEPT)"),
            ("cali-OUTPUT", "Felix's OUTPUT chain (in filter: the node's own packets to a pod pass unchecked, the tunnel's go out to the cluster's nodes; in raw: Calico's mark bits cleared)"),
            ("cali-PREROUTING", "Felix's raw PREROUTING chain: Calico's mark bits cleared as a packet comes in (and VXLAN's packets left untracked)"),
            ("cali-POSTROUTING", "Felix's nat POSTROUTING chain: its IP pool's natOutgoing, and the node's own packets into the tunnel"),
            ("cali-nat-outgoing", "Felix's chain that masquerades pod traffic leaving the IP pools (natOutgoing)"),
        ]
    } else {
        &[
            (
                "FLANNEL-POSTRTG",
                "flanneld's chain that masquerades pod traffic leaving the pod network (--ip-masq)",
            ),
            (
                "FLANNEL-FWD",
                "flanneld's chain that accepts the pod network's forwarded packets",
            ),
        ]
    };
    let mut out: Vec<(String, String)> = (fixed.iter())
        .map(|(c, w)| (c.to_string(), w.to_string()))
        .collect();
    if !mode.calico() {
        return out;
    }
    let pods = (cluster.pods.iter())
        .filter(|p| p.node_name.as_deref() == Some(node))
        .map(|p| (p.namespace.as_str(), p.name.as_str()))
        .chain((cluster.slices.iter()).flat_map(|s| {
            (s.endpoints.iter())
                .filter(|e| e.node_name.as_deref() == Some(node))
                .filter_map(move |e| Some((s.namespace.as_str(), e.pod.as_deref()?)))
        }));
    for (ns, pod) in pods {
        let veth = calico_veth(ns, pod);
        for (prefix, what) in [("cali-fw-", "from"), ("cali-tw-", "to")] {
            let chain = felix_chain(prefix, &veth);
            if !out.iter().any(|(c, _)| *c == chain) {
                out.push((chain, format!("Felix's chain for packets {what} pod {ns}/{pod} (its veth {veth}): a known connection's at once, else its policy and profiles")));
            }
        }
        for (dir, what) in [("pro", "from"), ("pri", "to")] {
            for (id, whose) in [
                (format!("kns.{ns}"), format!("namespace {ns}'s profile")),
                (
                    format!("ksa.{ns}.default"),
                    format!("service account {ns}/default's profile (no rules of its own)"),
                ),
            ] {
                let chain = felix_chain(&format!("cali-{dir}-"), &id);
                if !out.iter().any(|(c, _)| *c == chain) {
                    out.push((chain, format!("Felix's chain for {whose}, for packets {what} its pods; it marks what it allows with 0x10000")));
                }
            }
        }
    }
    out
}

/// [`chain_names`] of a sync already made.
pub fn chain_names_in(r: &Restore) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for c in r
        .nat_chains
        .iter()
        .filter(|c| kubeproxy::is_service_chain(c) || c.starts_with("KUBE-XLB-"))
    {
        if let Some(o) = r.chain_origin(c) {
            let what = match &o.endpoint {
                Some(e) if c.starts_with("KUBE-SEP-") => format!("{} → {e}", o.service_port),
                _ => o.service_port.clone(),
            };
            out.push((c.clone(), what));
        }
    }
    out
}

/// Where one rule kube-proxy wrote on a node comes from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleOrigin {
    /// The rule as `iptables-save` prints it (`-A KUBE-SERVICES -d …`).
    pub rule: String,
    /// `namespace/name:port`, and `→ IP:port` for an endpoint's rules.
    pub what: String,
    /// The line of the Service (or of the endpoint) in the cluster's YAML.
    pub line: usize,
}

/// Every rule kube-proxy writes on `node` for a Service port or an
/// endpoint, with the object it comes from: what links a rule back to the
/// YAML.
pub fn rule_origins(cluster: &Cluster, node: &str) -> Vec<RuleOrigin> {
    node_sync(cluster, node).map_or_else(Vec::new, |r| rule_origins_in(cluster, &r))
}

/// [`rule_origins`] of a sync already made.
pub fn rule_origins_in(cluster: &Cluster, r: &Restore) -> Vec<RuleOrigin> {
    // Services and their slices by namespace and name, found once: a
    // search per rule made this quadratic (400 Services: 240,000 keys
    // formatted per sync, a quarter of its instructions).
    let mut services: HashMap<(&str, &str), &k8s::Service> = HashMap::new();
    for s in &cluster.services {
        (services.entry((s.namespace.as_str(), s.name.as_str()))).or_insert(s);
    }
    let mut slices: HashMap<(&str, &str), Vec<&k8s::EndpointSlice>> = HashMap::new();
    for sl in &cluster.slices {
        (slices.entry((sl.namespace.as_str(), sl.service.as_str())))
            .or_default()
            .push(sl);
    }
    let mut out = Vec::new();
    for l in r.nat_rules.iter().chain(&r.filter_rules) {
        let o = &l.origin;
        if o.service_port.is_empty() {
            continue;
        }
        let Some(rest) = l.text.strip_prefix("-A ") else {
            continue;
        };
        let (chain, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let Ok(canonical) = crate::engine::iptables::canonical::canonical(args) else {
            continue;
        };
        let key = o
            .service_port
            .split_once(':')
            .map_or(o.service_port.as_str(), |(k, _)| k);
        let ns_name = key.split_once('/').unwrap_or(("", key));
        let svc = services.get(&ns_name).copied();
        let ep_line = o.endpoint.as_ref().and_then(|e| {
            let ip: IpAddr = e
                .rsplit_once(':')?
                .0
                .trim_matches(['[', ']'])
                .parse()
                .ok()?;
            slices
                .get(&ns_name)
                .filter(|_| svc.is_some())?
                .iter()
                .flat_map(|s| &s.endpoints)
                .find(|e| e.addresses.first() == Some(&ip))
                .map(|e| e.line)
        });
        out.push(RuleOrigin {
            rule: format!("-A {chain} {canonical}"),
            what: match &o.endpoint {
                Some(e) => format!("{} → {e}", o.service_port),
                None => o.service_port.clone(),
            },
            line: ep_line.or(svc.map(|s| s.line)).unwrap_or(0),
        });
    }
    out
}
