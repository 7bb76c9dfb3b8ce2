//! kube-proxy's settings: the command-line flags and facts about the node
//! that change the rules it writes.

use crate::engine::error::Errors;
use crate::engine::k8s::yaml::{self, At, Report};
use crate::engine::k8s::{parse_cidr_sloppy, parse_ip_sloppy};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The proxier's IP family (kube-proxy runs one per family).
    pub ipv6: bool,
    /// Endpoints whose `nodeName` is this are local.
    pub node_name: String,
    pub node_ip: IpAddr,
    /// The node's addresses by interface, for `--nodeport-addresses`.
    pub host_addresses: Vec<(String, Vec<IpNet>)>,
    /// `--cluster-cidr` (the `ClusterCIDR` local-traffic detector); `None`
    /// writes no "from a pod" / "not from a pod" rules.
    pub local_detector: Option<IpNet>,
    pub masquerade_all: bool,
    /// `1 << --iptables-masquerade-bit`, as `0x4000`.
    pub masquerade_mark: String,
    pub localhost_node_ports: bool,
    /// `--nodeport-addresses` of this family; `None` matches every local
    /// address.
    pub node_port_addresses: Option<Vec<IpNet>>,
    /// The iptables binary supports `--random-fully`.
    pub random_fully: bool,
    /// `nf_conntrack_tcp_be_liberal` is set: no INVALID-drop rule.
    pub conntrack_tcp_liberal: bool,
    /// The nfacct counters kube-proxy could create.
    pub nfacct_invalid: bool,
    pub nfacct_localhost: bool,
    /// Above this many endpoints, per-endpoint comments are left out.
    pub large_cluster_threshold: usize,
    /// The node's `topology.kubernetes.io/zone` label.
    pub zone: Option<String>,
    pub first_sync_is_full: bool,
}

impl Default for Config {
    /// kube-proxy's defaults on a node named `node` at 192.168.0.2 with pods
    /// in 10.0.0.0/8 (the addresses of kube-proxy's own tests).
    fn default() -> Config {
        Config {
            ipv6: false,
            node_name: "test-node".into(),
            node_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 2)),
            host_addresses: vec![
                ("lo".into(), vec!["127.0.0.1/8".parse().unwrap()]),
                ("eth0".into(), vec!["192.168.0.2/24".parse().unwrap()]),
            ],
            local_detector: Some("10.0.0.0/8".parse().unwrap()),
            masquerade_all: false,
            masquerade_mark: "0x4000".into(),
            localhost_node_ports: true,
            node_port_addresses: None,
            random_fully: false,
            conntrack_tcp_liberal: false,
            nfacct_invalid: true,
            nfacct_localhost: true,
            large_cluster_threshold: 1000,
            zone: None,
            first_sync_is_full: true,
        }
    }
}

impl Config {
    /// The settings of a real node: its name, address and interfaces, the
    /// cluster's pod CIDR, and kube-proxy's defaults otherwise (localhost
    /// NodePorts on, as kube-proxy decides when `--nodeport-addresses`
    /// includes 127.0.0.1 or is unset).
    /// kube-proxy writes its mark as Go's `%#08x` prints `1 << 14`:
    /// `0x00004000` (iptables-save shows `0x4000`).
    pub fn for_node(
        name: &str,
        ip: Ipv4Addr,
        interfaces: Vec<(String, Vec<IpNet>)>,
        cluster_cidr: Option<IpNet>,
    ) -> Config {
        Config {
            node_name: name.into(),
            node_ip: IpAddr::V4(ip),
            host_addresses: interfaces,
            local_detector: cluster_cidr,
            masquerade_mark: "0x00004000".into(),
            ..Config::default()
        }
    }

    /// The node's addresses of this family inside `cidrs`, in interface
    /// order: one `-d <address> -j KUBE-NODEPORTS` rule each.
    pub fn node_port_ips(&self, cidrs: &[IpNet]) -> Vec<IpAddr> {
        let mut out = Vec::new();
        for (_, addrs) in &self.host_addresses {
            for a in addrs {
                let ip = a.addr();
                if ip.is_ipv6() == self.ipv6
                    && cidrs.iter().any(|c| c.contains(&ip))
                    && !out.contains(&ip)
                {
                    out.push(ip);
                }
            }
        }
        out
    }

