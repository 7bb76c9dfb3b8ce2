//! The page: header with the scenario picker, the scenario's notes and
//! hosts, and the trace of its preset packet.

use crate::engine::scenario;
use crate::ui::model::{self, Walk};
use crate::ui::scenario_view::{HostList, Notes};
use crate::ui::trace_view::TraceView;
use std::rc::Rc;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

/// The scenario named by `?scenario=NAME` in the page address, if it is a
/// built-in one; else the default (the first built-in).
fn initial_scenario() -> String {
    let from_url = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| {
            q.trim_start_matches('?')
                .split('&')
                .find_map(|kv| kv.strip_prefix("scenario=").map(str::to_string))
        })
        .filter(|name| scenario::BUILTIN.contains(&name.as_str()));
    from_url.unwrap_or_else(|| scenario::BUILTIN[0].to_string())
}

/// Records the choice in the address (`?scenario=NAME`) without reloading,
/// so a reload or a shared link shows the same scenario.
fn remember_scenario(name: &str) {
    if let Some(w) = web_sys::window() {
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&format!("?scenario={name}")),
            );
        }
    }
}

#[derive(Properties, PartialEq)]
struct PickerProps {
    selected: AttrValue,
    onchange: Callback<String>,
}

/// The built-in scenarios; choosing one recomputes the page.
#[function_component(ScenarioPicker)]
fn scenario_picker(props: &PickerProps) -> Html {
    let onchange = {
        let cb = props.onchange.clone();
        Callback::from(move |e: Event| {
            cb.emit(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    html! {
        <div class="picker">
            <label for="scenario-picker">{ "Scenario" }</label>
            <select id="scenario-picker" {onchange}>
                { for scenario::BUILTIN.iter().map(|name| {
                    let title = scenario::builtin(name).map(|s| s.title).unwrap_or_default();
                    html! {
                        <option key={*name} value={*name} selected={props.selected == *name}>
                            { title }
                        </option>
                    }
                }) }
            </select>
        </div>
    }
}

/// The whole page.
#[function_component(App)]
pub fn app() -> Html {
    let selected = use_state(initial_scenario);
    let walk: Rc<Result<Walk, String>> = use_memo((*selected).clone(), |name| model::walk(name));
    let onchange = {
        let selected = selected.clone();
        Callback::from(move |name: String| {
            remember_scenario(&name);
            selected.set(name);
        })
    };

    let body = match &*walk {
        Err(e) => html! { <p class="error" role="alert">{ e.clone() }</p> },
        Ok(w) => {
            let sc = &w.scenario;
            html! {
                <>
                    <section class="scenario" aria-labelledby="scenario-title">
                        <div class="scenario-text">
                            <h2 id="scenario-title">{ sc.title.clone() }</h2>
                            <p class="description">{ sc.description.clone() }</p>
                            <Notes notes={Rc::new(sc.notes.clone())} />
                        </div>
                        <HostList hosts={Rc::new(sc.hosts.clone())} />
                    </section>
                    {
                        match &w.trace {
                            Ok(t) => html! { <TraceView trace={t.clone()} spec={w.spec.clone().map(Rc::new)} /> },
                            Err(e) => html! {
                                <section class="error" role="alert" aria-labelledby="trace-error">
                                    <h2 id="trace-error">{ "No trace" }</h2>
                                    <pre>{ e.clone() }</pre>
                                </section>
                            },
                        }
                    }
                </>
            }
        }
    };

    html! {
        <>
            <a class="skip-link" href="#trace">{ "Skip to the trace" }</a>
            <header class="page-header">
                <div class="brand">
                    <h1>{ "Packet Walk" }</h1>
                    <p class="tagline">
                        { "One packet through a Kubernetes node: kube-proxy's iptables chains, conntrack and the CNI's routes." }
                    </p>
                </div>
                <ScenarioPicker selected={AttrValue::from((*selected).clone())} {onchange} />
            </header>
            <main>{ body }</main>
        </>
    }
}
