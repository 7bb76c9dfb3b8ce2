//! The web page. [`session`] (the learner's state: edits, sends, undo) and
//! [`share`] (permalinks) are plain Rust, built and tested natively too;
//! the components are built only for `wasm32`.

pub mod generator;
pub mod layout;
pub mod model;
pub mod session;
pub mod share;

/// Declares the modules that only the browser build has.
macro_rules! web_only {
    ($($m:ident),* $(,)?) => { $( #[cfg(target_arch = "wasm32")] pub mod $m; )* };
}

web_only!(
    app,
    browser,
    cluster,
    dialogs,
    editors,
    events,
    explain,
    headers,
    import,
    send_form,
    topology,
    virtual_list,
);

#[cfg(target_arch = "wasm32")]
pub use app::App;

/// Renders the page into `<body>` (the binary's entry point on wasm32).
#[cfg(target_arch = "wasm32")]
pub fn start() {
    wasm_bindgen_futures::spawn_local(async {
        // A scenario made from Kubernetes objects needs the cluster
        // generator; if it does not load, the page says so and shows what
        // it can (the article's scenario, or the learner's own session
        // for a link).
        if app::generator_needed_at_start() {
            let _ = generator::load().await;
        }
        // The "Loading…" line of index.html gives way to the page.
        if let Some(p) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("page-loading"))
        {
            p.remove();
        }
        yew::Renderer::<App>::new().render();
    });
}

/// Renders the page into `root` (used by the browser tests).
#[cfg(target_arch = "wasm32")]
pub fn mount(root: web_sys::Element) -> yew::AppHandle<App> {
    yew::Renderer::<App>::with_root(root).render()
}
