//! What the page shows, computed from the engine's output: the scenario, the
//! trace of its preset packet, and presentation helpers (row kinds, header
//! changes between steps, the verdict in words). No simulation happens here:
//! every decision comes from [`crate::engine`].

use crate::engine::packet::{Packet, Proto, VxlanEncap};
use crate::engine::scenario::{self, DeviceKind, Host, HostKind, Scenario};
use crate::engine::trace::{DropReason, Endpoint, Layer, NatKind, Step, StepKind, Trace, Verdict};
use crate::engine::{send, SendSpec, SimState, World};

use std::rc::Rc;

/// A built-in scenario and the trace of its preset packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Walk {
    pub scenario: Scenario,
    /// The packet that was sent, as `from → to (proto)`.
    pub spec: Option<SendSpec>,
    /// The trace, or why there is none (a scenario error, a bad preset).
    pub trace: Result<Rc<Trace>, String>,
}

/// Loads built-in scenario `name` and walks its preset packet.
pub fn walk(name: &str) -> Result<Walk, String> {
    let scenario =
        scenario::builtin(name).ok_or_else(|| format!("no built-in scenario named \"{name}\""))?;
    let Some(preset) = scenario.preset.clone() else {
        return Ok(Walk {
            scenario,
            spec: None,
            trace: Err("this scenario suggests no packet to send".into()),
        });
    };
    let spec = preset.to_spec();
    let trace = match World::build(&scenario) {
        Ok(mut world) => {
            let mut state = SimState::new(&world);
            send(&mut world, &mut state, &spec).map(Rc::new)
        }
        Err(e) => Err(format!("the scenario does not build:\n{e}")),
    };
    Ok(Walk {
        scenario,
        spec: Some(spec),
        trace,
    })
}

/// How a row stands out in the trace table. Each kind that stands out has
/// a text label, so the distinction never rests on colour alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// A rule matched.
    Match,
    /// Rules evaluated without a match (shown muted).
    Skipped,
    /// A NAT rewrite: DNAT, SNAT, MASQUERADE or REDIRECT (or conntrack's
    /// null binding).
    Nat(NatKind),
    Mark,
    Tunnel,
    Drop,
    /// A drop that answers the sender (REJECT, a reset, ICMP).
    Refused,
    /// A TTL that ran out at a router (time exceeded goes back).
    OutOfTtl,
    Deliver,
    /// The packet left the modelled network.
    Exit,
    Plain,
}

impl RowKind {
    pub fn of(step: &Step) -> RowKind {
        match &step.kind {
            StepKind::RuleMatch { .. } => RowKind::Match,
            StepKind::RulesSkipped { .. } => RowKind::Skipped,
            StepKind::Nat { nat, .. } => RowKind::Nat(*nat),
            StepKind::Mark { .. } | StepKind::CtMark { .. } => RowKind::Mark,
            StepKind::Encap { .. } | StepKind::Decap { .. } => RowKind::Tunnel,
            StepKind::Drop {
                reason: crate::engine::trace::DropReason::TtlExceeded,
                ..
            } => RowKind::OutOfTtl,
            StepKind::Drop {
                response: Some(_), ..
            } => RowKind::Refused,
            StepKind::Drop { .. } => RowKind::Drop,
            StepKind::Deliver { .. } => RowKind::Deliver,
            StepKind::Exit { .. } => RowKind::Exit,
            _ => RowKind::Plain,
        }
    }

    /// CSS class of the row.
    pub fn class(self) -> &'static str {
        match self {
            RowKind::Match => "row-match",
            RowKind::Skipped => "row-skipped",
            RowKind::Nat(_) => "row-nat",
            RowKind::Mark => "row-mark",
            RowKind::Tunnel => "row-tunnel",
            RowKind::Drop | RowKind::Refused | RowKind::OutOfTtl => "row-drop",
            RowKind::Deliver => "row-deliver",
            RowKind::Exit => "row-exit",
            RowKind::Plain => "row-plain",
        }
    }

    /// The step's summary after its label: without the words the label
    /// already says (`⇄ DNAT` then "destination …", not "DNAT
    /// destination …"; `✓ match` then "rule 2: …", not "rule 2 matches: …").
    pub fn after_label(self, summary: String) -> String {
        match self {
            RowKind::Match => match summary.split_once(" matches: ") {
                Some((rule, rest)) if rule.starts_with("rule ") => format!("{rule}: {rest}"),
                _ => summary,
            },
            RowKind::Nat(nat) => {
                match (summary.strip_prefix(nat.name())).and_then(|rest| rest.strip_prefix(' ')) {
                    Some(rest) => rest.to_string(),
                    None => summary,
                }
            }
            _ => summary,
        }
    }

    /// The visible label and its decorative icon, if the row has one.
    pub fn label(self) -> Option<(&'static str, &'static str)> {
        match self {
            RowKind::Match => Some(("✓", "match")),
            // The target's name, as the step's headers name it.
            RowKind::Nat(nat) => Some(("⇄", nat.name())),
            RowKind::Mark => Some(("✎", "mark")),
            RowKind::Tunnel => Some(("⊕", "tunnel")),
            RowKind::Drop => Some(("✕", "drop")),
            RowKind::Refused => Some(("✕", "refused")),
            RowKind::OutOfTtl => Some(("✕", "out of TTL")),
            RowKind::Deliver => Some(("●", "socket")),
            RowKind::Exit => Some(("→", "left")),
            RowKind::Skipped | RowKind::Plain => None,
        }
    }
}

pub fn layer_name(l: Layer) -> &'static str {
    match l {
        Layer::Link => "link",
        Layer::Network => "network",
        Layer::Transport => "transport",
    }
}

pub fn kind_name(k: HostKind) -> &'static str {
    match k {
        HostKind::Node => "node",
        HostKind::Pod => "pod",
        HostKind::Client => "client",
    }
}

