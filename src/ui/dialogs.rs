//! The "Copy link" and "Embed" dialogs: the link or `<iframe>` snippet in a
//! read-only field (selected on focus, so it can be copied by hand when the
//! clipboard is refused), a copy button and a close button (Escape too).

use crate::ui::browser;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
struct ShellProps {
    title: AttrValue,
    onclose: Callback<()>,
    children: Html,
}

#[function_component(Shell)]
fn shell(props: &ShellProps) -> Html {
    let close = use_node_ref();
    {
        let close = close.clone();
        use_effect_with((), move |_| {
            if let Some(b) = close.cast::<web_sys::HtmlElement>() {
                let _ = b.focus();
            }
        });
    }
    html! {
        <div class="dialog-backdrop" onclick={props.onclose.reform(|_| ())}>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-h"
                onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
                <div class="dialog-head">
                    <h2 id="dialog-h">{ props.title.clone() }</h2>
                    <button ref={close} class="icon-button" aria-label="Close" onclick={props.onclose.reform(|_| ())}>{ "✕" }</button>
                </div>
                { props.children.clone() }
            </div>
        </div>
    }
}

fn select_all(e: FocusEvent) {
    let t: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
    t.select();
}

/// A copy's request: the text, and whether the user asked for it.
type CopyAsk = Callback<(String, bool)>;

/// Copies a text to the clipboard each time the returned callback is
/// called (and `first` on opening), and says whether the last copy worked.
/// The callback takes the text and whether the user asked (a copy the page
/// makes as the user types does not select the field to copy it).
#[hook]
fn use_copy(field: &'static str, first: Option<String>) -> (Option<(bool, String)>, CopyAsk) {
    // What became of the last copy, and the text it was of.
    let copied = use_state(|| None::<(bool, String)>);
    // Each request has its own number, so copying the same text again
    // copies again.
    let request = use_state(|| (0u32, first, true));
    {
        let copied = copied.clone();
        use_effect_with((*request).clone(), move |(_, text, asked)| {
            if let Some(text) = text.clone() {
                let fallback = asked.then_some(field);
                wasm_bindgen_futures::spawn_local(async move {
                    let ok = browser::copy(text.clone(), fallback).await;
                    copied.set(Some((ok, text)));
                });
            }
        });
    }
    let ask = {
        let request = request.clone();
        Callback::from(move |(text, asked): (String, bool)| request.set((request.0 + 1, Some(text), asked)))
    };
    ((*copied).clone(), ask)
}

/// The copy's outcome, if it was of `text` (not of an earlier version).
fn copied_now(copied: Option<(bool, String)>, text: &str) -> Option<bool> {
    copied.filter(|(_, t)| t == text).map(|(ok, _)| ok)
}

/// What became of the copy, in words.
fn copy_status(copied: Option<bool>, what: &str) -> Html {
    match copied {
        None => html! {},
        Some(true) => html! { <p class="copy-status" role="status">{ format!("The {what} is on the clipboard.") }</p> },
        Some(false) => html! {
            <p class="copy-status failed" role="status">
                { format!("The browser did not let the page copy the {what} (it allows that only on https or localhost): select it below and press Ctrl+C.") }
            </p>
        },
    }
}

#[derive(Properties, PartialEq)]
pub struct LinkProps {
    pub url: String,
    /// The link's fragment as an exercise, for a question (empty: none):
    /// the packet's first step selected, its steps and outcome shown as
    /// the reader reaches them.
    #[prop_or_default]
    pub start: Option<Callback<String, Option<String>>>,
    /// The choice made the last time the dialog was open (as an exercise,
    /// the question), and where each change of it goes.
    #[prop_or_default]
    pub chosen: (bool, String),
    #[prop_or_default]
    pub onchoice: Callback<(bool, String)>,
    pub onclose: Callback<()>,
}

