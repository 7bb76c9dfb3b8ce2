//! Stepping through a trace, Packet Tracer style: the list of sends, the
//! step controls (first, back, play, forward, last, speed) and the event
//! list, one row per step with its namespace, stage and summary.

use crate::engine::packet::{icmp, Proto, TcpFlags};
use crate::engine::render;
use crate::engine::trace::{Trace, Verdict};
use crate::engine::SendSpec;
use crate::ui::model::{layer_name, Filters, Move, RowKind};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// A packet sent and its trace (or why it could not be sent).
/// A packet sent: what was asked, its trace, and its trace before the last
/// cluster change when that gave it another verdict.
pub type SentView = (SendSpec, Result<Rc<Trace>, String>, Option<Result<Rc<Trace>, String>>);

#[derive(Properties, PartialEq)]
pub struct HistoryProps {
    pub sends: Rc<Vec<SentView>>,
    /// In an exercise, the packets whose outcome is not reached yet.
    #[prop_or_default]
    pub hidden: Rc<Vec<bool>>,
    pub selected: usize,
    /// The number of the first packet listed (the ones before it are no
    /// longer listed).
    pub first: usize,
    /// Of those, the first ones no link or reload sends again.
    pub forgotten: usize,
    pub onselect: Callback<usize>,
    pub onclear: Callback<()>,
}

/// The verdict in two words, with an icon that is not the only signal.
fn verdict_tag(t: &Result<Rc<Trace>, String>) -> (&'static str, &'static str, &'static str) {
    match t {
        Ok(t) => match &t.verdict {
            Verdict::Delivered { .. } => ("✓", "delivered", "verdict-delivered"),
            Verdict::Dropped { reason, .. } => ("✕", crate::ui::model::drop_word(*reason, crate::ui::model::refused(t)), "verdict-dropped"),
            Verdict::Left { .. } => ("→", "left", "verdict-left"),
        },
        Err(_) => ("!", "not sent", "verdict-dropped"),
    }
}

/// `text` with every word that holds a hyphen kept on one line: a browser
/// would break `--to-destination` or `ms-test/flask-ui` after a hyphen.
pub fn unbroken(text: &str) -> Html {
    let mut out = Vec::new();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(Html::from(" "));
        }
        out.push(if word.contains('-') {
            html! { <span class="nobr">{ word.to_string() }</span> }
        } else {
            Html::from(word.to_string())
        });
    }
    out.into_iter().collect()
}