/// The header fields that differ between the packet before a step and after
/// it: source and destination (address and port together), TTL, mark, and
/// outer (encapsulation) headers added or removed.
pub fn header_changes(before: &Packet, after: &Packet) -> Vec<String> {
    let mut out = Vec::new();
    let (nb, na) = (before.outer.len(), after.outer.len());
    if na > nb {
        let o = &after.outer[0];
        let proto = match o.protocol {
            Proto::Ipip => "IPIP".to_string(),
            p => p.to_string(),
        };
        out.push(format!("+ outer header {} → {} ({proto})", o.src, o.dst));
    } else if na < nb {
        let o = &before.outer[0];
        out.push(format!("− outer header {} → {} removed", o.src, o.dst));
    } else if let (Some(b), Some(a)) = (before.outer.first(), after.outer.first()) {
        if b.src != a.src {
            out.push(format!("outer src {} → {}", b.src, a.src));
        }
        if b.dst != a.dst {
            out.push(format!("outer dst {} → {}", b.dst, a.dst));
        }
        if b.ttl != a.ttl {
            out.push(format!("outer ttl {} → {}", b.ttl, a.ttl));
        }
    }
    let pb = before.transport.ports();
    let pa = after.transport.ports();
    let src = |p: &Packet, ports: Option<(u16, u16)>| Endpoint {
        addr: p.ip.src,
        port: ports.map(|x| x.0),
        echo_id: None,
    };
    let dst = |p: &Packet, ports: Option<(u16, u16)>| Endpoint {
        addr: p.ip.dst,
        port: ports.map(|x| x.1),
        echo_id: None,
    };
    let (sb, sa) = (src(before, pb), src(after, pa));
    if sb != sa {
        out.push(format!("src {sb} → {sa}"));
    }
    let (db, da) = (dst(before, pb), dst(after, pa));
    if db != da {
        out.push(format!("dst {db} → {da}"));
    }
    if let (Some(b), Some(a)) = (before.transport.echo_id(), after.transport.echo_id()) {
        if b != a {
            out.push(format!("echo id {b} → {a}"));
        }
    }
    if before.ip.ttl != after.ip.ttl {
        out.push(format!("ttl {} → {}", before.ip.ttl, after.ip.ttl));
    }
    if before.mark != after.mark {
        out.push(format!("mark {:#x} → {:#x}", before.mark, after.mark));
    }
    out
}

/// The verdict as a short headline and a sentence.
/// What a delivered error (an ICMP error or a reset) does to the socket
/// it reaches, in words (`its connect() fails with ECONNREFUSED …`).
pub fn error_told(trace: &Trace) -> Option<String> {
    use crate::engine::packet::Transport;
    let Verdict::Delivered { socket, .. } = &trace.verdict else {
        return None;
    };
    let error = match &trace.steps.last()?.packet.transport {
        Transport::Icmp { quoted, .. } => quoted.is_some(),
        Transport::Tcp { flags, .. } => flags.rst,
        _ => false,
    };
    let (_, told) = socket.split_once(": ").filter(|_| error)?;
    Some(told.to_string())
}

pub fn verdict_words(trace: &Trace) -> (&'static str, String) {
    let n = trace.steps.len();
    match &trace.verdict {
        Verdict::Delivered { ns, socket } => (
            "Delivered",
            match socket.starts_with("the kernel's") {
                true => format!("After {n} steps the packet reached {socket} in {ns}."),
                false => format!("After {n} steps the packet reached a socket in {ns}: {socket}."),
            },
        ),
        // A drop that answers the sender (REJECT, a reset, ICMP
        // unreachable) is a refusal: the sender learns at once, where a
        // silent drop makes it wait and time out.
        Verdict::Dropped { ns, reason } => {
            // Netfilter's verdict names its rule; other drops say why.
            let by = decided_by(trace);
            let why = if by.is_empty() {
                format!(": {}", reason.describe())
            } else {
                by
            };
            match answer(trace) {
                Some(what) if *reason == crate::engine::trace::DropReason::TtlExceeded => (
                    "Out of TTL",
                    format!(
                        "After {n} steps the packet's TTL ran out in {ns}; it answered with {what}."
                    ),
                ),
                Some(what) => (
                    "Refused",
                    format!(
                        "After {n} steps {ns} refused the packet{why}; it answered with {what}."
                    ),
                ),
                // The data goes all the same, in packets that fit.
                None if *reason == crate::engine::trace::DropReason::TooBig => (
                    "Too big",
                    format!("After {n} steps: the packet is larger than the MTU of {ns}'s way out, and {ns} does not send it as one packet. Its data goes in packets that fit; the last step says how."),
                ),
                None => (
                    "Dropped",
                    format!("After {n} steps the packet was dropped in {ns}{why}."),
                ),
            }
        }
        Verdict::Left { ns, dev, next_hop } => {
            let note = match trace.steps.last().map(|s| &s.kind) {
                Some(StepKind::Exit { note: Some(n), .. }) => format!(" {n}."),
                _ => String::new(),
            };
            (
                "Left the scenario",
                format!(
                    "After {n} steps {ns} sent the packet out of {dev} toward {next_hop}, which this scenario does not model.{note}"
                ),
            )
        }
    }
}

/// The rule or policy that dropped the packet, and the rule's comment,
/// as a clause (` by rule 1 of filter KUBE-EXTERNAL-SERVICES (line 34),
/// commented "ms-test/flask-ui:http has no local endpoints"`), from the
/// step that decided it; empty when netfilter did not drop it.
fn decided_by(trace: &Trace) -> String {
    let n = trace.steps.len();
    let (Some(StepKind::Drop { reason, .. }), Some(before)) = (
        trace.steps.last().map(|s| &s.kind),
        n.checked_sub(2).map(|i| &trace.steps[i].kind),
    ) else {
        return String::new();
    };
    if !matches!(reason, DropReason::Filtered | DropReason::Rejected) {
        return String::new();
    }
    let at = |line: usize| {
        if line > 0 {
            format!(" (line {line})")
        } else {
            String::new()
        }
    };
    match before {
        StepKind::RuleMatch {
            table, chain, rule, ..
        } => {
            let words = crate::engine::lex::words(&rule.text).unwrap_or_default();
            let comment = (words.windows(2))
                .find(|w| w[0].text == "--comment")
                .map(|w| format!(", commented \"{}\"", w[1].text))
                .unwrap_or_default();
            format!(
                " by rule {} of {table} {chain}{}{comment}",
                rule.index,
                at(rule.line)
            )
        }
        StepKind::Policy {
            table,
            chain,
            policy,
            line,
        } => format!(" by the policy {policy} of {table} {chain}{}", at(*line)),
        _ => String::new(),
    }
}

