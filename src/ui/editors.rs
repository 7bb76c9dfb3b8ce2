//! The editors of one host: its rules as `iptables-save` text (line
//! numbers, errors at their lines, the matched rule highlighted) or as a
//! table per chain with packet counters; its routes as `ip route` text or
//! a `route -n` table. Text applies as the learner types (the page
//! debounces); a file can be dropped on an editor or picked.
//!
//! Texts longer than [`LARGE_LINES`] (a real node's dump) are shown as a
//! virtualised, read-only listing: only the rows on screen exist in the
//! DOM. They are changed with `iptables` commands (`-A`, `-I`, `-D`, …).

use crate::ui::model::plural;
use crate::engine::error::ParseError;
use crate::engine::iptables::eval::RuleAt;
use crate::engine::iptables::{Counters, Ruleset};
use crate::engine::route::{RouteTable, TableId};
use crate::engine::route_text;
use crate::engine::scenario::HostKind;
use crate::ui::browser;
use crate::ui::model::kind_name;
use crate::ui::session::{Drafts, Field, SharedText};
use crate::ui::virtual_list::VirtualList;
use std::collections::HashMap;
use std::rc::Rc;
use web_sys::{HtmlElement, HtmlTextAreaElement};
use yew::prelude::*;

/// A host's rules, compared by identity (a new rule set is a new `Rc`).
#[derive(Clone, Debug, Default)]
pub struct RulesRef(pub Option<Rc<Ruleset>>);

