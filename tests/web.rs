//! Browser tests: the engine and the page, inside headless Chromium.
//!
//! Run with
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web`
//! (`.cargo/config.toml` makes `wasm-bindgen-test-runner` the runner and
//! `webdriver.json` gives Chromium its flags).

#![cfg(target_arch = "wasm32")]

use packetwalk::engine::packet::Proto;
use packetwalk::engine::scenario;
use packetwalk::engine::trace::{NatKind, StepKind, Trace, Verdict};
use packetwalk::engine::{send, SendSpec, SimState, World};
use packetwalk::ui::model::header_changes;
use std::net::Ipv4Addr;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlSelectElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Builds a built-in scenario and sends its preset packet.
fn preset_trace(name: &str) -> Trace {
    let sc = scenario::builtin(name).expect("built-in scenario");
    let preset = sc.preset.clone().expect("a preset packet");
    let mut world = World::build(&sc).unwrap_or_else(|e| panic!("{name} does not build: {e}"));
    let mut state = SimState::new(&world);
    let spec = SendSpec::new(&preset.from, &preset.to, preset.proto.unwrap_or(Proto::Tcp));
    send(&mut world, &mut state, &spec).expect("the preset packet is sent")
}

/// The index of the first DNAT step of a trace.
fn dnat_step(t: &Trace) -> usize {
    t.steps
        .iter()
        .position(|s| {
            matches!(
                s.kind,
                StepKind::Nat {
                    nat: NatKind::Dnat,
                    ..
                }
            )
        })
        .expect("a DNAT step")
}

fn dnat_to(t: &Trace, addr: Ipv4Addr, port: u16) -> bool {
    t.steps.iter().any(|s| {
        matches!(&s.kind, StepKind::Nat { nat: NatKind::Dnat, after, .. }
            if after.addr == addr && after.port == Some(port))
    })
}

fn transmits_on(t: &Trace, dev: &str) -> bool {
    t.steps
        .iter()
        .any(|s| matches!(&s.kind, StepKind::Transmit { dev: d, .. } if d == dev))
}

#[wasm_bindgen_test]
fn engine_article_delivers_to_flask_ui() {
    let t = preset_trace("article");
    match &t.verdict {
        Verdict::Delivered { ns, .. } => assert_eq!(ns, "flask-ui-6c9f7d8b5d-x2k4p"),
        v => panic!("expected delivery, got {v:?}"),
    }
    assert!(
        dnat_to(&t, Ipv4Addr::new(172, 16, 225, 112), 80),
        "no DNAT to 172.16.225.112:80"
    );
    assert!(
        transmits_on(&t, "cali71ca141a178"),
        "nothing transmitted on cali71ca141a178"
    );
    assert!(t
        .chains()
        .iter()
        .any(|c| c == "node8/nat/KUBE-SEP-IWORYNCAYHBSQHXU"));
}

#[wasm_bindgen_test]
fn engine_article_remote_encapsulates_to_node54() {
    let t = preset_trace("article-remote");
    match &t.verdict {
        Verdict::Delivered { ns, .. } => assert!(ns.starts_with("flask-ui-"), "delivered in {ns}"),
        v => panic!("expected delivery, got {v:?}"),
    }
    assert!(
        dnat_to(&t, Ipv4Addr::new(172, 16, 3, 70), 80),
        "no DNAT to 172.16.3.70:80"
    );
    let encap = t.steps.iter().find_map(|s| match &s.kind {
        StepKind::Encap { dev, outer } => Some((s.ns.clone(), dev.clone(), outer.clone())),
        _ => None,
    });
    let (ns, dev, outer) = encap.expect("an Encap step");
    assert_eq!((ns.as_str(), dev.as_str()), ("node8", "tunl0"));
    assert_eq!(outer.src, Ipv4Addr::new(192, 168, 11, 58));
    assert_eq!(outer.dst, Ipv4Addr::new(192, 168, 11, 54));
    assert_eq!(outer.protocol, Proto::Ipip);
}

#[wasm_bindgen_test]
fn header_changes_name_the_rewritten_fields() {
    let t = preset_trace("article");
    let i = dnat_step(&t);
    assert_eq!(
        header_changes(&t.steps[i - 1].packet, &t.steps[i].packet),
        vec!["dst 10.96.100.10:80 → 172.16.225.112:80".to_string()]
    );
    let r = preset_trace("article-remote");
    let i = r
        .steps
        .iter()
        .position(|s| matches!(s.kind, StepKind::Encap { .. }))
        .expect("an Encap step");
    assert_eq!(
        header_changes(&r.steps[i - 1].packet, &r.steps[i].packet),
        vec!["+ outer header 192.168.11.58 → 192.168.11.54 (IPIP)".to_string()]
    );
}

/// A fresh `<div>` in the test page's body.
fn fresh_root() -> Element {
    let doc = web_sys::window().unwrap().document().unwrap();
    let div = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&div).unwrap();
    div
}

/// Waits (up to 5 s) until the element's text contains `needle`.
async fn wait_for_text(root: &Element, needle: &str) -> String {
    for _ in 0..100 {
        let text = root.text_content().unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        yew::platform::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "\"{needle}\" never appeared; the page says:\n{}",
        root.text_content().unwrap_or_default()
    );
}

/// Mounts the whole page with no autosave left by an earlier test.
fn mount_page() -> (Element, yew::AppHandle<packetwalk::ui::App>) {
    let window = web_sys::window().unwrap();
    window.local_storage().unwrap().unwrap().clear().unwrap();
    // A scenario an earlier test picked is in the address (`?scenario=`):
    // each test starts from the default one.
    let path = window.location().pathname().unwrap();
    window
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path))
        .unwrap();
    let root = fresh_root();
    let app = packetwalk::ui::mount(root.clone());
    (root, app)
}

fn count(root: &Element, css: &str) -> usize {
    root.query_selector_all(css).unwrap().length() as usize
}

fn fire(el: &Element, kind: &str) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict(kind, &init).unwrap();
    el.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn page_shows_the_article_trace_and_verdict() {
    let (root, app) = mount_page();
    let text = wait_for_text(&root, "Delivered.").await;
    for needle in [
        "Packet Walk",
        "KUBE-SVC-7RUAH544RSSBQYKK",
        "KUBE-SEP-IWORYNCAYHBSQHXU",
        "cali71ca141a178",
        "a socket in flask-ui-6c9f7d8b5d-x2k4p",
    ] {
        assert!(text.contains(needle), "the page lacks \"{needle}\"");
    }
    // One event per step; DNAT and MASQUERADE rows are marked.
    assert_eq!(
        count(&root, ".event-list .event"),
        preset_trace("article").steps.len()
    );
    assert!(count(&root, ".event.row-nat") >= 2);
    // The first step is selected and its headers are shown.
    assert_eq!(count(&root, ".event.selected"), 1);
    assert!(count(&root, "#headers .hdr") >= 3);
    app.destroy();
}

#[wasm_bindgen_test]
async fn picking_a_scenario_recomputes_the_trace() {
    let window = web_sys::window().unwrap();
    let url = window.location().href().unwrap();
    let (root, app) = mount_page();
    wait_for_text(&root, "KUBE-SEP-IWORYNCAYHBSQHXU").await;
    let select: HtmlSelectElement = root
        .query_selector("#scenario-picker")
        .unwrap()
        .expect("a scenario picker")
        .dyn_into()
        .unwrap();
    select.set_value("article-remote");
    fire(&select, "change");
    let text = wait_for_text(&root, "KUBE-SEP-RYRWZACDTG7E36MG").await;
    assert!(text.contains("Delivered."));
    let list = root.query_selector(".event-list").unwrap().unwrap();
    let list_text = list.text_content().unwrap_or_default();
    assert!(list_text.contains("encapsulates (IPIP)"), "{list_text}");
    assert!(
        !list_text.contains("KUBE-SEP-IWORYNCAYHBSQHXU"),
        "the old trace is gone"
    );
    assert!(window
        .location()
        .search()
        .unwrap()
        .contains("scenario=article-remote"));
    window
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
        .unwrap();
    app.destroy();
}

#[wasm_bindgen_test]
async fn typing_a_route_applies_it_and_bad_text_is_kept() {
    let (root, app) = mount_page();
    wait_for_text(&root, "Delivered.").await;
    let area: web_sys::HtmlTextAreaElement = root
        .query_selector("#routes-node8")
        .unwrap()
        .expect("node8's route editor")
        .dyn_into()
        .unwrap();
    let routes = area.value();
    // A typo first: the error is shown at its line, the text stays, the
    // packet keeps the last valid routes.
    let bad = routes.replace("172.16.225.112 dev", "172.16.225.300 dev");
    area.set_value(&bad);
    fire(&area, "input");
    let text = wait_for_text(&root, "The last valid routes stay in use").await;
    let line = bad.lines().position(|l| l.contains(".300")).unwrap() + 1;
    assert!(
        text.contains(&format!("1 error in the routes: the first at line {line}")),
        "{text}"
    );
    assert_eq!(area.value(), bad);
    assert!(text.contains("Delivered."));
    assert_eq!(count(&root, ".gutter .ln-err"), 1);
    // Then a valid edit: the pod's route becomes a blackhole.
    let edited = routes.replace(
        "172.16.225.112 dev cali71ca141a178 scope link",
        "blackhole 172.16.225.112",
    );
    area.set_value(&edited);
    fire(&area, "input");
    let text = wait_for_text(&root, "Dropped.").await;
    assert!(text.contains("blackhole"), "{text}");
    // Undo brings the delivery back.
    let undo: web_sys::HtmlElement = root
        .query_selector("#undo")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    undo.click();
    wait_for_text(&root, "Delivered.").await;
    app.destroy();
}

#[wasm_bindgen_test]
async fn header_view_marks_the_rewritten_field_with_its_old_value() {
    use packetwalk::ui::headers::{HeaderProps, HeaderView};
    let t = std::rc::Rc::new(preset_trace("article"));
    let dnat = dnat_step(&t);
    let root = fresh_root();
    let app = yew::Renderer::<HeaderView>::with_root_and_props(
        root.clone(),
        HeaderProps {
            trace: t.clone(),
            step: dnat,
            children: yew::Html::default(),
        },
    )
    .render();
    wait_for_text(&root, "172.16.225.112").await;
    let changed: Vec<String> = (0..root.query_selector_all(".field.changed").unwrap().length())
        .map(|i| {
            root.query_selector_all(".field.changed")
                .unwrap()
                .get(i)
                .unwrap()
                .text_content()
                .unwrap()
        })
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].starts_with("dst172.16.225.112"), "{changed:?}");
    assert!(changed[0].contains("was 10.96.100.10"), "{changed:?}");
    let nat = root.query_selector(".nat-line").unwrap().unwrap();
    assert!(nat
        .text_content()
        .unwrap()
        .contains("10.96.100.10:80 → 172.16.225.112:80"));
    app.destroy();
}

#[wasm_bindgen_test]
async fn event_list_filters_hide_rule_skips_and_devices() {
    use packetwalk::ui::events::{EventList, EventListProps};
    use packetwalk::ui::model::Filters;
    let t = std::rc::Rc::new(preset_trace("article"));
    let filters = Filters {
        hide_skips: true,
        hide_devices: true,
        ..Filters::default()
    };
    let root = fresh_root();
    let app = yew::Renderer::<EventList>::with_root_and_props(
        root.clone(),
        EventListProps {
            trace: t.clone(),
            selected: 0,
            upto: None,
            filters,
            onselect: yew::Callback::noop(),
            onfilters: yew::Callback::noop(),
        },
    )
    .render();
    wait_for_text(&root, "KUBE-SERVICES").await;
    let shown = count(&root, ".event");
    assert_eq!(shown, filters.visible(&t).len());
    assert!(shown < t.steps.len());
    assert_eq!(count(&root, ".event.row-skipped"), 0);
    app.destroy();

    // An exercise lists the steps as far as the learner has reached (the
    // fifth), not the rest.
    let root = fresh_root();
    let app = yew::Renderer::<EventList>::with_root_and_props(
        root.clone(),
        EventListProps {
            trace: t.clone(),
            selected: 4,
            upto: Some(4),
            filters: Filters::default(),
            onselect: yew::Callback::noop(),
            onfilters: yew::Callback::noop(),
        },
    )
    .render();
    wait_for_text(&root, "client").await;
    assert_eq!(count(&root, ".event"), 5);
    app.destroy();
}

// ---- Large dumps: the virtualised list and the chunked import ----

#[allow(dead_code)]
#[path = "../benches/kube_dump.rs"]
mod kube_dump;

use packetwalk::engine::error::Errors;
use packetwalk::engine::iptables::{save, Ruleset};
use packetwalk::ui::import::parse_in_chunks;
use packetwalk::ui::virtual_list::{VirtualList, VirtualListProps};
use std::cell::RefCell;
use std::rc::Rc;
use yew::{classes, html, Callback};

fn test_rows(rows: usize, scroll_to: Option<usize>) -> VirtualListProps {
    VirtualListProps {
        rows,
        row_height: 20.0,
        height: 400.0,
        render_row: Callback::from(|i: usize| {
            html! { <div class="test-row" role="listitem">{ format!("row {i}") }</div> }
        }),
        scroll_to,
        aria_label: "test rows".into(),
        class: classes!("test-vlist"),
    }
}

/// The row elements in the DOM, as their texts.
fn row_texts(root: &Element) -> Vec<String> {
    let rows = root.query_selector_all(".test-row").unwrap();
    (0..rows.length())
        .filter_map(|i| rows.item(i))
        .map(|n| n.text_content().unwrap_or_default())
        .collect()
}

/// Waits (up to 5 s) until a row element reads exactly `text`.
async fn wait_for_row(root: &Element, text: &str) -> Vec<String> {
    for _ in 0..100 {
        let rows = row_texts(root);
        if rows.iter().any(|r| r == text) {
            return rows;
        }
        yew::platform::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no row \"{text}\"; the rows are {:?}", row_texts(root));
}

#[wasm_bindgen_test]
async fn virtual_list_draws_only_the_rows_in_view() {
    let root = fresh_root();
    let mut app =
        yew::Renderer::<VirtualList>::with_root_and_props(root.clone(), test_rows(100_000, None))
            .render();
    let rows = wait_for_row(&root, "row 0").await;
    assert!(
        rows.len() < 100,
        "{} rows in the DOM for 100,000 rows",
        rows.len()
    );
    let scroller: web_sys::HtmlElement = root
        .query_selector(".test-vlist")
        .unwrap()
        .expect("the scrolling box")
        .dyn_into()
        .unwrap();
    assert_eq!(scroller.get_attribute("role").as_deref(), Some("list"));
    assert_eq!(
        scroller.get_attribute("aria-label").as_deref(),
        Some("test rows")
    );
    assert_eq!(scroller.get_attribute("tabindex").as_deref(), Some("0"));
    assert_eq!(scroller.client_height(), 400);
    // The spacer gives the box the scroll height of every row.
    assert_eq!(scroller.scroll_height(), 100_000 * 20);

    // scroll_to: row 50,000 is drawn, in the middle of the box.
    app.update(test_rows(100_000, Some(50_000)));
    let rows = wait_for_row(&root, "row 50000").await;
    assert!(rows.len() < 100, "{} rows after scrolling", rows.len());
    assert!(!rows.iter().any(|r| r == "row 0"), "row 0 is gone");
    let top = scroller.scroll_top();
    assert!(
        (50_000 * 20 - 400..=50_000 * 20).contains(&top),
        "scrollTop {top} does not show row 50000"
    );
    assert!(
        (top + 200 - (50_000 * 20 + 10)).abs() <= 1,
        "row 50000 is centred"
    );

    // The learner scrolls: the rows follow.
    scroller.set_scroll_top(1_000 * 20);
    scroller
        .dispatch_event(&web_sys::Event::new("scroll").unwrap())
        .unwrap();
    let rows = wait_for_row(&root, "row 1005").await;
    assert!(rows.len() < 100, "{} rows after a scroll", rows.len());
    assert!(!rows.iter().any(|r| r == "row 50000"), "row 50000 is gone");
    app.destroy();
    root.remove();
}

/// Runs `parse_in_chunks` and waits (up to 30 s) for its result. Returns the
/// progress values, the result, and whether the page's own timers ran while
/// the import was under way.
async fn import(text: &str) -> (Vec<f64>, Result<Ruleset, Errors>, bool) {
    let progress = Rc::new(RefCell::new(Vec::new()));
    let done = Rc::new(RefCell::new(None));
    let (p, d) = (progress.clone(), done.clone());
    parse_in_chunks(
        Rc::from(text),
        Callback::from(move |f: f64| p.borrow_mut().push(f)),
        Callback::from(move |r: Result<Ruleset, Errors>| *d.borrow_mut() = Some(r)),
    );
    let mut ran_between = false;
    for _ in 0..3000 {
        yew::platform::time::sleep(Duration::from_millis(10)).await;
        if let Some(r) = done.borrow_mut().take() {
            return (progress.take(), r, ran_between);
        }
        ran_between |= !progress.borrow().is_empty();
    }
    panic!(
        "the import never finished; progress {:?}",
        progress.borrow()
    );
}

#[wasm_bindgen_test]
async fn chunked_import_reports_progress_and_parses_like_parse() {
    // (Chunks are cut by the clock: a dump that takes several of them on
    // a fast machine, 90k lines.)
    let dump = kube_dump::generate(6_000, 3, 1);
    assert!(dump.lines().count() > 60 * packetwalk::ui::import::LINES_PER_CHUNK);
    let (progress, result, ran_between) = import(&dump).await;
    assert!(progress.len() > 1, "progress reported {progress:?}");
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "progress goes back: {progress:?}"
    );
    assert!(progress.iter().all(|f| (0.0..=1.0).contains(f)));
    assert_eq!(progress.last(), Some(&1.0));
    assert!(ran_between, "the page got no turn during the import");
    let whole = save::parse(&dump).expect("the generated dump parses");
    let chunked = result.expect("the chunked import parses");
    assert_eq!(save::emit(&chunked), save::emit(&whole));
    assert_eq!(save::emit(&chunked), dump);

    // Errors: the same list, with the same lines, as a whole parse.
    let broken = dump.replacen("-j KUBE-MARK-MASQ", "-j KUBE-MARK-MASQUERADE", 3);
    let broken = &broken[..broken.len() - "COMMIT\n".len() - 40];
    let (_, result, _) = import(broken).await;
    assert_eq!(result.unwrap_err(), save::parse(broken).unwrap_err());
    // Empty text: done at once, progress 1.
    let (progress, result, _) = import("").await;
    assert_eq!(progress, vec![1.0]);
    assert!(result.is_ok());
}

/// The sessions kept aside: one place per session (the same one kept
/// twice, as a tab taking over from another can, moves to the newest
/// place), and the oldest makes room for a sixth, its text given back.
#[wasm_bindgen_test]
fn kept_sessions_are_kept_once_and_the_oldest_makes_room() {
    use packetwalk::ui::browser::{self, Slot};
    use packetwalk::ui::share::Saved;
    let base = "kept-test";
    let session = |n: usize| Saved {
        base: Some(base.into()),
        forgotten: n,
        ..Saved::default()
    };
    let text = |slot| browser::load_backup(slot, Some(base)).and_then(Result::ok);
    for slot in [Slot::Own].into_iter().chain(browser::earlier(Some(base))) {
        browser::clear_backup(slot, Some(base));
    }
    browser::backup(Slot::Own, &session(0)).expect("storage");
    for n in 1..=3 {
        assert_eq!(
            browser::push_earlier(&session(n)),
            Ok((Slot::Earlier(n as u64), None))
        );
    }
    // Kept already: the own place stays; another moves to the newest.
    assert_eq!(browser::push_earlier(&session(0)), Ok((Slot::Own, None)));
    assert_eq!(
        browser::push_earlier(&session(1)),
        Ok((Slot::Earlier(4), None))
    );
    assert_eq!(browser::earlier(Some(base)), [2, 3, 4].map(Slot::Earlier));
    assert_eq!(text(Slot::Earlier(4)), Some(session(1)));
    // Five kept: the sixth makes the oldest (2) go, and gets its text back.
    browser::push_earlier(&session(4)).expect("storage");
    browser::push_earlier(&session(5)).expect("storage");
    let (slot, dropped) = browser::push_earlier(&session(6)).expect("storage");
    assert_eq!(slot, Slot::Earlier(7));
    let dropped = dropped.map(|t| packetwalk::ui::share::from_json(&t).expect("it reads"));
    assert_eq!(dropped, Some(session(2)));
    assert_eq!(
        browser::earlier(Some(base)),
        [3, 4, 5, 6, 7].map(Slot::Earlier)
    );
    for slot in [Slot::Own].into_iter().chain(browser::earlier(Some(base))) {
        browser::clear_backup(slot, Some(base));
    }
}
