//! Words for trace steps: a stage label and a one-line summary per step,
//! and the plain-text table the CLI prints. The web UI shows the same words.

use crate::engine::decimal;
use crate::engine::packet::icmp;
use crate::engine::trace::{CtEvent, Entry, Lookup, Nud, Step, StepKind, Trace, Verdict};

/// Where in the stack a step happens (`nat PREROUTING`, `routing`, `device`).
pub fn stage(s: &Step) -> String {
    match &s.kind {
        // The kernel makes an ICMP error at the network layer.
        StepKind::Send { .. } if s.layer == crate::engine::trace::Layer::Network => "kernel".into(),
        StepKind::Send { .. } => "socket".into(),
        StepKind::Receive { .. } | StepKind::Transmit { .. } | StepKind::Exit { .. } => {
            "device".into()
        }
        StepKind::Arp { .. } => "neighbour".into(),
        StepKind::Bridge { .. } => "bridge".into(),
        StepKind::Chain { table, chain, .. } => format!("{table} {chain}"),
        StepKind::RuleMatch { table, chain, .. }
        | StepKind::RulesSkipped { table, chain, .. }
        | StepKind::Return { table, chain, .. }
        | StepKind::Policy { table, chain, .. }
        | StepKind::Statistic { table, chain, .. } => format!("{table} {chain}"),
        StepKind::Log { .. } => "log".into(),
        StepKind::Mark { .. } => "mark".into(),
        StepKind::CtMark { .. } => "connection mark".into(),
        StepKind::Nat { .. } => "nat".into(),
        StepKind::NatSkipped { hook } => format!("nat {hook}"),
        StepKind::Conntrack(_) => "conntrack".into(),
        StepKind::Route { .. } => "routing".into(),
        StepKind::Ttl { .. } | StepKind::Redirect { .. } | StepKind::Fragment { .. } => {
            "forward".into()
        }
        StepKind::Encap { .. } | StepKind::Decap { .. } => "tunnel".into(),
        StepKind::Deliver { .. } => "socket".into(),
        StepKind::Drop {
            reason: crate::engine::trace::DropReason::TtlExceeded,
            ..
        } => "out of TTL".into(),
        StepKind::Drop {
            response: Some(_), ..
        } => "refused".into(),
        // Not sent as one packet: its sender's kernel cuts it up.
        StepKind::Drop {
            reason: crate::engine::trace::DropReason::TooBig,
            ..
        } => "too big".into(),
        StepKind::Drop { .. } => "drop".into(),
    }
}

