//! The scenario at a glance: its notes (choices made where the article is
//! silent) and a compact list of its hosts.

use crate::engine::scenario::{Host, HostKind};
use crate::ui::model::{device_lines, kind_name};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct NotesProps {
    pub notes: Rc<Vec<String>>,
}

/// The scenario's notes, as a list.
#[function_component(Notes)]
pub fn notes(props: &NotesProps) -> Html {
    if props.notes.is_empty() {
        return html! {};
    }
    html! {
        <section class="notes panel" aria-labelledby="notes-h">
            <h3 id="notes-h">{ "Notes" }</h3>
            <p class="panel-sub">{ "Choices made where the article is silent." }</p>
            <ul>
                { for props.notes.iter().map(|n| html! { <li>{ n.clone() }</li> }) }
            </ul>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct HostListProps {
    pub hosts: Rc<Vec<Host>>,
}

/// One row per host: name and kind (with the node and namespace of a pod),
/// then its devices with their addresses.
#[function_component(HostList)]
pub fn host_list(props: &HostListProps) -> Html {
    html! {
        <section class="hosts panel" aria-labelledby="hosts-h">
            <h3 id="hosts-h">{ "Hosts" }</h3>
            <table class="host-table">
                <caption class="visually-hidden">{ "The hosts of the scenario: name, kind, and each device with its addresses (loopback left out)" }</caption>
                <thead>
                    <tr>
                        <th scope="col">{ "Host and kind" }</th>
                        <th scope="col">{ "Devices and addresses" }</th>
                    </tr>
                </thead>
                <tbody>
                    { for props.hosts.iter().map(host_row) }
                </tbody>
            </table>
        </section>
    }
}

fn host_row(h: &Host) -> Html {
    let kind = match (h.kind, &h.node) {
        (HostKind::Pod, Some(node)) => format!("pod on {node}"),
        (k, _) => kind_name(k).to_string(),
    };
    let ns = h
        .namespace
        .as_ref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    html! {
        <tr key={h.name.clone()}>
            <th scope="row">
                <code class="host-name">{ h.name.clone() }</code>
                <span class={classes!("host-kind", format!("kind-{}", kind_name(h.kind)))}>{ format!("{kind}{ns}") }</span>
            </th>
            <td>
                <ul class="devices">
                    { for device_lines(h).into_iter().map(|d| html! { <li><code>{ d }</code></li> }) }
                </ul>
            </td>
        </tr>
    }
}
