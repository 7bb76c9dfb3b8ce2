//! The few things the page asks of the browser: the address (query and
//! fragment), localStorage, downloads, the clipboard, file
//! reading (gloo-file) and the colour theme. Failures come back as
//! sentences for the learner; none of them panics.

use crate::engine::decimal;
use crate::ui::share::{self, Saved};
use std::rc::Rc;
use wasm_bindgen::JsCast;

const AUTOSAVE_KEY: &str = "packetwalk.session.v1";
const THEME_KEY: &str = "packetwalk.theme";
const LAST_KEY: &str = "packetwalk.last";
const BACKUP_KEY: &str = "packetwalk.kept-aside.v1";
const LINK_BACKUP_KEY: &str = "packetwalk.kept-aside-link.v1";
/// localStorage holds about 5 MB per site in Chromium and Firefox (UTF-16:
/// half as many characters); larger sessions are not autosaved.
pub const AUTOSAVE_MAX: usize = 2_000_000;

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// The value of `?name=` in the page address.
pub fn query(name: &str) -> Option<String> {
    let q = window()?.location().search().ok()?;
    q.trim_start_matches('?').split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| v.to_string())
    })
}

/// The fragment after `#`, if there is one and it is not the name of a
/// place in the page (`#events`, the skip link's target): links always
/// start with a version and a dot (`v2.`).
pub fn fragment() -> Option<String> {
    let h = window()?.location().hash().ok()?;
    let h = h.trim_start_matches('#');
    let anchor = h
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (!h.is_empty() && !anchor).then(|| h.to_string())
}

/// Loads the page again from its address.
pub fn reload() {
    if let Some(w) = window() {
        let _ = w.location().reload();
    }
}

/// Sets the fragment without reloading (and without a history entry).
pub fn set_fragment(frag: &str) {
    if let Some(w) = window() {
        let url = format!(
            "{}{}#{frag}",
            w.location().pathname().unwrap_or_default(),
            w.location().search().unwrap_or_default()
        );
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    }
}

pub fn clear_fragment() {
    if let Some(w) = window() {
        let url = format!(
            "{}{}",
            w.location().pathname().unwrap_or_default(),
            w.location().search().unwrap_or_default()
        );
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    }
}

/// Records the built-in scenario in the address (`?scenario=NAME`).
pub fn set_query_scenario(name: &str) {
    if let Some(w) = window() {
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&format!("?scenario={name}")),
            );
        }
    }
}

/// The page's address with fragment `frag` (a link to this view).
pub fn page_url(frag: &str) -> String {
    let Some(loc) = window().map(|w| w.location()) else {
        return String::new();
    };
    let origin = loc.origin().unwrap_or_default();
    let path = loc.pathname().unwrap_or_default();
    format!("{origin}{path}#{frag}")
}

/// The address of the page in embed mode, for an `<iframe>`.
pub fn embed_url(frag: &str, editors: bool, theme: Option<&str>) -> String {
    let Some(loc) = window().map(|w| w.location()) else {
        return String::new();
    };
    let origin = loc.origin().unwrap_or_default();
    let path = loc.pathname().unwrap_or_default();
    let extra = if editors { "&editors=1" } else { "" };
    let theme = theme.map(|t| format!("&theme={t}")).unwrap_or_default();
    format!("{origin}{path}?embed=1{extra}{theme}#{frag}")
}

/// Whether the page is served from this machine's loopback.
pub fn served_locally() -> bool {
    let host = window()
        .and_then(|w| w.location().hostname().ok())
        .unwrap_or_default();
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

fn autosave_key(base: Option<&str>) -> String {
    format!("{AUTOSAVE_KEY}.{}", base.unwrap_or("imported"))
}

/// Where a word is kept that a session of a scenario was too large to
/// autosave (what it held, in a few words).
fn unsaved_key(base: Option<&str>) -> String {
    format!("{AUTOSAVE_KEY}.unsaved.{}", base.unwrap_or("imported"))
}

/// Notes that the session of `base` held `what`, too large to autosave
/// (`None`: it is saved again, the note goes).
pub fn note_unsaved(base: Option<&str>, what: Option<&str>) {
    match what {
        Some(w) => {
            let _ = set(&unsaved_key(base), w);
        }
        None => remove(&unsaved_key(base)),
    }
}

/// What the last session of `base` held that was too large to autosave,
/// once: the note goes as it is read.
pub fn take_unsaved(base: Option<&str>) -> Option<String> {
    let key = unsaved_key(base);
    let what = get(&key)?;
    remove(&key);
    Some(what)
}

/// Where a session of a scenario is kept aside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The learner's own session, which a link or a file replaced.
    Own,
    /// One of the other sessions kept aside (the learner's work on a link's
    /// session, which another link replaced; their own when it was kept
    /// already), by a number that grows with each one kept: it names the
    /// same session in every tab, and orders them.
    Earlier(u64),
}

/// How many other sessions of a scenario are kept aside; the oldest goes
/// when one more comes.
pub const EARLIER_MAX: usize = 5;

fn earlier_prefix(base: Option<&str>) -> String {
    format!("{LINK_BACKUP_KEY}.{}.", base.unwrap_or("imported"))
}

fn backup_key(slot: Slot, base: Option<&str>) -> String {
    match slot {
        Slot::Own => format!("{BACKUP_KEY}.{}", base.unwrap_or("imported")),
        Slot::Earlier(id) => format!("{}{id}", earlier_prefix(base)),
    }
}

