//! The packet a learner watches: IPv4 header, transport header, the
//! encapsulation stack, and the kernel metadata (skb mark, in/out device).
//!
//! Field names follow RFC 791/793/768/792 and the kernel's `struct iphdr`.
//! Values are plain representations (like smoltcp's `Ipv4Repr`), not bytes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;

/// IP protocol numbers used by the simulator. In JSON: `"tcp"`, `"udp"`,
/// `"icmp"`, `"ipip"`, or the number of any other protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Icmp,
    Tcp,
    Udp,
    /// IP-in-IP (protocol 4), what `tunl0` carries.
    Ipip,
    /// Any other protocol number.
    #[serde(untagged)]
    Other(u8),
}

impl Proto {
    pub fn number(self) -> u8 {
        match self {
            Proto::Icmp => 1,
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Ipip => 4,
            Proto::Other(n) => n,
        }
    }

    pub fn from_number(n: u8) -> Proto {
        match n {
            1 => Proto::Icmp,
            6 => Proto::Tcp,
            17 => Proto::Udp,
            4 => Proto::Ipip,
            n => Proto::Other(n),
        }
    }

    /// The name `iptables -p` and `/etc/protocols` use.
    pub fn name(self) -> String {
        match self {
            Proto::Icmp => "icmp".into(),
            Proto::Tcp => "tcp".into(),
            Proto::Udp => "udp".into(),
            Proto::Ipip => "ipencap".into(),
            Proto::Other(n) => (PROTOCOLS.iter())
                .find(|(_, m)| *m == n)
                .map_or_else(|| n.to_string(), |(name, _)| name.to_string()),
        }
    }

    /// Parses a protocol as `iptables -p` accepts it: a name of
    /// `/etc/protocols` (in any case) or a number. (`ipip` is 94 there,
    /// not the 4 that `tunl0` carries, which is `ipencap`.)
    pub fn parse(s: &str) -> Option<Proto> {
        // (Lowered into a new string only when it has capitals: a dump
        // names a protocol in every other rule.)
        let lower;
        let s = if s.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = s.to_ascii_lowercase();
            lower.as_str()
        } else {
            s
        };
        match s {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "icmp" => Some(Proto::Icmp),
            "ipencap" => Some(Proto::Ipip),
            // What RHEL's (and so Amazon Linux's, and the UBI-based
            // calico-node's) /etc/protocols names 4, and iptables-save
            // prints there: Calico's IPIP rules say -p ipv4.
            "ipv4" => Some(Proto::Ipip),
            // iptables' own names besides /etc/protocols'.
            "icmpv6" => Some(Proto::Other(58)),
            "mh" | "ipv6-mh" => Some(Proto::Other(135)),
            other => (PROTOCOLS.iter())
                .find(|(name, _)| *name == other)
                .map(|(_, n)| Proto::Other(*n))
                .or_else(|| other.parse::<u8>().ok().map(Proto::from_number)),
        }
    }
}

