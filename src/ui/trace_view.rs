//! The trace as a table (one row per step, in the engine's words) and the
//! verdict below it.

use crate::engine::render;
use crate::engine::trace::{Step, Trace, Verdict};
use crate::engine::SendSpec;
use crate::ui::model::{header_changes, layer_name, path, verdict_words, RowKind};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TraceProps {
    pub trace: Rc<Trace>,
    /// The packet that was sent, for the heading.
    #[prop_or_default]
    pub spec: Option<Rc<SendSpec>>,
}

/// The steps as a table, grouped by namespace, then the verdict.
#[function_component(TraceView)]
pub fn trace_view(props: &TraceProps) -> Html {
    let trace = &props.trace;
    // Consecutive steps in one namespace form one row group.
    let mut groups: Vec<(usize, &[Step])> = Vec::new();
    let mut start = 0;
    for i in 1..=trace.steps.len() {
        if i == trace.steps.len() || trace.steps[i].ns != trace.steps[start].ns {
            groups.push((start, &trace.steps[start..i]));
            start = i;
        }
    }
    let hops = path(trace);
    html! {
        <>
            <section id="trace" class="trace-section" aria-labelledby="trace-h" tabindex="-1">
                <h2 id="trace-h">{ "Trace" }</h2>
                <p class="trace-meta">
                    if let Some(spec) = &props.spec {
                        { "Packet: " }
                        <code>{ format!("{} from {} to {}", spec.proto, spec.from, spec.to) }</code>
                        { ". " }
                    }
                    { format!("{} steps through ", trace.steps.len()) }
                    <span class="path">{ hops.join(" → ") }</span>
                    { ". " }
                    <a href="#verdict">{ "The verdict" }</a>
                    { " follows the table." }
                </p>
                <Legend />
                <table class="trace" aria-describedby="trace-legend">
                    <caption class="visually-hidden">
                        { "Every step of the packet's walk: number, network namespace, layer, stage, and what happened." }
                    </caption>
                    <thead>
                        <tr>
                            <th scope="col" class="num">{ "#" }</th>
                            <th scope="col" class="ns">{ "Namespace" }</th>
                            <th scope="col" class="layer">{ "Layer" }</th>
                            <th scope="col" class="stage">{ "Stage" }</th>
                            <th scope="col" class="what">{ "What happened" }</th>
                        </tr>
                    </thead>
                    { for groups.iter().map(|(first, steps)| html! {
                        <tbody key={*first} class="ns-group">
                            { for steps.iter().enumerate().map(|(j, s)| {
                                let i = first + j;
                                let prev = i.checked_sub(1).map(|p| &trace.steps[p]);
                                step_row(i, s, prev, j > 0)
                            }) }
                        </tbody>
                    }) }
                </table>
            </section>
            <VerdictView trace={trace.clone()} />
        </>
    }
}

/// One row. `repeat_ns` mutes the namespace when the row above has the same.
fn step_row(i: usize, step: &Step, prev: Option<&Step>, repeat_ns: bool) -> Html {
    let kind = RowKind::of(step);
    let changes = prev
        .map(|p| header_changes(&p.packet, &step.packet))
        .unwrap_or_default();
    let changed = !changes.is_empty();
    html! {
        <tr key={i} class={classes!(kind.class(), changed.then_some("row-changed"))}>
            <th scope="row" class="num">{ i + 1 }</th>
            <td class={classes!("ns", repeat_ns.then_some("ns-repeat"))}>{ step.ns.clone() }</td>
            <td class="layer">{ layer_name(step.layer) }</td>
            <td class="stage"><code>{ render::stage(step) }</code></td>
            <td class="what">
                if let Some((icon, label)) = kind.label() {
                    <span class={classes!("tag", kind.class())}>
                        <span class="tag-icon" aria-hidden="true">{ icon }</span>
                        { label }
                    </span>
                    { " " }
                }
                <span class="summary">{ render::summary(step) }</span>
                if changed {
                    <ul class="changes" aria-label="header fields changed by this step">
                        { for changes.into_iter().map(|c| html! { <li><code>{ c }</code></li> }) }
                    </ul>
                }
            </td>
        </tr>
    }
}

/// What the row labels mean.
#[function_component(Legend)]
fn legend() -> Html {
    let items = [
        RowKind::Match,
        RowKind::Nat,
        RowKind::Mark,
        RowKind::Tunnel,
        RowKind::Deliver,
        RowKind::Drop,
    ];
    let meaning = |k: RowKind| match k {
        RowKind::Match => "a rule matched",
        RowKind::Nat => "an address was rewritten",
        RowKind::Mark => "the packet mark changed",
        RowKind::Tunnel => "a tunnel header was added or removed",
        RowKind::Deliver => "a socket received the packet",
        RowKind::Drop => "the packet was dropped",
        _ => "",
    };
    html! {
        <div id="trace-legend" class="legend">
            <ul aria-label="What the row labels mean">
                <li class="legend-title" aria-hidden="true">{ "Labels:" }</li>
                { for items.iter().filter_map(|k| k.label().map(|(icon, label)| html! {
                    <li>
                        <span class={classes!("tag", k.class())}>
                            <span class="tag-icon" aria-hidden="true">{ icon }</span>
                            { label }
                        </span>
                        { " " }{ meaning(*k) }
                    </li>
                })) }
                <li>
                    <span class="changes-sample"><code>{ "dst a → b" }</code></span>
                    { " header fields the step changed" }
                </li>
                <li><span class="muted-sample">{ "muted" }</span>{ " rules skipped without a match" }</li>
            </ul>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct VerdictProps {
    pub trace: Rc<Trace>,
}

/// How the walk ended, in words.
#[function_component(VerdictView)]
pub fn verdict_view(props: &VerdictProps) -> Html {
    let (headline, sentence) = verdict_words(&props.trace);
    let (class, icon) = match props.trace.verdict {
        Verdict::Delivered { .. } => ("verdict-delivered", "✓"),
        Verdict::Dropped { .. } => ("verdict-dropped", "✕"),
        Verdict::Left { .. } => ("verdict-left", "→"),
    };
    html! {
        <section id="verdict" class={classes!("verdict", class)} aria-labelledby="verdict-h">
            <h2 id="verdict-h">
                <span class="verdict-icon" aria-hidden="true">{ icon }</span>
                { format!("Verdict: {headline}") }
            </h2>
            <p>{ sentence }</p>
        </section>
    }
}