/// The packets sent so far; choosing one shows its trace.
pub fn send_history(props: &HistoryProps) -> Html {
    if props.sends.is_empty() {
        return html! {};
    }
    html! {
        <div class="history">
            <h3 id="history-h">{ "Packets sent" }</h3>
            if props.first > 1 {
                <p class="help">{
                    if props.forgotten == 0 {
                        format!(
                            "#1–#{} are no longer listed (the list keeps the last {}); a link, a reload or an export sends them again, so the ones listed meet what they met.",
                            props.first - 1, props.sends.len()
                        )
                    } else {
                        format!(
                            "#1–#{} are no longer listed (the list keeps the last {}); a link, a reload or an export sends the last {} of them again, not #1–#{}: the first packets it lists may meet conntrack without those.",
                            props.first - 1, props.sends.len(), props.first - 1 - props.forgotten, props.forgotten
                        )
                    }
                }</p>
            }
            <ol class="history-list" aria-labelledby="history-h">
                { for props.sends.iter().enumerate().map(|(i, (spec, trace, before))| {
                    let (icon, word, class) = match props.hidden.get(i) {
                        Some(true) => ("?", "outcome hidden", "verdict-hidden"),
                        _ => verdict_tag(trace),
                    };
                    let was = before.as_ref().filter(|_| props.hidden.get(i) != Some(&true)).map(|b| {
                        let (icon, word, _) = verdict_tag(b);
                        let at = b.as_ref().ok().map(|t| match &t.verdict {
                            Verdict::Delivered { ns, .. } | Verdict::Dropped { ns, .. } => format!(" in {ns}"),
                            Verdict::Left { ns, .. } => format!(" from {ns}"),
                        });
                        format!("before the cluster change: {icon} {word}{}", at.unwrap_or_default())
                    });
                    // A TCP packet sent without flags is a SYN (as the engine sends it).
                    let flags = match (spec.proto, spec.flags) {
                        (Proto::Icmp, _) if spec.is_icmp_error() => format!(" {}", icmp::name(spec.icmp_type.unwrap_or(0), spec.icmp_code.unwrap_or(0))),
                        (Proto::Icmp, _) => format!(" {} seq {}", icmp::name(spec.icmp_type.unwrap_or(icmp::ECHO_REQUEST), 0), spec.seq.unwrap_or(1)),
                        (_, Some(f)) => format!(" {f}"),
                        (Proto::Tcp, None) => format!(" {}", TcpFlags::SYN),
                        _ => String::new(),
                    };
                    let onclick = props.onselect.reform(move |_| i);
                    let ttl = spec.ttl.map(|t| format!(" TTL {t}")).unwrap_or_default();
                    // The sending program's uid, when one was given (-m owner).
                    let ttl = format!("{ttl}{}", spec.uid.map(|u| format!(" uid {u}")).unwrap_or_default());
                    // A port chosen (or a connection's) and the data size, when any.
                    let sport = spec.src_port.filter(|_| spec.proto != Proto::Icmp && !spec.kernel).map(|p| format!(" port {p}")).unwrap_or_default();
                    let data = match (spec.payload_len, spec.is_icmp_error()) {
                        (0, _) | (_, true) => String::new(),
                        (n, false) => format!(" +{n} B"),
                    };
                    // Sent after a wait (packets otherwise go a second apart).
                    let waited = spec.after.filter(|n| *n != 1).map(|n| format!("after {}: ", crate::ui::model::duration(n))).unwrap_or_default();
                    let what = format!("{waited}{}{flags} {}{sport} → {}{ttl}{data}", spec.proto.to_string().to_ascii_uppercase(), spec.from, spec.to);
                    html! {
                        <li key={i}>
                            <button class={classes!("history-item", (i == props.selected).then_some("selected"))}
                                aria-current={(i == props.selected).then_some("true")} {onclick} title={what.clone()}>
                                <span class="history-n">{ format!("#{}", props.first + i) }</span>
                                <span class="history-what">{ unbroken(&what) }</span>
                                // An embed's chip: which packet of a connection it is.
                                <span class="history-short">{ format!("{}{flags}", spec.proto.to_string().to_ascii_uppercase()) }</span>
                                <span class={classes!("tag", class)}><span aria-hidden="true">{ icon }</span>{ " " }{ word }</span>
                                if let Some(w) = was { <span class="history-was">{ unbroken(&w) }</span> }
                            </button>
                        </li>
                    }
                }) }
            </ol>
            <button class="link-button" onclick={props.onclear.reform(|_| ())}>{ "Forget all packets, conntrack and ARP caches" }</button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct ControlProps {
    pub at: usize,
    pub count: usize,
    /// In an exercise, the number of steps is not told.
    pub count_hidden: bool,
    pub visible: Rc<Vec<usize>>,
    pub playing: bool,
    pub speed_ms: u32,
    pub onmove: Callback<Move>,
    /// To the next step that changes the packet.
    pub onchange: Callback<()>,
    pub onplay: Callback<()>,
    pub onspeed: Callback<u32>,
    /// The step's host and what it did, for the live region.
    pub said: String,
    /// The step in a line (host, stage, summary), shown above the buttons
    /// where they are the frame's bottom bar (a narrow embed), so the
    /// reader sees what happened beside the picture.
    pub caption: String,
}

/// First, back, play/pause, forward, last, and the speed.
pub fn step_controls(props: &ControlProps) -> Html {
    let first = props.visible.first() == Some(&props.at);
    let last = props.visible.last() == Some(&props.at);
    let b = |id: &'static str, label: &'static str, icon: &'static str, m: Move, disabled: bool| {
        html! {
            <button id={id} class="step-button" aria-label={label} title={label} {disabled}
                onclick={props.onmove.reform(move |_| m)}>
                <span aria-hidden="true">{ icon }</span>
            </button>
        }
    };
    let onspeed = props.onspeed.reform(|e: Event| {
        let v = e
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value();
        v.parse().unwrap_or(700)
    });
    let position = props
        .visible
        .iter()
        .position(|&i| i == props.at)
        .map(|p| p + 1)
        .unwrap_or(0);
    let digits = |n: usize| n.to_string().len();
    let mut width = 2 * digits(props.count) + 4;
    if props.visible.len() != props.count {
        width += 2 * digits(props.visible.len()) + 14;
    }
    html! {
        <div class="step-controls" role="group" aria-label="Step through the trace">
            // Heard through the live region already.
            <p class="step-caption" aria-hidden="true" title={props.caption.clone()}>{ &props.caption }</p>
            // The narrow layout's bar, far above the headers and Why
            // under the picture: a way down to them (the style sheet
            // shows it there, for a step with an explanation).
            <button type="button" id="bar-why" class="link-button bar-why" title="Go to this step's headers' end and its explanation"
                onclick={Callback::from(|_| crate::ui::browser::show_why())}>{ "Why" }<span aria-hidden="true">{ " ↓" }</span></button>
            { b("step-first", "First step (Home)", "⇤", Move::First, first) }
            { b("step-back", "Previous step (←)", "◀", Move::Back, first) }
            // A toggle: its name the words shown (a voice saying "click
            // Pause" finds it), its state in aria-pressed.
            <button id="play" class="step-button play" aria-pressed={props.playing.to_string()}
                aria-label={if props.playing { "Pause (Space)" } else { "Play (Space)" }}
                onclick={props.onplay.reform(|_| ())}>
                <span aria-hidden="true">{ if props.playing { "❚❚ Pause" } else { "▷ Play" } }</span>
            </button>
            { b("step-forward", "Next step (→)", "▶", Move::Forward, last) }
            { b("step-last", if props.count_hidden { "The furthest step reached, or the next (End): an exercise" } else { "Last step (End)" }, "⇥", Move::Last, last) }
            <button id="step-change" class="step-button change" title="Next change: the next step that changes the packet (N)"
                aria-label="Next change: the next step that changes the packet (N)" disabled={last}
                onclick={props.onchange.reform(|_| ())}>
                { "Next change" }<span aria-hidden="true">{ " »" }</span>
            </button>
            // As wide as its widest value, so the row does not reflow
            // when the step number gains a digit.
            // Quiet while playing: a screen reader would queue every step.
            <span class="step-position" aria-live={if props.playing { "off" } else { "polite" }} style={format!("min-width: {}ch", width)}>
                <span class="visually-hidden">{ "Step " }</span>
                if props.count_hidden {
                    { format!("{} of …", props.at + 1) }
                } else {
                    { format!("{} of {}", props.at + 1, props.count) }
                }
                if props.visible.len() != props.count && !props.count_hidden {
                    <span class="muted shown-count">{ format!(" ({position} of {} shown)", props.visible.len()) }</span>
                }
                if !props.said.is_empty() {
                    <span class="visually-hidden">{ format!(", {}", props.said) }</span>
                }
            </span>
            <label class="speed">
                <select onchange={onspeed} aria-label="Play speed" title="Play speed">
                    { for [(1400u32, "slow"), (700, "normal"), (300, "fast")].iter().map(|(ms, name)| html! {
                        <option value={ms.to_string()} selected={*ms == props.speed_ms}>{ *name }</option>
                    }) }
                </select>
            </label>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct EventListProps {
    pub trace: Rc<Trace>,
    pub selected: usize,
    /// In an exercise, the last step the learner has reached: the list
    /// stops there.
    #[prop_or_default]
    pub upto: Option<usize>,
    pub filters: Filters,
    pub onselect: Callback<usize>,
    pub onfilters: Callback<Filters>,
}

/// Rows further than this from the selected one (in the list as shown)
/// are laid out only when they come into the list's view (`.far`:
/// `content-visibility: auto`). The rows around it are always laid out,
/// so that it is scrolled to where their real heights put it.
const NEAR_ROWS: usize = 30;

/// One row per step (the hidden kinds left out), the selected one marked
/// and scrolled into view.
#[function_component(EventList)]
pub fn event_list(props: &EventListProps) -> Html {
    let list = use_node_ref();
    {
        let list = list.clone();
        use_effect_with(props.selected, move |sel| {
            if let Some(el) = list.cast::<web_sys::Element>() {
                if let Ok(Some(row)) = el.query_selector(&format!("[data-step='{sel}']")) {
                    if let Some(row) = row.dyn_ref::<web_sys::HtmlElement>() {
                        // Scroll the list only, not the page.
                        let top = row.offset_top() as f64;
                        let h = el.client_height() as f64;
                        let cur = el.scroll_top() as f64;
                        let rh = row.offset_height() as f64;
                        if top < cur || top + rh > cur + h {
                            el.set_scroll_top((top - h / 3.0).max(0.0) as i32);
                        }
                    }
                }
            }
        });
    }
    let f = props.filters;
    let toggle =
        |label: &'static str, id: &'static str, title: &'static str, hidden: bool, set: fn(&mut Filters, bool)| {
            let onfilters = props.onfilters.clone();
            let onchange = Callback::from(move |_| {
                let mut n = f;
                set(&mut n, !hidden);
                onfilters.emit(n);
            });
            html! {
                <label class="filter" key={id} {title}>
                    <input type="checkbox" id={id} checked={!hidden} {onchange} />
                    { label }
                </label>
            }
        };
    let trace = &props.trace;
    let rows: Vec<_> = (trace.steps.iter().enumerate())
        .filter(|(i, s)| f.shows(s) && props.upto.is_none_or(|u| *i <= u))
        .collect();
    let selected_at = rows.partition_point(|(i, _)| *i < props.selected);
    html! {
        <>
            <fieldset class="filters">
                <legend>{ "Show" }</legend>
                { toggle("rule skips", "show-skips", "The rules the packet was tested against that did not match", f.hide_skips, |f, v| f.hide_skips = v) }
                { toggle("chain walk", "show-walk", "Each hook and chain entered, each chain's end, and built-in chains' ACCEPT policies (the matched rules still name their chain)", f.hide_walk, |f, v| f.hide_walk = v) }
                { toggle("conntrack", "show-conntrack", "Conntrack's lookups and confirmations, and the nat table left out for a known connection", f.hide_conntrack, |f, v| f.hide_conntrack = v) }
                { toggle("routing", "show-routing", "The routing decisions with the routes weighed, TTL and redirects", f.hide_routing, |f, v| f.hide_routing = v) }
                { toggle("devices", "show-devices", "The devices that receive and transmit the packet, ARP, and a tunnel's encapsulation", f.hide_devices, |f, v| f.hide_devices = v) }
            </fieldset>
            <ol class="event-list" ref={list} role="listbox" aria-label="Steps of the trace" tabindex="0"
                aria-activedescendant={format!("step-{}", props.selected)}>
                { for rows.iter().enumerate().map(|(at, &(i, s))| {
                    let kind = RowKind::of(s);
                    let sel = i == props.selected;
                    let far = at.abs_diff(selected_at) > NEAR_ROWS;
                    let onclick = props.onselect.reform(move |_| i);
                    html! {
                        <li key={i} id={format!("step-{i}")} data-step={i.to_string()} role="option"
                            aria-selected={sel.to_string()}
                            class={classes!("event", kind.class(), sel.then_some("selected"), far.then_some("far"))} {onclick}>
                            <span class="ev-n">{ i + 1 }</span>
                            <span class="ev-ns" title={s.ns.clone()}>{ s.ns.clone() }</span>
                            <span class={classes!("ev-layer", format!("layer-{}", layer_name(s.layer)))}>{ layer_name(s.layer) }</span>
                            <code class="ev-stage">{ render::stage(s) }</code>
                            <span class="ev-what">
                                if let Some((icon, label)) = kind.label() {
                                    <span class={classes!("tag", kind.class())}>
                                        <span aria-hidden="true">{ icon }</span>{ " " }{ label }
                                    </span>{ " " }
                                }
                                { unbroken(&kind.after_label(render::summary(s))) }
                            </span>
                        </li>
                    }
                }) }
            </ol>
        </>
    }
}
