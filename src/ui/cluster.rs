//! The cluster panel: the Kubernetes objects a scenario is made from, as a
//! small form (network mode, one more endpoint) and as YAML, with what the
//! last sync changed on each node and what each KUBE-* chain stands for.

use crate::ui::model::plural;
use crate::engine::cni::NodeDiff;
use crate::engine::generator::{ClusterForm, ServiceForm};
use crate::engine::k8s::{edit::EndpointState, MODES};
use crate::ui::editors::CodeEditor;
use crate::ui::session::{ClusterDraft, SharedText};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ClusterProps {
    pub draft: ClusterDraft,
    /// The node the editors show (its chains are named below).
    pub node: Option<String>,
    pub onedit: Callback<Rc<str>>,
    pub onmode: Callback<String>,
    /// kube-proxy's layout: `current` or `legacy`.
    pub onlayout: Callback<String>,
    /// Flannel's hairpin mode on or off.
    pub onhairpin: Callback<bool>,
    /// Service (`namespace/name`) and node to add an endpoint on.
    pub onadd: Callback<(String, String)>,
    /// Service, `spec` field, value.
    pub onservice: Callback<(String, String, String)>,
    /// An endpoint (its line in the YAML): a new state, or None to remove it.
    pub onendpoint: Callback<(usize, Option<EndpointState>)>,
    /// The node's VXLAN neighbour and FDB entries (`ip neigh`, `bridge fdb`).
    pub vxlan: Rc<Vec<String>>,
    /// A line of the YAML to mark (the object a rule was written for).
    pub highlight: Option<usize>,
}

fn diff_list(d: &NodeDiff) -> Html {
    let lines = |lines: &[String], total: usize, added: bool| {
        let (sign, class, said) = if added {
            ("+", "diff-add", "added: ")
        } else {
            ("−", "diff-del", "removed: ")
        };
        let more = total.saturating_sub(lines.len());
        html! { <>
            { for lines.iter().map(|l| html! { <li class={class}><span aria-hidden="true">{ sign }</span><span class="visually-hidden">{ said }</span><code>{ l.clone() }</code></li> }) }
            if more > 0 { <li class="diff-more">{ format!("… and {} {}", plural(more, "more line"), if added { "added" } else { "removed" }) }</li> }
        </> }
    };
    let (r, t, l) = (&d.rules, &d.routes, &d.links);
    html! {
        <details class="sync-diff" open={d.note.is_some()}>
            // Lines of the two texts: a chain's declaration counts as one.
            <summary>
                { format!("{}: iptables-save lines +{} −{}, routes +{} −{}", d.node, r.added_total, r.removed_total, t.added_total, t.removed_total) }
                if !l.is_empty() { { format!(", devices +{} −{}", l.added_total, l.removed_total) } }
            </summary>
            if let Some(n) = &d.note { <p class="form-error">{ n.clone() }</p> }
            // Scrolls: the keyboard must reach it (WCAG scrollable-region-focusable).
            <ul class="diff-lines" tabindex="0" aria-label={format!("What the sync changed on {}", d.node)}>
                { lines(&r.removed, r.removed_total, false) }
                { lines(&r.added, r.added_total, true) }
                { lines(&t.removed, t.removed_total, false) }
                { lines(&t.added, t.added_total, true) }
                { lines(&l.removed, l.removed_total, false) }
                { lines(&l.added, l.added_total, true) }
            </ul>
        </details>
    }
}

