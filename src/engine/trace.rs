//! The engine's output: an ordered list of typed steps, each with the
//! packet's headers after it. Serialised as JSON in the shape documented in
//! `docs/trace-format.md`; [`TRACE_VERSION`] changes when that shape does.

use crate::engine::iptables::{Hook, TableName};
use crate::engine::packet::{Ipv4Header, Packet};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

pub const TRACE_VERSION: u32 = 1;

/// The layer a step belongs to, the article's point: netfilter, routing and
/// tunnels are network layer; ports, conntrack and sockets are transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Link,
    Network,
    Transport,
}

/// A rule, as a step refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    /// Position in its chain, from 1 (as `iptables -L --line-numbers`).
    pub index: usize,
    /// Line in the `iptables-save` text (0 when added by a command).
    pub line: usize,
    /// The rule as `iptables-save` prints it.
    pub text: String,
}

/// One rule that was evaluated and did not match, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub index: usize,
    pub line: usize,
    /// The match that failed, as written (`-d 10.96.0.10/32`).
    pub failed: String,
    pub reason: String,
}

/// How a chain was entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entry {
    /// A built-in chain, run by its hook.
    Hook,
    Jump,
    Goto,
}

/// One route the lookup weighed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The route as `ip route` prints it.
    pub route: String,
    pub table: String,
    pub prefix_len: u8,
    pub metric: u32,
    pub chosen: bool,
    /// Why it won or lost.
    pub why: String,
    /// Line in the `ip route` text (0 for routes the kernel derived from
    /// the addresses: the local table).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub line: usize,
}

/// What one `ip rule` did with a route lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// Its selector did not take the packet.
    NoMatch,
    /// A `goto` before it jumped over it.
    JumpedOver,
    /// It took the packet and sent the lookup on: a `nop`, a table
    /// without the route, a `throw` route, a route it suppresses.
    GoesOn,
    /// A `goto` that took the packet.
    Jumps,
    /// Its table gave the route.
    Decides,
    /// Its action (`blackhole`, `unreachable`, `prohibit`) ended the
    /// lookup without a route.
    Refuses,
}

/// One `ip rule` a route lookup walked past or followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleWeighed {
    /// The rule as `ip rule` prints it (`1536:\tfrom 10.0.97.30 lookup 2`).
    pub rule: String,
    pub outcome: RuleOutcome,
    /// What it did, or which test of its selector failed.
    pub why: String,
    /// Line in the routes text (0: one of the rules every namespace
    /// starts with, which the text did not list).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub line: usize,
    /// More rules after this one with its outcome, told in one row (a
    /// long run of rules that do not apply): how many.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more: usize,
}

impl RuleWeighed {
    /// Whether it ended the lookup (with a route or without).
    pub fn decided(&self) -> bool {
        matches!(self.outcome, RuleOutcome::Decides | RuleOutcome::Refuses)
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Where a route lookup happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// Input routing of a received packet (after PREROUTING).
    Input,
    /// Output routing of a locally generated packet (before OUTPUT).
    Output,
    /// Re-routing after OUTPUT changed the destination or mark.
    Reroute,
    /// Route to the tunnel endpoint for an encapsulated packet.
    Tunnel,
}

/// What the lookup decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RouteResult {
    /// For this host: deliver locally.
    Local,
    /// Send out of `dev`, to `via` (or straight to the destination).
    Unicast {
        dev: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<Ipv4Addr>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        src: Option<Ipv4Addr>,
    },
    Blackhole,
    Unreachable,
    Prohibit,
    /// No route matched.
    NoRoute,
}

impl RouteResult {
    /// In words: `local delivery`, `via 192.168.11.54 dev tunl0`, `blackhole`.
    pub fn describe(&self) -> String {
        match self {
            RouteResult::Local => "local delivery".to_string(),
            RouteResult::Unicast { dev, via, .. } => match via {
                Some(v) => format!("via {v} dev {dev}"),
                None => format!("dev {dev}"),
            },
            RouteResult::Blackhole => "blackhole".into(),
            RouteResult::Unreachable => "unreachable".into(),
            RouteResult::Prohibit => "prohibit".into(),
            RouteResult::NoRoute => "no route".into(),
        }
    }
}

/// NAT kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NatKind {
    Dnat,
    Snat,
    Masquerade,
    /// DNAT to the host itself: the in-device's address, or 127.0.0.1.
    Redirect,
    /// No rule: the kernel's binding of a connection no SNAT rule bound
    /// (`nf_nat_alloc_null_binding`), which moves its source port when
    /// another connection holds its reply tuple.
    #[serde(rename = "NULL_BINDING")]
    NullBinding,
}

