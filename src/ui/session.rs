//! The learner's session, independent of the browser: the scenario being
//! edited, the text of every editor as typed (valid or not), the packets
//! sent with their traces, the selected step, and undo/redo.
//!
//! The rule the page lives by: **the learner's text is never thrown away.**
//! An edit is stored as typed ([`Session::edit`]); applying it
//! ([`Session::apply`]) either replaces the host's rules or routes in the
//! [`World`] and traces the last packet again, or leaves the world as it
//! was and records the errors, located in the text, for the editor to show.

use crate::engine::cni::{NodeDiff, RuleOrigin};
use crate::engine::error::{Errors, ParseError};
use crate::engine::generator::{Built, ClusterView, NodeSync};
use crate::engine::iptables::Ruleset;
use crate::engine::route::RouteTable;
use crate::engine::scenario::{self, Scenario, Text};
use crate::engine::sim::{reply_spec, Force};
use crate::engine::trace::{StepKind, Trace};
use crate::engine::{send, SendSpec, SimState, World};
use crate::ui::generator;
use crate::ui::share::{self, Era, HostEdit, Saved, UndoStep};
use std::rc::Rc;

/// Which text of a host an editor holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `iptables-save` text.
    Rules,
    /// `ip route` text.
    Routes,
}

impl Field {
    /// What a pasted or dropped file holds: `iptables-save` output (lines
    /// `*table`, `:CHAIN`, `-A`) or routes (`ip route`, `route -n`).
    pub fn guess(text: &str) -> Field {
        if crate::engine::text::looks_like_rules(text) {
            Field::Rules
        } else {
            Field::Routes
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Rules => "rules",
            Field::Routes => "routes",
        }
    }
}

/// A text the session hands to the views, compared as a property by its
/// allocation first: `Rc<str>`'s `==` compares every byte, even of an
/// allocation with itself (a node's 12 MB dump, several times a render).
#[derive(Clone, Debug, Default)]
pub struct SharedText(pub Rc<str>);

impl PartialEq for SharedText {
    fn eq(&self, other: &Self) -> bool {
        same_text(&self.0, &other.0)
    }
}

impl std::ops::Deref for SharedText {
    type Target = Rc<str>;
    fn deref(&self) -> &Rc<str> {
        &self.0
    }
}

/// An editor's text as typed, and what is wrong with it.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub text: Rc<str>,
    /// The text the world runs (the last one that applied).
    pub applied: Rc<str>,
    /// Errors of `text`; empty when it applied.
    pub errors: Rc<Vec<ParseError>>,
}

/// (By [`same_text`]: see [`SharedText`].)
impl PartialEq for Draft {
    fn eq(&self, other: &Self) -> bool {
        same_text(&self.text, &other.text)
            && same_text(&self.applied, &other.applied)
            && self.errors == other.errors
    }
}

impl Draft {
    fn new(text: impl Into<Rc<str>>) -> Draft {
        let text: Rc<str> = text.into();
        Draft {
            applied: text.clone(),
            text,
            errors: Rc::default(),
        }
    }

    /// Whether the text as typed differs from what the world runs.
    pub fn pending(&self) -> bool {
        !Rc::ptr_eq(&self.text, &self.applied) && self.text != self.applied
    }

    /// Where line `line` of the text in use is in the text as typed: the
    /// same line before the typed text starts to differ, shifted by the
    /// lines added or taken after the place where it differs again; none
    /// for a line in between (edited), or in texts over 256 KB (compared
    /// on every step otherwise).
    pub fn line_in_text(&self, line: usize) -> Option<usize> {
        if !self.pending() {
            return Some(line);
        }
        if self.text.len().max(self.applied.len()) > 256 * 1024 || line == 0 {
            return None;
        }
        let (old, new): (Vec<&str>, Vec<&str>) =
            (self.applied.lines().collect(), self.text.lines().collect());
        let same_start = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
        let room = old.len().min(new.len()) - same_start;
        let same_end = (old.iter().rev().zip(new.iter().rev()))
            .take(room)
            .take_while(|(a, b)| a == b)
            .count();
        if line <= same_start {
            Some(line)
        } else if line > old.len() - same_end && line <= old.len() {
            Some(line + new.len() - old.len())
        } else {
            None
        }
    }
}

/// The two editors of one host.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Drafts {
    pub rules: Draft,
    pub routes: Draft,
}

impl Drafts {
    pub fn get(&self, f: Field) -> &Draft {
        match f {
            Field::Rules => &self.rules,
            Field::Routes => &self.routes,
        }
    }
    fn get_mut(&mut self, f: Field) -> &mut Draft {
        match f {
            Field::Rules => &mut self.rules,
            Field::Routes => &mut self.routes,
        }
    }
}

/// One packet sent: what was asked, its trace (or why there is none), and
/// what it met, so it can be traced again exactly: the simulator's state
/// after the packet before it, whether conntrack was flushed in between,
/// and the texts every host ran then.
#[derive(Clone, Debug)]
pub struct Sent {
    pub spec: SendSpec,
    pub trace: Result<Rc<Trace>, String>,
    /// The trace before the last cluster change, when that change gave
    /// the packet another verdict (a sync sends every packet again; the
    /// history says what it was).
    pub before_sync: Option<Result<Rc<Trace>, String>>,
    before: SimState,
    /// `conntrack -F` came between the packet before and this one.
    flush: bool,
    ran_on: Config,
    /// The kernel's answer (Reply on a refused packet): the number of the
    /// packet it answers, so a cluster change can make it anew from that
    /// packet's new trace. (Not kept in links and files.)
    answers: Option<usize>,
}

/// A packet the history no longer lists: what sending it again takes.
#[derive(Clone, Debug)]
struct Earlier {
    spec: SendSpec,
    flush: bool,
    ran_on: Config,
}

impl Earlier {
    fn of(s: &Sent) -> Earlier {
        Earlier {
            spec: s.spec.clone(),
            flush: s.flush,
            ran_on: s.ran_on.clone(),
        }
    }
}

/// What one host runs: its rules and routes as compiled, and the texts
/// they came from.
#[derive(Clone, Debug)]
struct HostRun {
    rules: Option<Rc<Ruleset>>,
    routes: RouteTable,
    rules_text: Rc<str>,
    routes_text: Rc<str>,
}

/// What every host ran when a packet was sent (in the order of
/// `world.hosts`). Packets sent between two changes share one.
type Config = Rc<Vec<HostRun>>;

fn same_text(a: &Rc<str>, b: &Rc<str>) -> bool {
    Rc::ptr_eq(a, b) || a == b
}

/// One applied change, for undo and redo.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    host: usize,
    field: Field,
    before: Rc<str>,
    after: Rc<str>,
    /// A cluster change: each host's rules and routes in use before it
    /// (by name), which its undo puts back after the sync (a sync
    /// replaces kube-proxy's chains, with any rule the learner added).
    hosts_before: Option<Rc<HostTexts>>,
}

/// Hosts' texts in use, by name: (host, rules, routes).
type HostTexts = Vec<(String, Rc<str>, Rc<str>)>;

/// The `host` of an undo entry for the cluster's YAML (not a host's text).
pub const CLUSTER: usize = usize::MAX;

/// The Kubernetes objects a scenario is made from, as typed, and what the
/// last sync made of them.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ClusterDraft {
    /// The YAML as typed.
    pub text: Rc<str>,
    /// The YAML the world was last generated from.
    pub applied: Rc<str>,
    /// The built-in scenario's YAML, when the session started from one
    /// (a save records the YAML only when it differs).
    pub base: Option<Rc<str>>,
    /// Why `text` does not apply (located in it).
    pub errors: Rc<Vec<ParseError>>,
    /// What the last sync changed on each node.
    pub diffs: Rc<Vec<NodeDiff>>,
    /// The form's view of `applied`, and what kube-proxy's sync made on
    /// each node, named for the page.
    pub view: Rc<ClusterView>,
}

impl ClusterDraft {
    /// A draft of `yaml` as applied, `view` being what its objects make.
    pub fn applied(yaml: &str, view: ClusterView) -> ClusterDraft {
        ClusterDraft {
            text: yaml.into(),
            applied: yaml.into(),
            view: Rc::new(view),
            ..ClusterDraft::default()
        }
    }

    /// The draft of a built-in cluster scenario, as it starts.
    pub fn builtin(b: &Built) -> ClusterDraft {
        ClusterDraft {
            base: Some(b.yaml.as_str().into()),
            ..ClusterDraft::applied(&b.yaml, b.view.clone())
        }
    }

    /// The sync on `node`.
    pub fn node(&self, node: &str) -> Option<&NodeSync> {
        self.view.nodes.iter().find(|n| n.node == node)
    }

    /// The object a rule on `node` was written for, and its line in the
    /// YAML (`rule` as `iptables-save` prints it).
    pub fn rule_origin(&self, node: &str, rule: &str) -> Option<&RuleOrigin> {
        self.node(node)?.origins.iter().find(|o| o.rule == rule)
    }

    pub fn pending(&self) -> bool {
        self.text != self.applied
    }

    /// What chain `chain` on `node` stands for (`ms-test/flask-ui:http →
    /// 172.16.3.70:80`).
    pub fn chain_name(&self, node: &str, chain: &str) -> Option<&str> {
        self.node(node)?
            .names
            .iter()
            .find(|(c, _)| c == chain)
            .map(|(_, w)| w.as_str())
    }
}

/// Cluster YAML longer than this (about 250 Services) makes a session
/// [`Session::large`]: 400 Services synced on the page held the page's
/// thread for 190-280 ms (measured on a slow machine).
pub const LARGE_YAML_BYTES: usize = 32 * 1024;

/// Rules texts longer than this make a session [`Session::large`].
pub const LARGE_BYTES: usize = 256 * 1024;

/// How many parsed large rules a session keeps aside for undo and redo
/// (two nodes' dumps that one cluster sync rewrote, or a dump and the
/// rules an `iptables` command made of it).
const SPARE_RULES: usize = 2;

/// The history lists (and keeps the traces of) the last this many packets.
pub const MAX_SENDS: usize = 500;

/// A link, an autosave or a file replays at most this many packets (the
/// ones no longer listed included: their conntrack entries, counters and
/// random draws are what the listed ones met). Beyond it the first ones
/// are forgotten (said in the history): replaying thousands of
/// connections, with a copy of the state kept for each listed packet,
/// would take the tab's memory.
pub const MAX_REPLAYED: usize = 2_000;

/// Undo keeps this many changes.
const UNDO_DEPTH: usize = 200;

/// Everything the page shows and the learner changes.
#[derive(Clone, Debug)]
pub struct Session {
    /// The built-in scenario this one started from (none when imported).
    pub base: Option<String>,
    /// The compiled world; its scenario always holds the applied texts.
    pub world: World,
    /// Per host (in the order of `world.hosts`): the editors' texts.
    pub drafts: Vec<Drafts>,
    /// The state after the last packet (conntrack, counters, the random stream).
    pub state: SimState,
    pub sends: Vec<Sent>,
    /// Selected send and step.
    pub selected: Option<(usize, usize)>,
    undo: Vec<Change>,
    redo: Vec<Change>,
    /// The editor typed in last: undo takes its unapplied text back first.
    last_edited: Option<(usize, Field)>,
    /// Bumped on every change, so views can tell cheaply that something changed.
    pub version: u64,
    /// For scenarios made from Kubernetes objects: their YAML.
    pub cluster: Option<ClusterDraft>,
    /// What the hosts run now (the applied texts).
    config: Config,
    /// What `world` holds: `config`, except while packets are traced
    /// again on the texts they met.
    holds: Config,
    /// Conntrack was flushed after the last packet.
    flush_next: bool,
    /// Seconds the learner let pass after the last packet (Wait): the
    /// next packet goes that long after it, instead of a second.
    pub wait_next: Option<u32>,
    /// The host the editors showed when the session was saved, until the
    /// page takes it.
    pub saved_editor: Option<String>,
    /// The send form as the session was saved with it, until the page
    /// takes it.
    pub saved_form: Option<SendSpec>,
    /// The view a saved session was left in ([`Saved::view`]), until the
    /// page takes it.
    pub saved_view: Option<String>,
    /// The question of an exercise opened from a link ([`Saved::task`]).
    pub task: Option<String>,
    /// The exercise's last packet, as [`Saved::exercise_packet`] counts.
    pub exercise_packet: Option<usize>,
    /// Texts typed before the last cluster sync, with errors, that it
    /// left as typed (`node8's rules`), until the page says so.
    pub typed_over_sync: Vec<String>,
    /// After a cluster change: per node, how many rules the learner had
    /// written (beyond what the objects made) the sync took away with the
    /// chains it rewrote.
    pub hand_rules_lost: Vec<(String, usize)>,
    /// The hosts' texts the next sync puts in place of its own (the undo of
    /// a cluster change: the texts in use before it).
    put_back: Option<Rc<HostTexts>>,
    /// Hosts whose rules came from a scenario file's dumps, parsed after
    /// the file opened: [`Session::retrace_all`] gives them to every packet.
    file_dumps: Vec<usize>,
    /// Bumped by every change of the world.
    world_gen: u64,
    /// The last large rules changes put aside (up to [`SPARE_RULES`]),
    /// parsed, with their texts: redoing or undoing back to a node dump
    /// takes them instead of parsing 12 MB again in one main-thread task.
    spare_rules: Vec<(Rc<str>, Rc<Ruleset>)>,
    /// The packets sent before the ones listed (a full history lets the
    /// oldest go): a link or reload sends them again, untraced, so the
    /// listed ones meet the state they met.
    earlier: Vec<Earlier>,
    /// How many packets before `earlier` are forgotten (past
    /// [`MAX_REPLAYED`]): a link replays from the one after them.
    pub forgotten: usize,
}

/// The built-in cluster scenario `base` names, when it names one.
fn builtin_cluster(base: Option<&str>) -> Result<Option<Built>, String> {
    base.filter(|b| generator::is_cluster(b))
        .map(generator::builtin)
        .transpose()
}

impl Session {
    /// A session on `scenario`, with nothing sent yet.
    pub fn new(scenario: &Scenario, base: Option<String>) -> Result<Session, Errors> {
        Session::new_reusing(scenario, base, &[])
    }