/// The other sessions of `base` kept aside, oldest first.
pub fn earlier(base: Option<&str>) -> Vec<Slot> {
    let Some(st) = storage() else {
        return Vec::new();
    };
    let prefix = earlier_prefix(base);
    let mut ids: Vec<u64> = (0..st.length().unwrap_or(0))
        .filter_map(|i| st.key(i).ok().flatten())
        .filter_map(|k| k.strip_prefix(&prefix)?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids.into_iter().map(Slot::Earlier).collect()
}

/// localStorage, when the browser lets the page have it (an embedded page
/// with third-party storage blocked, or storage switched off, gets none).
fn storage() -> Option<web_sys::Storage> {
    window()?.local_storage().ok().flatten()
}

fn get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

fn remove(key: &str) {
    if let Some(st) = storage() {
        let _ = st.remove_item(key);
    }
}

/// Where the tab's exercise step is noted (sessionStorage: this tab, and
/// its reloads).
const EXERCISE_STEP: &str = "packetwalk.exercise-step";

/// Notes the step an exercise reached, with the address it is at: the
/// address is written after a pause in stepping, and a reload within it
/// reloads the address as it was (set before the page goes away), so the
/// step comes back from here ([`exercise_step`]).
pub fn note_exercise_step((t, step): (usize, usize)) {
    let (Some(f), Some(st)) = (fragment(), window().and_then(|w| w.session_storage().ok().flatten())) else {
        return;
    };
    let _ = st.set_item(EXERCISE_STEP, &format!("{t} {step} {f}"));
}

/// The step noted for the exercise at `frag`, if the tab reached one
/// there after its address was written.
pub fn exercise_step(frag: &str) -> Option<(usize, usize)> {
    let st = window()?.session_storage().ok().flatten()?;
    let noted = st.get_item(EXERCISE_STEP).ok().flatten()?;
    let mut parts = noted.splitn(3, ' ');
    let (t, step) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    (parts.next()? == frag).then_some((t, step))
}

fn set(key: &str, value: &str) -> Result<(), String> {
    let st = storage().ok_or("this browser gives the page no storage")?;
    st.set_item(key, value).map_err(|e| {
        e.as_string()
            .unwrap_or_else(|| "the storage is full".into())
    })
}

fn delete(key: &str) {
    if let Some(st) = storage() {
        let _ = st.remove_item(key);
    }
}

/// The autosaved session of built-in scenario `base` (`None`: the imported
/// one), if one is stored and readable. Each scenario has its own, so
/// switching scenarios loses no edits.
/// None when nothing is saved; an error when what is stored does not read
/// as a saved session (damaged, or another version's).
pub fn load_autosave(base: Option<&str>) -> Option<Result<Saved, String>> {
    let key = autosave_key(base);
    let text = get(&key)?;
    seen(&key, &text);
    Some(share::from_json(&text).map_err(|e| match e {
        share::ShareError::BadJson { message } => message,
        e => e.to_string(),
    }))
}

thread_local! {
    /// Per autosave key, a hash of the text this tab last read or wrote
    /// there: another text there was saved by another tab.
    static SEEN: std::cell::RefCell<Vec<(String, u64)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// FNV-1a: enough to tell one saved text from another.
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn seen(key: &str, text: &str) {
    let h = hash(text);
    SEEN.with(|s| {
        let mut s = s.borrow_mut();
        match s.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = h,
            None => s.push((key.to_string(), h)),
        }
    });
}

/// Takes what is saved for `base` now as read by this tab (after it was
/// put aside): the next autosave goes over it.
pub fn forget_seen(base: Option<&str>) {
    let key = autosave_key(base);
    if let Some(text) = get(&key) {
        seen(&key, &text);
    }
}

/// Whether what is saved under `key` is another tab's: a text this tab
/// neither read nor wrote.
fn saved_elsewhere(key: &str) -> bool {
    let Some(text) = get(key) else {
        return false;
    };
    let h = hash(&text);
    !SEEN.with(|s| s.borrow().iter().any(|(k, v)| k == key && *v == h))
}

/// The session another tab saved for `base` since this tab last read or
/// wrote it (an error when it does not read); None when what is saved is
/// this tab's, or nothing is.
pub fn saved_by_other_tab(base: Option<&str>) -> Option<Result<Saved, String>> {
    let key = autosave_key(base);
    saved_elsewhere(&key).then(|| {
        share::from_json(&get(&key).unwrap_or_default()).map_err(|e| e.to_string())
    })
}

/// Why an autosave did not happen.
pub enum SaveError {
    /// Too large, or refused by the browser: a sentence saying so.
    Failed(String),
    /// Another tab with the same scenario saved its session since this tab
    /// last read or wrote it: it is left as it is.
    OtherTab,
}

impl SaveError {
    pub fn text(&self) -> String {
        match self {
            SaveError::Failed(e) => e.clone(),
            SaveError::OtherTab => OTHER_TAB.to_string(),
        }
    }
}

pub const OTHER_TAB: &str = "This scenario is open in another tab too, which has saved its own work since: this tab no longer autosaves, so that work is not overwritten.";

/// Puts another tab's saved session of `base` aside, so that this tab's
/// can be saved in its place: where the learner's own is kept, else, when
/// that is taken, after the other sessions kept. Where it went (None:
/// nothing was saved); an error sentence when nothing was done.
pub fn keep_other_tab_aside(base: Option<&str>) -> Result<Option<(Slot, Option<String>)>, String> {
    let Some(text) = get(&autosave_key(base)) else {
        return Ok(None);
    };
    let kept = if has_backup(Slot::Own, base) {
        push_earlier_text(base, &text)
    } else {
        set(&backup_key(Slot::Own, base), &text).map(|()| (Slot::Own, None))
    };
    let slot = kept.map_err(|e| {
        format!("The browser refused to keep the other tab's session aside ({e}), so nothing was changed. \"Export\" keeps this tab's work in a file.")
    })?;
    Ok(Some(slot))
}

/// Moves the stored session of `base` aside, under `….unreadable`, so
/// that the next save does not destroy it (it could not be restored).
/// False when it could not be moved (storage full, or nine set aside
/// already): it stays where it is, and nothing may save over it.
pub fn set_aside(base: Option<&str>) -> bool {
    let key = autosave_key(base);
    let Some(text) = get(&key) else {
        return true;
    };
    // An earlier one set aside stays: the next free name.
    let free = (1..10)
        .map(|n| if n == 1 { format!("{key}.unreadable") } else { format!("{key}.unreadable.{n}") })
        .find(|k| get(k).is_none());
    let moved = free.is_some_and(|k| set(&k, &text).is_ok());
    if moved {
        delete(&key);
    }
    moved
}

/// The scenario the learner had open last.
pub fn last_scenario() -> Option<String> {
    get(LAST_KEY)
}

/// Saves the session; an error sentence when it is too large or storage
/// is refused (private mode, quota). The previous save stays on failure.
pub fn autosave(saved: &Saved) -> Result<(), SaveError> {
    let json = share::to_json(saved);
    if json.len() > AUTOSAVE_MAX {
        return Err(SaveError::Failed(format!(
            "This session ({} MB) is too large for the browser's storage, so it is not autosaved. Use \"Export\" to keep it in a file.",
            decimal::fixed(json.len() as f64 / 1e6, 1)
        )));
    }
    let key = autosave_key(saved.base.as_deref());
    if saved_elsewhere(&key) {
        return Err(SaveError::OtherTab);
    }
    set(&key, &json).map_err(|e| {
        SaveError::Failed(format!(
            "The browser refused to save this session ({e}). Use \"Export\" to keep it in a file."
        ))
    })?;
    seen(&key, &json);
    let _ = set(LAST_KEY, saved.base.as_deref().unwrap_or("imported"));
    Ok(())
}

/// Whether an imported scenario is saved (without reading it).
pub fn has_imported() -> bool {
    get(&autosave_key(None)).is_some()
}

/// Keeps a session of a scenario aside in `slot` (a link or an import
/// replaced it); an error sentence when the browser refused.
pub fn backup(slot: Slot, saved: &Saved) -> Result<(), String> {
    set(&backup_key(slot, saved.base.as_deref()), &share::to_json(saved))
}

/// The session kept aside in `slot` for scenario `base`: None when there
/// is none, an error sentence when it does not read.
pub fn load_backup(slot: Slot, base: Option<&str>) -> Option<Result<Saved, String>> {
    Some(share::from_json(&get(&backup_key(slot, base))?).map_err(|e| e.to_string()))
}

/// The text of the session kept aside in `slot`, read or not.
pub fn backup_text(slot: Slot, base: Option<&str>) -> Option<String> {
    get(&backup_key(slot, base))
}

/// Whether a session is kept aside in `slot` for scenario `base`.
pub fn has_backup(slot: Slot, base: Option<&str>) -> bool {
    get(&backup_key(slot, base)).is_some()
}

/// Takes a session kept aside away.
pub fn clear_backup(slot: Slot, base: Option<&str>) {
    delete(&backup_key(slot, base));
}

/// How many other sessions of `base` are kept aside.
pub fn earlier_count(base: Option<&str>) -> usize {
    earlier(base).len()
}

/// Keeps `saved` aside after the other sessions of its scenario (once: a
/// session kept already is not kept twice): where it went, and, when
/// [`EARLIER_MAX`] were kept, the text of the oldest, which made room
/// (taken away only once the new one is written). An error sentence when
/// the browser refused.
pub fn push_earlier(saved: &Saved) -> Result<(Slot, Option<String>), String> {
    push_earlier_text(saved.base.as_deref(), &share::to_json(saved))
}

fn push_earlier_text(base: Option<&str>, json: &str) -> Result<(Slot, Option<String>), String> {
    // The same session kept already is kept once: the learner's own stays
    // where it is; another moves to the newest place.
    let same = |slot| get(&backup_key(slot, base)).is_some_and(|t| t == json);
    if same(Slot::Own) {
        return Ok((Slot::Own, None));
    }
    let list = earlier(base);
    let next = match list.last() {
        Some(Slot::Earlier(id)) => id + 1,
        _ => 1,
    };
    let slot = Slot::Earlier(next);
    set(&backup_key(slot, base), json)?;
    if let Some(&twin) = list.iter().find(|&&s| same(s)) {
        delete(&backup_key(twin, base));
        return Ok((slot, None));
    }
    let dropped = (list.len() >= EARLIER_MAX).then(|| list[0]).and_then(|old| {
        let key = backup_key(old, base);
        let text = get(&key);
        delete(&key);
        text
    });
    Ok((slot, dropped))
}

fn linked_key(base: Option<&str>) -> String {
    format!("{AUTOSAVE_KEY}.from-link.{}", base.unwrap_or("imported"))
}

pub fn is_linked(base: Option<&str>) -> bool {
    get(&linked_key(base)).is_some()
}

fn foreign_key(base: Option<&str>) -> String {
    format!("{AUTOSAVE_KEY}.from-outside.{}", base.unwrap_or("imported"))
}

pub fn is_foreign(base: Option<&str>) -> bool {
    get(&foreign_key(base)).is_some()
}

/// Marks what the autosave of scenario `base` holds: a session that came
/// from a link or a file and was not worked on (`foreign`), and one that
/// came from a link or a file, worked on or not (`linked`).
pub fn set_marks(base: Option<&str>, foreign: bool, linked: bool) {
    for (key, on) in [(foreign_key(base), foreign), (linked_key(base), linked)] {
        if on {
            let _ = set(&key, "1");
        } else {
            delete(&key);
        }
    }
}

/// Asks the learner (the browser's own confirm dialog); true without a window.
pub fn confirm(question: &str) -> bool {
    window().is_none_or(|w| w.confirm_with_message(question).unwrap_or(true))
}

/// Focuses element `id`; whether it took the focus (there is none, or
/// it cannot be focused).
/// The focused text field (a textarea, or a text input) and its top in
/// the window.
pub fn focused_field_top() -> Option<(String, f64)> {
    let a = window()?.document()?.active_element()?;
    let field = match a.tag_name().as_str() {
        "TEXTAREA" => true,
        "INPUT" => a.get_attribute("type").is_none_or(|t| t == "text" || t == "search"),
        _ => false,
    };
    (field && !a.id().is_empty()).then(|| (a.id(), a.get_bounding_client_rect().top()))
}

/// Scrolls the page so the focused field `id` is where it was (`top`),
/// when the page moved it (content above it grew or shrank).
pub fn keep_field_at(id: &str, top: f64) {
    let Some(w) = window() else {
        return;
    };
    let Some(a) = w.document().and_then(|d| d.active_element()).filter(|a| a.id() == id) else {
        return;
    };
    let dy = a.get_bounding_client_rect().top() - top;
    if dy.abs() > 1.0 {
        w.scroll_by_with_x_and_y(0.0, dy);
    }
}

/// The id of the focused element, if it has one.
pub fn focused_id() -> Option<String> {
    let a = window()?.document()?.active_element()?;
    Some(a.id()).filter(|id| !id.is_empty())
}

pub fn focus(id: &str) -> bool {
    focus_scrolling(id, true)
}

/// Focuses element `id`, the page scrolled to it or not; whether it took
/// the focus.
fn focus_scrolling(id: &str, scroll: bool) -> bool {
    html_element(id).is_some_and(|el| {
        let o = web_sys::FocusOptions::new();
        // (A framed page scrolls itself: the browser would scroll the
        // page around the frame too.)
        let framed = framed();
        o.set_prevent_scroll(!scroll || framed);
        let _ = el.focus_with_options(&o);
        if scroll && framed {
            scroll_to(&el, false);
        }
        window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|a| a == *el.unchecked_ref::<web_sys::Element>())
    })
}