impl NatKind {
    /// The iptables target's name: `DNAT`, `SNAT`, `MASQUERADE` (or `null binding`, the kernel's own).
    pub fn name(self) -> &'static str {
        match self {
            NatKind::Dnat => "DNAT",
            NatKind::Snat => "SNAT",
            NatKind::Masquerade => "MASQUERADE",
            NatKind::Redirect => "REDIRECT",
            NatKind::NullBinding => "null binding",
        }
    }
}

/// An address and port, before or after NAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub addr: Ipv4Addr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// An ICMP echo's identifier, which NAT treats as its port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_id: Option<u16>,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{}", self.addr, p)?,
            None => write!(f, "{}", self.addr)?,
        }
        match self.echo_id {
            Some(id) => write!(f, " (echo id {id})"),
            None => Ok(()),
        }
    }
}

/// A neighbour entry's state, as `ip neigh` names it (NUD_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Nud {
    /// Confirmed by an answer within the last 30 s (base_reachable_time).
    Reachable,
    /// Not confirmed lately: still used, and checked by a unicast probe.
    Stale,
    /// Its probes went unanswered.
    Failed,
    /// Written by hand or by the CNI (`ip neigh add … nud permanent`):
    /// never asked, never aging.
    Permanent,
}

impl Nud {
    pub fn name(self) -> &'static str {
        match self {
            Nud::Reachable => "REACHABLE",
            Nud::Stale => "STALE",
            Nud::Failed => "FAILED",
            Nud::Permanent => "PERMANENT",
        }
    }
}

/// A conntrack tuple: `src=… dst=… sport=… dport=…` as `conntrack -L` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tuple {
    pub proto: crate::engine::packet::Proto,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Ports (TCP/UDP); for ICMP the echo's identifier (`sport`) and the
    /// type and code (`dport`: 256 × type + code), as the kernel's tuple
    /// keeps them; 0 when none.
    pub sport: u16,
    pub dport: u16,
}

/// The connection the kernel's answer to a refused packet carries: the
/// refused packet's own, attached to the ICMP error or a REJECT's reset
/// (`nf_ct_attach`) whether or not it was confirmed, so conntrack looks
/// nothing up for it and its NAT is taken back on the way out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attached {
    pub original: Tuple,
    pub reply: Tuple,
    /// The refused packet went in the reply direction (so its answer goes
    /// in the original one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refused_reply: bool,
    /// The connection was never confirmed: its packet was refused before
    /// any source NAT hook (so a REJECT's reset walks the nat chains there).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unconfirmed: bool,
    /// Its destination, or its source, is translated (conntrack's
    /// `IPS_DST_NAT`, `IPS_SRC_NAT`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dnat: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snat: bool,
}

impl std::fmt::Display for Tuple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} src={} dst={}", self.proto, self.src, self.dst)?;
        match self.proto {
            crate::engine::packet::Proto::Tcp | crate::engine::packet::Proto::Udp => {
                write!(f, " sport={} dport={}", self.sport, self.dport)
            }
            // An error has no identifier (its conntrack is the quoted
            // packet's connection).
            crate::engine::packet::Proto::Icmp => {
                let (t, code) = crate::engine::packet::icmp::type_code(self.dport);
                write!(f, " type={t} code={code}")?;
                if crate::engine::packet::icmp::is_error(t) {
                    Ok(())
                } else {
                    write!(f, " id={}", self.sport)
                }
            }
            _ => Ok(()),
        }
    }
}

