//! `packetwalk-cluster`: the cluster generator on its own
//! ([`packetwalk::engine::generator`]).
//!
//! In the browser the page loads it as a second wasm module when a scenario
//! made from Kubernetes objects is opened, and calls its one export, `call`
//! (a request as JSON in, the response as JSON out). Natively it answers one
//! request read from stdin, the same way.

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn call(request: &str) -> String {
    packetwalk::engine::generator::call_json(request)
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::io::Read;
    let mut request = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut request) {
        eprintln!("packetwalk-cluster: stdin: {e}");
        std::process::exit(2);
    }
    println!("{}", packetwalk::engine::generator::call_json(&request));
}