/// The question field of an exercise's link, and the question typed.
fn question_field(question: &UseStateHandle<String>, then: Callback<String>) -> Html {
    let oninput = {
        let question = question.clone();
        Callback::from(move |e: InputEvent| {
            let q = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            question.set(q.clone());
            then.emit(q);
        })
    };
    // (As maxlength counts: UTF-16 units.)
    let used = question.encode_utf16().count();
    html! {
        <div class="question-field">
            <label for="exercise-question">{ "A question for the learner (optional; shown above the steps)" }</label>
            <input id="exercise-question" type="text" dir="auto" maxlength="500" value={(**question).clone()} {oninput}
                placeholder="Which pod takes the packet, and which rule chose it?" aria-describedby="question-count" />
            <span id="question-count" class="question-count">{ format!("{used} of 500 characters") }</span>
        </div>
    }
}

/// The link's fragment as an exercise for `question` (None: none offered,
/// or the question made it too long), encoded once per question.
#[hook]
fn use_exercise_fragment(
    start: &Option<Callback<String, Option<String>>>,
    question: &str,
) -> Rc<Option<String>> {
    let make = start.clone();
    use_memo(question.to_string(), move |q| make.and_then(|s| s.emit(q.clone())))
}

/// The "As an exercise" tick box of a dialog (`id`, its words), and the
/// question field under it once ticked.
fn exercise_choice(
    id: &'static str,
    words: &'static str,
    checked: bool,
    onchange: Callback<Event>,
    question: &UseStateHandle<String>,
    then: Callback<String>,
) -> Html {
    html! {
        <>
            <label class="flag">
                <input type="checkbox" {id} {checked} {onchange} />
                { words }
            </label>
            if checked {
                { question_field(question, then) }
            }
        </>
    }
}

#[function_component(LinkDialog)]
pub fn link_dialog(props: &LinkProps) -> Html {
    // An exercise's link opens at the packet's start, not at the answer.
    let at_start = use_state(|| props.chosen.0 && props.start.is_some());
    let question = use_state(|| props.chosen.1.clone());
    let start = use_exercise_fragment(&props.start, &question);
    // The exercise's link (None: the question made it too long).
    let exercise = (*at_start && props.start.is_some()).then(|| start.as_deref().map(browser::page_url));
    let url = match &exercise {
        Some(Some(start)) => start.clone(),
        _ => props.url.clone(),
    };
    // The link shown is the one on the clipboard: copied when the dialog
    // opens and again at each change (the question typed included).
    let (copied, copy) = use_copy("link-text", Some(url.clone()));
    {
        let copy = copy.clone();
        let first = use_mut_ref(|| true);
        use_effect_with(url.clone(), move |u| {
            if !std::mem::replace(&mut *first.borrow_mut(), false) {
                copy.emit((u.clone(), false));
            }
        });
    }
    let again = {
        let url = url.clone();
        copy.reform(move |_: MouseEvent| (url.clone(), true))
    };
    let toggle = {
        let (at_start, question, onchoice) = (at_start.clone(), question.clone(), props.onchoice.clone());
        Callback::from(move |_| {
            let now = !*at_start;
            at_start.set(now);
            onchoice.emit((now, (*question).clone()));
        })
    };
    let typed = {
        let (at_start, onchoice) = (at_start.clone(), props.onchoice.clone());
        Callback::from(move |q: String| onchoice.emit((*at_start, q)))
    };
    html! {
        <Shell title="Link to this view" onclose={props.onclose.clone()}>
            <p>{ format!("The link holds the scenario's edits and the packets sent ({} characters). {}", url.len(), match &exercise {
                Some(Some(_)) => "Anyone who opens it starts at the selected packet's first step, as an exercise.",
                Some(None) => "As an exercise with this question the link would be too long: this is the plain link, which shows the answer. Shorten the question.",
                None => "Anyone who opens it sees this view.",
            }) }</p>
            if props.start.is_some() {
                { exercise_choice("link-at-start", " As an exercise: open at the packet's first step, list its steps as the reader reaches them, and show its outcome at the last (so nothing gives the answer away)", *at_start, toggle, &question, typed) }
            }
            { copy_status(copied_now(copied, &url), if matches!(exercise, Some(Some(_))) { "exercise link" } else { "link" }) }
            <textarea id="link-text" class="snippet" readonly=true rows="3" value={url} onfocus={select_all} aria-label="The link" />
            <div class="dialog-actions">
                <button class="primary" onclick={again}>{ "Copy again" }</button>
            </div>
        </Shell>
    }
}