/// Focuses element `id` in place of a control that went (a notice's ✕):
/// after a pointer, without scrolling the page to it (the page stays
/// under the pointer); after a key, brought into view.
pub fn focus_in_place(id: &str) -> bool {
    focus_scrolling(id, LAST_INPUT.with(std::cell::Cell::get) == Input::Keys)
}

fn html_element(id: &str) -> Option<web_sys::HtmlElement> {
    window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
}

/// Scrolls the page just enough to show element `id` (a message that
/// appeared below the window's edge).
pub fn reveal(id: &str) {
    if let Some(el) = html_element(id) {
        scroll_to(&el, false);
    }
}

/// Whether the page is shown in another page's frame (an embed in a
/// blog post).
fn framed() -> bool {
    window()
        .and_then(|w| Some((w.top().ok()??, w)))
        .is_some_and(|(top, w)| !js_sys::Object::is(&top, &w))
}

/// Scrolls `el` into view: its top to the top (`start`), else just
/// enough. In a frame, only this page and the boxes in it scroll: the
/// browser's own scrolling would move the page around the frame too (a
/// blog post jumping under its reader).
pub fn scroll_to(el: &web_sys::Element, start: bool) {
    if !framed() {
        let o = web_sys::ScrollIntoViewOptions::new();
        o.set_block(if start {
            web_sys::ScrollLogicalPosition::Start
        } else {
            web_sys::ScrollLogicalPosition::Nearest
        });
        el.scroll_into_view_with_scroll_into_view_options(&o);
        return;
    }
    let Some(w) = window() else {
        return;
    };
    // How far to scroll a view from `top` to `bottom` (page px) to show el.
    let by = |top: f64, bottom: f64| {
        let r = el.get_bounding_client_rect();
        if start || r.top() < top {
            r.top() - top
        } else if r.bottom() > bottom {
            (r.bottom() - bottom).min(r.top() - top)
        } else {
            0.0
        }
    };
    // The boxes that scroll around it, innermost first, then the window.
    let mut at = el.parent_element();
    while let Some(p) = at {
        let scrolls = (w.get_computed_style(&p).ok().flatten())
            .and_then(|st| st.get_property_value("overflow-y").ok())
            .is_some_and(|o| o == "auto" || o == "scroll")
            && p.scroll_height() > p.client_height()
            && p.parent_element().is_some();
        if scrolls {
            let top = p.get_bounding_client_rect().top() + f64::from(p.client_top());
            let dy = by(top, top + f64::from(p.client_height()));
            p.set_scroll_top(p.scroll_top() + dy.round() as i32);
        }
        at = p.parent_element();
    }
    // (Less the room the root keeps for what floats over the window's
    // foot: an embed's step bar.)
    let pad = (w.document().and_then(|d| d.document_element()))
        .and_then(|root| w.get_computed_style(&root).ok().flatten())
        .and_then(|st| st.get_property_value("scroll-padding-bottom").ok())
        // (Whole pixels: parsing a float would cost the page 15 kB.)
        .and_then(|v| v.split(['.', 'p']).next()?.parse::<i32>().ok())
        .map_or(0.0, f64::from);
    w.scroll_by_with_x_and_y(0.0, by(0.0, window_height() - pad));
}