/// What conntrack did with the packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CtEvent {
    /// Lookup at PREROUTING/OUTPUT (priority -200).
    Lookup {
        tuple: Tuple,
        /// NEW, ESTABLISHED, RELATED (with ",REPLY" for the reply direction).
        state: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original: Option<Tuple>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply: Option<Tuple>,
    },
    /// A later packet follows the NAT binding without the nat chains:
    /// the first packet's NAT made again (original direction), or taken
    /// back (`reply`, an answer).
    Translate {
        before: Tuple,
        after: Tuple,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reply: bool,
    },
    /// The new connection is confirmed (inserted) when the packet leaves
    /// POSTROUTING or INPUT.
    Confirm { original: Tuple, reply: Tuple },
}

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// A `blackhole` route.
    Blackhole,
    /// An `unreachable` route (ICMP host unreachable).
    Unreachable,
    /// A `prohibit` route (ICMP administratively prohibited).
    Prohibit,
    /// No route matched.
    NoRoute,
    /// An `ip rule` whose action is `blackhole` ended the route lookup.
    RuleBlackhole,
    /// An `ip rule` whose action is `unreachable` (ICMP network
    /// unreachable).
    RuleUnreachable,
    /// An `ip rule` whose action is `prohibit` (ICMP administratively
    /// prohibited).
    RuleProhibit,
    /// TTL reached 0 while forwarding (ICMP time exceeded).
    TtlExceeded,
    /// A rule's `-j DROP` or a chain policy DROP.
    Filtered,
    /// A rule's `-j REJECT` (an ICMP error or TCP RST is sent back).
    Rejected,
    /// Nothing listens on the port (TCP RST / ICMP port unreachable).
    NoListener,
    /// No ping socket waits for this ICMP echo-reply (its identifier).
    NoPingSocket,
    /// An ICMP error about a packet no socket of the host sent.
    NoSender,
    /// A TCP segment other than a SYN reached a listening socket that has
    /// no connection for it (its SYN never arrived): an ACK is answered
    /// with RST, anything else dropped.
    NoConnection,
    /// The source address is one of the receiving host's own (a martian
    /// source): the kernel drops it when routing it in.
    Martian,
    /// rp_filter: no route back to the source through the device the
    /// packet came in on (strict), or at all (loose).
    ReversePath,
    /// Nobody answered ARP for the next hop.
    NoNeighbour,
    /// The host does not forward (`net.ipv4.ip_forward = 0`).
    NotForwarding,
    /// An IPIP packet arrived and the host has no `tunl0`.
    NoTunnel,
    /// The packet crossed too many hops for the simulator (a loop).
    HopLimit,
    /// The rules needed more evaluation than the simulator allows for one
    /// packet (chains calling each other many times over).
    RuleLimit,
    /// Conntrack could not insert the connection: another one holds the
    /// same tuple (a NAT clash).
    ConntrackClash,
    /// A bridge would send the frame back out of the port it came in on,
    /// and that port's hairpin mode is off.
    Hairpin,
    /// Larger than the MTU of the way out, with Don't Fragment set: a
    /// router answers ICMP fragmentation needed with that MTU.
    FragNeeded,
    /// Larger than the MTU of the device a socket would send it by: the
    /// socket never sends it as one packet.
    TooBig,
    /// A reset before the next sequence number the connection's socket
    /// expects: outside its receive window, TCP discards it (RFC 5961).
    OutOfWindow,
}

impl DropReason {
    pub fn describe(self) -> &'static str {
        match self {
            DropReason::Blackhole => "a blackhole route discards it silently (Calico, for one, puts one on each node's own pod block: an address of the block with no pod, and so no /32 route, ends there instead of following the default route)",
            DropReason::Unreachable => "an unreachable route: a router answers the sender ICMP host unreachable (a host's own packet gets no ICMP: its send fails with EHOSTUNREACH)",
            DropReason::Prohibit => "a prohibit route: a router answers the sender ICMP administratively prohibited (a host's own packet gets no ICMP: its send fails with EACCES)",
            DropReason::NoRoute => "no route matches the destination (network unreachable)",
            DropReason::RuleBlackhole => "an ip rule's blackhole ends the route lookup: the packet is discarded silently (a host's own packet: its send fails with EINVAL)",
            DropReason::RuleUnreachable => "an ip rule's unreachable ends the route lookup: a router answers the sender ICMP network unreachable (a host's own packet gets no ICMP: its send fails with ENETUNREACH)",
            DropReason::RuleProhibit => "an ip rule's prohibit ends the route lookup: a router answers the sender ICMP administratively prohibited (a host's own packet gets no ICMP: its send fails with EACCES)",
            DropReason::TtlExceeded => "its TTL ran out at a router (ICMP time exceeded goes back, as traceroute uses it)",
            DropReason::Filtered => "dropped by netfilter",
            DropReason::Rejected => "rejected by netfilter's REJECT target",
            DropReason::NoListener => "no socket listens on that port: the kernel answers TCP with a reset, UDP with ICMP port unreachable",
            DropReason::NoPingSocket => "no ping socket waits for this echo-reply (none has its identifier): the kernel drops it and answers nothing",
            DropReason::NoSender => "no socket here sent the packet this ICMP error is about (its quote names none): the kernel drops it",
            DropReason::NoConnection => "no connection of the socket takes this segment (at a listener: no SYN came from this address and port, or a reset ended the connection, or a NAT chosen anew after a conntrack flush changed them; at a socket still connecting: it is no answer to its SYN): TCP answers an ACK with a reset and drops anything else",
            DropReason::Martian => "a martian source: the packet came in from outside with one of this host's own addresses as its source, which the kernel refuses (why kube-proxy masquerades a pod that calls its own Service)",
            DropReason::ReversePath => "reverse path filtering (rp_filter): the route back to the packet's source does not leave by the device it came in on (strict mode; loose mode: there is none), so the kernel takes the source for spoofed (Calico turns it on for its cali… veths)",
            DropReason::NoNeighbour => "no host answered ARP for the next hop",
            DropReason::NotForwarding => "this host does not forward packets (net.ipv4.ip_forward = 0)",
            DropReason::NoTunnel => "no tunnel device here takes this packet: IPIP with no tunl0, VXLAN for a port or VNI no device serves, or a datagram with no VXLAN header to a VXLAN device's port",
            DropReason::HopLimit => "the packet took too many hops (a routing loop?)",
            DropReason::RuleLimit => "Packet Walk stopped walking the rules: they need more work for one packet than the simulator allows",
            DropReason::ConntrackClash => "conntrack could not insert the connection: another one holds the same tuple",
            DropReason::Hairpin => "a bridge does not send a frame back out of the port it came in on unless that port's hairpin mode is on",
            DropReason::FragNeeded => "too large for the MTU of the way out, and Don't Fragment is set: the router answers ICMP fragmentation needed, naming that MTU",
            DropReason::TooBig => "too large for the MTU of the way out of the host that made it: it is not sent as one packet",
            DropReason::OutOfWindow => "outside the connection's receive window (a sequence number the socket already took): TCP discards it without an answer (an old or forged segment)",
        }
    }
}