/// Debian's `/etc/protocols` (netbase), which iptables reads names from
/// and `iptables-save` prints them by; the four above aside.
const PROTOCOLS: &[(&str, u8)] = &[
    ("igmp", 2),
    ("ggp", 3),
    ("st", 5),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("skip", 57),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("mobility-header", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
    ("ethernet", 143),
];

/// By hand rather than with an `untagged` variant, which buffers values
/// (costly in the web page's code size).
impl<'de> Deserialize<'de> for Proto {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Proto, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Proto;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("tcp, udp, icmp, ipip or a protocol number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Proto, E> {
                match v {
                    "tcp" => Ok(Proto::Tcp),
                    "udp" => Ok(Proto::Udp),
                    "icmp" => Ok(Proto::Icmp),
                    "ipip" => Ok(Proto::Ipip),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Proto, E> {
                u8::try_from(v)
                    .map(Proto::from_number)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// UDP + VXLAN (RFC 7348) + inner Ethernet: what an outer IPv4 header
/// carries when a VXLAN device encapsulated the packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VxlanEncap {
    /// UDP source port: a hash of the inner flow, so flows spread over paths.
    pub src_port: u16,
    /// 8472 (Flannel, the Linux default) or 4789 (IANA, Calico).
    pub dst_port: u16,
    pub vni: u32,
    /// Inner Ethernet: the sending VTEP's MAC, and the receiving one's.
    pub inner_src_mac: String,
    pub inner_dst_mac: String,
    /// Outer Ethernet on the LAN: the sending node's NIC and the next hop
    /// toward the remote node. (The simulator has no MAC addresses for
    /// NICs otherwise; these are made from the IPv4 addresses, as
    /// `52:54:` + the four octets.)
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub outer_src_mac: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub outer_dst_mac: String,
}

/// The MAC address the simulator gives a NIC with address `ip`.
pub fn nic_mac(ip: std::net::Ipv4Addr) -> String {
    let o = ip.octets();
    format!("52:54:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

/// An IPv4 header (RFC 791), the fields a learner watches change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv4Header {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub protocol: Proto,
    /// Identification field.
    pub id: u16,
    /// Don't Fragment flag.
    pub df: bool,
    /// Total length in bytes (header + payload).
    pub total_len: u16,
    /// For an outer header of VXLAN encapsulation: the UDP and VXLAN
    /// headers it carries and the inner Ethernet addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan: Option<Box<VxlanEncap>>,
}

/// TCP flags. In JSON they are a string such as `"SYN,ACK"` (or `"none"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub urg: bool,
    /// ECN's flags (RFC 3168): a SYN with ECE and CWR asks for ECN, a
    /// SYN-ACK with ECE agrees. conntrack and iptables' `--tcp-flags`
    /// ignore them.
    pub ece: bool,
    pub cwr: bool,
}

impl TcpFlags {
    pub const SYN: TcpFlags = TcpFlags {
        syn: true,
        ack: false,
        fin: false,
        rst: false,
        psh: false,
        urg: false,
        ece: false,
        cwr: false,
    };

    /// The bit mask as in the TCP header (FIN=0x01 … URG=0x20, ECE=0x40,
    /// CWR=0x80).
    pub fn bits(self) -> u8 {
        (self.fin as u8)
            | (self.syn as u8) << 1
            | (self.rst as u8) << 2
            | (self.psh as u8) << 3
            | (self.ack as u8) << 4
            | (self.urg as u8) << 5
            | (self.ece as u8) << 6
            | (self.cwr as u8) << 7
    }

    pub fn from_bits(b: u8) -> TcpFlags {
        TcpFlags {
            fin: b & 0x01 != 0,
            syn: b & 0x02 != 0,
            rst: b & 0x04 != 0,
            psh: b & 0x08 != 0,
            ack: b & 0x10 != 0,
            urg: b & 0x20 != 0,
            ece: b & 0x40 != 0,
            cwr: b & 0x80 != 0,
        }
    }

    /// Parses a packet's `SYN,ACK` style list (as the CLI and the trace
    /// format take them): iptables' names, and ECN's ECE and CWR.
    pub fn parse_list(s: &str) -> Option<u8> {
        let mut bits = 0u8;
        for word in s.split(',') {
            bits |= match word.trim().to_ascii_uppercase().as_str() {
                "ECE" => 0x40,
                "CWR" => 0x80,
                w => Self::parse_iptables_list(w)?,
            };
        }
        Some(bits)
    }

    /// Parses `iptables --tcp-flags`' lists: FIN, SYN, RST, PSH, ACK, URG,
    /// ALL (those six) and NONE; iptables 1.8.9 refuses ECE and CWR.
    pub fn parse_iptables_list(s: &str) -> Option<u8> {
        let mut bits = 0u8;
        for word in s.split(',') {
            bits |= match word.trim().to_ascii_uppercase().as_str() {
                "FIN" => 0x01,
                "SYN" => 0x02,
                "RST" => 0x04,
                "PSH" => 0x08,
                "ACK" => 0x10,
                "URG" => 0x20,
                "ALL" => 0x3f,
                "NONE" => 0,
                _ => return None,
            };
        }
        Some(bits)
    }
}

impl From<TcpFlags> for String {
    fn from(f: TcpFlags) -> String {
        f.to_string()
    }
}

impl TryFrom<String> for TcpFlags {
    type Error = String;
    fn try_from(s: String) -> Result<TcpFlags, String> {
        if s == "none" {
            return Ok(TcpFlags::default());
        }
        TcpFlags::parse_list(&s)
            .map(TcpFlags::from_bits)
            .ok_or_else(|| format!("bad TCP flags \"{s}\" (use names like SYN,ACK)"))
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        for (set, name) in [
            (self.syn, "SYN"),
            (self.ack, "ACK"),
            (self.fin, "FIN"),
            (self.rst, "RST"),
            (self.psh, "PSH"),
            (self.urg, "URG"),
            (self.ece, "ECE"),
            (self.cwr, "CWR"),
        ] {
            if set {
                names.push(name);
            }
        }
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

/// The first 28 bytes of the datagram an ICMP error quotes (RFC 792): its IP
/// header and the first 8 bytes of its transport header (the ports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quoted {
    pub ip: Ipv4Header,
    pub src_port: u16,
    pub dst_port: u16,
}

/// The transport header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "proto", rename_all = "lowercase")]
pub enum Transport {
    Tcp {
        src_port: u16,
        dst_port: u16,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
    },
    Udp {
        src_port: u16,
        dst_port: u16,
    },
    Icmp {
        #[serde(rename = "type")]
        icmp_type: u8,
        code: u8,
        /// Echo identifier (0 for errors).
        id: u16,
        seq: u16,
        /// For errors (type 3, 11, …): the header of the packet that caused it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quoted: Option<Box<Quoted>>,
    },
    /// No transport header the simulator understands (e.g. the inner IP
    /// packet of IPIP is carried as `inner` on the packet instead).
    None,
}

pub mod icmp {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACH: u8 = 3;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAM_PROBLEM: u8 = 12;
    pub const NET_UNREACH: u8 = 0;
    pub const HOST_UNREACH: u8 = 1;
    pub const PROT_UNREACH: u8 = 2;
    pub const PORT_UNREACH: u8 = 3;
    pub const FRAG_NEEDED: u8 = 4;
    pub const NET_PROHIBITED: u8 = 9;
    pub const HOST_PROHIBITED: u8 = 10;
    pub const ADMIN_PROHIBITED: u8 = 13;

    /// The name iptables uses for a type/code (`--icmp-type`).
    pub fn name(t: u8, code: u8) -> &'static str {
        match (t, code) {
            (0, _) => "echo-reply",
            (8, _) => "echo-request",
            (3, 0) => "network-unreachable",
            (3, 1) => "host-unreachable",
            (3, 2) => "protocol-unreachable",
            (3, 3) => "port-unreachable",
            (3, 4) => "fragmentation-needed",
            (3, 9) => "network-prohibited",
            (3, 10) => "host-prohibited",
            (3, 13) => "communication-prohibited",
            (3, _) => "destination-unreachable",
            (11, 0) => "time-exceeded",
            (11, 1) => "ttl-zero-during-reassembly",
            (11, _) => "time-exceeded",
            (4, _) => "source-quench",
            (5, _) => "redirect",
            (12, _) => "parameter-problem",
            (13, _) => "timestamp-request",
            (14, _) => "timestamp-reply",
            (17, _) => "address-mask-request",
            (18, _) => "address-mask-reply",
            _ => "icmp",
        }
    }

    /// The name of a type alone (`destination-unreachable`), as
    /// iptables lists them.
    pub fn type_name(t: u8) -> &'static str {
        match t {
            3 => "destination-unreachable",
            11 => "time-exceeded",
            t => name(t, 0),
        }
    }

    /// The name of a code within its type (`ttl-zero-during-transit`).
    pub fn code_name(t: u8, code: u8) -> &'static str {
        match (t, code) {
            (11, 0) => "ttl-zero-during-transit",
            _ => name(t, code),
        }
    }

    /// The error a socket gets for an ICMP error (`icmp_err_convert`):
    /// its errno, its text (strerror), and whether it is fatal (a hard
    /// error, reported even on an established connection).
    pub fn errno(t: u8, code: u8) -> (&'static str, &'static str, bool) {
        const UNREACH: (&str, &str) = ("EHOSTUNREACH", "No route to host");
        let ((name, text), fatal) = match (t, code) {
            (3, 0 | 6 | 9 | 11) => (
                ("ENETUNREACH", "Network is unreachable"),
                code != 0 && code != 11,
            ),
            (3, 2) => (("ENOPROTOOPT", "Protocol not available"), true),
            (3, 3) => (("ECONNREFUSED", "Connection refused"), true),
            (3, 4) => (("EMSGSIZE", "Message too long"), false),
            (3, 5) => (("EOPNOTSUPP", "Operation not supported"), false),
            (3, 7) => (("EHOSTDOWN", "Host is down"), true),
            (3, 8) => (("ENONET", "Machine is not on the network"), true),
            (3, 1 | 12) => (UNREACH, false),
            (3, _) => (UNREACH, true),
            _ => (UNREACH, false),
        };
        (name, text, fatal)
    }

    /// What `ping` prints for an ICMP error about one of its echoes
    /// (iputils' `pr_icmph`).
    pub fn ping_says(t: u8, code: u8) -> &'static str {
        match (t, code) {
            (3, 0) => "Destination Net Unreachable",
            (3, 1) => "Destination Host Unreachable",
            (3, 2) => "Destination Protocol Unreachable",
            (3, 3) => "Destination Port Unreachable",
            (3, 4) => "Frag needed and DF set",
            (3, 9) => "Destination Net Prohibited",
            (3, 10) => "Destination Host Prohibited",
            (3, 13) => "Packet filtered",
            (3, _) => "Dest Unreachable",
            (11, 0) => "Time to live exceeded",
            _ => "Frag reassembly time exceeded",
        }
    }

    /// Whether the type is an error that quotes the offending packet.
    pub fn is_error(t: u8) -> bool {
        matches!(t, 3 | 4 | 5 | 11 | 12)
    }

    /// The type of the answer to a query (echo-request ↔ echo-reply,
    /// timestamp, information, address mask), as conntrack inverts a
    /// tuple (`nf_conntrack_invert_icmp_tuple`); others stay as they are.
    pub fn answer(t: u8) -> u8 {
        match t {
            ECHO_REQUEST => ECHO_REPLY,
            ECHO_REPLY => ECHO_REQUEST,
            13 | 15 | 17 => t + 1,
            14 | 16 | 18 => t - 1,
            t => t,
        }
    }

    /// An ICMP message's part of a conntrack tuple: the identifier (0
    /// for errors), and its type and code in one number (256 × type +
    /// code), as the kernel's tuple keeps them (`icmp_pkt_to_tuple`: the
    /// two bytes where a port would be, which `--ctorigdstport` reads as
    /// one; an echo request's is 2048, measured).
    pub fn key(t: u8, code: u8, id: u16) -> (u16, u16) {
        (id, u16::from(t) << 8 | u16::from(code))
    }

    /// The type and code in a tuple's [`key`].
    pub fn type_code(key: u16) -> (u8, u8) {
        ((key >> 8) as u8, key as u8)
    }
}

impl Transport {
    /// Source and destination port (echo id for ICMP echo, as conntrack uses it).
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self {
            Transport::Tcp {
                src_port, dst_port, ..
            }
            | Transport::Udp { src_port, dst_port } => Some((*src_port, *dst_port)),
            _ => None,
        }
    }

    /// An echo's identifier, the ICMP "port" NAT may change.
    pub fn echo_id(&self) -> Option<u16> {
        match self {
            Transport::Icmp { icmp_type, id, .. } if !icmp::is_error(*icmp_type) => Some(*id),
            _ => None,
        }
    }

    /// Fragmentation needed: the MTU of the next hop, in the word an echo
    /// keeps its sequence number in (RFC 1191).
    pub fn set_next_hop_mtu(&mut self, mtu: u32) {
        if let Transport::Icmp { seq, .. } = self {
            *seq = u16::try_from(mtu).unwrap_or(u16::MAX);
        }
    }

    pub fn set_echo_id(&mut self, to: u16) {
        if let Transport::Icmp { icmp_type, id, .. } = self {
            if !icmp::is_error(*icmp_type) {
                *id = to;
            }
        }
    }

    pub fn set_src_port(&mut self, p: u16) {
        if let Transport::Tcp { src_port, .. } | Transport::Udp { src_port, .. } = self {
            *src_port = p;
        }
    }

    pub fn set_dst_port(&mut self, p: u16) {
        if let Transport::Tcp { dst_port, .. } | Transport::Udp { dst_port, .. } = self {
            *dst_port = p;
        }
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> u16 {
        match self {
            Transport::Tcp { .. } => 20,
            Transport::Udp { .. } | Transport::Icmp { .. } => 8,
            Transport::None => 0,
        }
    }
}

/// One packet as it is at one point of its walk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    /// Outer headers added by encapsulation, outermost first (IPIP: one
    /// outer IPv4 header with protocol 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outer: Vec<Ipv4Header>,
    /// The (inner) IPv4 header.
    pub ip: Ipv4Header,
    pub transport: Transport,
    /// Payload bytes after the transport header.
    pub payload_len: u16,
    /// `skb->mark` (what `-j MARK` sets and `-m mark` tests).
    pub mark: u32,
    /// The device the packet came in on (`iptables -i`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    /// The device the packet goes out on (`iptables -o`), once routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    /// The bridge port it came in by, when it came in through a bridge
    /// (br_netfilter's `physindev`, what `-m physdev --physdev-in` tests);
    /// its namespace keeps it while the packet is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physin: Option<String>,
    /// The bridge port a bridged frame leaves by (`--physdev-out`), at the
    /// FORWARD and POSTROUTING hooks the bridge runs for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physout: Option<String>,
}