/// Whether the walk ended in a drop that answered the sender.
pub fn refused(trace: &Trace) -> bool {
    answer(trace).is_some()
}

/// How a packet dropped for `reason` ended, in a word or two (the packet
/// list's tag, the picture's mark): `answered`, when the drop answered
/// the sender.
pub fn drop_word(reason: crate::engine::trace::DropReason, answered: bool) -> &'static str {
    use crate::engine::trace::DropReason;
    match reason {
        DropReason::TtlExceeded => "out of TTL",
        // Its sender's kernel sends the data in packets that fit.
        DropReason::TooBig => "too big",
        _ if answered => "refused",
        _ => "dropped",
    }
}

/// What a drop answered the sender with (`ICMP port-unreachable to
/// 192.168.11.200`, `TCP RST to …`), when it answered.
fn answer(trace: &Trace) -> Option<String> {
    match &trace.steps.last()?.kind {
        StepKind::Drop {
            response: Some(r), ..
        } => Some(crate::engine::render::response_name(r)),
        _ => None,
    }
}

/// The namespaces the packet crossed, in order, without repeats in a row.
pub fn path(trace: &Trace) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &trace.steps {
        if out.last() != Some(&s.ns) {
            out.push(s.ns.clone());
        }
    }
    out
}

/// A host's devices for the host list: `ens33 192.168.11.58/24`, or the
/// device kind for devices without addresses (Calico's `cali…` veths:
/// `cali71ca141a178 (veth)`).
/// Loopback is left out.
pub fn device_lines(h: &Host) -> Vec<String> {
    h.devices
        .iter()
        .filter(|d| d.kind != DeviceKind::Loopback)
        .map(|d| {
            if d.addrs.is_empty() {
                let kind = match &d.kind {
                    DeviceKind::Veth { .. } => "veth",
                    DeviceKind::Ipip => "ipip",
                    DeviceKind::Vxlan { .. } => "vxlan",
                    DeviceKind::Bridge { .. } => "bridge",
                    DeviceKind::Ethernet { .. } => "ethernet",
                    DeviceKind::Loopback => "loopback",
                };
                format!("{} ({kind})", d.name)
            } else {
                let addrs: Vec<String> = d.addrs.iter().map(|a| a.to_string()).collect();
                format!("{} {}", d.name, addrs.join(", "))
            }
        })
        .collect()
}

/// A host's VXLAN entries as `ip neigh` and `bridge fdb` print them
/// (`10.244.1.0 dev flannel.1 lladdr 0e:7a:… PERMANENT`).
pub fn vxlan_lines(h: &Host) -> Vec<String> {
    let mut out = Vec::new();
    for d in &h.devices {
        if let DeviceKind::Vxlan {
            vni,
            port,
            local,
            neigh,
            fdb,
            ..
        } = &d.kind
        {
            out.push(format!(
                "# {}: VXLAN id {vni}, UDP {port}, local {local}",
                d.name
            ));
            for n in neigh {
                out.push(format!(
                    "{} dev {} lladdr {} PERMANENT",
                    n.ip, d.name, n.lladdr
                ));
            }
            for f in fdb {
                out.push(format!(
                    "{} dev {} dst {} self permanent",
                    f.lladdr, d.name, f.dst
                ));
            }
        }
    }
    out
}

/// One header field as the header view shows it: its value at the selected
/// step and, when the step changed it, the value before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderField {
    pub name: &'static str,
    pub value: String,
    pub old: Option<String>,
}

/// The fields of one VXLAN encapsulation layer.
type VxlanFields = fn(&VxlanEncap) -> Vec<(&'static str, String)>;

/// One header of the packet (outer IPv4, IPv4, TCP, …, and the kernel's
/// metadata), outermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderLayer {
    pub title: String,
    /// `network`, `transport` or `metadata`: the article's point is which
    /// layer a step touches.
    pub layer: &'static str,
    pub fields: Vec<HeaderField>,
    /// The header was added by this step (encapsulation).
    pub added: bool,
}

fn ip_fields(h: &crate::engine::packet::Ipv4Header) -> Vec<(&'static str, String)> {
    let proto = match h.protocol {
        Proto::Ipip => "4 (IPIP)".to_string(),
        p => p.to_string(),
    };
    vec![
        ("src", h.src.to_string()),
        ("dst", h.dst.to_string()),
        ("ttl", h.ttl.to_string()),
        ("protocol", proto),
        ("id", format!("{:#06x}", h.id)),
        ("length", h.total_len.to_string()),
        // Don't Fragment: whether a router may cut it up (MTUs).
        (
            "don't fragment",
            if h.df { "yes" } else { "no" }.to_string(),
        ),
    ]
}