    /// [`Session::new`], taking the rules of a host whose text is one of
    /// `parsed`'s instead of parsing it again.
    fn new_reusing(
        scenario: &Scenario,
        base: Option<String>,
        parsed: &[(Rc<str>, Rc<Ruleset>)],
    ) -> Result<Session, Errors> {
        let world = World::build_reusing(scenario, &|t| {
            (parsed.iter().find(|(k, _)| **k == *t)).map(|(_, r)| r.clone())
        })?;
        let state = SimState::new(&world);
        // A host given parsed rules takes their text too (by the rules,
        // not by comparing 12 MB again).
        let taken = |rules: &Option<Rc<Ruleset>>| {
            let rules = rules.as_ref()?;
            (parsed.iter().find(|(_, r)| Rc::ptr_eq(r, rules))).map(|(k, _)| k.clone())
        };
        let drafts = world
            .hosts
            .iter()
            .map(|h| Drafts {
                rules: Draft::new(taken(&h.rules).unwrap_or_else(|| {
                    (h.spec.iptables.as_ref())
                        .map(Text::to_text)
                        .unwrap_or_default()
                        .into()
                })),
                routes: Draft::new(h.spec.routes.to_text()),
            })
            .collect();
        let mut s = Session {
            base,
            world,
            drafts,
            state,
            sends: Vec::new(),
            selected: None,
            undo: Vec::new(),
            redo: Vec::new(),
            last_edited: None,
            version: 0,
            cluster: None,
            config: Config::default(),
            holds: Config::default(),
            flush_next: false,
            wait_next: None,
            saved_editor: None,
            saved_form: None,
            saved_view: None,
            task: None,
            exercise_packet: None,
            typed_over_sync: Vec::new(),
            hand_rules_lost: Vec::new(),
            put_back: None,
            file_dumps: Vec::new(),
            earlier: Vec::new(),
            forgotten: 0,
            spare_rules: Vec::new(),
            world_gen: 0,
        };
        s.snapshot();
        Ok(s)
    }

    /// Changes with every change of the world (not with a selection).
    pub fn world_gen(&self) -> u64 {
        self.world_gen
    }

    /// Records what the hosts run now, after the world changed.
    fn snapshot(&mut self) {
        self.world_gen += 1;
        let runs = (self.world.hosts.iter().enumerate())
            .map(|(h, ns)| {
                let d = self.drafts.get(h);
                HostRun {
                    rules: ns.rules.clone(),
                    routes: ns.routes.clone(),
                    rules_text: d.map(|d| d.rules.applied.clone()).unwrap_or_default(),
                    routes_text: d.map(|d| d.routes.applied.clone()).unwrap_or_default(),
                }
            })
            .collect();
        self.config = Rc::new(runs);
        self.holds = self.config.clone();
    }

    /// Makes the world run `config` (only the hosts that differ change).
    fn hold(&mut self, config: &Config) {
        if Rc::ptr_eq(&self.holds, config) {
            return;
        }
        for (h, run) in config.iter().enumerate() {
            let same = self.holds.get(h).is_some_and(|held| {
                same_text(&held.rules_text, &run.rules_text)
                    && same_text(&held.routes_text, &run.routes_text)
            });
            if !same {
                self.world.set_running(
                    h,
                    run.rules.clone(),
                    &run.rules_text,
                    run.routes.clone(),
                    &run.routes_text,
                );
            }
        }
        self.holds = config.clone();
    }

    /// The texts of `config` that differ from the ones in use, per host
    /// (hosts the simulator added for `client:IP` senders are left out).
    fn differences(&self, config: &Config, saved_hosts: &[String]) -> Vec<HostEdit> {
        let mut out = Vec::new();
        for (h, run) in config.iter().enumerate() {
            let (Some(now), Some(ns)) = (self.config.get(h), self.world.hosts.get(h)) else {
                continue;
            };
            if !saved_hosts.iter().any(|n| n == ns.name()) {
                continue;
            }
            let rules =
                (!same_text(&run.rules_text, &now.rules_text)).then(|| run.rules_text.to_string());
            let routes = (!same_text(&run.routes_text, &now.routes_text))
                .then(|| run.routes_text.to_string());
            if rules.is_some() || routes.is_some() {
                out.push(HostEdit {
                    host: ns.name().to_string(),
                    rules,
                    routes,
                });
            }
        }
        out
    }

    /// A built-in scenario with its preset packet sent, the first step selected.
    pub fn builtin(name: &str) -> Result<Session, String> {
        let (sc, cluster) = if generator::is_cluster(name) {
            let b = generator::builtin(name)?;
            (b.scenario.clone(), Some(ClusterDraft::builtin(&b)))
        } else {
            let sc = scenario::builtin_json(name)
                .ok_or_else(|| format!("no built-in scenario \"{name}\""))?;
            (sc, None)
        };
        let mut s = Session::new(&sc, Some(name.to_string())).map_err(|e| e.to_string())?;
        s.cluster = cluster;
        if let Some(p) = &sc.preset {
            s.send(p.to_spec());
        }
        Ok(s)
    }

    /// Rebuilds a session from a link or an autosave: the scenario, then
    /// each edit as if typed (text that does not apply is kept with its
    /// errors), then every packet sent again (the engine is deterministic,
    /// so the traces are the ones the learner saw).
    pub fn from_saved(saved: &Saved) -> Result<Session, String> {
        // A built-in cluster scenario: its objects, and the scenario they make.
        let base = builtin_cluster(saved.base.as_deref())?;
        let plain = Saved {
            edits: Vec::new(),
            scenario: (saved.scenario.clone())
                .or_else(|| base.as_ref().map(|b| b.scenario.clone())),
            ..saved.clone()
        };
        let sc = share::restore(&plain).map_err(|e| e.to_string())?;
        let mut s = Session::new(&sc, saved.base.clone())
            .map_err(|e| format!("the saved scenario does not build:\n{e}"))?;
        // The objects as the built-in scenario has them, then as saved.
        // The objects in use first, then as typed (with errors, they stay
        // typed and the nodes keep what the objects in use made).
        let in_use = saved.cluster_applied.as_ref().or(saved.cluster.as_ref());
        let start = match (&base, in_use) {
            (Some(b), _) => Some(ClusterDraft::builtin(b)),
            (None, Some(y)) => Some(ClusterDraft::applied(y, generator::read(y)?)),
            (None, None) => None,
        };
        if let Some(draft) = start {
            s.cluster = Some(draft);
            let steps = [
                base.as_ref().and(saved.cluster_applied.as_ref()),
                saved.cluster.as_ref(),
            ];
            for y in steps.into_iter().flatten() {
                s.edit_cluster(y.as_str().into());
                s.apply_cluster();
            }
        }
        // The texts in use where they differ from the typed ones (which
        // have errors), then the typed ones: the world runs the first, the
        // editors show the second.
        for e in saved.applied.iter().chain(&saved.edits) {
            let h = s.host(&e.host).ok_or_else(|| {
                format!(
                    "the saved edits name a host \"{}\" that the scenario does not have",
                    e.host
                )
            })?;
            for (field, text) in [(Field::Routes, &e.routes), (Field::Rules, &e.rules)] {
                if let Some(t) = text {
                    s.edit(h, field, t.as_str().into());
                    s.apply(h, field);
                }
            }
        }
        s.undo.clear();
        s.redo.clear();
        if saved.sends.len() > MAX_REPLAYED {
            return Err(format!(
                "the saved session holds {} packets; at most {MAX_REPLAYED} are replayed, so it was not opened",
                saved.sends.len()
            ));
        }
        s.replay(&saved.sends, &saved.eras, &saved.flushes)?;
        s.wait_next = saved.wait_next.map(|w| w.min(crate::engine::sim::MAX_WAIT));
        // The numbers go on from the packets forgotten before.
        s.forgotten += saved.forgotten;
        s.select_counted(saved.selected);
        s.saved_editor = saved.editor.clone();
        (s.undo, s.redo) = (s.changes(&saved.undo), s.changes(&saved.redo));
        s.saved_form = saved.form.clone();
        // A saved session says its view, the defaults included.
        s.saved_view = Some(saved.view.clone().unwrap_or_default());
        s.task = saved.task.clone();
        s.exercise_packet = saved.exercise_packet;
        Ok(s)
    }

    /// Sends `sends` again, each on the texts it met (`eras`, from the
    /// first packet; the rest on the texts in use) and after the conntrack
    /// flushes it met.
    fn replay(
        &mut self,
        sends: &[SendSpec],
        eras: &[Era],
        flushes: &[usize],
    ) -> Result<(), String> {
        // Counts from a link or a file: checked before anything is
        // made of them.
        let listed = eras.iter().try_fold(0usize, |n, e| n.checked_add(e.sends));
        if listed.is_none_or(|n| n > sends.len()) {
            return Err(format!(
                "the saved session is damaged: its earlier rules and routes are said to have met more packets than the {} it holds",
                sends.len()
            ));
        }
        if let Some(f) = flushes.iter().find(|&&f| f > sends.len()) {
            return Err(format!(
                "the saved session is damaged: it has a conntrack flush after packet {f}, but holds only {} packets",
                sends.len()
            ));
        }
        let flushes: std::collections::BTreeSet<usize> = flushes.iter().copied().collect();
        let mut ran_on = Vec::with_capacity(sends.len());
        for era in eras.iter().filter(|e| e.sends > 0) {
            let config = self.earlier_config(&era.edits)?;
            ran_on.extend(std::iter::repeat_n(config, era.sends));
        }
        ran_on.resize(sends.len(), self.config.clone());
        // A history's worth at a time: the ones it no longer lists go.
        let mut all = sends.iter().zip(ran_on).enumerate();
        loop {
            let start = self.sends.len();
            for (k, (spec, config)) in all.by_ref().take(MAX_SENDS) {
                self.sends.push(Sent {
                    spec: spec.clone(),
                    trace: Err(String::new()),
                    before_sync: None,
                    before: self.state.clone(),
                    flush: flushes.contains(&k),
                    ran_on: config,
                    answers: None,
                });
            }
            if self.sends.len() == start {
                break;
            }
            self.retrace_from(start);
            self.let_go_oldest();
        }
        if flushes.contains(&sends.len()) {
            self.clear_conntrack();
        }
        Ok(())
    }

