//! "Why?" for the selected step: the failed match of each skipped rule
//! (and, for long runs, any rule on request), the routes a lookup weighed,
//! a drop's reason, a `statistic` draw with a button to force the other
//! branch, conntrack tuples.

use crate::engine::decimal;
use crate::engine::trace::{CtEvent, NatKind, Nud, RouteResult, RuleOutcome, StepKind, Trace};
use crate::engine::packet::Transport;
use std::rc::Rc;
use yew::prelude::*;

/// Whether a chain's description is a CNI's whole phrase (`Felix's chain
/// for …`) rather than the object kube-proxy wrote the chain for.
fn cni_phrase(w: &str) -> bool {
    w.starts_with("Felix's ") || w.starts_with("flanneld's ")
}

/// Why a rule did not match: the failed match and the reason; `None`
/// when it does match; an error when the question makes no sense.
pub type Explanation = Result<Option<(String, String)>, String>;

/// What a kube-proxy chain stands for: (namespace, chain) → description.
pub type ChainNameFn = Rc<dyn Fn(&str, &str) -> Option<String>>;

pub struct ExplainProps {
    pub trace: Rc<Trace>,
    pub step: usize,
    /// The answer to the last "why not rule N?" for this step.
    pub explained: Option<Rc<(usize, Explanation)>>,
    pub onexplain: Callback<usize>,
    pub onforce: Callback<()>,
    /// What a kube-proxy chain stands for, by (namespace, chain).
    pub chain_name: ChainNameFn,
    /// The object a rule was written for: (namespace, rule text) → what
    /// and its line in the cluster's YAML.
    pub rule_origin: RuleOriginFn,
    /// Show this line of the cluster's YAML.
    pub onorigin: Callback<usize>,
    /// Open a host's listing under the editors: (namespace, the
    /// listing's id, `conntrack-list` or `neigh-list`). None when the
    /// page shows no editors (an embed).
    pub onlisting: Option<Callback<(String, &'static str)>>,
    /// The far end (`host/device`) of a veth, by (namespace, device).
    pub veth_peer: VethPeerFn,
    /// Which device of a namespace holds an address: its name, or an
    /// empty one for an address the namespace answers ARP for; None when
    /// the namespace does not have it.
    pub holder: HolderFn,
}

/// See [`ExplainProps::holder`].
pub type HolderFn = Rc<dyn Fn(&str, std::net::Ipv4Addr) -> Option<String>>;

/// See [`ExplainProps::veth_peer`].
pub type VethPeerFn = Rc<dyn Fn(&str, &str) -> Option<String>>;

/// See [`ExplainProps::rule_origin`].
pub type RuleOriginFn = Rc<dyn Fn(&str, &str) -> Option<(String, usize)>>;

pub fn explain(props: &ExplainProps) -> Html {
    let Some(st) = props.trace.steps.get(props.step) else {
        return html! {};
    };
    let body = match &st.kind {
        StepKind::RulesSkipped {
            chain,
            first,
            last,
            count,
            by_index,
            index_reason,
            reasons,
            ..
        } => html! {
            <>
                <p>{ if *count == 1 { format!("Rule #{first} of {chain} did not match.") } else { format!("{count} rules of {chain}, #{first} to #{last}, did not match.") } }</p>
                if *by_index > 0 {
                    <p>{ format!("{by_index} of them were ruled out at once by the chain index") }
                        { index_reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default() }
                        { ". The kernel tests them one by one; the result is the same." }</p>
                }
                if !reasons.is_empty() {
                    <div class="table-scroll"><table class="explain-table">
                        <caption class="visually-hidden">{ "Each skipped rule and the match that failed" }</caption>
                        <thead><tr><th scope="col">{ "Rule" }</th><th scope="col">{ "Failed match" }</th><th scope="col">{ "Why" }</th></tr></thead>
                        <tbody>
                            { for reasons.iter().map(|r| html! {
                                <tr key={r.index}>
                                    <td>{ format!("#{} (line {})", r.index, r.line) }</td>
                                    <td><code>{ r.failed.clone() }</code></td>
                                    <td>{ r.reason.clone() }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table></div>
                }
                // Rules the table leaves out are explained on request.
                if reasons.len() < *count {
                    <WhyNot key={format!("{}-{first}-{last}", props.step)} first={*first} last={*last} explained={props.explained.clone()} onexplain={props.onexplain.clone()} />
                }
            </>
        },
        StepKind::RuleMatch { rule, target, chain, held, .. } => {
            let own = (props.chain_name)(&st.ns, chain);
            // `target` reads "jump to KUBE-SVC-…": the chain is its last word.
            let to_chain = target.rsplit(' ').next().unwrap_or("").to_string();
            let to = (props.chain_name)(&st.ns, &to_chain);
            html! {
                <>
                    // A pass-over target's words say what it does (`NFLOG:
                    // hands a copy…`): its name in code, then them.
                    if let Some((name, does)) = target.split_once(": ").filter(|(n, _)| crate::engine::iptables::rule::PASS_OVER.iter().any(|(p, _)| p == n)) {
                        <p>{ format!("Rule {} (line {}) matched: the packet passed all of its tests, so ", rule.index, rule.line) }
                           <code>{ name.to_string() }</code>{ format!(" runs: it {does}.") }<br/><code class="rule-text">{ crate::ui::events::unbroken(&rule.text) }</code></p>
                    } else {
                        <p>{ format!("Rule {} (line {}) matched: the packet passed all of its tests, so ", rule.index, rule.line) }
                           <code>{ target.clone() }</code>{ " runs." }<br/><code class="rule-text">{ crate::ui::events::unbroken(&rule.text) }</code></p>
                    }
                    if !held.is_empty() {
                        <p>{ "What it found in this host:" }</p>
                        <ul class="held">{ for held.iter().map(|h| match h.split_once(": ") {
                            Some((test, why)) => html! { <li><code>{ test.to_string() }</code>{ format!(": {why}") }</li> },
                            None => html! { <li>{ h.clone() }</li> },
                        }) }</ul>
                    }
                    if let Some((what, line)) = (props.rule_origin)(&st.ns, &rule.text) {
                        <p class="origin">{ format!("kube-proxy wrote this rule for {what}. ") }
                            if line > 0 {
                                <button class="small" onclick={props.onorigin.reform(move |_| line)}>{ format!("Show it in the YAML (line {line})") }</button>
                            }
                        </p>
                    } else if let Some(w) = own {
                        if cni_phrase(w.as_str()) {
                            <p class="origin"><code>{ chain.clone() }</code>{ format!(" is {w}.") }</p>
                        } else {
                            <p class="origin">{ "kube-proxy wrote " }<code>{ chain.clone() }</code>{ format!(" for {w}.") }</p>
                        }
                    }
                    if let Some(w) = to {
                        if cni_phrase(w.as_str()) {
                            <p class="origin"><code>{ to_chain.clone() }</code>{ format!(" is {w}.") }</p>
                        } else {
                            <p class="origin"><code>{ to_chain.clone() }</code>{ format!(" is kube-proxy's chain for {w}.") }</p>
                        }
                    }
                </>
            }
        }
        StepKind::Route {
            candidates,
            result,
            dst,
            rules,
            ..
        } => html! {
            <>
                if rules.is_empty() {
                    <p>{ format!("Route lookup for {dst}: the local table first, then main; longest prefix wins, then the lowest metric. Result: {}.", result.describe()) }</p>
                } else {
                    <p>{ format!("Route lookup for {dst}: Linux tries the ip rules from the lowest number up. When a rule's selector (from, to, fwmark…) takes the packet, it searches that rule's table; the first table with a route for {dst} decides. Within a table the longest prefix wins, then the lowest metric. Result: {}.", result.describe()) }</p>
                    <h4 class="explain-sub">{ "Rules tried, in order" }</h4>
                    <div class="table-scroll"><table class="explain-table rules-walked">
                        <caption class="visually-hidden">{ "The ip rules tried, and what each did" }</caption>
                        <thead><tr><th scope="col">{ "ip rule, and what it did" }</th></tr></thead>
                        <tbody>
                            { for rules.iter().map(|r| {
                                let (tag, class, row) = match r.outcome {
                                    RuleOutcome::NoMatch => ("✗ does not apply", "row-skipped", None),
                                    RuleOutcome::JumpedOver => ("– skipped by a goto", "row-skipped", None),
                                    RuleOutcome::GoesOn => ("↓ takes it, next rule", "row-skipped", None),
                                    RuleOutcome::Jumps => ("→ jumps", "row-skipped", None),
                                    RuleOutcome::Decides => ("✓ decides", "row-match", Some("chosen")),
                                    RuleOutcome::Refuses => ("× refuses", "row-drop", Some("refused")),
                                };
                                html! {
                                    <tr class={classes!(row)}>
                                        <td>
                                            <span class={classes!("tag", class)}>{ tag }</span><span class="visually-hidden">{ ": " }</span>{ " " }
                                            if r.more > 0 {
                                                { format!("{} more {}, ", r.more, if r.more == 1 { "rule" } else { "rules" }) }<code>{ r.rule.clone() }</code>
                                            } else {
                                                <code>{ r.rule.replace('\t', " ") }</code>
                                                if r.line == 0 { <span class="built-in">{ " (every namespace has it)" }</span> }
                                            }
                                            <span class="visually-hidden">{ ". " }</span>
                                            <span class="why">{ r.why.clone() }</span>
                                        </td>
                                    </tr>
                                }
                            }) }
                        </tbody>
                    </table></div>
                    <h4 class="explain-sub">{ format!("Routes for {dst} in the tables of the rules that take it") }</h4>
                }
                // A loopback source on its way out (a NodePort called on
                // 127.0.0.1, DNATed in OUTPUT): the kernel lets it leave
                // only with route_localnet, which kube-proxy sets.
                if let (true, RouteResult::Unicast { dev, .. }) = (st.packet.head().src.is_loopback(), result) {
                    if dev != "lo" {
                        <p>{ format!("The source {} is a loopback address, which may leave by {dev} only because kube-proxy sets net.ipv4.conf.all.route_localnet = 1 (for NodePorts on localhost); with the kernel's default, 0, this lookup fails and the packet is dropped. Packet Walk always takes kube-proxy's setting.", st.packet.head().src) }</p>
                    }
                }
                <div class="table-scroll"><table class="explain-table routes-weighed">
                    <caption class="visually-hidden">{ "The routes that contain the destination, and why each won or lost" }</caption>
                    <thead><tr><th scope="col">{ "Route: its table, prefix and metric, and why it won or lost" }</th></tr></thead>
                    <tbody>
                        // (Table, prefix and metric on a line of their own
                        // under the route: columns of them left the route
                        // and its why half the narrow panel.)
                        { for candidates.iter().map(|c| html! {
                            <tr class={classes!(c.chosen.then_some("chosen"))}>
                                <td>
                                    if c.chosen { <span class="tag row-match">{ "✓ chosen" }</span><span class="visually-hidden">{ ": " }</span>{ " " } }<code>{ c.route.clone() }</code>
                                    <span class="visually-hidden">{ ". " }</span>
                                    <span class="route-meta">{ format!("table {} · prefix /{} · metric {}", c.table, c.prefix_len, c.metric) }</span>
                                    <span class="visually-hidden">{ ". " }</span>
                                    <span class="why">{ c.why.clone() }</span>
                                </td>
                            </tr>
                        }) }
                    </tbody>
                </table></div>
            </>
        },
        StepKind::Drop {
            reason,
            detail,
            response,
            ..
        } => html! {
            <div class="drop-why" id="drop-reason">
                <p><strong>{ match (reason, response.is_some()) {
                    (crate::engine::trace::DropReason::TtlExceeded, _) => "Out of TTL: ",
                    (_, true) => "Refused: ",
                    (_, false) => "Dropped: ",
                } }</strong>{ reason.describe() }{ "." }</p>
                if !detail.is_empty() { <p>{ detail.clone() }</p> }
                if let Some(r) = response { <p>{ format!("The kernel answers: {}. Reply sends it on its way back.", r.summary()) }</p> }
                if let Some(by) = response.as_ref().and_then(|_| nat_on_the_way(&props.trace, props.step)) {
                    <p>{ format!("On its way back, conntrack on {by} takes back the NAT made to this packet: the sender sees the answer come from the address it sent to{}.", if response.as_ref().is_some_and(|r| is_icmp_error(r)) { ", quoting its packet as it sent it" } else { "" }) }</p>
                    if *reason == crate::engine::trace::DropReason::TtlExceeded {
                        <p>{ "So a traceroute through a NAT shows the address it translated, here for this hop, not the router's own." }</p>
                    }
                }
            </div>
        },
        StepKind::Statistic {
            probability,
            draw,
            matched,
            forced,
            rule,
            chain,
            ..
        } => html! {
            <>
                <p>{ format!("Rule {rule} of {chain} matches with probability {} (statistic --mode random).", decimal::fixed(*probability, 11)) }</p>
                <p>
                    if *forced {
                        { format!("This branch was forced: the rule {}{}.", if *matched { "matched" } else { "did not match" },
                            if (*draw < *probability) == *matched { format!(" (the draw, {}, would have had it so too)", decimal::fixed(*draw, 4)) } else { String::new() }) }
                    } else {
                        { format!("The draw was {}: {} {}, so the rule {}.", decimal::fixed(*draw, 4), if *matched { "below" } else { "not below" }, decimal::fixed(*probability, 4), if *matched { "matched" } else { "did not match" }) }
                    }
                </p>
                if chain.starts_with("KUBE-SVC-") || chain.starts_with("KUBE-SVL-") {
                    <p>{ "kube-proxy writes, for n endpoints, probability 1/n on the first rule, 1/(n−1) on the second (of the connections the first did not take), and so on, and none on the last, which takes what is left: so each endpoint gets 1/n of the new connections (with 3: 1/3; then 1/2 of the other 2/3, which is 1/3; then the last 1/3)." }</p>
                }
                <button id="force-other" onclick={props.onforce.reform(|_| ())}>
                    { if *matched { "Force the other branch (no match)" } else { "Force the other branch (match)" } }
                </button>
            </>
        },
        StepKind::Conntrack(ev) => match ev {
            CtEvent::Lookup {
                tuple,
                state,
                original,
                reply,
            } => {
                // Where the TCP tracker moved the connection ("; TCP state
                // A → B", said last).
                let moved_to = state.rsplit_once(" → ").map(|(_, to)| to);
                html! {
                <>
                    if state.contains("nothing is looked up") {
                        <p>{ format!("Conntrack, for {tuple}: {state}.") }</p>
                    } else {
                        <p>{ format!("Conntrack looks up {tuple}: {state}.") }</p>
                    }
                    if state.starts_with("RELATED") && is_icmp_error(&st.packet) && !state.contains("nothing is looked up") {
                        <p>{ "An ICMP error has no connection of its own: conntrack takes the packet it quotes (its addresses and ports, turned around) and finds that packet's connection, so -m conntrack sees the error as RELATED and NAT rewrites it by that connection's binding." }</p>
                    }
                    if state.contains("attached") {
                        <p>{ "The kernel made this answer about a packet it refused, and gave it that packet's connection (nf_ct_attach), even one never confirmed: so conntrack takes back that connection's NAT on the way out, and -m conntrack sees the answer as RELATED." }</p>
                    }
                    // The two states in that sentence are not one: the
                    // first is what -m conntrack --ctstate sees, the second
                    // TCP's own closing.
                    if moved_to == Some("CLOSE") {
                        <p>{ "ESTABLISHED is the packet's state for -m conntrack (the connection has seen an answer); CLOSE is TCP's: a RST ended the connection. A SYN from the side that sent the RST starts a new connection (NEW, the nat table again). If the answering side sent it, the opening side's SYN rides this entry and its NAT, and the answering side's is INVALID. Linux forgets the entry after 10 s (conntrack -L shows the seconds left; Wait lets them run out)." }</p>
                    } else if moved_to == Some("TIME_WAIT") {
                        <p>{ "Both sides sent a FIN and the last one is acknowledged: TCP's TIME_WAIT. A SYN from either side now starts a new connection (NEW, the nat table again). Linux forgets the entry after 120 s (Wait lets them run out)." }</p>
                    } else if matches!(moved_to, Some("FIN_WAIT" | "CLOSE_WAIT" | "LAST_ACK")) {
                        <p>{ "The connection is closing (FIN_WAIT: one side sent a FIN; CLOSE_WAIT: it was acknowledged; LAST_ACK: both sides sent one); for -m conntrack its packets are still ESTABLISHED. A SYN in the middle of a closing rides the old entry." }</p>
                    } else if moved_to == Some("SYN_RECV") {
                        <p>{ "Two states: ESTABLISHED is the packet's for -m conntrack (the connection has now seen an answer); SYN_RECV is TCP's own, which conntrack -L lists: the handshake is half done. The opening side's ACK will make it ESTABLISHED." }</p>
                    } else if state.contains("SYN_RECV → ESTABLISHED") {
                        <p>{ "The handshake's last ACK: TCP's state is ESTABLISHED, and conntrack marks the entry [ASSURED] (a full table's early drop never evicts it). Its timeout is now 5 days (432000 s), or 300 s while data is waiting for its ACK." }</p>
                    } else if state.contains("TCP state SYN_SENT") {
                        <p>{ "Two states: NEW is the packet's, for -m conntrack; SYN_SENT is TCP's own, which conntrack -L lists until an answer comes (timeout 120 s)." }</p>
                    } else if state.contains("ignores it") {
                        <p>{ "conntrack's TCP state table has a third answer besides a new state and INVALID: ignore. The entry may be out of step with the two ends (it saw a connection they have forgotten), so the segment passes on the entry as it is, its NAT included, and the state does not move; if the segment is wrong, the receiver's RST or ACK will tell conntrack." }</p>
                    }
                    if let (Some(o), Some(r)) = (original, reply) {
                        <p>{ "The connection: original " }<code>{ o.to_string() }</code>{ ", reply " }<code>{ r.to_string() }</code>
                        { ". A reply matching the second tuple is translated back without any nat rule." }</p>
                    } else if state.starts_with("UNTRACKED") {
                        <p>{ "UNTRACKED: a NOTRACK rule in the raw table, which runs before conntrack's lookup, told conntrack to leave this packet alone. No entry is looked up or made, so no nat chain sees it and no connection's NAT translates it (a Service's address stays as it is); -m conntrack --ctstate UNTRACKED matches it, and an answer to it, unless untracked too, is tracked afresh: a UDP datagram, or a TCP ACK (nf_conntrack_tcp_loose), as NEW; a SYN-ACK or an echo-reply as INVALID. Used for traffic that needs no state: Calico's VXLAN packets since Felix 3.29, NodeLocal DNSCache's." }</p>
                    } else if state.starts_with("INVALID") {
                        <p>{ "INVALID: conntrack keeps no entry for this packet, so no NAT applies to it (the nat table is not consulted, and no binding translates it back); a rule with -m conntrack --ctstate INVALID matches it, and kube-proxy's drops such packets in FORWARD on some versions." }</p>
                    } else if matches!(&st.packet.head_transport().as_deref(), Some(Transport::Tcp { flags, .. }) if !flags.syn && !flags.rst) {
                        <p>{ "A new connection, though this segment is not a SYN: conntrack has no entry for it (it never saw the connection's SYN, or its table was flushed: conntrack -F), and Linux picks up a connection in the middle (nf_conntrack_tcp_loose = 1, the default). So the nat table decides its translation now, afresh, from the rules as they are: an earlier binding is gone." }</p>
                    } else {
                        <p>{ "A new connection: the nat table decides its translation once, for all its packets." }</p>
                    }
                </>
                }
            }
            CtEvent::Translate { before, after, reply } => {
                let how = if *reply {
                    "Here it takes back the NAT the connection's first packet got, for this answer."
                } else {
                    "Here it applies, to a later packet of the connection, the NAT its first packet got: the nat rules are not consulted again, even if they have changed since (a rule edited now names another address, and this connection keeps the old one until its entry goes)."
                };
                html! {
                    <p>{ "The connection's binding rewrites " }<code>{ before.to_string() }</code>{ " to " }<code>{ after.to_string() }</code>{ format!(". It changes the IP header as a NAT rule does, decided by conntrack from the connection (its addresses and ports). {how}") }</p>
                }
            }
            CtEvent::Confirm { original, reply } => html! {
                <p>{ "The connection is confirmed: conntrack puts it in its table as the packet leaves netfilter on this host (after POSTROUTING, or after INPUT for a packet delivered here). Original " }<code>{ original.to_string() }</code>{ ", reply " }<code>{ reply.to_string() }</code>{ "." }</p>
            },
        },
        StepKind::Arp {
            dev,
            target,
            answered_by,
            answered_too,
            proxy,
            cached,
        } => {
            let who = answered_by.clone().unwrap_or_default();
            let clock = "(Packet Walk's clock moves 1 s for each packet sent, or as long as Wait says.)";
            let text = match (cached, answered_by) {
                (Some(Nud::Reachable), _) => format!("The neighbour cache (ip neigh) holds {target} on {dev}: {who}, confirmed by an answer lately (within reachable_time, which the kernel draws between 15 and 45 s around base_reachable_time's 30; Packet Walk takes 30), so the frame goes at once and nothing is asked. {clock}"),
                (Some(Nud::Stale), _) => format!("The neighbour cache holds {target} on {dev}: {who}, but not confirmed lately (older than 30 s, or learnt from {who}'s own ARP request): STALE. The kernel uses it at once all the same, and checks it: 5 s on (DELAY) it sends unicast ARP probes; an answer makes it REACHABLE, three unanswered make it FAILED, and the next packet asks again by broadcast. {clock}"),
                (Some(Nud::Permanent), _) => format!("The neighbour table holds a PERMANENT entry for {target} on {dev}: the CNI wrote it (ip neigh add … nud permanent), with the MAC of the other node's VXLAN device, so nothing is ever asked; the forwarding database (bridge fdb) then names the node behind that MAC."),
                (Some(Nud::Failed), _) => format!("The cache's entry for {target} on {dev} FAILED: its unicast probes went unanswered. So the kernel asks again by broadcast."),
                (None, Some(_)) if *proxy => format!("No entry for {target} on {dev} in the neighbour cache, so the kernel broadcasts an ARP request and holds the packet. {who} answers by proxy ARP: it does not own {target}, but routes it out of another device (Calico's node veths answer so for 169.254.1.1, the pods' gateway). The asker's entry is now REACHABLE; the answerer learnt the asker from the request (STALE), so its own packets back go without asking."),
                (None, Some(_)) => format!("No entry for {target} on {dev} in the neighbour cache, so the kernel broadcasts an ARP request (who-has {target}) and holds the packet; {who} answers. The asker's entry is now REACHABLE; the answerer learnt the asker from the request, by the address the request was sent from (STALE), so its own packets back to that address go without asking."),
                (None, None) => format!("No entry for {target} on {dev}, and nobody answers the ARP request: after about 3 s (three requests a second apart) the kernel gives up, and the sender hears of it (host unreachable)."),
            };
            let verb = if answered_too.len() == 1 { "holds" } else { "hold" };
            let too = (!answered_too.is_empty()).then(|| format!(
                "{} {verb} {target} too, and answered as well: ARP asks by broadcast, and every host holding the address answers (with arp_ignore = 0, the default, also for an address on another of its devices). The asker keeps the first answer and ignores the later ones for a second (locktime). On a real LAN which answer comes first is a race; Packet Walk takes the first host of the scenario, {who}. The same address on two hosts is a conflict: packets go to whichever answered first.",
                answered_too.join(", ")
            ));
            html! {
                <>
                    <p>{ text }</p>
                    if let Some(too) = too { <p>{ too }</p> }
                </>
            }
        }
        StepKind::Bridge {
            bridge,
            in_port,
            out_port,
            dst_changed,
        } => html! {
            <>
                <p>{ format!("{bridge} is a Linux bridge: it switches frames between its ports by MAC address, so this packet is not routed and keeps its TTL. Kubernetes needs br_netfilter (bridge-nf-call-iptables = 1), so the node's iptables still sees the frame: PREROUTING, then FORWARD and POSTROUTING with {bridge} as both -i and -o.") }</p>
                if *dst_changed { <p>{ format!("PREROUTING rewrote its destination (a DNAT, or conntrack undoing a masquerade on a reply) to a pod behind {bridge} itself: the kernel looked the new address up (dev {bridge}) and kept the frame on the bridge.") }</p> }
                if in_port == out_port { <p>{ format!("It leaves through {out_port}, the port it came in on: only because hairpin mode is on there (the pod is calling itself through its Service; kube-proxy masquerades it so the answer comes back through the node).") }</p> }
            </>
        },
        StepKind::Nat {
            nat,
            before,
            after,
            rule,
        } => {
            let text = rule.as_ref().map(|r| r.text.as_str()).unwrap_or("");
            let arg = |opt: &str| {
                let mut words = text.split_whitespace();
                words.find(|w| *w == opt).and_then(|_| words.next())
            };
            // `a-b` in the address part of a NAT target's value.
            let ranged = |opt: &str| arg(opt).is_some_and(|a| a.split(':').next().is_some_and(|a| a.contains('-')));
            let hashed = "From an address range the kernel picks by a hash of the client's address and the address it sent to (with --persistent, of the client's alone): one client always gets the same one.";
            let (first, how) = match nat {
                NatKind::NullBinding => (
                    format!("No rule asked for source NAT, but the answers to {before} would look like another connection's (the same server, address and port: two DNATs onto one pod, say). At the source NAT hook the kernel binds every connection (nf_nat_alloc_null_binding), keeping its address and choosing a free one, here {}.", match (after.port, after.echo_id) {
                        (Some(p), _) => format!("source port {p}"),
                        (None, Some(id)) => format!("echo identifier {id}"),
                        _ => "no port".to_string(),
                    }),
                    Some("Without that, conntrack could not insert the connection and would drop the packet. The connection now shows as SNAT (--ctstate SNAT): its tuple changed.".to_string()),
                ),
                NatKind::Redirect => (
                    format!("REDIRECT sends the connection to this host itself: to {}, {}. A program listening there gets it (a transparent proxy, Istio's sidecar), and conntrack keeps the binding: its later packets go there without the nat table, and the answers come back from {before}.",
                        after.addr,
                        match st.packet.iif.as_deref() {
                            Some(dev) if !after.addr.is_loopback() => format!("the first address of {dev}, the device the packet came in by"),
                            _ => "as for every packet the host sends itself, 127.0.0.1".to_string(),
                        }),
                    match (before.port, after.port) {
                        (Some(a), Some(b)) if a != b && arg("--to-ports").is_some() => Some(format!("--to-ports moves port {a} to {b}.")),
                        (Some(a), Some(b)) if a != b => Some(format!("Port {a} could not be kept (another connection holds it toward this address): the kernel took a free one, {b}.")),
                        _ => None,
                    },
                ),
                NatKind::Dnat => (
                    format!("DNAT picks where the connection goes, once: conntrack keeps the binding, so its later packets go to {after} without the nat table, and the answers come back from {before}."),
                    [
                        ranged("--to-destination").then(|| hashed.to_string()),
                        match (before.port, after.port) {
                            (Some(a), Some(b)) if a != b && text.contains("--random") => Some(format!("With --random the port is drawn at random in the range, here {b}.")),
                            (Some(a), Some(b)) if a != b && arg("--to-destination").is_some_and(|v| v.rsplit_once(':').is_some_and(|(_, p)| p.contains('-'))) => {
                                Some(format!("Port {a} is not in the range: DNAT takes the range's first port no connection uses, {b}."))
                            }
                            _ => None,
                        },
                    ]
                    .into_iter()
                    .flatten()
                    .reduce(|a, b| format!("{a} {b}")),
                ),
                _ => (
                    if let Some(holder) = (props.holder)(&st.ns, after.addr) {
                        let out = st.packet.oif.as_deref().unwrap_or("?");
                        format!(
                            "{} so the answers come back to this host, whose conntrack hands them back to {before}.",
                            match *nat {
                                NatKind::Masquerade if holder == out => format!("MASQUERADE takes the address of the interface the packet leaves by, {out}: {},", after.addr),
                                // inet_select_addr's fallback.
                                NatKind::Masquerade => format!("MASQUERADE takes an address for the way out (the kernel's inet_select_addr): {out}, the interface the packet leaves by, has none, so the kernel takes the first global address of the host's other devices, {holder}'s {},", after.addr),
                                _ => format!("SNAT gives the connection the source {},", after.addr),
                            }
                        )
                    } else {
                        format!("SNAT gives the connection the source {}, which is not an address of this host: the answers come back here only if something routes them to it, or it answers ARP for it (Linux does not by itself). Else they are lost on the way back.", after.addr)
                    },
                    match (before.port, after.port) {
                        (_, Some(p)) if text.contains("--random") => Some(format!("With --random-fully (or --random) the source port is drawn at random, here {p}: two connections from pods racing for the same port are unlikely (kube-proxy asks for it; the kernel still resolves a clash if one happens).")),
                        (Some(a), Some(b)) if a == b => Some(format!("The source port {a} is kept: no other connection from {} uses it toward this destination.", after.addr)),
                        (Some(a), Some(b)) => Some(format!("Port {a} could not be kept (another connection uses it toward this destination, or it is outside --to-ports): the kernel took a free one, {b}.")),
                        _ => None,
                    }
                    .map(|p| if ranged("--to-source") { format!("{hashed} {p}") } else { p }),
                ),
            };
            html! {
                <>
                    <p>{ first }</p>
                    if let Some(how) = how { <p>{ how }</p> }
                </>
            }
        }
        StepKind::NatSkipped { hook } if is_icmp_error(&st.packet) => html! {
            <p>{ format!("No nat chain runs at {hook} for an ICMP error: it belongs to its connection (RELATED), and conntrack rewrites it by that connection's binding, its outer header and the packet it quotes, inside it, the opposite way.") }</p>
        },
        StepKind::NatSkipped { hook } => html! {
            <p>{ format!("The nat table runs only for the first packet of a connection; at {hook} this packet follows the connection's binding instead. (A connection is still NEW for -m conntrack until an answer comes back, but its first packet has been through the nat table already.)") }</p>
        },
        StepKind::Redirect { to, gateway, sent, holds_errors, note } => html! {
            <>
                <p>{ format!("The packet leaves by the interface it came in on, toward {gateway}, on {to}'s own link: {to} could have sent it there itself. So the kernel tells it so with an ICMP redirect (net.ipv4.conf.*.send_redirects, on by default), backing off when it keeps coming{}.", if *sent { "" } else { ", as now" }) }</p>
                <p>{ format!("This one: {note}.") }</p>
                if *holds_errors {
                    <p>{ format!("This redirect set the clock of the ICMP rate limit the kernel keeps for {to}: an ICMP error to it right after (a REJECT's, say) is held back, and the sender hears nothing.") }</p>
                } else {
                    <p>{ format!("Held back by the back-off, it leaves the ICMP rate limit for {to} alone: an error to it can go back.") }</p>
                }
            </>
        },
        StepKind::Fragment { dev, mtu, pieces } => html! {
            <p>{ format!("The packet is larger than the MTU of its way out by {dev}, {mtu} (the route's mtu, else the device's), and may be cut up: its Don't Fragment bit is clear (its sender's route has `mtu lock`, a tunnel's outer VXLAN header does not set it by default, the kernel's ICMP sends without it), or it is a datagram of this host's own, whose socket lets the kernel fragment it (IP_PMTUDISC_WANT, the default). So it is cut into {pieces} fragments as it leaves, after POSTROUTING: each with its own IP header, the same id, and its place in the whole (the fragment offset; all but the last have More Fragments set). The host it is for puts them together again, and so does conntrack on each host that tracks connections, before its nat PREROUTING (nf_defrag_ipv4): the rules never see a fragment. So Packet Walk follows the packet whole.") }</p>
        },
        StepKind::Encap { dev, outer } => html! {
            if let Some(v) = &outer.vxlan {
                <p>{ format!("{dev} wraps the packet in an Ethernet frame ({} → {}), a VXLAN header (VNI {}), UDP {} → {} and an outer IPv4 header {} → {}: the LAN only sees node addresses.", v.inner_src_mac, v.inner_dst_mac, v.vni, v.src_port, v.dst_port, outer.src, outer.dst) }</p>
                <p>{ format!("The UDP source port {} comes from the packet's flow hash (udp_flow_src_port, into 32768–60999), so that a LAN spreading flows over links keeps each one on its path. Packet Walk hashes the inner addresses and ports, as the kernel does for a forwarded packet; a packet from a socket carries the socket's own random hash instead, so two connections between the same ports may leave by different source ports, and a retransmission, which picks a new hash, by another. The outer header copies only the inner ECN bits of the type of service (its DSCP is 0: flannel and Calico leave the device's tos alone).", v.src_port) }</p>
            } else {
                <p>{ format!("{dev} wraps the packet in an outer IPv4 header {} → {} (protocol 4, IPIP: an IPv4 packet inside an IPv4 packet): the LAN only sees node addresses, and the receiving node's tunl0 takes the outer header off again.", outer.src, outer.dst) }</p>
            }
        },
        StepKind::Decap { dev, outer } => html! {
            <p>{ format!("{dev} removes the outer header {} → {}; the inner packet is routed again on this node.", outer.src, outer.dst) }</p>
        },
        // The article's point about cali…: one end of a veth pair.
        StepKind::Transmit { dev, .. } => match (props.veth_peer)(&st.ns, dev) {
            Some(peer) => html! {
                <p><code>{ dev.clone() }</code>{ " is one end of a veth pair: a packet sent into it comes out of the other end, " }<code>{ peer }</code>{ ", in that network namespace." }</p>
            },
            None => return html! {},
        },
        StepKind::Exit { dev, next_hop, note } => html! {
            <>
                <p>{ format!("No host of this scenario owns {next_hop}, the next hop on {dev} (a router, or a machine the scenario leaves out): the packet leaves the model here, and what happens next is not shown.") }</p>
                if let Some(n) = note { <p>{ format!("{n}.") }</p> }
            </>
        },
        StepKind::Send { .. } if is_icmp_error(&st.packet) => html! {
            <p>{ format!("The kernel makes this ICMP error itself (icmp_send), about the packet it refused. It quotes that packet, as much of it as fits in 576 bytes (at least its IP header and first 8 bytes, the ports), so the sender can tell which of its packets it is about, and it comes from {}: the address {} uses toward the sender (or the refused packet's own destination, when that was this host).", st.packet.ip.src, st.ns) }</p>
        },
        StepKind::Send { note } if note.contains("answers with a reset") => html! {
            <p>{ "The kernel sends this reset itself, no program: it answers a segment nothing may take (a REJECT --reject-with tcp-reset, or a port nobody listens on), from the address and port that segment was sent to." }</p>
        },
        StepKind::Deliver { .. } => match &st.packet.transport {
            Transport::Icmp { icmp_type, code, quoted: Some(_), .. } => html! {
                <p>{ format!("An ICMP error goes to the socket that sent the packet it quotes (found by that packet's addresses and ports). Linux turns the error into an errno (icmp_err_convert: port-unreachable is ECONNREFUSED, host-unreachable, host- and admin-prohibited EHOSTUNREACH, network-unreachable and network-prohibited ENETUNREACH): this one, {}, is {}. {}", crate::engine::packet::icmp::name(*icmp_type, *code), crate::engine::packet::icmp::errno(*icmp_type, *code).0,
                    if (*icmp_type, *code) == (crate::engine::packet::icmp::DEST_UNREACH, crate::engine::packet::icmp::FRAG_NEEDED) {
                        "But fragmentation needed is news more than an error: the kernel keeps the MTU it names for the route (10 minutes); TCP (tcp_v4_err) sends smaller segments and never fails with it, even while connecting; a connected UDP socket's next call fails once with EMSGSIZE (a pending error), and larger datagrams leave in fragments from then on (with IP_PMTUDISC_DO, each send larger than the MTU fails)."
                    } else {
                        "A connecting TCP socket fails with it at once; an established one only notes it; a UDP socket hears of the fatal ones, and only when connected."
                    }) }</p>
            },
            Transport::Icmp { icmp_type: 8, id, seq, .. } => html! {
                <p>{ format!("The kernel answers a ping itself (no program is involved): Reply sends its echo-reply, with the same identifier {id} and sequence {seq}. ICMP has no ports, so conntrack keys the exchange on that identifier, and the echo-reply is the reply direction of this \"connection\": it is translated back like any answer.") }</p>
            },
            Transport::Icmp { icmp_type: 0, id, .. } => html! {
                <p>{ format!("ping's socket takes the echo-reply whose identifier ({id}) is its own; Again sends the next echo-request, with the same identifier and the next sequence, as ping does each second.") }</p>
            },
            _ => return html! {},
        },
        StepKind::Receive { dev, .. } => match (props.veth_peer)(&st.ns, dev) {
            Some(peer) => html! {
                <p><code>{ dev.clone() }</code>{ " is this namespace's end of a veth pair whose other end is " }<code>{ peer }</code>{ ": what is sent there arrives here." }</p>
            },
            None => return html! {},
        },
        _ => return html! {},
    };
    // A conntrack or neighbour step: the table it looked in, as its
    // host lists it after the last packet.
    let listing = match &st.kind {
        StepKind::Conntrack(_) => Some(("conntrack-list", "conntrack -L")),
        StepKind::Arp { cached, .. } if *cached != Some(Nud::Permanent) => Some(("neigh-list", "ip neigh")),
        _ => None,
    };
    let show = listing.zip(props.onlisting.clone()).map(|((id, what), cb)| {
        let ns = st.ns.clone();
        let label = format!("Show {what} on {ns}");
        html! {
            <p><button type="button" class="link-button" id="show-listing" onclick={cb.reform(move |_| (ns.clone(), id))}>{ label }</button>
            { " (after the last packet sent, under the editors)" }</p>
        }
    });
    html! {
        <section class="explain" aria-labelledby="explain-h">
            <h3 id="explain-h">{ "Why" }</h3>
            { body }
            { for show }
        </section>
    }
}

/// Whether `p` is an ICMP error (it quotes another packet).
fn is_icmp_error(p: &crate::engine::packet::Packet) -> bool {
    matches!(&p.transport, Transport::Icmp { quoted: Some(_), .. })
}

/// The namespaces up to step `at` that translated the packet (a NAT rule
/// or a connection's binding), nearest first: an answer from step `at`
/// meets their conntrack on the way back (`node8`, `node7 and node8`).
fn nat_on_the_way(t: &Trace, at: usize) -> Option<String> {
    let mut hosts: Vec<&str> = Vec::new();
    for s in t.steps[..at].iter().rev() {
        let nat = matches!(
            s.kind,
            StepKind::Nat { .. } | StepKind::Conntrack(CtEvent::Translate { .. })
        );
        if nat && !hosts.contains(&s.ns.as_str()) {
            hosts.push(&s.ns);
        }
    }
    let (last, rest) = hosts.split_last()?;
    Some(match rest {
        [] => last.to_string(),
        _ => format!("{} and {last}", rest.join(", ")),
    })
}

#[derive(Properties, PartialEq)]
struct WhyNotProps {
    first: usize,
    last: usize,
    explained: Option<Rc<(usize, Explanation)>>,
    onexplain: Callback<usize>,
}

/// Asks why any one rule of the run did not match (only those: the rules
/// after the run were never tested).
#[function_component(WhyNot)]
fn why_not(props: &WhyNotProps) -> Html {
    // The box's text as typed; a number out of the run is said, not asked.
    let typed = use_state(|| props.first.to_string());
    let wrong = use_state(|| false);
    let oninput = {
        let (typed, wrong) = (typed.clone(), wrong.clone());
        Callback::from(move |e: InputEvent| {
            typed.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value());
            wrong.set(false);
        })
    };
    let onsubmit = {
        let (typed, wrong, cb) = (typed.clone(), wrong.clone(), props.onexplain.clone());
        let (first, last) = (props.first, props.last);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match typed.trim().parse::<usize>() {
                Ok(n) if (first..=last).contains(&n) => cb.emit(n),
                _ => wrong.set(true),
            }
        })
    };
    html! {
        <form class="why-not" {onsubmit}>
            <label for="why-rule">{ "Why did rule number " }</label>
            <input id="why-rule" type="number" min={props.first.to_string()} max={props.last.to_string()} value={(*typed).clone()} {oninput}
                aria-invalid={wrong.then_some("true")} aria-describedby={wrong.then_some("why-rule-range")} />
            <button type="submit" aria-label="Why did that rule not match?">{ "not match?" }</button>
            if *wrong {
                <p id="why-rule-range" class="form-error" role="alert">{ format!(
                    "Give a rule number from {} to {}, the rules this run skipped: the packet did not meet the others here.",
                    props.first, props.last
                ) }</p>
            } else if let Some(x) = &props.explained {
                <p class="why-answer" role="status">
                    {
                        match &x.1 {
                            Ok(Some((failed, why))) => html! { <>{ format!("Rule {}: ", x.0) }<code>{ failed.clone() }</code>{ format!(" — {why}") }</> },
                            Ok(None) => html! { { format!("Rule {} matches this packet.", x.0) } },
                            Err(e) => html! { { e.clone() } },
                        }
                    }
                </p>
            }
        </form>
    }
}
