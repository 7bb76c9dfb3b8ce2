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
    let i = t
        .steps
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
        .expect("a DNAT step");
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

#[wasm_bindgen_test]
async fn page_shows_the_article_trace_and_verdict() {
    let root = fresh_root();
    let _app = packetwalk::ui::mount(root.clone());
    let text = wait_for_text(&root, "Verdict: Delivered").await;
    for needle in [
        "Packet Walk",
        "KUBE-SVC-7RUAH544RSSBQYKK",
        "KUBE-SEP-IWORYNCAYHBSQHXU",
        "cali71ca141a178",
        "dst 10.96.100.10:80 → 172.16.225.112:80",
        "a socket in flask-ui-6c9f7d8b5d-x2k4p",
    ] {
        assert!(text.contains(needle), "the page lacks \"{needle}\"");
    }
    // A semantic table with one row per step.
    let rows = root
        .query_selector_all("table.trace tbody tr")
        .unwrap()
        .length();
    assert_eq!(rows as usize, preset_trace("article").steps.len());
    let nat_rows = root
        .query_selector_all("table.trace tr.row-nat")
        .unwrap()
        .length();
    assert!(nat_rows >= 2, "DNAT and MASQUERADE rows are marked");
}

#[wasm_bindgen_test]
async fn picking_a_scenario_recomputes_the_trace() {
    let window = web_sys::window().unwrap();
    let url = window.location().href().unwrap();
    let root = fresh_root();
    let _app = packetwalk::ui::mount(root.clone());
    wait_for_text(&root, "KUBE-SEP-IWORYNCAYHBSQHXU").await;
    let select: HtmlSelectElement = root
        .query_selector("select")
        .unwrap()
        .expect("a scenario picker")
        .dyn_into()
        .unwrap();
    select.set_value("article-remote");
    let event = web_sys::Event::new_with_event_init_dict("change", &{
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        init
    })
    .unwrap();
    select.dispatch_event(&event).unwrap();
    let text = wait_for_text(&root, "KUBE-SEP-RYRWZACDTG7E36MG").await;
    assert!(text.contains("+ outer header 192.168.11.58 → 192.168.11.54 (IPIP)"));
    assert!(text.contains("Verdict: Delivered"));
    let table = root
        .query_selector("table.trace")
        .unwrap()
        .expect("the trace table");
    let table_text = table.text_content().unwrap_or_default();
    assert!(
        !table_text.contains("KUBE-SEP-IWORYNCAYHBSQHXU"),
        "the old trace is gone"
    );
    // The choice went into the address; put the test page's address back.
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
}