    /// What the hosts ran with `edits` in place of the texts in use (the
    /// world is left as it was).
    fn earlier_config(&mut self, edits: &[HostEdit]) -> Result<Config, String> {
        let now = self.config.clone();
        let mut runs = (*now).clone();
        let mut r = Ok(());
        'edits: for e in edits {
            let Some(h) = self.host(&e.host).filter(|h| *h < runs.len()) else {
                r = Err(format!(
                    "the saved packets ran on a host \"{}\" that the scenario does not have",
                    e.host
                ));
                break;
            };
            for (field, text) in [(Field::Rules, &e.rules), (Field::Routes, &e.routes)] {
                let Some(t) = text else {
                    continue;
                };
                let set = match field {
                    Field::Rules => self.world.set_rules(h, t),
                    Field::Routes => self.world.set_routes(h, t),
                };
                if let Err(err) = set {
                    r = Err(format!(
                        "the {} {} ran earlier do not apply:\n{err}",
                        field.as_str(),
                        e.host
                    ));
                    break 'edits;
                }
                match field {
                    Field::Rules => runs[h].rules_text = t.as_str().into(),
                    Field::Routes => runs[h].routes_text = t.as_str().into(),
                }
            }
            runs[h].rules = self.world.hosts[h].rules.clone();
            runs[h].routes = self.world.hosts[h].routes.clone();
        }
        // The world holds the earlier texts where they were set: put the
        // ones in use back.
        let earlier = Rc::new(runs);
        self.holds = earlier.clone();
        self.hold(&now);
        r.map(|()| earlier)
    }

    /// The session as a scenario file (Export): the scenario with the
    /// texts in use, the cluster's objects it was made from, and the
    /// packets sent. The command line reads it as a scenario.
    pub fn to_file(&self) -> Scenario {
        let saved = self.to_saved();
        let mut sc = share::restore(&Saved {
            base: None,
            scenario: Some(self.world.scenario.clone()),
            edits: saved.edits,
            ..Saved::default()
        })
        .unwrap_or_else(|_| self.world.scenario.clone());
        sc.cluster = self.cluster.as_ref().map(|c| c.applied.to_string());
        sc.sends = saved.sends;
        sc.eras = saved.eras;
        sc.flushes = saved.flushes;
        sc
    }

    /// A session from a scenario file (Import): one made from a cluster
    /// opens as that cluster again, and the packets it records are sent
    /// again (else its preset). `base` is the built-in scenario it is.
    pub fn from_file(mut sc: Scenario, base: Option<String>) -> Result<Session, String> {
        let cluster = sc.cluster.take();
        let page = sc.page.take();
        let eras = std::mem::take(&mut sc.eras);
        let flushes = std::mem::take(&mut sc.flushes);
        let mut sends = std::mem::take(&mut sc.sends);
        if sends.is_empty() {
            sends.extend(sc.preset.as_ref().map(|p| p.to_spec()));
        }
        if sends.len() > MAX_REPLAYED {
            return Err(format!(
                "the file holds {} packets; at most {MAX_REPLAYED} are sent again, so it was not opened",
                sends.len()
            ));
        }
        let mut s = Session::new(&sc, base).map_err(|e| e.to_string())?;
        if let Some(yaml) = cluster {
            // The nodes already hold what these objects made (and any hand
            // edits): the objects are in place as applied, not synced again.
            let built_in = builtin_cluster(s.base.as_deref())?;
            let view = generator::read(&yaml)?;
            // Objects that do not read keep the file's nodes, and say why.
            let errors = Rc::new(view.errors.clone());
            let mut draft = ClusterDraft::applied(&yaml, view);
            draft.errors = errors;
            draft.base = built_in.map(|b| b.yaml.as_str().into());
            s.cluster = Some(draft);
        }
        s.replay(&sends, &eras, &flushes)?;
        // As the page showed it when it was exported.
        s.select_counted(page.as_ref().and_then(|p| p.selected));
        if let Some(p) = page {
            s.saved_editor = p.editor;
            s.saved_form = p.form;
            s.saved_view = Some(p.view.unwrap_or_default());
        }
        Ok(s)
    }

    /// What a link or an autosave records: the texts as typed, even those
    /// that do not apply, so no work is lost.
    pub fn to_saved(&self) -> Saved {
        let base_yaml = self.cluster.as_ref().and_then(|c| c.base.as_deref());
        let cluster = self
            .cluster
            .as_ref()
            .filter(|c| Some(&*c.text) != base_yaml)
            .map(|c| c.text.to_string());
        // After a cluster change, host edits are counted from what that
        // change generates (what a reload rebuilds before the edits).
        let base_sc = match (&self.cluster, base_yaml, self.base.as_deref()) {
            (Some(c), Some(y), Some(name)) if &*c.applied != y => {
                generator::rebase(name, &c.applied)
            }
            _ => self.base.as_deref().and_then(generator::builtin_scenario),
        };
        // Hosts the simulator added for `client:IP` senders are not saved:
        // sending again adds them again.
        let mut applied = self.world.scenario.clone();
        let base = base_sc.clone().unwrap_or_else(|| applied.clone());
        applied
            .hosts
            .retain(|h| base.hosts.iter().any(|bh| bh.name == h.name));
        let mut typed = applied.clone();
        for h in typed.hosts.iter_mut() {
            let Some(d) = self.host(&h.name).and_then(|i| self.drafts.get(i)) else {
                continue;
            };
            h.routes = Text::One(d.routes.text.to_string());
            if h.iptables.is_some() || !d.rules.text.trim().is_empty() {
                h.iptables = Some(Text::One(d.rules.text.to_string()));
            }
        }
        let hosts: Vec<String> = applied.hosts.iter().map(|h| h.name.clone()).collect();
        // Where a typed text does not apply, the one in use.
        let in_use = self.differences(&self.typed_config(), &hosts);
        let in_use = in_use
            .into_iter()
            .map(|mut e| {
                let now = self.host(&e.host).and_then(|h| self.config.get(h));
                e.rules = e.rules.and(now.map(|r| r.rules_text.to_string()));
                e.routes = e.routes.and(now.map(|r| r.routes_text.to_string()));
                e
            })
            .collect();
        // Every packet sent, the ones no longer listed first.
        let sent: Vec<Earlier> = (self.earlier.iter().cloned())
            .chain(self.sends.iter().map(Earlier::of))
            .collect();
        // Runs of packets that met other texts than the ones in use.
        let mut eras: Vec<Era> = Vec::new();
        let mut k = 0;
        while let Some(first) = sent.get(k) {
            let n = (sent[k..].iter())
                .take_while(|s| Rc::ptr_eq(&s.ran_on, &first.ran_on))
                .count();
            let edits = self.differences(&first.ran_on, &hosts);
            match eras.last_mut() {
                Some(last) if last.edits == edits => last.sends += n,
                _ => eras.push(Era { sends: n, edits }),
            }
            k += n;
        }
        while eras.last().is_some_and(|e| e.edits.is_empty()) {
            eras.pop();
        }
        let mut flushes: Vec<usize> = (sent.iter().enumerate())
            .filter(|(_, s)| s.flush)
            .map(|(k, _)| k)
            .collect();
        if self.flush_next {
            flushes.push(sent.len());
        }
        Saved {
            base: base_sc.is_some().then(|| self.base.clone()).flatten(),
            scenario: base_sc.is_none().then_some(applied),
            edits: share::edits(&base, &typed),
            applied: in_use,
            sends: sent.into_iter().map(|s| s.spec).collect(),
            eras,
            flushes,
            wait_next: self.wait_next,
            selected: self.selected.map(|(t, st)| (t + self.earlier.len(), st)),
            editor: None,
            view: None,
            form: None,
            undo: Vec::new(),
            redo: Vec::new(),
            cluster_applied: (self.cluster.as_ref())
                .filter(|c| c.text != c.applied && Some(&*c.applied) != base_yaml)
                .map(|c| c.applied.to_string()),
            cluster,
            task: self.task.clone(),
            exercise_packet: self.exercise_packet,
            forgotten: self.forgotten,
        }
    }

    /// Undo and redo as an autosave keeps them: the newest steps whose
    /// texts fit in `max_bytes` (a large dump's edits are not kept).
    pub fn undo_steps(&self, max_bytes: usize) -> (Vec<UndoStep>, Vec<UndoStep>) {
        let mut budget = max_bytes;
        let mut keep = |list: &[Change]| -> Vec<UndoStep> {
            let mut out = Vec::new();
            for c in list.iter().rev() {
                let texts = c.hosts_before.as_deref().map_or(&[][..], |t| t.as_slice());
                let size = c.before.len()
                    + c.after.len()
                    + texts
                        .iter()
                        .map(|(_, r, t)| r.len() + t.len())
                        .sum::<usize>();
                let host = match c.host {
                    CLUSTER => None,
                    h => match self.world.hosts.get(h) {
                        Some(ns) => Some(ns.name().to_string()),
                        None => break,
                    },
                };
                if size > budget {
                    break;
                }
                budget -= size;
                out.push(UndoStep {
                    host,
                    rules: c.field == Field::Rules,
                    before: c.before.to_string(),
                    after: c.after.to_string(),
                    hosts_before: (texts.iter())
                        .map(|(h, r, t)| (h.clone(), r.to_string(), t.to_string()))
                        .collect(),
                });
            }
            out.reverse();
            out
        };
        let undo = keep(&self.undo);
        let redo = keep(&self.redo);
        (undo, redo)
    }

    /// Saved undo steps as changes of this session (those of hosts it
    /// does not have are left out).
    fn changes(&self, steps: &[UndoStep]) -> Vec<Change> {
        (steps.iter())
            .filter_map(|u| {
                let host = match &u.host {
                    None => CLUSTER,
                    Some(n) => self.host(n)?,
                };
                Some(Change {
                    host,
                    field: if u.rules { Field::Rules } else { Field::Routes },
                    before: u.before.as_str().into(),
                    after: u.after.as_str().into(),
                    hosts_before: (!u.hosts_before.is_empty()).then(|| {
                        Rc::new(
                            (u.hosts_before.iter())
                                .map(|(h, r, t)| (h.clone(), r.as_str().into(), t.as_str().into()))
                                .collect(),
                        )
                    }),
                })
            })
            .collect()
    }

    /// The texts as typed, in the shape of a config (only the texts).
    fn typed_config(&self) -> Config {
        let runs = (self.config.iter().enumerate())
            .map(|(h, run)| {
                let d = self.drafts.get(h);
                HostRun {
                    rules_text: d.map_or(run.rules_text.clone(), |d| d.rules.text.clone()),
                    routes_text: d.map_or(run.routes_text.clone(), |d| d.routes.text.clone()),
                    ..run.clone()
                }
            })
            .collect();
        Rc::new(runs)
    }

    /// Stores the cluster's YAML as typed; nothing is generated yet.
    pub fn edit_cluster(&mut self, text: Rc<str>) {
        if let Some(c) = &mut self.cluster {
            c.text = text;
            self.version += 1;
        }
    }

    /// Generates the nodes again from the typed YAML, as a sync would
    /// ([`crate::engine::cni::resync`]): kube-proxy's chains and the CNI's routes are
    /// replaced, the learner's own chains and routes stay, pods follow the
    /// endpoints. The packets are traced again. Invalid YAML is kept with
    /// its errors and the world stays as it was.
    pub fn apply_cluster(&mut self) -> bool {
        self.resync(true)
    }

    /// [`Session::apply_cluster`]; `record` puts the change on the undo
    /// stack (undo and redo themselves do not).
    fn resync(&mut self, record: bool) -> bool {
        let Some(c) = self.cluster.clone() else {
            return false;
        };
        if !c.pending() && c.errors.is_empty() {
            return true;
        }
        // (An undo or redo does not count the learner's rules it takes.)
        let base = self.base.as_deref().filter(|_| record);
        let r = generator::resync(Some(&c.applied), &c.text, &self.world.scenario, base);
        self.resynced(c, r, record)
    }

    /// Whether a cluster sync is due (typed YAML not applied yet).
    pub fn sync_due(&self) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.pending() || !c.errors.is_empty())
    }

    /// Whether the hosts' texts (a node dump) or the cluster's objects
    /// (hundreds of Services) are large enough that a sync is better made
    /// away from the page's thread.
    pub fn large(&self) -> bool {
        self.drafts
            .iter()
            .any(|d| d.rules.applied.len() > LARGE_BYTES)
            || self
                .cluster
                .as_ref()
                .is_some_and(|c| c.text.len().max(c.applied.len()) > LARGE_YAML_BYTES)
    }

    /// Puts in place what a sync of draft `c` made (`r`): the new world,
    /// the packets traced again on it, undo carried over. On errors the
    /// YAML keeps them and the world stays.
    pub fn resynced(
        &mut self,
        c: ClusterDraft,
        r: Result<crate::engine::generator::Resynced, Errors>,
        record: bool,
    ) -> bool {
        let fail = |s: &mut Session, e: Errors| {
            if let Some(c) = &mut s.cluster {
                c.errors = Rc::new(e.0);
            }
            s.version += 1;
            false
        };
        let mut r = match r {
            Ok(r) => r,
            Err(e) => return fail(self, e),
        };
        // An undone cluster change: the hosts' texts as they were before it
        // (a rule the learner added to kube-proxy's chains, which the sync
        // replaced, comes back), before the packets are sent again on them.
        if let Some(texts) = self.put_back.take() {
            for (name, rules, routes) in texts.iter() {
                if let Some(h) = r.scenario.hosts.iter_mut().find(|h| h.name == *name) {
                    h.iptables = (!rules.trim().is_empty()).then(|| Text::One(rules.to_string()));
                    h.routes = Text::One(routes.to_string());
                }
            }
        }
        // A node's dump is not parsed again (it may be back by an undo):
        // the rules parsed for it are taken, and kept aside when the new
        // world does not use them.
        let large = self.large_rules();
        let mut next = match Session::new_reusing(&r.scenario, self.base.clone(), &large) {
            Ok(s) => s,
            Err(e) => return fail(self, e),
        };
        next.spare_rules = (large.into_iter())
            .filter(|(t, _)| {
                !(0..next.drafts.len()).any(|h| {
                    next.outgoing_rules(h)
                        .is_some_and(|(u, _)| same_text(t, &u))
                })
            })
            .take(SPARE_RULES)
            .collect();
        next.cluster = Some(ClusterDraft {
            diffs: Rc::new(r.diffs),
            base: c.base.clone(),
            ..ClusterDraft::applied(&c.text, r.view)
        });
        // Every packet again, on the new world (hosts may have changed).
        let selected = self.selected;
        for e in &self.earlier {
            next.flush_next = e.flush;
            next.send(e.spec.clone());
        }
        for sent in &self.sends {
            next.flush_next = sent.flush;
            // The kernel's answer to a refused packet is the one it makes
            // now (a fragmentation needed names the MTU of the new world),
            // from the packet it answers; when that packet is no longer
            // refused with an answer, the old one is sent as it was.
            let fresh = (sent.answers)
                .and_then(|n| n.checked_sub(next.number(0)))
                .and_then(|i| next.sends.get(i))
                .and_then(|p| p.trace.as_ref().ok())
                .and_then(|t| crate::engine::sim::reply_spec(t))
                .filter(|a| a.kernel)
                // (After the wait it was sent after.)
                .map(|a| SendSpec {
                    after: sent.spec.after,
                    ..a
                });
            next.send(fresh.unwrap_or_else(|| sent.spec.clone()));
            if let Some(last) = next.sends.last_mut() {
                last.answers = sent.answers;
            }
            // Another verdict now: the history keeps the one it had.
            let verdict =
                |t: &Result<Rc<Trace>, String>| t.as_ref().ok().map(|t| t.verdict.clone());
            if let Some(now) = next
                .sends
                .last_mut()
                .filter(|n| verdict(&n.trace) != verdict(&sent.trace))
            {
                now.before_sync = Some(sent.trace.clone());
            }
        }
        next.flush_next = self.flush_next;
        next.wait_next = self.wait_next;
        if let Some((t, st)) = selected {
            next.select(t, st);
        }
        next.version = self.version + 1;
        next.world_gen = self.world_gen + 1;
        // Undo carries over, each host's entries to that host in the new
        // world (hosts that are gone take theirs with them).
        let rehost = |ch: &Change| -> Option<Change> {
            let host = if ch.host == CLUSTER {
                CLUSTER
            } else {
                next.host(self.world.hosts.get(ch.host)?.name())?
            };
            Some(Change { host, ..ch.clone() })
        };
        let undo: Vec<Change> = self.undo.iter().filter_map(rehost).collect();
        let redo: Vec<Change> = if record {
            Vec::new()
        } else {
            self.redo.iter().filter_map(rehost).collect()
        };
        (next.undo, next.redo) = (undo, redo);
        if record && c.applied != c.text {
            next.hand_rules_lost = std::mem::take(&mut r.hand_rules_lost);
            let hosts_before = (self.world.hosts.iter().zip(&self.drafts))
                .map(|(h, d)| {
                    (
                        h.name().to_string(),
                        d.rules.applied.clone(),
                        d.routes.applied.clone(),
                    )
                })
                .collect();
            next.push_undo(Change {
                host: CLUSTER,
                field: Field::Rules,
                before: c.applied.clone(),
                after: c.text.clone(),
                hosts_before: Some(Rc::new(hosts_before)),
            });
        }
        // Text typed in a host's editor and not applied yet stays typed.
        for (i, d) in self.drafts.iter().enumerate() {
            let Some(j) = (self.world.hosts.get(i)).and_then(|h| next.host(h.name())) else {
                continue;
            };
            for f in [Field::Rules, Field::Routes] {
                if d.get(f).pending() {
                    let nd = next.drafts[j].get_mut(f);
                    nd.text = d.get(f).text.clone();
                    nd.errors = d.get(f).errors.clone();
                    let what = match f {
                        Field::Rules => "rules",
                        Field::Routes => "routes",
                    };
                    next.typed_over_sync
                        .push(format!("{}'s {what}", next.world.hosts[j].name()));
                }
            }
        }
        *self = next;
        true
    }

    /// Whether packet `t` met the `field` text of `host` that is in use
    /// now (its line numbers are the editor's).
    pub fn met_in_use(&self, t: usize, host: usize, field: Field) -> bool {
        let (Some(sent), Some(d)) = (self.sends.get(t), self.drafts.get(host)) else {
            return true;
        };
        let Some(run) = sent.ran_on.get(host) else {
            return true;
        };
        let met = match field {
            Field::Rules => &run.rules_text,
            Field::Routes => &run.routes_text,
        };
        same_text(met, &d.get(field).applied)
    }

    /// The host index of a host name.
    pub fn host(&self, name: &str) -> Option<usize> {
        self.world.host(name)
    }

    /// Stores an editor's text as typed; nothing is parsed yet.
    pub fn edit(&mut self, host: usize, field: Field, text: Rc<str>) {
        if let Some(d) = self.drafts.get_mut(host) {
            d.get_mut(field).text = text;
            self.last_edited = Some((host, field));
            self.version += 1;
        }
    }

    /// Applies the typed text of an editor: on success the world changes,
    /// the change can be undone, and the last packet is traced again.
    /// Returns whether the text applied.
    pub fn apply(&mut self, host: usize, field: Field) -> bool {
        let Some(d) = self.drafts.get(host) else {
            return false;
        };
        let d = d.get(field).clone();
        if !d.pending() {
            // Back to the text in use (a typo typed and taken back).
            if !d.errors.is_empty() {
                self.drafts[host].get_mut(field).errors = Rc::default();
                self.version += 1;
            }
            return true;
        }
        let ok = self.install(host, field, &d.text);
        if ok {
            self.push_undo(Change {
                host,
                field,
                before: d.applied.clone(),
                after: d.text.clone(),
                hosts_before: None,
            });
            self.redo.clear();
        }
        ok
    }

    /// Puts `text` into the world; records errors or the new applied text.
    fn install(&mut self, host: usize, field: Field, text: &Rc<str>) -> bool {
        if host == CLUSTER {
            self.edit_cluster(text.clone());
            return self.resync(false);
        }
        let outgoing = (field == Field::Rules)
            .then(|| self.outgoing_rules(host))
            .flatten();
        let spare = (field == Field::Rules)
            .then(|| {
                self.spare_rules
                    .iter()
                    .position(|(t, _)| same_text(t, text))
            })
            .flatten()
            .map(|i| self.spare_rules.remove(i));
        let result = match (field, spare) {
            (Field::Rules, Some((_, rules))) => {
                self.world.set_ruleset(host, text, Some(rules));
                Ok(())
            }
            (Field::Rules, None) => self.world.set_rules(host, text),
            (Field::Routes, _) => self.world.set_routes(host, text),
        };
        if let Some(outgoing) = outgoing.filter(|_| result.is_ok()) {
            self.keep_aside(outgoing);
        }
        self.version += 1;
        let draft = self.drafts[host].get_mut(field);
        draft.text = text.clone();
        match result {
            Ok(()) => {
                draft.applied = text.clone();
                draft.errors = Rc::default();
                if field == Field::Rules {
                    let rules = self.world.hosts[host].rules.clone();
                    self.state.rules_replaced(host, rules.as_deref());
                }
                self.snapshot();
                self.retrace_last();
                true
            }
            Err(e) => {
                draft.errors = Rc::new(e.0);
                false
            }
        }
    }

    /// The large rules this session holds parsed, with their texts: its
    /// hosts' in use, then the ones put aside.
    fn large_rules(&self) -> Vec<(Rc<str>, Rc<Ruleset>)> {
        let mut out: Vec<_> = (0..self.drafts.len())
            .filter_map(|h| self.outgoing_rules(h))
            .collect();
        out.extend(self.spare_rules.iter().cloned());
        out
    }

    /// Puts parsed large rules aside, first, the oldest going past
    /// [`SPARE_RULES`].
    fn keep_aside(&mut self, spare: (Rc<str>, Rc<Ruleset>)) {
        self.spare_rules.retain(|(t, _)| !same_text(t, &spare.0));
        self.spare_rules.insert(0, spare);
        self.spare_rules.truncate(SPARE_RULES);
    }

    /// Host `host`'s rules in use with their text, when large: a change
    /// that replaces them keeps them aside (`spare_rules`; a
    /// text always parses to the same rules, on any host).
    fn outgoing_rules(&self, host: usize) -> Option<(Rc<str>, Rc<Ruleset>)> {
        let run = self.config.get(host)?;
        (run.rules_text.len() > LARGE_BYTES).then_some(())?;
        Some((run.rules_text.clone(), run.rules.clone()?))
    }

    /// Keeps rules parsed for `text` that is not in use (a dump an undo
    /// took back while it was parsed): installing that text again takes
    /// them instead of parsing it.
    pub fn keep_spare(&mut self, text: Rc<str>, rules: Ruleset) {
        self.keep_aside((text, Rc::new(rules)));
    }

    /// Installs rules parsed elsewhere (a large dump parsed in chunks).
    /// A dump loaded by the learner can be undone; one that came with an
    /// imported scenario is part of it (`undoable` false): Undo must not
    /// make a state the file never had.
    pub fn install_ruleset(&mut self, host: usize, text: Rc<str>, rules: Ruleset, undoable: bool) {
        if host >= self.drafts.len() {
            return;
        }
        let before = self.drafts[host].rules.applied.clone();
        if let Some(spare) = self.outgoing_rules(host) {
            self.keep_aside(spare);
        }
        let rules = Rc::new(rules);
        self.world.set_ruleset(host, &text, Some(rules.clone()));
        self.state.rules_replaced(host, Some(&rules));
        let d = &mut self.drafts[host].rules;
        // Text typed while the parse ran stays, pending, over what was parsed.
        if !d.pending() || d.text == text {
            d.text = text.clone();
            d.errors = Rc::default();
        }
        d.applied = text.clone();
        if !undoable {
            self.file_dumps.push(host);
        }
        if undoable {
            self.push_undo(Change {
                host,
                field: Field::Rules,
                before,
                after: text,
                hosts_before: None,
            });
            self.redo.clear();
        }
        self.version += 1;
        self.snapshot();
        // A file's dumps are given to every packet at once when the last
        // is in (retrace_all): no trace of the last packet before that.
        if undoable {
            self.retrace_last();
        }
    }

    /// Traces every packet sent again, in order, from the start (after
    /// rules arrived that all of them should have met: a scenario file's
    /// dumps, parsed after the file opened).
    pub fn retrace_all(&mut self) {
        // Those hosts' rules are what every packet met; the other texts
        // stay as each packet met them.
        let hosts = std::mem::take(&mut self.file_dumps);
        let now = self.config.clone();
        let mut made: Vec<(Config, Config)> = Vec::new();
        let n = self.earlier.len();
        for k in 0..n + self.sends.len() {
            let old = match k.checked_sub(n) {
                Some(j) => self.sends[j].ran_on.clone(),
                None => self.earlier[k].ran_on.clone(),
            };
            let new = match made.iter().find(|(o, _)| Rc::ptr_eq(o, &old)) {
                Some((_, n)) => n.clone(),
                None => {
                    let mut runs = (*old).clone();
                    for &h in &hosts {
                        // Only where the file's open left the dump out (an
                        // earlier text of that host stays as it was met).
                        if let (Some(r), Some(c)) = (runs.get_mut(h), now.get(h)) {
                            if r.rules_text.is_empty() {
                                *r = c.clone();
                            }
                        }
                    }
                    let n = Rc::new(runs);
                    made.push((old, n.clone()));
                    n
                }
            };
            match k.checked_sub(n) {
                Some(j) => self.sends[j].ran_on = new,
                None => self.earlier[k].ran_on = new,
            }
        }
        if n > 0 {
            let state = self.state_after_earlier();
            if let Some(first) = self.sends.first_mut() {
                first.before = state;
            }
        }
        self.retrace_from(0);
    }

    /// Runs one `iptables` command (`-A`, `-I`, `-D`, …) on a host's
    /// applied rules, for rule sets too long to edit as text; the text is
    /// printed again from the result, as `iptables-save` would.
    pub fn command(&mut self, host: usize, line: &str) -> Result<(), Errors> {
        let Some(ns) = self.world.hosts.get(host) else {
            return Err(ParseError::new(0, 0, format!("no host number {host}")).into());
        };
        // The command changes the rules in use; while the text shown is
        // another (with errors, or not applied yet), it would change rules
        // the learner cannot see.
        if self.drafts.get(host).is_some_and(|d| d.rules.pending()) {
            return Err(ParseError::new(
                0,
                0,
                "the rules text shown is not the one in use (it has errors, or is being applied): load a corrected file, or go back to the rules in use, then run the command",
            )
            .into());
        }
        let mut rules = ns.rules.as_deref().cloned().unwrap_or_default();
        crate::engine::iptables::command::apply_command(&mut rules, line)?;
        // Every rule's line number is its line in the text the editor shows.
        let text: Rc<str> = crate::engine::iptables::save::emit_numbered(&mut rules).into();
        self.install_ruleset(host, text, rules, true);
        Ok(())
    }

    /// Records errors found outside [`Session::apply`] (a chunked parse).
    pub fn set_errors(&mut self, host: usize, field: Field, text: Rc<str>, errors: Errors) {
        if let Some(d) = self.drafts.get_mut(host) {
            let d = d.get_mut(field);
            d.text = text;
            d.errors = Rc::new(errors.0);
            self.version += 1;
        }
    }

    fn push_undo(&mut self, c: Change) {
        self.undo.push(c);
        if self.undo.len() > UNDO_DEPTH {
            self.undo.remove(0);
        }
    }

    /// An editor whose text differs from the text in use (typed and not
    /// applied yet, or with errors).
    /// Whether an editor (or the cluster's YAML) holds text not in use:
    /// typed and waiting, or with errors.
    pub fn has_unapplied(&self) -> bool {
        self.unapplied().is_some()
    }

    fn unapplied(&self) -> Option<(usize, Field)> {
        if self.cluster.as_ref().is_some_and(|c| c.pending()) {
            return Some((CLUSTER, Field::Rules));
        }
        let differs = |(h, f): (usize, Field)| {
            self.drafts
                .get(h)
                .is_some_and(|d| d.get(f).text != d.get(f).applied)
        };
        if let Some(at) = self.last_edited.filter(|at| differs(*at)) {
            return Some(at);
        }
        self.drafts.iter().enumerate().find_map(|(h, d)| {
            [Field::Rules, Field::Routes]
                .into_iter()
                .find(|f| d.get(*f).text != d.get(*f).applied)
                .map(|f| (h, f))
        })
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty() || self.unapplied().is_some()
    }
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty() && self.unapplied().is_none()
    }

    /// Undoes the last change; returns the host and field it touched. Text
    /// typed and not in use is the last change: undo puts the text in use
    /// back, and redo brings the typed text back.
    pub fn undo(&mut self) -> Option<(usize, Field)> {
        if let Some((h, f)) = self.unapplied() {
            if h == CLUSTER {
                let c = self.cluster.as_mut()?;
                let typed = std::mem::replace(&mut c.text, c.applied.clone());
                c.errors = Rc::default();
                let applied = c.applied.clone();
                self.redo.push(Change {
                    host: CLUSTER,
                    field: f,
                    before: applied,
                    after: typed,
                    hosts_before: None,
                });
                self.version += 1;
                return Some((h, f));
            }
            let d = self.drafts[h].get_mut(f);
            let typed = std::mem::replace(&mut d.text, d.applied.clone());
            d.errors = Rc::default();
            self.redo.push(Change {
                host: h,
                field: f,
                before: d.applied.clone(),
                after: typed,
                hosts_before: None,
            });
            self.version += 1;
            return Some((h, f));
        }
        let c = self.undo.pop()?;
        self.put_back = c.hosts_before.clone();
        self.install(c.host, c.field, &c.before);
        self.put_back = None;
        let at = (c.host, c.field);
        self.redo.push(c);
        Some(at)
    }

    /// The cluster change that undo (`undo`) or redo would make next,
    /// taken off its stack with its YAML typed in, for a sync made in the
    /// worker (over a node dump it takes half a second); the caller hands
    /// the sync to [`Session::cluster_step_synced`]. `None` when the next
    /// change is not a cluster one, or when text typed and not in use
    /// comes first (plain [`Session::undo`] handles those at once).
    pub fn take_cluster_step(&mut self, undo: bool) -> Option<Change> {
        if self.unapplied().is_some() {
            return None;
        }
        let stack = if undo { &mut self.undo } else { &mut self.redo };
        let c = stack.pop_if(|c| c.host == CLUSTER)?;
        self.edit_cluster(if undo {
            c.before.clone()
        } else {
            c.after.clone()
        });
        Some(c)
    }

    /// Puts an undo [`Session::take_cluster_step`] took back on the undo
    /// stack, when its sync was overtaken by another change (the YAML in
    /// use is still the change's `after`).
    pub fn untake_cluster_step(&mut self, c: Change) {
        self.undo.push(c);
    }

    /// Puts in place the sync of a change [`Session::take_cluster_step`]
    /// took, and moves the change to the other stack as [`Session::undo`]
    /// and [`Session::redo`] do. Returns whether the sync applied.
    pub fn cluster_step_synced(
        &mut self,
        c: Change,
        undo: bool,
        draft: ClusterDraft,
        r: Result<crate::engine::generator::Resynced, Errors>,
    ) -> bool {
        if undo {
            self.put_back = c.hosts_before.clone();
        }
        let ok = self.resynced(draft, r, false);
        self.put_back = None;
        if undo {
            self.redo.push(c);
        } else if ok {
            self.undo.push(c);
        }
        ok
    }

    /// Redoes the last undone change (not while an editor holds text that
    /// is not in use: that text would be lost).
    pub fn redo(&mut self) -> Option<(usize, Field)> {
        if self.unapplied().is_some() {
            return None;
        }
        let c = self.redo.pop()?;
        let ok = self.install(c.host, c.field, &c.after);
        let at = (c.host, c.field);
        if ok {
            self.undo.push(c);
        }
        Some(at)
    }

    /// Sends a packet the learner asked for; one that cannot be sent (no
    /// such Service, no port) is not kept, and the reason is returned.
    pub fn try_send(&mut self, spec: SendSpec) -> Result<(), String> {
        let selected = self.selected;
        // The oldest packet, which a full history lets go for this one, and
        // the oldest one replayed, which a full replay forgets.
        let oldest = (self.sends.len() >= MAX_SENDS).then(|| self.sends[0].clone());
        let first_replayed = (self.earlier.len() + self.sends.len() >= MAX_REPLAYED)
            .then(|| self.earlier.first().cloned())
            .flatten();
        let wait = self.wait_next;
        self.send(spec);
        let failed = match self.sends.last().map(|s| &s.trace) {
            Some(Err(e)) => e.clone(),
            _ => return Ok(()),
        };
        if let Some(sent) = self.sends.pop() {
            self.flush_next = sent.flush;
            self.wait_next = wait;
            self.state = sent.before;
        }
        if let Some(first) = oldest {
            self.earlier.pop();
            self.sends.insert(0, first);
        }
        if let Some(e) = first_replayed {
            self.earlier.insert(0, e);
            self.forgotten -= 1;
        }
        self.selected = selected;
        self.version += 1;
        Err(failed)
    }

    /// Lets `secs` more seconds pass before the next packet (Wait).
    pub fn wait(&mut self, secs: u32) {
        let total = self.wait_next.unwrap_or(0).saturating_add(secs);
        self.wait_next = Some(total.min(crate::engine::sim::MAX_WAIT));
    }

    /// Sends a packet: a new trace, selected at its first step. Conntrack
    /// and counters carry over from the packets before; a wait asked for
    /// goes before it.
    pub fn send(&mut self, mut spec: SendSpec) {
        if let Some(w) = self.wait_next.take() {
            spec.after = Some(w);
        }
        self.sends.push(Sent {
            spec,
            trace: Err(String::new()),
            before_sync: None,
            before: self.state.clone(),
            flush: std::mem::take(&mut self.flush_next),
            ran_on: self.config.clone(),
            answers: None,
        });
        self.retrace_from(self.sends.len() - 1);
        self.let_go_oldest();
        self.selected = Some((self.sends.len() - 1, 0));
        self.version += 1;
    }

    /// Selects packet `t` counted from the first packet sent, listed or not
    /// (as saved sessions and files count), at step `st`; else the last
    /// packet.
    fn select_counted(&mut self, selected: Option<(usize, usize)>) {
        match selected {
            Some((t, st)) if t >= self.earlier.len() => self.select(t - self.earlier.len(), st),
            _ => self.select(self.sends.len().saturating_sub(1), 0),
        }
    }

    /// The history lists the last MAX_SENDS packets: the ones before go
    /// (what sending them again takes is kept, for links and reloads).
    fn let_go_oldest(&mut self) {
        let surplus = self.sends.len().saturating_sub(MAX_SENDS);
        if surplus == 0 {
            return;
        }
        let gone: Vec<Earlier> = self
            .sends
            .drain(..surplus)
            .map(|s| Earlier::of(&s))
            .collect();
        self.earlier.extend(gone);
        // Beyond what a link replays, the first ones are forgotten.
        let over = (self.earlier.len() + self.sends.len()).saturating_sub(MAX_REPLAYED);
        self.earlier.drain(..over);
        self.forgotten += over;
        self.selected = self
            .selected
            .and_then(|(t, st)| Some((t.checked_sub(surplus)?, st)));
    }

    /// Whether packet `t` is one of an exercise's (when one is open): the
    /// link's packets, not the reader's own after them.
    pub fn in_exercise(&self, t: usize) -> bool {
        self.exercise_packet
            .is_none_or(|n| t + self.earlier.len() <= n)
    }

    /// The number the history gives packet `t` (counted from the first
    /// packet sent, listed or not).
    pub fn number(&self, t: usize) -> usize {
        self.forgotten + self.earlier.len() + t + 1
    }

    /// Sending from `client:IP` adds a host to the world; give it editors.
    fn fit_drafts(&mut self) {
        if self.drafts.len() < self.world.hosts.len() && Rc::ptr_eq(&self.holds, &self.config) {
            // What the hosts run now includes the new one.
            let mut runs = (*self.config).clone();
            for ns in &self.world.hosts[runs.len()..] {
                runs.push(HostRun {
                    rules: ns.rules.clone(),
                    routes: ns.routes.clone(),
                    rules_text: Rc::default(),
                    routes_text: ns.spec.routes.to_text().into(),
                });
            }
            self.config = Rc::new(runs);
            self.holds = self.config.clone();
        }
        while self.drafts.len() < self.world.hosts.len() {
            let h = &self.world.hosts[self.drafts.len()];
            self.drafts.push(Drafts {
                rules: Draft::default(),
                routes: Draft::new(h.spec.routes.to_text()),
            });
        }
    }

    /// The answer to the selected packet, from where it was delivered.
    pub fn reply_spec(&self) -> Option<SendSpec> {
        let (t, _) = self.selected?;
        let spec = reply_spec(self.sends.get(t)?.trace.as_ref().ok()?)?;
        // The kernel answers a refused packet once: not again if its
        // answer was sent already.
        // (Whatever wait went before it.)
        let sent = spec.kernel
            && (self.sends[t + 1..].iter()).any(|s| {
                SendSpec {
                    after: None,
                    ..s.spec.clone()
                } == spec
            });
        (!sent).then_some(spec)
    }

    /// The simulator's state as packet `t` met it (its counters,
    /// conntrack and neighbour caches): the one before it, after the
    /// conntrack flush and the time that came between (entries whose time
    /// ran out are gone); the state after the last packet when there is
    /// no such packet.
    pub fn state_met(&self, t: usize) -> SimState {
        let Some(x) = self.sends.get(t) else {
            return self.state.clone();
        };
        let mut met = x.before.clone();
        if x.flush {
            met.clear_conntrack();
        }
        met.wait(x.spec.after.unwrap_or(1));
        met
    }

    /// Sends the answer to the selected packet; false when it was not delivered.
    pub fn reply(&mut self) -> bool {
        let Some(spec) = self.reply_spec() else {
            return false;
        };
        let answers = (self.selected)
            .filter(|_| spec.kernel)
            .map(|(t, _)| self.number(t));
        self.send(spec);
        if let Some(last) = self.sends.last_mut() {
            last.answers = answers;
        }
        true
    }

    /// The selected packet once more on the same connection: the same
    /// source port, so conntrack finds it (ESTABLISHED, no nat chains).
    pub fn again_spec(&self) -> Option<SendSpec> {
        let (t, _) = self.selected?;
        let sent = self.sends.get(t)?;
        crate::engine::sim::again_spec(&sent.spec, sent.trace.as_ref().ok()?)
    }

    /// The numbers of the next segment on the selected packet's TCP
    /// connection (`sim::next_segment_numbers`).
    pub fn next_segment_numbers(&self) -> (Option<u32>, Option<u32>) {
        let Some(first) = (self.selected)
            .and_then(|(t, _)| self.sends.get(t))
            .and_then(|x| x.trace.as_ref().ok())
            .and_then(|t| t.steps.first())
            .map(|st| st.packet.clone())
        else {
            return (None, None);
        };
        crate::engine::sim::next_segment_numbers(
            &first,
            self.sends.iter().filter_map(|x| x.trace.as_deref().ok()),
        )
    }

    /// Forgets every connection (`conntrack -F` on every host). The next
    /// packet records it, so a link traces it the same way.
    pub fn clear_conntrack(&mut self) {
        self.state.clear_conntrack();
        self.flush_next = true;
        self.version += 1;
    }

    /// Forgets the packets sent, their traces and all simulator state.
    pub fn clear_sends(&mut self) {
        self.sends.clear();
        self.earlier.clear();
        self.forgotten = 0;
        self.state = SimState::new(&self.world);
        self.flush_next = false;
        self.wait_next = None;
        self.selected = None;
        self.version += 1;
    }

    /// Traces the last packet again, on the texts in use (after an edit).
    fn retrace_last(&mut self) {
        if let Some(last) = self.sends.last_mut() {
            last.ran_on = self.config.clone();
            self.retrace_from(self.sends.len() - 1);
        }
    }

    /// Traces packets `i..` again, from the state before packet `i`, each
    /// on the texts it met: an edit changes the packets sent after it,
    /// not the ones before (as on a real node, where conntrack keeps what
    /// earlier packets set up).
    fn retrace_from(&mut self, i: usize) {
        let Some(first) = self.sends.get(i) else {
            return;
        };
        let mut state = first.before.clone();
        for k in i..self.sends.len() {
            let ran_on = self.sends[k].ran_on.clone();
            self.sends[k].before = state.clone();
            let prev = match k.checked_sub(1) {
                Some(p) => Some(self.sends[p].ran_on.clone()),
                None => self.earlier.last().map(|e| e.ran_on.clone()),
            };
            self.meet(&mut state, prev.as_ref(), &ran_on, self.sends[k].flush);
            let spec = self.sends[k].spec.clone();
            self.sends[k].trace = send(&mut self.world, &mut state, &spec).map(Rc::new);
        }
        self.state = state;
        // A flush after the last packet stays in force.
        if self.flush_next {
            self.state.clear_conntrack();
        }
        let now = self.config.clone();
        self.hold(&now);
        self.fit_drafts();
        if let Some((t, s)) = self.selected {
            self.select(t, s);
        }
        self.version += 1;
    }

    /// Readies the world and `state` for a packet that ran on `ran_on` after
    /// one that ran on `prev`: its texts in place, a flush between them
    /// done, and what the rules replaced in between kept let go (their
    /// counters, `nth` counters and the `recent` lists no new rule names).
    fn meet(&mut self, state: &mut SimState, prev: Option<&Config>, ran_on: &Config, flush: bool) {
        self.hold(ran_on);
        if flush {
            state.clear_conntrack();
        }
        if let Some(prev) = prev {
            for (h, run) in ran_on.iter().enumerate() {
                if prev
                    .get(h)
                    .is_some_and(|p| !same_text(&p.rules_text, &run.rules_text))
                {
                    state.rules_replaced(h, run.rules.as_deref());
                }
            }
        }
    }

    /// The state the first packet listed met: the packets no longer
    /// listed sent again from the start, untraced.
    fn state_after_earlier(&mut self) -> SimState {
        let mut state = SimState::new(&self.world);
        let earlier = std::mem::take(&mut self.earlier);
        let mut prev: Option<&Config> = None;
        for e in &earlier {
            self.meet(&mut state, prev, &e.ran_on, e.flush);
            let _ = send(&mut self.world, &mut state, &e.spec);
            prev = Some(&e.ran_on);
        }
        self.earlier = earlier;
        state
    }

    /// Forces the other branch of the `statistic` step `step` of send `t`,
    /// and traces that packet (and the ones after it) again.
    pub fn force_other_branch(&mut self, t: usize, step: usize) -> bool {
        let Some(sent) = self.sends.get(t) else {
            return false;
        };
        let Ok(trace) = &sent.trace else {
            return false;
        };
        let Some(s) = trace.steps.get(step) else {
            return false;
        };
        let StepKind::Statistic {
            table,
            chain,
            rule,
            matched,
            ..
        } = &s.kind
        else {
            return false;
        };
        let force = Force {
            host: s.ns.clone(),
            table: *table,
            chain: chain.clone(),
            rule: *rule,
            matched: !matched,
        };
        let spec = &mut self.sends[t].spec;
        spec.force.retain(|f| {
            !(f.host == force.host
                && f.table == force.table
                && f.chain == force.chain
                && f.rule == force.rule)
        });
        spec.force.push(force);
        self.retrace_from(t);
        self.select(t, step);
        true
    }

    /// Selects a step, clamped to what exists.
    pub fn select(&mut self, t: usize, step: usize) {
        if self.sends.is_empty() {
            self.selected = None;
            return;
        }
        let t = t.min(self.sends.len() - 1);
        let n = self.steps(t);
        self.selected = Some((t, step.min(n.saturating_sub(1))));
        self.version += 1;
    }

    /// How many steps send `t` has.
    pub fn steps(&self, t: usize) -> usize {
        self.sends
            .get(t)
            .and_then(|s| s.trace.as_ref().ok())
            .map_or(0, |tr| tr.steps.len())
    }

    /// The selected trace, if the selected send has one.
    pub fn trace(&self) -> Option<&Rc<Trace>> {
        let (t, _) = self.selected?;
        self.sends.get(t)?.trace.as_ref().ok()
    }

    /// The editors whose text does not apply, as "node8's rules (line
    /// 56)": the packets run on the last valid text meanwhile.
    pub fn texts_with_errors(&self) -> Vec<String> {
        let name = |h: usize| self.world.hosts.get(h).map_or("?", |x| x.name());
        let line = |e: &[ParseError]| match e.first().map(|e| e.line) {
            Some(n) if n > 0 => format!(" (line {n})"),
            _ => String::new(),
        };
        let cluster = (self.cluster.iter())
            .filter(|c| !c.errors.is_empty())
            .map(|c| format!("the cluster's YAML{}", line(&c.errors)));
        let hosts = (self.drafts.iter().enumerate()).flat_map(|(h, d)| {
            [("rules", &d.rules.errors), ("routes", &d.routes.errors)]
                .into_iter()
                .filter(|(_, e)| !e.is_empty())
                .map(move |(what, e)| format!("{}'s {what}{}", name(h), line(e)))
        });
        cluster.chain(hosts).collect()
    }

    /// Whether any editor holds text that does not apply.
    pub fn has_errors(&self) -> bool {
        self.drafts
            .iter()
            .any(|d| !d.rules.errors.is_empty() || !d.routes.errors.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::generator::FormEdit;
    use crate::engine::k8s::{edit::remove_endpoint, Cluster};
    use crate::engine::trace::{DropReason, Verdict};

    /// The cluster's first endpoint made not ready, applied; its YAML.
    fn first_endpoint_unready(s: &mut Session) -> String {
        let yaml =
            (s.cluster.as_ref().unwrap().text).replacen("{ready: true}", "{ready: false}", 1);
        s.edit_cluster(yaml.as_str().into());
        assert!(s.apply_cluster());
        yaml
    }

    fn node8(s: &Session) -> usize {
        s.host("node8").expect("article has node8")
    }

    fn verdict(s: &Session) -> Verdict {
        s.trace().expect("a trace").verdict.clone()
    }

    /// Wait lets time pass before the next packet: 120 s after the SYN,
    /// node8's entry is gone and the pod's SYN-ACK is reset there. The
    /// wait travels with the packet: a saved session replays it the same.
    #[test]
    fn a_wait_goes_before_the_next_packet_and_is_kept_with_it() {
        let mut s = Session::builtin("article").unwrap();
        s.wait(100);
        s.wait(20);
        assert!(s.reply());
        assert_eq!(s.wait_next, None);
        assert_eq!(s.sends.last().unwrap().spec.after, Some(120));
        assert!(
            matches!(verdict(&s), Verdict::Dropped { ref ns, .. } if ns == "node8"),
            "{:?}",
            verdict(&s)
        );
        let back = Session::from_saved(&s.to_saved()).unwrap();
        assert_eq!(verdict(&back), verdict(&s));
        // node8's reset, followed back after a wait, is its answer: the
        // refused packet is not answered twice.
        s.wait(5);
        assert!(s.reply());
        assert_eq!(s.sends.last().unwrap().spec.after, Some(5));
        assert!(s.sends.last().unwrap().spec.kernel);
        s.select(1, 0);
        assert_eq!(s.reply_spec(), None);
        // A wait asked for and not used yet is saved with the session.
        s.wait(30);
        let back = Session::from_saved(&s.to_saved()).unwrap();
        assert_eq!(back.wait_next, Some(30));
        // A packet that cannot be sent leaves the wait for the next one.
        let mut s = Session::builtin("article").unwrap();
        s.wait(5);
        let mut bad = s.sends[0].spec.clone();
        bad.to = "nowhere".into();
        assert!(s.try_send(bad).is_err());
        assert_eq!(s.wait_next, Some(5));
    }

    /// While the typed text has errors, the step's rule is marked where it
    /// is in that text: a line inserted above it moves it down one, a line
    /// taken out moves it up, and the edited line itself is not marked.
    #[test]
    fn a_line_in_use_is_found_in_the_text_with_errors() {
        let applied = "a\nb\nc\nd\ne\n";
        let cases = [
            // (typed text, line in use → line typed)
            (
                "a\nb\n-m foo\nc\nd\ne\n",
                [Some(1), Some(2), Some(4), Some(5), Some(6)],
            ),
            ("a\nc\nd\ne\n", [Some(1), None, Some(2), Some(3), Some(4)]),
            (
                "a\nb\nX\nd\ne\n",
                [Some(1), Some(2), None, Some(4), Some(5)],
            ),
            (
                "a\nb\nc\nd\ne\n",
                [Some(1), Some(2), Some(3), Some(4), Some(5)],
            ),
            ("", [None, None, None, None, None]),
        ];
        for (typed, want) in cases {
            let d = Draft {
                text: typed.into(),
                applied: applied.into(),
                errors: Rc::default(),
            };
            let got: Vec<Option<usize>> = (1..=5).map(|l| d.line_in_text(l)).collect();
            assert_eq!(got, want, "{typed:?}");
        }
    }

    /// The article's route to the pod, turned into a blackhole.
    fn blackholed(routes: &str) -> String {
        routes.replace(
            "172.16.225.112 dev cali71ca141a178 scope link",
            "blackhole 172.16.225.112",
        )
    }

    #[test]
    fn an_edit_retraces_and_undo_redo_walk_back_and_forth() {
        let mut s = Session::builtin("article").unwrap();
        assert!(matches!(verdict(&s), Verdict::Delivered { .. }));
        let h = node8(&s);
        let original = s.drafts[h].routes.text.clone();
        let edited = blackholed(&original);
        assert_ne!(&*edited, &*original, "the article has the pod route");
        s.edit(h, Field::Routes, edited.into());
        assert!(s.apply(h, Field::Routes));
        assert!(matches!(
            verdict(&s),
            Verdict::Dropped {
                reason: DropReason::Blackhole,
                ..
            }
        ));
        assert_eq!(s.undo(), Some((h, Field::Routes)));
        assert!(matches!(verdict(&s), Verdict::Delivered { .. }));
        assert_eq!(s.drafts[h].routes.text, original);
        assert_eq!(s.redo(), Some((h, Field::Routes)));
        assert!(matches!(verdict(&s), Verdict::Dropped { .. }));
    }

    #[test]
    fn undo_takes_back_typed_text_first_and_redo_brings_it_back() {
        let mut s = Session::builtin("article").unwrap();
        let h = node8(&s);
        let original = s.drafts[h].routes.text.clone();
        // Typed, not applied (or with an error): undo restores the text in use.
        s.edit(h, Field::Routes, "10.0.0.0/33 dev ens33\n".into());
        assert!(!s.apply(h, Field::Routes));
        assert!(s.can_undo());
        assert!(!s.can_redo());
        assert_eq!(s.undo(), Some((h, Field::Routes)));
        assert_eq!(s.drafts[h].routes.text, original);
        assert!(s.drafts[h].routes.errors.is_empty());
        assert!(s.can_redo());
        assert_eq!(s.redo(), Some((h, Field::Routes)));
        assert_eq!(&*s.drafts[h].routes.text, "10.0.0.0/33 dev ens33\n");
        assert!(!s.drafts[h].routes.errors.is_empty());
        // The verdict's line names the text the packet did not run on.
        assert_eq!(s.texts_with_errors(), ["node8's routes (line 1)"]);
        // Taking the typo back by hand clears its errors.
        s.edit(h, Field::Routes, original.clone());
        assert!(s.apply(h, Field::Routes));
        assert!(s.drafts[h].routes.errors.is_empty());
        assert!(s.texts_with_errors().is_empty());
    }

    #[test]
    fn a_command_keeps_line_numbers_true_to_the_text() {
        let mut s = Session::builtin("article").unwrap();
        let h = node8(&s);
        s.command(
            h,
            "-t nat -I KUBE-SERVICES 1 -d 10.96.100.10/32 -p tcp -j KUBE-MARK-MASQ",
        )
        .unwrap();
        let text = s.drafts[h].rules.text.clone();
        let t = s.trace().unwrap();
        let matched = t
            .steps
            .iter()
            .find_map(|st| match &st.kind {
                StepKind::RuleMatch { chain, rule, .. } if chain == "KUBE-SERVICES" => {
                    Some(rule.clone())
                }
                _ => None,
            })
            .expect("the new rule matches");
        let line = text.lines().nth(matched.line - 1).unwrap();
        assert!(
            line.starts_with("-A KUBE-SERVICES -d 10.96.100.10/32"),
            "{line}"
        );
        assert!(s.command(h, "-t nat -A NOPE -j ACCEPT").is_err());
        // While the text shown has errors, a command (which would change
        // the rules in use, not that text) is refused, and the text stays.
        let broken: Rc<str> = format!("{text}-A BROKEN\n").into();
        s.edit(h, Field::Rules, broken.clone());
        assert!(!s.apply(h, Field::Rules));
        let e = s.command(h, "-t filter -I FORWARD 1 -j DROP").unwrap_err();
        assert!(e.to_string().contains("not the one in use"), "{e}");
        assert_eq!(s.drafts[h].rules.text, broken);
        let in_use = crate::engine::iptables::save::emit(s.world.hosts[h].rules.as_ref().unwrap());
        assert!(!in_use.contains("-A FORWARD -j DROP"), "{in_use}");
    }

    /// Undo and redo over a node dump take the rules they put aside, not
    /// a 12 MB parse on the page's thread.
    #[test]
    fn undo_and_redo_over_large_rules_reuse_the_parsed_rules() {
        let mut s = Session::builtin("article").unwrap();
        let h = node8(&s);
        // The filter table with a chain of 8,000 rules more.
        let many: String = (0..8000)
            .map(|i| format!("-A LEARNER -s 10.0.{}.{}/32 -j RETURN\n", i / 256, i % 256))
            .collect();
        let text = &s.drafts[h].rules.text;
        let filter = text.find("*filter\n").unwrap();
        let commit = filter + text[filter..].find("COMMIT\n").unwrap();
        let big = format!(
            "{}*filter\n:LEARNER - [0:0]\n{}{many}{}",
            &text[..filter],
            &text[filter + 8..commit],
            &text[commit..]
        );
        assert!(big.len() > LARGE_BYTES, "{} bytes", big.len());
        s.edit(h, Field::Rules, big.as_str().into());
        assert!(s.apply(h, Field::Rules));
        let rules = |s: &Session| s.world.hosts[h].rules.clone().unwrap();
        let dump = rules(&s);
        s.command(h, "-I FORWARD 1 -d 172.16.225.112/32 -j DROP")
            .unwrap();
        let commanded = rules(&s);
        assert!(matches!(verdict(&s), Verdict::Dropped { .. }));
        s.undo();
        assert!(
            Rc::ptr_eq(&rules(&s), &dump),
            "undoing the command parsed the dump again"
        );
        assert!(matches!(verdict(&s), Verdict::Delivered { .. }));
        s.redo();
        assert!(
            Rc::ptr_eq(&rules(&s), &commanded),
            "redoing the command parsed again"
        );
        assert!(matches!(verdict(&s), Verdict::Dropped { .. }));
        s.undo();
        s.undo();
        assert!(s.drafts[h].rules.applied.len() < LARGE_BYTES);
        s.redo();
        assert!(
            Rc::ptr_eq(&rules(&s), &dump),
            "redoing the dump parsed it again"
        );
        assert_eq!(&*s.drafts[h].rules.text, big.as_str());
        assert!(matches!(verdict(&s), Verdict::Delivered { .. }));
    }

    /// A cluster sync over a node's dump, undone and redone: the dump
    /// comes back with the rules parsed for it (not parsed again on the
    /// page's thread), on the session's path and on the worker's.
    #[test]
    fn a_cluster_sync_over_a_dump_undone_takes_the_rules_parsed_before() {
        let mut s = Session::builtin("calico-ipip").unwrap();
        // A dump on two nodes (one text each).
        let file = include_str!("../../tests/data/gen-200x3.iptables-save");
        assert!(file.len() > LARGE_BYTES, "{} bytes", file.len());
        let dumps: Vec<(usize, Rc<str>)> = ["node8", "node54"]
            .iter()
            .map(|n| (s.host(n).unwrap(), format!("# {n}'s\n{file}").into()))
            .collect();
        for (h, dump) in &dumps {
            s.edit(*h, Field::Rules, dump.clone());
            assert!(s.apply(*h, Field::Rules));
        }
        let rules = |s: &Session, h: usize| s.world.hosts[h].rules.clone().unwrap();
        let parsed: Vec<_> = dumps.iter().map(|(h, _)| rules(&s, *h)).collect();
        let with_dumps = verdict(&s);
        let c = s.cluster.clone().unwrap();
        let add = FormEdit::AddEndpoint {
            service: "ms-test/flask-ui".into(),
            node: "node51".into(),
        };
        s.edit_cluster(generator::edit(&c.text, add).unwrap().as_str().into());
        assert!(s.apply_cluster());
        // kube-proxy deleted the dumps' Services, which the objects do not
        // have, and the page says the learner's rules went with them.
        assert!(dumps
            .iter()
            .all(|(h, _)| s.drafts[*h].rules.applied.len() < LARGE_BYTES));
        assert!(
            matches!(&s.hand_rules_lost[..], [(a, x), (b, y)] if a == "node8" && b == "node54" && *x > 1000 && *y > 1000),
            "{:?}",
            s.hand_rules_lost
        );
        let undone = |s: &Session, how: &str| {
            for ((h, dump), parsed) in dumps.iter().zip(&parsed) {
                assert_eq!(s.drafts[*h].rules.applied, *dump);
                assert!(
                    Rc::ptr_eq(&rules(s, *h), parsed),
                    "{how} parsed a dump again"
                );
            }
            assert_eq!(
                verdict(s),
                with_dumps,
                "the packet traced again on the dumps"
            );
        };
        assert_eq!(s.undo(), Some((CLUSTER, Field::Rules)));
        undone(&s, "the undo");
        // The worker's path, as the page takes it: redo, then undo with
        // the sync made apart (which counts no rules taken).
        assert_eq!(s.redo(), Some((CLUSTER, Field::Rules)));
        let step = s.take_cluster_step(true).expect("a cluster change");
        let draft = s.cluster.clone().unwrap();
        let r = generator::resync(Some(&draft.applied), &draft.text, &s.world.scenario, None);
        assert!(s.cluster_step_synced(step, true, draft, r));
        undone(&s, "the worker's undo");
    }

    #[test]
    fn the_history_lists_the_last_packets_and_a_reload_replays_them_all() {
        // The handshake, then the same ACK again until the first packets
        // are no longer listed: the listed ones still met the connection
        // the SYN made, in the session and after a reload.
        let mut s = Session::builtin("article").unwrap();
        assert!(s.reply() && s.reply());
        let again = s.again_spec().unwrap();
        for _ in 0..MAX_SENDS + 2 {
            s.send(again.clone());
        }
        let verdicts = |s: &Session| -> Vec<String> {
            (s.sends.iter())
                .map(|x| match &x.trace {
                    Ok(t) => crate::engine::render::table(t),
                    Err(e) => e.clone(),
                })
                .collect()
        };
        assert_eq!(s.sends.len(), MAX_SENDS);
        assert_eq!((s.number(0), s.number(MAX_SENDS - 1)), (6, MAX_SENDS + 5));
        s.select(7, 3);
        let shown = verdicts(&s);
        assert!(
            shown
                .iter()
                .all(|v| v.contains("ESTABLISHED") && v.contains("verdict: delivered")),
            "{}",
            shown[0]
        );
        let saved = s.to_saved();
        assert_eq!(
            (saved.sends.len(), saved.selected),
            (MAX_SENDS + 5, Some((12, 3)))
        );
        let back = Session::from_saved(&saved).unwrap();
        assert_eq!(verdicts(&back), shown);
        assert_eq!((back.selected, back.number(0)), (Some((7, 3)), 6));
        let ct = |s: &Session| {
            s.state
                .conntrack
                .iter()
                .map(|t| t.list(s.state.clock))
                .collect::<Vec<_>>()
        };
        assert_eq!(ct(&back), ct(&s));
        // Forgetting the packets forgets the ones no longer listed too.
        let mut s = back;
        s.clear_sends();
        assert_eq!(s.to_saved().sends.len(), 0);
    }

    /// Past the 2,000 packets replayed, the first are forgotten; a reload
    /// or a link keeps counting from them (its numbers went down by as
    /// many).
    #[test]
    fn forgotten_packets_keep_the_numbers_after_a_reload() {
        let mut s = Session::builtin("article").unwrap();
        s.forgotten = 101;
        let numbers = (s.number(0), s.number(s.sends.len() - 1));
        let back = Session::from_saved(&s.to_saved()).unwrap();
        assert_eq!((back.number(0), back.number(back.sends.len() - 1)), numbers);
        assert_eq!(numbers.0, 102);
    }

    #[test]
    fn bad_text_keeps_the_world_and_the_text() {
        let mut s = Session::builtin("article").unwrap();
        let h = node8(&s);
        let before = s.trace().unwrap().clone();
        let cases: &[(Field, &str, usize)] = &[
            (
                Field::Routes,
                "default via 192.168.11.1 dev ens33\n10.0.0.0/33 dev ens33\n",
                2,
            ),
            (
                Field::Rules,
                "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j NOPE\nCOMMIT\n",
                3,
            ),
            (
                Field::Rules,
                "*nat\n:A - [0:0]\n-A A -j A\n-A PREROUTING -j A\nCOMMIT\n",
                0,
            ),
        ];
        for (field, text, line) in cases {
            s.edit(h, *field, (*text).into());
            assert!(!s.apply(h, *field), "{text} applied");
            let d = s.drafts[h].get(*field);
            assert_eq!(&*d.text, *text, "the text as typed is kept");
            assert!(!d.errors.is_empty());
            if *line > 0 {
                assert_eq!(d.errors[0].line, *line, "{:?}", d.errors);
            }
            assert_eq!(s.trace().unwrap(), &before, "the world is unchanged");
            assert!(s.undo.is_empty(), "a failed edit is not an applied change");
        }
    }

    #[test]
    fn conntrack_carries_over_and_clears() {
        let mut s = Session::builtin("article").unwrap();
        assert!(s.reply());
        let ct_state = |s: &Session| {
            s.trace()
                .unwrap()
                .steps
                .iter()
                .find_map(|st| match &st.kind {
                    StepKind::Conntrack(crate::engine::trace::CtEvent::Lookup {
                        state, ..
                    }) => Some(state.clone()),
                    _ => None,
                })
                .unwrap()
        };
        assert!(ct_state(&s).starts_with("ESTABLISHED"), "{}", ct_state(&s));
        // The same connection again: same source port.
        s.select(0, 0);
        let first = s.again_spec().unwrap();
        s.send(first.clone());
        assert!(ct_state(&s).starts_with("ESTABLISHED"), "{}", ct_state(&s));
        s.clear_conntrack();
        s.send(s.sends[0].spec.clone());
        assert_eq!(ct_state(&s), "NEW; TCP state SYN_SENT");
        assert_eq!(s.sends.len(), 4);
    }

    /// A link, a reload or an export shows what the learner saw: packets
    /// sent before an edit keep the texts they met, a flush of conntrack
    /// stays between the packets it came between, and under typed text
    /// with errors the world runs the last text that applied. (Before,
    /// every packet was replayed on the last texts: the link opened with
    /// #1 and #2 dropped, and #3 dropped after 24 steps instead of 10.)
    #[test]
    fn a_saved_history_traces_as_it_was_seen() {
        let mut s = Session::builtin("article").unwrap();
        assert!(s.reply());
        s.select(0, 0);
        let again = s.again_spec().unwrap();
        s.send(again.clone());
        let h = node8(&s);
        let routes = blackholed(&s.drafts[h].routes.text);
        s.edit(h, Field::Routes, routes.into());
        assert!(s.apply(h, Field::Routes));
        s.clear_conntrack();
        s.send(again);
        s.clear_conntrack();
        // An exported file opens with the same history.
        let file = serde_json::to_string(&s.to_file()).unwrap();
        let sc = Scenario::from_json(&file).unwrap();
        let opened = Session::from_file(sc, Some("article".into())).unwrap();
        assert_eq!(opened.sends.len(), 4);
        for (a, b) in s.sends.iter().zip(&opened.sends) {
            assert_eq!(a.trace, b.trace);
        }
        assert!(opened.flush_next);
        s.edit(h, Field::Rules, "*nat\nbroken\n".into());
        assert!(!s.apply(h, Field::Rules));
        s.select(2, 3);
        let verdicts = |s: &Session| -> Vec<String> {
            (s.sends.iter())
                .map(|x| {
                    let t = x.trace.as_ref().unwrap();
                    format!("{} steps: {:?}", t.steps.len(), t.verdict)
                })
                .collect()
        };
        let seen = verdicts(&s);
        assert!(
            seen[0].contains("Delivered") && seen[1].contains("Delivered"),
            "{seen:?}"
        );
        assert!(
            seen[2].starts_with("10 steps") && seen[2].contains("Dropped"),
            "{seen:?}"
        );
        assert!(seen[3].contains("Dropped"), "{seen:?}");
        let link = share::encode_link(&s.to_saved()).unwrap();
        let back = Session::from_saved(&share::decode_link(&link).unwrap()).unwrap();
        assert_eq!(verdicts(&back), seen);
        for (a, b) in s.sends.iter().zip(&back.sends) {
            assert_eq!(a.trace, b.trace);
        }
        assert_eq!(back.selected, Some((2, 3)));
        // The editor shows the typed text with its errors; the world runs
        // the rules that applied; conntrack is empty, as it was left.
        assert_eq!(&*back.drafts[h].rules.text, "*nat\nbroken\n");
        assert!(!back.drafts[h].rules.errors.is_empty());
        assert_eq!(back.drafts[h].rules.applied, s.drafts[h].rules.applied);
        assert_eq!(back.to_saved(), s.to_saved());
        assert!(back.state.conntrack.iter().all(|t| t.entries.is_empty()));
        assert!(back.flush_next && s.flush_next);
        // Sending once more gives the same packet on both.
        let mut s2 = back;
        let spec = SendSpec::new("curl", "flask-ui", crate::engine::packet::Proto::Tcp);
        s.send(spec.clone());
        s2.send(spec);
        assert_eq!(s.trace(), s2.trace());
    }

    /// A LAN client made for `client:IP` gets editors whose routes text is
    /// its own (its source address, not the template's): an edit of it
    /// applies.
    #[test]
    fn a_made_client_has_its_own_routes_text() {
        let mut s = Session::builtin("article").unwrap();
        s.send(SendSpec::new(
            "client:192.168.11.201",
            "flask-ui",
            crate::engine::packet::Proto::Tcp,
        ));
        let h = s.host("client-192.168.11.201").expect("made");
        let text = s.drafts[h].routes.text.to_string();
        assert!(
            text.contains("src 192.168.11.201") && !text.contains("src 192.168.11.200"),
            "{text}"
        );
        s.edit(
            h,
            Field::Routes,
            format!("{text}10.77.0.0/16 via 192.168.11.1 dev eth0\n").into(),
        );
        assert!(s.apply(h, Field::Routes), "{:?}", s.drafts[h].routes.errors);
    }

    /// An autosave keeps undo and redo: after a reload, Undo takes the
    /// last edit back (a link does not carry them).
    #[test]
    fn undo_survives_an_autosave() {
        let mut s = Session::builtin("article").unwrap();
        let h = node8(&s);
        let original = s.drafts[h].routes.text.clone();
        let edited = blackholed(&original);
        s.edit(h, Field::Routes, edited.as_str().into());
        assert!(s.apply(h, Field::Routes));
        let (undo, redo) = s.undo_steps(1 << 20);
        assert!(s.to_saved().undo.is_empty(), "a link carries no undo");
        let back = Session::from_saved(&Saved {
            undo,
            redo,
            ..s.to_saved()
        })
        .unwrap();
        let mut back = back;
        assert!(back.can_undo());
        assert_eq!(back.undo(), Some((h, Field::Routes)));
        assert_eq!(back.drafts[h].routes.applied, original);
        assert_eq!(
            verdict(&back),
            verdict(&Session::builtin("article").unwrap())
        );
        // Nothing is kept that does not fit.
        assert!(s.undo_steps(10).0.is_empty());
    }

    /// A link's or a file's counts are checked before anything is made of
    /// them: eras said to cover more packets than there are (an allocation
    /// of 600 million configurations, before), flushes after packets that
    /// are not there.
    #[test]
    fn a_saved_sessions_counts_are_checked() {
        let mut s = Session::builtin("article").unwrap();
        s.send(SendSpec::new(
            "curl",
            "flask-ui",
            crate::engine::packet::Proto::Tcp,
        ));
        let good = s.to_saved();
        for (saved, says) in [
            (
                Saved {
                    eras: vec![crate::engine::scenario::Era {
                        sends: 600_000_000,
                        edits: Vec::new(),
                    }],
                    ..good.clone()
                },
                "met more packets than the 2 it holds",
            ),
            (
                Saved {
                    eras: vec![
                        crate::engine::scenario::Era {
                            sends: usize::MAX,
                            edits: Vec::new(),
                        };
                        2
                    ],
                    ..good.clone()
                },
                "met more packets than the 2 it holds",
            ),
            (
                Saved {
                    flushes: vec![3],
                    ..good.clone()
                },
                "a conntrack flush after packet 3, but holds only 2 packets",
            ),
        ] {
            let Err(err) = Session::from_saved(&saved) else {
                panic!("opened: {says}");
            };
            assert!(err.contains(says), "{err}");
        }
        assert!(Session::from_saved(&good).is_ok());
    }

    #[test]
    fn saved_sessions_come_back_the_same() {
        let mut s = Session::builtin("article").unwrap();
        let h = node8(&s);
        let edited = blackholed(&s.drafts[h].routes.text);
        s.edit(h, Field::Routes, edited.into());
        s.apply(h, Field::Routes);
        s.send(SendSpec::new(
            "curl",
            "flask-ui",
            crate::engine::packet::Proto::Tcp,
        ));
        s.select(0, 7);
        // Text that does not apply is saved too.
        s.edit(h, Field::Rules, "*nat\nbroken\n".into());
        s.apply(h, Field::Rules);
        let saved = s.to_saved();
        let back = Session::from_saved(&saved).unwrap();
        assert_eq!(back.selected, Some((0, 7)));
        assert_eq!(back.sends.len(), 2);
        for (a, b) in s.sends.iter().zip(&back.sends) {
            assert_eq!(a.trace, b.trace);
        }
        assert_eq!(back.drafts[h].routes.text, s.drafts[h].routes.text);
    }

    #[test]
    fn forcing_a_statistic_branch_changes_the_endpoint() {
        let mut s = Session::builtin("article").unwrap();
        let h = node8(&s);
        // Two endpoints: the first taken with probability 0.5.
        let rules = s.drafts[h].rules.text.to_string();
        let svc = rules
            .lines()
            .find(|l| l.contains("-j KUBE-SEP-") && l.starts_with("-A KUBE-SVC-"))
            .expect("a service rule")
            .to_string();
        let chain = svc.split_whitespace().nth(1).unwrap().to_string();
        let two = rules
            .replace(
                &svc,
                &format!(
                    "-A {chain} -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-X\n{svc}"
                ),
            )
            .replacen(
                ":KUBE-SVC-",
                ":KUBE-SEP-X - [0:0]\n:KUBE-SVC-",
                1,
            )
            .replacen(
                "\n-A KUBE-SVC-",
                "\n-A KUBE-SEP-X -p tcp -j DNAT --to-destination 172.16.3.70:80\n-A KUBE-SVC-",
                1,
            );
        s.edit(h, Field::Rules, two.into());
        assert!(s.apply(h, Field::Rules), "{:?}", s.drafts[h].rules.errors);
        let stat = s
            .trace()
            .unwrap()
            .steps
            .iter()
            .position(|st| matches!(st.kind, StepKind::Statistic { .. }))
            .expect("a statistic step");
        let dst = |s: &Session| s.trace().unwrap().steps.last().unwrap().packet.ip.dst;
        let first = dst(&s);
        assert!(s.force_other_branch(0, stat));
        let second = dst(&s);
        assert_ne!(first, second);
        assert!(s.force_other_branch(0, stat));
        assert_eq!(dst(&s), first);
    }

    /// After SYN and SYN-ACK, the client's next segment on the connection
    /// goes on from both: its ISN + 1, and the server's + 1.
    #[test]
    fn the_next_segment_is_numbered_on_from_both_sides() {
        let mut s = Session::builtin("article").unwrap();
        assert!(s.reply(), "the SYN-ACK");
        let tcp = |s: &Session, t: usize| match s.sends[t].trace.as_ref().unwrap().steps[0]
            .packet
            .transport
        {
            crate::engine::packet::Transport::Tcp { seq, ack, .. } => (seq, ack),
            ref t => panic!("{t:?}"),
        };
        let (isn, _) = tcp(&s, 0);
        let (server_isn, acked) = tcp(&s, 1);
        assert_eq!(acked, isn.wrapping_add(1));
        s.select(0, 0);
        assert_eq!(
            s.next_segment_numbers(),
            (Some(isn.wrapping_add(1)), Some(server_isn.wrapping_add(1)))
        );
    }

    /// Flannel's pods with a 1500 MTU: a full-size segment is refused at
    /// flannel.1, and the kernel's answer names 1450. A cluster change that
    /// makes the tunnel's MTU another (a smaller podMTU, so the pod itself
    /// sends less) sends the answer again as the kernel makes it then.
    #[test]
    fn a_cluster_change_sends_the_kernels_answer_as_it_is_made_then() {
        let mut s = Session::builtin("flannel-vxlan").unwrap();
        let yaml = s.cluster.as_ref().unwrap().text.to_string();
        let wrong = yaml.replace(
            "mode: flannel-vxlan\n",
            "mode: flannel-vxlan\npodMTU: 1500\n",
        );
        s.edit_cluster(wrong.as_str().into());
        assert!(s.apply_cluster());
        let mut spec = SendSpec::new("curl", "10.244.1.7:80", crate::engine::packet::Proto::Tcp);
        spec.payload_len = 1460;
        spec.flags = crate::engine::packet::TcpFlags::parse_list("ACK")
            .map(crate::engine::packet::TcpFlags::from_bits);
        s.send(spec);
        assert!(s.reply(), "the kernel's answer goes back");
        let mtu = |s: &Session| match s.trace().unwrap().steps[0].packet.transport {
            crate::engine::packet::Transport::Icmp { seq, .. } => seq,
            ref t => panic!("{t:?}"),
        };
        assert_eq!(mtu(&s), 1450);
        // A route mtu of 1400 on node8's way to node51's pods: the
        // answer the kernel makes now names 1400.
        let n8 = s.host("node8").unwrap();
        let routes = s.drafts[n8].routes.text.to_string();
        let smaller = routes.replace(
            "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink",
            "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink mtu 1400",
        );
        assert_ne!(smaller, routes);
        s.edit(n8, Field::Routes, smaller.as_str().into());
        assert!(s.apply(n8, Field::Routes));
        // A change to the cluster (the hairpin mode) sends every packet again.
        s.edit_cluster(
            wrong
                .replace("podMTU: 1500\n", "podMTU: 1500\nhairpinMode: false\n")
                .as_str()
                .into(),
        );
        assert!(s.apply_cluster());
        let last = s.sends.len() - 1;
        s.select(last, 0);
        assert_eq!(
            mtu(&s),
            1400,
            "the answer as node8 makes it after the change"
        );
    }

    /// The cluster's YAML is the learner's lever: edits regenerate the
    /// nodes, bad YAML is kept with located errors, and a link carries the
    /// change.
    #[test]
    fn cluster_edits_regenerate_keep_bad_yaml_and_survive_a_link() {
        let mut s = Session::builtin("calico-ipip").unwrap();
        let yaml = s.cluster.as_ref().unwrap().text.to_string();
        let node8 = s.host("node8").unwrap();
        let rules = |s: &Session| s.drafts[s.host("node8").unwrap()].rules.text.to_string();
        assert!(rules(&s).contains("--probability 0.33333333349"));

        // Bad YAML: kept, located, the world unchanged.
        let before = rules(&s);
        s.edit_cluster(
            yaml.replace("mode: calico-ipip", "mode: weave")
                .as_str()
                .into(),
        );
        assert!(!s.apply_cluster());
        let c = s.cluster.as_ref().unwrap();
        assert!(c.text.contains("mode: weave"), "the typed text is kept");
        assert_eq!(c.errors[0].line, 8);
        assert_eq!(rules(&s), before);
        assert_eq!(s.host("node8"), Some(node8));

        // Flannel VXLAN instead: flannel.1 appears, the packet is traced again.
        let flannel = yaml.replace("mode: calico-ipip", "mode: calico-vxlan");
        s.edit_cluster(flannel.as_str().into());
        assert!(s.apply_cluster());
        let h = &s.world.hosts[s.host("node8").unwrap()];
        assert!(h.spec.devices.iter().any(|d| d.name == "vxlan.calico"));
        assert!(!s.cluster.as_ref().unwrap().diffs.is_empty());
        assert_eq!(s.sends.len(), 1, "the preset packet, traced again");

        // A link rebuilds the same world.
        let saved = s.to_saved();
        assert!(saved.cluster.is_some());
        let back = Session::from_saved(&saved).unwrap();
        assert_eq!(back.to_saved(), s.to_saved());
        assert_eq!(
            back.cluster.as_ref().unwrap().text,
            s.cluster.as_ref().unwrap().text
        );
    }

    /// Export then Import gives the same session: the cluster's objects
    /// (so the form and the sync work), the packets sent, the texts; for a
    /// plain scenario too. The file is a scenario the command line reads.
    #[test]
    fn a_file_keeps_the_cluster_and_the_packets_sent() {
        for name in ["calico-ipip", "article"] {
            let mut s = Session::builtin(name).unwrap();
            if let Some(c) = &s.cluster {
                let yaml = c.text.replace("mode: calico-ipip", "mode: calico-vxlan");
                s.edit_cluster(yaml.as_str().into());
                assert!(s.apply_cluster(), "{name}");
            }
            let reply = s.reply_spec().expect("the preset is delivered");
            s.send(reply);
            let file = s.to_file();
            let json = file.to_json();
            let read = Scenario::from_json(&json).unwrap();
            World::build(&read).unwrap_or_else(|e| panic!("{name}: the command line's view: {e}"));
            let back = Session::from_file(read, None).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                back.cluster.as_ref().map(|c| c.applied.clone()),
                s.cluster.as_ref().map(|c| c.applied.clone()),
                "{name}"
            );
            let verdicts = |s: &Session| -> Vec<String> {
                s.sends
                    .iter()
                    .map(|x| format!("{:?}", x.trace.as_ref().map(|t| t.verdict.clone())))
                    .collect()
            };
            assert_eq!(back.sends.len(), 2, "{name}");
            assert_eq!(verdicts(&back), verdicts(&s), "{name}");
            let node8 = |s: &Session| s.drafts[s.host("node8").unwrap()].rules.applied.clone();
            assert_eq!(node8(&back), node8(&s), "{name}");
        }

        // A built-in cluster whose objects changed without changing its
        // shape (Import keeps it as that built-in), with a hand edit in a
        // KUBE- chain: the file opens as it was, not synced a second time.
        let mut s = Session::builtin("calico-ipip").unwrap();
        let yaml = first_endpoint_unready(&mut s);
        let h = s.host("node8").unwrap();
        let mine = s.drafts[h].rules.applied.replacen(
            "-A KUBE-SERVICES ",
            "-A KUBE-SERVICES -d 10.99.99.99/32 -j RETURN\n-A KUBE-SERVICES ",
            1,
        );
        s.edit(h, Field::Rules, mine.as_str().into());
        assert!(s.apply(h, Field::Rules));
        let file = Scenario::from_json(&s.to_file().to_json()).unwrap();
        let back = Session::from_file(file, Some("calico-ipip".into())).unwrap();
        assert_eq!(&*back.drafts[h].rules.applied, mine.as_str());
        let c = back.cluster.as_ref().unwrap();
        assert_eq!(&*c.applied, yaml.as_str());
        assert!(
            !c.pending() && c.base.is_some(),
            "kept as the built-in's, changed"
        );
        assert!(back.undo.is_empty(), "opening a file is not an edit");
        // It opens as the page showed it when it was exported.
        let mut file = Scenario::from_json(&s.to_file().to_json()).unwrap();
        let page = crate::engine::scenario::PageView {
            selected: Some((0, 5)),
            editor: Some("node54".into()),
            view: Some("ct".into()),
            form: None,
        };
        file.page = Some(page);
        let file = Scenario::from_json(&file.to_json()).unwrap();
        let back = Session::from_file(file, Some("calico-ipip".into())).unwrap();
        assert_eq!(back.selected, Some((0, 5)));
        assert_eq!(
            (back.saved_editor.as_deref(), back.saved_view.as_deref()),
            (Some("node54"), Some("ct"))
        );

        // A file whose objects do not read opens with its nodes, and the
        // YAML's errors shown at their line (before: "in sync", no form).
        let mut file = Scenario::from_json(&s.to_file().to_json()).unwrap();
        file.cluster = file
            .cluster
            .map(|y| y.replacen("podCIDR: 172.16.3.64/26", "podCIDR: 172.16.3.64/33", 1));
        let back = Session::from_file(file, Some("calico-ipip".into())).unwrap();
        let c = back.cluster.as_ref().unwrap();
        assert!(
            c.errors
                .iter()
                .any(|e| e.line == 32 && e.message.contains("not an IPv4 CIDR")),
            "{:?}",
            c.errors
        );
        assert!(back.sync_due());
    }

    /// A cluster sync keeps what is typed in a host's editor and not
    /// applied yet (before, the new session replaced it).
    #[test]
    fn a_cluster_sync_keeps_typed_host_text() {
        let mut s = Session::builtin("calico-ipip").unwrap();
        let h = s.host("node54").unwrap();
        let typed = format!("{}10.0.0.0/33 dev eth0\n", s.drafts[h].routes.text);
        s.edit(h, Field::Routes, typed.as_str().into());
        first_endpoint_unready(&mut s);
        let h = s.host("node54").unwrap();
        assert_eq!(&*s.drafts[h].routes.text, typed.as_str());
        assert!(s.drafts[h].routes.pending());
        // The page is told that text predates the sync.
        assert_eq!(s.typed_over_sync, ["node54's routes"]);
    }

    /// Objects applied, then typed with an error: a reload runs the ones
    /// applied and shows the typed ones with their error (before, it ran
    /// the built-in objects under the host edits counted from the applied).
    #[test]
    fn a_saved_cluster_keeps_the_objects_in_use_under_typed_errors() {
        let mut s = Session::builtin("calico-ipip").unwrap();
        let yaml = first_endpoint_unready(&mut s);
        let broken = yaml.replacen("podCIDR: 172.16.3.64/26", "podCIDR: 172.16.3.64/33", 1);
        s.edit_cluster(broken.as_str().into());
        assert!(!s.apply_cluster());
        let back = Session::from_saved(&s.to_saved()).unwrap();
        let c = back.cluster.as_ref().unwrap();
        assert_eq!((&*c.applied, &*c.text), (yaml.as_str(), broken.as_str()));
        assert!(!c.errors.is_empty());
        let h = s.host("node8").unwrap();
        assert_eq!(back.drafts[h].rules.applied, s.drafts[h].rules.applied);
        assert_eq!(back.to_saved(), s.to_saved());
    }

    /// A cluster change sends every packet again; a packet it gives another
    /// verdict keeps the trace it had, for the history to show.
    #[test]
    fn a_cluster_change_keeps_the_verdict_it_changed() {
        let mut s = Session::builtin("calico-ipip").unwrap();
        assert!(matches!(
            s.sends[0].trace.as_ref().unwrap().verdict,
            Verdict::Delivered { .. }
        ));
        let yaml = s.cluster.as_ref().unwrap().text.to_string();
        let no_endpoints = yaml.replace("conditions: {ready: true}", "conditions: {ready: false}");
        s.edit_cluster(no_endpoints.as_str().into());
        assert!(s.apply_cluster());
        let now = &s.sends[0];
        assert!(
            matches!(now.trace.as_ref().unwrap().verdict, Verdict::Dropped { .. }),
            "no ready endpoint"
        );
        let was = now
            .before_sync
            .as_ref()
            .expect("the verdict it had")
            .as_ref()
            .unwrap();
        assert!(matches!(was.verdict, Verdict::Delivered { .. }));
        // A change that leaves the verdict as it is says nothing.
        s.edit_cluster(format!("{no_endpoints}# a note\n").as_str().into());
        assert!(s.apply_cluster());
        assert!(s.sends[0].before_sync.is_none());
    }

    /// A rule the learner added to kube-proxy's chains goes with a cluster
    /// change (kube-proxy's sync replaces the chain); the change undone,
    /// the rule is back, as before the change (it stayed gone).
    #[test]
    fn undoing_a_cluster_change_puts_the_learners_rules_back() {
        let mut s = Session::builtin("calico-ipip").unwrap();
        let yaml = s.cluster.as_ref().unwrap().text.to_string();
        let h = s.host("node8").unwrap();
        let rules = |s: &Session| s.drafts[s.host("node8").unwrap()].rules.text.to_string();
        let mine = "-A KUBE-SERVICES -s 10.99.0.0/16 -m comment --comment MY-EDIT -j RETURN";
        let edited = rules(&s).replacen(
            "-A KUBE-SERVICES ",
            &format!("{mine}\n-A KUBE-SERVICES "),
            1,
        );
        s.edit(h, Field::Rules, edited.as_str().into());
        assert!(s.apply(h, Field::Rules));
        let c = Cluster::from_yaml(&yaml).unwrap();
        let one_less = remove_endpoint(&yaml, c.slices[0].endpoints[1].line).unwrap();
        s.edit_cluster(one_less.as_str().into());
        assert!(s.apply_cluster());
        let synced = rules(&s);
        assert!(
            !synced.contains("MY-EDIT"),
            "kube-proxy's sync replaced KUBE-SERVICES"
        );
        assert_eq!(
            s.hand_rules_lost,
            [("node8".to_string(), 1)],
            "and it is said"
        );
        assert_eq!(s.undo().map(|x| x.0), Some(CLUSTER));
        assert_eq!(
            rules(&s),
            edited,
            "undo: the rules as they were, the learner's rule in them"
        );
        assert_eq!(s.redo().map(|x| x.0), Some(CLUSTER));
        assert_eq!(rules(&s), synced);
        // The same undo as the page makes it over a node dump (the sync in
        // a worker).
        let c = s.take_cluster_step(true).expect("a cluster change");
        let draft = s.cluster.clone().unwrap();
        let r = generator::resync(
            Some(&draft.applied),
            &draft.text,
            &s.world.scenario,
            s.base.as_deref(),
        );
        assert!(s.cluster_step_synced(c, true, draft, r));
        assert_eq!(rules(&s), edited);
        // And the learner's own edit is undone after it, as before.
        assert_eq!(s.undo(), Some((h, Field::Rules)));
        assert!(!rules(&s).contains("MY-EDIT"));
        // After a reload too: the autosave keeps the texts the undo puts
        // back (the rule stayed gone).
        s.redo();
        s.redo();
        assert_eq!(rules(&s), synced);
        let (undo, redo) = s.undo_steps(1 << 20);
        let mut back = Session::from_saved(&Saved {
            undo,
            redo,
            ..s.to_saved()
        })
        .unwrap();
        assert_eq!(back.undo().map(|x| x.0), Some(CLUSTER));
        assert_eq!(rules(&back), edited, "undo after a reload");
    }

    /// Cluster edits are undone and redone like the editors' texts.
    #[test]
    fn cluster_edits_undo_and_redo() {
        let mut s = Session::builtin("calico-ipip").unwrap();
        let yaml = s.cluster.as_ref().unwrap().text.to_string();
        let rules = |s: &Session| s.drafts[s.host("node8").unwrap()].rules.text.to_string();
        let three = rules(&s);
        let c = Cluster::from_yaml(&yaml).unwrap();
        let one_less = remove_endpoint(&yaml, c.slices[0].endpoints[1].line).unwrap();
        s.edit_cluster(one_less.as_str().into());
        assert!(s.apply_cluster());
        assert!(s.hand_rules_lost.is_empty(), "{:?}", s.hand_rules_lost);
        let two = rules(&s);
        assert!(two.contains("0.50000000000") && !two.contains("0.33333333349"));
        assert!(s.can_undo());
        assert_eq!(s.undo().map(|x| x.0), Some(CLUSTER));
        assert_eq!(rules(&s), three, "undo brings the third endpoint back");
        assert_eq!(&*s.cluster.as_ref().unwrap().text, yaml.as_str());
        assert_eq!(s.redo().map(|x| x.0), Some(CLUSTER));
        assert_eq!(rules(&s), two);
        // The same two steps as the page makes them over a node dump: the
        // change taken off its stack, synced elsewhere, then put in place.
        let sync_step = |s: &mut Session, undo: bool| {
            let c = s.take_cluster_step(undo).expect("a cluster change");
            let draft = s.cluster.clone().unwrap();
            let r = generator::resync(
                Some(&draft.applied),
                &draft.text,
                &s.world.scenario,
                s.base.as_deref(),
            );
            assert!(s.cluster_step_synced(c, undo, draft, r));
        };
        sync_step(&mut s, true);
        assert_eq!(
            rules(&s),
            three,
            "undo made in two steps brings the third endpoint back"
        );
        assert!(
            s.can_redo() && s.take_cluster_step(true).is_none(),
            "nothing more to undo"
        );
        sync_step(&mut s, false);
        assert_eq!(rules(&s), two);
        assert!(s.can_undo() && !s.can_redo());
        // An undo overtaken by an edit (typed into the YAML it put back)
        // goes back on its stack, and the edit is recorded after it.
        let c = s.take_cluster_step(true).unwrap();
        s.edit_cluster(format!("{yaml}# a note\n").as_str().into());
        s.untake_cluster_step(c);
        assert!(s.apply_cluster());
        assert_eq!(rules(&s), three, "the typed YAML has three endpoints");
        s.undo();
        assert_eq!(
            &*s.cluster.as_ref().unwrap().text,
            one_less.as_str(),
            "undo: the YAML before the edit"
        );
        assert_eq!(rules(&s), two);
        s.undo();
        assert_eq!(
            &*s.cluster.as_ref().unwrap().text,
            yaml.as_str(),
            "then the overtaken undo"
        );
        assert_eq!(rules(&s), three);
        s.redo();
        assert_eq!(rules(&s), two);
        // Bad YAML typed: undo takes the typed text back first.
        s.edit_cluster("kind: [".into());
        assert!(!s.apply_cluster());
        s.undo();
        assert_eq!(&*s.cluster.as_ref().unwrap().text, one_less.as_str());
        assert!(s.cluster.as_ref().unwrap().errors.is_empty());
    }
}