/// The top of the floating notice (and a parse's progress), if one shows.
fn toasts_top() -> Option<f64> {
    let d = window()?.document()?;
    let t = d.query_selector(".toasts").ok().flatten()?;
    Some(t.get_bounding_client_rect().top())
}

/// Keeps the floating notice's room clear when the page scrolls a
/// control into view (the focus moving from the keyboard, a find): the
/// root's scroll padding at the window's foot, none without one (the
/// style sheet's own then holds); the steps' panel, sticky in the window,
/// ends above it (`--toast-room`).
pub fn pad_for_notice() {
    let Some(d) = window().and_then(|w| w.document()) else {
        return;
    };
    let Some(root) = d.document_element().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return;
    };
    let style = root.style();
    // Each written only when it changes: a write makes the next measure
    // lay the page out again (a send under a notice took twice as long
    // with a 10k-service dump's editors).
    // Right above the narrow layout's step bar, as tall as it is.
    let bar = (d.query_selector(".step-controls").ok().flatten())
        .filter(|b| (window().and_then(|w| w.get_computed_style(b).ok().flatten()))
            .and_then(|s| s.get_property_value("position").ok())
            .is_some_and(|p| p == "fixed"))
        .map(|b| b.get_bounding_client_rect().height());
    let bar = bar.filter(|_| d.query_selector(".toasts").ok().flatten().is_some());
    set_style(&style, "--bar-room", bar.map(|h| format!("{}px", (h + 8.0).round() as i32)));
    // From the notice's top to the window's foot (the narrow layout's
    // step bar under it included). (An integer: formatting a float would
    // bring its code into the page.)
    let room = toasts_top().map(|top| format!("{}px", (window_height() - top + 8.0).round() as i32));
    set_style(&style, "scroll-padding-bottom", room.clone());
    // The steps' panel, sticky in the window, ends above it, as the
    // picture's box does, and the page keeps that room below its end:
    // on each of them (see the style sheet's `@property --toast-room`).
    if let Ok(users) = d.query_selector_all(".app, .detail-panel, .topo-scroll") {
        for i in 0..users.length() {
            if let Some(el) = users.item(i).and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
                set_style(&el.style(), "--toast-room", room.clone());
            }
        }
    }
}

/// Sets (or, with none, removes) a property of an element's style (the
/// root's, mostly), only if it changes.
fn set_style(style: &web_sys::CssStyleDeclaration, name: &str, value: Option<String>) {
    let value = value.unwrap_or_default();
    if style.get_property_value(name).ok().unwrap_or_default() == value {
        return;
    }
    let _ = match value.as_str() {
        "" => style.remove_property(name).map(|_| ()),
        v => style.set_property(name, v),
    };
}