impl PartialEq for RulesRef {
    fn eq(&self, o: &RulesRef) -> bool {
        match (&self.0, &o.0) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

/// Above this many lines a text is listed, not edited as a textarea.
pub const LARGE_LINES: usize = 3000;
/// Line height of the code views in px: the stylesheet's `--line`,
/// 1.25rem, which grows with the reader's text size (WCAG 1.4.4).
fn line_px() -> f64 {
    1.25 * browser::root_font_px()
}

/// How a text is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditorView {
    Text,
    Table,
}

/// An iptables command run on a listing: the line, and what it said
/// (applied, or why not).
#[derive(Debug, PartialEq)]
pub struct CommandResult {
    /// Counts the commands run: the same line run twice is two results.
    pub seq: u64,
    pub line: String,
    pub outcome: Result<String, String>,
}

#[derive(Properties, PartialEq)]
pub struct EditorPanelProps {
    pub hosts: Rc<Vec<(String, HostKind)>>,
    /// An example for the iptables command line's placeholder.
    pub example: AttrValue,
    pub host: usize,
    pub drafts: Drafts,
    pub ruleset: RulesRef,
    pub routes: Rc<RouteTable>,
    pub counters: Rc<HashMap<RuleAt, Counters>>,
    /// This host's conntrack table after the last packet (`conntrack -L`).
    pub conntrack: Rc<Vec<String>>,
    /// This host's neighbour cache after the last packet (`ip neigh`).
    pub neighbours: Rc<Vec<String>>,
    /// The path MTUs this host learnt (`ip route show cache`).
    #[prop_or_default]
    pub route_cache: Rc<Vec<String>>,
    /// In an exercise, the packet whose outcome is not reached yet: the
    /// counters, conntrack and neighbours shown are those it met.
    #[prop_or_default]
    pub before_packet: Option<usize>,
    /// Line of the rule the selected step matched, in this host's rules.
    pub rule_line: Option<usize>,
    /// Line of the route the selected step chose, in this host's routes.
    pub route_line: Option<usize>,
    /// Why no line is marked: the selected packet met other texts.
    pub earlier: Option<String>,
    /// Why edits are not autosaved (another tab's save, storage), said
    /// here too: the page's notice is far above an editor.
    #[prop_or_default]
    pub not_saved: Option<String>,
    pub version: u64,
    pub views: (EditorView, EditorView),
    pub busy: bool,
    /// A parse of this host's rules is under way, said at the editor too
    /// (how far it is, the bar floating at the window's foot shows).
    #[prop_or_default]
    pub parsing: bool,
    /// The host's devices.
    #[prop_or_default]
    pub devices: Rc<Vec<String>>,
    pub onhost: Callback<usize>,
    pub onview: Callback<(Field, EditorView)>,
    pub onedit: Callback<(Field, Rc<str>)>,
    pub oncommand: Callback<String>,
    /// The last iptables command run on this host's listing, and its outcome.
    pub command_result: Option<Rc<CommandResult>>,
    /// A file's text: the field it was dropped on (None: guess), its name.
    pub onimport: Callback<(Option<Field>, String, Rc<str>)>,
    pub onerror: Callback<String>,
}

#[function_component(EditorPanel)]
pub fn editor_panel(props: &EditorPanelProps) -> Html {
    let onhost = props.onhost.reform(|e: Event| {
        e.target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value()
            .parse()
            .unwrap_or(0)
    });
    let host_name = props
        .hosts
        .get(props.host)
        .map(|h| h.0.clone())
        .unwrap_or_default();
    html! {
        <section class="panel editors" id="editors" aria-labelledby="editors-h">
            <div class="editors-head">
                // The host is the select's; the heading says it too.
                <h2 id="editors-h">{ "Rules and routes of " }<span class="visually-hidden">{ host_name.clone() }</span></h2>
                <select id="editor-host" aria-label="Host whose rules and routes are shown" onchange={onhost}>
                    { for props.hosts.iter().enumerate().map(|(i, (name, kind))| html! {
                        <option value={i.to_string()} selected={i == props.host}>{ format!("{name} ({})", kind_name(*kind)) }</option>
                    }) }
                </select>
                <p class="help">{ "Edits apply as you type: the last packet sent is traced again as if the edit had been made before it (the packets before it keep what they met, conntrack included). Text with errors is kept and the last valid rules stay in use. Drop a file from iptables-save or ip route on an editor to load it. Routes may hold ip rule lines too, as ip rule lists them (100: from 10.0.0.5 lookup 2), beside their tables' routes (default via 10.0.0.1 dev eth1 table 2)." }</p>
                if let Some(e) = &props.earlier {
                    <p class="help earlier-note" role="status"><span aria-hidden="true">{ "ℹ " }</span>{ e.clone() }</p>
                }
                if let Some(w) = &props.not_saved {
                    <p class="help not-saved" role="status"><span aria-hidden="true">{ "⚠ " }</span>{ w.clone() }</p>
                }
            </div>
            <div class="editor-grid">
                { for [
                    (Field::Rules, props.rule_line, props.views.0),
                    (Field::Routes, props.route_line, props.views.1),
                ].into_iter().map(|(field, in_use_line, view)| {
                    let d = props.drafts.get(field);
                    // Lines of the text in use; where the typed text (with
                    // errors) holds that line, marked there too.
                    let highlight = in_use_line.and_then(|l| if l == 0 { Some(0) } else { d.line_in_text(l) });
                    html! {
                        <FieldEditor
                            key={field.as_str()}
                            {field}
                            host={host_name.clone()}
                            example={props.example.clone()}
                            text={SharedText(d.text.clone())}
                            applied={SharedText(d.applied.clone())}
                            pending={d.pending()}
                            errors={d.errors.clone()}
                            {highlight}
                            {in_use_line}
                            {view}
                            ruleset={props.ruleset.clone()}
                            routes={props.routes.clone()}
                            counters={props.counters.clone()}
                            version={props.version}
                            busy={props.busy}
                            parsing={props.parsing && field == Field::Rules}
                            devices={props.devices.clone()}
                            onview={props.onview.clone()}
                            onedit={props.onedit.clone()}
                            oncommand={props.oncommand.clone()}
                            command_result={props.command_result.clone()}
                            onimport={props.onimport.clone()}
                            onerror={props.onerror.clone()}
                        />
                    }
                }) }
            </div>
            <details class="conntrack-list" id="conntrack-list">
                <summary>{ format!("conntrack -L on {host_name}: {}", match props.conntrack.len() {
                    1 => "1 entry".to_string(),
                    n => format!("{n} entries"),
                }) }</summary>
                if !props.conntrack.is_empty() {
                    <pre class="ct-lines" tabindex="0" aria-label={format!("conntrack -L on {host_name}")}>{ props.conntrack.join("\n") }</pre>
                }
                if let Some(n) = props.before_packet {
                    <p class="help">{ format!("As packet #{n} met it (an exercise: what it left shows at its last step).") }</p>
                }
                <p class="help">{ "After the last packet sent, as conntrack -L lists them (oldest first). The third column is the seconds each connection has left: the timeout its last packet set (5 days for an established TCP connection, 2 minutes in TIME_WAIT, 30 s for UDP until it is a stream), less the time since. Packets go a second apart, or as long as Wait says; a connection whose time runs out is gone. A NATed connection shows its translation in the reply tuple; [ASSURED] ones are the last an overfull table drops." }</p>
            </details>
            if let Some(sets) = props.ruleset.0.as_ref().map(|r| &r.ipsets).filter(|s| !s.sets.is_empty()) {
                <details class="conntrack-list">
                    <summary>{ format!("IP sets on {host_name}: {}", match sets.sets.len() {
                        1 => "1 set".to_string(),
                        n => format!("{n} sets"),
                    }) }</summary>
                    <pre class="ct-lines" tabindex="0" aria-label={format!("IP sets on {host_name}")}>{ sets.listing(20) }</pre>
                    <p class="help">{ "The sets that ipset save's lines before the rules made, which -m set looks packets up in: each with its type and entries (the first 20). An entry marked nomatch takes what it holds out of the set." }</p>
                </details>
            }
            <details class="conntrack-list" id="neigh-list">
                <summary>{ format!("ip neigh on {host_name}: {}", match props.neighbours.len() {
                    1 => "1 entry".to_string(),
                    n => format!("{n} entries"),
                }) }</summary>
                if !props.neighbours.is_empty() {
                    <pre class="ct-lines" tabindex="0" aria-label={format!("ip neigh on {host_name}")}>{ props.neighbours.join("\n") }</pre>
                }
                if let Some(n) = props.before_packet {
                    <p class="help">{ format!("As packet #{n} met it (an exercise: what it left shows at its last step).") }</p>
                }
                <p class="help">{ "The neighbour (ARP) cache after the last packet sent, the link-layer address named by the device that has it. An answer makes an entry REACHABLE for 30 s, then STALE: still used, without asking, and checked by a probe. The host that answers a request learns the asker too. \"Forget all packets, conntrack and ARP caches\" (under Packets sent) empties them. Packet Walk's clock moves 1 s for each packet sent, or as long as Wait says." }</p>
            </details>
            if !props.route_cache.is_empty() {
                <details class="conntrack-list" id="route-cache" open=true>
                    <summary>{ format!("ip route show cache on {host_name}: {}", match props.route_cache.len() {
                        1 => "1 path MTU".to_string(),
                        n => format!("{n} path MTUs"),
                    }) }</summary>
                    <pre class="ct-lines" tabindex="0" aria-label={format!("ip route show cache on {host_name}")}>{ props.route_cache.join("\n") }</pre>
                    <p class="help">{ "The path MTUs this host learnt from an ICMP fragmentation needed that reached one of its sockets: its own packets to that destination must fit it for 10 minutes (a router goes on forwarding by its route's MTU)." }</p>
                </details>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct FieldProps {
    field: Field,
    host: String,
    /// An example for the iptables command line's placeholder.
    example: AttrValue,
    text: SharedText,
    /// The text in use (what "go back" returns to).
    applied: SharedText,
    pending: bool,
    #[prop_or_default]
    parsing: bool,
    /// The host's devices: rules naming others are said to.
    #[prop_or_default]
    devices: Rc<Vec<String>>,
    errors: Rc<Vec<ParseError>>,
    /// The line to mark in the text as typed.
    highlight: Option<usize>,
    /// The same line in the text in use, which the table views show.
    in_use_line: Option<usize>,
    view: EditorView,
    ruleset: RulesRef,
    routes: Rc<RouteTable>,
    counters: Rc<HashMap<RuleAt, Counters>>,
    version: u64,
    busy: bool,
    onview: Callback<(Field, EditorView)>,
    onedit: Callback<(Field, Rc<str>)>,
    oncommand: Callback<String>,
    command_result: Option<Rc<CommandResult>>,
    onimport: Callback<(Option<Field>, String, Rc<str>)>,
    onerror: Callback<String>,
}

/// One editor (rules or routes) with its view switch, import and errors.
#[function_component(FieldEditor)]
fn field_editor(props: &FieldProps) -> Html {
    let field = props.field;
    let dragging = use_state(|| false);
    let (title, text_label, table_label, what) = match field {
        Field::Rules => ("iptables", "iptables-save", "Chains and counters", "rules"),
        Field::Routes => ("Routes", "ip route", "route -n", "routes"),
    };
    let id = format!("{}-{}", what, props.host);
    // Counted once per text (a keystroke elsewhere does not count 12 MB).
    let lines = *use_memo(SameText(props.text.0.clone()), |t| line_count(&t.0));
    let large = lines > LARGE_LINES;
    // A text that becomes a listing (a long paste) or a listing that
    // becomes a text (a command that emptied chains) takes the element
    // that had focus with it: focus goes to what took its place. Only for
    // the same host, and only when focus was in this editor.
    let inside = use_mut_ref(|| false);
    {
        let (id, inside) = (id.clone(), inside.clone());
        // Errors in a listing replace its command line too.
        let key = (props.host.clone(), large, props.errors.is_empty());
        let was = use_mut_ref(|| key.clone());
        use_effect_with(key, move |key| {
            let (host, large, _) = key;
            let before = std::mem::replace(&mut *was.borrow_mut(), key.clone());
            if before.0 == *host && before != *key && *inside.borrow() && browser::focus_lost() {
                // The listing's command line, or, when the listing has
                // errors (no command line), its way back.
                let _ = (*large
                    && (browser::focus(&format!("{id}-cmd"))
                        || browser::focus(&format!("{id}-revert"))))
                    || browser::focus(&id);
            }
        });
    }
    let onfocusin = {
        let inside = inside.clone();
        Callback::from(move |_: FocusEvent| *inside.borrow_mut() = true)
    };
    // Focus that goes to another element leaves; focus that goes nowhere
    // (its element was removed by a re-render) is still "inside".
    let onfocusout = Callback::from(move |e: FocusEvent| {
        if e.related_target().is_some() {
            *inside.borrow_mut() = false;
        }
    });
    // A line of a long listing an error was clicked for (until the step's
    // highlight moves).
    let goto = use_state(|| None::<usize>);
    {
        let goto = goto.clone();
        use_effect_with(props.highlight, move |_| goto.set(None));
    }

    let read = {
        let onimport = props.onimport.clone();
        let onerror = props.onerror.clone();
        move |file: web_sys::File, f: Option<Field>| {
            let onimport = onimport.clone();
            let onerror = onerror.clone();
            browser::read_file(file, move |r| match r {
                Ok((name, text)) => onimport.emit((f, name, text)),
                Err(e) => onerror.emit(e),
            });
        }
    };
    let ondrop = {
        let (dragging, read) = (dragging.clone(), read.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            if let Some(file) = e
                .data_transfer()
                .and_then(|d| d.files())
                .and_then(|f| f.get(0))
            {
                read(file, None);
            }
        })
    };
    let ondragover = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            if !*dragging {
                dragging.set(true);
            }
        })
    };
    let ondragleave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let onpick = {
        let read = read.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                read(file, Some(field));
            }
            input.set_value("");
        })
    };
    let tab = |v: EditorView, label: &'static str| {
        let onclick = props.onview.reform(move |_| (field, v));
        html! {
            // Two views of one text: toggle buttons (a tab pattern would
            // need panels and arrow keys).
            <button type="button" aria-pressed={(props.view == v).to_string()} class={classes!("tab", (props.view == v).then_some("selected"))} {onclick}>{ label }</button>
        }
    };
    // (Short, so that the bar keeps its one row on a narrow screen and
    // the text does not move while it is typed; what it means, and the way
    // back, are under the text, with the errors.)
    let status = if !props.errors.is_empty() {
        html! {
            <span class="tag row-drop" id={format!("{id}-status")}><span aria-hidden="true">{ "✕" }</span>{ format!(" {}", crate::ui::model::error_count(props.errors.len())) }</span>
        }
    } else if props.parsing {
        html! { <span class="tag" id={format!("{id}-status")}>{ "parsing…" }</span> }
    } else if props.pending {
        html! { <span class="tag" id={format!("{id}-status")}>{ "applying…" }</span> }
    } else {
        html! { <span class="tag row-deliver" id={format!("{id}-status")}><span aria-hidden="true">{ "✓" }</span>{ " in use" }</span> }
    };
    // What the text holds that is read past (tables known by name only,
    // IPv6 routes), or added (the ip rules every namespace has): said so.
    let left_out = use_memo(SameText(props.text.0.clone()), move |t| match field {
        Field::Routes if !large => crate::engine::route_text::notes(&t.0),
        Field::Rules => crate::engine::iptables::save::notes(&t.0),
        Field::Routes => String::new(),
    });

    // Rules for another node's devices (a real node's dump loaded here).
    let foreign = use_memo(
        (props.ruleset.clone(), props.devices.clone(), props.host.clone()),
        move |(rules, devices, host)| match (&rules.0, field) {
            (Some(rs), Field::Rules) => {
                let devs: Vec<&str> = devices.iter().map(String::as_str).collect();
                rs.interfaces_note(host, &devs)
            }
            _ => String::new(),
        },
    );

    let body = match (props.view, field) {
        (EditorView::Table, Field::Rules) => html! {
            <RuleTable ruleset={props.ruleset.clone()} counters={props.counters.clone()} highlight={props.in_use_line} version={props.version} />
        },
        (EditorView::Table, Field::Routes) => html! {
            { route_n(&RouteNProps { routes: props.routes.clone(), highlight: props.in_use_line }) }
        },
        (EditorView::Text, _) if large => html! {
            <LargeText key={props.host.clone()} id={id.clone()} {what} label={format!("{what} of {}, listed line by line", props.host)} text={props.text.clone()} highlight={props.highlight} goto={*goto} errors={props.errors.clone()}
                command_result={props.command_result.clone()} example={props.example.clone()}
                oncommand={(field == Field::Rules).then(|| props.oncommand.clone())}
                onrevert={{ let applied = props.applied.0.clone(); props.onedit.reform(move |_: ()| (field, applied.clone())) }} />
        },
        (EditorView::Text, _) => {
            let onedit = props.onedit.reform(move |t: Rc<str>| (field, t));
            html! {
                <>
                    <CodeEditor id={id.clone()} label={format!("{} of {} ({text_label})", what, props.host)} text={props.text.clone()}
                        errors={props.errors.clone()} highlight={props.highlight} {onedit} />
                    // Rules change by command too, as on a node; not while
                    // the text shown is not the one in use.
                    if field == Field::Rules && props.errors.is_empty() && props.text == props.applied {
                        <CommandLine id={id.clone()} oncommand={props.oncommand.clone()} result={props.command_result.clone()} example={props.example.clone()} />
                    }
                </>
            }
        }
    };
    html! {
        <div class={classes!("field-editor", (*dragging).then_some("dragging"))} {ondrop} {ondragover} {ondragleave} {onfocusin} {onfocusout}>
            <div class="editor-bar">
                <h3>{ title }</h3>
                <div role="group" class="view-switch" aria-label={format!("How the {what} are shown")}>
                    { tab(EditorView::Text, text_label) }
                    { tab(EditorView::Table, table_label) }
                </div>
                { status }
                // Said to a screen reader as it changes (not "applying…",
                // which every pause in typing would repeat).
                <span class="visually-hidden" role="status">{
                    match props.errors.first() {
                        Some(e) => format!("{} in the {what}: the first at line {}: {}", crate::ui::model::error_count(props.errors.len()), e.line, e.message),
                        None => format!("{what} in use"),
                    }
                }</span>
                <label class="button file-button small" title={format!("Load {what} from a file ({text_label} output)")}>
                    { "Load file…" }
                    <input type="file" class="visually-hidden" disabled={props.busy} aria-label={format!("Load file: {what} of {}", props.host)} onchange={onpick} />
                </label>
            </div>
            if !left_out.is_empty() {
                <p class="help left-out" id={format!("{id}-left-out")}>{ (*left_out).clone() }</p>
            }
            if !foreign.is_empty() {
                <p class="help left-out" id={format!("{id}-interfaces")}>{ (*foreign).clone() }</p>
            }
            { body }
            if *dragging {
                <div class="drop-hint" aria-hidden="true">{ format!("Drop an {text_label} file to load it into {}", props.host) }</div>
            }
            if !props.errors.is_empty() {
                <p class="error-head">
                    { format!("The last valid {what} stay in use. ") }
                    <button type="button" class="link-button" id={format!("{id}-back")} onclick={{ let applied = props.applied.0.clone(); props.onedit.reform(move |_: MouseEvent| (field, applied.clone())) }}
                        title="Put the text in use back in place of the typed text (the typed text is dropped)">{ "Go back to the text in use" }</button>
                </p>
                <ul class="error-list" id={format!("{id}-errors")} aria-label={format!("Errors in the {what}")}>
                    { for props.errors.iter().take(50).map(|e| {
                        let at = e.place().unwrap_or_else(|| "whole text".to_string());
                        // In a long listing (not editable) the line is a link to it.
                        let at = if large && e.line > 0 && props.view == EditorView::Text {
                            let (goto, line) = (goto.clone(), e.line);
                            html! { <button type="button" class="link-button" onclick={Callback::from(move |_| goto.set(Some(line)))}
                                aria-label={format!("Show {at} in the listing")}>{ at.clone() }</button> }
                        } else {
                            html! { { at } }
                        };
                        html! {
                            <li>{ at }{ ": " }{ e.message.clone() }
                                { e.expected.as_ref().map(|x| format!(" (expected {x})")).unwrap_or_default() }</li>
                        }
                    }) }
                    if props.errors.len() > 50 { <li>{ format!("… and {} more", props.errors.len() - 50) }</li> }
                </ul>
            }
        </div>
    }
}

