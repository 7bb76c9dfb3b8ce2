//! Engine timings inside headless Chromium (a benchmark, not a test: it
//! asserts nothing about time). Run with `bash scripts/bench-browser.sh`.
//! Same workload as `benches/engine.rs`: a 10,000-service × 3-endpoint dump.
#![cfg(target_arch = "wasm32")]

#[path = "../benches/kube_dump.rs"]
mod kube_dump;

use packetwalk::engine::iptables::save;
use packetwalk::engine::packet::Proto;
use packetwalk::engine::scenario::Scenario;
use packetwalk::engine::{send, SendSpec, SimState, World};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The fastest run: on a shared machine, the one least disturbed by others.
fn fastest(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

#[wasm_bindgen_test]
fn engine_timings_in_the_browser() {
    let dump = kube_dump::generate(10_000, 3, 1);
    let parse: Vec<f64> = (0..7)
        .map(|_| {
            let t = now();
            let r = save::parse(&dump).unwrap();
            let d = now() - t;
            drop(r);
            d
        })
        .collect();
    // As the page imports it (`ui::import`): fed 1,000 lines at a time.
    let chunked: Vec<f64> = (0..7)
        .map(|_| {
            let t = now();
            let mut p = save::Parser::new(true);
            let mut at = 0;
            while at < dump.len() {
                at = p.feed(&dump, at, 1000);
            }
            let r = p.finish(&dump).unwrap();
            let d = now() - t;
            drop(r);
            d
        })
        .collect();
    let sc: Scenario = serde_json::from_value(serde_json::json!({
        "name": "bench", "title": "10k services", "seed": 1,
        "hosts": [
            {"name": "node", "kind": "node",
             "devices": [{"name": "lo", "type": "loopback", "addrs": ["127.0.0.1/8"]},
                         {"name": "eth0", "type": "ethernet", "lan": "lan", "addrs": ["192.168.0.10/24"]}],
             "routes": ["default via 192.168.0.1 dev eth0", "10.0.0.0/14 via 192.168.0.1 dev eth0",
                        "192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.10"],
             "iptables": dump},
            {"name": "client", "kind": "client",
             "devices": [{"name": "eth0", "type": "ethernet", "lan": "lan", "addrs": ["192.168.0.200/24"]}],
             "routes": ["192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.200", "10.96.0.0/12 via 192.168.0.10 dev eth0"]}
        ]
    }))
    .unwrap();
    let mut w = World::build(&sc).unwrap();
    let (ip, port) = kube_dump::probe_service(10_000, 3, 1);
    let spec = SendSpec::new("client", &format!("{ip}:{port}"), Proto::Tcp);
    let fresh = SimState::new(&w);
    let batch = 200;
    let trace: Vec<f64> = (0..15)
        .map(|_| {
            let t = now();
            for _ in 0..batch {
                let mut s = fresh.clone();
                send(&mut w, &mut s, &spec).unwrap();
            }
            (now() - t) * 1000.0 / batch as f64
        })
        .collect();
    console_log!(
        "browser (wasm, {} lines): parse median {:.1} ms, fastest {:.1} ms (of 7; the first, before the browser optimised the code and while the memory grew, {:.1} ms), fed in 1,000-line chunks as the page does {:.1} ms; first-packet trace median {:.1} µs (of 15 × {batch})",
        dump.lines().count(),
        median(parse.clone()),
        fastest(&parse[1..]),
        parse[0],
        median(chunked),
        median(trace)
    );
}
