//! Scenarios: the whole world as one JSON document (hosts, their devices,
//! addresses, `ip route` text, `iptables-save` text, listeners, services,
//! the random seed), and the built-in ones.
//!
//! A [`World`] is a scenario checked and compiled: rules parsed, routes
//! parsed, veth peers and LAN segments resolved, the local routing table
//! derived from the addresses as the kernel derives it.

use crate::engine::error::{Errors, ParseError};
use crate::engine::iptables::{save, Ruleset};
use crate::engine::packet::Proto;
use crate::engine::route::{Route, RouteTable, RouteType, Scope, TableId};
use crate::engine::route_text;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Text given as one string or as a list of lines (easier to read in JSON).
///
/// Deserialised by hand rather than with `#[serde(untagged)]`, which
/// buffers every value first and costs the web page 10s of KB of code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Text {
    Lines(Vec<String>),
    One(String),
}

impl Default for Text {
    fn default() -> Text {
        Text::One(String::new())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of lines")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::One(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text::One(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Text, A::Error> {
                let mut lines = Vec::new();
                while let Some(l) = a.next_element::<String>()? {
                    lines.push(l);
                }
                Ok(Text::Lines(lines))
            }
        }
        d.deserialize_any(V)
    }
}

impl Text {
    /// The length of [`Text::to_text`], without making it.
    pub fn len(&self) -> usize {
        match self {
            Text::One(s) => s.len(),
            Text::Lines(l) => l.iter().map(|x| x.len() + 1).sum::<usize>().max(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`Text::to_text`], borrowed when the text is one string (a node's
    /// dump is not copied to be read).
    pub fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Text::One(s) => std::borrow::Cow::Borrowed(s),
            Text::Lines(_) => std::borrow::Cow::Owned(self.to_text()),
        }
    }

    pub fn to_text(&self) -> String {
        match self {
            Text::One(s) => s.clone(),
            Text::Lines(l) => {
                let mut s = l.join("\n");
                s.push('\n');
                s
            }
        }
    }
}

/// What a host is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostKind {
    /// A Kubernetes node: forwards, runs kube-proxy's rules.
    Node,
    /// A pod: its own network namespace on a node.
    Pod,
    /// A machine outside the cluster, on the LAN.
    Client,
}

/// A device and its type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum DeviceKind {
    Loopback,
    /// A NIC on a LAN segment (`ens33`).
    Ethernet {
        lan: String,
    },
    /// One end of a veth pair; `peer` is `host/device`.
    Veth {
        peer: String,
    },
    /// The IPIP tunnel device (`tunl0`).
    Ipip,
    /// A Linux bridge (`docker0`, `cni0`) with its member ports: devices
    /// of this host (the host ends of veths) or `host/device` of the far
    /// ends (containers).
    Bridge {
        #[serde(default)]
        ports: Vec<String>,
    },
    /// A VXLAN device (`flannel.1`, `vxlan.calico`): its VNI and UDP port,
    /// its own MAC and underlay address, and the entries that lead an
    /// overlay next hop to the node behind it (`ip neigh`: next hop → MAC;
    /// `bridge fdb`: MAC → node).
    Vxlan {
        vni: u32,
        port: u16,
        mac: String,
        local: Ipv4Addr,
        #[serde(default)]
        neigh: Vec<Neigh>,
        #[serde(default)]
        fdb: Vec<Fdb>,
    },
}

/// A permanent neighbour entry (`ip neigh add <ip> lladdr <mac> dev …`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neigh {
    pub ip: Ipv4Addr,
    pub lladdr: String,
}

/// A forwarding entry of a VXLAN device (`bridge fdb add <mac> dst <ip>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fdb {
    pub lladdr: String,
    pub dst: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DeviceRepr")]
pub struct Device {
    pub name: String,
    #[serde(flatten)]
    pub kind: DeviceKind,
    /// Addresses with prefix length (`ip addr`).
    #[serde(default)]
    pub addrs: Vec<Ipv4Net>,
    /// `net.ipv4.conf.<dev>.proxy_arp` (Calico sets it on `cali…`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub proxy_arp: bool,
    /// `net.ipv4.conf.<dev>.rp_filter`: 0 off, 1 strict (the route back
    /// to a packet's source must leave by this device), 2 loose (there
    /// must be one). Calico's Felix sets 1 on `cali…`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rp_filter: u8,
    /// A bridge port's hairpin mode (`ip link set <dev> type bridge_slave
    /// hairpin on`): the bridge may send a frame back out of the port it
    /// came in on (a pod reaching itself through its Service).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hairpin: bool,
    /// `ip link set <dev> mtu N`; none is the kernel's default for the
    /// kind of device ([`Device::mtu`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

impl Device {
    /// The device's MTU: its own, or the kernel's default for its kind
    /// (loopback 65536, an IPIP tunnel 1480 and VXLAN 1450 over a 1500
    /// byte link, 1500 otherwise).
    pub fn mtu(&self) -> u32 {
        self.mtu.unwrap_or(match self.kind {
            DeviceKind::Loopback => 65536,
            DeviceKind::Ipip => 1480,
            DeviceKind::Vxlan { .. } => 1450,
            _ => 1500,
        })
    }
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// A device as written in JSON (`"type"` beside the other fields). Read
/// through this flat struct instead of `#[serde(flatten)]` with a tagged
/// enum, which buffers the whole object (and doubles the web page's
/// deserialising code).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceRepr {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    lan: Option<String>,
    #[serde(default)]
    peer: Option<String>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    vni: Option<u32>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    mac: Option<String>,
    #[serde(default)]
    local: Option<Ipv4Addr>,
    #[serde(default)]
    neigh: Vec<Neigh>,
    #[serde(default)]
    fdb: Vec<Fdb>,
    #[serde(default)]
    addrs: Vec<Ipv4Net>,
    #[serde(default)]
    proxy_arp: bool,
    #[serde(default)]
    rp_filter: u8,
    #[serde(default)]
    hairpin: bool,
    #[serde(default)]
    mtu: Option<u32>,
}

impl TryFrom<DeviceRepr> for Device {
    type Error = String;
    fn try_from(r: DeviceRepr) -> Result<Device, String> {
        let need = |v: Option<String>, what: &str| {
            v.ok_or_else(|| format!("device {}: a {} device needs \"{what}\"", r.name, r.kind))
        };
        let kind = match r.kind.as_str() {
            "loopback" => DeviceKind::Loopback,
            "ethernet" => DeviceKind::Ethernet {
                lan: need(r.lan.clone(), "lan")?,
            },
            "veth" => DeviceKind::Veth {
                peer: need(r.peer.clone(), "peer")?,
            },
            "ipip" => DeviceKind::Ipip,
            "bridge" => DeviceKind::Bridge { ports: r.ports },
            "vxlan" => DeviceKind::Vxlan {
                vni: r.vni.ok_or_else(|| format!("device {}: a vxlan device needs \"vni\"", r.name))?,
                port: r.port.unwrap_or(4789),
                mac: need(r.mac.clone(), "mac")?,
                local: r.local.ok_or_else(|| format!("device {}: a vxlan device needs \"local\"", r.name))?,
                neigh: r.neigh,
                fdb: r.fdb,
            },
            other => {
                return Err(format!(
                    "device {}: unknown type \"{other}\", expected loopback, ethernet, veth, ipip, bridge or vxlan",
                    r.name
                ))
            }
        };
        // ip link refuses an MTU outside the device's range (68 to 65535
        // for a veth or a NIC; lo goes to 65536).
        if let Some(m) = r.mtu.filter(|m| !(68..=65536).contains(m)) {
            return Err(format!(
                "device {}: mtu {m} is out of range: 68 to 65535 (65536 for lo; ip link: \"mtu less than device minimum\" or \"greater than device maximum\")",
                r.name
            ));
        }
        let rp_filter = match r.rp_filter {
            0..=2 => r.rp_filter,
            n => {
                return Err(format!(
                    "device {}: rp_filter is 0, 1 or 2, not {n}",
                    r.name
                ))
            }
        };
        Ok(Device {
            name: r.name,
            kind,
            addrs: r.addrs,
            proxy_arp: r.proxy_arp,
            rp_filter,
            hairpin: r.hairpin,
            mtu: r.mtu,
        })
    }
}

/// A listening socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub proto: Proto,
    pub port: u16,
    /// Bound address; none means all addresses (`0.0.0.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<Ipv4Addr>,
    /// The program, for the learner (`flask`, `sshd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

/// One network namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub name: String,
    pub kind: HostKind,
    /// For pods: the node the pod runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// For pods: the Kubernetes namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub devices: Vec<Device>,
    /// `ip route` text (table main; `table local` lines are added to the
    /// local table the kernel derives from the addresses).
    #[serde(default)]
    pub routes: Text,
    /// `iptables-save` text; none for hosts without netfilter rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables: Option<Text>,
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// `net.ipv4.ip_forward`; nodes forward by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_forward: Option<bool>,
}

