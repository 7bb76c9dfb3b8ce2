//! The page's side of the cluster generator ([`engine::generator`]).
//!
//! Natively it is a function call. In the browser the generator is a second
//! wasm module, `packetwalk-cluster`, which the page loads ([`load`]) before
//! it opens a scenario made from Kubernetes objects; after that, each call
//! is synchronous: a request as JSON in, the response as JSON out.
//!
//! [`engine::generator`]: crate::engine::generator

use crate::engine::error::{Errors, ParseError};
use crate::engine::generator::{Built, ClusterView, FormEdit, Request, Response, Resynced};
use crate::engine::scenario::{self, Scenario};

#[cfg(not(target_arch = "wasm32"))]
fn call(req: Request) -> Response {
    crate::engine::generator::handle(req)
}

#[cfg(target_arch = "wasm32")]
mod module {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(inline_js = r#"
let generator = null;
export async function pw_load_generator(js, wasm) {
    const m = await import(new URL(js, document.baseURI).href);
    await m.default({ module_or_path: new URL(wasm, document.baseURI) });
    generator = m;
}
export function pw_generator_loaded() { return generator !== null; }
export function pw_generator_call(req) {
    if (generator === null) { throw new Error("the cluster generator is not loaded"); }
    return generator.call(req);
}
"#)]
    extern "C" {
        #[wasm_bindgen(catch)]
        async fn pw_load_generator(js: &str, wasm: &str) -> Result<JsValue, JsValue>;
        fn pw_generator_loaded() -> bool;
        #[wasm_bindgen(catch)]
        fn pw_generator_call(req: &str) -> Result<String, JsValue>;
    }

    /// The module's files, next to the page (Trunk writes them unhashed);
    /// the build id keeps a cached copy of an older build from answering.
    const JS: &str = concat!("packetwalk-cluster.js?v=", env!("PACKETWALK_BUILD_ID"));
    const WASM: &str = concat!("packetwalk-cluster_bg.wasm?v=", env!("PACKETWALK_BUILD_ID"));

    thread_local! {
        /// Why the last load failed.
        static FAILED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    }

    pub fn loaded() -> bool {
        pw_generator_loaded()
    }

    /// Loads the module (once; later calls return at once).
    pub async fn load() -> Result<(), String> {
        if loaded() {
            return Ok(());
        }
        let r = pw_load_generator(JS, WASM).await.map(|_| ()).map_err(|e| {
            format!(
                "the cluster generator (packetwalk-cluster.js) could not be loaded: {}",
                e.as_string()
                    .or_else(|| js_sys::Error::from(e).message().as_string())
                    .unwrap_or_default()
            )
        });
        FAILED.with(|f| *f.borrow_mut() = r.clone().err());
        r
    }

    pub fn call_json(req: &str) -> Result<String, String> {
        if !loaded() {
            return Err(FAILED
                .with(|f| f.borrow().clone())
                .unwrap_or_else(|| "the cluster generator is not loaded".into()));
        }
        pw_generator_call(req).map_err(|e| {
            js_sys::Error::from(e)
                .message()
                .as_string()
                .unwrap_or_else(|| "the cluster generator failed".into())
        })
    }
}

#[cfg(target_arch = "wasm32")]
pub use module::{load, loaded};

#[cfg(target_arch = "wasm32")]
fn call(req: Request) -> Response {
    let text = serde_json::to_string(&req).expect("a request always serialises");
    match module::call_json(&text) {
        Ok(r) => serde_json::from_str(&r).unwrap_or_else(|e| {
            Response::Failed(format!(
                "the cluster generator's answer could not be read: {e}"
            ))
        }),
        Err(e) => Response::Failed(e),
    }
}

/// Whether built-in scenario `name` is made from Kubernetes objects (and
/// so needs the generator).
pub fn is_cluster(name: &str) -> bool {
    crate::engine::cni::cluster_title(name).is_some()
}

/// Built-in cluster scenario `name`: its YAML, scenario and view; or why
/// there is none.
pub fn builtin(name: &str) -> Result<Built, String> {
    match call(Request::Builtin { name: name.into() }) {
        Response::Builtin(Some(b)) => Ok(*b),
        Response::Builtin(None) => Err(format!("no built-in scenario \"{name}\"")),
        Response::Failed(e) => Err(e),
        _ => Err("unexpected answer from the cluster generator".into()),
    }
}

/// Built-in scenario `name`, whichever kind it is.
pub fn builtin_scenario(name: &str) -> Option<Scenario> {
    if is_cluster(name) {
        builtin(name).ok().map(|b| b.scenario)
    } else {
        scenario::builtin_json(name)
    }
}

/// What `yaml`'s objects make (an empty view when they do not read).
pub fn read(yaml: &str) -> ClusterView {
    match call(Request::Read { yaml: yaml.into() }) {
        Response::Read(v) => v,
        _ => ClusterView::default(),
    }
}

/// `current` synced to `yaml`'s objects; `old` is the YAML it was made from.
pub fn resync(old: Option<&str>, yaml: &str, current: &Scenario) -> Result<Resynced, Errors> {
    let req = Request::Resync {
        old: old.map(str::to_string),
        yaml: yaml.into(),
        current: current.clone(),
    };
    match call(req) {
        Response::Resync(r) => r.map(|r| *r).map_err(Errors),
        Response::Failed(e) => Err(Errors::from(ParseError::new(0, 0, e))),
        _ => Err(Errors::from(ParseError::new(0, 0, "unexpected answer"))),
    }
}

/// Built-in scenario `name` after its objects became `yaml`.
pub fn rebase(name: &str, yaml: &str) -> Option<Scenario> {
    match call(Request::Rebase {
        name: name.into(),
        yaml: yaml.into(),
    }) {
        Response::Rebase(s) => s,
        _ => None,
    }
}

/// `yaml` changed by the form, or why it could not be.
pub fn edit(yaml: &str, edit: FormEdit) -> Result<String, String> {
    match call(Request::Edit {
        yaml: yaml.into(),
        edit,
    }) {
        Response::Edit(r) => r,
        Response::Failed(e) => Err(e),
        _ => Err("unexpected answer from the cluster generator".into()),
    }
}