/// Scrolls the page just enough that the floating notice does not hide
/// the focused control (a notice floats over the window's foot). A
/// control taller than the room above the notice (an editor) stays where
/// it is.
pub fn keep_focus_clear_of_notice() {
    let Some(d) = window().and_then(|w| w.document()) else {
        return;
    };
    let (Some(a), Some(t)) = (d.active_element(), d.query_selector(".toasts").ok().flatten()) else {
        return;
    };
    if a.tag_name() == "BODY" {
        return;
    }
    let (r, t) = (a.get_bounding_client_rect(), t.get_bounding_client_rect());
    let covered = r.bottom() > t.top() && r.top() < t.bottom() && r.right() > t.left() && r.left() < t.right();
    if !covered || r.height() + t.height() + 16.0 > window_height() {
        return;
    }
    if let Some(w) = window() {
        w.scroll_by_with_x_and_y(0.0, r.bottom() - t.top() + 8.0);
    }
}

/// Shows the selected step's explanation (`#step-why`, under its
/// headers) at the top of the steps' panel, under its sticky buttons
/// (where the panel scrolls on its own: the page is first scrolled to the
/// panel, which then sticks at the window's top), or of the window; and
/// puts the focus there, so a screen reader reads on from it.
pub fn show_why() {
    let (Some(w), Some(el)) = (window(), html_element("step-why")) else {
        return;
    };
    // (Not scrolled by the focus: the page stays under the pointer.)
    let o = web_sys::FocusOptions::new();
    o.set_prevent_scroll(true);
    let _ = el.focus_with_options(&o);
    let panel = el.closest(".detail-panel").ok().flatten();
    let sticky = (panel.as_ref())
        .and_then(|p| w.get_computed_style(p).ok().flatten())
        .and_then(|s| s.get_property_value("position").ok())
        .is_some_and(|p| p == "sticky");
    match panel.filter(|_| sticky) {
        Some(p) => {
            // The panel sticks at the window's top once the page is
            // scrolled to it: then all of it is in view.
            let top = p.get_bounding_client_rect().top();
            if top > 12.0 {
                w.scroll_by_with_x_and_y(0.0, top - 8.0);
            }
            let bar = (p.query_selector(".step-controls").ok().flatten())
                .map_or(0.0, |b| b.get_bounding_client_rect().height());
            let dy = el.get_bounding_client_rect().top() - p.get_bounding_client_rect().top() - bar - 8.0;
            p.set_scroll_top(p.scroll_top() + dy as i32);
        }
        None => scroll_to(&el, true),
    }
}

/// Opens the `<details>` element `id`, puts the focus on its summary
/// and scrolls the page to put it at the top of the window.
pub fn open_details(id: &str) {
    let Some(el) = html_element(id) else {
        return;
    };
    let _ = el.set_attribute("open", "");
    if let Some(s) = (el.query_selector("summary").ok().flatten()).and_then(|s| s.dyn_into::<web_sys::HtmlElement>().ok()) {
        let o = web_sys::FocusOptions::new();
        o.set_prevent_scroll(true);
        let _ = s.focus_with_options(&o);
    }
    scroll_to(&el, true);
}

/// Focuses element `id` and scrolls the page to put its top at the top of
/// the window (focus alone scrolls a tall element only partly in).
pub fn focus_top(id: &str) {
    if let Some(el) = html_element(id) {
        let o = web_sys::FocusOptions::new();
        o.set_prevent_scroll(true);
        let _ = el.focus_with_options(&o);
        scroll_to(&el, true);
    }
}

/// The window's height in CSS px (0 when unknown).
pub fn window_height() -> f64 {
    window().and_then(|w| w.inner_height().ok()).and_then(|v| v.as_f64()).unwrap_or(0.0)
}

/// Beside the step panel the picture scrolls in its own box: as tall as
/// the window leaves under it at the page's top (`--topo-room`), so that
/// following the packet to the picture's foot scrolls the box alone, never
/// the page; or, where that leaves less than 40% of the window (the send
/// form above the picture), the window's height (the style sheet's).
pub fn fit_picture() {
    if let Some(room) = picture_room() {
        set_picture_room(room);
    }
}

/// [`fit_picture`]'s measure alone: the picture box's height (`None`
/// where the style sheet's holds), or nothing to go by (no picture). A
/// page that writes other properties too measures first: a measure after
/// a write lays the page out again.
pub fn picture_room() -> Option<Option<String>> {
    let w = window()?;
    let b = w.document()?.query_selector(".topo-scroll").ok().flatten()?;
    let height = window_height();
    let top = b.get_bounding_client_rect().top() + w.scroll_y().unwrap_or(0.0);
    let room = (height - top - 16.0).round();
    Some((room >= (height * 0.4).max(240.0)).then(|| format!("{}px", room as i32)))
}

/// [`fit_picture`]'s write: `--topo-room` on the root.
pub fn set_picture_room(room: Option<String>) {
    let root = window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(root) = root {
        set_style(&root.style(), "--topo-room", room);
    }
}

/// Why the page may follow the packet on the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// A step taken (keys, buttons, play).
    Step,
    /// A packet sent, answered or sent again, or the picture focused: the
    /// packet is brought into view from wherever the page is.
    Reveal,
    /// The page's first view of a link: as a step, and in the narrow
    /// layout as a reveal (the link shows its step's packet).
    Link,
    /// The page's first view otherwise: not followed, the page opens at
    /// its top (the title and the send form first; a short window would
    /// otherwise open scrolled, its title out of sight).
    Opened,
}

/// What the learner used last: the page scrolls under a pointer only
/// when it must (a button clicked again would not be under it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Pointer,
    Keys,
}

thread_local! {
    static LAST_INPUT: std::cell::Cell<Input> = const { std::cell::Cell::new(Input::Pointer) };
}

/// Notes the kind of the learner's last input (a key, or a pointer).
pub fn note_input(i: Input) {
    LAST_INPUT.with(|l| l.set(i));
}