/// One line saying what happened.
pub fn summary(s: &Step) -> String {
    match &s.kind {
        StepKind::Send { note } => format!("{note}: {}", s.packet.summary()),
        StepKind::Receive { dev, from } => match from {
            Some(f) => format!("received on {dev} from {f}"),
            None => format!("received on {dev}"),
        },
        StepKind::Transmit { dev, next_hop } => match next_hop {
            Some(n) => format!("transmitted on {dev} toward {n}"),
            None => format!("transmitted on {dev}"),
        },
        StepKind::Arp {
            dev,
            target,
            answered_by,
            answered_too,
            proxy,
            cached,
        } => {
            let how = if *proxy { " by proxy ARP" } else { "" };
            let too = match answered_too.as_slice() {
                [] => String::new(),
                others => format!(" first; {} answered too, later", others.join(", ")),
            };
            match (cached, answered_by) {
                (Some(Nud::Reachable), Some(b)) => format!(
                    "cache has {target} on {dev}: {b}{how}, REACHABLE (answered lately): no ARP asked"
                ),
                (Some(Nud::Stale), Some(b)) => format!(
                    "cache has {target} on {dev}: {b}{how}, STALE: used at once, no ARP asked (after 5 s of DELAY, unicast probes check it)"
                ),
                (Some(Nud::Permanent), Some(b)) => format!(
                    "cache has {target} on {dev}: lladdr {b}, PERMANENT (the CNI's entry): no ARP asked"
                ),
                (Some(Nud::Failed), b) => format!(
                    "ARP who-has {target} on {dev}, asked anew (its entry FAILED: the probes went unanswered): {}",
                    b.as_ref().map_or("no answer".to_string(), |b| format!("{b} answers{how}{too}"))
                ),
                (_, Some(b)) => format!("ARP who-has {target} on {dev}: {b} answers{how}{too}"),
                (_, None) => format!("ARP who-has {target} on {dev}: no answer"),
            }
        }
        StepKind::Bridge {
            bridge,
            in_port,
            out_port,
            dst_changed,
        } => {
            let why = if *dst_changed {
                "PREROUTING rewrote the destination to a pod on this bridge"
            } else {
                "the frame is addressed to the pod there"
            };
            let back = if in_port == out_port { ", back out of the port it came in on (hairpin mode on)" } else { "" };
            format!("{bridge} switches the frame from {in_port} to {out_port}{back}: {why}; not routed, TTL kept")
        }
        StepKind::Chain {
            chain, entry, hook, ..
        } => match entry {
            Entry::Hook => format!("hook {hook}: chain {chain}"),
            Entry::Jump => format!("jump to {chain}"),
            Entry::Goto => format!("goto {chain}"),
        },
        StepKind::RuleMatch { rule, target, .. } => {
            format!("rule {} matches: {} → {target}", rule.index, rule.text)
        }
        StepKind::RulesSkipped {
            first,
            last,
            count,
            by_index,
            index_reason,
            reasons,
            ..
        } => {
            if *count == 1 && reasons.len() == 1 {
                let r = &reasons[0];
                return format!("rule {first} skipped: {} ({})", r.failed, r.reason);
            }
            let range = if first == last {
                format!("rule {first}")
            } else {
                format!("rules {first}-{last}")
            };
            let mut s = format!("{range}: {count} skipped");
            if *by_index > 0 {
                let why = index_reason
                    .as_deref()
                    .unwrap_or("ruled out by the chain index");
                s.push_str(&format!(" ({by_index}: {why})"));
            }
            let listed: Vec<String> = reasons
                .iter()
                .map(|r| format!("{}: {} ({})", r.index, r.failed, r.reason))
                .collect();
            if !listed.is_empty() {
                s.push_str(" — ");
                s.push_str(&listed.join("; "));
            }
            s
        }
        StepKind::Statistic {
            probability,
            draw,
            matched,
            forced,
            rule,
            ..
        } => format!(
            "rule {rule}: statistic random p={} draw={} → {}{}",
            decimal::short(*probability),
            decimal::fixed(*draw, 5),
            if *matched { "taken" } else { "not taken" },
            // Pinned either way; said when the draw would have done the same.
            match (*forced, (*draw < *probability) == *matched) {
                (true, true) => " (forced, as the draw has it)",
                (true, false) => " (forced)",
                _ => "",
            }
        ),
        StepKind::Return { chain, to, .. } => match to {
            Some(t) => format!("end of {chain}: return to {t}"),
            None => format!("end of {chain}"),
        },
        StepKind::Policy { chain, policy, .. } => format!("chain {chain} policy {policy}"),
        StepKind::Log { line } => format!("kernel log: {line}"),
        StepKind::Mark { old, new } => format!("set to {new:#x} (was {old:#x})"),
        StepKind::CtMark { old, new } => format!(
            "the connection's mark set to {new:#x} (was {old:#x}): conntrack -L lists mark={new}"
        ),
        StepKind::Nat {
            nat,
            before,
            after,
            rule,
        } => {
            let side = if matches!(
                nat,
                crate::engine::trace::NatKind::Dnat | crate::engine::trace::NatKind::Redirect
            ) {
                "destination"
            } else {
                "source"
            };
            let by = rule
                .as_ref()
                .map(|r| format!(" by rule {}", r.index))
                .unwrap_or_default();
            match nat {
                crate::engine::trace::NatKind::NullBinding => format!(
                    "source {before} → {after}: another connection holds the reply tuple, so conntrack's null binding moves the source {}",
                    if after.echo_id.is_some() { "echo identifier" } else { "port" }
                ),
                _ => format!("{} {side} {before} → {after}{by}", nat.name()),
            }
        }
        // (Inside a tunnel's outer header the connection is the outer
        // packet's, an ipencap one.)
        StepKind::NatSkipped { hook } => match &s.packet.transport {
            crate::engine::packet::Transport::Icmp {
                quoted: Some(_), ..
            } if s.packet.outer.is_empty() => format!("nat {hook} not consulted: an ICMP error follows its connection's NAT"),
            _ => format!("nat {hook} not consulted: not the first packet of the connection"),
        },
        StepKind::Conntrack(e) => match e {
            CtEvent::Lookup { tuple, state, .. } if state.contains("nothing is looked up") => {
                format!("{tuple} is {state}")
            }
            CtEvent::Lookup { tuple, state, .. } => format!("lookup: {tuple} is {state}"),
            CtEvent::Translate { before, after, .. } => {
                // The connection's NAT undone (a reply) or done again (a
                // later packet), named by what it rewrites.
                // Addresses with their ports; ICMP's "port" is the echo
                // id, which this NAT keeps, so it is left out.
                let ports = crate::engine::conntrack::has_ports(before.proto);
                let at = |a, p| match ports {
                    true => format!("{a}:{p}"),
                    false => format!("{a}"),
                };
                let mut parts = Vec::new();
                let (sb, sa) = (at(before.src, before.sport), at(after.src, after.sport));
                if sb != sa {
                    parts.push(format!("source {sb} → {sa}"));
                }
                let (db, da) = (at(before.dst, before.dport), at(after.dst, after.dport));
                if db != da {
                    parts.push(format!("destination {db} → {da}"));
                }
                if !ports && before.sport != after.sport {
                    parts.push(format!("echo id {} → {}", before.sport, after.sport));
                }
                let mut said = format!("the connection's NAT binding rewrites {}", parts.join(", "));
                if let crate::engine::packet::Transport::Icmp {
                    quoted: Some(q), ..
                } = &s.packet.transport
                {
                    // The quoted packet went the other way: rewritten
                    // the opposite way, it is the sender's own again.
                    let quote = match q.ip.protocol {
                        crate::engine::packet::Proto::Icmp => {
                            format!("{} → {} (echo id {})", q.ip.src, q.ip.dst, q.src_port)
                        }
                        _ => format!("{}:{} → {}:{}", q.ip.src, q.src_port, q.ip.dst, q.dst_port),
                    };
                    said.push_str(&format!("; inside, the packet it quotes becomes {quote}"));
                }
                said
            }
            CtEvent::Confirm { original, reply } => {
                format!("confirmed: original {original}, reply {reply}")
            }
        },
        StepKind::Route {
            lookup,
            dst,
            candidates,
            result,
            rules,
        } => {
            let what = match lookup {
                Lookup::Input => "input lookup",
                Lookup::Output => "output lookup",
                Lookup::Reroute => "lookup again after OUTPUT",
                Lookup::Tunnel => "lookup for the outer header",
            };
            // No route taken, and the last rule walked took the packet:
            // its action ended the lookup.
            let ended = rules.last().filter(|r| r.decided());
            let won = match (candidates.iter().find(|c| c.chosen), ended) {
                (Some(c), _) => c.route.clone(),
                (None, Some(r)) => match r.rule.split_once(":\t") {
                    Some((_, what)) => format!("{what} ends it"),
                    None => r.rule.clone(),
                },
                (None, None) => "no route".into(),
            };
            let res = result.describe();
            let n = candidates.len();
            let s = if n == 1 { "" } else { "s" };
            // With rules of its own: the one that decided.
            let by = match rules.iter().rev().find(|r| r.decided()) {
                Some(r) => format!(
                    " by rule {}",
                    r.rule.split(':').next().unwrap_or_default()
                ),
                None => String::new(),
            };
            format!("{what} for {dst}{by}: {won} ({n} candidate{s}) → {res}")
        }
        StepKind::Redirect { to, gateway, note, .. } => format!("ICMP redirect to {to} (use {gateway}): {note}"),
        StepKind::Ttl { old, new } => format!("TTL {old} → {new}: a router takes one from each packet it forwards"),
        StepKind::Fragment { dev, mtu, pieces } => format!("fragmented into {pieces} for the MTU of the way out, {mtu} (by {dev}); followed whole, as the host that reassembles it sees it"),
        StepKind::Encap { dev, outer } => match &outer.vxlan {
            Some(v) => format!(
                "{dev} encapsulates (VXLAN {}): ether {} → {}, outer {}:{} → {}:{} udp, inner ether {} → {}",
                v.vni,
                v.outer_src_mac,
                v.outer_dst_mac,
                outer.src,
                v.src_port,
                outer.dst,
                v.dst_port,
                v.inner_src_mac,
                v.inner_dst_mac
            ),
            None => format!(
                "{dev} encapsulates (IPIP): outer {} → {}",
                outer.src, outer.dst
            ),
        },
        StepKind::Decap { dev, outer } => format!(
            "{dev} decapsulates: outer {} → {} removed",
            outer.src, outer.dst
        ),
        StepKind::Deliver { socket, .. } => format!("delivered to {socket}"),
        StepKind::Drop {
            reason,
            detail,
            response,
            ..
        } => {
            // The MTU drops' own words say it all; the others add the
            // reason in general.
            use crate::engine::trace::DropReason;
            let general = match reason {
                DropReason::FragNeeded | DropReason::TooBig if !detail.is_empty() => String::new(),
                _ => format!(" — {}", reason.describe()),
            };
            match response {
                Some(r) => format!("{detail}{general}; sends {}", response_name(r)),
                None => format!("{detail}{general}"),
            }
        }
        StepKind::Exit {
            dev,
            next_hop,
            note,
        } => match note {
            Some(n) => format!("leaves the scenario on {dev} toward {next_hop}: {n}"),
            None => format!("leaves the scenario on {dev} toward {next_hop}"),
        },
    }
}

