//! The packet at the selected step, as layered headers. Every field the
//! step changed is marked (a "changed" label and the old value struck
//! through, not colour alone); a NAT step adds a before → after line
//! naming the rule that made the change. That line and the step's
//! explanation (Why, given as children) come under the headers, so that
//! the headers stay in one place from step to step.

use crate::engine::render;
use crate::engine::trace::{StepKind, Trace};
use crate::ui::model::{header_layers, layer_name, removed_outer};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    pub trace: Rc<Trace>,
    pub step: usize,
    /// Shown after the step's line, before the headers (the Why panel).
    #[prop_or_default]
    pub children: Html,
}

#[function_component(HeaderView)]
pub fn header_view(props: &HeaderProps) -> Html {
    let Some(st) = props.trace.steps.get(props.step) else {
        return html! {};
    };
    let prev = props
        .step
        .checked_sub(1)
        .and_then(|p| props.trace.steps.get(p))
        .map(|p| &p.packet);
    let layers = header_layers(prev, &st.packet);
    let removed = removed_outer(prev, &st.packet);
    let nat = match &st.kind {
        StepKind::Nat {
            nat,
            before,
            after,
            rule,
        } => Some(html! {
            <p class="nat-line">
                <span class="tag row-nat"><span aria-hidden="true">{ "⇄" }</span>{ format!(" {}", nat.name()) }</span>
                { " " }<code>{ before.to_string() }</code>{ " → " }<code class="nat-after">{ after.to_string() }</code>
                {
                    match rule {
                        Some(r) => html! { <>{ format!(" by rule {} (line {}): ", r.index, r.line) }<code class="rule-text">{ crate::ui::events::unbroken(&r.text) }</code></> },
                        None if *nat == crate::engine::trace::NatKind::NullBinding => html! { { " by conntrack: no nat rule changed the source, and another connection holds this one's reply tuple" } },
                        None => html! { { " by the connection's NAT binding (conntrack), without the nat chains" } },
                    }
                }
            </p>
        }),
        _ => None,
    };
    let where_ = match (&st.packet.iif, &st.packet.oif) {
        (Some(i), Some(o)) => format!(" · in {i}, out {o}"),
        (Some(i), None) => format!(" · in {i}"),
        (None, Some(o)) => format!(" · out {o}"),
        _ => String::new(),
    };
    html! {
        <section id="headers" class="headers" aria-labelledby="headers-h">
            <h3 id="headers-h">
                { format!("Step {} · {} ", props.step + 1, st.ns) }
                <span class={classes!("layer-badge", format!("layer-{}", layer_name(st.layer)))}>
                    { format!("{} layer", layer_name(st.layer)) }
                </span>
            </h3>
            <p class="step-summary"><code>{ render::stage(st) }</code>{ " " }
                {
                    match &st.kind {
                        StepKind::RuleMatch { rule, target, .. } => html! { format!("rule {} matches → {target}", rule.index) },
                        _ => crate::ui::events::unbroken(&render::summary(st)),
                    }
                }
                <span class="muted">{ where_ }</span>
                // The explanation is under the headers (which so stay in
                // one place): one click away. (Hidden by the style sheet
                // for a step without one.)
                <span class="why-jump"><span class="muted" aria-hidden="true">{ " · " }</span><button type="button" class="link-button" title="Go to this step's explanation, under the headers"
                    onclick={Callback::from(|_| crate::ui::browser::show_why())}>{ "Why" }<span aria-hidden="true">{ " ↓" }</span></button></span>
                // A matched rule's text on lines of its own, at most two:
                // the headers below stay in place from step to step (the
                // explanation has the text whole).
                if let StepKind::RuleMatch { rule, .. } = &st.kind {
                    <code class="rule-text step-rule" title={rule.text.clone()}>{ crate::ui::events::unbroken(&rule.text) }</code>
                }
            </p>
            <div class="layers">
                { for removed.iter().map(|r| html! {
                    <div class="hdr hdr-removed">
                        <div class="hdr-title"><span class="tag row-tunnel">{ "removed by this step" }</span></div>
                        <p class="hdr-removed-what"><del>{ r.clone() }</del></p>
                    </div>
                }) }
                { for layers.iter().map(|l| html! {
                    <div class={classes!("hdr", format!("hdr-{}", l.layer), l.added.then_some("hdr-added"))}>
                        <div class="hdr-title">
                            <span class="hdr-name">{ l.title.clone() }</span>
                            <span class="hdr-layer">{ l.layer }</span>
                            if l.added { <span class="tag row-tunnel">{ "added by this step" }</span> }
                        </div>
                        <dl class="fields">
                            { for l.fields.iter().map(|f| html! {
                                <div class={classes!("field", f.old.is_some().then_some("changed"), (f.value.len() > 12 && f.value.contains(" (")).then_some("field-wide"))} data-field={f.name}>
                                    <dt>{ f.name }</dt>
                                    <dd>
                                        <code class="value">{ f.value.clone() }</code>
                                        if let Some(old) = f.old.as_ref().filter(|o| *o != "–") {
                                            <span class="was">
                                                { " " }<span class="changed-label">{ "changed, was " }</span>
                                                <del>{ old.clone() }</del>
                                            </span>
                                        } else if f.old.is_some() {
                                            // (It had none: an out device once routed.)
                                            <span class="was">{ " " }<span class="changed-label">{ "new" }</span></span>
                                        }
                                    </dd>
                                </div>
                            }) }
                        </dl>
                    </div>
                }) }
            </div>
            // A NAT step's before → after line, then the step's Why, under
            // its headers, which so stay in one place from step to step.
            <div id="step-why" class="step-why" tabindex="-1">
                { nat.unwrap_or_default() }
                { props.children.clone() }
            </div>
        </section>
    }
}