fn transport_layer(p: &Packet) -> Option<(String, Vec<(&'static str, String)>)> {
    use crate::engine::packet::Transport;
    Some(match &p.transport {
        Transport::Tcp {
            src_port,
            dst_port,
            flags,
            seq,
            ack,
        } => (
            "TCP".into(),
            vec![
                ("sport", src_port.to_string()),
                ("dport", dst_port.to_string()),
                ("flags", flags.to_string()),
                ("seq", seq.to_string()),
                ("ack", ack.to_string()),
            ],
        ),
        Transport::Udp { src_port, dst_port } => (
            "UDP".into(),
            vec![
                ("sport", src_port.to_string()),
                ("dport", dst_port.to_string()),
            ],
        ),
        Transport::Icmp {
            icmp_type,
            code,
            id,
            seq,
            quoted,
        } => {
            use crate::engine::packet::icmp;
            let mut fields = vec![
                (
                    "type",
                    format!("{icmp_type} ({})", icmp::type_name(*icmp_type)),
                ),
                (
                    "code",
                    match icmp::is_error(*icmp_type) {
                        true => format!("{code} ({})", icmp::code_name(*icmp_type, *code)),
                        false => code.to_string(),
                    },
                ),
            ];
            // An error has no identifier or sequence: it quotes a packet.
            if quoted.is_none() {
                fields.push(("id", id.to_string()));
                fields.push(("seq", seq.to_string()));
            } else if (*icmp_type, *code) == (icmp::DEST_UNREACH, icmp::FRAG_NEEDED) {
                // Except fragmentation needed's MTU (RFC 1191).
                fields.push(("next-hop mtu", seq.to_string()));
            }
            ("ICMP".into(), fields)
        }
        Transport::None => return None,
    })
}

/// The header an ICMP error quotes: the packet it is about, as NAT on the
/// way back rewrites it.
fn quoted_fields(p: &Packet) -> Option<Vec<(&'static str, String)>> {
    use crate::engine::packet::{icmp, Transport};
    let Transport::Icmp {
        quoted: Some(q), ..
    } = &p.transport
    else {
        return None;
    };
    let mut f = vec![
        ("src", q.ip.src.to_string()),
        ("dst", q.ip.dst.to_string()),
        ("protocol", q.ip.protocol.to_string()),
    ];
    if q.ip.protocol == Proto::Icmp {
        let (t, code) = icmp::type_code(q.dst_port);
        f.push(("type", format!("{t} ({})", icmp::name(t, code))));
        f.push(("id", q.src_port.to_string()));
    } else {
        f.push(("sport", q.src_port.to_string()));
        f.push(("dport", q.dst_port.to_string()));
    }
    Some(f)
}

fn meta_fields(p: &Packet) -> Vec<(&'static str, String)> {
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "–".into());
    let mark = ("mark", format!("{:#x}", p.mark));
    let (i, o) = (("in", dash(&p.iif)), ("out", dash(&p.oif)));
    // Through a bridge (Flannel's cni0): the ports -m physdev tests, each
    // under its device (two columns), the mark last.
    if p.physin.is_some() {
        return vec![
            i,
            o,
            ("physdev in", dash(&p.physin)),
            ("physdev out", dash(&p.physout)),
            mark,
        ];
    }
    vec![mark, i, o]
}

/// Pairs fields with the same fields before the step, keeping the old value
/// of each one that changed. `before` is `None` when the header is new.
fn diff_fields(
    now: Vec<(&'static str, String)>,
    before: Option<Vec<(&'static str, String)>>,
) -> Vec<HeaderField> {
    now.into_iter()
        .map(|(name, value)| {
            let old = before.as_ref().and_then(|b| {
                b.iter()
                    .find(|(n, _)| *n == name)
                    .filter(|(_, v)| *v != value)
                    .map(|(_, v)| v.clone())
            });
            HeaderField { name, value, old }
        })
        .collect()
}

/// What a tunnel's outer IPv4 header is called: `IPIP`, `VXLAN`.
fn tunnel_kind(o: &crate::engine::packet::Ipv4Header) -> &'static str {
    if o.protocol == Proto::Ipip {
        "IPIP"
    } else if o.vxlan.is_some() {
        "VXLAN"
    } else {
        "tunnel"
    }
}

/// The outer headers a step took off (decapsulation), outermost first, in
/// words: `Outer IPv4 (IPIP) 192.168.11.58 → 192.168.11.54`.
pub fn removed_outer(prev: Option<&Packet>, cur: &Packet) -> Vec<String> {
    let Some(p) = prev else {
        return Vec::new();
    };
    let gone = p.outer.len().saturating_sub(cur.outer.len());
    p.outer[..gone]
        .iter()
        .map(|o| {
            let mut s = format!("Outer IPv4 ({}) {} → {}", tunnel_kind(o), o.src, o.dst);
            if let Some(v) = &o.vxlan {
                s.push_str(&format!(
                    ", with its Ethernet, UDP {} → {} and VXLAN (VNI {}) headers",
                    v.src_port, v.dst_port, v.vni
                ));
            }
            s
        })
        .collect()
}

/// The packet at a step as layered headers, each field with its value
/// before the step when the step changed it.
pub fn header_layers(prev: Option<&Packet>, cur: &Packet) -> Vec<HeaderLayer> {
    let mut out = Vec::new();
    let n_before = prev.map_or(0, |p| p.outer.len());
    for (i, o) in cur.outer.iter().enumerate() {
        // Outer headers are matched from the inside out, so that a header
        // added in front is the new one.
        let from_inner = cur.outer.len() - i;
        let before = prev
            .filter(|_| from_inner <= n_before)
            .map(|p| ip_fields(&p.outer[p.outer.len() - from_inner]));
        let added = prev.is_some() && before.is_none();
        if let Some(v) = o.vxlan.as_ref().filter(|v| !v.outer_src_mac.is_empty()) {
            out.push(HeaderLayer {
                title: "Outer Ethernet".into(),
                layer: "link",
                fields: diff_fields(
                    vec![
                        ("src", v.outer_src_mac.clone()),
                        ("dst", v.outer_dst_mac.clone()),
                    ],
                    None,
                ),
                added,
            });
        }
        out.push(HeaderLayer {
            title: format!("Outer IPv4 ({})", tunnel_kind(o)),
            layer: "network",
            fields: diff_fields(ip_fields(o), before),
            added,
        });
        if let Some(v) = &o.vxlan {
            let prev_v = prev
                .filter(|_| from_inner <= n_before)
                .and_then(|p| p.outer[p.outer.len() - from_inner].vxlan.clone());
            let layers: [(&str, &'static str, VxlanFields); 3] = [
                ("Outer UDP", "transport", |v| {
                    vec![
                        ("sport", v.src_port.to_string()),
                        ("dport", v.dst_port.to_string()),
                    ]
                }),
                ("VXLAN", "network", |v| vec![("vni", v.vni.to_string())]),
                ("Inner Ethernet", "link", |v| {
                    vec![
                        ("src", v.inner_src_mac.clone()),
                        ("dst", v.inner_dst_mac.clone()),
                    ]
                }),
            ];
            for (title, layer, f) in layers {
                out.push(HeaderLayer {
                    title: title.into(),
                    layer,
                    fields: diff_fields(f(v), prev_v.as_deref().map(f)),
                    added,
                });
            }
        }
    }
    out.push(HeaderLayer {
        title: if cur.outer.is_empty() {
            "IPv4".into()
        } else {
            "Inner IPv4".into()
        },
        layer: "network",
        fields: diff_fields(ip_fields(&cur.ip), prev.map(|p| ip_fields(&p.ip))),
        added: false,
    });
    if let Some((title, fields)) = transport_layer(cur) {
        let before = prev
            .and_then(transport_layer)
            .filter(|(t, _)| *t == title)
            .map(|(_, f)| f);
        // ICMP is IP's own (RFC 792), at the network layer.
        let layer = if title.starts_with("ICMP") {
            "network"
        } else {
            "transport"
        };
        out.push(HeaderLayer {
            title,
            layer,
            fields: diff_fields(fields, before),
            added: false,
        });
    }
    if let Some(fields) = quoted_fields(cur) {
        out.push(HeaderLayer {
            title: "Quoted: the packet it is about".into(),
            layer: "network",
            fields: diff_fields(fields, prev.and_then(quoted_fields)),
            added: false,
        });
    }
    out.push(HeaderLayer {
        title: "Kernel metadata (skb)".into(),
        layer: "metadata",
        fields: diff_fields(meta_fields(cur), prev.map(meta_fields)),
        added: false,
    });
    out
}

/// What kind of event a step is, for the event list's filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventClass {
    /// Rules evaluated without a match.
    Skip,
    /// The walk through the chains: a hook or chain entered, a chain's
    /// end returning, a built-in chain's ACCEPT policy (a DROP one is a
    /// verdict, always shown).
    Walk,
    Conntrack,
    Routing,
    /// Devices, ARP, tunnels.
    Device,
    /// Chains, matches, NAT, marks, verdicts: always shown.
    Netfilter,
    /// Send, deliver, drop: always shown.
    Endpoint,
}

impl EventClass {
    pub fn of(step: &Step) -> EventClass {
        match &step.kind {
            StepKind::RulesSkipped { .. } => EventClass::Skip,
            StepKind::Chain { .. } | StepKind::Return { .. } => EventClass::Walk,
            StepKind::Policy { policy, .. } if policy == "ACCEPT" => EventClass::Walk,
            StepKind::Conntrack(_) | StepKind::NatSkipped { .. } => EventClass::Conntrack,
            // A bridge switching a frame is the decision a route would
            // have made: shown and hidden with the routing steps.
            StepKind::Route { .. }
            | StepKind::Ttl { .. }
            | StepKind::Fragment { .. }
            | StepKind::Redirect { .. }
            | StepKind::Bridge { .. } => EventClass::Routing,
            StepKind::Receive { .. }
            | StepKind::Transmit { .. }
            | StepKind::Arp { .. }
            | StepKind::Encap { .. }
            | StepKind::Decap { .. }
            | StepKind::Exit { .. } => EventClass::Device,
            StepKind::Send { .. } | StepKind::Deliver { .. } | StepKind::Drop { .. } => {
                EventClass::Endpoint
            }
            _ => EventClass::Netfilter,
        }
    }

    /// Whether a filter may hide this class.
    pub fn hideable(self) -> bool {
        matches!(
            self,
            EventClass::Skip
                | EventClass::Walk
                | EventClass::Conntrack
                | EventClass::Routing
                | EventClass::Device
        )
    }
}

/// Which classes the event list hides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub hide_skips: bool,
    /// Hides chain entries, returns and ACCEPT policies (the matched
    /// rules still say which chain they are in).
    pub hide_walk: bool,
    pub hide_conntrack: bool,
    pub hide_routing: bool,
    pub hide_devices: bool,
    /// An exercise (Packet Tracer's simulation mode): a packet's steps
    /// are listed as far as the learner has stepped, and its outcome shows
    /// at its last step.
    pub exercise: bool,
}