/// A Service's `namespace/name` as a part of element ids.
fn slug(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

fn remove_id(slug: &str, i: usize) -> String {
    format!("remove-{slug}-{i}")
}

fn add_id(slug: &str, i: usize) -> String {
    format!("add-{slug}-{i}")
}

/// Where the focus goes when the endpoint at YAML line `line` is removed
/// with its row: the Remove button of the row that takes its place, else
/// of the row before, else the Service's first "+ endpoint" button.
pub fn after_removal(form: &ClusterForm, line: usize) -> Vec<String> {
    form.services
        .iter()
        .find_map(|s| {
            let i = s.endpoints.iter().position(|e| e.line == line)?;
            let slug = slug(&s.key);
            let mut ids = vec![remove_id(&slug, i)];
            ids.extend(i.checked_sub(1).map(|j| remove_id(&slug, j)));
            ids.push(add_id(&slug, 0));
            Some(ids)
        })
        .unwrap_or_default()
}

/// How many Services the form lists at once.
const SHOWN: usize = 20;

fn service_row(row: &ServiceForm, props: &ClusterProps) -> Html {
    let key = row.key.clone();
    // The form edits the YAML at the lines of the objects in use: not while
    // the YAML typed differs from them.
    let locked = props.draft.pending() || !props.draft.errors.is_empty();
    let select = |id: String, label: &'static str, field: &'static str, options: [(&'static str, &'static str); 2], on: bool, off: Option<&'static str>| {
        let (k, cb) = (key.clone(), props.onservice.clone());
        let onchange = Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            cb.emit((k.clone(), field.to_string(), v));
        });
        html! {
            <label class="inline-field" for={id.clone()} title={off}>{ label }
                <select id={id} {onchange} disabled={locked || off.is_some()}>
                    <option value={options[0].0} selected={!on}>{ options[0].1 }</option>
                    <option value={options[1].0} selected={on}>{ options[1].1 }</option>
                </select>
                if let Some(why) = off { <span class="muted">{ why }</span> }
            </label>
        }
    };
    let slug = slug(&key);
    html! {
        <div class="cluster-service" key={key.clone()}>
            <p><strong>{ key.clone() }</strong>{ format!(" — {}", plural(row.endpoints.len(), "endpoint")) }</p>
            <div class="button-row">
                <label class="inline-field" for={format!("type-{slug}")}>{ "type" }
                    <select id={format!("type-{slug}")} disabled={locked} onchange={{
                        let (k, cb) = (key.clone(), props.onservice.clone());
                        Callback::from(move |e: Event| {
                            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
                            cb.emit((k.clone(), "type".to_string(), v));
                        })
                    }}>
                        { for ["ClusterIP", "NodePort", "LoadBalancer"].iter().map(|t| html! { <option value={*t} selected={*t == row.kind.as_str()}>{ *t }</option> }) }
                    </select>
                </label>
                // The API server refuses an externalTrafficPolicy on a
                // Service nothing outside the cluster reaches.
                { select(format!("etp-{slug}"), "externalTrafficPolicy", "externalTrafficPolicy", [("Cluster", "Cluster"), ("Local", "Local")], row.external,
                    (!row.exposed).then_some("(NodePort or LoadBalancer only)")) }
                { select(format!("itp-{slug}"), "internalTrafficPolicy", "internalTrafficPolicy", [("Cluster", "Cluster"), ("Local", "Local")], row.internal, None) }
                { select(format!("aff-{slug}"), "sessionAffinity", "sessionAffinity", [("None", "None"), ("ClientIP", "ClientIP")], row.sticky, None) }
            </div>
            if !row.unserved.is_empty() {
                <p class="form-error service-unserved">{ format!(
                    "No endpoint serves port {} of {key}: its EndpointSlices list no port of that name and protocol, and kube-proxy matches endpoints to a Service's ports by both. Name the slice's port as the Service's.",
                    row.unserved.join(", ")
                ) }</p>
            }
            { for row.notes.iter().map(|n| html! { <p class="service-note"><span aria-hidden="true">{ "ℹ " }</span>{ n.clone() }</p> }) }
            if row.endpoints.is_empty() {
                <p class="muted">{ "No endpoints: kube-proxy rejects its ports (add one on a node below)." }</p>
            } else {
            <table class="explain-table endpoints">
                <caption class="visually-hidden">{ format!("Endpoints of {key}") }</caption>
                <thead><tr><th scope="col">{ "Endpoint" }</th><th scope="col">{ "Node" }</th><th scope="col">{ "State" }</th><th scope="col"><span class="visually-hidden">{ "Remove" }</span></th></tr></thead>
                <tbody>
                    { for row.endpoints.iter().enumerate().map(|(i, e)| {
                        let (ip, node, state) = (&e.ip, &e.node, &e.state);
                        let (line, cb, rm) = (e.line, props.onendpoint.clone(), props.onendpoint.clone());
                        let onchange = Callback::from(move |e: Event| {
                            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
                            let s = match v.as_str() {
                                "terminating" => EndpointState::Terminating,
                                "notready" => EndpointState::NotReady,
                                _ => EndpointState::Ready,
                            };
                            cb.emit((line, Some(s)));
                        });
                        html! {
                            <tr>
                                <td><code>{ ip.clone() }</code></td>
                                <td>{ if node.is_empty() { "?".to_string() } else { node.clone() } }</td>
                                <td><select aria-label={format!("State of endpoint {ip}")} {onchange} disabled={locked}>
                                    <option value="ready" selected={*state == EndpointState::Ready}>{ "ready" }</option>
                                    <option value="terminating" selected={*state == EndpointState::Terminating}>{ "terminating (still serving)" }</option>
                                    <option value="notready" selected={*state == EndpointState::NotReady}>{ "not ready" }</option>
                                </select></td>
                                <td><button class="small" id={remove_id(&slug, i)} disabled={locked} aria-label={format!("Remove endpoint {ip}")}
                                    title="Takes the endpoint out of its EndpointSlice, as when its pod goes away. A pod the YAML does not list as a Pod is drawn from its endpoint, so it goes too, with its veth and its route; a listed Pod stays."
                                    onclick={Callback::from(move |_| rm.emit((line, None)))}>{ "Remove" }</button></td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            }
            <div class="button-row">
                { for props.draft.view.form.nodes.iter().enumerate().map(|(i, n)| {
                    let (k, n2, onadd) = (key.clone(), n.clone(), props.onadd.clone());
                    html! { <button class="small" id={add_id(&slug, i)} disabled={locked} onclick={Callback::from(move |_| onadd.emit((k.clone(), n2.clone())))}
                        aria-label={format!("+ endpoint on {n} for {key}")}>{ format!("+ endpoint on {n}") }</button> }
                }) }
            </div>
        </div>
    }
}

#[function_component(ClusterPanel)]
pub fn cluster_panel(props: &ClusterProps) -> Html {
    let form = &props.draft.view.form;
    // The node's sync: its chains' names and kube-proxy's own text.
    let sync = props.node.as_deref().and_then(|n| props.draft.node(n));
    let names: &[(String, String)] = sync.map_or(&[], |s| &s.names);
    let restore = sync.map(|s| s.restore.clone());
    let mode = form.mode.clone();
    let onmode = props
        .onmode
        .reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    let onlayout = props
        .onlayout
        .reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    let legacy = form.legacy;
    let onhairpin = props
        .onhairpin
        .reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlInputElement>().checked());
    // Hundreds of Services would be thousands of fields: the form lists a
    // few, found by part of their name.
    let find = use_state(String::new);
    let onfind = {
        let find = find.clone();
        Callback::from(move |e: InputEvent| {
            find.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value());
        })
    };
    // Only while the box is shown (a YAML cut to a few Services lists them all).
    let many = form.services.len() > SHOWN;
    let needle = if many { find.trim().to_ascii_lowercase() } else { String::new() };
    let found = |s: &&ServiceForm| s.key.to_ascii_lowercase().contains(&needle);
    let matching = form.services.iter().filter(found).count();
    let shown: Vec<&ServiceForm> = form.services.iter().filter(found).take(SHOWN).collect();
    let count = if matching == 0 {
        format!("No Service's namespace/name contains \"{needle}\" (of {}).", form.services.len())
    } else if needle.is_empty() {
        format!("{SHOWN} of {}: the form lists at most {SHOWN}; type part of a name to find another.", plural(form.services.len(), "Service"))
    } else if matching <= SHOWN {
        format!("{matching} of {} match \"{needle}\".", plural(form.services.len(), "Service"))
    } else {
        format!("{SHOWN} of the {matching} matching \"{needle}\" (of {}): type more of the name.", plural(form.services.len(), "Service"))
    };
    let said = use_state(String::new);
    {
        let said = said.clone();
        let typed = !needle.is_empty();
        use_effect_with(count.clone(), move |count| {
            let count = count.clone();
            let t = typed.then(|| gloo_timers::callback::Timeout::new(700, move || said.set(count)));
            move || drop(t)
        });
    }
    let errors = Rc::new(props.draft.errors.to_vec());
    // Errors in a node's generated text (with their context) are not at
    // lines of the YAML: listed, not marked in the editor.
    let yaml_errors = Rc::new(errors.iter().filter(|e| e.context.is_none()).cloned().collect::<Vec<_>>());
    let status = if !errors.is_empty() {
        html! { <span class="tag row-drop" id="cluster-yaml-status"><span aria-hidden="true">{ "✕" }</span>{ format!(" {}: the nodes keep what the last valid objects made", crate::ui::model::error_count(errors.len())) }</span> }
    } else if props.draft.pending() {
        html! { <span class="tag" id="cluster-yaml-status">{ "syncing…" }</span> }
    } else {
        html! { <span class="tag row-deliver" id="cluster-yaml-status"><span aria-hidden="true">{ "✓" }</span>{ " in sync" }</span> }
    };
    html! {
        <section class="panel cluster-panel" aria-labelledby="cluster-h">
            <h2 id="cluster-h">{ "Cluster: the objects kube-proxy and the CNI read" }</h2>
            if !props.draft.errors.is_empty() {
                <p class="form-error">{ "The form is paused until the YAML below has no errors: it edits the objects in use." }</p>
            }
            <p class="hint">{ "Every node's KUBE-* chains, the CNI's masquerade chains and the pod routes are generated from these objects. Change them and each node syncs as it would for real: kube-proxy's and the CNI's chains are written again, your own chains and routes stay." }</p>
            <div class="cluster-form">
                <label for="cluster-mode">{ "Network mode" }</label>
                <select id="cluster-mode" onchange={onmode}>
                    { for MODES.iter().map(|m| html! { <option value={*m} selected={*m == mode}>{ *m }</option> }) }
                </select>
                <label for="cluster-layout">{ "kube-proxy's rules" }</label>
                <select id="cluster-layout" onchange={onlayout}>
                    <option value="current" selected={!legacy}>{ "as current kube-proxy writes them" }</option>
                    <option value="legacy" selected={legacy}>{ "as kube-proxy 1.18 wrote them (the article's time)" }</option>
                </select>
                if mode.starts_with("flannel") {
                    <label class="check" for="cluster-hairpin">
                        <input type="checkbox" id="cluster-hairpin" checked={form.hairpin} onchange={onhairpin} />
                        { " hairpin mode on cni0's ports: a pod may reach itself through its Service (Flannel's CNI config hairpinMode)" }
                    </label>
                }
                if many {
                    <div class="cluster-find">
                    <label for="cluster-find">{ "Find a Service" }</label>
                    <input id="cluster-find" type="search" value={(*find).clone()} oninput={onfind}
                        aria-describedby="cluster-find-count" placeholder="part of namespace/name" />
                    <p class="help" id="cluster-find-count">{ count.clone() }</p>
                    // Said once typing pauses, not at every key.
                    <p class="visually-hidden" aria-live="polite">{ (*said).clone() }</p>
                    </div>
                }
                <div class="cluster-services">
                    { for shown.iter().map(|row| service_row(row, props)) }
                </div>
            </div>
            <div class="editor-head">
                <h3 id="cluster-yaml-h">{ "Kubernetes objects (YAML)" }</h3>
                { status }
            </div>
            <CodeEditor id="cluster-yaml" label="Kubernetes objects as YAML: Services, EndpointSlices, Nodes, Pods and the Network document"
                text={SharedText(props.draft.text.clone())} errors={yaml_errors} highlight={props.highlight} onedit={props.onedit.clone()} />
            if !errors.is_empty() {
                <ul class="error-list" id="cluster-yaml-errors" aria-label="Errors in the Kubernetes objects">
                    { for errors.iter().take(50).map(|e| html! {
                        <li>{ match (&e.context, e.line) {
                            (Some(_), _) => e.to_string(),
                            (None, _) => format!("{}: {}", e.place().unwrap_or_else(|| "whole text".into()), e.message),
                        } }</li>
                    }) }
                </ul>
            }
            if !props.draft.diffs.is_empty() {
                <h3>{ "What the last sync changed" }</h3>
                { for props.draft.diffs.iter().filter(|d| !d.is_empty()).map(diff_list) }
                if props.draft.diffs.iter().all(NodeDiff::is_empty) { <p>{ "Nothing: the objects give the same rules, routes and devices." }</p> }
            }
            if !names.is_empty() {
                <details class="chain-names" open=true>
                    <summary>{ format!("kube-proxy's and the CNI's chains on {} and what they stand for", props.node.clone().unwrap_or_default()) }</summary>
                    <table class="explain-table">
                        <thead><tr><th scope="col">{ "Chain" }</th><th scope="col">{ "Service port (→ endpoint), or what the CNI wrote it for" }</th></tr></thead>
                        <tbody>
                            { for names.iter().map(|(c, w)| html! { <tr><td><code>{ c.clone() }</code></td><td>{ w.clone() }</td></tr> }) }
                        </tbody>
                    </table>
                </details>
            }
            if !props.vxlan.is_empty() {
                <details class="vxlan-entries">
                    <summary>{ format!("How {} finds the other nodes' VTEPs: ip neigh and bridge fdb", props.node.clone().unwrap_or_default()) }</summary>
                    <pre class="restore-text" tabindex="0" aria-label="VXLAN neighbour and forwarding entries">{ props.vxlan.join("\n") }</pre>
                </details>
            }
            if let Some(text) = restore {
                <details class="restore-input">
                    <summary>{ format!("kube-proxy's own text for {} (its iptables-restore input) and why iptables-save prints it differently", props.node.clone().unwrap_or_default()) }</summary>
                    <p>{ "kube-proxy writes the text below; the kernel keeps rules as structures, so iptables-save prints them back its own way:" }</p>
                    <ul>
                        <li>{ "the address and protocol tests come first: " }<code>{ "-m tcp -p tcp -d 10.96.100.10" }</code>{ " becomes " }<code>{ "-d 10.96.100.10/32 -p tcp … -m tcp" }</code>{ " (with /32)" }</li>
                        <li>{ "every comment is quoted, and a probability has 11 decimals (stored as a fraction of 2³¹): " }<code>{ "0.3333333333" }</code>{ " becomes " }<code>{ "0.33333333349" }</code></li>
                        <li><code>{ "MARK --or-mark 0x4000" }</code>{ " becomes " }<code>{ "MARK --set-xmark 0x4000/0x4000" }</code>{ ", " }<code>{ "--xor-mark 0x4000" }</code>{ " becomes " }<code>{ "--set-xmark 0x4000/0x0" }</code></li>
                        <li><code>{ "REJECT" }</code>{ " gets " }<code>{ "--reject-with icmp-port-unreachable" }</code>{ "; " }<code>{ "recent" }</code>{ " gets its defaults (" }<code>{ "--mask 255.255.255.255 --rsource" }</code>{ ")" }</li>
                        <li>{ "the restore holds only kube-proxy's chains; the jumps from PREROUTING, INPUT, FORWARD, OUTPUT and POSTROUTING are added separately, at the top of those chains" }</li>
                    </ul>
                    <pre class="restore-text" tabindex="0" aria-label="kube-proxy's iptables-restore input">{ text }</pre>
                </details>
            }
        </section>
    }
}