#[derive(Properties, PartialEq)]
pub struct EmbedProps {
    pub fragment: String,
    /// The fragment as an exercise (see [`LinkProps::start`]).
    #[prop_or_default]
    pub start: Option<Callback<String, Option<String>>>,
    pub title: String,
    pub onclose: Callback<()>,
}

#[function_component(EmbedDialog)]
pub fn embed_dialog(props: &EmbedProps) -> Html {
    let editors = use_state(|| false);
    let exercise = use_state(|| false);
    let question = use_state(String::new);
    // The colours: None, the reader's (their choice, else their system's).
    let theme = use_state(|| None::<&'static str>);
    let height = if *editors { 1100 } else { 600 };
    let start = use_exercise_fragment(&props.start, &question);
    // (The question made the exercise's link too long: the plain one.)
    let too_long = *exercise && props.start.is_some() && start.is_none();
    let fragment = (*start).as_ref().filter(|_| *exercise).unwrap_or(&props.fragment);
    let src = browser::embed_url(fragment, *editors, *theme);
    let snippet = format!(
        "<iframe src=\"{src}\" title=\"Packet Walk: {}\" height=\"{height}\" style=\"width:100%;border:1px solid #8c959f;border-radius:6px\" loading=\"lazy\"></iframe>",
        props.title.replace('"', "&quot;")
    );
    let toggle = {
        let editors = editors.clone();
        Callback::from(move |_| editors.set(!*editors))
    };
    let onexercise = {
        let exercise = exercise.clone();
        Callback::from(move |_| exercise.set(!*exercise))
    };
    let ontheme = {
        let theme = theme.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            theme.set(match v.as_str() {
                "light" => Some("light"),
                "dark" => Some("dark"),
                _ => None,
            })
        })
    };
    let (copied, copy) = use_copy("embed-snippet", None);
    let onclick = {
        let snippet = snippet.clone();
        copy.reform(move |_: MouseEvent| (snippet.clone(), true))
    };
    // A snippet made on this machine's own server points readers at
    // their own machines.
    let local = browser::served_locally();
    html! {
        <Shell title="Embed in a page" onclose={props.onclose.clone()}>
            <p>{ "Paste this into a blog post or a course page. The embedded playground is compact: no editors, the picture first, the headers and steps beside it in a frame wider than 820 px, or below it in a narrower one (a blog's column), where the step, in two lines, and its buttons stay at the frame's bottom; the reader can still send packets and step." }</p>
            <label class="flag"><input type="checkbox" id="embed-editors" checked={*editors} onchange={toggle} />{ " Show the rule and route editors too" }</label>
            if props.start.is_some() {
                { exercise_choice("embed-exercise", " As an exercise: the reader starts at the packet's first step, sees its steps as they reach them, and its outcome at the last", *exercise, onexercise, &question, Callback::noop()) }
            }
            if too_long {
                <p class="form-error" role="alert">{ "As an exercise with this question the snippet's link would be too long: this is the plain view, which shows the answer. Shorten the question." }</p>
            }
            <label class="flag">{ "Colours " }
                <select id="embed-theme" onchange={ontheme} aria-label="The embed's colours">
                    <option value="" selected={theme.is_none()}>{ "the reader's (light or dark)" }</option>
                    <option value="light" selected={*theme == Some("light")}>{ "light" }</option>
                    <option value="dark" selected={*theme == Some("dark")}>{ "dark" }</option>
                </select>
            </label>
            if local {
                <p class="embed-local">{ "This page is served from this machine (127.0.0.1 or localhost), so the snippet points there: readers elsewhere would see nothing. Make the snippet from the playground where your readers can reach it." }</p>
            }
            <textarea id="embed-snippet" class="snippet" readonly=true rows="5" value={snippet.clone()} onfocus={select_all} aria-label="The iframe snippet" />
            { copy_status(copied_now(copied, &snippet), "snippet") }
            <div class="dialog-actions">
                <button class="primary" {onclick}>{ "Copy snippet" }</button>
                <a class="button" href={src} target="_blank" rel="noopener">{ "Preview ↗" }</a>
            </div>
        </Shell>
    }
}