    /// Reads the settings file of the test vectors (`proxier.yaml`): the
    /// keys are the `Proxier` fields of `proxier.go`.
    pub fn from_yaml(text: &str) -> Result<Config, Errors> {
        let docs = yaml::documents(text)?;
        let mut c = Config::default();
        let Some(doc) = docs.first() else {
            return Ok(c);
        };
        let mut r = Report::default();
        let doc = At::new(doc, "");
        let entries = r.ok(doc.entries()).unwrap_or_default();
        let mut node_port_cidrs: Option<Vec<String>> = None;
        for (key, v) in &entries {
            let n = At::new(v, key);
            match key.as_str() {
                "ipFamily" => {
                    if let Some(t) = r.ok(n.text()) {
                        c.ipv6 = t == "IPv6";
                    }
                }
                "nodeName" => c.node_name = r.ok(n.text()).unwrap_or_default(),
                "nodeIP" => {
                    if let Some(ip) = r.ok(n.text()).and_then(|t| parse_ip_sloppy(&t)) {
                        c.node_ip = ip;
                    }
                }
                "hostInterfaces" => {
                    c.host_addresses.clear();
                    for (name, addrs) in r.ok(n.entries()).unwrap_or_default() {
                        let p = format!("hostInterfaces.{name}");
                        let list = r.ok(At::new(addrs, &p).items()).unwrap_or_default();
                        let nets = list
                            .iter()
                            .filter_map(|a| {
                                let a = At::new(a, &p);
                                let t = r.ok(a.text())?;
                                let (ip, len) = t.split_once('/')?;
                                IpNet::new(parse_ip_sloppy(ip)?, len.parse().ok()?).ok()
                            })
                            .collect();
                        c.host_addresses.push((name, nets));
                    }
                }
                "localTrafficDetector" => {
                    let mode = r
                        .ok(n.get("mode"))
                        .flatten()
                        .and_then(|m| r.ok(At::new(m, "mode").text()));
                    c.local_detector = match mode.as_deref() {
                        Some("ClusterCIDR") => r
                            .ok(n.get("cidr"))
                            .flatten()
                            .and_then(|m| r.ok(At::new(m, "cidr").text()))
                            .and_then(|t| parse_cidr_sloppy(&t)),
                        _ => None,
                    };
                }
                "masqueradeAll" => c.masquerade_all = r.ok(n.boolean()).unwrap_or(false),
                "masqueradeMark" => c.masquerade_mark = r.ok(n.text()).unwrap_or_default(),
                "localhostNodePorts" => c.localhost_node_ports = r.ok(n.boolean()).unwrap_or(true),
                "nodePortAddresses" if !n.is_null() => {
                    let list = r.ok(n.items()).unwrap_or_default();
                    node_port_cidrs = Some(
                        list.iter()
                            .filter_map(|a| r.ok(At::new(a, key).text()))
                            .collect(),
                    );
                }
                "iptablesHasRandomFully" => c.random_fully = r.ok(n.boolean()).unwrap_or(false),
                "conntrackTCPLiberal" => {
                    c.conntrack_tcp_liberal = r.ok(n.boolean()).unwrap_or(false)
                }
                "nfacctCounters" => {
                    // Only the counters listed (as true) exist.
                    c.nfacct_invalid = false;
                    c.nfacct_localhost = false;
                    for (name, v) in r.ok(n.entries()).unwrap_or_default() {
                        let on = r.ok(At::new(v, &name).boolean()).unwrap_or(false);
                        match name.as_str() {
                            "ct_state_invalid_dropped_pkts" => c.nfacct_invalid = on,
                            "localhost_nps_accepted_pkts" => c.nfacct_localhost = on,
                            _ => {}
                        }
                    }
                }
                "largeClusterEndpointsThreshold" => {
                    c.large_cluster_threshold =
                        r.ok(n.integer(0, i64::MAX, "a count")).unwrap_or(1000) as usize
                }
                "firstSyncIsFull" => c.first_sync_is_full = r.ok(n.boolean()).unwrap_or(true),
                "zone" => c.zone = r.ok(n.text()),
                _ => {}
            }
        }
        if let Some(list) = node_port_cidrs {
            c.node_port_addresses = node_port_addresses(&list, c.ipv6);
        }
        if r.errors.is_empty() {
            Ok(c)
        } else {
            Err(r.errors)
        }
    }
}

/// `--nodeport-addresses` as kube-proxy reads it for one family: entries of
/// the other family are ignored, and no entry left (or a `/0`) means every
/// address.
pub fn node_port_addresses(list: &[String], ipv6: bool) -> Option<Vec<IpNet>> {
    let nets: Vec<IpNet> = list
        .iter()
        .filter_map(|s| parse_cidr_sloppy(s.trim()))
        .filter(|n| n.addr().is_ipv6() == ipv6)
        .collect();
    if nets.is_empty() || nets.iter().any(|n| n.prefix_len() == 0) {
        None
    } else {
        Some(nets)
    }
}
