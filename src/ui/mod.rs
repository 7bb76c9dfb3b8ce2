//! The web page. [`session`] (the learner's state: edits, sends, undo) and
//! [`share`] (permalinks) are plain Rust, built and tested natively too;
//! the components are built only for `wasm32`.

pub mod layout;
pub mod model;
pub mod session;
pub mod share;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(target_arch = "wasm32")]
pub mod dialogs;
#[cfg(target_arch = "wasm32")]
pub mod editors;
#[cfg(target_arch = "wasm32")]
pub mod events;
#[cfg(target_arch = "wasm32")]
pub mod explain;
#[cfg(target_arch = "wasm32")]
pub mod headers;
#[cfg(target_arch = "wasm32")]
pub mod import;
#[cfg(target_arch = "wasm32")]
pub mod send_form;
#[cfg(target_arch = "wasm32")]
pub mod topology;
#[cfg(target_arch = "wasm32")]
pub mod virtual_list;

#[cfg(target_arch = "wasm32")]
pub use app::App;

/// Renders the page into `<body>` (the binary's entry point on wasm32).
#[cfg(target_arch = "wasm32")]
pub fn start() {
    yew::Renderer::<App>::new().render();
}

/// Renders the page into `root` (used by the browser tests).
#[cfg(target_arch = "wasm32")]
pub fn mount(root: web_sys::Element) -> yew::AppHandle<App> {
    yew::Renderer::<App>::with_root(root).render()
}