/// Scrolls the picture's box (beside the step panel) or the page (in the
/// narrow layout) just enough to show the packet's glyph (and its card)
/// on the picture.
///
/// A step follows the packet when the selected step's panel is beside the
/// picture and part of the picture is in the window: stepping follows it
/// down a picture taller than its box, and a learner who scrolled away
/// to read (or steps from the list) stays put. In the narrow layout the
/// step bar is fixed at the window's bottom and the panel is under the
/// picture: a step brings the packet above the bar while a good part of
/// the picture shows or from the send form above it, not while the
/// learner reads what is under it. A reveal brings it into view from
/// anywhere (only from out of sight without the bar, where the send
/// form's buttons would move).
///
/// The picture's box is fitted first ([`fit_picture`]) by the caller.
pub fn follow_packet(why: Follow) {
    let Some(w) = window() else {
        return;
    };
    let Some(doc) = w.document() else {
        return;
    };
    let rect = |css: &str| doc.query_selector(css).ok().flatten().map(|e| e.get_bounding_client_rect());
    let (Some(svg), Some(mut glyph), Some(panel)) =
        (rect(".topo-panel svg"), rect(".topo-marker .topo-glyph"), rect(".detail-panel"))
    else {
        return;
    };
    // Stepping from the list of steps keeps the list where it is.
    let in_list = doc.active_element().and_then(|e| e.closest(".events-panel").ok().flatten()).is_some();
    let height = window_height();
    // The narrow layout's step bar: fixed (a panel's buttons that only
    // reach the window's bottom edge are not it).
    let fixed = (doc.query_selector(".step-controls").ok().flatten())
        .and_then(|e| w.get_computed_style(&e).ok().flatten())
        .and_then(|s| s.get_property_value("position").ok())
        .is_some_and(|p| p == "fixed");
    let bar = rect(".step-controls").filter(|_| fixed);
    // Beside the step panel the picture scrolls in its own box, at most
    // the window's height: the packet is followed in the box, and the
    // page, with the step buttons under the pointer, stays.
    let scroller = bar
        .is_none()
        .then(|| doc.query_selector(".topo-scroll").ok().flatten())
        .flatten()
        .filter(|b| b.scroll_height() > b.client_height() + 1);
    const ROOM: f64 = 48.0;
    // (A notice floating over the window's foot, above the narrow
    // layout's bar, takes its room too.)
    let floor = [bar.as_ref().map(|b| b.top()), toasts_top()].into_iter().flatten().reduce(f64::min);
    let below = floor.map_or(ROOM, |f| height - f + ROOM / 2.0);
    // Where the glyph shows: the window, or the part of the picture's box
    // in it (above a notice).
    let foot = floor.unwrap_or(height);
    let frame = |b: &web_sys::Element| {
        let r = b.get_bounding_client_rect();
        (r.top().max(0.0), (r.top() + f64::from(b.client_height())).min(foot))
    };
    let (pic, mut view) = match &scroller {
        Some(b) => (b.get_bounding_client_rect(), frame(b)),
        None => (svg, (0.0, height)),
    };
    // (A box's strip too thin to show the packet in is not shown: the
    // page would have to scroll, from under the pointer.)
    const STRIP: f64 = 120.0;
    let pic_shown = match &scroller {
        Some(_) => view.1 - view.0 >= STRIP,
        None => pic.bottom() > 0.0 && pic.top() < height,
    };
    let shown = |g: &web_sys::DomRect, (lo, hi): (f64, f64)| g.bottom() > lo && g.top() < hi;
    let link = why == Follow::Link;
    let why = match (why, bar.is_some()) {
        (Follow::Opened, _) => return,
        (Follow::Link, true) => Follow::Reveal,
        (Follow::Link, false) => Follow::Step,
        (w, _) => w,
    };
    let reveal = why == Follow::Reveal;
    let keys = LAST_INPUT.with(std::cell::Cell::get) == Input::Keys;
    // A page at its top with the picture's box under the window's foot
    // (the send form above them): a key, or a link opened, brings it into
    // view.
    let under = scroller.is_some() && (keys || link) && w.scroll_y().unwrap_or(0.0) < 1.0 && !pic_shown;
    // Out of sight, or beside the list stepped in, the box alone follows
    // (the picture shows the packet when the learner comes back to it).
    let mut quiet = false;
    if !reveal {
        let beside = panel.left() >= pic.right();
        let followed = match &bar {
            // The narrow layout: followed while a good part of the picture
            // shows, or from the send form above it; not from what is
            // under it (the headers, the steps, the editors) being read.
            // (A strip of 100 px: on a phone the bar leaves little room,
            // and a packet put in view last step leaves that much.)
            Some(b) => {
                let shown = pic.bottom().min(b.top()) - pic.top().max(0.0);
                shown > 100.0_f64.min(b.top() / 4.0) || pic.top() >= b.top()
            }
            None => beside && pic_shown,
        };
        if (in_list || !followed) && !under {
            let Some(b) = &scroller else {
                return;
            };
            quiet = true;
            let r = b.get_bounding_client_rect();
            view = (r.top(), r.top() + f64::from(b.client_height()));
        }
    } else if bar.is_none() && shown(&glyph, view) {
        return;
    }
    // A revealed picture's box, mostly out of sight, is brought into the
    // window first (its top to the window's, or as far as the page goes).
    if let (Some(b), true) = (&scroller, reveal || under) {
        if view.1 - view.0 < f64::from(b.client_height()).min(240.0) {
            w.scroll_by_with_x_and_y(0.0, b.get_bounding_client_rect().top() - 8.0);
            view = frame(b);
            glyph = rect(".topo-marker .topo-glyph").unwrap_or(glyph);
        }
    }
    // Until the step panel sticks at the window's top, a scroll of the
    // page moves its buttons from under the pointer: the page scrolls
    // then only for a packet out of sight, not for one near an edge (its
    // card cut off). Keys have no pointer to keep: the card is brought in
    // as well.
    let stuck = reveal || keys || bar.is_some() || scroller.is_some() || panel.top() <= 12.0;
    if !stuck && shown(&glyph, view) {
        return;
    }
    // In the box the margins are the box's; in the window, ROOM at the top
    // and `below` at the foot.
    let (lo, hi) = match &scroller {
        Some(_) => (view.0 + ROOM / 2.0, view.1 - ROOM / 2.0),
        None => (ROOM, height - below),
    };
    // The glyph and its card (the addresses, the tunnel's header around
    // them), and the box it sits on when all fit above the bar (a client's
    // box is otherwise left half under it).
    let (mut top, mut bottom) = (glyph.top(), glyph.bottom());
    let card = rect(".topo-marker g[class^='topo-card'] > rect");
    let boxed = rect(".topo-current").filter(|_| bar.is_some() || reveal);
    for b in [card, boxed].into_iter().flatten() {
        let (t, u) = (top.min(b.top()), bottom.max(b.bottom()));
        if u - t < hi - lo {
            (top, bottom) = (t, u);
        }
    }
    let dy = if top < lo || bottom > hi {
        if reveal && bar.is_some() {
            // The picture's top, if the packet still fits under it.
            (pic.top() - 8.0).max(bottom - hi).min(top - ROOM)
        } else if let Some(b) = bar.as_ref() {
            // Above the bar, the packet in the middle of what shows: the
            // next steps, which mostly go down the picture, stay in view
            // longer than at the edge.
            (top + bottom) / 2.0 - b.top() / 2.0
        } else if top < lo {
            top - lo
        } else {
            bottom - hi
        }
    } else {
        return;
    };
    let mut rest = dy;
    if let Some(b) = &scroller {
        let at = b.scroll_top();
        b.set_scroll_top(at + dy.round() as i32);
        rest = dy - f64::from(b.scroll_top() - at);
        // At the box's end, the rest is the page's to scroll: when that
        // moves no button from under the pointer, or the packet is still
        // out of the window.
        let glyph = rect(".topo-marker .topo-glyph").unwrap_or(glyph);
        let page = keys || reveal || link || panel.top() <= 12.0 || !shown(&glyph, (0.0, foot));
        // (The margins aside: a packet at the picture's very end, its
        // box scrolled as far as it goes, is in view when the box shows it
        // whole.)
        let (vlo, vhi) = frame(b);
        let whole = [Some(glyph), rect(".topo-marker g[class^='topo-card'] > rect")]
            .into_iter()
            .flatten()
            .all(|r| r.top() >= vlo && r.bottom() <= vhi);
        if rest.abs() < 1.0 || !page || quiet || whole {
            return;
        }
    }
    w.scroll_by_with_x_and_y(0.0, rest);
}

