//! The page: one struct component that owns the [`Session`] and hands
//! slices of it to the views. Every message mutates the session in place
//! (no copy of a 12 MB rule set per keystroke), then the views re-render.
//!
//! Where things come from at start-up, first match wins: a link's
//! fragment (`#v1.…`), `?scenario=NAME`, the autosave in localStorage,
//! the default built-in scenario.

use crate::engine::error::Errors;
use crate::engine::iptables::Ruleset;
use crate::engine::scenario::{self, HostKind};
use crate::engine::generator::FormEdit;
use crate::engine::SendSpec;
use crate::ui::cluster::{self, ClusterPanel};
use crate::ui::dialogs::{EmbedDialog, LinkDialog};
use crate::ui::editors::{CommandResult, EditorPanel, EditorView, RulesRef};
use crate::ui::events::{send_history, step_controls, ControlProps, EventList, HistoryProps};
use crate::ui::explain::{explain, ExplainProps};
use crate::ui::headers::HeaderView;
use crate::ui::model::{self, Filters, Move};
use crate::ui::send_form::{self, SendForm, Target};
use crate::ui::session::{Change, ClusterDraft, Field, Session};
use crate::ui::share::{self, Saved};
use crate::ui::topology::Topology;
use crate::ui::{browser, generator, import};
use gloo_timers::callback::{Interval, Timeout};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// How long typing must pause before the text is parsed and applied.
const DEBOUNCE_MS: u32 = 300;
/// How long after a change the session is saved to localStorage.
const AUTOSAVE_MS: u32 = 800;
/// Rule texts longer than this are parsed in chunks with a progress bar.
const CHUNKED_BYTES: usize = 256 * 1024;

pub enum Msg {
    /// A trace and its step picked (a packet in "Packets sent").
    Select(usize, usize),
    /// A step picked in the list of steps: beside the picture, its box
    /// follows the packet (see `browser::follow_packet`).
    Pick(usize, usize),
    Step(Move),
    /// To the next step that changes the packet.
    NextChange,
    /// The send form changed (not sent).
    FormDraft(SendSpec),
    /// The send form shows this packet (its fields set anew).
    FormTo(SendSpec),
    TogglePlay,
    Tick,
    Speed(u32),
    Filters(Filters),
    Send(SendSpec),
    SendAgain,
    Reply,
    ClearConntrack,
    ClearSends,
    /// Leaves the exercise: every step and outcome shown (`true`), once
    /// asked whether to (`false`: the question shows).
    EndExercise(bool),
    /// Keeps the exercise: the question whether to end it goes.
    KeepExercise,
    ForceOther,
    ExplainRule(usize),
    Edit(usize, Field, Rc<str>),
    Apply(usize, Field),
    Command(usize, String),
    Undo,
    Redo,
    EditorHost(usize),
    /// Let seconds pass before the next packet; take that back.
    Wait(u32),
    Unwait,
    /// Open a host's listing under the editors (`conntrack-list`,
    /// `neigh-list`) and bring it into view.
    ShowListing(String, &'static str),
    EditorView(Field, EditorView),
    Scenario(String),
    Reset,
    ImportScenario(String),
    ExportScenario,
    ImportText(usize, Option<Field>, String, Rc<str>),
    /// A file from Import… or dropped outside the editors: a scenario,
    /// Kubernetes objects, or a node's listing, by what it holds.
    ImportFile(String, Rc<str>),
    ImportDone(u64, u64, usize, Rc<str>, Result<Ruleset, Errors>),
    /// Bring back a session kept aside: the learner's own, which a link
    /// or a file replaced, or their work on a link's session.
    Restore(browser::Slot),
    /// Holding off: open the learner's saved session again (the page
    /// without the link), giving up the one shown.
    ReopenSaved,
    /// Download a session kept aside that made room for another.
    DownloadDropped(Rc<str>),
    /// A session kept aside that does not read: download it as it is, or
    /// take it away.
    DownloadDamaged(browser::Slot),
    RemoveDamaged(browser::Slot),
    /// Save this tab's session over another tab's, keeping that one aside.
    TakeOver,
    CopyLink,
    OpenEmbed,
    CloseDialog,
    Notice(Notice),
    DismissNotice,
    Theme,
    Autosave,
    /// An exercise's step is written into the address, for a reload.
    KeepExerciseStep,
    /// The Copy link dialog's choice (as an exercise, the question), kept
    /// for its next opening.
    LinkChoice((bool, String)),
    /// The system's colours changed (the theme button says what it does).
    SystemTheme,
    /// The address's fragment changed (a link pasted into this tab).
    Fragment,
    /// Back or Forward to another address of the page.
    PopState,
    /// The cluster generator loaded, or why not.
    GeneratorLoaded(Result<(), String>),
    /// The cluster's YAML as typed; synced after a pause.
    ClusterEdit(Rc<str>),
    ClusterApply,
    /// A sync made away from the page's thread came back: the world's
    /// generation it was asked on, the draft it synced, what it made.
    ClusterSynced(
        (u64, u64),
        Box<ClusterDraft>,
        Result<Box<crate::engine::generator::Resynced>, crate::engine::Errors>,
    ),
    ClusterMode(String),
    ClusterLayout(String),
    ClusterHairpin(bool),
    /// Highlight this line of the cluster's YAML (a rule's origin).
    ClusterShow(usize),
    ClusterService(String, String, String),
    ClusterEndpoint(usize, Option<crate::engine::k8s::edit::EndpointState>),
    /// Add an endpoint of Service `.0` on node `.1`.
    ClusterAdd(String, String),
}

/// A message at the top of the page.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub error: bool,
    pub text: String,
    /// Offer to bring back the learner's own session (a link replaced it).
    pub restore: bool,
    /// Offer to bring back a session kept aside after the others (which,
    /// and the button's words).
    pub restore_earlier: Option<(u64, &'static str)>,
    /// A session kept aside that made room for another (its text), offered
    /// as a download.
    pub dropped: Option<Rc<str>>,
    /// The learner's session could not be kept aside: this tab must not
    /// autosave over it.
    pub hold_save: bool,
    /// Offer to save this tab's session over another tab's (kept aside).
    pub take_over: bool,
    /// A session kept aside that does not read: offered as a download as
    /// it is, and to be taken away.
    pub damaged: Option<browser::Slot>,
}

impl Notice {
    /// Whether it offers a session kept aside.
    pub fn offers(&self) -> bool {
        self.restore || self.restore_earlier.is_some()
    }

    /// Adds what keeping the learner's session aside did.
    fn with(mut self, kept: Kept) -> Notice {
        self.text.push_str(&kept.text);
        self.restore = kept.restore;
        self.restore_earlier = kept.restore_earlier;
        self.dropped = kept.dropped;
        self.hold_save = kept.hold;
        self.error |= kept.hold;
        self
    }