/// A run of packets sent on texts other than the ones in use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Era {
    /// How many packets, in order.
    #[serde(rename = "n")]
    pub sends: usize,
    /// The texts they met, where those differ from the ones in use.
    #[serde(rename = "e", default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<HostEdit>,
}

/// The texts of one host that differ from the base scenario. A text that is
/// the same as the base's is None.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEdit {
    /// The host's name (`node8`).
    #[serde(rename = "h")]
    pub host: String,
    /// The host's `iptables-save` text. An empty text means the host has no
    /// netfilter rules at all (its `iptables` is None).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
    /// The host's `ip route` text (table main).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<String>,
}

/// An address answered for on a LAN by a host's device (see
/// [`Scenario::announces`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announce {
    pub host: String,
    pub dev: String,
    pub addr: Ipv4Addr,
    /// The Service (`namespace/name`) whose address it is, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A Service port, for naming a destination (`--to flask-ui`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePort {
    #[serde(default)]
    pub name: String,
    pub protocol: Proto,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub cluster_ip: Ipv4Addr,
    pub ports: Vec<ServicePort>,
}

/// The packet a scenario suggests sending first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<Proto>,
}

impl Preset {
    /// The packet to send (TCP unless the preset says otherwise).
    pub fn to_spec(&self) -> crate::engine::sim::SendSpec {
        crate::engine::sim::SendSpec::new(&self.from, &self.to, self.proto.unwrap_or(Proto::Tcp))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Choices made where the source material is silent, shown to the learner.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Seed of every random choice (`statistic --mode random`, source ports).
    #[serde(default)]
    pub seed: u64,
    pub hosts: Vec<Host>,
    #[serde(default)]
    pub services: Vec<Service>,
    /// Addresses a host's device answers ARP for without holding them: a
    /// LoadBalancer's IP that MetalLB's layer-2 mode announces from one
    /// node, so a client on the LAN reaches it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub announces: Vec<Announce>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// The Kubernetes objects (YAML) the nodes' rules and routes were
    /// generated from, when they were: the page opens the file as that
    /// cluster again (its form, its sync). The command line runs the rules
    /// and routes as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The packets the page had sent, in order: it sends them again when it
    /// opens the file (instead of the preset).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sends: Vec<crate::engine::sim::SendSpec>,
    /// Those of `sends` that met other texts than the file's (they were
    /// sent before an edit), in runs from the first packet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eras: Vec<Era>,
    /// Before which of `sends` conntrack was flushed (`conntrack -F`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flushes: Vec<usize>,
    /// How the page showed the file when it was exported: it opens the
    /// same way. The command line ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageView>,
}

/// What the page showed: the packet and step selected (counted from the
/// first of `sends`), the host in the editors, the step filters and the
/// editors' tabs (the page's own short code), the send form as left.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<(usize, usize)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<crate::engine::sim::SendSpec>,
}

/// Names of the built-in scenarios, the default first.
pub const BUILTIN: &[&str] = &[
    "article",
    "article-remote",
    "istio-sidecar",
    "calico-ipip",
    "calico-vxlan",
    "flannel-vxlan",
    "flannel-host-gw",
    "flannel-hairpin",
    "nodeport-local",
    "session-affinity",
    "legacy-kube-proxy",
];