impl Filters {
    pub fn shows(&self, step: &Step) -> bool {
        match EventClass::of(step) {
            EventClass::Skip => !self.hide_skips,
            EventClass::Walk => !self.hide_walk,
            EventClass::Conntrack => !self.hide_conntrack,
            EventClass::Routing => !self.hide_routing,
            EventClass::Device => !self.hide_devices,
            _ => true,
        }
    }

    /// The view a link keeps beside the packets: the hidden classes
    /// (`s`kips, chain `w`alk, `c`onntrack, `r`outing, `d`evices) and the editors' tabs
    /// (`C`hains for the rules, `T`able for `route -n`). `None`: the
    /// page's defaults.
    pub fn view_code(&self, chains: bool, route_n: bool) -> Option<String> {
        let flags = [
            (self.hide_skips, 's'),
            (self.hide_walk, 'w'),
            (self.hide_conntrack, 'c'),
            (self.hide_routing, 'r'),
            (self.hide_devices, 'd'),
            (self.exercise, 'x'),
            (chains, 'C'),
            (route_n, 'T'),
        ];
        let code: String = flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| *c)
            .collect();
        (!code.is_empty()).then_some(code)
    }

    /// [`Filters::view_code`] read back: the filters, and whether the
    /// editors show the chains and `route -n` tables. Unknown letters are
    /// ignored.
    pub fn from_view_code(code: &str) -> (Filters, bool, bool) {
        let has = |c: char| code.contains(c);
        let f = Filters {
            hide_skips: has('s'),
            hide_walk: has('w'),
            hide_conntrack: has('c'),
            hide_routing: has('r'),
            hide_devices: has('d'),
            exercise: has('x'),
        };
        (f, has('C'), has('T'))
    }

    /// The steps shown, by index.
    pub fn visible(&self, trace: &Trace) -> Vec<usize> {
        (0..trace.steps.len())
            .filter(|&i| self.shows(&trace.steps[i]))
            .collect()
    }
}

/// Where stepping goes from `at` among the `visible` steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    First,
    Back,
    Forward,
    Last,
}

pub fn step_to(visible: &[usize], at: usize, m: Move) -> usize {
    let (Some(&first), Some(&last)) = (visible.first(), visible.last()) else {
        return at;
    };
    match m {
        Move::First => first,
        Move::Last => last,
        Move::Forward => visible.iter().copied().find(|&i| i > at).unwrap_or(last),
        Move::Back => visible
            .iter()
            .rev()
            .copied()
            .find(|&i| i < at)
            .unwrap_or(first),
    }
}