    pub fn info(text: impl Into<String>) -> Notice {
        Notice {
            error: false,
            text: text.into(),
            restore: false,
            restore_earlier: None,
            dropped: None,
            hold_save: false,
            take_over: false,
            damaged: None,
        }
    }
    pub fn error(text: impl Into<String>) -> Notice {
        Notice {
            error: true,
            text: text.into(),
            restore: false,
            restore_earlier: None,
            dropped: None,
            hold_save: false,
            take_over: false,
            damaged: None,
        }
    }
}

/// The scenario drawn by the topology, with the key it was made for.
type TopoCache = std::cell::RefCell<Option<((u64, u64, usize), Rc<scenario::Scenario>)>>;

/// An answer to "why did rule N not match?": the session version it was
/// asked at (any change makes it stale), the rule and the answer.
type Explained = (u64, usize, crate::ui::explain::Explanation);

/// The fragment of the link as an exercise, with a question (empty:
/// none): see [`App::exercise_fragment`].
/// The longest question an exercise's link carries, in characters.
const MAX_QUESTION: usize = 500;

type ExerciseLink = Callback<String, Option<String>>;

enum Dialog {
    /// The link to the view, and one to the same packet's first step
    /// (when another is selected): for an exercise.
    Link(String, Option<ExerciseLink>),
    /// The link's fragment, and the fragment as an exercise.
    Embed(String, Option<ExerciseLink>),
}

/// A chunked parse in progress (its progress goes to the bar alone:
/// [`import::ProgressSink`]).
struct Importing {
    host: usize,
    name: String,
    /// Which parse this is: only the latest one's result is used.
    seq: u64,
    /// The rules came with an imported scenario file (part of it, not an
    /// edit: not undoable, and the packets are traced again after them).
    from_file: bool,
}

pub struct App {
    session: Session,
    notice: Option<Notice>,
    filters: Filters,
    playing: Option<Interval>,
    speed_ms: u32,
    editor_host: usize,
    views: (EditorView, EditorView),
    debounce: HashMap<(usize, Field), Timeout>,
    cluster_debounce: Option<Timeout>,
    /// The send form as the learner left it; a restored session's at first.
    form_draft: Option<SendSpec>,
    /// A sync is being made in the worker (large sessions).
    syncing: bool,
    /// The last iptables command run on a host's listing, and its outcome.
    /// Shown beside the command line of that host (by name) while the
    /// world is as the command left it (`world_gen`).
    command_result: Option<(String, u64, Rc<CommandResult>)>,
    /// The cluster change that sync undoes (`true`) or redoes, if it is one.
    sync_step: Option<(Change, bool)>,
    /// While the cluster generator loads: the messages waiting for it.
    waiting: Option<Vec<Msg>>,
    /// The line of the cluster's YAML a rule's origin points at.
    cluster_line: Option<usize>,
    autosave: Option<Timeout>,
    /// In an exercise, the step the address holds; the pause after a step
    /// written there, during which the next steps wait for its end; and
    /// whether one waits.
    address_step: Option<(usize, usize)>,
    address_timer: Option<Timeout>,
    address_behind: bool,
    link_choice: (bool, String),
    dialog: Option<Dialog>,
    importing: Option<Importing>,
    embed: bool,
    embed_editors: bool,
    dark: Option<bool>,
    /// The last on-demand explanation: send, step, rule and the answer.
    explained: Option<Explained>,
    /// Bumped whenever the session is replaced: late callbacks of the old
    /// one (a chunked parse) are ignored, and views keyed on it start over.
    gen: u64,
    /// Whether an imported scenario is saved in this browser.
    has_imported: bool,
    /// Where focus goes back to when the dialog closes.
    opener: &'static str,
    /// A measurement waiting for the next render: which, and its start
    /// (`performance.now()`); written on `<body>` for the benchmarks.
    timing: Option<(&'static str, f64)>,
    /// What an import applied, for the notice of the cluster sync it
    /// started (which may fail on the objects it made).
    sync_note: Option<String>,
    /// The editors' host by name, as last rendered (a cluster sync may
    /// number the hosts anew).
    editor_name: Option<String>,
    /// Why the packet the form asked for could not be sent.
    send_error: Option<String>,
    /// The packet selected, and how many were sent, when "Packets sent"
    /// was last scrolled to show it.
    history_shown: (Option<usize>, usize),
    import_t0: f64,
    /// Numbers the chunked parses (see [`Importing::seq`]).
    import_seq: u64,
    /// Hosts whose rules wait for their chunked parse (an imported
    /// scenario with more than one large dump): one parse runs at a time.
    chunk_queue: Vec<(usize, String)>,
    /// The sessions of this scenario kept aside, with a word on each.
    has_backup: Rc<Vec<(browser::Slot, String)>>,
    /// The session shown came from a link or a file (worked on or not).
    linked: bool,
    /// What would replace the session, waiting for a cluster sync made in
    /// the worker.
    after_sync: Vec<Msg>,
    /// The learner's session in storage could not be kept aside when a
    /// link or a file replaced it: this tab does not autosave over it.
    hold_save: bool,
    /// The session shown came from a link or a file (marked so in
    /// storage), with its packet count and world generation then: once the
    /// learner sends or edits, it is theirs.
    foreign: Option<(usize, u64)>,
    /// Where focus goes once a dialog has closed (after the next render,
    /// when the page is no longer inert).
    refocus: Option<&'static str>,
    /// After the render, the page follows the packet on the picture: a
    /// step was taken (keys, buttons, play), a packet sent, answered or
    /// sent again (a reveal), or the page opened.
    follow: Option<browser::Follow>,
    /// "About this scenario" opens open, unless the window is short (a
    /// 768-line projector): the picture starts higher then.
    about_open: bool,
    /// The focused control is going away with what it closes: where the
    /// focus goes then, in order of preference (see `rendered`).
    focus_fallback: Vec<String>,
    /// The notice's text at the last render: a new one floats over the
    /// window's foot, and the focused control is kept clear of it.
    notice_rendered: Option<String>,
    /// A notice or a parse's progress floated at the last render.
    toasts_rendered: bool,
    /// Where the chunked parse reports its progress.
    progress_sink: import::ProgressSink,
    /// What had the focus when the notice came, for its ✕ to give it back.
    notice_focus: Option<String>,
    /// The text field typed in, and its top in the window before the
    /// messages of this render (see `rendered`).
    field_at: Option<(String, f64)>,
    /// A listing under the editors to open and show after this render.
    open_listing: Option<&'static str>,
    told_too_big: bool,
    /// The notice that said the session is not saved, while it may be shown.
    unsaved_notice: Option<String>,
    /// Another tab saved the same scenario since this one last did: this
    /// tab does not autosave over it (until the learner says so).
    other_tab: bool,
    /// The session kept aside is another tab's (put there by a take-over).
    other_tabs_aside: bool,
    /// The learner ticked or unticked a TCP flag since the last packet
    /// went: Again sends the flags ticked, else the selected packet's own.
    flags_ticked: bool,
    /// "Show all steps" was clicked once: the answer shows after a second
    /// click that says so.
    asked_end: bool,
    /// Whether a data size was typed in the form since the last packet
    /// went: Again sends it (a segment of data on the connection).
    len_typed: bool,
    /// In an exercise, how far the learner has stepped in each packet (by
    /// its number): its steps are listed that far. Grown as a step is
    /// shown (so in `view`).
    reached: std::cell::RefCell<std::collections::HashMap<usize, usize>>,
    /// Counts the times the send form was set anew (its key).
    form_gen: u64,
    topo: TopoCache,
    /// The page's own listeners: keys, the address's fragment, leaving the
    /// page, files dropped outside the editors, the window's size.
    _listeners: Vec<gloo_events::EventListener>,
    /// What the picture's box was last fitted for (see `rendered`).
    fitted: Option<(Option<String>, usize)>,
}

/// The scenario the page opens: named in the URL, or the last one shown.
fn initial_name() -> String {
    // An embed shows what its address names, whatever the reader last
    // opened on this site.
    let embed = browser::query("embed").is_some_and(|v| v == "1");
    browser::query("scenario")
        .or_else(|| if embed { None } else { browser::last_scenario() })
        .filter(|n| n == IMPORTED || scenario::BUILTIN.contains(&n.as_str()))
        .unwrap_or_else(|| scenario::BUILTIN[0].to_string())
}

/// Whether an imported file (a scenario, or a session record) is made
/// from Kubernetes objects. Only the names are read: a 12 MB file is
/// scanned, not built, before its handler reads it.
fn file_needs_generator(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Head {
        /// A scenario's name.
        #[serde(default)]
        name: Option<String>,
        /// A session record's base and cluster (see `share::Saved`).
        #[serde(default)]
        b: Option<String>,
        #[serde(default)]
        c: Option<serde::de::IgnoredAny>,
        /// A scenario file's cluster objects.
        #[serde(default)]
        cluster: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Head>(text).is_ok_and(|h| {
        h.c.is_some()
            || h.cluster.is_some()
            || h.name.as_deref().is_some_and(generator::is_cluster)
            || h.b.as_deref().is_some_and(generator::is_cluster)
    })
}

/// Whether a saved session is made from Kubernetes objects.
fn saved_needs_generator(saved: &Saved) -> bool {
    saved.cluster.is_some() || saved.base.as_deref().is_some_and(generator::is_cluster)
}

/// Whether scenario `name` (or its autosave) is made from Kubernetes objects.
fn needs_generator(name: &str) -> bool {
    generator::is_cluster(name)
        || (name == IMPORTED && browser::load_autosave(None).and_then(Result::ok).is_some_and(|s| saved_needs_generator(&s)))
}

const LOADING_GENERATOR: &str = "Loading the cluster generator…";

/// Whether handling `msg` may replace the session (another scenario, a
/// link, a file, a backup, a reset).
fn replaces_session(msg: &Msg) -> bool {
    matches!(
        msg,
        Msg::Scenario(_) | Msg::ImportScenario(_) | Msg::Fragment | Msg::Restore(_) | Msg::Reset
    )
}

/// Whether the session the page opens with is made from Kubernetes
/// objects, so that the cluster generator must be loaded first.
pub fn generator_needed_at_start() -> bool {
    let name = initial_name();
    let link = browser::fragment().and_then(|f| share::decode_link(&f).ok());
    let link_needs = link.as_ref().is_some_and(saved_needs_generator);
    if browser::query("embed").is_some_and(|v| v == "1") {
        // An embed opens its link, or (no link, or one that cannot be
        // read) the built-in scenario it names.
        return if link.is_some() {
            link_needs
        } else {
            generator::is_cluster(&name)
        };
    }
    needs_generator(&name) || link_needs
}

/// Built-in scenario `name`, or the first one (with why) when `name`
/// cannot be opened (the cluster generator did not load).
fn builtin_or_first(name: &str) -> (Session, Option<Notice>) {
    match Session::builtin(name) {
        Ok(s) => (s, None),
        Err(e) => article_instead(name, &e),
    }
}

/// The article's scenario, and a notice that `name` could not be opened.
fn article_instead(name: &str, why: &str) -> (Session, Option<Notice>) {
    let s = Session::builtin(scenario::BUILTIN[0]).expect("the article's scenario builds (tested)");
    let notice = format!("\"{name}\" could not be opened ({why}); the article's scenario is shown.");
    (s, Some(Notice::error(notice)))
}

/// The session to start with, and a notice to show with it; a scenario
/// the address names that does not exist is said first.
fn initial_session() -> (Session, Option<Notice>) {
    let (s, notice) = opening_session();
    let Some(asked) = browser::query("scenario").filter(|n| n != IMPORTED && !scenario::BUILTIN.contains(&n.as_str())) else {
        return (s, notice);
    };
    let text = format!(
        "There is no built-in scenario \"{asked}\" (the address's ?scenario=); they are: {}. \"{}\" is shown.",
        scenario::BUILTIN.join(", "),
        s.base.as_deref().unwrap_or(IMPORTED)
    );
    let n = match notice {
        Some(n) => Notice {
            text: format!("{text}\n{}", n.text),
            error: true,
            ..n
        },
        None => Notice::error(text),
    };
    (s, Some(n))
}

/// [`initial_session`] without the word on an unknown scenario name.
fn opening_session() -> (Session, Option<Notice>) {
    let name = initial_name();
    if browser::query("embed").is_some_and(|v| v == "1") {
        // An embedded page shows the view its link holds (the fragment
        // stays: a reload shows it again) and never touches the reader's
        // storage.
        let name = if name == IMPORTED {
            scenario::BUILTIN[0]
        } else {
            &name
        };
        return match browser::fragment().map(|f| embedded_link(&f)) {
            Some(Ok(s)) => (s, None),
            Some(Err(e)) => {
                let (s, also) = builtin_or_first(name);
                let mut why = format!("This embedded view could not be opened, so the built-in scenario is shown: the page's snippet is damaged (its author can make it again with Embed). {e}");
                if let Some(n) = also {
                    why = format!("{why}\n{}", n.text);
                }
                (s, Some(Notice::error(why)))
            }
            None => builtin_or_first(name),
        };
    }
    if let Some(frag) = browser::fragment() {
        let needs = share::decode_link(&frag).is_ok_and(|s| saved_needs_generator(&s));
        if needs && !generator::loaded() {
            // Kept in the address bar: a reload tries again.
            let (s, _) = start(&name);
            return (
                s,
                Some(Notice::error(format!(
                    "This link could not be opened: {}. Reload the page to try again; your own session is shown meanwhile.",
                    generator::load_error().unwrap_or_default()
                ))),
            );
        }
        match open_link(&frag) {
            // The address keeps the link while the session is as shared:
            // copied from the address bar, it shares the same view. The
            // learner's first change takes it away (a reload then shows
            // the autosave, not the link again).
            Ok(x) => return x,
            Err(e) => {
                browser::clear_fragment();
                let (s, _) = start(&name);
                return (
                    s,
                    Some(Notice::error(format!(
                        "This link could not be opened, so your own session is shown instead. {e}"
                    ))),
                );
            }
        }
    }
    start(&name)
}

/// Scenario `name` as the learner left it (its autosave), or built-in. A
/// save that cannot be replayed is moved aside, never overwritten.
fn start(name: &str) -> (Session, Option<Notice>) {
    match restore_or_builtin(name) {
        Ok((s, restored)) => {
            // The session before a reload was too large to autosave: the
            // one shown is the last that was, and the page says what is
            // missing (and what of the learner's came back).
            let n = match (browser::take_unsaved(s.base.as_deref()), restored) {
                (Some(what), came) => Notice::info(format!(
                    "The session you had here last held a text too large for the browser's storage ({what}): it was not saved, so this is the last session that was{}. Load the file again (Import…, or drop it on the editor) to go on with it.",
                    came.map(|c| format!(" ({c})")).unwrap_or_default()
                )),
                (None, Some(what)) => Notice::info(format!(
                    "Your last session with this scenario was restored from this browser ({what}). \"Reset\" goes back to the built-in scenario."
                )),
                (None, None) => return (s, None),
            };
            (s, Some(n))
        }
        // Nothing is wrong with the save: it stays where it is.
        Err(e) if !generator::loaded() && needs_generator(name) => article_instead(name, &e),
        Err(e) => {
            let base = (name != IMPORTED).then_some(name);
            let moved = browser::set_aside(base);
            let (s, _) = builtin_or_first(base.unwrap_or(scenario::BUILTIN[0]));
            let n = if moved {
                Notice::error(format!(
                    "The session saved in this browser could not be restored: {e}. It is kept, untouched, in the browser's storage under \"….unreadable\"; the built-in scenario is shown."
                ))
            } else {
                Notice {
                    hold_save: true,
                    ..Notice::error(format!(
                        "The session saved in this browser could not be restored: {e}. The browser's storage could not move it aside, so it stays where it was saved, untouched, and this tab does not autosave over it; the built-in scenario is shown."
                    ))
                }
            };
            (s, Some(n))
        }
    }
}

/// Takes the rules texts longer than [`CHUNKED_BYTES`] out of `sc` (the
/// hosts start without rules), as (host, text).
fn take_large_rules(sc: &mut scenario::Scenario) -> Vec<(String, Rc<str>)> {
    let mut out = Vec::new();
    for h in &mut sc.hosts {
        if h.iptables.as_ref().is_some_and(|t| t.len() > CHUNKED_BYTES) {
            if let Some(t) = h.iptables.take() {
                out.push((h.name.clone(), Rc::from(t.to_text())));
            }
        }
    }
    out
}

/// Whether `text` is Kubernetes objects (YAML with `kind:` or
/// `apiVersion:` at the start of a line).
fn is_objects(text: &str) -> bool {
    (text.lines().take(500)).any(|l| l.starts_with("kind:") || l.starts_with("apiVersion:"))
}

/// Whether `text` is a node's listing: `iptables-save`, or `ip route` /
/// `route -n` / `ip rule` output (one of its first lines that are not
/// comments reads as a route or a rule: a typo in the first keeps it a
/// listing, with its errors).
fn is_listing(text: &str) -> bool {
    let mut lines = (text.lines().map(str::trim)).filter(|l| !l.is_empty() && !l.starts_with('#'));
    Field::guess(text) == Field::Rules
        || text.trim_start().starts_with("Kernel IP routing table")
        || lines
            .by_ref()
            .take(20)
            .any(|l| {
                crate::engine::policy::is_rule_line(l)
                    || crate::engine::route_text::parse_ip_route_line(l, 1).is_ok_and(|r| r.is_some())
            })
}

/// Whether two scenarios are the same but for their rules and routes.
fn same_shape(a: &scenario::Scenario, b: &scenario::Scenario) -> bool {
    let shape = |s: &scenario::Scenario| scenario::Scenario {
        cluster: None,
        sends: Vec::new(),
        eras: Vec::new(),
        flushes: Vec::new(),
        ..s.clone_without_hosts()
    };
    shape(a) == shape(b)
        && a.hosts.len() == b.hosts.len()
        && a.hosts
            .iter()
            .zip(&b.hosts)
            .all(|(x, y)| x.clone_without_texts() == y.clone_without_texts())
}

/// How much text of undo and redo an autosave keeps.
const UNDO_SAVE_BYTES: usize = 256 * 1024;

/// The picker's name for the last imported scenario.
const IMPORTED: &str = "imported";

/// The autosaved session of built-in scenario `name` (or of the imported
/// one), or the built-in scenario itself; and, when the save holds more
/// than the built-in scenario, what, in words.
fn restore_or_builtin(name: &str) -> Result<(Session, Option<String>), String> {
    if name == IMPORTED {
        let saved = browser::load_autosave(None)
            .ok_or("no imported scenario is saved in this browser")?
            .map_err(unreadable)?;
        return Session::from_saved(&saved).map(|s| (s, Some("the imported scenario".into())));
    }
    match browser::load_autosave(Some(name)) {
        Some(Ok(saved)) if saved.base.as_deref() == Some(name) => {
            let s = Session::from_saved(&saved)?;
            Ok((s, what_came_back(&saved, name)))
        }
        Some(Ok(saved)) => Err(format!(
            "it is saved as scenario \"{}\", not \"{name}\"",
            saved.base.as_deref().unwrap_or(IMPORTED)
        )),
        Some(Err(e)) => Err(unreadable(e)),
        None => Session::builtin(name).map(|s| (s, None)),
    }
}

/// Whether a saved session holds the learner's work: more than its
/// built-in scenario as it opens (an imported one always does).
fn holds_work(own: &Saved) -> bool {
    // Edits all undone are still work (redo brings them back).
    if !own.undo.is_empty() || !own.redo.is_empty() {
        return true;
    }
    match own.base.as_deref() {
        Some(name) => generator::builtin_scenario(name).is_none() || what_came_back(own, name).is_some(),
        None => true,
    }
}

fn unreadable(e: String) -> String {
    format!("what is stored is not a session this version of Packet Walk reads ({e})")
}

/// The learner's own saved session of scenario `base`, which a link or a
/// file is about to replace; one that does not read is set aside
/// ("….unreadable") rather than overwritten.
fn own_session(base: Option<&str>) -> Result<Option<Saved>, String> {
    match browser::load_autosave(base) {
        Some(Ok(own)) => Ok(Some(own)),
        Some(Err(_)) if !browser::set_aside(base) => Err("it does not read, and the browser's storage could not move it aside".into()),
        _ => Ok(None),
    }
}

/// What a save of built-in scenario `name` holds beyond it (`its edits
/// and the 3 packets sent`), or None when nothing.
fn what_came_back(saved: &Saved, name: &str) -> Option<String> {
    // A built-in scenario opens with its preset packet sent.
    let preset: Vec<SendSpec> = (generator::builtin_scenario(name)?.preset.iter())
        .map(|p| p.to_spec())
        .collect();
    let edits = !saved.edits.is_empty() || !saved.applied.is_empty() || saved.cluster.is_some();
    let sends = saved.sends != preset || !saved.flushes.is_empty();
    let packets = || format!("the {} sent", model::plural(saved.sends.len(), "packet"));
    match (edits, sends) {
        (true, true) => Some(format!("its edits and {}", packets())),
        (true, false) => Some("its edits".into()),
        (false, true) => Some(packets()),
        (false, false) => None,
    }
}

/// Keeps `shown`, the learner's session of its scenario, aside before
/// a link, a file or a session kept aside replaces it: as their own when
/// that place is free (`own_free`) and it did not come from a link or a
/// file (`linked`), else after the other sessions kept. Not kept: a link's
/// or a file's session nobody worked on (`unworked`: the link has it).
/// Returns where, and the text of a session that made room; an error
/// sentence when the browser refused (its storage is full).
fn keep_aside(
    shown: &Saved,
    linked: bool,
    unworked: bool,
    own_free: bool,
) -> Result<(Option<browser::Slot>, Option<String>), String> {
    use browser::Slot;
    if unworked {
        return Ok((None, None));
    }
    if !linked && own_free {
        return browser::backup(Slot::Own, shown).map(|()| (Some(Slot::Own), None));
    }
    browser::push_earlier(shown).map(|(slot, dropped)| (Some(slot), dropped))
}

/// What keeping the learner's session aside did, for the notice of the
/// link or file that replaced it.
#[derive(Default)]
struct Kept {
    text: String,
    restore: bool,
    /// The session shown went after the other sessions kept.
    restore_earlier: Option<(u64, &'static str)>,
    /// The oldest session kept, which made room (its text).
    dropped: Option<Rc<str>>,
    /// It could not be kept: it stays saved, and the tab holds off.
    hold: bool,
}

/// Words on a session that made room, for a notice.
const DROPPED: &str = " The oldest of the sessions kept made room for it: the button downloads it, as Export would.";

/// Keeps `own`, the learner's saved session of `base` (if it holds work),
/// aside as a link or a file replaces it, and says what is kept now.
fn keep_before_replacing(own: Result<Option<Saved>, String>, base: Option<&str>) -> Kept {
    use browser::Slot;
    let own_free = !browser::has_backup(Slot::Own, base);
    let kept = match own {
        Ok(own) => own.map(|o| keep_aside(&o, browser::is_linked(base), browser::is_foreign(base), own_free)),
        Err(e) => Some(Err(e)),
    };
    let (slot, dropped) = match kept {
        Some(Err(e)) => {
            return Kept {
                text: format!(" Your session of this scenario could not be kept aside ({e}): it stays saved as it was, and this tab does not autosave over it; the button opens it again (\"Export\" keeps work done here first)."),
                restore: true,
                hold: true,
                ..Kept::default()
            }
        }
        Some(Ok(k)) => k,
        None => (None, None),
    };
    // Kept now, or by a link or a file before this one.
    let restore = browser::has_backup(Slot::Own, base);
    let mut text = String::new();
    if restore {
        text.push_str(" Your own session of this scenario is kept aside.");
    }
    let restore_earlier = match slot {
        Some(Slot::Earlier(id)) => {
            text.push_str(" The session you had open, with your work on it, is kept aside too (\"Kept\" lists all).");
            Some((id, "Bring back the session you had open"))
        }
        _ => None,
    };
    if dropped.is_some() {
        text.push_str(DROPPED);
    }
    Kept {
        text,
        restore,
        restore_earlier,
        dropped: dropped.map(Rc::from),
        hold: false,
    }
}

/// Whether another tab saved work on scenario `base` since this tab last
/// read or wrote its save (a save that does not read counts as work).
fn other_tabs_work(base: Option<&str>) -> bool {
    browser::saved_by_other_tab(base).is_some_and(|r| r.is_err() || r.is_ok_and(|s| holds_work(&s)))
}

/// The sessions of `base` kept aside, with a word on each: the learner's
/// own, then the others, newest first (none for an embedded page).
fn backups(embed: bool, base: Option<&str>) -> Rc<Vec<(browser::Slot, String)>> {
    use browser::Slot;
    if embed {
        return Rc::default();
    }
    let what = |slot| match browser::load_backup(slot, base)? {
        Ok(saved) => {
            let name = saved.base.clone().unwrap_or_default();
            let sends = model::plural(saved.sends.len(), "packet");
            Some(format!(": {}", what_came_back(&saved, &name).unwrap_or_else(|| format!("the {sends} sent"))))
        }
        Err(_) => Some(" (it no longer reads)".to_string()),
    };
    let earlier = browser::earlier(base);
    (browser::has_backup(Slot::Own, base).then_some(Slot::Own))
        .into_iter()
        .chain(earlier.iter().rev().copied())
        .filter_map(|slot| {
            let who = match slot {
                Slot::Own => "Your own session",
                s if Some(&s) == earlier.last() => "Kept last",
                _ => "Kept before",
            };
            Some((slot, format!("{who}{}", what(slot)?)))
        })
        .collect::<Vec<_>>()
        .into()
}

/// Closes a `<details>` menu and puts the focus on its summary, the
/// button that opened it.
fn close_menu(details: &web_sys::Element) {
    let _ = details.remove_attribute("open");
    if let Some(summary) = details.query_selector("summary").ok().flatten() {
        if let Ok(s) = summary.dyn_into::<web_sys::HtmlElement>() {
            let _ = s.focus();
        }
    }
}

/// The session a link holds, for an embedded page (no notice, no storage).
fn embedded_link(frag: &str) -> Result<Session, String> {
    if !generator::loaded() {
        if let Some(e) = generator::load_error() {
            return Err(e);
        }
    }
    let saved = share::decode_link(frag).map_err(|e| e.to_string())?;
    Session::from_saved(&saved)
}

/// Opens a link. The learner's autosave of the same scenario, if it holds
/// work, is kept aside ([`keep_before_replacing`]), and the notice offers
/// it back.
fn open_link(frag: &str) -> Result<(Session, Option<Notice>), String> {
    let mut saved = share::decode_link(frag).map_err(|e| e.to_string())?;
    // An exercise reloaded before its address caught up with its step.
    if saved.view.as_ref().is_some_and(|v| crate::ui::model::Filters::from_view_code(v).0.exercise) {
        if let Some(sel) = browser::exercise_step(frag) {
            saved.selected = Some(sel);
        }
    }
    let s = Session::from_saved(&saved)?;
    let own = own_session(saved.base.as_deref());
    let mut notice = Notice::info(
        "Opened from a link: the scenario, its edits and the packets sent are as they were shared.",
    );
    // The view (filters, tabs) alone does not make another session.
    let same = |o: &Saved| Saved { view: None, ..o.clone() } == Saved { view: None, ..saved.clone() };
    let base = saved.base.as_deref();
    let own = own.map(|o| o.filter(|o| !same(o) && holds_work(o)));
    notice = notice.with(keep_before_replacing(own, base));
    if !notice.hold_save {
        browser::set_marks(base, true, true);
    }
    Ok((s, Some(notice)))
}

impl App {
    /// The last packet's verdict in a few words, if it has a trace.
    fn last_verdict(&self) -> Option<String> {
        (self.session.sends.last())
            .and_then(|x| x.trace.as_ref().ok())
            .map(|t| short_verdict(&t.verdict))
    }

    /// After an edit (or its undo) traced the last packet again: says how
    /// its verdict changed, replacing an earlier such notice (gone when
    /// the verdict is back to what that notice started from).
    fn say_verdict_change(&mut self, was: Option<String>) {
        const MARK: &str = "was traced again on the edited text";
        let ours = self.notice.as_ref().is_some_and(|n| n.text.contains(MARK));
        if self.notice.is_some() && !ours {
            return;
        }
        let Some(changed) = self.verdict_changed(was) else {
            return;
        };
        let last = self.session.sends.len().saturating_sub(1);
        self.notice = Some(Notice::info(format!(
            "Packet #{} {MARK}, from the state before it: {changed}. Send it again to see the edit meet what it left (its conntrack, its ARP caches).",
            self.session.number(last)
        )));
    }

    /// "it was delivered in …; now it is dropped in …", when the last
    /// packet's verdict is not `was` any more.
    fn verdict_changed(&self, was: Option<String>) -> Option<String> {
        let (was, now) = (was?, self.last_verdict()?);
        (was != now).then(|| format!("it was {was}; now it is {now}"))
    }

    /// After a file replaced a host's text: what that did to the last
    /// packet, when its verdict changed (as an edit's notice says it).
    fn file_changed_verdict(&self, was: Option<String>) -> String {
        let last = self.session.sends.len().saturating_sub(1);
        self.verdict_changed(was)
            .map(|c| format!(" Packet #{} was traced again on it: {c}.", self.session.number(last)))
            .unwrap_or_default()
    }

    /// What changes when the learner works on the session: the packets
    /// sent, and the world's generation (edits, syncs).
    fn mark(&self) -> (usize, u64) {
        (self.session.sends.len(), self.session.world_gen())
    }

    fn selected(&self) -> Option<(usize, usize)> {
        self.session.selected
    }

    /// What Again sends: the selected packet once more on its connection,
    /// with the TCP flags ticked in the form since the last packet went
    /// (an RST or a FIN closes it), else with its own; and the data size
    /// typed there since, else its own.
    fn again(&self) -> Option<SendSpec> {
        let mut spec = self.session.again_spec()?;
        let draft = self.form_draft.as_ref().filter(|d| d.proto == spec.proto);
        let ticked = draft.filter(|_| self.flags_ticked && spec.proto == crate::engine::packet::Proto::Tcp);
        if let Some(d) = ticked {
            spec.flags = d.flags;
        }
        if let Some(d) = draft.filter(|_| self.len_typed) {
            spec.payload_len = d.payload_len;
        }
        // Other flags or data: the connection's next segment, numbered on
        // from what each side sent, not the packet's numbers again.
        if (ticked.is_some() || self.len_typed) && spec.proto == crate::engine::packet::Proto::Tcp {
            let (seq, ack) = self.session.next_segment_numbers();
            spec.seq = seq.or(spec.seq);
            spec.ack = ack.or(spec.ack);
        }
        Some(spec)
    }

    fn visible(&self) -> Vec<usize> {
        self.session
            .trace()
            .map(|t| self.filters.visible(t))
            .unwrap_or_default()
    }

    fn schedule_autosave(&mut self, ctx: &Context<Self>) {
        if self.embed {
            return;
        }
        let link = ctx.link().clone();
        self.autosave = Some(Timeout::new(AUTOSAVE_MS, move || {
            link.send_message(Msg::Autosave)
        }));
    }

    /// Starts the next queued chunked parse of a scenario file's rules,
    /// when none runs (skipping a host whose text was replaced meanwhile).
    fn next_chunked(&mut self, ctx: &Context<Self>) {
        while self.importing.is_none() && !self.chunk_queue.is_empty() {
            let (host, name) = self.chunk_queue.remove(0);
            if self.session.drafts.get(host).is_some_and(|d| d.rules.pending()) {
                self.editor_host = host;
                self.start_chunked(ctx, host, name, true);
            }
        }
    }

    /// Parses host `host`'s rules draft in chunks. The result is used only
    /// if the draft still holds that very text when the parse ends (not
    /// after more typing, an undo or a command) and no later parse started.
    fn start_chunked(&mut self, ctx: &Context<Self>, host: usize, name: String, from_file: bool) {
        let Some(text) = self.session.drafts.get(host).map(|d| d.rules.text.clone()) else {
            return;
        };
        // A file's parse that this one replaces on another host goes back
        // in the queue (its host would stay unparsed otherwise).
        if let Some(i) = self.importing.take().filter(|i| i.from_file && i.host != host) {
            self.chunk_queue.insert(0, (i.host, i.name));
        }
        self.import_t0 = browser::now_ms();
        self.import_seq += 1;
        let seq = self.import_seq;
        self.importing = Some(Importing {
            host,
            name,
            seq,
            from_file,
        });
        let gen = self.gen;
        let progress = self.progress_sink.aim(seq);
        let t = text.clone();
        let done = ctx.link().callback(move |r: Result<Ruleset, Errors>| {
            Msg::ImportDone(gen, seq, host, t.clone(), r)
        });
        import::parse_in_chunks(text, progress, done);
    }

    /// Whether handling `msg` may open a scenario made from Kubernetes
    /// objects (a built-in one, a link, a file, a backup).
    fn needs_generator(&self, msg: &Msg) -> bool {
        match msg {
            Msg::Scenario(name) => needs_generator(name),
            // A scenario named like a built-in cluster one (compared with
            // it), or a session record made from Kubernetes objects.
            Msg::ImportScenario(text) => file_needs_generator(text),
            Msg::Fragment => browser::fragment()
                .and_then(|f| share::decode_link(&f).ok())
                .is_some_and(|s| saved_needs_generator(&s)),
            Msg::Restore(slot) => browser::load_backup(*slot, self.session.base.as_deref())
                .is_some_and(|s| s.is_ok_and(|s| saved_needs_generator(&s))),
            _ => false,
        }
    }

    /// A change the cluster form makes to the YAML: applied at once, or
    /// the notice says why the form could not make it.
    fn form_edit(&mut self, ctx: &Context<Self>, edit: FormEdit) {
        let Some(c) = &self.session.cluster else {
            return;
        };
        match generator::edit(&c.text, edit) {
            Ok(text) => {
                self.session.edit_cluster(text.as_str().into());
                ctx.link().send_message(Msg::ClusterApply);
            }
            Err(why) => self.notice = Some(Notice::error(why)),
        }
    }

    /// After a cluster sync: the editors on a host that still exists, and,
    /// when it applied and more than one packet was sent, a word on what
    /// happened to them.
    fn synced(&mut self, ctx: &Context<Self>, applied: bool) {
        // The editors stay on their host when it still exists (a sync may
        // number the hosts anew).
        if let Some(h) = self.editor_name.as_deref().and_then(|n| self.session.host(n)) {
            self.editor_host = h;
        }
        self.editor_host = self.editor_host.min(self.session.world.hosts.len().saturating_sub(1));
        let n = self.session.sends.len();
        let note = self.sync_note.take();
        if let (Some(what), false) = (&note, applied) {
            self.notice = Some(Notice::error(format!(
                "{what}, but the cluster's objects then have errors (listed under the YAML): the nodes keep the last objects that read. Undo takes the file's objects back."
            )));
        }
        let mut text = note.filter(|_| applied).map(|w| format!("{w}: every node synced to the objects (Undo takes them back).")).unwrap_or_default();
        let changed = self.session.sends.iter().filter(|x| x.before_sync.is_some()).count();
        // The selected packet's line may have grown ("before the cluster
        // change: …"): shown whole again.
        self.history_shown = (None, 0);
        if applied && (n > 1 || changed > 0) {
            if !text.is_empty() {
                text.push(' ');
            }
            text += &format!(
                "A change to the cluster rebuilds every node (its pods, kube-proxy's chains, the CNI's routes): the {} sent {} sent again, in order, on the new cluster, and conntrack started over with them.",
                model::plural(n, "packet"),
                if n == 1 { "was" } else { "were" }
            );
            if changed > 0 {
                text += &format!(
                    " {} now {} differently: \"Packets sent\" says how {} ended before.",
                    model::plural(changed, "packet"),
                    if changed == 1 { "ends" } else { "end" },
                    if changed == 1 { "it" } else { "they" }
                );
                // The last one, in words, as an edit's notice says it.
                if let Some((Some(Ok(was)), Ok(now))) = self.session.sends.last().map(|x| (&x.before_sync, &x.trace)) {
                    let (was, now) = (short_verdict(&was.verdict), short_verdict(&now.verdict));
                    text += &format!(" The last, #{}, was {was}; now it is {now}.", self.session.number(n - 1));
                }
            }
        }
        let lost = std::mem::take(&mut self.session.hand_rules_lost);
        if applied && !lost.is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            let which: Vec<String> = lost.iter().map(|(h, n)| format!("{} on {h}", model::plural(*n, "rule"))).collect();
            text += &format!(
                "The sync rewrote kube-proxy's and the CNI's chains, as they do on a node: {} you wrote in them {} gone. Undo takes the change back, with them.",
                which.join(" and "),
                if lost.len() == 1 && lost[0].1 == 1 { "is" } else { "are" }
            );
        }
        let typed = std::mem::take(&mut self.session.typed_over_sync);
        if applied && !typed.is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            text += &format!(
                "The text typed in {} has errors and was left as typed: it holds what was there before this change, so fixing its errors would put that back over the sync. \"go back to the text in use\" beside its errors takes the synced text instead.",
                typed.join(" and ")
            );
        }
        if !text.is_empty() {
            self.notice = Some(Notice::info(text));
        }
        self.schedule_autosave(ctx);
    }

    /// Sends the cluster's sync to the worker; [`Msg::ClusterSynced`]
    /// brings it back.
    fn sync_away(&mut self, ctx: &Context<Self>) {
        let Some(draft) = self.session.cluster.clone() else {
            return;
        };
        self.syncing = true;
        let version = (self.gen, self.session.world_gen());
        // (An undo or redo does not count the learner's rules it takes.)
        let base = self.session.base.clone().filter(|_| self.sync_step.is_none());
        let away = generator::resync_away(Some(&draft.applied), &draft.text, &mut self.session.world.scenario, base.as_deref());
        let link = ctx.link().clone();
        wasm_bindgen_futures::spawn_local(async move {
            let r = away.await;
            link.send_message(Msg::ClusterSynced(version, Box::new(draft), r.map(Box::new)));
        });
    }

    /// Selects step `step` of send `t`, with the editors following it.
    fn go_to(&mut self, t: usize, step: usize) {
        self.session.select(t, step);
        self.follow_step();
    }

    /// (Re)starts play at the current speed.
    fn start_timer(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.playing = Some(Interval::new(self.speed_ms, move || {
            link.send_message(Msg::Tick)
        }));
    }

    /// Shows the editors of the host where the selected step happens: from
    /// its first step on a host with netfilter rules (a node), and on any
    /// step that points at a rule or a route (a pod's routing too), so the
    /// rule that matched or the route that won is highlighted in view; on
    /// other steps, those of the last host before it that was shown so.
    fn follow_step(&mut self) {
        // Never swap the editor under the learner's caret.
        if browser::focus_in("#editors") {
            return;
        }
        let (Some(t), Some((_, i))) = (self.session.trace(), self.selected()) else {
            return;
        };
        // The step's host when it qualifies, else the last one before it
        // that did (End from the first step shows node54's, not node8's).
        let qualifies = |k: usize| {
            let st = t.steps.get(k)?;
            let h = self.session.host(&st.ns)?;
            let points = model::rule_at(t, k).is_some() || model::step_route_line(st).is_some_and(|l| l > 0);
            (points || self.session.world.hosts.get(h).is_some_and(|x| x.rules.is_some())).then_some(h)
        };
        if let Some(h) = (0..=i).rev().find_map(qualifies) {
            self.editor_host = h;
        }
    }

    /// Puts a new session in place (another scenario, an import, a link,
    /// a reset) and forgets everything that belonged to the old one.
    fn replace_session(&mut self, s: Session) {
        // The address's link, if any, is not this session's.
        if !self.embed {
            browser::clear_fragment();
        }
        self.session = s;
        self.gen += 1;
        // Copy link's exercise and question were for the session before.
        self.link_choice = (false, String::new());
        self.reached.borrow_mut().clear();
        self.command_result = None;
        // A session that came from a link or a file and was not worked on
        // (also when it comes back from its autosave): work on it makes it
        // the learner's own, which the next link then keeps aside.
        self.foreign = (!self.embed && browser::is_foreign(self.session.base.as_deref()))
            .then(|| (self.session.sends.len(), self.session.world_gen()));
        self.send_error = None;
        self.editor_host = App::first_editor_host(&mut self.session);
        self.form_draft = self.session.saved_form.take();
        self.take_saved_view();
        self.debounce.clear();
        self.importing = None;
        self.chunk_queue.clear();
        self.explained = None;
        self.playing = None;
        self.told_too_big = false;
        self.unsaved_notice = None;
        // Another session (another scenario's save, or a new start): the
        // check against other tabs starts over with it, and the send form
        // opens anew.
        self.other_tab = false;
        self.other_tabs_aside = false;
        self.flags_ticked = false;
        self.len_typed = false;
        // A reload opens what is open now.
        if !self.embed {
            browser::set_query_scenario(self.session.base.as_deref().unwrap_or(IMPORTED));
        }
        self.has_backup = backups(self.embed, self.session.base.as_deref());
        self.linked = !self.embed && browser::is_linked(self.session.base.as_deref());
        self.hold_save = false;
    }

    /// Whether the session is too large for localStorage.
    /// The texts that make the session too large to autosave, in words
    /// ("node8's rules, 12.3 MB").
    fn large_texts(&self) -> String {
        let mb = |n: usize| format!("{}.{} MB", n / 1_000_000, n / 100_000 % 10);
        let hosts = &self.session.world.hosts;
        let texts: Vec<String> = (self.session.drafts.iter().enumerate())
            .flat_map(|(i, d)| {
                let name = hosts.get(i).map_or("a host", |h| h.name()).to_string();
                [("rules", d.rules.text.len()), ("routes", d.routes.text.len())]
                    .into_iter()
                    .filter(|(_, n)| *n > browser::AUTOSAVE_MAX / 4)
                    .map(move |(what, n)| format!("{name}'s {what}, {}", mb(n)))
            })
            .collect();
        texts.join("; ")
    }

    fn too_big(&self) -> bool {
        let size: usize = self
            .session
            .drafts
            .iter()
            .map(|d| d.rules.text.len() + d.routes.text.len())
            .sum();
        size > browser::AUTOSAVE_MAX
    }

    /// The focused control is going away: the steps take the focus (not
    /// when it had already gone elsewhere).
    fn fall_back_to_steps(&mut self) {
        self.focus_fallback = if browser::focus_lost() { Vec::new() } else { vec!["events".into()] };
    }

    /// Saves the session now, before it is replaced; when it cannot be
    /// saved, asks whether to drop it. Returns whether to go on.
    fn may_replace(&mut self) -> bool {
        match self.flush_autosave() {
            Ok(()) => true,
            Err(e) => browser::confirm(&format!(
                "{}\n\nThis session will be lost if you go on. Cancel to keep it (and \"Export\" it to a file). Go on anyway?",
                e.text()
            )),
        }
    }

    /// Applies now the edits still waiting for their pause in typing (a
    /// large rules text keeps its own way, a chunked parse): what is saved,
    /// linked or exported is then what the page shows a moment later.
    fn apply_pending(&mut self) {
        let waiting: Vec<(usize, Field)> = self.debounce.keys().copied().collect();
        for (host, field) in waiting {
            let big = field == Field::Rules
                && self.session.drafts.get(host).is_some_and(|d| d.rules.text.len() > CHUNKED_BYTES);
            if !big {
                self.debounce.remove(&(host, field));
                self.session.apply(host, field);
            }
        }
    }

    /// Why this tab's edits are not autosaved, if they are not (an
    /// embedded page says so its own way).
    fn not_saved(&self) -> Option<String> {
        let why = if self.embed {
            return None;
        } else if self.other_tab {
            "this scenario is open in another tab too, which saved its own work since"
        } else if self.hold_save {
            "the session saved before in its place, which could not be kept aside, stays there"
        } else if self.told_too_big {
            "the session is too large for the browser's storage"
        } else {
            return None;
        };
        Some(format!("Edits here are not autosaved: {why} (the message at the top of the page says more). \"Export\" keeps them in a file."))
    }

    /// The session as the autosave keeps it: with its undo and redo (a
    /// link does not keep them).
    fn saved_with_undo(&self) -> Saved {
        let (undo, redo) = self.session.undo_steps(UNDO_SAVE_BYTES);
        Saved {
            undo,
            redo,
            ..self.saved()
        }
    }

    /// Saves the session now (embedded pages never save).
    fn flush_autosave(&mut self) -> Result<(), browser::SaveError> {
        self.apply_pending();
        self.autosave = None;
        if self.embed {
            return Ok(());
        }
        if self.other_tab {
            return Err(browser::SaveError::OtherTab);
        }
        if self.hold_save {
            return Err(browser::SaveError::Failed("This session is not autosaved: your own session of this scenario, which could not be kept aside, stays saved in its place (\"Export\" keeps this one in a file).".into()));
        }
        if self.too_big() {
            return Err(browser::SaveError::Failed("This session is too large for the browser's storage.".into()));
        }
        // Another tab saved a session holding no work (opened at the same
        // moment, say): this tab's goes over it, as the other's would.
        let base = self.session.base.clone();
        let b = base.as_deref();
        if browser::saved_by_other_tab(b).is_some_and(|r| r.is_ok_and(|s| !holds_work(&s))) {
            browser::forget_seen(b);
        }
        // Sent or edited (typed text not in use too) since it came from a
        // link or a file: the learner's own from now on (a link or a file
        // opened next keeps it aside).
        if self.foreign.is_some_and(|m| m != self.mark()) || (self.foreign.is_some() && self.session.has_unapplied()) {
            self.foreign = None;
            // The link no longer shows this session.
            browser::clear_fragment();
        }
        browser::autosave(&self.saved_with_undo())?;
        // The marks say what this save is (another tab may have written
        // them for its own).
        browser::set_marks(b, self.foreign.is_some(), self.linked);
        Ok(())
    }

    fn link_fragment(&self) -> Result<String, String> {
        share::encode_link(&self.saved()).map_err(|e| e.to_string())
    }

    /// [`App::link_fragment`] once the edits waiting for a pause in typing
    /// are applied.
    fn applied_link(&mut self) -> Result<String, String> {
        self.apply_pending();
        self.link_fragment()
    }

    /// The session as a link or an autosave records it, with the host the
    /// editors show.
    fn saved(&self) -> Saved {
        Saved {
            editor: (self.session.world.hosts.get(self.editor_host)).map(|h| h.name().to_string()),
            view: self.filters.view_code(self.views.0 == EditorView::Table, self.views.1 == EditorView::Table),
            // Only when it differs from the last packet sent (what the form
            // shows anyway).
            form: self.form_draft.clone().filter(|f| {
                let last = form_of_last(&self.session);
                last.is_none_or(|l| {
                    (&l.from, &l.to, l.proto, l.flags, l.ttl, l.payload_len, l.src_port)
                        != (&f.from, &f.to, f.proto, f.flags, f.ttl, f.payload_len, f.src_port)
                })
            }),
            ..self.session.to_saved()
        }
    }

    /// The filters and tabs a saved session was left with (a link, an
    /// autosave); a built-in scenario keeps the ones in use.
    fn take_saved_view(&mut self) {
        if let Some(code) = self.session.saved_view.take() {
            (self.filters, self.views) = saved_view(&code);
        }
    }

    /// The host the editors show first: the one they showed when the
    /// session was saved, else the first node.
    fn first_editor_host(s: &mut Session) -> usize {
        let saved = s.saved_editor.take().and_then(|n| s.host(&n));
        saved.unwrap_or_else(|| {
            (s.world.hosts.iter())
                .position(|h| h.spec.kind == HostKind::Node)
                .unwrap_or(0)
        })
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let (mut session, notice) = initial_session();
        // An embedded page never touches the reader's storage.
        let embed = browser::query("embed").is_some_and(|v| v == "1");
        // Opened from a link or a file, now or before (restored from its
        // autosave): see `replace_session`.
        let foreign = (!embed && browser::is_foreign(session.base.as_deref()))
            .then(|| (session.sends.len(), session.world_gen()));
        let has_backup = backups(embed, session.base.as_deref());
        let linked = !embed && browser::is_linked(session.base.as_deref());
        let hold_save = notice.as_ref().is_some_and(|n| n.hold_save);
        let embed_editors = browser::query("editors").is_some_and(|v| v == "1");
        let editor_host = App::first_editor_host(&mut session);
        let form_draft = session.saved_form.take();
        let (filters, views) = saved_view(session.saved_view.take().as_deref().unwrap_or(""));
        // An embed's author may pin its colours (`&theme=light`) to the page
        // around it.
        let dark = match browser::query("theme").as_deref().filter(|_| embed) {
            Some("dark") => Some(true),
            Some("light") => Some(false),
            _ => browser::load_theme(),
        };
        browser::apply_theme(dark);
        let link = ctx.link().clone();
        let keys = web_sys::window().and_then(|w| w.document()).map(|doc| {
            // Not passive: a key the page uses must not also scroll it
            // (Space, Home, End, the arrows), so the decision is made here,
            // while the event can still be cancelled.
            let options = gloo_events::EventListenerOptions::enable_prevent_default();
            gloo_events::EventListener::new_with_options(&doc, "keydown", options, move |e| {
                use wasm_bindgen::JsCast;
                browser::note_input(browser::Input::Keys);
                if let Some(msg) = e.dyn_ref::<web_sys::KeyboardEvent>().and_then(key_msg) {
                    e.prevent_default();
                    link.send_message(msg);
                }
            })
        });
        let link = ctx.link().clone();
        let hash = web_sys::window().map(|w| {
            gloo_events::EventListener::new(&w, "hashchange", move |_| {
                link.send_message(Msg::Fragment)
            })
        });
        // (Back to an address that differs in more than its fragment fires
        // no hashchange.)
        let link = ctx.link().clone();
        let pop = web_sys::window().map(|w| {
            gloo_events::EventListener::new(&w, "popstate", move |_| link.send_message(Msg::PopState))
        });
        // Typing of the last moments is saved when the tab closes.
        let link = ctx.link().clone();
        let hide = web_sys::window().map(|w| {
            gloo_events::EventListener::new(&w, "pagehide", move |_| {
                link.send_message(Msg::Autosave)
            })
        });
        // The system's colours changing: the theme button's words follow.
        let link = ctx.link().clone();
        let system = web_sys::window()
            .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
            .map(|m| gloo_events::EventListener::new(&m, "change", move |_| link.send_message(Msg::SystemTheme)));
        // A file dropped anywhere else than on an editor (which takes its
        // own drops) is imported as Import… would, instead of the browser
        // leaving the page to show it.
        let drops = match web_sys::window() {
            Some(w) => {
                let options = gloo_events::EventListenerOptions::enable_prevent_default();
                // Only a drag of files: text dragged into a field is the
                // field's.
                let files = |e: &web_sys::Event| {
                    use wasm_bindgen::JsCast;
                    (e.dyn_ref::<web_sys::DragEvent>())
                        .and_then(|d| d.data_transfer())
                        .is_some_and(|dt| dt.types().includes(&"Files".into(), 0))
                };
                let over = gloo_events::EventListener::new_with_options(&w, "dragover", options, move |e| {
                    if files(e) {
                        e.prevent_default()
                    }
                });
                let link = ctx.link().clone();
                let drop = gloo_events::EventListener::new_with_options(&w, "drop", options, move |e| {
                    use wasm_bindgen::JsCast;
                    if e.default_prevented() || !files(e) {
                        return;
                    }
                    e.prevent_default();
                    let file = (e.dyn_ref::<web_sys::DragEvent>())
                        .and_then(|d| d.data_transfer())
                        .and_then(|d| d.files())
                        .and_then(|f| f.get(0));
                    if let Some(file) = file {
                        let link = link.clone();
                        browser::read_file(file, move |r| match r {
                            Ok((name, text)) => link.send_message(Msg::ImportFile(name, text)),
                            Err(e) => link.send_message(Msg::Notice(Notice::error(e))),
                        });
                    }
                });
                (Some(over), Some(drop))
            }
            None => (None, None),
        };
        // A click anywhere but in the open Kept list closes it, as a menu
        // does (a click on nothing focusable moves no focus to close it).
        let outside = web_sys::window().and_then(|w| w.document()).map(|doc| {
            gloo_events::EventListener::new(&doc, "pointerdown", move |e| {
                browser::note_input(browser::Input::Pointer);
                let target = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
                let doc = web_sys::window().and_then(|w| w.document());
                let open = doc.and_then(|d| d.query_selector("details.kept-menu[open]").ok().flatten());
                if let (Some(menu), Some(t)) = (open, target) {
                    if !menu.contains(Some(&t)) {
                        let _ = menu.remove_attribute("open");
                    }
                }
            })
        });
        // The picture's box fits the window it has (see fit_picture).
        let resize = web_sys::window().map(|w| gloo_events::EventListener::new(&w, "resize", |_| browser::fit_picture()));
        App {
            session,
            notice,
            filters,
            playing: None,
            speed_ms: 700,
            editor_host,
            views,
            debounce: HashMap::new(),
            cluster_debounce: None,
            form_draft,
            syncing: false,
            command_result: None,
            sync_step: None,
            waiting: None,
            cluster_line: None,
            autosave: None,
            address_step: None,
            address_timer: None,
            address_behind: false,
            link_choice: (false, String::new()),
            dialog: None,
            importing: None,
            embed,
            embed_editors,
            dark,
            explained: None,
            gen: 0,
            has_imported: browser::has_imported(),
            opener: "copy-link",
            topo: Default::default(),
            timing: None,
            sync_note: None,
            editor_name: None,
            send_error: None,
            history_shown: (None, 0),
            import_t0: 0.0,
            import_seq: 0,
            chunk_queue: Vec::new(),
            has_backup,
            linked,
            after_sync: Vec::new(),
            hold_save,
            foreign,
            refocus: None,
            // The page opens with its packet in sight (a tall picture's
            // client is below the fold at 1280×720): so the first ▶ does
            // not scroll the page from under the pointer. Not an embed,
            // which opens at its title.
            follow: (!embed).then_some(browser::Follow::Opened),
            about_open: browser::window_height() >= 820.0,
            focus_fallback: Vec::new(),
            notice_rendered: None,
            toasts_rendered: false,
            progress_sink: import::ProgressSink::default(),
            notice_focus: None,
            field_at: None,
            open_listing: None,
            told_too_big: false,
            unsaved_notice: None,
            other_tab: false,
            other_tabs_aside: false,
            flags_ticked: false,
            asked_end: false,
            len_typed: false,
            reached: Default::default(),
            form_gen: 0,
            _listeners: [keys, hash, pop, hide, system, drops.0, drops.1, outside, resize].into_iter().flatten().collect(),
            fitted: None,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        // Where the text field being typed in is, so that what the message
        // changes above it (a verdict, a note) does not move it; only for
        // a message that renders (a later render, after the learner has
        // scrolled, would take the page back).
        let fresh = self.field_at.is_none();
        if fresh {
            self.field_at = browser::focused_field_top();
        }
        let render = self.handle(ctx, msg);
        if fresh && !render {
            self.field_at = None;
        }
        render
    }
    fn rendered(&mut self, ctx: &Context<Self>, first_render: bool) {
        if let Some((id, top)) = self.field_at.take() {
            browser::keep_field_at(&id, top);
        }
        if let Some(id) = self.refocus.take() {
            browser::focus(id);
        }
        if let Some(id) = self.open_listing.take() {
            browser::open_details(id);
        }
        // The picture's box fitted to the window when what is above it
        // may have changed (the scenario: its About), on a resize and at
        // each follow; not on every render: its measure would force a
        // layout of a large page, a 400-Service paste's, each time. It is
        // measured before the notice's room is written: each write to the
        // root's style restyles the whole page, and a measure after one
        // lays it out again (40-60 ms over a sync's new steps).
        let fit = (self.session.base.clone(), self.session.world.hosts.len());
        let refit = first_render || self.fitted.as_ref() != Some(&fit) || self.follow.is_some();
        let room = refit.then(browser::picture_room).flatten();
        // The notice's room: the picture's box and the steps' panel end
        // above it, and the packet is followed in what is left.
        let toasts = self.notice.is_some() || self.importing.is_some();
        if toasts || self.toasts_rendered {
            browser::pad_for_notice();
        }
        self.toasts_rendered = toasts;
        if let Some(room) = room {
            browser::set_picture_room(room);
        }
        if refit {
            self.fitted = Some(fit);
        }
        match self.follow.take() {
            // A damaged link opened the article at its top: there is no
            // linked step to go to.
            Some(browser::Follow::Opened) if self.notice.as_ref().is_some_and(|n| n.error) => {}
            Some(browser::Follow::Opened) if browser::fragment().is_some() => browser::follow_packet(browser::Follow::Link),
            Some(f) => browser::follow_packet(f),
            None => {}
        }
        // The control that had the focus went with what it closed (the
        // notice's ✕, "Forget all packets"): the focus goes on to the
        // steps, or the send form, not back to the page's start.
        // Kept, while a sync in the worker is still to remove the control,
        // until the render that removes it; not into the learner's next
        // action.
        if browser::focus_lost() {
            let ids = std::mem::take(&mut self.focus_fallback);
            if !ids.is_empty() {
                let _ = (ids.iter().map(String::as_str))
                    .chain(["events", "send-button"])
                    .any(browser::focus_in_place);
            }
        } else if !self.syncing {
            self.focus_fallback.clear();
        }
        let notice = self.notice.as_ref().map(|n| n.text.clone());
        if notice.is_some() && notice != self.notice_rendered {
            browser::keep_focus_clear_of_notice();
            self.notice_focus = browser::focused_id();
        }
        self.notice_rendered = notice;
        self.editor_name = self.session.world.hosts.get(self.editor_host).map(|h| h.name().to_string());
        // An exercise opened from a link keeps the step reached in the
        // address: a reload comes back to it, with the steps before it
        // listed. A step is written at once; the steps that follow it
        // within 600 ms wait for a pause in stepping (playing, or holding
        // an arrow key, writes the address once). (An embed's frame
        // reloads from its snippet.)
        if self.filters.exercise && !self.embed && self.address_step != self.selected() {
            if self.address_step.is_some() {
                if self.address_timer.is_none() {
                    self.keep_link_in_address();
                } else {
                    self.address_behind = true;
                }
                let link = ctx.link().clone();
                self.address_timer = Some(Timeout::new(600, move || link.send_message(Msg::KeepExerciseStep)));
            }
            if let Some(sel) = self.selected() {
                browser::note_exercise_step(sel);
            }
            self.address_step = self.selected();
        }
        // A packet sent, replied or chosen is in view in "Packets sent".
        let shown = (self.selected().map(|s| s.0), self.session.sends.len());
        if self.history_shown != shown {
            self.history_shown = shown;
            browser::reveal_in(".history-list", ".history-item.selected");
        }
        // Every box shows the option its view marks: the picker the
        // scenario that is open (a refused switch leaves the browser's own
        // choice in it otherwise), the cluster form the objects in use.
        browser::sync_selects();
        if first_render {
            browser::record("data-first-render-ms", browser::now_ms());
        }
        if let Some((what, t0)) = self.timing.take() {
            browser::record(what, browser::now_ms() - t0);
            if what == "data-import-ms" {
                browser::record("data-import-render-done", browser::now_ms());
            }
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let s = &self.session;
        let trace = s.trace().cloned();
        let (t_sel, step) = self.selected().unwrap_or((0, 0));
        let step_ref = trace.as_ref().and_then(|t| t.steps.get(step));
        // An exercise lists each packet's steps as far as the learner has
        // gone, and its outcome once there.
        let upto = |t: usize| -> Option<usize> {
            (self.filters.exercise && s.in_exercise(t)).then(|| self.reached.borrow().get(&s.number(t)).copied().unwrap_or(0))
        };
        if self.filters.exercise && s.in_exercise(t_sel) && trace.is_some() {
            let mut r = self.reached.borrow_mut();
            let at = r.entry(s.number(t_sel)).or_insert(step);
            *at = (*at).max(step);
        }
        // Until the last step the filters show is reached (stepping and
        // End go no further).
        let hidden = |t: usize| -> bool {
            upto(t).is_some_and(|u| {
                let last = (s.sends.get(t).and_then(|x| x.trace.as_ref().ok()))
                    .and_then(|x| self.filters.visible(x).last().copied())
                    .unwrap_or(0);
                u < last
            })
        };
        // In an exercise, until the packet's last step, the state it met
        // (what it leaves would tell how it went).
        let met;
        let state_shown = if hidden(t_sel) {
            met = s.state_met(t_sel);
            &met
        } else {
            &s.state
        };
        // Line numbers of the texts in use (the editors mark them in the
        // text as typed where it holds them).
        // An earlier packet may have met other texts than those in use.
        let met = |f: Field| s.met_in_use(t_sel, self.editor_host, f);
        let earlier: Vec<&str> = [(Field::Rules, "rules"), (Field::Routes, "routes")]
            .into_iter()
            .filter(|(f, _)| !met(*f))
            .map(|(_, w)| w)
            .collect();
        // Only for a packet that passed this host.
        let passed = trace.as_ref().is_some_and(|t| t.steps.iter().any(|st| s.host(&st.ns) == Some(self.editor_host)));
        let earlier = (!earlier.is_empty() && passed).then(|| {
            format!(
                "Packet #{} met the {} {} had when it was sent; they have changed since, so no line is marked for it here.",
                s.number(t_sel),
                earlier.join(" and "),
                s.world.hosts.get(self.editor_host).map(|h| h.name()).unwrap_or("")
            )
        });
        let rule_line = (trace.as_ref())
            .filter(|_| met(Field::Rules))
            .and_then(|t| model::rule_at(t, step))
            .filter(|_| step_ref.is_some_and(|st| Some(self.editor_host) == s.host(&st.ns)))
            .map(|(_, _, _, line)| line);
        let route_line = step_ref
            .filter(|_| met(Field::Routes))
            .and_then(model::step_route_line)
            .filter(|_| step_ref.is_some_and(|st| Some(self.editor_host) == s.host(&st.ns)));
        // A step that names a line of its host's rules or routes says they
        // are the lines of the texts in use, when its editor shows other
        // text (with errors).
        let lines_note = step_ref.and_then(|st| {
            let h = s.host(&st.ns)?;
            let d = s.drafts.get(h)?;
            let names = |f: Field| match f {
                Field::Rules => trace.as_ref().and_then(|t| model::rule_at(t, step)).is_some(),
                Field::Routes => model::step_route_line(st).is_some_and(|l| l > 0),
            };
            let typed: Vec<&str> = [(Field::Rules, "rules"), (Field::Routes, "routes")]
                .into_iter()
                .filter(|(f, _)| names(*f) && s.met_in_use(t_sel, h, *f))
                .filter(|(f, _)| d.get(*f).pending() && !d.get(*f).errors.is_empty())
                .map(|(_, w)| w)
                .collect();
            (!typed.is_empty()).then(|| {
                let what = typed.join(" and ");
                format!("The line numbers here are those of the {what} {} runs: the {what} in its editor have errors, so they are not in use yet.", st.ns)
            })
        });
        let scenario = self.topology_scenario();
        let targets = Rc::new(targets(s));
        // The form offers the last packet a program sent (not the
        // kernel's answer to one).
        let last_spec = form_of_last(s);
        let show_editors = !self.embed || self.embed_editors;

        let send_panel = html! {
        <section class="panel send-panel" aria-labelledby="send-h">
            <h2 id="send-h">{ "Send a packet" }</h2>
            <SendForm
                key={format!("{}-{}", self.gen, self.form_gen)}
                targets={targets.clone()}
                initial={self.form_draft.clone().or(last_spec)}
                // (In an exercise, Reply would tell how the packet ended.)
                can_reply={s.reply_spec().is_some() && !hidden(t_sel)}
                reply_hidden={hidden(t_sel)}
                again_what={self.selected().map(|(t, _)| t).and_then(|t| s.sends.get(t).map(|x| format!("#{} {} → {}", s.number(t), x.spec.from, x.spec.to)))}
                again_flags={self.again().map(|a| {
                    // A TCP packet without flags given is sent as a SYN.
                    let flags = match (a.proto, a.flags) {
                        (crate::engine::packet::Proto::Tcp, None) => "SYN".to_string(),
                        (_, f) => f.map(|f| f.to_string()).unwrap_or_default(),
                    };
                    // Its data, when any: what it carries is in sight.
                    match a.payload_len {
                        0 => flags,
                        n => format!("{flags} +{n} B").trim_start().to_string(),
                    }
                })}
                onsend={link.callback(Msg::Send)}
                onreply={link.callback(|_| Msg::Reply)}
                onagain={link.callback(|_| Msg::SendAgain)}
                onclearct={link.callback(|_| Msg::ClearConntrack)}
                onwait={link.callback(Msg::Wait)}
                onunwait={link.callback(|_| Msg::Unwait)}
                waiting={s.wait_next}
                ondraft={link.callback(Msg::FormDraft)}
                failed={self.send_error.clone()}
            />
            { send_history(&HistoryProps {
                sends: Rc::new(s.sends.iter().map(|x| (as_in_form(&x.spec, &targets), x.trace.clone(), x.before_sync.clone())).collect::<Vec<_>>()),
                hidden: Rc::new((0..s.sends.len()).map(hidden).collect()),
                selected: t_sel,
                first: s.number(0),
                forgotten: s.forgotten,
                onselect: link.callback(|t| Msg::Select(t, 0)),
                onclear: link.callback(|_| Msg::ClearSends),
            }) }
            { send_form::help() }
        </section>
        };
        let topo_panel = html! {
        <section class="panel topo-panel" aria-labelledby="topo-h">
            <h2 id="topo-h">{ "Topology" }</h2>
            <Topology scenario={scenario.clone()} trace={trace.clone()} step={step} />
        </section>
        };
        // The selected step (its buttons, headers and why), then the steps.
        let step_panels = html! {
        {
            match (&trace, s.sends.get(t_sel).map(|x| &x.trace)) {
                (Some(t), _) => html! {
                    <>
                        // Taller than the window on a wide screen, where it
                        // scrolls on its own: a Tab stop, so the keyboard
                        // scrolls it too.
                        <section class="panel detail-panel" aria-labelledby="detail-h" tabindex="0">
                            <h2 id="detail-h" class="visually-hidden">{ "The selected step" }</h2>
                            { step_controls(&ControlProps {
                                at: step,
                                count: t.steps.len(),
                                // (How many steps there are would tell how it went.)
                                count_hidden: hidden(t_sel),
                                visible: Rc::new(self.visible()),
                                playing: self.playing.is_some(),
                                speed_ms: self.speed_ms,
                                onmove: link.callback(Msg::Step),
                                onchange: link.callback(|_| Msg::NextChange),
                                onplay: link.callback(|_| Msg::TogglePlay),
                                onspeed: link.callback(Msg::Speed),
                                // Short, and quiet while playing: a screen reader
                                // would queue every step.
                                // A packet's first step names it, so a send is heard
                                // even when its step count is the last one's.
                                said: t.steps.get(step).filter(|_| self.playing.is_none()).map(|st| {
                                    let packet = if step == 0 { format!("packet #{}, ", s.number(t_sel)) } else { String::new() };
                                    // What the step did, cut short; the last one's
                                    // verdict too.
                                    let what = crate::engine::render::summary(st);
                                    // At a word's end, near 90 characters.
                                    let cut = (what.char_indices().map(|(i, _)| i).nth(90))
                                        .map_or(what.len(), |at| what[..at].rfind(' ').unwrap_or(at));
                                    let what = if cut < what.len() { format!("{}…", &what[..cut]) } else { what.clone() };
                                    let end = if step + 1 == t.steps.len() { format!(". {}", short_verdict(&t.verdict)) } else { String::new() };
                                    format!("{packet}{}: {}: {what}{end}", st.ns, crate::engine::render::stage(st))
                                }).unwrap_or_default(),
                                caption: t.steps.get(step).map(|st| {
                                    let exercise = if hidden(t_sel) { "Exercise · " } else { "" };
                                    format!("{exercise}{} · {}: {}", st.ns, crate::engine::render::stage(st), crate::engine::render::summary(st))
                                }).unwrap_or_default(),
                            }) }
                            if let Some(q) = s.task.as_ref().filter(|_| self.filters.exercise && !self.embed) {
                                <p id="exercise-task" class="exercise-task"><strong>{ "Question: " }</strong><bdi>{ q.clone() }</bdi></p>
                            }
                            if hidden(t_sel) {
                                <p id="outcome" class="outcome">
                                    <span>{ format!("An exercise: step on to find where this packet goes (step {} reached so far); its steps are listed as you reach them, and its outcome shows at its last.", upto(t_sel).unwrap_or(step) + 1) }</span>
                                    if self.asked_end {
                                        <span role="group" aria-label="Show the answer?" class="end-ask" onkeydown={link.batch_callback(|e: KeyboardEvent| {
                                            // Escape answers no.
                                            (e.key() == "Escape").then(|| {
                                                e.prevent_default();
                                                Msg::KeepExercise
                                            })
                                        })}>
                                            <span id="end-ask-what">{ "This shows where the packet goes. " }</span>
                                            <button class="link-button" id="end-exercise" aria-describedby="end-ask-what" onclick={link.callback(|_| Msg::EndExercise(true))}>{ "Show all steps and the outcome" }</button>
                                            { " · " }
                                            <button class="link-button" id="keep-exercise" aria-describedby="end-ask-what" onclick={link.callback(|_| Msg::KeepExercise)}>{ "Keep stepping" }</button>
                                        </span>
                                    } else {
                                        <button class="link-button" id="end-exercise" onclick={link.callback(|_| Msg::EndExercise(false))}>{ "Show all steps…" }</button>
                                    }
                                </p>
                            } else {
                            { outcome(t, step, s.number(t_sel),
                                Some(link.callback(|_| Msg::Step(Move::Last))),
                                s.reply_spec().is_some().then(|| link.callback(|_| Msg::Reply)),
                                next_hop(t, s.sends.get(t_sel).map(|x| &x.spec)).map(|spec| {
                                    let ttl = spec.ttl.unwrap_or(64);
                                    // The form takes the new TTL too, so the
                                    // next Send goes on from there.
                                    (ttl, link.batch_callback(move |_| vec![Msg::FormTo(spec.clone()), Msg::Send(spec.clone())]))
                                })) }
                            }
                            // The same line at every step, so that the
                            // headers below do not move when stepping.
                            if t.steps.len() > 1 {
                                <p class="hint step-keys">{ "▶ or → next step · N next change · Space play · or pick a step in the list" }</p>
                            }
                            <HeaderView trace={t.clone()} step={step}>
                            { explain(&ExplainProps {
                                trace: t.clone(),
                                step,
                                explained: self.explained.clone().filter(|(v, _, _)| *v == s.version).map(|(_, r, e)| Rc::new((r, e))),
                                onexplain: link.callback(Msg::ExplainRule),
                                onforce: link.callback(|_| Msg::ForceOther),
                                chain_name: {
                                    let c = s.cluster.clone();
                                    Rc::new(move |ns: &str, chain: &str| c.as_ref().and_then(|c| c.chain_name(ns, chain)).map(str::to_string))
                                },
                                rule_origin: {
                                    let c = s.cluster.clone();
                                    Rc::new(move |ns: &str, rule: &str| c.as_ref().and_then(|c| c.rule_origin(ns, rule)).map(|o| (o.what.clone(), o.line)))
                                },
                                onorigin: link.callback(Msg::ClusterShow),
                                onlisting: show_editors.then(|| link.callback(|(ns, id)| Msg::ShowListing(ns, id))),
                                veth_peer: {
                                    // (namespace, device, far end) of every veth.
                                    let veths: Vec<(String, String, String)> = (s.world.hosts.iter())
                                        .flat_map(|h| h.devs.iter().filter_map(move |d| match &d.spec.kind {
                                            scenario::DeviceKind::Veth { peer } => Some((h.name().to_string(), d.spec.name.clone(), peer.clone())),
                                            _ => None,
                                        }))
                                        .collect();
                                    Rc::new(move |ns: &str, dev: &str| {
                                        veths.iter().find(|(n, d, _)| n == ns && d == dev).map(|(_, _, p)| p.clone())
                                    })
                                },
                                holder: {
                                    let world = Rc::new((s.world.hosts.iter()).map(|h| (h.name().to_string(), h.spec.devices.iter().flat_map(|d| d.addrs.iter().map(|a| (a.addr(), d.name.clone()))).collect::<Vec<_>>())).collect::<Vec<_>>());
                                    let announced: Vec<(String, std::net::Ipv4Addr)> = s.world.scenario.announces.iter().map(|a| (a.host.clone(), a.addr)).collect();
                                    Rc::new(move |ns: &str, addr| {
                                        (world.iter().filter(|(n, _)| n == ns))
                                            .find_map(|(_, addrs)| addrs.iter().find(|(a, _)| *a == addr).map(|(_, d)| d.clone()))
                                            .or_else(|| announced.iter().any(|(h, a)| h == ns && *a == addr).then(String::new))
                                    })
                                },
                            }) }
                            if let Some(n) = &lines_note {
                                <p class="hint lines-note">{ n.clone() }</p>
                            }
                            </HeaderView>
                        </section>
                        <section id="events" class="panel events-panel" aria-labelledby="events-h" tabindex="-1">
                            <h2 id="events-h">{ "Steps" }</h2>
                            <EventList
                                trace={t.clone()}
                                selected={step}
                                upto={upto(t_sel)}
                                filters={self.filters}
                                onselect={link.callback(move |i| Msg::Pick(t_sel, i))}
                                onfilters={link.callback(Msg::Filters)}
                            />
                            if hidden(t_sel) {
                                <p id="verdict" class="verdict-line" role="status">{ "Where this packet ends shows at its last step (an exercise)." }</p>
                            } else {
                                { verdict_line(t) }
                            }
                            // (The last packet's: the earlier ones met earlier texts.)
                            if t_sel + 1 == s.sends.len() && !hidden(t_sel) {
                                { unapplied_line(&s.texts_with_errors()) }
                            }
                        </section>
                    </>
                },
                (None, Some(Err(e))) => html! {
                    <section id="events" class="panel events-panel error" role="alert">
                        <h2>{ "This packet could not be sent" }</h2>
                        <p>{ e.clone() }</p>
                    </section>
                },
                _ => html! {
                    <>
                        <section class="panel detail-panel empty" aria-label="The selected step">
                            <p class="hint">{ "The packet's headers at each step, and why each step happened, show here once a packet is sent." }</p>
                        </section>
                        <section id="events" class="panel events-panel empty">
                            <h2>{ "Steps" }</h2>
                            <p>{ "No packet sent yet: choose a source and a destination and press Send." }</p>
                        </section>
                    </>
                },
            }
        }
        };
        // An embed shows the packet first and the send form last.
        let mut panels = vec![send_panel, topo_panel, step_panels];
        if self.embed {
            panels.rotate_left(1);
        }

        let header = if self.embed {
            html! {
                <header class="page-header embed-header">
                    <h1 class="embed-title">{ "Packet Walk" }<span class="embed-sub">{ format!(": {}", s.world.scenario.title) }</span></h1>
                    <div class="embed-actions">
                        // The send form is last in an embed, under the
                        // steps: a reader who wants their own packet jumps.
                        <button id="embed-send" onclick={Callback::from(|_| browser::focus_top("send-from"))} title="Go to the send form, under the steps">{ "Send a packet ↓" }</button>
                        <a class="button" href={browser::page_url(&self.link_fragment().unwrap_or_default())} target="_blank" rel="noopener">{ "Open full playground ↗" }</a>
                    </div>
                </header>
            }
        } else {
            self.toolbar(ctx)
        };

        html! {
            <div class={classes!("app", self.embed.then_some("embed"))}>
              // Behind an open dialog nothing can be focused or clicked.
              <div class="app-body" inert={self.dialog.is_some()}>
                <a class="skip-link" href="#events" onclick={Callback::from(|e: MouseEvent| {
                    // Focus moves without the address changing.
                    e.prevent_default();
                    browser::focus_top("events");
                })}>{ "Skip to the steps" }</a>
                { header }
                if !self.embed {
                    { about(s, self.about_open) }
                }
                // An embed's exercise: its question first, above the
                // picture (the steps are far below it in a blog's column).
                if let Some(q) = s.task.as_ref().filter(|_| self.filters.exercise && self.embed) {
                    <p id="exercise-task" class="exercise-task embed-task"><strong>{ "Question: " }</strong><bdi>{ q.clone() }</bdi></p>
                }
                // A notice and a parse's progress float over the window's
                // foot (above the narrow layout's step bar): the page never
                // moves under the learner, and a notice that an edit far
                // down the page brings is in sight.
                if self.notice.is_some() || self.importing.is_some() {
                    <div class="toasts">
                        if let Some(n) = &self.notice {
                            <div class={classes!("notice", n.error.then_some("notice-error"))} role={if n.error { "alert" } else { "status" }}>
                                <span class="notice-icon" aria-hidden="true">{ if n.error { "⚠" } else { "ℹ" } }</span>
                                <p>{ n.text.clone() }</p>
                                if n.restore && n.hold_save {
                                    <button id="restore-own" onclick={link.callback(|_| Msg::ReopenSaved)}>{ "Open my saved session again" }</button>
                                } else if n.restore {
                                    <button id="restore-own" onclick={link.callback(|_| Msg::Restore(browser::Slot::Own))}>{ if self.other_tabs_aside { "Bring back the other tab's session" } else { "Bring back my own session" } }</button>
                                }
                                if let Some((k, words)) = n.restore_earlier {
                                    <button id="restore-earlier" onclick={link.callback(move |_| Msg::Restore(browser::Slot::Earlier(k)))}>{ words }</button>
                                }
                                if let Some(text) = n.dropped.clone() {
                                    <button id="download-dropped" onclick={link.callback(move |_| Msg::DownloadDropped(text.clone()))}>{ "Download the oldest kept" }</button>
                                }
                                if let Some(slot) = n.damaged {
                                    <button id="download-damaged" onclick={link.callback(move |_| Msg::DownloadDamaged(slot))}>{ "Download it" }</button>
                                    <button id="remove-damaged" onclick={link.callback(move |_| Msg::RemoveDamaged(slot))}>{ "Take it away" }</button>
                                }
                                if n.take_over {
                                    <button id="take-over" onclick={link.callback(|_| Msg::TakeOver)}>{ "Save this tab's work instead" }</button>
                                }
                                <button class="icon-button" aria-label="Dismiss this message" onclick={link.callback(|_| Msg::DismissNotice)}>{ "✕" }</button>
                            </div>
                        }
                        if let Some(i) = &self.importing {
                            <import::ParseProgress label={format!("Parsing {} for {}", i.name, s.world.hosts.get(i.host).map(|h| h.name()).unwrap_or(""))} sink={self.progress_sink.clone()} />
                        }
                    </div>
                }
                <main class="workspace">
                    // The panels in the order they are read (and tabbed
                    // through) in each layout: the grid places them so.
                    { for panels }
                </main>
                if show_editors {
                    if self.embed {
                        // An embed never writes the reader's storage.
                        // (In a landmark of its own, as every line of the page is.)
                        <aside aria-label="Edits in this embed"><p class="hint embed-unsaved">{ "Edits here are not saved: \"Open full playground ↗\" takes them along." }</p></aside>
                    }
                    if let Some(c) = &s.cluster {
                        <ClusterPanel draft={c.clone()} highlight={self.cluster_line}
                            node={s.world.hosts.get(self.editor_host).filter(|h| h.spec.kind == HostKind::Node).map(|h| h.name().to_string())}
                            onedit={link.callback(Msg::ClusterEdit)}
                            onmode={link.callback(Msg::ClusterMode)}
                            onlayout={link.callback(Msg::ClusterLayout)}
                            onhairpin={link.callback(Msg::ClusterHairpin)}
                            onservice={link.callback(|(s, f, v)| Msg::ClusterService(s, f, v))}
                            onendpoint={link.callback(|(l, s)| Msg::ClusterEndpoint(l, s))}
                            vxlan={Rc::new(s.world.hosts.get(self.editor_host).map(|h| model::vxlan_lines(&h.spec)).unwrap_or_default())}
                            onadd={link.callback(|(s, n)| Msg::ClusterAdd(s, n))} />
                    }
                    <EditorPanel
                        hosts={Rc::new(s.world.hosts.iter().map(|h| (h.name().to_string(), h.spec.kind)).collect::<Vec<_>>())}
                        host={self.editor_host}
                        example={AttrValue::from(crate::ui::model::example_command(s.trace().map(|t| &**t)))}
                        drafts={s.drafts.get(self.editor_host).cloned().unwrap_or_default()}
                        ruleset={RulesRef(s.world.hosts.get(self.editor_host).and_then(|h| h.rules.clone()))}
                        routes={Rc::new(s.world.hosts.get(self.editor_host).map(|h| h.routes.clone()).unwrap_or_default())}
                        counters={Rc::new(state_shown.counters.iter().filter(|((h, _), _)| *h == self.editor_host).map(|((_, at), c)| (*at, *c)).collect::<HashMap<_, _>>())}
                        conntrack={Rc::new(state_shown.conntrack.get(self.editor_host).map(|t| t.list(state_shown.clock)).unwrap_or_default())}
                        neighbours={Rc::new(state_shown.neighbours(&s.world, self.editor_host))}
                        route_cache={Rc::new(state_shown.route_cache(&s.world, self.editor_host))}
                        before_packet={hidden(t_sel).then(|| s.number(t_sel))}
                        rule_line={rule_line}
                        route_line={route_line}
                        {earlier}
                        not_saved={self.not_saved()}
                        version={s.version}
                        views={self.views}
                        busy={self.importing.is_some()}
                        parsing={self.importing.as_ref().is_some_and(|i| i.host == self.editor_host)}
                        devices={Rc::new(s.world.hosts.get(self.editor_host).map(|h| h.devs.iter().map(|d| d.spec.name.clone()).collect()).unwrap_or_default())}
                        onhost={link.callback(Msg::EditorHost)}
                        onview={link.callback(|(f, v)| Msg::EditorView(f, v))}
                        onedit={let h = self.editor_host; link.callback(move |(f, t)| Msg::Edit(h, f, t))}
                        oncommand={let h = self.editor_host; link.callback(move |l| Msg::Command(h, l))}
                        command_result={self.command_result.as_ref()
                            .filter(|(h, g, _)| s.world.hosts.get(self.editor_host).is_some_and(|x| x.name() == h) && *g == s.world_gen())
                            .map(|(_, _, r)| r.clone())}
                        onimport={let h = self.editor_host; link.callback(move |(f, name, text)| Msg::ImportText(h, f, name, text))}
                        onerror={link.callback(|e: String| Msg::Notice(Notice::error(e)))}
                    />
                }
                if !self.embed {
                    <footer class="page-footer">
                        <p>
                            { "Keys: ← → step, Home/End first/last, Space play/pause, Ctrl+Z/Ctrl+Y undo/redo. " }
                            { "Notes on this scenario: " }
                            { s.world.scenario.notes.len() }
                            { " (below)." }
                        </p>
                        <details class="notes">
                            <summary>{ "Scenario notes: choices made where the article is silent" }</summary>
                            <ul>{ for s.world.scenario.notes.iter().map(|n| html! { <li>{ n.clone() }</li> }) }</ul>
                        </details>
                    </footer>
                }
              </div>
                {
                    match &self.dialog {
                        Some(Dialog::Link(url, start)) => html! {
                            <LinkDialog url={url.clone()} start={start.clone()} chosen={self.link_choice.clone()}
                                onchoice={link.callback(Msg::LinkChoice)} onclose={link.callback(|_| Msg::CloseDialog)} />
                        },
                        Some(Dialog::Embed(frag, start)) => html! {
                            <EmbedDialog fragment={frag.clone()} start={start.clone()} title={s.world.scenario.title.clone()} onclose={link.callback(|_| Msg::CloseDialog)} />
                        },
                        None => html! {},
                    }
                }
            </div>
        }
    }
}

impl App {
    /// [`Component::update`]'s work.
    fn handle(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        // A message that needs the cluster generator waits for it to load,
        // and so does every message that would replace the session after
        // it: they are handled in the order they came.
        if let Some(waiting) = &mut self.waiting {
            if replaces_session(&msg) {
                waiting.push(msg);
                return false;
            }
        } else if !generator::loaded() && self.needs_generator(&msg) {
            self.waiting = Some(vec![msg]);
            self.notice = Some(Notice::info(LOADING_GENERATOR));
            let link = ctx.link().clone();
            wasm_bindgen_futures::spawn_local(async move {
                link.send_message(Msg::GeneratorLoaded(generator::load().await));
            });
            return true;
        }
        // A cluster change made in the worker (an undo's too) is on neither
        // undo stack until it comes back: what would replace the session
        // (and keep it aside) waits for it.
        if self.syncing && replaces_session(&msg) {
            self.after_sync.push(msg);
            return false;
        }
        match msg {
            Msg::Select(t, s) => self.go_to(t, s),
            Msg::Pick(t, s) => {
                self.go_to(t, s);
                self.follow = Some(browser::Follow::Step);
            }
            Msg::FormTo(spec) => {
                self.form_draft = Some(as_in_form(&spec, &targets(&self.session)));
                self.form_gen += 1;
            }
            Msg::FormDraft(spec) => {
                // The form's first draft (as it opens) is what it shows, not
                // a choice: Again keeps the selected packet's flags until
                // the learner ticks others (unticking and ticking one back
                // is a choice too).
                let before = self.form_draft.as_ref().map(|d| d.flags);
                let ticked = before.is_some_and(|f| f != spec.flags);
                self.flags_ticked |= ticked;
                let sized = (self.form_draft.as_ref()).is_some_and(|d| d.payload_len != spec.payload_len);
                self.len_typed |= sized;
                let ticked = ticked || sized;
                self.form_draft = Some(spec);
                self.schedule_autosave(ctx);
                // A change to the form is a new request: the last one's
                // error goes. (A tick renders Again's flags anew.)
                return self.send_error.take().is_some() || ticked;
            }
            Msg::Step(_) | Msg::NextChange => {
                // Stepping on answers "Show all steps?" with no.
                self.asked_end = false;
                let Some((t, s)) = self.selected() else {
                    return false;
                };
                let visible = self.visible();
                // In an exercise, End goes as far as the learner has gone
                // (the packet's end would give the answer away); "Show all
                // steps" is the way there.
                let exercise = self.filters.exercise && self.session.in_exercise(t);
                let reached = exercise
                    .then(|| self.reached.borrow().get(&self.session.number(t)).copied())
                    .flatten()
                    .filter(|r| *r > s);
                let to = match (msg, self.session.trace()) {
                    (Msg::Step(Move::Last), _) if exercise => {
                        let end = visible.last().copied().unwrap_or(s);
                        let furthest = reached.unwrap_or(s);
                        // At the furthest step reached, End takes one more.
                        if furthest > s { furthest.min(end) } else { model::step_to(&visible, s, Move::Forward) }
                    }
                    (Msg::Step(m), _) => model::step_to(&visible, s, m),
                    (_, Some(trace)) => model::next_change(trace, &visible, s),
                    _ => s,
                };
                if to == s {
                    return false;
                }
                self.go_to(t, to);
                self.follow = Some(browser::Follow::Step);
                // A step button that has just disabled itself would drop
                // the focus to the page: it goes to the way back instead.
                let towards_end = browser::focus_in("#step-last")
                    || browser::focus_in("#step-forward")
                    || browser::focus_in("#step-change");
                let towards_start = browser::focus_in("#step-first") || browser::focus_in("#step-back");
                if towards_end && visible.last() == Some(&to) {
                    self.refocus = Some("step-back");
                } else if towards_start && visible.first() == Some(&to) {
                    self.refocus = Some("step-forward");
                } else if !browser::focus_lost() {
                    // "Go to the last step" gives way to "Reply" at the end.
                    self.focus_fallback = vec!["step-back".into()];
                }
            }
            Msg::TogglePlay => {
                if self.playing.take().is_none() {
                    // From the end, play starts over.
                    if let Some((t, s)) = self.selected() {
                        if self.visible().last() == Some(&s) {
                            self.session.select(t, 0);
                        }
                    }
                    self.start_timer(ctx);
                }
            }
            Msg::Tick => {
                let Some((t, s)) = self.selected() else {
                    self.playing = None;
                    return true;
                };
                let to = model::step_to(&self.visible(), s, Move::Forward);
                if to == s {
                    self.playing = None;
                } else {
                    self.go_to(t, to);
                    self.follow = Some(browser::Follow::Step);
                }
            }
            Msg::Speed(ms) => {
                self.speed_ms = ms;
                if self.playing.is_some() {
                    self.start_timer(ctx);
                }
            }
            Msg::Filters(f) => {
                self.filters = f;
                // Keep the selection on a shown step.
                if let Some((t, s)) = self.selected() {
                    let v = self.visible();
                    if !v.contains(&s) {
                        self.session.select(t, model::step_to(&v, s, Move::Forward));
                    }
                }
            }
            // A packet sent is a new moment: a word about an earlier one
            // (a restore, an import) goes; errors and offers stay.
            Msg::Send(_) | Msg::SendAgain | Msg::Reply
                if self.notice.as_ref().is_some_and(|n| !n.error && !n.offers()) =>
            {
                self.notice = None;
                return Component::update(self, ctx, msg);
            }
            Msg::Send(spec) => {
                self.flags_ticked = false;
                self.len_typed = false;
                self.timing = Some(("data-send-ms", browser::now_ms()));
                self.send_error = self.session.try_send(spec).err();
                if self.send_error.is_none() {
                    self.follow = Some(browser::Follow::Reveal);
                }
                self.schedule_autosave(ctx);
            }
            Msg::SendAgain => {
                self.send_error = None;
                if let Some(spec) = self.again() {
                    // Refused as Send refuses (no data on a SYN, too much
                    // data): said under the form, nothing added.
                    self.send_error = self.session.try_send(spec).err();
                    if self.send_error.is_none() {
                        self.flags_ticked = false;
                        self.len_typed = false;
                        self.follow = Some(browser::Follow::Reveal);
                    }
                    self.schedule_autosave(ctx);
                }
            }
            Msg::Reply => {
                // An answer nothing answers (a ping's echo-reply) disables
                // Reply: the focus goes on to Again.
                if !browser::focus_lost() {
                    self.focus_fallback = vec!["again-button".into()];
                }
                self.flags_ticked = false;
                self.len_typed = false;
                self.send_error = None;
                if self.session.reply() {
                    self.follow = Some(browser::Follow::Reveal);
                } else {
                    self.notice = Some(Notice::error(
                        "Only a delivered packet can be answered: this one did not reach a socket.",
                    ));
                }
                self.schedule_autosave(ctx);
            }
            Msg::Wait(secs) => {
                self.session.wait(secs);
                self.schedule_autosave(ctx);
            }
            Msg::Unwait => {
                self.session.wait_next = None;
                self.schedule_autosave(ctx);
            }
            Msg::ClearConntrack => {
                self.session.clear_conntrack();
                self.notice = Some(Notice::info(
                    "Conntrack is empty on every host (conntrack -F): the next packet starts a NEW connection in netfilter and is NATed anew. The sockets keep their connections.",
                ));
            }
            Msg::ClearSends => {
                let n = self.session.sends.len();
                if n > 1 && !browser::confirm(&format!(
                    "Forget the {n} packets sent, their traces, every connection and every neighbour (ARP) entry? This cannot be undone (the rules and routes stay)."
                )) {
                    return false;
                }
                self.session.clear_sends();
                // The next #1 is another packet: no exercise progress, and
                // no exercise (its packets are gone).
                self.reached.borrow_mut().clear();
                self.filters.exercise = false;
                self.schedule_autosave(ctx);
                self.fall_back_to_steps();
            }
            Msg::ForceOther => {
                if let Some((t, s)) = self.selected() {
                    self.session.force_other_branch(t, s);
                    self.schedule_autosave(ctx);
                }
            }
            Msg::ExplainRule(rule) => {
                let r = self.explain_rule(rule);
                self.explained = Some((self.session.version, rule, r));
            }
            Msg::Edit(host, field, text) => {
                self.session.edit(host, field, text);
                let link = ctx.link().clone();
                self.debounce.insert(
                    (host, field),
                    Timeout::new(DEBOUNCE_MS, move || {
                        link.send_message(Msg::Apply(host, field))
                    }),
                );
                self.schedule_autosave(ctx);
            }
            Msg::Apply(host, field) => {
                self.debounce.remove(&(host, field));
                let big =
                    field == Field::Rules
                        && self.session.drafts.get(host).is_some_and(|d| {
                            d.rules.pending() && d.rules.text.len() > CHUNKED_BYTES
                        });
                let before = self.session.world_gen();
                let was = self.last_verdict();
                if big {
                    self.start_chunked(ctx, host, "The edited rules text".into(), false);
                } else if self.session.apply(host, field) && self.session.world_gen() != before {
                    // The edit traced the last packet again: that is the
                    // one to look at, at the same step where it has one.
                    let last = self.session.sends.len().saturating_sub(1);
                    if let Some((t, st)) = self.selected() {
                        if t != last {
                            self.session.select(last, st);
                            self.notice = Some(Notice::info(format!(
                                "The edit applies to packets sent from now on: #{} (the last one) was traced again; the packets before it keep what they met.",
                                self.session.number(last)
                            )));
                        }
                    }
                    self.say_verdict_change(was);
                }
                self.schedule_autosave(ctx);
            }
            Msg::ClusterEdit(text) => {
                self.cluster_line = None;
                self.session.edit_cluster(text);
                let link = ctx.link().clone();
                self.cluster_debounce = Some(Timeout::new(DEBOUNCE_MS, move || {
                    link.send_message(Msg::ClusterApply)
                }));
                self.schedule_autosave(ctx);
            }
            Msg::ClusterApply => {
                self.cluster_debounce = None;
                self.cluster_line = None;
                if self.importing.is_some() && self.session.sync_due() {
                    // A dump is being parsed into a node: the sync waits
                    // for it (it would be made without it).
                    let link = ctx.link().clone();
                    self.cluster_debounce = Some(Timeout::new(DEBOUNCE_MS, move || {
                        link.send_message(Msg::ClusterApply)
                    }));
                    return false;
                }
                if self.session.large() && self.session.sync_due() {
                    // Over a node dump (or hundreds of Services) the sync
                    // takes a quarter to half a second: it is made in the
                    // worker, and a change made meanwhile asks again when
                    // it comes back.
                    if !self.syncing {
                        self.sync_away(ctx);
                    }
                    return true;
                }
                if !self.session.sync_due() {
                    // The objects typed (or opened) are the ones in use.
                    if let Some(what) = self.sync_note.take() {
                        self.notice = Some(Notice::info(format!("{what}: they are the objects in use already, so nothing changed.")));
                    }
                    return true;
                }
                let applied = self.session.apply_cluster();
                self.synced(ctx, applied);
            }
            Msg::ClusterSynced(version, draft, r) => {
                self.syncing = false;
                for m in std::mem::take(&mut self.after_sync) {
                    ctx.link().send_message(m);
                }
                let same_text = self.session.cluster.as_ref().is_some_and(|c| c.text == draft.text);
                let step = self.sync_step.take();
                if version == (self.gen, self.session.world_gen()) && same_text {
                    let r = r.map(|r| *r);
                    let applied = match step {
                        Some((c, undo)) => self.session.cluster_step_synced(c, undo, *draft, r),
                        None => self.session.resynced(*draft, r, true),
                    };
                    self.synced(ctx, applied);
                } else {
                    // An undo overtaken by an edit of the same session goes
                    // back on its stack: the edit starts from what it undid.
                    if let Some((c, true)) = step.filter(|_| version.0 == self.gen) {
                        self.session.untake_cluster_step(c);
                    }
                    if self.session.sync_due() {
                        // Something changed while it was made: once more.
                        ctx.link().send_message(Msg::ClusterApply);
                    }
                }
            }
            Msg::ClusterMode(mode) => self.form_edit(ctx, FormEdit::Mode(mode)),
            Msg::ClusterShow(line) => {
                self.cluster_line = Some(line);
                if let Some(el) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("cluster-yaml"))
                {
                    browser::scroll_to(&el, true);
                }
            }
            Msg::ClusterLayout(layout) => self.form_edit(ctx, FormEdit::Layout(layout)),
            Msg::ClusterHairpin(on) => self.form_edit(ctx, FormEdit::Hairpin(on)),
            Msg::ClusterService(service, field, value) => self.form_edit(
                ctx,
                FormEdit::Service {
                    service,
                    field,
                    value,
                },
            ),
            Msg::ClusterEndpoint(line, state) => {
                // A removed endpoint's row goes, with its Remove button.
                if state.is_none() && !browser::focus_lost() {
                    let form = self.session.cluster.as_ref().map(|c| &c.view.form);
                    self.focus_fallback = form.map(|f| cluster::after_removal(f, line)).unwrap_or_default();
                    self.focus_fallback.push("cluster-mode".into());
                }
                self.form_edit(ctx, FormEdit::Endpoint { line, state })
            }
            Msg::ClusterAdd(service, node) => self.form_edit(ctx, FormEdit::AddEndpoint { service, node }),
            Msg::Command(host, line) => {
                // Said beside the command line; and at the top of the page
                // when the listing gives way to the text (a short one).
                let lines = |s: &Session| s.drafts.get(host).map_or(0, |d| d.rules.text.lines().count());
                let was_listed = lines(&self.session) > crate::ui::editors::LARGE_LINES;
                let t0 = browser::now_ms();
                let done = self.session.command(host, &line);
                browser::record("data-command-update-ms", browser::now_ms() - t0);
                self.timing = Some(("data-command-ms", t0));
                let outcome = match done {
                    Ok(()) => {
                        self.schedule_autosave(ctx);
                        Ok(format!("Applied: {line}"))
                    }
                    Err(e) => Err(command_error(&e)),
                };
                let short = lines(&self.session) <= crate::ui::editors::LARGE_LINES;
                if short && was_listed {
                    self.notice = Some(match &outcome {
                        Ok(said) => Notice::info(format!("{said}. The rules are short enough now to be edited as text.")),
                        Err(why) => Notice::error(format!("{line}\n{why}")),
                    });
                }
                let seq = self.command_result.as_ref().map_or(0, |(_, _, r)| r.seq + 1);
                let name = self.session.world.hosts.get(host).map(|h| h.name().to_string()).unwrap_or_default();
                self.command_result = Some((name, self.session.world_gen(), Rc::new(CommandResult { seq, line, outcome })));
            }
            // One sync at a time: the buttons wait for the worker's.
            Msg::Undo | Msg::Redo if self.syncing => return false,
            Msg::Undo | Msg::Redo => {
                let undo = matches!(msg, Msg::Undo);
                // The button that ran out of steps is disabled: the other.
                if !browser::focus_lost() {
                    self.focus_fallback = vec![if undo { "redo" } else { "undo" }.into()];
                }
                // Over a node dump, a cluster change is undone or redone
                // in the worker, as it was made (the page stays live).
                if self.session.large() && self.importing.is_none() {
                    if let Some(c) = self.session.take_cluster_step(undo) {
                        self.sync_step = Some((c, undo));
                        self.sync_away(ctx);
                        return true;
                    }
                }
                let before = self.session.world_gen();
                let was = self.last_verdict();
                let done = if undo { self.session.undo() } else { self.session.redo() };
                if matches!(done, Some((h, _)) if h != crate::ui::session::CLUSTER) {
                    self.say_verdict_change(was);
                }
                let synced = self.session.world_gen() != before;
                match done {
                    // A cluster change undone or redone synced the nodes
                    // (the hosts may be others now).
                    Some((crate::ui::session::CLUSTER, _)) if synced => self.synced(ctx, true),
                    Some((crate::ui::session::CLUSTER, _)) => self.schedule_autosave(ctx),
                    Some((h, _)) => {
                        self.editor_host = h;
                        self.schedule_autosave(ctx);
                    }
                    None => {}
                }
            }
            Msg::EditorHost(h) => self.editor_host = h,
            Msg::ShowListing(ns, id) => {
                if let Some(h) = self.session.world.host(&ns) {
                    self.editor_host = h;
                }
                self.open_listing = Some(id);
            }
            Msg::EditorView(f, v) => match f {
                Field::Rules => self.views.0 = v,
                Field::Routes => self.views.1 = v,
            },
            // Kept: the re-render puts the picker back on this scenario.
            Msg::Scenario(_) if !self.may_replace() => {}
            Msg::Scenario(name) => match restore_or_builtin(&name) {
                Ok((s, restored)) => {
                    self.replace_session(s);
                    self.notice = restored.map(|what| {
                        Notice::info(format!(
                            "\"{name}\" is back as you left it ({what}). \"Reset\" goes back to the built-in scenario."
                        ))
                    });
                    self.schedule_autosave(ctx);
                }
                Err(e) => self.notice = Some(Notice::error(e)),
            },
            Msg::Reset if self.embed => return false,
            Msg::Reset => {
                let Some(name) = self.session.base.clone() else {
                    self.notice = Some(Notice::error(
                        "An imported scenario has no built-in version to go back to: import the file again, or pick a built-in scenario.",
                    ));
                    return true;
                };
                if !browser::confirm(&format!(
                    "Discard your edits and packets and go back to the built-in scenario \"{}\"?",
                    self.session.world.scenario.title
                )) {
                    return false;
                }
                // What is saved is this tab's to discard: not another
                // tab's newer work, nor the learner's own session a link
                // held off from.
                let theirs = self.hold_save || other_tabs_work(Some(&name));
                let hold = self.hold_save;
                if !theirs {
                    browser::clear_autosave(Some(&name));
                    browser::set_marks(Some(&name), false, false);
                }
                self.autosave = None;
                if let Ok(s) = Session::builtin(&name) {
                    self.replace_session(s);
                }
                let back = format!("Back to the built-in scenario \"{}\".", self.session.world.scenario.title);
                self.notice = Some(if hold {
                    self.hold_save = true;
                    Notice::info(format!("{back} Your own session of this scenario stays saved as it was, and this tab does not autosave over it."))
                } else if theirs {
                    self.other_tab = true;
                    Notice {
                        take_over: true,
                        ..Notice::info(format!("{back} Another tab saved its work on this scenario since this tab read it: that work is left as it is, and this tab does not autosave."))
                    }
                } else {
                    Notice::info(back)
                });
            }
            Msg::TakeOver => {
                let base = self.session.base.clone();
                let (slot, dropped) = match browser::keep_other_tab_aside(base.as_deref()) {
                    Ok(Some((slot, dropped))) => (Some(slot), dropped),
                    Ok(None) => (None, None),
                    Err(e) => {
                        self.notice = Some(Notice { take_over: true, ..Notice::error(e) });
                        return true;
                    }
                };
                browser::forget_seen(base.as_deref());
                self.other_tab = false;
                // What is kept aside as the learner's own is the other tab's now.
                self.other_tabs_aside = slot == Some(browser::Slot::Own);
                self.has_backup = backups(self.embed, base.as_deref());
                self.notice = Some(match self.flush_autosave() {
                    Ok(()) => Notice {
                        restore: slot == Some(browser::Slot::Own),
                        restore_earlier: match slot {
                            Some(browser::Slot::Earlier(k)) => Some((k, "Bring back the other tab's session")),
                            _ => None,
                        },
                        ..Notice::info(format!(
                            "This tab's work is saved; the other tab's is kept aside, and the button brings it back here.{}",
                            if dropped.is_some() { DROPPED } else { "" }
                        ))
                    },
                    Err(e) => Notice::error(e.text()),
                });
                if let (Some(n), Some(d)) = (&mut self.notice, dropped) {
                    n.dropped = Some(d.into());
                }
                self.focus_fallback = vec!["restore-own".into(), "restore-earlier".into()];
            }
            Msg::Restore(_) | Msg::ReopenSaved if self.embed => return false,
            Msg::ReopenSaved => {
                if browser::confirm("The session shown is not saved: opening your saved session again gives it up (\"Export\" keeps it in a file first). Go on?") {
                    browser::clear_fragment();
                    browser::reload();
                }
                return false;
            }
            Msg::DownloadDropped(text) => {
                let name = self.session.base.as_deref().unwrap_or(IMPORTED);
                browser::download(&format!("{name}-kept.packetwalk.json"), &text);
                return false;
            }
            Msg::DownloadDamaged(slot) => {
                let base = self.session.base.as_deref();
                if let Some(text) = browser::backup_text(slot, base) {
                    browser::download(&format!("{}-kept-damaged.json", base.unwrap_or(IMPORTED)), &text);
                }
                return false;
            }
            Msg::RemoveDamaged(slot) => {
                let base = self.session.base.clone();
                if !browser::confirm("Take away the session kept aside that does not read? (\"Download it\" keeps its file first.)") {
                    return false;
                }
                browser::clear_backup(slot, base.as_deref());
                self.has_backup = backups(self.embed, base.as_deref());
                self.notice = Some(Notice::info("The session kept aside that did not read is taken away."));
                // Its button went with the notice: the steps take the focus.
                self.fall_back_to_steps();
            }
            // Holding off: what is saved in this scenario's place is the
            // learner's own session, which the notice's button opens again.
            Msg::Restore(_) if self.hold_save => {
                self.notice = Some(Notice {
                    restore: true,
                    hold_save: true,
                    ..Notice::error("This tab does not autosave: your session saved before stays in its place. Open it again first (the button; the session shown is given up), then bring back a session kept aside.")
                });
            }
            // Another tab's save is in this scenario's place (found now or
            // before): the tab does not autosave, so a session brought back
            // here could be lost.
            Msg::Restore(_) if self.other_tab || other_tabs_work(self.session.base.as_deref()) => {
                self.other_tab = true;
                self.notice = Some(Notice {
                    take_over: true,
                    ..Notice::error("This tab does not autosave (another tab saved its work on this scenario since), so a session brought back here could be lost. Save this tab's work first (the other tab's is then kept aside), then bring it back.")
                });
            }
            Msg::Restore(slot) => {
                use browser::Slot;
                let base = self.session.base.clone();
                let b = base.as_deref();
                let saved = match browser::load_backup(slot, b) {
                    Some(Ok(saved)) => saved,
                    Some(Err(e)) => {
                        self.notice = Some(Notice {
                            damaged: Some(slot),
                            ..Notice::error(format!("That session kept aside does not read ({e}); it stays where it is. Its file, as it is, may help whoever wrote it; or take it away."))
                        });
                        return true;
                    }
                    None => {
                        self.notice = Some(Notice::error("That session is no longer kept aside (another tab may have brought it back)."));
                        self.has_backup = backups(self.embed, b);
                        return true;
                    }
                };
                match Session::from_saved(&saved) {
                    Err(e) => self.notice = Some(Notice::error(format!("The session kept aside could not be opened: {e}"))),
                    Ok(_) if !self.may_replace() => {}
                    Ok(s) => {
                        // The session shown, if it holds the learner's work
                        // (typed text not in use too), is kept aside first,
                        // in its turn: going back and forth loses nothing,
                        // and when it cannot be kept nothing changes. (A
                        // link's session not worked on is the link's.)
                        let unworked = self.foreign.is_some_and(|m| m == self.mark()) && !self.session.has_unapplied();
                        let shown = Some(self.saved_with_undo()).filter(holds_work);
                        let own_free = slot == Slot::Own || !browser::has_backup(Slot::Own, b);
                        let (kept, dropped) = match shown.map(|o| keep_aside(&o, self.linked, unworked, own_free)) {
                            Some(Err(e)) => {
                                self.notice = Some(Notice::error(format!("The session shown could not be kept aside ({e}), so nothing was changed: \"Export\" keeps it in a file, then bring the other back.")));
                                return true;
                            }
                            Some(Ok(k)) => k,
                            None => (None, None),
                        };
                        // The one brought back leaves its place (unless the
                        // session shown took it).
                        if kept != Some(slot) {
                            browser::clear_backup(slot, b);
                        }
                        browser::set_marks(b, false, slot != Slot::Own);
                        let other_tabs = self.other_tabs_aside && slot == Slot::Own;
                        self.replace_session(s);
                        // Saved at once: until then it would be nowhere in
                        // storage. If it cannot be, it is kept aside again.
                        if self.flush_autosave().is_err() {
                            let _ = browser::push_earlier(&saved);
                        }
                        let mut n = Notice::info(match (slot, other_tabs) {
                            (_, true) => "The other tab's session is back.",
                            (Slot::Own, _) => "Your own session is back.",
                            (Slot::Earlier(_), _) => "The session kept aside is back.",
                        });
                        match kept {
                            Some(Slot::Own) => {
                                n.text.push_str(" The session shown before, your own, is kept aside.");
                                n.restore = true;
                            }
                            Some(Slot::Earlier(k)) => {
                                n.text.push_str(" The session shown before, with your work on it, is kept aside too (\"Kept\" lists all).");
                                n.restore_earlier = Some((k, "Bring back the session shown before"));
                            }
                            None => {}
                        }
                        if dropped.is_some() {
                            n.text.push_str(DROPPED);
                        }
                        n.dropped = dropped.map(Rc::from);
                        self.has_backup = backups(self.embed, b);
                        self.notice = Some(n);
                        self.fall_back_to_steps();
                    }
                }
            }
            Msg::ImportScenario(text) => {
                let parsed = scenario::Scenario::from_json(&text)
                    .map_err(|e| format!("That file is not a Packet Walk scenario; nothing was changed.\n{e}"))
                    .and_then(|mut sc| {
                        // A built-in scenario with edited texts stays that
                        // scenario; anything else is saved as "imported".
                        // A cluster's file stays its built-in scenario
                        // whatever its objects became (as edits in the page
                        // keep it), when the generator knows that name.
                        let base = generator::builtin_scenario(&sc.name)
                            .filter(|b| (sc.cluster.is_some() && generator::is_cluster(&sc.name)) || same_shape(b, &sc))
                            .map(|_| sc.name.clone());
                        // A real node's dump in the file is parsed in chunks
                        // once the session is open, as a loaded dump is.
                        let large = take_large_rules(&mut sc);
                        let s = Session::from_file(sc, base).map_err(|e| {
                            format!("The scenario in that file has errors, so it was not opened; nothing was changed.\n{e}")
                        })?;
                        Ok((s, large))
                    })
                    .or_else(|e| match share::from_json(&text) {
                        // A session record (what Export writes when text
                        // has errors; it names its scenario, where any JSON
                        // object reads as an empty record): what keeps it
                        // from opening is told.
                        Ok(saved) if saved.base.is_some() || saved.scenario.is_some() => Session::from_saved(&saved).map(|s| (s, Vec::new())).map_err(|m| {
                            format!("That file holds a Packet Walk session that cannot be opened; nothing was changed.\n{m}")
                        }),
                        _ => Err(e),
                    });
                match parsed {
                    Ok((s, large)) if self.may_replace() => {
                        // The learner's own session of that scenario is kept aside.
                        let base = s.base.clone();
                        // (An embedded page keeps nothing: it never
                        // touches the reader's storage.)
                        let kept = if self.embed {
                            Kept::default()
                        } else {
                            keep_before_replacing(own_session(base.as_deref()).map(|o| o.filter(holds_work)), base.as_deref())
                        };
                        let hold = kept.hold;
                        if !hold && !self.embed {
                            browser::set_marks(base.as_deref(), true, true);
                        }
                        self.replace_session(s);
                        self.hold_save = hold;
                        self.has_imported |= self.session.base.is_none();
                        self.notice = Some(Notice::info("Scenario imported.").with(kept));
                        for (host, rules) in large {
                            if let Some(h) = self.session.host(&host) {
                                self.session.edit(h, Field::Rules, rules);
                                self.chunk_queue.push((h, format!("{host}'s rules in the file")));
                            }
                        }
                        self.next_chunked(ctx);
                        self.schedule_autosave(ctx);
                    }
                    Ok(_) => {}
                    Err(e) => self.notice = Some(Notice::error(e)),
                }
            }
            Msg::ExportScenario => {
                self.apply_pending();
                let saved = self.saved();
                if self.session.has_errors() {
                    // Text that does not apply cannot be a scenario yet: the
                    // file is a session record, which Import reads back.
                    let name = format!(
                        "{}.packetwalk-session.json",
                        self.session.world.scenario.name
                    );
                    browser::download(
                        &name,
                        // Everything a link holds: Import replays the
                        // packets on the texts each met.
                        &share::to_json(&saved),
                    );
                    self.notice = Some(Notice::info(
                        "Some of your text has errors, so the file is a session record with your text as typed: \"Import…\" opens it here (the command line needs a valid scenario).",
                    ));
                } else {
                    let saved = self.saved();
                    let sc = scenario::Scenario {
                        page: Some(scenario::PageView {
                            selected: saved.selected,
                            editor: saved.editor,
                            view: saved.view,
                            form: saved.form,
                        }),
                        ..self.session.to_file()
                    };
                    let name = format!("{}.packetwalk.json", sc.name);
                    browser::download(&name, &sc.to_json());
                }
            }
            // A scenario file or Kubernetes objects dropped on an editor
            // go where they belong.
            Msg::ImportText(_, _, name, text) if text.trim_start().starts_with('{') || is_objects(&text) => {
                ctx.link().send_message(Msg::ImportFile(name, text));
            }
            // Anything else dropped on an editor is refused before it
            // replaces the editor's text.
            Msg::ImportText(_, _, name, text) if !is_listing(&text) => {
                self.notice = Some(Notice::error(format!(
                    "{name} is not an iptables-save or ip route listing; nothing was changed."
                )));
            }
            Msg::ImportFile(name, text) => {
                let json = text.trim_start().starts_with('{');
                let json_objects = json && text.contains("\"apiVersion\"") && !text.contains("\"hosts\"");
                if json && !json_objects {
                    ctx.link().send_message(Msg::ImportScenario(text.to_string()));
                } else if json_objects || is_objects(&text) {
                    let applied = self.session.cluster.as_ref().map(|c| generator::apply(&c.text, &text));
                    let in_use = self.session.cluster.as_ref().map(|c| c.applied.clone());
                    match applied {
                        Some(Ok(a)) if in_use.as_deref() == Some(a.yaml.as_str()) => {
                            self.notice = Some(Notice::info(format!("{name} holds the cluster's objects in use already: nothing changed.")));
                        }
                        Some(Ok(a)) => {
                            self.session.edit_cluster(a.yaml.as_str().into());
                            ctx.link().send_message(Msg::ClusterApply);
                            let what = if a.whole {
                                "is another whole cluster (Nodes and Services): its objects replace the cluster's".to_string()
                            } else {
                                let mut done = Vec::new();
                                if !a.replaced.is_empty() {
                                    done.push(format!("replaced {}", a.replaced.join(", ")));
                                }
                                if !a.added.is_empty() {
                                    done.push(format!("added {}", a.added.join(", ")));
                                }
                                format!("is applied as kubectl apply would: {}", done.join("; "))
                            };
                            self.sync_note = Some(format!("{name} {what}"));
                            self.notice = Some(Notice::info(format!("{name} {what}; the nodes sync to the objects…")));
                        }
                        Some(Err(e)) => {
                            self.notice = Some(Notice::error(format!("{name}, {e}; nothing was changed.")));
                        }
                        None => {
                            self.notice = Some(Notice::error(format!(
                                "{name} holds Kubernetes objects: they need a scenario made from a cluster. Pick one (Calico IPIP, for one), then drop the file again; nothing was changed."
                            )));
                        }
                    }
                } else if is_listing(&text) {
                    ctx.link().send_message(Msg::ImportText(self.editor_host, None, name, text));
                } else {
                    self.notice = Some(Notice::error(format!(
                        "{name} is not a Packet Walk scenario (JSON), Kubernetes objects (YAML), or a node's iptables-save or ip route listing; nothing was changed."
                    )));
                }
            }
            Msg::ImportText(host, field, name, text) => {
                let is_rules = field.unwrap_or_else(|| Field::guess(&text)) == Field::Rules;
                // Text typed and not in use (it has errors) is the
                // learner's work: the file replaces it only when they say so.
                let f = if is_rules { Field::Rules } else { Field::Routes };
                self.apply_pending();
                // (A large dump waiting for its parse has no errors yet.)
                let parsing = self.importing.as_ref().is_some_and(|i| i.host == host) && f == Field::Rules;
                let typed = !parsing && (self.session.drafts.get(host)).is_some_and(|d| d.get(f).text != d.get(f).applied);
                if typed
                    && !browser::confirm(&format!(
                        "The {} editor holds text you typed that is not in use (it has errors). {name} replaces it, and Undo does not bring it back. Go on?",
                        f.as_str()
                    ))
                {
                    self.notice = Some(Notice::info(format!("{name} was not loaded: the text you typed stays.")));
                    return true;
                }
                if is_rules && text.len() > CHUNKED_BYTES {
                    // The file is the editor's text from now on (never lost),
                    // and is parsed in chunks.
                    self.session.edit(host, Field::Rules, text);
                    self.editor_host = host;
                    self.start_chunked(ctx, host, name, false);
                } else {
                    let f = if is_rules {
                        Field::Rules
                    } else {
                        Field::Routes
                    };
                    // `ip rule` output alone: its rules join the routes in
                    // use, in place of the rule lines they had.
                    let joined = (!is_rules)
                        .then(|| self.session.drafts.get(host).map(|d| d.routes.applied.clone()))
                        .flatten()
                        .and_then(|routes| crate::engine::policy::with_rules_of(&routes, &text));
                    let rules_only = joined.is_some();
                    let was = self.last_verdict();
                    self.session.edit(host, f, joined.map_or(text, Rc::from));
                    if self.session.apply(host, f) {
                        let host_name = self.session.world.hosts[host].name();
                        let changed = self.file_changed_verdict(was);
                        self.notice = Some(Notice::info(if rules_only {
                            format!("{name} holds ip rule lines only: they replace the ip rule lines of {host_name}'s routes, whose routes stay.{changed}")
                        } else {
                            format!("{name} is now the {} of {host_name}.{changed}", f.as_str())
                        }));
                    } else {
                        // Another node's routes: they name its devices.
                        let foreign = (self.session.drafts.get(host))
                            .map(|d| d.get(f).errors.iter().filter(|e| e.message.starts_with("Cannot find device")).count())
                            .unwrap_or(0);
                        let hint = if foreign > 1 {
                            " They name devices this host does not have: routes are read against the host's own devices. To follow a packet through a real node's routes and ip rules, the command line replays that node alone, its devices made from its routes (packetwalk trace --routes FILE --rules FILE, in the README)."
                        } else {
                            ""
                        };
                        self.notice = Some(Notice::error(format!(
                            "{name} has errors; they are shown at their lines below.{hint}"
                        )));
                    }
                    self.editor_host = host;
                    self.schedule_autosave(ctx);
                }
            }
            Msg::ImportDone(gen, seq, host, text, result) => {
                let latest =
                    gen == self.gen && self.importing.as_ref().is_some_and(|i| i.seq == seq);
                if !latest {
                    return false;
                }
                let still = self
                    .session
                    .drafts
                    .get(host)
                    .is_some_and(|d| Rc::ptr_eq(&d.rules.text, &text));
                if !still {
                    // The text changed while it was parsed (an undo took
                    // it back, say): its rules are kept for a redo that
                    // brings it back, which then does not parse it again.
                    if let Ok(rules) = result {
                        self.session.keep_spare(text, rules);
                    }
                    self.importing = None;
                    self.next_chunked(ctx);
                    return true;
                }
                browser::record("data-parse-ms", browser::now_ms() - self.import_t0);
                self.timing = Some(("data-import-ms", self.import_t0));
                let (name, from_file) = self
                    .importing
                    .take()
                    .map(|i| (i.name, i.from_file))
                    .unwrap_or_default();
                let host_name = self.session.world.hosts[host].name().to_string();
                let said = match result {
                    Ok(rules) => {
                        let n = rules.rule_count();
                        let set_count = rules.ipsets.sets.len();
                        let t0 = browser::now_ms();
                        let was = self.last_verdict();
                        self.session.install_ruleset(host, text, rules, !from_file);
                        browser::record("data-install-ms", browser::now_ms() - t0);
                        let sets = match set_count {
                            0 => String::new(),
                            1 => " and 1 IP set".into(),
                            k => format!(" and {k} IP sets"),
                        };
                        // (A scenario file's packets are traced once all its
                        // dumps are in.)
                        let changed = if from_file { String::new() } else { self.file_changed_verdict(was) };
                        Notice::info(format!("{name}: {} rules{sets} loaded into {host_name}.{changed}", crate::engine::decimal::grouped(n)))
                    }
                    Err(e) => {
                        self.session.set_errors(host, Field::Rules, text, e);
                        Notice::error(if from_file {
                            format!("{name} have errors: {host_name} runs without rules until they are fixed. The errors are listed with their lines below.")
                        } else {
                            format!("{name} has errors; the rules in use are unchanged. The errors are listed with their lines below.")
                        })
                    }
                };
                // One notice for all of a file's hosts: an error stays in view.
                self.notice = match self.notice.take() {
                    Some(mut n) if from_file && n.text.contains("rules in the file") => {
                        let error = n.error || said.error;
                        n.text = format!("{}\n{}", n.text, said.text);
                        n.error = error;
                        Some(n)
                    }
                    _ => Some(said),
                };
                self.editor_host = host;
                self.next_chunked(ctx);
                // A file's packets met its dumps: traced again once all are in.
                if from_file && self.importing.is_none() {
                    self.session.retrace_all();
                }
                self.schedule_autosave(ctx);
            }
            Msg::CopyLink => match self.applied_link() {
                Ok(frag) => {
                    let url = browser::page_url(&frag);
                    self.opener = "copy-link";
                    self.dialog = Some(Dialog::Link(url, self.exercise_fragment()));
                }
                Err(e) => self.notice = Some(Notice::error(e)),
            },
            Msg::OpenEmbed => match self.applied_link() {
                Ok(frag) => {
                    self.opener = "embed-button";
                    self.dialog = Some(Dialog::Embed(frag, self.exercise_fragment()));
                }
                Err(e) => self.notice = Some(Notice::error(e)),
            },
            Msg::EndExercise(false) => {
                self.asked_end = true;
                // On the safe answer: Enter again does not give the
                // answer away.
                self.refocus = Some("keep-exercise");
            }
            Msg::KeepExercise => {
                self.asked_end = false;
                self.refocus = Some("end-exercise");
            }
            Msg::EndExercise(true) => {
                self.asked_end = false;
                self.filters.exercise = false;
                // The address no longer holds an exercise: a reload shows
                // all steps too.
                self.address_timer = None;
                self.address_behind = false;
                if !self.embed {
                    self.keep_link_in_address();
                }
                // The button goes: the focus goes on to the steps.
                self.fall_back_to_steps();
                self.schedule_autosave(ctx);
            }
            Msg::CloseDialog => {
                self.dialog = None;
                self.refocus = Some(self.opener);
            }
            Msg::Notice(n) => self.notice = Some(n),
            Msg::DismissNotice => {
                self.notice = None;
                // The ✕ that had the focus goes: back to where the learner
                // was when the notice came (the editor), else the steps.
                self.focus_fallback = if browser::focus_lost() {
                    Vec::new()
                } else {
                    self.notice_focus.take().into_iter().chain(["events".to_string()]).collect()
                };
            }
            Msg::Theme => {
                // A choice that matches the system's is no choice: the page
                // follows the system again (and so do embeds).
                let system = browser::prefers_dark();
                let dark = !self.dark.unwrap_or(system);
                self.dark = (dark != system).then_some(dark);
                browser::apply_theme(self.dark);
                browser::save_theme(self.dark);
            }
            Msg::LinkChoice(c) => {
                self.link_choice = c;
                return false;
            }
            Msg::SystemTheme => return self.dark.is_none(),
            Msg::KeepExerciseStep => {
                self.address_timer = None;
                if std::mem::take(&mut self.address_behind) && self.filters.exercise {
                    self.keep_link_in_address();
                }
                return false;
            }
            Msg::Autosave => {
                // (An exercise's step waiting for its pause goes into the
                // address now: the tab may be closing.)
                if self.address_timer.take().is_some() && std::mem::take(&mut self.address_behind) && self.filters.exercise {
                    self.keep_link_in_address();
                }
                // Told once: a real node's dump does not fit in storage.
                match self.flush_autosave() {
                    Err(browser::SaveError::OtherTab) if !self.other_tab => {
                        self.other_tab = true;
                        self.notice = Some(Notice {
                            take_over: true,
                            ..Notice::error(format!(
                                "{} Keep working here and save this tab's work instead (the other tab's is then kept aside), or use \"Export\" or \"Copy link\" to keep it.",
                                browser::OTHER_TAB
                            ))
                        });
                        return true;
                    }
                    // (A tab holding off was told why when it began to.)
                    Err(browser::SaveError::Failed(e)) if !self.told_too_big && !self.hold_save => {
                        self.told_too_big = true;
                        // A reload shows the session saved before it, and
                        // says what was left out.
                        if self.too_big() {
                            browser::note_unsaved(self.session.base.as_deref(), Some(&self.large_texts()));
                        }
                        let n = Notice::error(if e.contains("Export") {
                            e
                        } else {
                            format!("{e} It is not autosaved: use \"Export\" to keep it in a file.")
                        });
                        self.unsaved_notice = Some(n.text.clone());
                        self.notice = Some(n);
                        return true;
                    }
                    // Saved again (the large text is gone): the warning
                    // that it was not goes too, and is given again if it
                    // grows back.
                    Ok(()) if self.told_too_big => {
                        self.told_too_big = false;
                        browser::note_unsaved(self.session.base.as_deref(), None);
                        let told = self.unsaved_notice.take();
                        if self.notice.as_ref().is_some_and(|n| Some(&n.text) == told.as_ref()) {
                            self.notice = Some(Notice::info("The session fits in the browser's storage again: it is autosaved."));
                        }
                        return true;
                    }
                    _ => return false,
                }
            }
            Msg::GeneratorLoaded(r) => {
                let waiting = self.waiting.take().unwrap_or_default();
                match &r {
                    Err(e) => self.notice = Some(Notice::error(format!("{e}. Doing the same again makes a new attempt."))),
                    // Any other notice came from something done meanwhile.
                    Ok(()) if self.notice.as_ref().is_some_and(|n| n.text == LOADING_GENERATOR) => self.notice = None,
                    Ok(()) => {}
                }
                for m in waiting {
                    // After a failure, what needed the generator is dropped
                    // (the notice says why); the rest is handled.
                    if r.is_ok() || !self.needs_generator(&m) {
                        ctx.link().send_message(m);
                    }
                }
            }
            Msg::PopState => {
                if browser::fragment().is_none() {
                    self.back_from_link();
                }
                return false;
            }
            Msg::Fragment => {
                let Some(frag) = browser::fragment() else {
                    self.back_from_link();
                    return false;
                };
                if self.embed {
                    // The embed's own address changed: show what it holds.
                    match embedded_link(&frag) {
                        Ok(s) => self.replace_session(s),
                        Err(e) => {
                            self.notice = Some(Notice::error(format!(
                                "This embedded view could not be opened; the scenario shown is unchanged. {e}"
                            )))
                        }
                    }
                    return true;
                }
                if !self.may_replace() {
                    browser::clear_fragment();
                    return false;
                }
                match open_link(&frag) {
                    Ok((s, notice)) => {
                        // open_link marked it as from outside: replace_session
                        // takes that mark. The address keeps the link, as
                        // when the page opens with it.
                        self.replace_session(s);
                        self.hold_save = notice.as_ref().is_some_and(|n| n.hold_save);
                        browser::set_fragment(&frag);
                        // (A word about the learner's own session kept
                        // aside stays in sight.)
                        if !notice.as_ref().is_some_and(|n| n.offers()) {
                            self.follow = Some(browser::Follow::Reveal);
                        }
                        self.notice = notice;
                    }
                    Err(e) => {
                        browser::clear_fragment();
                        self.notice = Some(Notice::error(format!(
                            "This link could not be opened; the scenario shown is unchanged. {e}"
                        )))
                    }
                }
            }
        }
        true
    }

    /// The address, which holds the link the page opened, holds this view
    /// now (an exercise's link is small: encoding it is cheap).
    fn keep_link_in_address(&self) {
        if browser::fragment().is_some() {
            if let Ok(f) = self.link_fragment() {
                browser::set_fragment(&f);
            }
        }
    }

    /// Back from a link to the page without one: the page shows what that
    /// address holds (the learner's own session), while the link's session
    /// is as it came (else it is the learner's now, autosaved, and stays).
    fn back_from_link(&self) {
        if !self.embed && self.foreign.is_some_and(|m| m == self.mark()) {
            browser::reload();
        }
    }

    /// The link's fragment as an exercise, for a question: the selected
    /// packet's first step, its steps and outcome shown as the reader
    /// reaches them, and the teacher's question above them.
    fn exercise_fragment(&self) -> Option<ExerciseLink> {
        let exercise = Filters { exercise: true, ..self.filters };
        let view = exercise.view_code(self.views.0 == EditorView::Table, self.views.1 == EditorView::Table);
        self.selected()?;
        let saved = self.saved();
        let t = saved.selected?.0;
        // Every packet of the link is the exercise's (those after the
        // selected one would give its answer away), none the reader sends.
        let last = saved.sends.len().checked_sub(1);
        let saved = Saved { selected: Some((t, 0)), view, exercise_packet: last, ..saved };
        share::encode_link(&saved).ok()?;
        Some(Callback::from(move |question: String| {
            let question: String = question.trim().chars().take(MAX_QUESTION).collect();
            let task = (!question.is_empty()).then_some(question);
            share::encode_link(&Saved { task, ..saved.clone() }).ok()
        }))
    }

    /// The header: title, scenario picker and the session's actions.
    fn toolbar(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let s = &self.session;
        let base = s.base.clone().unwrap_or_default();
        // Arrow keys browse the list without opening each scenario (a
        // change of context on input, WCAG 3.2.2): the one chosen opens
        // on Enter; leaving the list takes the choice back. A mouse's
        // choice opens at once.
        let onpick = link.batch_callback(|e: Event| {
            let select = e.target_unchecked_into::<web_sys::HtmlSelectElement>();
            (!select.has_attribute("data-keyed")).then(|| Msg::Scenario(select.value()))
        });
        let shown = s.base.clone().unwrap_or_else(|| IMPORTED.to_string());
        let onpick_key = link.batch_callback(move |e: KeyboardEvent| {
            let select = e.target_unchecked_into::<web_sys::HtmlSelectElement>();
            match e.key().as_str() {
                "Enter" if select.has_attribute("data-keyed") => {
                    let _ = select.remove_attribute("data-keyed");
                    e.prevent_default();
                    // (The scenario shown, chosen again, is left as it is.)
                    (select.value() != shown).then(|| Msg::Scenario(select.value()))
                }
                "ArrowUp" | "ArrowDown" | "Home" | "End" | "PageUp" | "PageDown" => {
                    let _ = select.set_attribute("data-keyed", "");
                    None
                }
                k if k.chars().count() == 1 => {
                    let _ = select.set_attribute("data-keyed", "");
                    None
                }
                _ => None,
            }
        });
        let shown_base = s.base.clone().unwrap_or_else(|| IMPORTED.to_string());
        let onpick_leave = Callback::from(move |e: FocusEvent| {
            let select = e.target_unchecked_into::<web_sys::HtmlSelectElement>();
            if select.has_attribute("data-keyed") {
                let _ = select.remove_attribute("data-keyed");
                select.set_value(&shown_base);
            }
        });
        let onimport = {
            let link = link.clone();
            Callback::from(move |e: Event| {
                let input: web_sys::HtmlInputElement = e.target_unchecked_into();
                if let Some(file) = input.files().and_then(|f| f.get(0)) {
                    let link = link.clone();
                    browser::read_file(file, move |r| match r {
                        Ok((name, text)) => link.send_message(Msg::ImportFile(name, text)),
                        Err(e) => link.send_message(Msg::Notice(Notice::error(e))),
                    });
                }
                input.set_value("");
            })
        };
        let dark = self.dark.unwrap_or_else(browser::prefers_dark);
        html! {
            <header class="page-header">
                <div class="brand">
                    <h1>{ "Packet Walk" }</h1>
                    <p class="tagline">{ "One packet through a Kubernetes node: kube-proxy's iptables chains, conntrack and the CNI's routes." }</p>
                </div>
                <div class="toolbar" role="toolbar" aria-label="Scenario and session">
                    <label class="picker">
                        <span>{ "Scenario" }</span>
                        <select id="scenario-picker" onchange={onpick} onkeydown={onpick_key} onblur={onpick_leave}
                            onpointerdown={Callback::from(|e: PointerEvent| {
                                // A pick by the pointer opens at once, keys before it or not.
                                let _ = e.target_unchecked_into::<web_sys::Element>().remove_attribute("data-keyed");
                            })} aria-describedby="scenario-picker-keys" title={s.world.scenario.title.clone()}>
                            { for scenario::BUILTIN.iter().map(|name| {
                                let title = scenario::builtin_title(name).unwrap_or_default();
                                html! { <option key={*name} value={*name} selected={base == *name}>{ title }</option> }
                            }) }
                            if s.base.is_none() {
                                <option value={IMPORTED} selected=true>{ format!("{} (imported)", s.world.scenario.title) }</option>
                            } else if self.has_imported {
                                <option value={IMPORTED}>{ "The scenario you imported last" }</option>
                            }
                        </select>
                        <span id="scenario-picker-keys" class="visually-hidden">{ "Arrow keys choose a scenario, Enter opens it." }</span>
                    </label>
                    <div class="button-group">
                        <button id="undo" disabled={!s.can_undo() || self.syncing} onclick={link.callback(|_| Msg::Undo)} title="Undo the last applied edit (Ctrl+Z)">{ "↶ Undo" }</button>
                        <button id="redo" disabled={!s.can_redo() || self.syncing} onclick={link.callback(|_| Msg::Redo)} title="Redo (Ctrl+Y)">{ "↷ Redo" }</button>
                        <button id="reset" onclick={link.callback(|_| Msg::Reset)} title="Back to the built-in scenario: your edits are discarded">{ "Reset" }</button>
                        if self.has_backup.iter().any(|(slot, _)| *slot == browser::Slot::Own) {
                            <button id="restore-own-toolbar" onclick={link.callback(|_| Msg::Restore(browser::Slot::Own))} title="Your own session of this scenario, kept aside when a link or an import replaced it">{ "My session" }</button>
                        }
                        if self.has_backup.iter().any(|(slot, _)| *slot != browser::Slot::Own) {
                            <details class="kept-menu" onkeydown={Callback::from(|e: KeyboardEvent| {
                                // Escape closes the list, back on its button.
                                // (Yew delegates events: the menu is found from
                                // the event's target.)
                                if e.key() == "Escape" {
                                    if let Some(d) = e.target_dyn_into::<web_sys::Element>().and_then(|t| t.closest("details.kept-menu").ok().flatten()) {
                                        if d.has_attribute("open") {
                                            e.prevent_default();
                                            close_menu(&d);
                                        }
                                    }
                                }
                            })} onfocusout={Callback::from(|e: FocusEvent| {
                                // Tabbing past the list closes it.
                                let Some(d) = e.target_dyn_into::<web_sys::Element>().and_then(|t| t.closest("details.kept-menu").ok().flatten()) else { return };
                                let to = e.related_target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
                                if to.as_ref().is_some_and(|n| !d.contains(Some(n))) {
                                    let _ = d.remove_attribute("open");
                                }
                            })}>
                                <summary class="button" title="The sessions of this scenario kept aside when a link, a file or a session brought back replaced them">{ format!("Kept ({})", self.has_backup.len()) }</summary>
                                <ul class="kept-list" aria-label="Sessions kept aside">
                                    { for self.has_backup.iter().map(|(slot, what)| {
                                        let slot = *slot;
                                        let id = match slot {
                                            browser::Slot::Own => "kept-own".to_string(),
                                            browser::Slot::Earlier(k) => format!("kept-{k}"),
                                        };
                                        let said = format!("{id}-what");
                                        html! {
                                            <li>
                                                <span id={said.clone()}>{ what.clone() }</span>
                                                <button id={id} aria-describedby={said} onclick={link.callback(move |e: MouseEvent| {
                                                    // The list closes behind its choice, the
                                                    // focus back on its button (not lost).
                                                    if let Some(d) = e.target_dyn_into::<web_sys::Element>().and_then(|t| t.closest("details").ok().flatten()) {
                                                        close_menu(&d);
                                                    }
                                                    Msg::Restore(slot)
                                                })}>{ "Bring back" }</button>
                                            </li>
                                        }
                                    }) }
                                </ul>
                            </details>
                        }
                    </div>
                    <div class="button-group">
                        <label class="button file-button" title="Open a scenario exported as JSON, or apply Kubernetes objects (YAML, or kubectl JSON) to a cluster scenario">
                            { "Import…" }
                            <input type="file" accept=".json,.yaml,.yml,application/json,application/yaml" class="visually-hidden" aria-label="Import a scenario JSON file, or Kubernetes objects" onchange={onimport} />
                        </label>
                        <button id="export" onclick={link.callback(|_| Msg::ExportScenario)} title="Save the scenario with your edits as a JSON file">{ "Export" }</button>
                        <button id="copy-link" onclick={link.callback(|_| Msg::CopyLink)} title="A link that opens this exact view">{ "Copy link" }</button>
                        <button id="embed-button" onclick={link.callback(|_| Msg::OpenEmbed)} title="An iframe snippet for a blog post or a course page">{ "Embed" }</button>
                    </div>
                    <button id="theme" class="icon-button" aria-pressed={dark.to_string()} onclick={link.callback(|_| Msg::Theme)} aria-label="Dark theme" title={if dark { "Light colours" } else { "Dark colours" }}>
                        <span aria-hidden="true">{ if dark { "☀" } else { "☾" } }</span>
                    </button>
                </div>
            </header>
        }
    }

    /// The scenario without its texts, for the topology picture; made
    /// again only when the hosts change (a new scenario, a new client).
    fn topology_scenario(&self) -> Rc<scenario::Scenario> {
        let sc = &self.session.world.scenario;
        // A cluster sync may change devices and not the host count (a new
        // network mode): the world's generation is part of the key.
        let key = (self.gen, self.session.world_gen(), self.session.world.hosts.len());
        let mut cache = self.topo.borrow_mut();
        if let Some((k, v)) = &*cache {
            if *k == key {
                return v.clone();
            }
        }
        let mut light = sc.clone_without_hosts();
        light.hosts = self
            .session
            .world
            .hosts
            .iter()
            .map(|h| h.spec.clone_without_texts())
            .collect();
        let v = Rc::new(light);
        *cache = Some((key, v.clone()));
        v
    }

    /// Why rule `rule` (from 1) of the selected collapsed run did not
    /// match, for the packet as it entered the step.
    fn explain_rule(&self, rule: usize) -> Result<Option<(String, String)>, String> {
        let (Some(t), Some((_, step))) = (self.session.trace(), self.selected()) else {
            return Err("no step is selected".into());
        };
        let st = t.steps.get(step).ok_or("no such step")?;
        let crate::engine::trace::StepKind::RulesSkipped { table, chain, .. } = &st.kind else {
            return Err("the selected step is not a run of skipped rules".into());
        };
        let pkt = &t.steps[step.saturating_sub(1)].packet;
        crate::engine::sim::explain_rule(&self.session.world, &st.ns, *table, chain, rule, pkt)
    }

}

/// What a key press asks of the page, if anything (then it is the page's,
/// and does not scroll it). Arrows step, Home/End, Space plays; Ctrl+Z/Y
/// undo and redo outside text fields (inside them the browser's own undo
/// works).
fn key_msg(k: &web_sys::KeyboardEvent) -> Option<Msg> {
    if browser::dialog_open() {
        // The dialog has the keyboard; Escape closes it.
        return (k.key() == "Escape").then_some(Msg::CloseDialog);
    }
    if browser::typing_in_field(k) {
        return None;
    }
    // Escape dismisses the notice floating over the window's foot.
    if k.key() == "Escape" && browser::exists(".notice") {
        return Some(Msg::DismissNotice);
    }
    // Stepping keys are the page's only on the page itself or the step
    // list, and only with a trace to step through: elsewhere Space presses
    // buttons and arrows scroll the list or box that has the focus.
    let stepping = !(k.ctrl_key() || k.meta_key());
    if stepping && !browser::exists("#step-forward") {
        return None;
    }
    // Space plays only from the page or the step list (elsewhere it ticks
    // or presses); N, a character key (WCAG 2.1.4), acts from there and
    // from the steps' controls only.
    if k.key() == " " && !browser::on_page_or_steps(k, false) {
        return None;
    }
    if matches!(k.key().as_str(), "n" | "N") && !browser::on_page_or_steps(k, true) {
        return None;
    }
    if stepping && browser::in_scroller(k) {
        return None;
    }
    Some(match (k.key().as_str(), k.ctrl_key() || k.meta_key()) {
        ("ArrowRight" | "ArrowDown", false) => Msg::Step(Move::Forward),
        ("ArrowLeft" | "ArrowUp", false) => Msg::Step(Move::Back),
        ("Home", false) => Msg::Step(Move::First),
        ("End", false) => Msg::Step(Move::Last),
        ("n" | "N", false) => Msg::NextChange,
        (" ", false) => Msg::TogglePlay,
        ("z", true) => Msg::Undo,
        ("y", true) | ("Z", true) => Msg::Redo,
        _ => return None,
    })
}

/// Whether a host's rules test the sending program (`-m owner`), looked
/// up once per ruleset (rulesets in use do not change: an edit makes a
/// new one), not at each render: a 10k-Service dump has 111k rules.
fn tests_owner(rules: &Rc<Ruleset>) -> bool {
    thread_local! {
        static SEEN: std::cell::RefCell<Vec<(Rc<Ruleset>, bool)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some((_, b)) = seen.iter().find(|(r, _)| Rc::ptr_eq(r, rules)) {
            return *b;
        }
        let b = rules.has_match(|m| matches!(m, crate::engine::iptables::MatchKind::Owner(_)));
        seen.insert(0, (rules.clone(), b));
        seen.truncate(8);
        b
    })
}

/// Everything a packet can be sent from or to, for the send form.
fn targets(s: &Session) -> Vec<Target> {
    let mut out = Vec::new();
    for h in &s.world.hosts {
        let addr = h
            .devs
            .iter()
            .flat_map(|d| &d.spec.addrs)
            .map(|a| a.addr())
            .find(|a| !a.is_loopback());
        out.push(Target::Host {
            name: h.name().to_string(),
            kind: h.spec.kind,
            addr,
            ports: h.spec.listeners.iter().map(|l| (l.proto, l.port)).collect(),
            rules: h.rules.is_some(),
            owner: h.rules.as_ref().is_some_and(tests_owner),
        });
    }
    for svc in &s.world.scenario.services {
        for p in &svc.ports {
            out.push(Target::Service {
                name: format!("{}/{}", svc.namespace, svc.name),
                port_name: p.name.clone(),
                cluster_ip: svc.cluster_ip,
                port: p.port,
                proto: p.protocol,
                node_port: p.node_port,
                ingress: (s.world.scenario.announces.iter())
                    .filter(|a| a.service.as_deref() == Some(&format!("{}/{}", svc.namespace, svc.name)))
                    .map(|a| a.addr)
                    .collect(),
            });
        }
    }
    out
}

/// What the scenario shows, under the toolbar: its description and, for
/// one made from Kubernetes objects, the story its YAML starts with (the
/// leading `#` lines), so a learner knows what to try.
fn about(s: &Session, open: bool) -> Html {
    // Paragraphs of the comment the YAML opens with (a `#` line alone
    // between them; blank lines and a first `---` before it).
    let mut story: Vec<String> = Vec::new();
    if let Some(c) = &s.cluster {
        let mut para = String::new();
        let lines = c.applied.lines().map(str::trim);
        for l in lines.skip_while(|l| l.is_empty() || *l == "---") {
            let Some(text) = l.strip_prefix('#').map(str::trim) else {
                break;
            };
            // Markdown-ish code quotes read as prose here.
            let text = &text.replace('`', "");
            if text.is_empty() {
                story.extend((!para.is_empty()).then(|| std::mem::take(&mut para)));
            } else {
                para = if para.is_empty() { text.to_string() } else { format!("{para} {text}") };
            }
        }
        story.extend((!para.is_empty()).then_some(para));
    }
    // In a landmark of its own, like every part of the page.
    html! {
        <aside aria-label="About this scenario">
        <details class="about" {open}>
            // Its title too: the menu above may be too narrow to show it.
            <summary>{ "About this scenario: " }<span class="about-title">{ s.world.scenario.title.clone() }</span></summary>
            <p>{ s.world.scenario.description.clone() }</p>
            { for story.into_iter().map(|p| html! { <p>{ p }</p> }) }
            if s.can_undo() {
                <p class="muted">{ "This tells the scenario as it was opened: the edits made since (Undo takes them back) may have changed what it says." }</p>
            }
        </details>
        </aside>
    }
}

/// What the send form shows when nothing was typed in it: the last packet
/// a program sent (not the kernel's answer to one), else the scenario's
/// first, with an ephemeral source port (an Again's or a Reply's port is
/// its connection's, not one to send every new packet from).
fn form_of_last(s: &Session) -> Option<SendSpec> {
    (s.sends.iter().rev())
        .find(|x| !x.spec.kernel && !x.spec.is_icmp_error())
        .map(|x| SendSpec { src_port: None, ..x.spec.clone() })
        .or_else(|| s.world.scenario.preset.as_ref().map(|p| p.to_spec()))
}

/// `spec` with its source named as the send form names it: a LAN client
/// named by its host name (a preset's `client`) is `client:IP`, as the
/// form sends it, so one machine has one name in the history.
fn as_in_form(spec: &SendSpec, targets: &[Target]) -> SendSpec {
    let mut spec = spec.clone();
    let named = targets.iter().find_map(|t| match t {
        Target::Host { name, kind, addr, .. } if *name == spec.from => {
            Some(send_form::host_value(name, *kind, *addr))
        }
        _ => None,
    });
    if let Some(from) = named {
        spec.from = from;
    }
    spec
}

/// The class and icon of how a walk ended.
fn verdict_style(t: &crate::engine::Trace) -> (&'static str, &'static str) {
    use crate::engine::trace::Verdict;
    match t.verdict {
        Verdict::Delivered { .. } => ("verdict-delivered", "✓"),
        Verdict::Dropped { .. } => ("verdict-dropped", "✕"),
        Verdict::Left { .. } => ("verdict-left", "→"),
    }
}

/// How this packet ends, beside the step buttons, so the verdict is in
/// view while stepping; with the next thing to do: see the end, or answer.
/// Its number (as "Packets sent" lists it) tells a packet just sent from
/// the one before it.
fn outcome(
    t: &crate::engine::Trace,
    step: usize,
    number: usize,
    onlast: Option<Callback<MouseEvent>>,
    onreply: Option<Callback<MouseEvent>>,
    next_hop: Option<(u8, Callback<MouseEvent>)>,
) -> Html {
    let (headline, _) = model::verdict_words(t);
    let (class, icon) = verdict_style(t);
    let n = t.steps.len();
    html! {
        <p id="outcome" class={classes!("outcome", class)}>
            <span><span aria-hidden="true">{ icon }</span>{ format!(" Packet #{number}: {} after {n} steps", lower_first(headline)) }{
                match model::error_told(t) {
                    Some(told) => format!(" — {told}."),
                    None => ".".to_string(),
                }
            }</span>
            if step + 1 < n {
                if let Some(cb) = onlast { <button class="link-button" onclick={cb}>{ "Go to the last step" }</button> }
            } else if let Some(cb) = onreply {
                <button class="link-button" id="outcome-reply" onclick={cb}>{
                    if matches!(t.verdict, crate::engine::trace::Verdict::Dropped { .. }) { "Follow the answer" } else { "Reply" }
                }<span aria-hidden="true">{ " ↩" }</span></button>
            }
            // A traceroute by hand: the same packet with one more hop.
            if let Some((ttl, cb)) = next_hop {
                <button class="link-button" id="outcome-next-hop" onclick={cb}>{ format!("Send with TTL {ttl}") }<span aria-hidden="true">{ " ▶" }</span></button>
            }
        </p>
    }
}

/// The packet whose TTL ran out, sent again with one more: the next hop
/// of a traceroute.
fn next_hop(t: &crate::engine::Trace, spec: Option<&SendSpec>) -> Option<SendSpec> {
    use crate::engine::trace::{DropReason, Verdict};
    let Verdict::Dropped {
        reason: DropReason::TtlExceeded,
        ..
    } = t.verdict
    else {
        return None;
    };
    let mut next = spec?.clone();
    let ttl = next.ttl.unwrap_or(64).checked_add(1)?;
    next.ttl = (ttl != 64).then_some(ttl);
    next.src_port = None;
    // A second after the last packet, not after the wait before it.
    next.after = None;
    Some(next)
}

/// `Out of TTL` → `out of TTL`: a headline inside a sentence. (ASCII:
/// `char::to_lowercase` would bring Unicode's case tables, 6 kB of wasm.)
fn lower_first(s: &str) -> String {
    let mut out = s.to_string();
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_lowercase();
    }
    out
}

/// A verdict in a few words, for a notice: where, and a drop's reason
/// without its explanation.
fn short_verdict(v: &crate::engine::trace::Verdict) -> String {
    use crate::engine::trace::Verdict;
    match v {
        Verdict::Delivered { ns, .. } => format!("delivered in {ns}"),
        Verdict::Dropped { ns, reason } => {
            let why = reason.describe();
            let short = why.split([':', '(']).next().unwrap_or(why).trim_end();
            format!("dropped in {ns} ({short})")
        }
        Verdict::Left { ns, .. } => format!("sent out of the scenario from {ns}"),
    }
}

/// Under the verdict, the texts being typed that do not apply: the
/// packet ran on their last valid version.
fn unapplied_line(texts: &[String]) -> Html {
    if texts.is_empty() {
        return html! {};
    }
    let (first, more) = texts.split_at(1);
    let which = match more.len() {
        0 => first[0].clone(),
        n => format!("{} and {}", first[0], model::plural(n, "other text")),
    };
    let at = if more.is_empty() { "its editor" } else { "their editors" };
    html! {
        <p class="hint unapplied-line" id="unapplied">
            <span aria-hidden="true">{ "⚠ " }</span>
            { format!("Errors in {which}: this packet ran on the last valid text. The errors show at {at}.") }
        </p>
    }
}

fn verdict_line(t: &crate::engine::Trace) -> Html {
    let (headline, sentence) = model::verdict_words(t);
    let (class, icon) = verdict_style(t);
    html! {
        <p id="verdict" class={classes!("verdict-line", class)} role="status">
            <strong><span aria-hidden="true">{ icon }</span>{ format!(" {headline}. ") }</strong>
            { sentence }
        </p>
    }
}

/// The errors of an iptables command as the command line shows them: the
/// command's own (line 1) as they are, the rules' after it by the
/// listing's line (a loop it would close, say).
fn command_error(e: &crate::engine::Errors) -> String {
    let one = |x: &crate::engine::error::ParseError| {
        let expected = x.expected.as_ref().map(|e| format!(" (expected {e})")).unwrap_or_default();
        match x.line {
            0 => format!("{}{expected}", x.message),
            // The command's own words are named in the message; a column
            // would count in iptables' canonical form, not the typed line.
            1 => format!("{}{expected}", x.message),
            n => format!("listing line {n}: {}{expected}", x.message),
        }
    };
    e.0.iter().map(one).collect::<Vec<_>>().join("\n")
}

/// The step filters and editor tabs of a view code ([`Filters::view_code`]).
fn saved_view(code: &str) -> (Filters, (EditorView, EditorView)) {
    let (f, chains, route_n) = Filters::from_view_code(code);
    let tab = |on: bool| if on { EditorView::Table } else { EditorView::Text };
    (f, (tab(chains), tab(route_n)))
}