/// A built-in scenario's title, without building it (the page lists them
/// on every render).
pub fn builtin_title(name: &str) -> Option<String> {
    if let Some(t) = crate::engine::cni::cluster_title(name) {
        return Some(t.to_string());
    }
    thread_local! {
        static JSON_TITLES: std::cell::RefCell<Vec<(String, String)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    JSON_TITLES.with(|c| {
        if let Some((_, t)) = c.borrow().iter().find(|(n, _)| n == name) {
            return Some(t.clone());
        }
        let t = builtin_json(name)?.title;
        c.borrow_mut().push((name.to_string(), t.clone()));
        Some(t)
    })
}

/// A built-in scenario by name (those made from Kubernetes objects are
/// generated: [`crate::engine::cni::builtin`]).
pub fn builtin(name: &str) -> Option<Scenario> {
    builtin_json(name).or_else(|| crate::engine::cni::builtin(name))
}

/// A built-in scenario written as JSON (the article's two).
pub fn builtin_json(name: &str) -> Option<Scenario> {
    let json = match name {
        "article" => include_str!("scenarios/article.json"),
        "article-remote" => include_str!("scenarios/article-remote.json"),
        "istio-sidecar" => include_str!("scenarios/istio-sidecar.json"),
        _ => return None,
    };
    Some(serde_json::from_str(json).expect("built-in scenarios are valid JSON (tested)"))
}

impl Host {
    /// The host without its rules and routes texts (cheap to copy when
    /// only the devices matter, as for a picture of the topology).
    pub fn clone_without_texts(&self) -> Host {
        Host {
            name: self.name.clone(),
            kind: self.kind,
            node: self.node.clone(),
            namespace: self.namespace.clone(),
            devices: self.devices.clone(),
            routes: Text::default(),
            iptables: None,
            listeners: self.listeners.clone(),
            ip_forward: self.ip_forward,
        }
    }
}

impl Scenario {
    /// The scenario without hosts (cheap to copy).
    pub fn clone_without_hosts(&self) -> Scenario {
        Scenario {
            name: self.name.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            notes: self.notes.clone(),
            seed: self.seed,
            hosts: Vec::new(),
            services: self.services.clone(),
            announces: self.announces.clone(),
            preset: self.preset.clone(),
            cluster: self.cluster.clone(),
            sends: self.sends.clone(),
            eras: self.eras.clone(),
            flushes: self.flushes.clone(),
            page: self.page.clone(),
        }
    }

    /// Parses a scenario from JSON, with the line and column of a syntax error.
    pub fn from_json(text: &str) -> Result<Scenario, Errors> {
        serde_json::from_str(crate::engine::text::without_bom(text)).map_err(|e| {
            // (The place once, as the error's line and column.)
            let said = e.to_string();
            let at = format!(" at line {} column {}", e.line(), e.column());
            let said = said.strip_suffix(&at).unwrap_or(&said);
            Errors::from(ParseError::new(
                e.line(),
                e.column(),
                format!("scenario JSON: {said}"),
            ))
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a scenario always serialises")
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub fn host_mut(&mut self, name: &str) -> Option<&mut Host> {
        self.hosts.iter_mut().find(|h| h.name == name)
    }
}

/// A device, compiled.
#[derive(Clone, Debug)]
pub struct Dev {
    pub spec: Device,
    /// For veth: (host, device) of the peer.
    pub peer: Option<(usize, usize)>,
}

/// A network device's name as Linux takes it (`dev_valid_name`): 1 to 15
/// characters, no `/`, `:` or white space, not `.` or `..`.
pub fn device_name_error(name: &str) -> Option<String> {
    let why = if name.is_empty() {
        "is empty"
    } else if name.len() > 15 {
        "is longer than 15 characters (Linux's IFNAMSIZ)"
    } else if name == "." || name == ".." {
        "is not a name Linux takes"
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        "holds a '/', ':' or a space, which Linux does not take in a device's name"
    } else {
        return None;
    };
    // (A newline, which an error keeps, shown as `\n`; a long name is cut
    // by the error it goes into.)
    Some(format!("device name \"{}\" {why}", name.escape_debug()))
}

/// One network namespace, compiled.
#[derive(Clone, Debug)]
pub struct Netns {
    pub spec: Host,
    pub devs: Vec<Dev>,
    pub routes: RouteTable,
    /// Shared: cloning a world (the page keeps one per undo step) does not
    /// copy a 100k-rule set.
    pub rules: Option<std::rc::Rc<Ruleset>>,
    pub ip_forward: bool,
}

impl Netns {
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn dev(&self, name: &str) -> Option<usize> {
        self.devs.iter().position(|d| d.spec.name == name)
    }

    /// Whether `addr` is one of this namespace's addresses.
    pub fn owns(&self, addr: Ipv4Addr) -> bool {
        self.devs
            .iter()
            .any(|d| d.spec.addrs.iter().any(|a| a.addr() == addr))
            || (addr.is_loopback() && self.dev("lo").is_some())
    }

    /// The MTU a packet leaving by `route` must fit (`ip_dst_mtu_maybe_
    /// forward`): the route's own `mtu`, else its device's.
    pub fn route_mtu(&self, route: &crate::engine::route::Route) -> u32 {
        let dev = || route.dev.as_deref().and_then(|d| self.dev(d));
        (route.mtu)
            .or_else(|| dev().map(|i| self.devs[i].spec.mtu()))
            .unwrap_or(1500)
    }

    /// A device's first address (its primary, the first of `ip addr`'s
    /// list), the one REDIRECT takes (nf_nat_redirect_ipv4).
    pub fn first_addr(&self, dev: &str) -> Option<Ipv4Addr> {
        let d = self.devs.iter().find(|d| d.spec.name == dev)?;
        d.spec.addrs.first().map(|a| a.addr())
    }

    /// The first address of a device, as `inet_select_addr` picks it.
    pub fn dev_addr(&self, dev: &str) -> Option<Ipv4Addr> {
        self.devs
            .iter()
            .find(|d| d.spec.name == dev)
            .and_then(|d| d.spec.addrs.iter().find(|a| !a.addr().is_loopback()))
            .map(|a| a.addr())
    }

    /// The source address the kernel picks for a packet leaving on `dev`
    /// toward next hop `toward` (`inet_select_addr`): the device's address
    /// whose subnet holds the next hop, else its first, else the first
    /// global address of any device (Calico's `cali…` veths have none).
    /// Checked in a netns: a device with 10.99.2.1/24 and 10.99.3.1/24
    /// masquerades toward 10.99.3.5 as 10.99.3.1.
    pub fn select_src(&self, dev: &str, toward: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
        let on_link = toward.and_then(|t| {
            let d = self.devs.iter().find(|d| d.spec.name == dev)?;
            (d.spec.addrs.iter())
                .find(|a| !a.addr().is_loopback() && a.trunc().contains(&t))
                .map(|a| a.addr())
        });
        on_link.or_else(|| self.dev_addr(dev)).or_else(|| {
            self.devs
                .iter()
                .flat_map(|d| &d.spec.addrs)
                .map(|a| a.addr())
                .find(|a| !a.is_loopback())
        })
    }
}

/// The compiled world the simulator walks.
#[derive(Clone, Debug)]
pub struct World {
    pub scenario: Scenario,
    pub hosts: Vec<Netns>,
}

/// The local table the kernel derives from a device's addresses.
fn local_routes(dev: &str, addrs: &[Ipv4Net]) -> Vec<Route> {
    let mut out = Vec::new();
    let mut add = |kind: RouteType, dst: Ipv4Net, scope: Scope, src: Ipv4Addr| {
        let mut r = Route::new(kind, dst);
        r.dev = Some(dev.to_string());
        r.table = TableId::LOCAL;
        r.proto = Some("kernel".into());
        r.scope = scope;
        r.src = Some(src);
        out.push(r);
    };
    for a in addrs {
        let host = Ipv4Net::new(a.addr(), 32).expect("valid");
        // On a loopback device the whole prefix is local (127.0.0.0/8).
        if dev == "lo" && a.prefix_len() < 32 {
            add(RouteType::Local, a.trunc(), Scope::Host, a.addr());
        }
        add(RouteType::Local, host, Scope::Host, a.addr());
        if a.prefix_len() < 31 {
            let b = Ipv4Net::new(a.broadcast(), 32).expect("valid");
            add(RouteType::Broadcast, b, Scope::Link, a.addr());
        }
    }
    out
}

/// Parses a host's `ip route` (or `route -n`) text and checks it against
/// the host's devices as `ip route add` would, then adds the local table
/// the kernel derives from the addresses. Errors carry the line in `text`.
pub fn host_routes(h: &Host, text: &str) -> Result<RouteTable, Errors> {
    let mut routes = route_text::read_routes(text)?;
    let mut errors = route_text::check_table(&mut routes, text, false);
    for d in &h.devices {
        routes.routes.extend(local_routes(&d.name, &d.addrs));
    }
    // (One route per destination and metric is checked with the text.)
    let own = |a: Ipv4Addr| {
        h.devices
            .iter()
            .flat_map(|d| &d.addrs)
            .any(|n| n.addr() == a)
    };
    // The column of the word `word` on line `line` (1 when it is not
    // written as a word there).
    let column = |line: usize, word: &str| {
        let l = text.lines().nth(line.wrapping_sub(1))?;
        let words = crate::engine::lex::words(l).ok()?;
        let w = words.iter().find(|w| w.text == word)?;
        Some(crate::engine::lex::column(l, w.start))
    };
    let column = |line: usize, word: &str| column(line, word).unwrap_or(1);
    for r in &routes.routes {
        // `src` must be one of the host's addresses ("Invalid prefsrc address").
        if let Some(src) = r.src.filter(|a| r.line > 0 && !own(*a)) {
            errors.push(ParseError::new(
                r.line,
                column(r.line, &src.to_string()),
                format!("src {src} is not an address of this host (ip route says \"Invalid prefsrc address\")"),
            ));
        }
        if let Some(dev) = &r.dev {
            if !h.devices.iter().any(|d| &d.name == dev) {
                errors.push(ParseError::new(
                    r.line,
                    column(r.line, dev),
                    format!("Cannot find device \"{dev}\" (no such device on this host)"),
                ));
            }
        }
        // A gateway must be on a directly reachable subnet of the device
        // unless the route says onlink (ip route's "Nexthop has invalid gateway").
        if let (Some(via), Some(dev), false) = (r.via, &r.dev, r.onlink) {
            let direct = h
                .devices
                .iter()
                .filter(|d| &d.name == dev)
                .flat_map(|d| &d.addrs)
                .any(|a| a.trunc().contains(&via))
                || routes.routes.iter().any(|o| {
                    o.via.is_none()
                        && o.dev.as_ref() == Some(dev)
                        && o.dst.contains(&via)
                        && o.kind == RouteType::Unicast
                });
            if !direct {
                errors.push(ParseError::new(r.line, column(r.line, &via.to_string()), format!("gateway {via} is not directly reachable on {dev} (\"Nexthop has invalid gateway\"); add \"onlink\"")));
            }
        }
    }
    if errors.is_empty() {
        Ok(routes)
    } else {
        Err(errors)
    }
}

impl World {
    /// Checks and compiles a scenario. Errors name the host, what text they
    /// are in (rules, routes) and the line and column there.
    pub fn build(scenario: &Scenario) -> Result<World, Errors> {
        World::build_reusing(scenario, &|_| None)
    }

    /// [`World::build`], taking a host's rules from `parsed` when it
    /// knows their text (rules parsed earlier: a node's dump is not
    /// parsed again when a cluster sync or an undo builds the world anew).
    pub fn build_reusing(
        scenario: &Scenario,
        parsed: &dyn Fn(&str) -> Option<std::rc::Rc<Ruleset>>,
    ) -> Result<World, Errors> {
        let mut errors = Errors::default();
        let mut hosts = Vec::with_capacity(scenario.hosts.len());
        for (i, h) in scenario.hosts.iter().enumerate() {
            if scenario.hosts[..i].iter().any(|o| o.name == h.name) {
                errors.push(ParseError::new(
                    0,
                    0,
                    format!("host \"{}\" is defined twice", h.name),
                ));
            }
            if h.name.is_empty() || h.name.len() > 253 {
                errors.push(ParseError::new(
                    0,
                    0,
                    format!(
                        "host name \"{}\" is {} characters long: a host's name (a node's, a pod's) is 1 to 253",
                        h.name,
                        h.name.chars().count()
                    ),
                ));
            }
            for (j, d) in h.devices.iter().enumerate() {
                if let Some(why) = device_name_error(&d.name) {
                    errors.push(ParseError::new(0, 0, format!("host {}: {why}", h.name)));
                }
                if h.devices[..j].iter().any(|o| o.name == d.name) {
                    errors.push(ParseError::new(
                        0,
                        0,
                        format!(
                            "host {} has two devices named \"{}\" (ip link says \"File exists\")",
                            h.name, d.name
                        ),
                    ));
                }
            }
            let routes = match host_routes(h, &h.routes.to_text()) {
                Ok(r) => r,
                Err(e) => {
                    errors
                        .0
                        .extend(e.in_context(&format!("host {} routes", h.name)).0);
                    RouteTable::default()
                }
            };
            let known = match &h.iptables {
                Some(Text::One(t)) => parsed(t),
                _ => None,
            };
            let rules = match &h.iptables {
                None => None,
                Some(_) if known.is_some() => known,
                Some(t) => match save::parse(&t.as_text()) {
                    Ok(r) => Some(std::rc::Rc::new(r)),
                    Err(e) => {
                        errors
                            .0
                            .extend(e.in_context(&format!("host {} rules", h.name)).0);
                        None
                    }
                },
            };
            hosts.push(Netns {
                spec: h.clone(),
                devs: h
                    .devices
                    .iter()
                    .map(|d| Dev {
                        spec: d.clone(),
                        peer: None,
                    })
                    .collect(),
                routes,
                rules,
                ip_forward: h.ip_forward.unwrap_or(h.kind == HostKind::Node),
            });
        }
        // Resolve veth peers.
        for hi in 0..hosts.len() {
            for di in 0..hosts[hi].devs.len() {
                if let DeviceKind::Veth { peer } = &hosts[hi].devs[di].spec.kind {
                    let found = peer.split_once('/').and_then(|(ph, pd)| {
                        let pi = hosts.iter().position(|x| x.name() == ph)?;
                        let pj = hosts[pi].dev(pd)?;
                        Some((pi, pj))
                    });
                    match found {
                        Some((pi, pj)) => {
                            let back = matches!(&hosts[pi].devs[pj].spec.kind, DeviceKind::Veth { peer } if *peer == format!("{}/{}", hosts[hi].name(), hosts[hi].devs[di].spec.name));
                            if !back {
                                errors.push(ParseError::new(0, 0, format!("host {}: veth {} names {peer} as its peer, but {peer} does not name it back", hosts[hi].name(), hosts[hi].devs[di].spec.name)));
                            }
                            hosts[hi].devs[di].peer = Some((pi, pj));
                        }
                        None => errors.push(ParseError::new(0, 0, format!("host {}: veth {} has peer \"{peer}\", which is not a host/device of this scenario", hosts[hi].name(), hosts[hi].devs[di].spec.name))),
                    }
                }
            }
        }
        // A bridge's ports: this host's end of a veth, or the far end of one
        // whose near end is on this host.
        for h in &hosts {
            for d in &h.devs {
                let DeviceKind::Bridge { ports } = &d.spec.kind else {
                    continue;
                };
                for p in ports {
                    let near = match p.split_once('/') {
                        Some((fh, fd)) => (hosts.iter().find(|x| x.name() == fh))
                            .and_then(|x| x.devs[x.dev(fd)?].peer)
                            .filter(|(ph, _)| hosts[*ph].name() == h.name())
                            .map(|(_, pd)| pd),
                        None => h.dev(p),
                    };
                    if !near.is_some_and(|n| matches!(h.devs[n].spec.kind, DeviceKind::Veth { .. }))
                    {
                        errors.push(ParseError::new(0, 0, format!(
                            "host {}: bridge {} has port \"{p}\", which is neither a veth of {} nor the far end (host/device) of one",
                            h.name(), d.spec.name, h.name()
                        )));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(World {
                scenario: scenario.clone(),
                hosts,
            })
        } else {
            Err(errors)
        }
    }

    /// The bridge (`cni0`) on `host` that device `dev` is a port of: named
    /// in its `ports` by this host's name for it (`vethXXXX`) or by its
    /// far end (`container/eth0`).
    pub fn bridge_of(&self, host: usize, dev: usize) -> Option<usize> {
        let h = self.hosts.get(host)?;
        let name = &h.devs.get(dev)?.spec.name;
        // Most hosts have no bridge: no need to name the far end.
        if !h
            .devs
            .iter()
            .any(|d| matches!(&d.spec.kind, DeviceKind::Bridge { ports } if !ports.is_empty()))
        {
            return None;
        }
        let far = h.devs[dev].peer.map(|(ph, pd)| {
            format!(
                "{}/{}",
                self.hosts[ph].name(),
                self.hosts[ph].devs[pd].spec.name
            )
        });
        h.devs.iter().position(|d| {
            matches!(&d.spec.kind, DeviceKind::Bridge { ports }
                if ports.iter().any(|p| p == name || Some(p) == far.as_ref()))
        })
    }

    /// Whom bridge `bridge` of `host` finds for `addr` (ARP on the bridge):
    /// the far end of one of its ports (a pod's `eth0`) that owns the
    /// address, and that port (this host's end of the veth).
    pub fn bridge_neighbour(
        &self,
        host: usize,
        bridge: usize,
        addr: Ipv4Addr,
    ) -> Option<((usize, usize), usize)> {
        let h = self.hosts.get(host)?;
        let DeviceKind::Bridge { ports } = &h.devs.get(bridge)?.spec.kind else {
            return None;
        };
        ports.iter().find_map(|p| {
            // A port is this host's end of a veth (`vethXXXX`), or the far
            // end itself (`container/eth0`).
            let (far, port) = match p.split_once('/') {
                Some((fh, fd)) => {
                    let fh = self.host(fh)?;
                    let far = (fh, self.hosts[fh].dev(fd)?);
                    (
                        far,
                        self.hosts[far.0].devs[far.1]
                            .peer
                            .filter(|q| q.0 == host)?
                            .1,
                    )
                }
                None => {
                    let port = h.dev(p)?;
                    (h.devs[port].peer?, port)
                }
            };
            let owns = (self.hosts[far.0].devs[far.1].spec.addrs.iter()).any(|a| a.addr() == addr);
            owns.then_some((far, port))
        })
    }

    /// Replaces host `host`'s routes with `text` (`ip route` lines). On an
    /// error the world is unchanged and the errors name lines of `text`.
    pub fn set_routes(&mut self, host: usize, text: &str) -> Result<(), Errors> {
        let ns = self
            .hosts
            .get_mut(host)
            .ok_or_else(|| ParseError::new(0, 0, format!("no host number {host}")))?;
        ns.routes = host_routes(&ns.spec, text)?;
        ns.spec.routes = Text::One(text.to_string());
        self.sync_spec(host);
        Ok(())
    }

    /// Replaces host `host`'s rules with `text` (`iptables-save` output; an
    /// empty text removes them). On an error the world is unchanged.
    pub fn set_rules(&mut self, host: usize, text: &str) -> Result<(), Errors> {
        let rules = if text.trim().is_empty() {
            None
        } else {
            Some(save::parse(text)?)
        };
        self.set_ruleset(host, text, rules.map(std::rc::Rc::new));
        Ok(())
    }

    /// Installs rules parsed already (a large dump parsed in chunks, or
    /// rules kept from an earlier install) with the text they came from.
    pub fn set_ruleset(&mut self, host: usize, text: &str, rules: Option<std::rc::Rc<Ruleset>>) {
        if let Some(ns) = self.hosts.get_mut(host) {
            ns.rules = rules;
            ns.spec.iptables = ns.rules.as_ref().map(|_| Text::One(text.to_string()));
            self.sync_spec(host);
        }
    }

    /// Puts back rules and routes this world ran before (taken from
    /// `hosts[host].rules` and `.routes`), with the texts they came from:
    /// how a page traces an earlier packet again on the texts it met.
    pub fn set_running(
        &mut self,
        host: usize,
        rules: Option<std::rc::Rc<Ruleset>>,
        rules_text: &str,
        routes: RouteTable,
        routes_text: &str,
    ) {
        if let Some(ns) = self.hosts.get_mut(host) {
            ns.spec.iptables = rules.as_ref().map(|_| Text::One(rules_text.to_string()));
            ns.rules = rules;
            ns.routes = routes;
            ns.spec.routes = Text::One(routes_text.to_string());
            self.sync_spec(host);
        }
    }

    /// Copies a host's spec back into the scenario, so that the scenario
    /// always says what the world runs.
    fn sync_spec(&mut self, host: usize) {
        let spec = self.hosts[host].spec.clone();
        if let Some(h) = self.scenario.hosts.iter_mut().find(|h| h.name == spec.name) {
            *h = spec;
        }
    }

    pub fn host(&self, name: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.name() == name)
    }

    /// `host/device`, as steps name a device of another namespace.
    pub fn label(&self, host: usize, dev: usize) -> String {
        format!(
            "{}/{}",
            self.hosts[host].name(),
            self.hosts[host].devs[dev].spec.name
        )
    }

    /// The hosts and devices on LAN `lan` that answer ARP for `addr`, in
    /// the order Packet Walk takes their answers: the hosts whose device
    /// on the LAN holds it, the one a LoadBalancer IP is announced from,
    /// then (arp_ignore = 0, the kernel's default) the hosts holding it on
    /// any other device, lo included (a node's second NIC's address asked
    /// for on its first, an LVS director's VIP), never for 127.0.0.0/8.
    /// On a real LAN each of them answers, and the asker keeps the first
    /// answer that arrives (a later one within locktime, 1 s, does not
    /// replace it): which one is a race, so the first listed here.
    pub fn lan_owners(&self, lan: &str, addr: Ipv4Addr) -> Vec<(usize, usize)> {
        let on_lan = |d: &Dev| matches!(&d.spec.kind, DeviceKind::Ethernet { lan: l } if l == lan);
        let holds = |d: &Dev| d.spec.addrs.iter().any(|a| a.addr() == addr);
        let mut owners: Vec<(usize, usize)> = (self.hosts.iter().enumerate())
            .filter_map(|(hi, h)| {
                let di = h.devs.iter().position(|d| on_lan(d) && holds(d))?;
                Some((hi, di))
            })
            .collect();
        let announced = (self.scenario.announces.iter())
            .filter(|a| a.addr == addr)
            .filter_map(|a| {
                let hi = self.host(&a.host)?;
                let di = self.hosts[hi].dev(&a.dev)?;
                on_lan(&self.hosts[hi].devs[di]).then_some((hi, di))
            });
        let elsewhere = (self.hosts.iter().enumerate())
            .filter(|_| !addr.is_loopback())
            .filter_map(|(hi, h)| {
                let di = h.devs.iter().position(on_lan)?;
                h.devs.iter().any(holds).then_some((hi, di))
            });
        for o in announced.chain(elsewhere) {
            if owners.iter().all(|&(h, _)| h != o.0) {
                owners.push(o);
            }
        }
        owners
    }

    /// What a destination that many hosts take is (broadcast, multicast),
    /// or None for a unicast address. A subnet's broadcast address is
    /// known from any device's address on it (a /31 or /32 has none).
    pub fn many_hosts(&self, ip: Ipv4Addr) -> Option<String> {
        if ip.is_broadcast() {
            return Some(
                "the limited broadcast address: every host on the link takes a copy".into(),
            );
        }
        if ip.is_multicast() {
            return Some(
                "a multicast address (224.0.0.0/4): every host that joined its group takes a copy"
                    .into(),
            );
        }
        (self.hosts.iter())
            .flat_map(|h| &h.devs)
            .flat_map(|d| &d.spec.addrs)
            .find(|a| a.prefix_len() < 31 && a.broadcast() == ip)
            .map(|a| {
                format!(
                    "the broadcast address of {}: every host on it takes a copy",
                    a.trunc()
                )
            })
    }

    /// A host outside the cluster with address `ip`: the scenario's client
    /// host with that address, or a copy of its first client host moved to
    /// `ip` (same LAN, same routes).
    pub fn client(&mut self, ip: Ipv4Addr) -> Result<usize, String> {
        if ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || ip.is_broadcast() {
            return Err(format!(
                "{ip} is not a LAN host's address (loopback, unspecified, multicast or broadcast)"
            ));
        }
        if let Some(i) = self
            .hosts
            .iter()
            .position(|h| h.spec.kind == HostKind::Client && h.owns(ip))
        {
            return Ok(i);
        }
        let template = self
            .hosts
            .iter()
            .position(|h| h.spec.kind == HostKind::Client)
            .ok_or("this scenario has no client host to copy for client:IP")?;
        let mut h = self.hosts[template].clone();
        let (lan_dev, net) = h
            .devs
            .iter()
            .find_map(|d| match d.spec.kind {
                DeviceKind::Ethernet { .. } => {
                    d.spec.addrs.first().map(|a| (d.spec.name.clone(), *a))
                }
                _ => None,
            })
            .ok_or("the client host has no LAN device")?;
        if !net.contains(&ip) {
            return Err(format!(
                "{ip} is not on the LAN {} of the client host",
                net.trunc()
            ));
        }
        let lan = net.trunc();
        if net.prefix_len() < 31 && (ip == lan.network() || ip == lan.broadcast()) {
            return Err(format!(
                "{ip} is the {} address of the LAN {lan}, not a host's",
                if ip == lan.network() {
                    "network"
                } else {
                    "broadcast"
                }
            ));
        }
        // The router the hosts' default routes go through is a machine of
        // its own, outside the scenario.
        if h.routes
            .routes
            .iter()
            .any(|r| r.dst.prefix_len() == 0 && r.via == Some(ip))
        {
            return Err(format!(
                "{ip} is the LAN's router (the default gateway), not a client"
            ));
        }
        if self.hosts.iter().any(|x| x.owns(ip)) {
            return Err(format!("{ip} already belongs to another host"));
        }
        // A node answers ARP for a load balancer's address (MetalLB's
        // layer 2): no machine of its own may have it.
        if let Some(a) = self.scenario.announces.iter().find(|a| a.addr == ip) {
            return Err(format!(
                "{ip} is the load balancer address of {}, which {} announces on the LAN",
                a.service.as_deref().unwrap_or("a Service"),
                a.host
            ));
        }
        let new_net = Ipv4Net::new(ip, net.prefix_len()).expect("same prefix");
        let name = format!("client-{ip}");
        h.spec.name = name;
        for d in &mut h.devs {
            if d.spec.name == lan_dev {
                d.spec.addrs = vec![new_net];
            }
        }
        for r in &mut h.routes.routes {
            if r.src == Some(net.addr()) {
                r.src = Some(ip);
            }
            if r.table == TableId::LOCAL && r.dst.addr() == net.addr() {
                r.dst = Ipv4Net::new(ip, 32).expect("valid");
            }
        }
        h.spec.devices = h.devs.iter().map(|d| d.spec.clone()).collect();
        // Its routes text says what its routes are (an edit of it starts
        // from the copy's own source address).
        let text = h.spec.routes.to_text();
        h.spec.routes =
            Text::One(text.replace(&format!("src {}", net.addr()), &format!("src {ip}")));
        self.hosts.push(h);
        Ok(self.hosts.len() - 1)
    }

    /// Why a packet leaving toward a Service's ClusterIP (not DNATed on
    /// its way) reaches no pod: no interface holds that address; only
    /// kube-proxy's DNAT of the Service's ports makes it a pod's.
    pub fn cluster_ip_note(
        &self,
        pkt: &crate::engine::packet::Packet,
        endpoint_chain: Option<&str>,
    ) -> Option<String> {
        let dst = pkt.head().dst;
        let svc = self
            .scenario
            .services
            .iter()
            .find(|s| s.cluster_ip == dst)?;
        let ports: Vec<String> = (svc.ports.iter())
            .map(|p| format!("{}/{}", p.protocol, p.port))
            .collect();
        let proto = pkt.head().protocol;
        let dport = pkt.head_ports().map(|(_, d)| d);
        let served = (svc.ports.iter()).any(|p| p.protocol == proto && Some(p.port) == dport);
        // What the rules did instead, as far as the walk shows it.
        let why = match endpoint_chain {
            Some(c) => format!("it went into {c}, an endpoint's chain, and left it with no DNAT rule matched: the step where that chain ends shows what it held"),
            None if served => "no rule sent it to an endpoint's chain: the walk of nat PREROUTING (or OUTPUT) shows where it went instead".to_string(),
            None => "its port is not one of the Service's".to_string(),
        };
        Some(format!(
            "{dst} is the ClusterIP of {}/{}, an address no interface holds: a packet to it reaches a pod only when kube-proxy's rules DNAT it, for its ports ({}); this {proto} packet was not DNATed ({why}), so it follows the routes out and no host answers it",
            svc.namespace,
            svc.name,
            ports.join(", "),
        ))
    }

    /// The Service and port `spec` names: `flask-ui`, `ms-test/flask-ui`,
    /// its DNS name (`flask-ui.ms-test`, `flask-ui.ms-test.svc.cluster.local`),
    /// each with an optional `:PORT` (a port's name or number). `None` when
    /// no Service has that name; an error when one has and the port is not
    /// one of its own.
    pub fn find_service(&self, spec: &str) -> Result<Option<(&Service, &ServicePort)>, String> {
        let (name, port) = match spec.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (spec, None),
        };
        let name = name.trim_end_matches('.');
        // `svc.ns`, `svc.ns.svc`, `svc.ns.svc.<cluster domain>`.
        let dns = name.split_once('.').and_then(|(svc, rest)| {
            let (ns, tail) = rest.split_once('.').unwrap_or((rest, ""));
            (tail.is_empty() || tail == "svc" || tail.starts_with("svc.")).then_some((svc, ns))
        });
        let Some(svc) = self.scenario.services.iter().find(|s| {
            s.name == name
                || format!("{}/{}", s.namespace, s.name) == name
                || dns == Some((s.name.as_str(), s.namespace.as_str()))
        }) else {
            return Ok(None);
        };
        let p = match port {
            Some(p) => svc
                .ports
                .iter()
                .find(|x| x.name == p || x.port.to_string() == p),
            None => svc.ports.first(),
        };
        match p {
            Some(p) => Ok(Some((svc, p))),
            None => {
                let ports: Vec<String> = (svc.ports.iter())
                    .map(|x| {
                        let proto = x.protocol.to_string().to_ascii_uppercase();
                        match x.name.as_str() {
                            "" => format!("{}/{proto}", x.port),
                            n => format!("{n} {}/{proto}", x.port),
                        }
                    })
                    .collect();
                Err(format!(
                    "Service {}/{} has no port \"{}\" (its ports: {})",
                    svc.namespace,
                    svc.name,
                    port.unwrap_or(""),
                    if ports.is_empty() {
                        "none".to_string()
                    } else {
                        ports.join(", ")
                    }
                ))
            }
        }
    }
}

/// Name of the host a replayed node becomes.
pub const REPLAY_NODE: &str = "node";

/// The sender a replay puts beside its node: `client`, with one `eth0`
/// of `kind` holding `addr`, and `routes`.
fn replay_client(kind: DeviceKind, addr: Ipv4Net, routes: String) -> Host {
    Host {
        name: "client".into(),
        kind: HostKind::Client,
        node: None,
        namespace: None,
        devices: vec![Device {
            name: "eth0".into(),
            kind,
            addrs: vec![addr],
            proxy_arp: false,
            rp_filter: 0,
            hairpin: false,
            mtu: None,
        }],
        routes: Text::One(routes),
        iptables: None,
        listeners: Vec::new(),
        ip_forward: None,
    }
}

impl Scenario {
    /// A scenario around one real node's `iptables-save` and `ip route` (or
    /// `route -n`) output, for replaying a packet offline: the node's devices
    /// are the ones its routes name (`tunl0` as IPIP, `lo` as loopback, the
    /// rest as NICs on their own LAN, so packets sent out of them leave the
    /// scenario), with the addresses its connected routes (`proto kernel
    /// scope link src …`) and `local` routes give. A client host is put on
    /// the LAN of the device whose subnet contains `client`, routing
    /// everything through the node.
    pub fn replay(
        rules: Option<&str>,
        routes: &str,
        client: Option<Ipv4Addr>,
        to_port: Option<u16>,
    ) -> Result<Scenario, Errors> {
        let table = route_text::parse_routes(routes)?;
        let mut devices: Vec<Device> = vec![Device {
            name: "lo".into(),
            kind: DeviceKind::Loopback,
            addrs: vec!["127.0.0.1/8".parse().expect("valid")],
            proxy_arp: false,
            rp_filter: 0,
            hairpin: false,
            mtu: None,
        }];
        for r in &table.routes {
            let Some(dev) = &r.dev else { continue };
            let pos = match devices.iter().position(|d| &d.name == dev) {
                Some(p) => p,
                None => {
                    let kind = if dev.starts_with("tunl") {
                        DeviceKind::Ipip
                    } else {
                        DeviceKind::Ethernet {
                            lan: format!("lan-{dev}"),
                        }
                    };
                    devices.push(Device {
                        name: dev.clone(),
                        kind,
                        addrs: Vec::new(),
                        proxy_arp: dev.starts_with("cali"),
                        // Strict on pods' veths, as Calico sets it and EKS
                        // nodes have it (net.ipv4.conf.all.rp_filter = 1).
                        rp_filter: u8::from(dev.starts_with("cali") || dev.starts_with("eni")),
                        hairpin: false,
                        mtu: None,
                    });
                    devices.len() - 1
                }
            };
            let addr = match (r.kind, r.src) {
                (RouteType::Local, _) if dev != "lo" => {
                    Some(Ipv4Net::new(r.dst.addr(), 32).expect("valid"))
                }
                (RouteType::Unicast, Some(src)) if r.via.is_none() && r.dst.contains(&src) => {
                    Some(Ipv4Net::new(src, r.dst.prefix_len()).expect("valid"))
                }
                _ => None,
            };
            if let Some(a) = addr {
                let d = &mut devices[pos];
                if !d.addrs.iter().any(|x| x.addr() == a.addr()) {
                    d.addrs
                        .retain(|x| !(x.prefix_len() == 32 && x.addr() == a.addr()));
                    d.addrs.push(a);
                }
            }
        }
        // Local routes are derived from the addresses again by World::build;
        // the other tables and the ip rules are kept.
        let main: String = (table.routes.iter())
            .filter(|r| r.table != TableId::LOCAL)
            .map(|r| format!("{r}\n"))
            .chain(table.rules.iter().map(|r| format!("{r}\n")))
            .collect();
        let mut hosts = vec![Host {
            name: REPLAY_NODE.into(),
            kind: HostKind::Node,
            node: None,
            namespace: None,
            devices: devices.clone(),
            routes: Text::One(main),
            iptables: rules.map(|r| Text::One(r.to_string())),
            listeners: Vec::new(),
            ip_forward: Some(true),
        }];
        let mut notes = vec!["A replay of one node's own iptables-save and ip route output: devices and addresses are inferred from the routes, and packets sent out of a device leave the scenario.".to_string()];
        // A tunnel's address is a /32 that only the local table lists.
        let tunnel = |d: &Device| {
            matches!(d.kind, DeviceKind::Ipip)
                || d.name.contains("vxlan")
                || d.name.starts_with("flannel")
        };
        for d in devices
            .iter()
            .filter(|d| tunnel(d) && !matches!(d.kind, DeviceKind::Ipip))
        {
            notes.push(format!(
                "{} is read as a plain network card: packets sent out of it leave the scenario without VXLAN's outer packet (a listing of routes has no forwarding database to say where they go; --cluster models VXLAN)",
                d.name
            ));
        }
        for d in devices.iter().filter(|d| tunnel(d) && d.addrs.is_empty()) {
            notes.push(format!(
                "{} has no address in this listing (a tunnel's /32 is only in the local table, which `ip route show table all` lists): the node's own packets out of it take another device's address, where the real node would use {}'s own",
                d.name, d.name
            ));
        }
        if devices.iter().any(|d| d.rp_filter > 0) {
            notes.push("A listing has no sysctls: reverse path filtering is taken as strict (rp_filter = 1) on the pods' veths (cali…, eni…), as Calico and EKS nodes have it, and off elsewhere.".into());
        }
        // The node's own route to an address says where it lives: a route
        // to it alone (a /32 on a device with no address, the node's end
        // of a pod's veth: cali… for Calico, eni… for the AWS VPC CNI)
        // puts it behind that veth, even inside the LAN's subnet (on EKS,
        // every pod address is the VPC's).
        let pod_veth = |ip: Ipv4Addr| {
            (table.routes.iter())
                .find(|r| {
                    r.dst.prefix_len() == 32
                        && r.dst.addr() == ip
                        && r.via.is_none()
                        && r.kind == RouteType::Unicast
                })
                .and_then(|r| r.dev.clone())
                .filter(|d| {
                    devices
                        .iter()
                        .any(|x| x.name == *d && x.addrs.is_empty() && x.name != "lo")
                })
        };
        if let Some(ip) = client {
            let pod_dev = pod_veth(ip);
            let nic = devices.iter().find_map(|d| match &d.kind {
                DeviceKind::Ethernet { lan } => d
                    .addrs
                    .iter()
                    .find(|a| a.trunc().contains(&ip) && a.prefix_len() < 32)
                    .map(|a| (lan.clone(), *a)),
                _ => None,
            });
            match nic.filter(|_| pod_dev.is_none()) {
                Some((lan, node_addr)) => {
                    hosts.push(replay_client(
                        DeviceKind::Ethernet { lan },
                        Ipv4Net::new(ip, node_addr.prefix_len()).expect("same prefix"),
                        format!(
                            "{} dev eth0 proto kernel scope link src {ip}\ndefault via {} dev eth0\n",
                            node_addr.trunc(),
                            node_addr.addr()
                        ),
                    ));
                    notes.push(format!("The client {ip} sits on the node's {} subnet and sends everything through {}.", node_addr.trunc(), node_addr.addr()));
                }
                // A pod behind a veth (no address on the node's side): it
                // sits at the veth's far end with the routes Calico and the
                // AWS VPC CNI give pods, its gateway 169.254.1.1 answered
                // by the node (proxy ARP here; the VPC CNI writes a
                // permanent neighbour entry in the pod instead).
                None if pod_dev.is_some() => {
                    let dev = pod_dev.clone().unwrap_or_default();
                    // The node's end becomes a veth, its peer the pod's eth0.
                    let Some(end) = hosts[0].devices.iter_mut().find(|d| d.name == dev) else {
                        return Err(Errors::from(ParseError::new(
                            0,
                            0,
                            format!(
                                "{ip}'s route names {dev}, which the listing makes no device of"
                            ),
                        )));
                    };
                    end.kind = DeviceKind::Veth {
                        peer: "client/eth0".into(),
                    };
                    end.proxy_arp = true;
                    hosts.push(replay_client(
                        DeviceKind::Veth {
                            peer: format!("{REPLAY_NODE}/{dev}"),
                        },
                        Ipv4Net::new(ip, 32).expect("a /32"),
                        "169.254.1.1 dev eth0 scope link\ndefault via 169.254.1.1 dev eth0\n"
                            .into(),
                    ));
                    notes.push(format!("{ip} is a pod behind the node's {dev}, as the node's route to it says: the sender sits at the veth's far end with the routes Calico and the AWS VPC CNI give a pod (default via 169.254.1.1, which the node answers)."));
                }
                None => {
                    let hint = if devices.iter().all(|d| d.name == "lo" || d.addrs.is_empty()) {
                        " (the routes give the node no address: route -n does not show source addresses, `ip route` does)"
                    } else {
                        "; pick an address in one of them"
                    };
                    return Err(Errors::from(ParseError::new(
                        0,
                        0,
                        format!("client {ip} is on none of the node's connected subnets{hint}"),
                    )));
                }
            }
        }
        // The pods the node's DNAT rules send to (kube-proxy's endpoints),
        // behind their veths, listening where those rules send them (and
        // on the port the packet is sent to): so they answer.
        let mut listens: Vec<(Ipv4Addr, Proto, u16)> = Vec::new();
        // And the node itself where its REDIRECT rules send (a proxy's
        // port).
        let mut node_listens: Vec<(Proto, u16)> = Vec::new();
        if let Some(rs) = rules.and_then(|t| crate::engine::iptables::save::parse(t).ok()) {
            use crate::engine::iptables::rule::{MatchKind, Target};
            for r in rs
                .tables
                .iter()
                .flat_map(|t| &t.chains)
                .flat_map(|c| &c.rules)
            {
                // `-p`, or `! -p` (the other one), or neither (both).
                let protos: Vec<Proto> = match r.matches.iter().find_map(|m| match m.kind {
                    MatchKind::Proto(p) => Some((p, m.negated)),
                    _ => None,
                }) {
                    Some((p, false)) => vec![p],
                    Some((p, true)) => [Proto::Tcp, Proto::Udp]
                        .into_iter()
                        .filter(|x| *x != p)
                        .collect(),
                    None => vec![Proto::Tcp, Proto::Udp],
                };
                if let Target::Redirect { ports, .. } = &r.target {
                    let port = ports.map(|(p, _)| p).or(to_port);
                    for proto in protos {
                        if let (Some(port), Proto::Tcp | Proto::Udp) = (port, proto) {
                            node_listens.push((proto, port));
                        }
                    }
                    continue;
                }
                let Target::Dnat(to) = &r.target else {
                    continue;
                };
                let Some((first, last)) = to.addr else {
                    continue;
                };
                // A DNAT without a port keeps the packet's (the one sent to).
                let port = to.ports.map(|(p, _)| p).or(to_port);
                let range =
                    u32::from(first)..=u32::from(last).min(u32::from(first).saturating_add(255));
                for (ip, proto) in
                    range.flat_map(|a| protos.iter().map(move |p| (Ipv4Addr::from(a), *p)))
                {
                    if let (Some(port), Proto::Tcp | Proto::Udp) = (port, proto) {
                        listens.push((ip, proto, port));
                    }
                }
            }
        }
        listens.sort_by_key(|(ip, proto, port)| (*ip, proto.number(), *port));
        listens.dedup();
        node_listens.sort_by_key(|(proto, port)| (proto.number(), *port));
        node_listens.dedup();
        node_listens.retain(|&(proto, port)| {
            !hosts[0]
                .listeners
                .iter()
                .any(|l| l.proto == proto && l.port == port)
        });
        if !node_listens.is_empty() {
            let ports: Vec<String> = node_listens
                .iter()
                .map(|(proto, port)| format!("{proto} {port}"))
                .collect();
            notes.push(format!(
                "The node listens where its REDIRECT rules send, so that it answers: {}.",
                ports.join(", ")
            ));
            hosts[0]
                .listeners
                .extend(node_listens.into_iter().map(|(proto, port)| Listener {
                    proto,
                    port,
                    addr: None,
                    process: None,
                }));
        }
        let mut pods: Vec<Ipv4Addr> = listens.iter().map(|(ip, ..)| *ip).collect();
        pods.dedup();
        let mut stood: Vec<String> = Vec::new();
        for ip in pods.into_iter().filter(|ip| Some(*ip) != client) {
            let Some(dev) = pod_veth(ip) else { continue };
            let name = format!("pod-{ip}");
            let Some(end) = hosts[0].devices.iter_mut().find(|d| d.name == dev) else {
                continue;
            };
            if !matches!(end.kind, DeviceKind::Ethernet { .. }) {
                continue;
            }
            end.kind = DeviceKind::Veth {
                peer: format!("{name}/eth0"),
            };
            end.proxy_arp = true;
            let mut pod = replay_client(
                DeviceKind::Veth {
                    peer: format!("{REPLAY_NODE}/{dev}"),
                },
                Ipv4Net::new(ip, 32).expect("a /32"),
                "169.254.1.1 dev eth0 scope link\ndefault via 169.254.1.1 dev eth0\n".into(),
            );
            pod.name = name.clone();
            pod.kind = HostKind::Pod;
            pod.listeners = (listens.iter())
                .filter(|(a, ..)| *a == ip)
                .map(|&(_, proto, port)| Listener {
                    proto,
                    port,
                    addr: None,
                    process: None,
                })
                .collect();
            let ports: Vec<String> = (pod.listeners.iter())
                .map(|l| format!("{} {}", l.proto, l.port))
                .collect();
            stood.push(format!("{name} behind {dev} ({})", ports.join(", ")));
            hosts.push(pod);
        }
        const NAMED: usize = 3;
        let more = stood.len().saturating_sub(NAMED);
        if !stood.is_empty() {
            let and = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            notes.push(format!("The pods the node's DNAT rules send to stand behind their veths, listening on those rules' ports so that they answer: {}{and}.", stood[..stood.len().min(NAMED)].join("; ")));
        }
        Ok(Scenario {
            name: "replay".into(),
            title: "Replay of a node's own rules and routes".into(),
            description: String::new(),
            notes,
            seed: 1,
            hosts,
            services: Vec::new(),
            announces: Vec::new(),
            preset: None,
            cluster: None,
            sends: Vec::new(),
            eras: Vec::new(),
            flushes: Vec::new(),
            page: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Text;

    #[test]
    fn a_texts_length_is_that_of_its_text() {
        let lines = |v: &[&str]| Text::Lines(v.iter().map(|s| s.to_string()).collect());
        for t in [
            Text::One(String::new()),
            Text::One("a\nbc\n".into()),
            lines(&[]),
            lines(&["a"]),
            lines(&["default via 192.168.11.1 dev ens33", "", "x"]),
        ] {
            assert_eq!(t.len(), t.to_text().len(), "{t:?}");
        }
    }
}