/// The next shown step after `at` that changes the packet (a header
/// field, a tunnel header, the mark, an interface: the NAT, each hop, the
/// encapsulation), or the last step: what a demonstration steps through
/// without the rules that did not match. `at` when there is none.
pub fn next_change(trace: &Trace, visible: &[usize], at: usize) -> usize {
    let changes = |i: usize| {
        i + 1 == trace.steps.len()
            || i.checked_sub(1)
                .is_some_and(|p| trace.steps[p].packet != trace.steps[i].packet)
    };
    (visible.iter().copied())
        .filter(|&i| i > at && i < trace.steps.len())
        .find(|&i| changes(i))
        .unwrap_or(at)
}

/// The rule a step points at, for highlighting it in the editor: host,
/// table, chain, position from 1 and line in the text.
pub fn step_rule(step: &Step) -> Option<(crate::engine::iptables::TableName, &str, usize, usize)> {
    match &step.kind {
        // A chain's policy: its declaration's line (position 0).
        StepKind::Policy {
            table, chain, line, ..
        } if *line > 0 => Some((*table, chain.as_str(), 0, *line)),
        StepKind::RuleMatch {
            table, chain, rule, ..
        } => Some((*table, chain.as_str(), rule.index, rule.line)),
        // DNAT/SNAT/MASQUERADE are nat rules; the chain is not in the step.
        StepKind::Nat {
            rule: Some(rule), ..
        } => Some((
            crate::engine::iptables::TableName::Nat,
            "",
            rule.index,
            rule.line,
        )),
        _ => None,
    }
}

/// [`step_rule`] of step `i` of `t`; a drop or reject by a rule points at
/// the rule that matched just before it.
pub fn rule_at(
    t: &Trace,
    i: usize,
) -> Option<(crate::engine::iptables::TableName, &str, usize, usize)> {
    let st = t.steps.get(i)?;
    match &st.kind {
        StepKind::Drop { .. } => t
            .steps
            .get(i.checked_sub(1)?)
            .filter(|p| p.ns == st.ns)
            .and_then(step_rule),
        _ => step_rule(st),
    }
}

/// The line of the route a routing step chose (0 for the local table),
/// or of the `ip rule` that ended the lookup without one.
pub fn step_route_line(step: &Step) -> Option<usize> {
    match &step.kind {
        StepKind::Route {
            candidates, rules, ..
        } => (candidates.iter().find(|c| c.chosen).map(|c| c.line))
            .or_else(|| rules.last().filter(|r| r.decided()).map(|r| r.line)),
        _ => None,
    }
}

/// `1 error`, `3 errors`; at the parsers' limit, `200 errors or more`
/// (they stop counting there).
pub fn error_count(n: usize) -> String {
    if n >= crate::engine::error::MAX_ERRORS {
        format!("{n} errors or more")
    } else {
        plural(n, "error")
    }
}

/// `1 error`, `3 errors`.
/// Seconds in words: `45 s`, `2 min 5 s`, `1 h 30 min`, `5 d`.
pub fn duration(secs: u32) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "min"), (s, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n} {u}"))
        .collect();
    if parts.is_empty() {
        "0 s".into()
    } else {
        parts.join(" ")
    }
}

