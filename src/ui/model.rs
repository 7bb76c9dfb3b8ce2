//! What the page shows, computed from the engine's output: the scenario, the
//! trace of its preset packet, and presentation helpers (row kinds, header
//! changes between steps, the verdict in words). No simulation happens here:
//! every decision comes from [`crate::engine`].

use crate::engine::packet::{Packet, Proto};
use crate::engine::scenario::{self, DeviceKind, Host, HostKind, Scenario};
use crate::engine::trace::{Endpoint, Layer, Step, StepKind, Trace, Verdict};
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
    Nat,
    Mark,
    Tunnel,
    Drop,
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
            StepKind::Nat { .. } => RowKind::Nat,
            StepKind::Mark { .. } => RowKind::Mark,
            StepKind::Encap { .. } | StepKind::Decap { .. } => RowKind::Tunnel,
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
            RowKind::Nat => "row-nat",
            RowKind::Mark => "row-mark",
            RowKind::Tunnel => "row-tunnel",
            RowKind::Drop => "row-drop",
            RowKind::Deliver => "row-deliver",
            RowKind::Exit => "row-exit",
            RowKind::Plain => "row-plain",
        }
    }

    /// The visible label and its decorative icon, if the row has one.
    pub fn label(self) -> Option<(&'static str, &'static str)> {
        match self {
            RowKind::Match => Some(("✓", "match")),
            RowKind::Nat => Some(("⇄", "NAT")),
            RowKind::Mark => Some(("✎", "mark")),
            RowKind::Tunnel => Some(("⊕", "tunnel")),
            RowKind::Drop => Some(("✕", "drop")),
            RowKind::Deliver => Some(("●", "delivered")),
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
    };
    let dst = |p: &Packet, ports: Option<(u16, u16)>| Endpoint {
        addr: p.ip.dst,
        port: ports.map(|x| x.1),
    };
    let (sb, sa) = (src(before, pb), src(after, pa));
    if sb != sa {
        out.push(format!("src {sb} → {sa}"));
    }
    let (db, da) = (dst(before, pb), dst(after, pa));
    if db != da {
        out.push(format!("dst {db} → {da}"));
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
pub fn verdict_words(trace: &Trace) -> (&'static str, String) {
    let n = trace.steps.len();
    match &trace.verdict {
        Verdict::Delivered { ns, socket } => (
            "Delivered",
            format!("After {n} steps the packet reached a socket in {ns}: {socket}."),
        ),
        Verdict::Dropped { ns, reason } => (
            "Dropped",
            format!("After {n} steps the packet was dropped in {ns}: {}.", reason.describe()),
        ),
        Verdict::Left { ns, dev, next_hop } => (
            "Left the scenario",
            format!(
                "After {n} steps {ns} sent the packet out of {dev} toward {next_hop}, which this scenario does not model."
            ),
        ),
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