/// Scrolls the list `list` (a CSS selector) that holds element `item` just
/// enough to show it; the page itself does not move.
pub fn reveal_in(list: &str, item: &str) {
    let Some(doc) = window().and_then(|w| w.document()) else {
        return;
    };
    let (Some(l), Some(i)) = (
        doc.query_selector(list).ok().flatten(),
        doc.query_selector(item).ok().flatten(),
    ) else {
        return;
    };
    let (lr, ir) = (l.get_bounding_client_rect(), i.get_bounding_client_rect());
    let by = if ir.bottom() > lr.bottom() {
        (ir.bottom() - lr.bottom()).min(ir.top() - lr.top())
    } else if ir.top() < lr.top() {
        ir.top() - lr.top()
    } else {
        return;
    };
    l.set_scroll_top(l.scroll_top() + by.round() as i32);
}

/// Puts every `<select>` on its option marked `selected` in the markup.
/// A view marks the option in use, but once the learner has picked one
/// the browser keeps the picked one: after an undo, a redo or a scenario
/// switch the box would show a value that is not in use.
pub fn sync_selects() {
    let Some(list) = window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector_all("select").ok())
    else {
        return;
    };
    for i in 0..list.length() {
        let Some(sel) = list.item(i).and_then(|n| n.dyn_into::<web_sys::HtmlSelectElement>().ok()) else {
            continue;
        };
        let marked = sel
            .query_selector("option[selected]")
            .ok()
            .flatten()
            .and_then(|o| o.get_attribute("value"));
        if let Some(v) = marked.filter(|v| *v != sel.value()) {
            sel.set_value(&v);
        }
    }
}

/// Whether nothing has focus (the focused element was removed): the page's
/// `<body>` holds it.
pub fn focus_lost() -> bool {
    let Some(d) = window().and_then(|w| w.document()) else {
        return false;
    };
    match (d.active_element(), d.body()) {
        (None, _) => true,
        // A control just disabled keeps the focus until the browser's next
        // frame takes it away.
        (Some(a), _) if a.has_attribute("disabled") => true,
        (Some(a), Some(b)) => a == *b.unchecked_ref::<web_sys::Element>(),
        _ => false,
    }
}

/// Whether the focused element is inside the element matching `css`.
pub fn focus_in(css: &str) -> bool {
    window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|e| e.closest(css).ok().flatten())
        .is_some()
}

pub fn clear_autosave(base: Option<&str>) {
    delete(&autosave_key(base));
}

/// The theme the learner chose: `Some(true)` dark, `Some(false)` light,
/// `None` the system's.
pub fn load_theme() -> Option<bool> {
    match get(THEME_KEY)?.as_str() {
        "dark" => Some(true),
        "light" => Some(false),
        _ => None,
    }
}

pub fn save_theme(dark: Option<bool>) {
    match dark {
        Some(d) => {
            let _ = set(THEME_KEY, if d { "dark" } else { "light" });
        }
        None => delete(THEME_KEY),
    }
}

/// Whether the system asks for dark colours.
pub fn prefers_dark() -> bool {
    window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// Sets `data-theme` on `<html>` (the stylesheet keys its palette on it).
pub fn apply_theme(dark: Option<bool>) {
    if let Some(root) = window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = match dark {
            Some(true) => root.set_attribute("data-theme", "dark"),
            Some(false) => root.set_attribute("data-theme", "light"),
            None => root.remove_attribute("data-theme"),
        };
    }
}

