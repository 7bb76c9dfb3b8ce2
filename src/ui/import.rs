//! Importing a large `iptables-save` dump without freezing the page.
//!
//! A real node's dump can be 12 MB (10,000 services, 151k lines); parsing it
//! in one go would block the page for longer than a frame many times over.
//! [`parse_in_chunks`] feeds [`Parser`] a few thousand lines at a
//! time and gives the browser back the main thread between chunks, so the
//! page keeps painting (a progress bar) and answering input.

use crate::engine::error::Errors;
use crate::engine::iptables::save::Parser;
use crate::engine::iptables::Ruleset;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use yew::prelude::*;

/// Lines parsed at a time, until a chunk has taken [`CHUNK_MS`]: about
/// 5 ms of work on a slow machine. The call that reads a big table's
/// `COMMIT` also validates that table (`validate::commit`) and takes
/// longer.
pub const LINES_PER_CHUNK: usize = 1000;

/// The parsing done between two yields to the browser, in milliseconds:
/// by the clock, not by a count of lines, so that a machine 2.6 times
/// slower (measured) still yields as often. The progress bar's redraw
/// comes on top, in the same task (the bar alone: [`ProgressSink`]).
pub const CHUNK_MS: f64 = 40.0;

/// Parses `text` as a whole `iptables-save` dump (like
/// [`save::parse`](crate::engine::iptables::save::parse):
/// jumps are resolved, so the result can be traced) in chunks of
/// [`CHUNK_MS`], in a task of its own
/// ([`wasm_bindgen_futures::spawn_local`]); returns at once.
///
/// Before every chunk the task yields to the browser with a zero-delay
/// `setTimeout`, so rendering and input run between chunks (even before the
/// first one: whatever the caller rendered, a progress bar, is painted
/// first). After each chunk `on_progress` gets the fraction of the text's
/// bytes read so far, from 0 to 1, never decreasing (1 last). Then
/// `on_done` gets the same result as `save::parse(&text)`: the ruleset, or
/// every error with its line.
///
/// There is no cancelling: a caller that starts another import should ignore
/// the older one's callbacks (callbacks to a destroyed component are ignored
/// by Yew).
pub fn parse_in_chunks(
    text: Rc<str>,
    on_progress: Callback<f64>,
    on_done: Callback<Result<Ruleset, Errors>>,
) {
    wasm_bindgen_futures::spawn_local(async move {
        let mut parser = Parser::new(true);
        let mut at = 0;
        // Time spent parsing, without the yields between chunks; and the
        // longest chunk. Written on <body> for the browser benchmark.
        let (mut work, mut longest) = (0.0f64, 0.0f64);
        let mut shown = 0.0;
        while at < text.len() {
            next_task().await;
            let t0 = crate::ui::browser::now_ms();
            let mut dt = 0.0;
            while at < text.len() && dt < CHUNK_MS {
                at = parser.feed(&text, at, LINES_PER_CHUNK);
                dt = crate::ui::browser::now_ms() - t0;
            }
            work += dt;
            longest = longest.max(dt);
            // Redrawing the page costs time too: report every 5 %.
            let p = fraction(at, text.len());
            if p - shown >= 0.05 || p >= 1.0 {
                shown = p;
                on_progress.emit(p);
            }
        }
        if text.is_empty() {
            on_progress.emit(1.0);
        }
        let t0 = crate::ui::browser::now_ms();
        let result = parser.finish(&text);
        work += crate::ui::browser::now_ms() - t0;
        crate::ui::browser::record("data-parse-work-ms", work);
        crate::ui::browser::record("data-parse-longest-chunk-ms", longest);
        on_done.emit(result);
    });
}

/// `done` of `total` bytes, as 0..=1.
fn fraction(done: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    }
}

/// Resolves in a later task of the event loop, after the browser has had
/// a chance to render and handle input. A message to a `MessageChannel`
/// is used rather than `setTimeout(0)`, which browsers clamp to 4 ms once
/// timers nest (20 chunks would lose 80 ms). Without one it resolves at once.
async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let posted = web_sys::MessageChannel::new().ok().and_then(|ch| {
            ch.port1().set_onmessage(Some(&resolve));
            ch.port2().post_message(&JsValue::NULL).ok()
        });
        if posted.is_none() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Where a chunked parse reports its progress: straight to the progress
/// bar ([`ParseProgress`]), so that each chunk redraws the bar alone and
/// not the whole page (the page's own redraw came on top of every chunk,
/// in the same task, and between chunks).
///
/// Only the parse it was last [`aimed`](ProgressSink::aim) at reaches the
/// bar: an older one, still running, is ignored.
#[derive(Clone, Default)]
pub struct ProgressSink {
    bar: Rc<std::cell::RefCell<Option<Callback<f64>>>>,
    current: Rc<std::cell::Cell<u64>>,
}

impl PartialEq for ProgressSink {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.bar, &other.bar)
    }
}

impl ProgressSink {
    /// The callback for parse number `seq`, which becomes the one shown.
    /// A bar already showing (another parse's, just ended or dropped)
    /// starts again from 0.
    pub fn aim(&self, seq: u64) -> Callback<f64> {
        self.current.set(seq);
        if let Some(bar) = self.bar.borrow().as_ref() {
            bar.emit(0.0);
        }
        let sink = self.clone();
        Callback::from(move |p| {
            if sink.current.get() == seq {
                if let Some(bar) = sink.bar.borrow().as_ref() {
                    bar.emit(p);
                }
            }
        })
    }
}

#[derive(Properties, PartialEq)]
pub struct ParseProgressProps {
    /// What is parsed for where ("Parsing dump.txt for node8").
    pub label: AttrValue,
    pub sink: ProgressSink,
}

/// The floating progress bar of a chunked parse.
#[function_component]
pub fn ParseProgress(props: &ParseProgressProps) -> Html {
    let progress = use_state(|| 0.0f64);
    {
        let set = progress.setter();
        use_effect_with(props.sink.clone(), move |sink| {
            *sink.bar.borrow_mut() = Some(Callback::from(move |p| set.set(p)));
            let sink = sink.clone();
            move || {
                sink.bar.borrow_mut().take();
            }
        });
    }
    let p = *progress;
    html! {
        <div class="progress-wrap" role="status">
            <label for="import-progress">{ format!("{}… {} %", props.label, (p * 100.0) as u32) }</label>
            <progress id="import-progress" max="1000" value={((p * 1000.0) as u32).to_string()}></progress>
        </div>
    }
}
