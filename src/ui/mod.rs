//! The web page (wasm32 only): the default scenario, its hosts and notes,
//! and the trace of its preset packet, all computed by [`crate::engine`].
//!
//! One component per file: [`app`] (the page and the scenario picker),
//! [`scenario_view`] (notes, hosts), [`trace_view`] (the step table and the
//! verdict); [`model`] holds the plain functions they share.

pub mod app;
pub mod model;
pub mod scenario_view;
pub mod trace_view;

pub use app::App;

/// Renders the page into `<body>` (the binary's entry point on wasm32).
pub fn start() {
    yew::Renderer::<App>::new().render();
}

/// Renders the page into `root` (used by the browser tests).
pub fn mount(root: web_sys::Element) -> yew::AppHandle<App> {
    yew::Renderer::<App>::with_root(root).render()
}