/// Offers `text` as a file download.
pub fn download(name: &str, text: &str) {
    let Some(doc) = window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/json");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = doc.create_element("a") {
        if let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() {
            a.set_href(&url);
            a.set_download(name);
            a.click();
        }
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Copies `text` to the clipboard. The Clipboard API exists only on a
/// secure origin (https, or localhost); elsewhere (a classroom server on a
/// LAN address over http) the text in the field `fallback` (a textarea id)
/// is selected and copied with `document.execCommand("copy")` (not for a
/// copy the page makes by itself, `fallback` None: selecting the field
/// would take the focus from where the user types). Whether it worked: the
/// dialogs say so, and the text stays selectable either way.
pub async fn copy(text: String, fallback: Option<&'static str>) -> bool {
    let Some(w) = window() else {
        return false;
    };
    let nav = w.navigator();
    let clip = js_sys::Reflect::get(&nav, &"clipboard".into()).unwrap_or_default();
    if !clip.is_undefined() && !clip.is_null() {
        let clip: web_sys::Clipboard = clip.unchecked_into();
        if wasm_bindgen_futures::JsFuture::from(clip.write_text(&text))
            .await
            .is_ok()
        {
            return true;
        }
    }
    let Some(field) = fallback
        .and_then(|id| w.document()?.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
    else {
        return false;
    };
    field.select();
    let Some(doc) = w.document() else {
        return false;
    };
    let exec = js_sys::Reflect::get(&doc, &"execCommand".into()).unwrap_or_default();
    exec.dyn_ref::<js_sys::Function>()
        .and_then(|f| f.call1(&doc, &"copy".into()).ok())
        .is_some_and(|r| r.as_bool() == Some(true))
}

/// Reads a file as text, then calls `done` with its name and text.
pub fn read_file(
    file: web_sys::File,
    done: impl FnOnce(Result<(String, Rc<str>), String>) + 'static,
) {
    let name = file.name();
    let file = gloo_file::File::from(file);
    wasm_bindgen_futures::spawn_local(async move {
        // As bytes, then UTF-8 checked in Rust: reading as text would have
        // the browser make a UTF-16 string that is then transcoded into
        // wasm memory, one 100 ms task for a 12 MB dump.
        let t0 = now_ms();
        let r = match gloo_file::futures::read_as_bytes(&file).await {
            Ok(bytes) => crate::engine::text::decode(bytes)
                .map(|t| (name.clone(), Rc::<str>::from(t)))
                .map_err(|at| {
                    format!(
                        "{name} is not text ({at}): is it an iptables-save or ip route listing?"
                    )
                }),
            Err(e) => Err(format!("{name} could not be read: {e}")),
        };
        record("data-read-ms", now_ms() - t0);
        done(r);
    });
}

/// Whether a key press goes to a text field (where arrows move the caret).
pub fn typing_in_field(k: &web_sys::KeyboardEvent) -> bool {
    let Some(t) = k
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return false;
    };
    let tag = t.tag_name().to_ascii_lowercase();
    // A checkbox or a button-like input has no use for arrows (Space
    // still ticks a checkbox: the page takes it only on itself).
    let input_takes_keys = || {
        let kind = t.get_attribute("type").unwrap_or_default().to_ascii_lowercase();
        !matches!(kind.as_str(), "checkbox" | "button" | "submit" | "reset" | "file" | "color")
    };
    let field = match tag.as_str() {
        "textarea" => true,
        // A closed select changes with ↑/↓ as well; ←/→ step, as the
        // step panel's hint says, instead of changing it (the scenario
        // picker would open another scenario).
        "select" => !matches!(k.key().as_str(), "ArrowLeft" | "ArrowRight"),
        "input" => input_takes_keys(),
        _ => false,
    };
    field || t.closest("[data-keys='own']").ok().flatten().is_some()
}

/// Whether an element matches `css`.
pub fn exists(css: &str) -> bool {
    window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(css).ok().flatten())
        .is_some()
}

/// Whether a dialog is open (it has the keyboard).
pub fn dialog_open() -> bool {
    exists(".dialog")
}

/// Whether a key press goes to the page itself or to the event list (not
/// to a button, link or other control that has its own use for Space);
/// `with_controls`: or to the steps' own buttons and filters.
pub fn on_page_or_steps(k: &web_sys::KeyboardEvent, with_controls: bool) -> bool {
    let Some(t) = k
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return true;
    };
    let tag = t.tag_name().to_ascii_lowercase();
    let around = if with_controls {
        ".event-list, .step-controls, #events, .topo-scroll"
    } else {
        ".event-list, .topo-scroll"
    };
    // The steps' section itself (the skip link focuses it), not the filter
    // boxes inside it; the selected step's panel itself, for N.
    let panel = with_controls && t.matches(".detail-panel").unwrap_or(false);
    tag == "body" || tag == "html" || t.id() == "events" || panel || t.closest(around).ok().flatten().is_some()
}


/// Whether a key press goes to a box that scrolls with the arrows (the
/// editors' listings, a wide table, the sync diff): there the arrows
/// scroll, not step. (On buttons and checkboxes
/// anywhere, the cluster form's and editors' too, they step.)
pub fn in_scroller(k: &web_sys::KeyboardEvent) -> bool {
    let Some(t) = k.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
        return false;
    };
    // The selected step's panel, when it has the focus itself (not its
    // buttons, where the arrows step): left and right step, N goes to the
    // next change; the other keys scroll it, or the page, as the browser
    // does.
    if t.matches(".detail-panel").unwrap_or(false) {
        return !matches!(k.key().as_str(), "ArrowLeft" | "ArrowRight" | "n" | "N");
    }
    // A picture wider than its box: ← and → scroll it, the other keys step.
    if let Some(pic) = t.closest(".topo-scroll").ok().flatten() {
        return pic.scroll_width() > pic.client_width() && matches!(k.key().as_str(), "ArrowLeft" | "ArrowRight");
    }
    (t.closest(".diff-lines, .vlist-scroll, .table-scroll, .error-list, .restore-text").ok().flatten()).is_some()
}

/// The root element's font size in CSS px (16 unless the reader's browser
/// asks for larger text).
pub fn root_font_px() -> f64 {
    window()
        .and_then(|w| {
            let root = w.document()?.document_element()?;
            w.get_computed_style(&root).ok().flatten()
        })
        .and_then(|st| st.get_property_value("font-size").ok())
        // (decimal::parse: `str::parse::<f64>` would bring core's float
        // tables into the page.)
        .and_then(|v| decimal::parse(v.trim_end_matches("px")))
        .filter(|px| px.is_finite() && *px > 0.0)
        .unwrap_or(16.0)
}

/// Milliseconds since the page started (`performance.now()`).
pub fn now_ms() -> f64 {
    window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Writes a measurement (milliseconds) as an attribute of `<body>`, where
/// the browser benchmark (`scripts/bench_page.py`) reads it.
pub fn record(name: &str, ms: f64) {
    if let Some(body) = window().and_then(|w| w.document()).and_then(|d| d.body()) {
        let _ = body.set_attribute(name, &decimal::fixed(ms, 2));
    }
}