/// What a refused packet's sender gets: `ICMP port-unreachable to
/// 192.168.11.200`, `TCP RST to 10.0.0.2`.
pub fn response_name(r: &crate::engine::packet::Packet) -> String {
    let what = match &r.transport {
        crate::engine::packet::Transport::Icmp {
            icmp_type,
            code,
            seq,
            ..
        } if (*icmp_type, *code) == (icmp::DEST_UNREACH, icmp::FRAG_NEEDED) => {
            format!("ICMP {} (mtu {seq})", icmp::name(*icmp_type, *code))
        }
        crate::engine::packet::Transport::Icmp {
            icmp_type, code, ..
        } => format!("ICMP {}", icmp::name(*icmp_type, *code)),
        _ => "TCP RST".into(),
    };
    format!("{what} to {}", r.ip.dst)
}

/// The trace as a plain-text table (the CLI's default output).
pub fn table(t: &Trace) -> String {
    let mut out = String::new();
    // (Columns at most 64 wide: a longer name runs on past its column.)
    let w_ns = t
        .steps
        .iter()
        .map(|s| s.ns.len())
        .max()
        .unwrap_or(2)
        .clamp(2, 64);
    let stages: Vec<String> = t.steps.iter().map(stage).collect();
    let w_stage = stages
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(5)
        .clamp(5, 64);
    out.push_str(&format!(
        "{:>3}  {:<w_ns$}  {:<w_stage$}  what happened\n",
        "#", "ns", "stage"
    ));
    for (i, (s, st)) in t.steps.iter().zip(&stages).enumerate() {
        out.push_str(&format!(
            "{:>3}  {:<w_ns$}  {:<w_stage$}  {}\n",
            i + 1,
            s.ns,
            st,
            summary(s)
        ));
    }
    let answer = match t.steps.last().map(|s| &s.kind) {
        Some(StepKind::Drop {
            response: Some(r), ..
        }) => format!("; the kernel answers with {}", response_name(r)),
        _ => String::new(),
    };
    out.push_str(&format!("verdict: {}{answer}\n", verdict(&t.verdict)));
    out
}

/// The verdict in one sentence.
pub fn verdict(v: &Verdict) -> String {
    match v {
        Verdict::Delivered { ns, socket } => format!("delivered in {ns} to {socket}"),
        Verdict::Dropped { ns, reason } => format!("dropped in {ns}: {}", reason.describe()),
        Verdict::Left { ns, dev, next_hop } => {
            format!("left the scenario from {ns} on {dev} toward {next_hop}")
        }
    }
}