impl Packet {
    /// The header the network stack currently acts on: the outermost one.
    pub fn head(&self) -> &Ipv4Header {
        self.outer.first().unwrap_or(&self.ip)
    }

    pub fn head_mut(&mut self) -> &mut Ipv4Header {
        if self.outer.is_empty() {
            &mut self.ip
        } else {
            &mut self.outer[0]
        }
    }

    /// Transport header of the outermost packet: the packet's own, the UDP
    /// header of VXLAN encapsulation, or none for IPIP.
    pub fn head_transport(&self) -> Option<std::borrow::Cow<'_, Transport>> {
        use std::borrow::Cow;
        match self.outer.first() {
            None => Some(Cow::Borrowed(&self.transport)),
            Some(o) => o.vxlan.as_ref().map(|v| {
                Cow::Owned(Transport::Udp {
                    src_port: v.src_port,
                    dst_port: v.dst_port,
                })
            }),
        }
    }

    /// For a TCP segment, the sequence number after it: its own, plus its
    /// data, plus one for a SYN or a FIN (what the other side
    /// acknowledges, and where this side's next segment starts).
    pub fn seq_after(&self) -> Option<u32> {
        match &self.transport {
            Transport::Tcp { seq, flags, .. } => Some(
                seq.wrapping_add(u32::from(self.payload_len))
                    .wrapping_add(u32::from(flags.syn) + u32::from(flags.fin)),
            ),
            _ => None,
        }
    }

    /// Ports of the outermost packet.
    pub fn head_ports(&self) -> Option<(u16, u16)> {
        self.head_transport().and_then(|t| t.ports())
    }

    /// Recomputes `total_len` of every header from the payload size.
    /// (Saturating at 65535, the field's maximum.)
    pub fn fix_lengths(&mut self) {
        let mut len = (20 + self.transport.header_len()).saturating_add(self.payload_len);
        self.ip.total_len = len;
        for h in self.outer.iter_mut().rev() {
            // IPIP adds an IPv4 header; VXLAN adds IPv4, UDP (8), VXLAN (8)
            // and the inner Ethernet header (14).
            let extra = if h.vxlan.is_some() {
                20 + 8 + 8 + 14
            } else {
                20
            };
            len = len.saturating_add(extra);
            h.total_len = len;
        }
    }

    /// A one-line summary in the spirit of `tcpdump -n`.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for o in &self.outer {
            match &o.vxlan {
                Some(v) => s.push_str(&format!(
                    "IP {}:{} > {}:{} udp vxlan vni {} | ",
                    o.src, v.src_port, o.dst, v.dst_port, v.vni
                )),
                None => s.push_str(&format!("IP {} > {} (ipip) | ", o.src, o.dst)),
            }
        }
        let ip = &self.ip;
        match &self.transport {
            Transport::Tcp {
                src_port,
                dst_port,
                flags,
                ..
            } => s.push_str(&format!(
                "IP {}:{} > {}:{} tcp [{}] ttl {}",
                ip.src, src_port, ip.dst, dst_port, flags, ip.ttl
            )),
            Transport::Udp { src_port, dst_port } => s.push_str(&format!(
                "IP {}:{} > {}:{} udp ttl {}",
                ip.src, src_port, ip.dst, dst_port, ip.ttl
            )),
            Transport::Icmp {
                icmp_type, code, ..
            } => s.push_str(&format!(
                "IP {} > {} icmp {} ttl {}",
                ip.src,
                ip.dst,
                icmp::name(*icmp_type, *code),
                ip.ttl
            )),
            Transport::None => s.push_str(&format!(
                "IP {} > {} proto {} ttl {}",
                ip.src, ip.dst, ip.protocol, ip.ttl
            )),
        }
        if self.mark != 0 {
            s.push_str(&format!(" mark {:#x}", self.mark));
        }
        s
    }
}
