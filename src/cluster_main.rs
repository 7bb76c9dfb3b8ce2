//! `packetwalk-cluster`: the cluster generator on its own
//! ([`packetwalk::engine::generator`]).
//!
//! In the browser the page loads it as a second wasm module when a scenario
//! made from Kubernetes objects is opened, and calls its export `call`
//! (a request as JSON in, the response as JSON out; `call_with` takes
//! large rules texts beside the request). Natively it answers one
//! request read from stdin, the same way.

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn call(request: &str) -> String {
    packetwalk::engine::generator::call_json(request)
}

/// `call` with the rules texts the request set aside, in its order (a
/// node's dump, sent as a string of its own rather than escaped into the
/// JSON).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn call_with(request: &str, texts: Vec<String>) -> String {
    packetwalk::engine::generator::call_json_with(request, texts)
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