/// What a step is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// The packet is created by a socket (or arrives from outside the model).
    Send {
        note: String,
    },
    /// A device receives the packet.
    Receive {
        dev: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// A device transmits the packet.
    Transmit {
        dev: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_hop: Option<Ipv4Addr>,
    },
    /// A bridge (`cni0`) switches the frame from one port to another: no
    /// routing, the TTL is kept. With br_netfilter (which Kubernetes needs)
    /// the frame still passes iptables' PREROUTING, FORWARD and
    /// POSTROUTING, with the bridge as `-i` and `-o`.
    Bridge {
        bridge: String,
        in_port: String,
        out_port: String,
        /// Why it is bridged: `false`, the frame was sent to that port's
        /// pod; `true`, PREROUTING rewrote the destination (a DNAT, or
        /// conntrack undoing a masquerade) to an address behind the bridge.
        dst_changed: bool,
    },
    /// Neighbour resolution for the next hop.
    Arp {
        dev: String,
        target: Ipv4Addr,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answered_by: Option<String>,
        /// Other hosts on the LAN that hold the address and answered the
        /// request too, later: the asker keeps the first answer (which
        /// is a race on a real LAN; Packet Walk takes the first host of
        /// the scenario).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        answered_too: Vec<String>,
        proxy: bool,
        /// The neighbour cache's entry for the target, if there was one:
        /// REACHABLE or STALE, it was used and nothing was asked
        /// (`answered_by` is the device it holds); FAILED, its probes had
        /// gone unanswered, so ARP asked anew. Absent: no entry, ARP asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cached: Option<Nud>,
    },
    /// A chain is entered.
    Chain {
        hook: Hook,
        table: TableName,
        chain: String,
        entry: Entry,
    },
    /// A rule matched; `target` is what it does.
    RuleMatch {
        table: TableName,
        chain: String,
        rule: RuleRef,
        target: String,
        /// Why its tests of the namespace held, for the ones a learner
        /// cannot read off the packet (an IP set's entry, rpfilter's route
        /// back), in the order written.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        held: Vec<String>,
    },
    /// Rules evaluated (or ruled out by the chain index) without a match.
    RulesSkipped {
        table: TableName,
        chain: String,
        /// First and last rule position of the run (from 1).
        first: usize,
        last: usize,
        count: usize,
        /// How many the chain index ruled out without evaluating them.
        by_index: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index_reason: Option<String>,
        /// The reason for each evaluated rule (for short runs).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<Skip>,
    },
    /// A `statistic --mode random` match drew a number.
    Statistic {
        table: TableName,
        chain: String,
        rule: usize,
        probability: f64,
        /// The draw, in [0, 1): the match holds when draw < probability.
        draw: f64,
        matched: bool,
        forced: bool,
    },
    /// A user chain ended (RETURN or end of rules) back to its caller.
    Return {
        table: TableName,
        chain: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// A built-in chain ended: its policy decides.
    Policy {
        table: TableName,
        chain: String,
        policy: String,
        /// Line of the chain's `:NAME POLICY` declaration (0 when none).
        #[serde(default, skip_serializing_if = "is_zero")]
        line: usize,
    },
    /// A kernel log line from `-j LOG`.
    Log {
        line: String,
    },
    /// The skb mark changed.
    Mark {
        old: u32,
        new: u32,
    },
    /// The connection's mark changed (CONNMARK): what `conntrack -L`
    /// lists as `mark=`.
    CtMark {
        old: u32,
        new: u32,
    },
    /// A NAT rewrite.
    Nat {
        nat: NatKind,
        before: Endpoint,
        after: Endpoint,
        /// The rule that made it, or none when conntrack applied a binding.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<RuleRef>,
    },
    /// The nat table is not consulted: the packet is not the first of its connection.
    NatSkipped {
        hook: Hook,
    },
    Conntrack(CtEvent),
    /// A routing decision with the routes it weighed.
    Route {
        lookup: Lookup,
        dst: Ipv4Addr,
        candidates: Vec<Candidate>,
        result: RouteResult,
        /// The `ip rule` lines walked (when the namespace has rules of
        /// its own; its first three alone are not listed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rules: Vec<RuleWeighed>,
    },
    /// A forwarded packet leaves by the interface it came in on, toward a
    /// next hop on its sender's own link: the kernel tells the sender to
    /// use that next hop directly (an ICMP redirect, `ip_rt_send_redirect`,
    /// with `send_redirects` on, as it is by default).
    Redirect {
        /// The sender the redirect is for.
        to: Ipv4Addr,
        /// The next hop it names.
        gateway: Ipv4Addr,
        /// Whether it was made (the kernel backs off, and stops after 9
        /// that went unheeded).
        sent: bool,
        /// The kernel set the clock of the sender's ICMP rate limit (it
        /// does when it makes one, or holds one back for good): an ICMP
        /// error to the sender right after is held back.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        holds_errors: bool,
        /// What became of it, in words.
        note: String,
    },
    /// TTL decremented by forwarding.
    Ttl {
        old: u8,
        new: u8,
    },
    /// A packet larger than the MTU of its way out that may be cut up (no
    /// Don't Fragment, or a datagram of the host's own) is cut into
    /// `pieces` fragments as it leaves (`ip_fragment`). The walk goes on
    /// with the packet whole, as the host that reassembles it sees it
    /// (conntrack's defragmentation, or the receiver's).
    Fragment {
        dev: String,
        mtu: u32,
        pieces: u32,
    },
    /// An outer header is added (IPIP on tunl0).
    Encap {
        dev: String,
        outer: Ipv4Header,
    },
    /// The outer header is removed.
    Decap {
        dev: String,
        outer: Ipv4Header,
    },
    /// The packet reaches a socket.
    Deliver {
        socket: String,
        /// What TCP sends back at once, unasked by the program: the
        /// challenge ACK to a SYN on an established connection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<Box<Packet>>,
    },
    /// The packet is dropped.
    Drop {
        reason: DropReason,
        detail: String,
        /// The error the kernel sends back, if any (ICMP or TCP RST), as
        /// it makes it: before conntrack takes back any NAT.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response: Option<Box<Packet>>,
        /// The connection `response` carries (`nf_ct_attach`), when the
        /// kernel attaches one: to an ICMP error or a REJECT's reset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attached: Option<Attached>,
    },
    /// The packet leaves the modelled network (to a router or host not in the scenario).
    Exit {
        dev: String,
        next_hop: Ipv4Addr,
        /// Why a packet to a Service's ClusterIP leaves instead of
        /// reaching a pod.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

/// One step: where it happened, what happened, and the packet after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Network namespace (a node, a pod or a client host).
    pub ns: String,
    pub layer: Layer,
    #[serde(flatten)]
    pub kind: StepKind,
    pub packet: Packet,
}

/// How the walk ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Delivered {
        ns: String,
        socket: String,
    },
    Dropped {
        ns: String,
        reason: DropReason,
    },
    Left {
        ns: String,
        dev: String,
        next_hop: Ipv4Addr,
    },
}

/// A packet's whole walk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub version: u32,
    pub steps: Vec<Step>,
    pub verdict: Verdict,
}

impl Trace {
    /// The chains entered, in order, as `ns/table/CHAIN`; handy in tests.
    pub fn chains(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Chain { table, chain, .. } => {
                    Some(format!("{}/{}/{}", s.ns, table, chain))
                }
                _ => None,
            })
            .collect()
    }
}