/// A text as a memo's key: the same text object, not an equal one
/// (comparing two 12 MB texts on every keystroke costs what the memo
/// saves).
struct SameText(Rc<str>);

impl PartialEq for SameText {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

fn line_count(t: &str) -> usize {
    bytecount(t.as_bytes()) + usize::from(!t.is_empty() && !t.ends_with('\n'))
}

fn bytecount(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

#[derive(Properties, PartialEq)]
pub struct CodeProps {
    pub id: String,
    pub label: String,
    pub text: SharedText,
    pub errors: Rc<Vec<ParseError>>,
    pub highlight: Option<usize>,
    pub onedit: Callback<Rc<str>>,
}

/// A textarea with a line-number gutter; bands behind the text mark the
/// highlighted line and lines with errors (the gutter repeats them with
/// a symbol, so colour is not the only signal).
#[function_component(CodeEditor)]
pub fn code_editor(props: &CodeProps) -> Html {
    let area = use_node_ref();
    let gutter = use_node_ref();
    let bands = use_node_ref();
    // As many numbers as the textarea has lines: the empty one after a
    // last newline, where the caret may stand, has its number too.
    let lines = bytecount(props.text.as_bytes()) + 1;
    // A long text numbers only the lines around the view: thousands of
    // numbers would be thousands of elements to make on every edit.
    let first = use_state_eq(|| 1usize);
    let window = (lines > 2 * GUTTER_LINES).then(|| {
        let from = (*first).min(lines.saturating_sub(2 * GUTTER_LINES) + 1);
        (from, (from + 2 * GUTTER_LINES - 1).min(lines))
    });
    let (from, to) = window.unwrap_or((1, lines));
    let err_lines: Vec<usize> = {
        let mut v: Vec<usize> = props
            .errors
            .iter()
            .map(|e| e.line)
            .filter(|&l| l > 0)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // Bring the highlighted line into view when it changes.
    {
        let (area, gutter, bands) = (area.clone(), gutter.clone(), bands.clone());
        let first = first.clone();
        use_effect_with(props.highlight, move |hl| {
            if let (Some(line), Some(a)) = (hl, area.cast::<HtmlTextAreaElement>()) {
                let top = (*line as f64 - 1.0) * line_px();
                let h = a.client_height() as f64;
                let cur = a.scroll_top() as f64;
                if top < cur || top + line_px() > cur + h {
                    a.set_scroll_top((top - h / 3.0).max(0.0) as i32);
                }
                // A rule or a route is read from its start.
                a.set_scroll_left(0);
                sync(&a, &gutter, &bands);
                first.set(gutter_from(&a));
            }
        });
    }
    // A text that grows long under a scrolled view (a paste) numbers the
    // lines in view at once.
    {
        let (area, first) = (area.clone(), first.clone());
        use_effect_with(lines, move |_| {
            if let Some(a) = area.cast::<HtmlTextAreaElement>() {
                first.set(gutter_from(&a));
            }
        });
    }
    let onscroll = {
        let (area, gutter, bands, first) = (area.clone(), gutter.clone(), bands.clone(), first.clone());
        Callback::from(move |_: Event| {
            if let Some(a) = area.cast::<HtmlTextAreaElement>() {
                sync(&a, &gutter, &bands);
                first.set(gutter_from(&a));
            }
        })
    };
    let oninput = {
        let (gutter, bands) = (gutter.clone(), bands.clone());
        props.onedit.reform(move |e: InputEvent| {
            let a = e.target_unchecked_into::<HtmlTextAreaElement>();
            let text = a.value();
            unscroll(&a, &text);
            sync(&a, &gutter, &bands);
            Rc::from(text)
        })
    };
    let band = |line: usize, class: &'static str| {
        html! { <div class={classes!("band", class)} style={format!("top:{}px", ((line as f64 - 1.0) * line_px()) as i64)}></div> }
    };
    html! {
        <div class="code-editor" data-keys="own">
            <div class="gutter" aria-hidden="true">
                <div class="gutter-lines" ref={gutter.clone()}>
                // The lines above the window, as space; the width of the
                // longest number with a mark, so that the text does not
                // move when a mark comes (the element sync() moves keeps
                // its inline style to itself).
                <div class="gutter-skip" style={format!("height:calc(var(--line) * {});min-width:{}ch", from - 1, digits(lines) + 5)}></div>
                { for (from..=to).map(|n| {
                    let err = err_lines.binary_search(&n).is_ok();
                    let hl = props.highlight == Some(n);
                    html! { <div class={classes!("ln", err.then_some("ln-err"), hl.then_some("ln-hl"))}>
                        { if err { "✕ " } else if hl { "▶ " } else { "" } }{ n }</div> }
                }) }
                </div>
            </div>
            <div class="code-wrap">
                <div class="bands" ref={bands.clone()} aria-hidden="true">
                    { for err_lines.iter().map(|&l| band(l, "band-err")) }
                    { for props.highlight.filter(|&l| l > 0).map(|l| band(l, "band-hl")) }
                </div>
                <textarea id={props.id.clone()} ref={area} aria-label={props.label.clone()}
                    aria-invalid={(!props.errors.is_empty()).to_string()}
                    aria-describedby={if props.errors.is_empty() { format!("{}-status", props.id) } else { format!("{}-errors {}-status", props.id, props.id) }}
                    spellcheck="false" autocomplete="off" autocapitalize="off" wrap="off"
                    value={props.text.to_string()} {oninput} {onscroll}
                    // One row more than the text: the horizontal scroll bar takes one.
                    rows={(lines + 1).clamp(6, 24).to_string()} />
            </div>
        </div>
    }
}

/// How many line numbers a long text's gutter makes on each side of its
/// view (a view shows at most 24 lines).
const GUTTER_LINES: usize = 200;

/// The first line a long text's gutter numbers: a window of
/// 2 × [`GUTTER_LINES`] around the lines in view.
fn gutter_from(a: &HtmlTextAreaElement) -> usize {
    let top = (f64::from(a.scroll_top()) / line_px()) as usize + 1;
    // Moved in steps, so that scrolling a little does not render again.
    let step = GUTTER_LINES / 2;
    (top.saturating_sub(GUTTER_LINES / 2) / step * step).max(1)
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

/// After an edit, scrolls the text back to its left edge when the caret
/// is in view there: the browser leaves a box scrolled sideways by a long
/// line that was typed over, and every line then misses its first letters.
fn unscroll(a: &HtmlTextAreaElement, text: &str) {
    if a.scroll_left() == 0 {
        return;
    }
    let caret = a.selection_start().ok().flatten().unwrap_or(0) as usize;
    // selectionStart counts UTF-16 units; the texts are ASCII but for
    // comments, where a few columns off do not matter.
    let before = text.get(..caret.min(text.len())).unwrap_or(text);
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    let widest = text.lines().map(str::len).max().unwrap_or(0).max(1);
    let char_px = f64::from(a.scroll_width()) / (widest as f64 + 2.0);
    if (column as f64 + 2.0) * char_px < f64::from(a.client_width()) {
        a.set_scroll_left(0);
    }
}

/// Keeps the line numbers and the bands level with the textarea's scroll.
/// Both are moved, not scrolled: the textarea scrolls further down than a
/// box of its height could once its horizontal scroll bar takes room.
fn sync(a: &HtmlTextAreaElement, gutter: &NodeRef, bands: &NodeRef) {
    let top = a.scroll_top();
    if let Some(g) = gutter.cast::<HtmlElement>() {
        let _ = g
            .style()
            .set_property("transform", &format!("translateY({}px)", -top));
    }
    if let Some(b) = bands.cast::<HtmlElement>() {
        let _ = b.style().set_property(
            "transform",
            &format!("translate({}px, {}px)", -a.scroll_left(), -top),
        );
    }
}

#[derive(Properties, PartialEq)]
struct LargeProps {
    id: String,
    /// `rules` or `routes`.
    what: &'static str,
    /// The listing's name for assistive technology.
    label: String,
    text: SharedText,
    highlight: Option<usize>,
    /// A line to bring into view (an error clicked), over the highlight.
    goto: Option<usize>,
    errors: Rc<Vec<ParseError>>,
    oncommand: Option<Callback<String>>,
    /// The last command run here and what came of it.
    command_result: Option<Rc<CommandResult>>,
    /// An example command for the line's placeholder.
    example: AttrValue,
    /// Puts the text in use back in place of a listing with errors.
    onrevert: Callback<()>,
}

/// A long text as a virtualised listing, with a command line for changes.
#[function_component(LargeText)]
fn large_text(props: &LargeProps) -> Html {
    // Byte offset of each line start, computed once per text.
    let starts = use_memo(SameText(props.text.0.clone()), |t| {
        let t = &t.0;
        let mut v = Vec::with_capacity(t.len() / 60);
        v.push(0usize);
        v.extend(
            t.bytes()
                .enumerate()
                .filter(|(_, c)| *c == b'\n')
                .map(|(i, _)| i + 1),
        );
        if v.last() == Some(&t.len()) {
            v.pop();
        }
        v
    });
    let errs: Rc<Vec<usize>> =
        use_memo(props.errors.clone(), |e| e.iter().map(|e| e.line).collect());
    let render_row = {
        let (text, starts, hl, errs) = (
            props.text.clone(),
            starts.clone(),
            props.highlight,
            errs.clone(),
        );
        Callback::from(move |i: usize| {
            let s = starts.get(i).copied().unwrap_or(0);
            let e = starts
                .get(i + 1)
                .map_or(text.len(), |e| e.saturating_sub(1));
            let line = text.get(s..e).unwrap_or("");
            let n = i + 1;
            let err = errs.contains(&n);
            html! {
                <div class={classes!("vline", (hl == Some(n)).then_some("band-hl"), err.then_some("band-err"))} role="listitem">
                    <span class="ln">{ if err { "✕ " } else if hl == Some(n) { "▶ " } else { "" } }{ n }</span>
                    <code>{ line.to_string() }</code>
                </div>
            }
        })
    };
    html! {
        <div class="large-text">
            <p class="help">{ format!("{} lines: too long to edit as text here, so they are listed (only the visible lines are drawn).", starts.len()) }</p>
            <VirtualList rows={starts.len()} row_height={line_px()} height={420.0}
                render_row={render_row} scroll_to={props.goto.or(props.highlight).map(|l| l.saturating_sub(1))}
                aria_label={AttrValue::from(props.label.clone())} class={classes!("vlist")} />
            if !props.errors.is_empty() {
                // Commands change the rules in use, which are not this text:
                // off until the text applies or is taken back.
                <p class="form-error large-errors">
                    { format!("This listing has errors (below), so the last valid {} stay in use{}. Load a corrected file, or ", props.what, if props.what == "rules" { " and iptables commands are off" } else { "" }) }
                    <button type="button" class="small" id={format!("{}-revert", props.id)} onclick={props.onrevert.reform(|_| ())}>{ format!("go back to the {} in use", props.what) }</button>
                    { "." }
                </p>
            } else if let Some(cb) = &props.oncommand {
                <CommandLine id={props.id.clone()} oncommand={cb.clone()} result={props.command_result.clone()} example={props.example.clone()} />
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct CommandLineProps {
    /// The editor's id: the line is `{id}-cmd`.
    id: String,
    oncommand: Callback<String>,
    /// The last command run here and what came of it.
    result: Option<Rc<CommandResult>>,
    /// An example command for the placeholder.
    example: AttrValue,
}


/// An `iptables` command line for a host's rules (`-I FORWARD 1 … -j
/// DROP`), and what the last command said.
#[function_component(CommandLine)]
fn command_line(props: &CommandLineProps) -> Html {
    let cmd = use_state(String::new);
    let oncmd = {
        let cmd = cmd.clone();
        Callback::from(move |e: InputEvent| {
            cmd.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value())
        })
    };
    let onsubmit = {
        let (cmd, cb) = (cmd.clone(), props.oncommand.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if !cmd.trim().is_empty() {
                cb.emit((*cmd).clone());
            }
        })
    };
    // A command that applied leaves the line empty for the next one; one
    // that failed stays, to be corrected.
    {
        let cmd = cmd.clone();
        use_effect_with(props.result.clone(), move |r| {
            if r.as_deref().is_some_and(|r| r.outcome.is_ok() && *cmd == r.line) {
                cmd.set(String::new());
            }
        });
    }
    let result_id = format!("{}-cmd-result", props.id);
    html! {
        <>
            <form class="command" {onsubmit}>
                <label for={format!("{}-cmd", props.id)}>{ "iptables" }</label>
                <input id={format!("{}-cmd", props.id)} type="text" spellcheck="false" value={(*cmd).clone()} oninput={oncmd}
                    aria-describedby={props.result.as_ref().map(|_| result_id.clone())}
                    aria-invalid={props.result.as_ref().filter(|r| r.outcome.is_err() && *cmd == r.line).map(|_| "true")}
                    placeholder={props.example.clone()} />
                <button type="submit">{ "Run" }</button>
            </form>
            if let Some(r) = props.result.as_deref() {
                { match &r.outcome {
                    Ok(said) => html! { <p id={result_id.clone()} class="hint command-result" role="status">{ said.clone() }</p> },
                    Err(why) => html! { <p id={result_id.clone()} class="form-error command-result" role="alert">{ why.clone() }</p> },
                } }
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct RuleTableProps {
    ruleset: RulesRef,
    counters: Rc<HashMap<RuleAt, Counters>>,
    highlight: Option<usize>,
    version: u64,
}

/// One row of the chains view.
#[derive(Clone, PartialEq)]
enum RuleRow {
    Table(String),
    Chain {
        name: String,
        policy: Option<String>,
        rules: usize,
    },
    Rule {
        at: RuleAt,
        pos: usize,
        line: usize,
        target: String,
        text: String,
    },
}

/// The rules as `iptables -L -v` shows them: per table, per chain, each
/// rule with its packet and byte counters (which count up as packets pass).
#[function_component(RuleTable)]
fn rule_table(props: &RuleTableProps) -> Html {
    let rows: Rc<Vec<RuleRow>> = use_memo(props.ruleset.clone(), |rs| {
        let mut out = Vec::new();
        let Some(rs) = rs.0.as_ref() else {
            return out;
        };
        for t in &rs.tables {
            out.push(RuleRow::Table(t.name.to_string()));
            for (ci, c) in t.chains.iter().enumerate() {
                if c.implicit || c.deleted {
                    continue;
                }
                out.push(RuleRow::Chain {
                    name: c.name.clone(),
                    policy: c.policy.map(|p| p.as_str().to_string()),
                    rules: c.rules.len(),
                });
                for (ri, r) in c.rules.iter().enumerate() {
                    out.push(RuleRow::Rule {
                        at: RuleAt {
                            table: t.name,
                            chain: ci,
                            rule: ri,
                        },
                        pos: ri + 1,
                        line: r.line,
                        target: r.target_name().to_string(),
                        text: r.args.clone(),
                    });
                }
            }
        }
        out
    });
    if props.ruleset.0.is_none() {
        return html! { <p class="help">{ "This host has no netfilter rules." }</p> };
    }
    let scroll_to = props.highlight.and_then(|l| {
        rows.iter()
            .position(|r| matches!(r, RuleRow::Rule { line, .. } if *line == l))
    });
    let render_row = {
        let (rows, counters, hl) = (rows.clone(), props.counters.clone(), props.highlight);
        Callback::from(move |i: usize| match rows.get(i) {
            Some(RuleRow::Table(name)) => {
                html! { <div class="rt-row rt-table" role="listitem"><strong>{ format!("*{name}") }</strong>{ " table" }</div> }
            }
            Some(RuleRow::Chain {
                name,
                policy,
                rules,
            }) => html! {
                <div class="rt-row rt-chain" role="listitem">
                    <strong>{ name.clone() }</strong>
                    { match policy { Some(p) => format!(" (policy {p}, {})", plural(*rules, "rule")), None => format!(" ({})", plural(*rules, "rule")) } }
                </div>
            },
            Some(RuleRow::Rule {
                at,
                pos,
                line,
                target,
                text,
            }) => {
                let c = counters.get(at).copied().unwrap_or_default();
                let is_hl = hl == Some(*line) && *line > 0;
                html! {
                    <div class={classes!("rt-row", "rt-rule", is_hl.then_some("band-hl"), (c.packets > 0).then_some("rt-hit"))} role="listitem">
                        <span class="rt-pos">{ if is_hl { format!("▶ {pos}") } else { pos.to_string() } }</span>
                        <span class="rt-pkts" title="packets">{ c.packets }</span>
                        <span class="rt-bytes" title="bytes">{ c.bytes }</span>
                        <span class="rt-target" title={target.clone()}>{ target.clone() }</span>
                        <code class="rt-text" title={format!("line {line}: {text}")}>{ text.clone() }</code>
                    </div>
                }
            }
            None => html! {},
        })
    };
    html! {
        <div class="rule-table">
            <div class="rt-row rt-head" aria-hidden="true">
                <span class="rt-pos">{ "#" }</span><span class="rt-pkts">{ "pkts" }</span><span class="rt-bytes">{ "bytes" }</span>
                <span class="rt-target">{ "target" }</span><span class="rt-text">{ "rule" }</span>
            </div>
            <VirtualList rows={rows.len()} row_height={line_px() + 6.0} height={420.0} render_row={render_row}
                scroll_to={scroll_to} aria_label={AttrValue::from("Rules per chain with counters")} class={classes!("vlist")} />
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct RouteNProps {
    routes: Rc<RouteTable>,
    highlight: Option<usize>,
}

/// The main table as `route -n` prints it, the chosen route marked.
fn route_n(props: &RouteNProps) -> Html {
    let text = route_text::emit_route_n(&props.routes);
    let mut lines = text.lines();
    let _title = lines.next();
    let head: Vec<String> = lines
        .next()
        .map(|h| h.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let main = route_text::kernel_order(&props.routes);
    // route -n knows only main: say what else the host routes by.
    let mut others: Vec<String> = (props.routes.routes.iter())
        .map(|r| r.table)
        .filter(|t| ![TableId::MAIN, TableId::LOCAL].contains(t))
        .map(|t| t.name())
        .collect();
    others.dedup();
    // The rules the text lists (the ones every namespace has aside).
    let rules = props.routes.rules.iter().filter(|r| r.line > 0).count();
    let beyond = match (rules, others.len()) {
        (0, 0) => String::new(),
        (0, _) => format!("route -n lists the main table only; the text view has this host's routes of table {} too.", others.join(", ")),
        (_, 0) => format!("route -n lists the main table only; the text view has this host's {} too.", plural(rules, "ip rule")),
        _ => format!("route -n lists the main table only; the text view has this host's {} and its routes of table {} too.", plural(rules, "ip rule"), others.join(", ")),
    };
    // Scrolls sideways in a narrow column (the keyboard reaches it).
    html! {
        <>
        if !beyond.is_empty() { <p class="help left-out">{ beyond }</p> }
        <div class="table-scroll" tabindex="0" role="region" aria-label="route -n">
        <table class="route-n">
            <caption class="visually-hidden">{ "Kernel IP routing table (route -n)" }</caption>
            <thead><tr>{ for head.iter().map(|h| html! { <th scope="col">{ h.clone() }</th> }) }</tr></thead>
            <tbody>
                { for lines.enumerate().map(|(i, l)| {
                    let hl = props.highlight.is_some_and(|h| main.get(i).is_some_and(|r| r.line == h && h > 0));
                    html! {
                        <tr class={classes!(hl.then_some("band-hl"))}>
                            { for l.split_whitespace().enumerate().map(|(j, c)| html! {
                                <td>{ if hl && j == 0 { format!("▶ {c}") } else { c.to_string() } }</td>
                            }) }
                        </tr>
                    }
                }) }
            </tbody>
        </table>
        </div>
        </>
    }
}

