//! A scrolling list that draws only the rows in view.
//!
//! A 10,000-service dump is 151k lines and 111k rules: one DOM element per
//! line would make the page slow to build, to scroll and to restyle. The
//! list is a scrolling box holding a spacer as tall as all the rows; only
//! the rows in view (and [`OVERSCAN`] more on each side) exist, each
//! absolutely positioned at `index × row_height`. Scrolling moves the
//! window of rows. The positioning is inline, so the list works without a
//! style sheet; `static/virtual.css` adds the looks (border, focus ring,
//! sideways scrolling of long rows).

use web_sys::HtmlElement;
use yew::prelude::*;

/// Rows drawn above and below the visible ones, so that a quick scroll
/// does not show blank space before the next render.
pub const OVERSCAN: usize = 10;

#[derive(Properties, PartialEq)]
pub struct VirtualListProps {
    /// Number of rows.
    pub rows: usize,
    /// Height of every row, in CSS pixels.
    pub row_height: f64,
    /// Height of the scrolling box, in CSS pixels.
    pub height: f64,
    /// Draws row `i` (0-based). It should give its outer element
    /// `role="listitem"` (the list has `role="list"`); the list wraps it in
    /// a positioned `div` of the row's height.
    pub render_row: Callback<usize, Html>,
    /// When this changes (or the number of rows does), the list scrolls so
    /// that this row is in the middle of the box.
    #[prop_or_default]
    pub scroll_to: Option<usize>,
    /// Accessible name of the list.
    pub aria_label: AttrValue,
    /// Extra classes for the scrolling box (which always has `vlist-scroll`).
    #[prop_or_default]
    pub class: Classes,
}

/// Row height with nonsense (zero, negative, NaN) replaced by 1 px.
fn row_px(p: &VirtualListProps) -> f64 {
    if p.row_height.is_finite() && p.row_height > 0.0 {
        p.row_height
    } else {
        1.0
    }
}

/// Viewport height with nonsense replaced by 0.
fn height_px(p: &VirtualListProps) -> f64 {
    if p.height.is_finite() && p.height > 0.0 {
        p.height
    } else {
        0.0
    }
}

/// The first row at least partly visible when the box is scrolled to `top`.
fn first_row(top: f64, row: f64, rows: usize) -> usize {
    let i = (top.max(0.0) / row).floor();
    // `as` saturates; NaN becomes 0.
    (i as usize).min(rows.saturating_sub(1))
}

/// The rows to draw: `[start, end)`.
fn window(first: usize, rows: usize, row: f64, height: f64) -> (usize, usize) {
    let visible = ((height / row).ceil() as usize).saturating_add(1);
    let first = first.min(rows);
    let start = first.saturating_sub(OVERSCAN);
    let end = first
        .saturating_add(visible)
        .saturating_add(OVERSCAN)
        .min(rows);
    (start, end)
}

/// `scrollTop` that puts row `i` in the middle of the box.
fn centred_top(i: usize, rows: usize, row: f64, height: f64) -> f64 {
    let top = i.min(rows.saturating_sub(1)) as f64 * row + row / 2.0 - height / 2.0;
    let max = (rows as f64 * row - height).max(0.0);
    top.clamp(0.0, max)
}

/// A virtualised list: `rows` rows of `row_height` px in a box of `height`
/// px; only the rows in view are in the DOM. The box is focusable
/// (`tabindex=0`) so the keyboard scrolls it (arrows, Page Up/Down,
/// Home/End).
#[function_component(VirtualList)]
pub fn virtual_list(p: &VirtualListProps) -> Html {
    let row = row_px(p);
    let height = height_px(p);
    let scroller = use_node_ref();
    // The first visible row, from the box's scrollTop.
    let first = use_state_eq(|| 0usize);

    let onscroll = {
        let (scroller, first, rows) = (scroller.clone(), first.clone(), p.rows);
        Callback::from(move |_: Event| {
            if let Some(el) = scroller.cast::<HtmlElement>() {
                first.set(first_row(el.scroll_top() as f64, row, rows));
            }
        })
    };

    {
        let (scroller, first) = (scroller.clone(), first.clone());
        use_effect_with((p.scroll_to, p.rows), move |&(target, rows)| {
            if let (Some(i), Some(el)) = (target, scroller.cast::<HtmlElement>()) {
                if rows > 0 {
                    let top = centred_top(i, rows, row, height);
                    el.set_scroll_top(top.round() as i32);
                    // The scroll event comes later; draw the rows now.
                    first.set(first_row(el.scroll_top() as f64, row, rows));
                }
            }
        });
    }

    let (start, end) = window(*first, p.rows, row, height);
    let total = p.rows as f64 * row;
    html! {
        <div ref={scroller} class={classes!("vlist-scroll", p.class.clone())}
            style={format!("position: relative; overflow-y: auto; height: {}px", height as i64)}
            role="list" aria-label={p.aria_label.clone()} tabindex="0" data-keys="own" {onscroll}>
            <div class="vlist-spacer" style={format!("position: relative; height: {}px", total as i64)}>
                { for (start..end).map(|i| html! {
                    <div key={i} class="vlist-row" role="none"
                        style={format!("position: absolute; left: 0; min-width: 100%; top: {}px; height: {}px", (i as f64 * row) as i64, row as i64)}>
                        { p.render_row.emit(i) }
                    </div>
                }) }
            </div>
        </div>
    }
}