pub fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// An `iptables` command to show as an example on a host's command line:
/// one that drops, where a node forwards it, what the packet of `trace`
/// was last sent to (the article's pod, after the DNAT), so that trying it
/// shows a drop; without a packet, one that needs none.
pub fn example_command(trace: Option<&Trace>) -> String {
    match trace.and_then(|t| t.steps.last()) {
        Some(s) => format!("-I FORWARD 1 -d {}/32 -j DROP", s.packet.ip.dst),
        None => "-I INPUT 1 -p icmp -j DROP".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A time exceeded's quoted packet reads as the echo request it was
    /// (its tuple key, 256 × type + code, is 2048).
    #[test]
    fn a_quoted_echo_reads_as_an_echo_request() {
        use crate::engine::sim::{send, SendSpec, SimState};
        let sc = crate::engine::scenario::builtin("article").unwrap();
        let mut w = crate::engine::World::build(&sc).unwrap();
        let mut s = SimState::new(&w);
        let mut spec = SendSpec::new("client:192.168.11.200", "10.96.100.10", Proto::Icmp);
        spec.ttl = Some(1);
        let t = send(&mut w, &mut s, &spec).unwrap();
        let answer = match &t.steps.last().unwrap().kind {
            StepKind::Drop {
                response: Some(p), ..
            } => (**p).clone(),
            k => panic!("no answer: {k:?}"),
        };
        let fields = quoted_fields(&answer).unwrap();
        assert!(
            fields.contains(&("type", "8 (echo-request)".to_string())),
            "{fields:?}"
        );
    }

    #[test]
    fn durations_read_in_units() {
        for (secs, said) in [
            (0, "0 s"),
            (45, "45 s"),
            (125, "2 min 5 s"),
            (5400, "1 h 30 min"),
            (432_000, "5 d"),
            (90_061, "1 d 1 h 1 min 1 s"),
        ] {
            assert_eq!(duration(secs), said);
        }
    }

    /// A link's view code comes back as it went, and the defaults are none.
    #[test]
    fn view_codes_round_trip() {
        assert_eq!(Filters::default().view_code(false, false), None);
        let f = Filters {
            hide_conntrack: true,
            hide_devices: true,
            ..Filters::default()
        };
        let code = f.view_code(true, false).unwrap();
        assert_eq!(code, "cdC");
        let walk = Filters {
            hide_walk: true,
            ..Filters::default()
        };
        assert_eq!(Filters::from_view_code("w").0, walk);
        assert_eq!(Filters::from_view_code(&code), (f, true, false));
        // An exercise travels in links as 'x'.
        let exercise = Filters {
            exercise: true,
            hide_skips: true,
            ..Filters::default()
        };
        assert_eq!(exercise.view_code(false, false).as_deref(), Some("sx"));
        assert_eq!(Filters::from_view_code("sx").0, exercise);
        assert_eq!(
            Filters::from_view_code("zT"),
            (Filters::default(), false, true)
        );
    }

    fn article() -> Trace {
        preset("article")
    }

    fn preset(name: &str) -> Trace {
        let sc = scenario::builtin(name).unwrap();
        let mut w = World::build(&sc).unwrap();
        let mut st = SimState::new(&w);
        send(&mut w, &mut st, &sc.preset.unwrap().to_spec()).unwrap()
    }

    /// A drop that answers the sender is "Refused", with the answer; a
    /// silent one is "Dropped"; one its sender's kernel would cut up is
    /// "Too big".
    #[test]
    fn a_rejected_packet_is_refused_a_blackholed_one_dropped() {
        let sc = scenario::builtin("article").unwrap();
        let mut w = World::build(&sc).unwrap();
        let mut st = SimState::new(&w);
        let pod = "curl-7d4b9c6f5-qm2lx";
        let reject = SendSpec::new(pod, "10.96.45.12:5000", crate::engine::packet::Proto::Tcp);
        let t = send(&mut w, &mut st, &reject).unwrap();
        let (head, words) = verdict_words(&t);
        assert_eq!(head, "Refused", "{words}");
        assert_eq!(
            words,
            "After 26 steps node8 refused the packet by rule 1 of filter KUBE-SERVICES (line 27), commented \"ms-test/flask-api:http has no endpoints\"; it answered with ICMP port-unreachable to 172.16.225.101."
        );
        let silent = SendSpec::new(pod, "172.16.225.99:80", crate::engine::packet::Proto::Tcp);
        let t = send(&mut w, &mut st, &silent).unwrap();
        assert_eq!(verdict_words(&t).0, "Dropped");
        // Larger than curl's MTU: its kernel sends the datagram in fragments.
        let mut big = SendSpec::new(pod, "172.16.225.112:53", crate::engine::packet::Proto::Udp);
        big.payload_len = 1500;
        let t = send(&mut w, &mut st, &big).unwrap();
        assert_eq!(
            verdict_words(&t),
            ("Too big", format!("After {} steps: the packet is larger than the MTU of {pod}'s way out, and {pod} does not send it as one packet. Its data goes in packets that fit; the last step says how.", t.steps.len()))
        );
    }

    /// "Next change" walks the article's packet hop by hop: each stop
    /// changes the packet, the DNAT is one of the first few, none of the
    /// 20-odd chain and rule steps before it is a stop, and the last stop
    /// is the delivery.
    fn stops_of(t: &Trace) -> Vec<usize> {
        let all: Vec<usize> = (0..t.steps.len()).collect();
        let mut stops = vec![0];
        loop {
            let at = *stops.last().unwrap();
            let to = next_change(t, &all, at);
            if to == at {
                return stops;
            }
            stops.push(to);
        }
    }

    #[test]
    fn next_change_stops_where_the_packet_changes() {
        let t = article();
        let stops = stops_of(&t);
        let kinds: Vec<String> = stops
            .iter()
            .map(|&i| crate::engine::render::summary(&t.steps[i]))
            .collect();
        // From the first step: the client's route (out eth0), node8's
        // receive (in ens33), the masquerade mark, then the DNAT: the
        // README's fourth stop.
        let dnat = kinds
            .iter()
            .position(|k| k.starts_with("DNAT destination 10.96.100.10:80 → 172.16.225.112:80"));
        assert_eq!(dnat, Some(4), "{kinds:#?}");
        assert!(
            kinds[1].starts_with("output lookup for 10.96.100.10"),
            "{kinds:#?}"
        );
        // Each hop's change, and nothing else: the routes' output devices,
        // the marks, the two NATs, the TTL, the receives, the delivery.
        let expected = [
            "a program on client",
            "output lookup for 10.96.100.10",
            "received on ens33 from client/eth0",
            "set to 0x4000 (was 0x0)",
            "DNAT destination 10.96.100.10:80 → 172.16.225.112:80",
            "input lookup for 172.16.225.112",
            "TTL 64 → 63",
            "set to 0x0 (was 0x4000)",
            "MASQUERADE source 192.168.11.200:",
            "received on eth0 from node8/cali71ca141a178",
            "delivered to tcp listening on 0.0.0.0:80",
        ];
        assert_eq!(kinds.len(), expected.len(), "{kinds:#?}");
        for (k, e) in kinds.iter().zip(expected) {
            assert!(k.starts_with(e), "{k} / {e}");
        }
        // The IPIP encapsulation and node54's receive of it are stops.
        let t = preset("article-remote");
        let on_lan = stops_of(&t)
            .into_iter()
            .map(|i| crate::engine::render::summary(&t.steps[i]))
            .collect::<Vec<_>>();
        let at = |what: &str| on_lan.iter().position(|k| k.starts_with(what));
        let (encap, received) = (
            at("tunl0 encapsulates"),
            at("received on ens33 from node8/ens33"),
        );
        assert!(encap.is_some() && encap < received, "{on_lan:#?}");
    }

    #[test]
    fn dnat_step_shows_the_new_destination_with_the_old_one() {
        let t = article();
        let i = t
            .steps
            .iter()
            .position(|s| matches!(s.kind, StepKind::Nat { .. }))
            .unwrap();
        let layers = header_layers(Some(&t.steps[i - 1].packet), &t.steps[i].packet);
        let ip = &layers[0];
        assert_eq!(ip.title, "IPv4");
        let dst = ip.fields.iter().find(|f| f.name == "dst").unwrap();
        assert_eq!(
            (dst.value.as_str(), dst.old.as_deref()),
            ("172.16.225.112", Some("10.96.100.10"))
        );
        let tcp = &layers[1];
        let dport = tcp.fields.iter().find(|f| f.name == "dport").unwrap();
        assert_eq!((dport.value.as_str(), dport.old.as_deref()), ("80", None));
        // Nothing else changed.
        let changed: Vec<&str> = layers
            .iter()
            .flat_map(|l| &l.fields)
            .filter(|f| f.old.is_some())
            .map(|f| f.name)
            .collect();
        assert_eq!(changed, ["dst"]);
    }

    /// A row's label and the words after it never say the same word
    /// twice: the article's DNAT, MASQUERADE and a matched rule, as the
    /// step list shows them.
    #[test]
    fn a_rows_words_do_not_repeat_its_label() {
        let sc = scenario::builtin("article-remote").unwrap();
        let mut w = World::build(&sc).unwrap();
        let mut st = SimState::new(&w);
        let t = send(&mut w, &mut st, &sc.preset.unwrap().to_spec()).unwrap();
        let rows: Vec<String> = (t.steps.iter())
            .filter_map(|s| {
                let kind = RowKind::of(s);
                let (_, label) = kind.label()?;
                Some(format!(
                    "{label} | {}",
                    kind.after_label(crate::engine::render::summary(s))
                ))
            })
            .collect();
        for want in [
            "DNAT | destination 10.96.100.10:80 → 172.16.3.70:80 by rule 2",
            "match | rule 2: -A KUBE-SEP-RYRWZACDTG7E36MG -p tcp",
        ] {
            assert!(
                rows.iter().any(|r| r.starts_with(want)),
                "{want}: {rows:#?}"
            );
        }
        assert!(
            rows.iter()
                .any(|r| r.starts_with("MASQUERADE | source 192.168.11.200:")),
            "{rows:#?}"
        );
        // A label's word never begins the words after it.
        for r in &rows {
            let (label, rest) = r.split_once(" | ").unwrap();
            let first = rest.split(' ').next().unwrap();
            assert!(
                !first.eq_ignore_ascii_case(label) && !label.starts_with(first),
                "{r}"
            );
        }
    }

    #[test]
    fn ipip_encapsulation_adds_an_outer_header() {
        let sc = scenario::builtin("article-remote").unwrap();
        let mut w = World::build(&sc).unwrap();
        let mut st = SimState::new(&w);
        let t = send(&mut w, &mut st, &sc.preset.unwrap().to_spec()).unwrap();
        let i = t
            .steps
            .iter()
            .position(|s| matches!(s.kind, StepKind::Encap { .. }))
            .unwrap();
        let layers = header_layers(Some(&t.steps[i - 1].packet), &t.steps[i].packet);
        assert_eq!(layers[0].title, "Outer IPv4 (IPIP)");
        assert!(layers[0].added);
        assert_eq!(layers[1].title, "Inner IPv4");
        assert!(layers[1].fields.iter().all(|f| f.old.is_none()));
        assert!(removed_outer(Some(&t.steps[i - 1].packet), &t.steps[i].packet).is_empty());
        // node54 takes the outer header off, and says which it was.
        let d = t
            .steps
            .iter()
            .position(|s| matches!(s.kind, StepKind::Decap { .. }))
            .unwrap();
        assert_eq!(
            removed_outer(Some(&t.steps[d - 1].packet), &t.steps[d].packet),
            ["Outer IPv4 (IPIP) 192.168.11.58 → 192.168.11.54"]
        );
        let layers = header_layers(Some(&t.steps[d - 1].packet), &t.steps[d].packet);
        assert_eq!(layers[0].title, "IPv4");
    }

    #[test]
    fn filters_and_stepping() {
        let t = article();
        let all = Filters::default().visible(&t);
        assert_eq!(all.len(), t.steps.len());
        let f = Filters {
            hide_skips: true,
            hide_walk: true,
            hide_conntrack: true,
            hide_routing: true,
            hide_devices: true,
            exercise: false,
        };
        let some = f.visible(&t);
        assert!(some.len() < all.len());
        assert!(some
            .iter()
            .all(|&i| !EventClass::of(&t.steps[i]).hideable()));
        let last = *some.last().unwrap();
        assert_eq!(step_to(&some, last, Move::Forward), last);
        assert_eq!(step_to(&some, 0, Move::Back), some[0]);
        let second = step_to(&some, some[0], Move::Forward);
        assert_eq!(second, some[1]);
        assert_eq!(step_to(&some, second, Move::Back), some[0]);
    }

    /// In a Calico cluster (Felix's chains, kube-proxy's) the chain walk is
    /// most of a trace: hiding it and the other filtered classes leaves the
    /// matched rules, NAT and verdicts, a fraction of the steps.
    #[test]
    fn hiding_the_chain_walk_shortens_a_calico_trace() {
        let sc = crate::engine::cni::builtin("calico-ipip").unwrap();
        let mut w = crate::engine::World::build(&sc).unwrap();
        let mut s = crate::engine::SimState::new(&w);
        let spec = sc.preset.clone().unwrap().to_spec();
        let t = crate::engine::send(&mut w, &mut s, &spec).unwrap();
        let others = Filters {
            hide_skips: true,
            hide_conntrack: true,
            hide_routing: true,
            hide_devices: true,
            ..Filters::default()
        };
        let all = Filters {
            hide_walk: true,
            ..others
        };
        let (before, after) = (others.visible(&t).len(), all.visible(&t).len());
        assert!(
            after * 2 < before,
            "{after} of {before} ({} steps)",
            t.steps.len()
        );
    }

    #[test]
    fn vxlan_entries_print_as_ip_neigh_and_bridge_fdb() {
        let sc = scenario::builtin("flannel-vxlan").unwrap();
        let node8 = sc.host("node8").unwrap();
        let lines = vxlan_lines(node8);
        assert_eq!(
            lines[0],
            "# flannel.1: VXLAN id 1, UDP 8472, local 192.168.11.58"
        );
        assert!(
            lines.contains(
                &"10.244.1.0 dev flannel.1 lladdr 0e:7a:c0:a8:0b:36 PERMANENT".to_string()
            ),
            "{lines:?}"
        );
        assert!(
            lines.contains(
                &"0e:7a:c0:a8:0b:36 dev flannel.1 dst 192.168.11.54 self permanent".to_string()
            ),
            "{lines:?}"
        );
    }

    /// The command line's example drops the address the packet was last
    /// sent to, after its DNAT, in each article scenario (the remote
    /// one's pod is on node54); without a packet, one that needs none.
    #[test]
    fn the_example_command_drops_the_packets_endpoint() {
        use crate::engine::sim::{send, SimState};
        for (name, says) in [
            ("article", "-I FORWARD 1 -d 172.16.225.112/32 -j DROP"),
            ("article-remote", "-I FORWARD 1 -d 172.16.3.70/32 -j DROP"),
        ] {
            let sc = crate::engine::scenario::builtin(name).unwrap();
            let mut w = crate::engine::World::build(&sc).unwrap();
            let mut s = SimState::new(&w);
            let t = send(&mut w, &mut s, &sc.preset.clone().unwrap().to_spec()).unwrap();
            assert_eq!(example_command(Some(&t)), says, "{name}");
        }
        assert_eq!(example_command(None), "-I INPUT 1 -p icmp -j DROP");
    }
}
