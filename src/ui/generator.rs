//! The page's side of the cluster generator ([`engine::generator`]).
//!
//! Natively it is a function call. In the browser the generator is a second
//! wasm module, `packetwalk-cluster`, which the page loads (`load`) before
//! it opens a scenario made from Kubernetes objects; after that, each call
//! is synchronous: a request as JSON in, the response as JSON out. A sync
//! over a node dump is made by the same module in a Web Worker
//! (`resync_away`), its large rules texts beside the JSON.
//!
//! [`engine::generator`]: crate::engine::generator

use crate::engine::error::{Errors, ParseError};
use crate::engine::generator::{Built, ClusterView, FormEdit, Request, Response, Resynced};
use crate::engine::k8s::apply::Applied;
use crate::engine::scenario::{self, Scenario};

#[cfg(not(target_arch = "wasm32"))]
fn call(req: Request) -> Response {
    crate::engine::generator::handle(req)
}

#[cfg(target_arch = "wasm32")]
mod module {
    use wasm_bindgen::prelude::*;

    // The functions index.html defines as window.pwGenerator.
    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = pwGenerator, js_name = load)]
        fn pw_load_generator(js: &str, wasm: &str) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(catch, js_namespace = pwGenerator, js_name = loaded)]
        fn pw_generator_loaded() -> Result<bool, JsValue>;
        #[wasm_bindgen(catch, js_namespace = pwGenerator, js_name = call)]
        fn pw_generator_call(req: &str) -> Result<String, JsValue>;
        #[wasm_bindgen(catch, js_namespace = pwGenerator, js_name = callWith)]
        fn pw_generator_call_with(req: &str, texts: &js_sys::Array) -> Result<String, JsValue>;
        #[wasm_bindgen(catch, js_namespace = pwGenerator, js_name = callAway)]
        fn pw_generator_call_away(
            js: &str,
            wasm: &str,
            req: String,
            texts: &js_sys::Array,
        ) -> Result<js_sys::Promise, JsValue>;
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
        pw_generator_loaded().unwrap_or(false)
    }

    /// Why the last load failed, if it did.
    pub fn load_error() -> Option<String> {
        FAILED.with(|f| f.borrow().clone())
    }

    /// Loads the module: a call while it loads waits for the same load,
    /// once loaded calls return at once, after a failure a call tries
    /// again (from new addresses).
    pub async fn load() -> Result<(), String> {
        if loaded() {
            return Ok(());
        }
        let started = pw_load_generator(JS, WASM);
        let r = match started {
            Ok(p) => wasm_bindgen_futures::JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        let r = r.map(|_| ()).map_err(|e| {
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

    /// A call answered by the module in a Web Worker: the page's thread
    /// only writes the request and reads the answer. `texts` travel
    /// beside the request ([`Request::set_aside`](crate::engine::generator::Request::set_aside)).
    pub async fn call_json_away(req: String, texts: &js_sys::Array) -> Result<String, String> {
        let message = |e: JsValue| {
            js_sys::Error::from(e)
                .message()
                .as_string()
                .unwrap_or_else(|| "the cluster generator failed".into())
        };
        let p = pw_generator_call_away(JS, WASM, req, texts)
            .map_err(|e| format!("no worker: {}", message(e)))?;
        let out = wasm_bindgen_futures::JsFuture::from(p)
            .await
            .map_err(message)?;
        Ok(out.as_string().unwrap_or_default())
    }

    pub fn call_json(req: &str) -> Result<String, String> {
        call_json_with(req, None)
    }

    /// [`call_json`] on the page, with texts set aside beside the request.
    pub fn call_json_with(req: &str, texts: Option<&js_sys::Array>) -> Result<String, String> {
        if !loaded() {
            return Err(
                load_error().unwrap_or_else(|| "the cluster generator is not loaded".into())
            );
        }
        match texts {
            Some(t) => pw_generator_call_with(req, t),
            None => pw_generator_call(req),
        }
        .map_err(|e| {
            js_sys::Error::from(e)
                .message()
                .as_string()
                .unwrap_or_else(|| "the cluster generator failed".into())
        })
    }
}

#[cfg(target_arch = "wasm32")]
pub use module::{load, load_error, loaded};

#[cfg(target_arch = "wasm32")]
fn call(req: Request) -> Response {
    let text = serde_json::to_string(&req).expect("a request always serialises");
    answer(module::call_json(&text))
}

#[cfg(target_arch = "wasm32")]
fn answer(r: Result<String, String>) -> Response {
    match r {
        Ok(r) => serde_json::from_str(&r).unwrap_or_else(|e| {
            Response::Failed(format!(
                "the cluster generator's answer could not be read: {e}"
            ))
        }),
        Err(e) => Response::Failed(trapped(e)),
    }
}

/// The words for a failure of the generator's module: a trap (the
/// browser's "unreachable") is a panic or memory running out in it.
#[cfg(target_arch = "wasm32")]
fn trapped(e: String) -> String {
    if e == "unreachable" || e.contains("memory") {
        format!("the cluster generator stopped on this text ({e}: it ran out of memory, or failed); nothing was changed")
    } else {
        e
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

/// Built-in scenario `name`, whichever kind it is. Each is made once (a
/// save compares against it every time).
pub fn builtin_scenario(name: &str) -> Option<Scenario> {
    thread_local! {
        static MADE: std::cell::RefCell<Vec<(String, Scenario)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if let Some(sc) = MADE.with(|m| {
        m.borrow()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
    }) {
        return Some(sc);
    }
    let sc = if is_cluster(name) {
        match call(Request::Scenario { name: name.into() }) {
            Response::Scenario(s) => s,
            _ => None,
        }
    } else {
        scenario::builtin_json(name)
    }?;
    MADE.with(|m| m.borrow_mut().push((name.to_string(), sc.clone())));
    Some(sc)
}

/// What `yaml`'s objects make (an empty view when they do not read), or
/// why the generator could not say.
pub fn read(yaml: &str) -> Result<ClusterView, String> {
    match call(Request::Read { yaml: yaml.into() }) {
        Response::Read(v) => Ok(v),
        Response::Failed(e) => Err(e),
        _ => Err("unexpected answer from the cluster generator".into()),
    }
}

/// `current` synced to `yaml`'s objects; `old` is the YAML it was made
/// from, on built-in scenario `base` if any.
pub fn resync(
    old: Option<&str>,
    yaml: &str,
    current: &Scenario,
    base: Option<&str>,
) -> Result<Resynced, Errors> {
    resynced(call(resync_request(old, yaml, current, base)))
}

/// [`resync`] made in a Web Worker, so that a sync over a node dump does
/// not hold the page's thread. `current` is the scenario in use (its
/// large rules texts are lent, not copied, while the request is made).
#[cfg(target_arch = "wasm32")]
pub fn resync_away(
    old: Option<&str>,
    yaml: &str,
    current: &mut Scenario,
    base: Option<&str>,
) -> impl std::future::Future<Output = Result<Resynced, Errors>> {
    // A node's dump goes beside the request as a string of its own:
    // escaped into the JSON, 12 MB held the page's thread for 140-160 ms
    // (measured on a slow machine).
    let (req, texts) = Request::resync_apart(
        old.map(str::to_string),
        yaml.into(),
        current,
        base.map(str::to_string),
        ASIDE_BYTES,
        wasm_bindgen::JsValue::from_str,
    );
    let texts: js_sys::Array = texts.into_iter().collect();
    let text = serde_json::to_string(&req).expect("a request always serialises");
    async move {
        match module::call_json_away(text.clone(), &texts).await {
            // No worker here (a browser without module workers, or one
            // that could not start it): on the page. A failure of the
            // generator itself is said, not made a second time.
            Err(e) if e.starts_with("no worker") => {
                resynced(answer(module::call_json_with(&text, Some(&texts))))
            }
            r => resynced(answer(r)),
        }
    }
}

/// Rules texts longer than this travel beside a sync's request to the
/// worker, not in its JSON.
#[cfg(target_arch = "wasm32")]
const ASIDE_BYTES: usize = 64 * 1024;

fn resync_request(
    old: Option<&str>,
    yaml: &str,
    current: &Scenario,
    base: Option<&str>,
) -> Request {
    Request::Resync {
        aside: Vec::new(),
        base: base.map(str::to_string),
        old: old.map(str::to_string),
        yaml: yaml.into(),
        current: Box::new(current.clone()),
    }
}

fn resynced(r: Response) -> Result<Resynced, Errors> {
    match r {
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

/// `yaml` with a dropped file's objects applied, or why it could not be
/// (the file's line).
pub fn apply(yaml: &str, file: &str) -> Result<Applied, String> {
    match call(Request::Apply {
        yaml: yaml.into(),
        file: file.into(),
    }) {
        Response::Apply(r) => r.map_err(|e| e.to_string()),
        Response::Failed(e) => Err(e),
        _ => Err("unexpected answer from the cluster generator".into()),
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
