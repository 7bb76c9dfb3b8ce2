//! The topology picture (SVG): the scenario's LAN, nodes, pods and devices
//! where [`crate::ui::layout`] puts them, the namespaces the packet has
//! visited up to the selected step, and the packet itself, labelled with
//! its addresses (inside its outer header when tunnelled).
//!
//! Re-rendered on every step change, so it is split: the layout is
//! memoised per scenario, the boxes (`TopoBody`) re-render only when
//! what is emphasised changes, and the marker is its own small component.

use crate::ui::model::plural;
use crate::engine::scenario::{HostKind, Scenario};
use crate::engine::trace::{StepKind, Trace};
use crate::ui::layout::{self, Layout, Marker, Place, CARD_LINE_H, CHIP_PAD};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, Clone)]
pub struct TopologyProps {
    pub scenario: Rc<Scenario>,
    /// The walk to show; none draws the topology alone.
    #[prop_or_default]
    pub trace: Option<Rc<Trace>>,
    /// Index into `trace.steps` (clamped to the last step).
    #[prop_or_default]
    pub step: usize,
}

/// Props compare by pointer: a trace or scenario is never compared field by
/// field on every step change.
impl PartialEq for TopologyProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.scenario, &o.scenario)
            && match (&self.trace, &o.trace) {
                (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
            && self.step == o.step
    }
}

/// A memo key that compares by pointer.
struct ByPtr<T>(Rc<T>);

impl<T> PartialEq for ByPtr<T> {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.0, &o.0)
    }
}

/// How a box stands out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Em {
    #[default]
    Plain,
    /// The packet has been here (up to the selected step).
    Visited,
    /// The packet is here now.
    Current,
}

impl Em {
    fn class(self) -> Option<&'static str> {
        match self {
            Em::Plain => None,
            Em::Visited => Some("topo-visited"),
            Em::Current => Some("topo-current"),
        }
    }
}

/// What stands out, per host box and device chip.
#[derive(Debug, PartialEq, Eq)]
struct Emphasis {
    hosts: Vec<Em>,
    devices: Vec<Em>,
}

fn emphasis(
    layout: &Layout,
    places: &[(Option<usize>, Option<usize>)],
    marker: Option<&Marker>,
) -> Emphasis {
    let mut e = Emphasis {
        hosts: vec![Em::Plain; layout.hosts.len()],
        devices: vec![Em::Plain; layout.devices.len()],
    };
    for &(h, d) in places {
        if let Some(h) = h.and_then(|h| e.hosts.get_mut(h)) {
            *h = Em::Visited;
        }
        if let Some(d) = d.and_then(|d| e.devices.get_mut(d)) {
            *d = Em::Visited;
        }
    }
    let current = |v: &mut Vec<Em>, i: usize| {
        if let Some(x) = v.get_mut(i) {
            *x = Em::Current;
        }
    };
    match marker.map(|m| &m.place) {
        Some(Place::Host { host }) => current(&mut e.hosts, *host),
        Some(Place::Device { host, device }) => {
            current(&mut e.hosts, *host);
            current(&mut e.devices, *device);
        }
        Some(Place::Wire { from, .. }) => current(&mut e.devices, *from),
        _ => {}
    }
    e
}

/// The picture of the scenario, with the packet at step `step` of `trace`.
#[function_component(Topology)]
pub fn topology(props: &TopologyProps) -> Html {
    let layout: Rc<Layout> = use_memo(ByPtr(props.scenario.clone()), |s| layout::layout(&s.0));
    // Where each step happens, and where the packet's card goes (it keeps
    // still while the packet stays in one node), computed once per trace.
    let placed = use_memo(
        (ByPtr(layout.clone()), props.trace.clone().map(ByPtr)),
        |(l, t)| match t {
            Some(t) => (
                t.0.steps.iter().map(|s| l.0.locate(s)).collect::<Vec<_>>(),
                layout::place_cards(&l.0, &t.0.steps),
            ),
            None => Default::default(),
        },
    );
    let (places, cards) = (&placed.0, &placed.1);
    let current = props.trace.as_ref().and_then(|t| {
        let last = t.steps.len().checked_sub(1)?;
        let i = props.step.min(last);
        Some((i, layout::packet_position(&layout, &t.steps[i], cards.get(i).copied())))
    });
    let visited = match &current {
        Some((i, _)) => &places[..(i + 1).min(places.len())],
        None => &[][..],
    };
    let em = Rc::new(emphasis(&layout, visited, current.as_ref().map(|c| &c.1)));

    let (nodes, pods, clients) = layout.counts();
    let summary = format!(
        "Topology: {}, {}, {}.",
        plural(nodes, "node"),
        plural(pods, "pod"),
        plural(clients, "client")
    );
    // At a drop the packet ends where it is: the mark says so too.
    let ended = props.trace.as_ref().zip(current.as_ref()).and_then(|(t, (i, _))| {
        match &t.steps[*i].kind {
            StepKind::Drop { reason, response, .. } => Some(crate::ui::model::drop_word(*reason, response.is_some())),
            _ => None,
        }
    });
    let label = match &current {
        Some((i, m)) => {
            let end = ended.map(|e| format!(", {e} here")).unwrap_or_default();
            format!("step {}: {}{end}. {summary}", i + 1, m.describe(&layout))
        }
        None => format!("{summary} No packet shown."),
    };

    // A card wider than the picture (a long ICMP error's, in a narrow
    // scenario) widens it at that step rather than being cut.
    // So does the word beside a drop's circle (13px bold: about 8 user
    // units a letter).
    let view_w = (current.as_ref())
        .map_or(0, |(_, m)| {
            let word = ended.map_or(0, |w| m.at.x + 17 + 8 * w.len() as i32 + 4);
            (m.card.rect.right() + 2).max(word)
        })
        .max(layout.width);
    // On a narrow screen the picture keeps a legible size and scrolls
    // sideways: at each step it scrolls just enough to show the packet and
    // its card, so the picture does not jump about while they stay in
    // view.
    let scroller = use_node_ref();
    {
        let scroller = scroller.clone();
        // The card's span, and the glyph's with it (user units).
        let span = current.as_ref().map(|(_, m)| {
            let r = &m.card.rect;
            ((r.x, r.right()), (r.x.min(m.at.x - 10), r.right().max(m.at.x + 10)))
        });
        use_effect_with((span, view_w), move |&(span, view_w)| {
            if let Some(el) = scroller.cast::<web_sys::Element>() {
                let (shown, whole) = (el.client_width(), el.scroll_width());
                if let (Some((card, both)), true) = (span, whole > shown && view_w > 0) {
                    let px = |(lo, hi): (i32, i32)| {
                        let k = f64::from(whole) / f64::from(view_w);
                        (f64::from(lo) * k - 4.0, f64::from(hi) * k + 4.0)
                    };
                    let ((clo, chi), (lo, hi), shown) = (px(card), px(both), f64::from(shown));
                    let at = f64::from(el.scroll_left());
                    // Both when they fit, else the card whole (the glyph
                    // beside it as far as it shows), else the card's left.
                    let (lo, hi) = if hi - lo <= shown {
                        (lo, hi)
                    } else if chi - clo <= shown {
                        if lo < clo { (chi - shown, chi) } else { (clo, clo + shown) }
                    } else {
                        (clo, clo + shown)
                    };
                    let to = if lo < at {
                        lo
                    } else if hi > at + shown {
                        hi - shown
                    } else {
                        at
                    };
                    if to != at {
                        el.set_scroll_left(to.max(0.0) as i32);
                    }
                }
            }
        });
    }
    // Focused from the keyboard, the picture shows the packet (the
    // browser scrolled the box into view, maybe its other end).
    let reveal = Callback::from(|e: FocusEvent| {
        // (From another element: a window that gets the focus back
        // focuses it again, from none, and the page stays.)
        let keyboard = e.related_target().is_some()
            && (e.target_dyn_into::<web_sys::Element>()).is_some_and(|el| el.matches(":focus-visible").unwrap_or(false));
        if keyboard {
            gloo_timers::callback::Timeout::new(0, || {
                crate::ui::browser::fit_picture();
                crate::ui::browser::follow_packet(crate::ui::browser::Follow::Reveal)
            })
            .forget();
        }
    });
    html! {
        <figure class="topo-figure">
            // A stop for the keyboard: focusing it brings the picture into
            // view, and the arrows step there with the packet in sight (or,
            // when the picture is wider than its box, scroll it).
            <div class="topo-scroll" ref={scroller} role="group" aria-label="Topology picture" tabindex="0" onfocus={reveal}>
            <svg
                class="topo"
                viewBox={format!("0 0 {view_w} {}", layout.height)}
                // (The stylesheet caps the scale from it.)
                style={format!("--topo-w: {view_w}")}
                preserveAspectRatio="xMidYMin meet"
                role="img"
                aria-label={label.clone()}
            >
                <title>{ label }</title>
                <TopoBody layout={layout.clone()} emphasis={em} />
                if let Some((_, m)) = current {
                    <TopoMarker marker={Rc::new(m)} {ended} />
                }
            </svg>
            </div>
            <TopoLegend />
        </figure>
    }
}

#[derive(Properties)]
struct BodyProps {
    layout: Rc<Layout>,
    emphasis: Rc<Emphasis>,
}

impl PartialEq for BodyProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.layout, &o.layout) && self.emphasis == o.emphasis
    }
}

fn n(v: i32) -> AttrValue {
    AttrValue::from(v.to_string())
}

/// The LAN, the hosts and their devices.
#[function_component(TopoBody)]
fn topo_body(props: &BodyProps) -> Html {
    let l = &*props.layout;
    let em = &*props.emphasis;
    let host_em = |i: usize| em.hosts.get(i).copied().unwrap_or_default();
    let dev_em = |i: usize| em.devices.get(i).copied().unwrap_or_default();
    html! {
        <>
            <g class="topo-lans">
                { for l.sections.iter().enumerate().map(|(i, s)| html! {
                    <g key={format!("s{i}")} class={classes!("topo-section", s.lan.is_none().then_some("topo-section-loose"))}>
                        <text class="topo-caption" x={n(s.caption_at.x)} y={n(s.caption_at.y)}>{ s.caption.clone() }</text>
                        if let Some(t) = s.trunk {
                            <line class="topo-bus" x1={n(t.a.x)} y1={n(t.a.y)} x2={n(t.b.x)} y2={n(t.b.y)} />
                        }
                        { for s.buses.iter().enumerate().map(|(j, b)| html! {
                            <line key={j} class="topo-bus" x1={n(b.a.x)} y1={n(b.a.y)} x2={n(b.b.x)} y2={n(b.b.y)} />
                        }) }
                    </g>
                }) }
                { for l.stubs.iter().map(|s| html! {
                    <line
                        key={format!("t{}", s.device)}
                        class={classes!("topo-stub", dev_em(s.device).class())}
                        x1={n(s.x)} y1={n(s.top)} x2={n(s.x)} y2={n(s.bus_y)}
                    />
                }) }
            </g>
            <g class="topo-hosts">
                { for l.hosts.iter().enumerate().map(|(i, h)| {
                    let r = h.rect;
                    let e = host_em(i);
                    let kind = match h.kind {
                        HostKind::Node => "topo-node",
                        HostKind::Pod => "topo-pod",
                        HostKind::Client => "topo-client",
                    };
                    html! {
                        <g key={format!("h{i}")} class={classes!("topo-host", kind, e.class())}>
                            <title>{ h.tooltip.clone() }</title>
                            if e == Em::Current {
                                <rect class="topo-ring" x={n(r.x - 4)} y={n(r.y - 4)} width={n(r.w + 8)} height={n(r.h + 8)} rx="8" />
                            }
                            <rect class="topo-box" x={n(r.x)} y={n(r.y)} width={n(r.w)} height={n(r.h)} rx="5" />
                            <text class="topo-title" x={n(r.x + 8)} y={n(r.y + 17)}>{ h.title.clone() }</text>
                            if let Some(note) = &h.note {
                                <text class="topo-note" x={n(r.x + 8)} y={n(r.y + 33)}>{ note.clone() }</text>
                            }
                        </g>
                    }
                }) }
            </g>
            <g class="topo-links">
                { for l.links.iter().map(|k| html! {
                    <line
                        key={format!("k{}-{}", k.from, k.to)}
                        class={classes!("topo-link", (dev_em(k.from) != Em::Plain && dev_em(k.to) != Em::Plain).then_some("topo-visited"))}
                        x1={n(k.a.x)} y1={n(k.a.y)} x2={n(k.b.x)} y2={n(k.b.y)}
                    />
                }) }
            </g>
            <g class="topo-devices">
                { for l.devices.iter().enumerate().map(|(i, d)| {
                    let r = d.rect;
                    html! {
                        <g key={format!("d{i}")} class={classes!("topo-dev", format!("topo-dev-{}", d.kind.word()), dev_em(i).class())}>
                            <title>{ format!("{} {} ({}{})", l.hosts.get(d.host).map(|h| h.name.as_str()).unwrap_or(""), d.name, d.kind.word(), d.note.as_ref().map(|n| format!(", {n}")).unwrap_or_default()) }</title>
                            <rect x={n(r.x)} y={n(r.y)} width={n(r.w)} height={n(r.h)} rx="3" />
                            <text x={n(r.x + CHIP_PAD)} y={n(r.y + 15)}>
                                <tspan class="topo-dev-name">{ d.label.clone() }</tspan>
                                if let Some(a) = &d.addr {
                                    { format!(" {a}") }
                                }
                            </text>
                        </g>
                    }
                }) }
            </g>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct MarkerProps {
    marker: Rc<Marker>,
    /// `dropped` or `refused` when the packet ends here.
    ended: Option<&'static str>,
}

/// The packet: a small envelope (inside a dashed outer one when tunnelled)
/// at its place, and a card with its addresses, nested per header.
#[function_component(TopoMarker)]
fn topo_marker(props: &MarkerProps) -> Html {
    let m = &*props.marker;
    let at = m.at;
    let lead = m.card.lead;
    let wire = match &m.place {
        Place::Wire { path, .. } => Some(
            path.iter()
                .map(|p| format!("{},{}", p.x, p.y))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    };
    html! {
        <g class={classes!("topo-marker", m.encapsulated().then_some("topo-marker-encap"))}>
            if let Some(points) = wire {
                <polyline class="topo-wire-active" points={points} />
            }
            <line class="topo-leader" x1={n(at.x)} y1={n(at.y)} x2={n(lead.x)} y2={n(lead.y)} />
            if m.encapsulated() {
                <rect class="topo-glyph-outer" x={n(at.x - 12)} y={n(at.y - 9)} width="24" height="18" rx="3" />
                <rect class="topo-glyph" x={n(at.x - 7)} y={n(at.y - 5)} width="14" height="10" rx="2" />
            } else {
                <rect class="topo-glyph" x={n(at.x - 8)} y={n(at.y - 6)} width="16" height="12" rx="2" />
            }
            <polyline
                class="topo-glyph-flap"
                points={format!("{},{} {},{} {},{}", at.x - 6, at.y - 4, at.x, at.y + 1, at.x + 6, at.y - 4)}
            />
            { for m.card.layers.iter().enumerate().map(|(k, layer)| {
                let r = layer.rect;
                let baseline = if layer.outer { r.y + 12 } else { r.y + CARD_LINE_H / 2 + 4 };
                html! {
                    <g key={k} class={if layer.outer { "topo-card-outer" } else { "topo-card-inner" }}>
                        <rect x={n(r.x)} y={n(r.y)} width={n(r.w)} height={n(r.h)} rx="4" />
                        <text x={n(r.x + 8)} y={n(baseline)}>{ layer.label.clone() }</text>
                    </g>
                }
            }) }
            if let Some(word) = props.ended {
                <g class="topo-ended">
                    <circle cx={n(at.x)} cy={n(at.y)} r="13" />
                    <path d={format!("M{} {}l12 12m0 -12l-12 12", at.x - 6, at.y - 6)} />
                    // The word beside the circle (not its shape alone).
                    <text x={n(at.x + 17)} y={n(at.y + 5)} aria-hidden="true">{ word }</text>
                    <title>{ format!("the packet is {word} here") }</title>
                </g>
            }
        </g>
    }
}

/// What the picture's line styles mean (shapes and strokes, not only colour).
#[function_component(TopoLegend)]
fn topo_legend() -> Html {
    html! {
        <ul class="topo-legend" aria-label="How to read the topology picture">
            <li><span class="topo-key topo-key-visited" aria-hidden="true"></span>{ "thick border: the packet has been here" }</li>
            <li><span class="topo-key topo-key-current" aria-hidden="true"></span>{ "double border: the packet is here now" }</li>
            <li><span class="topo-key topo-key-ended" aria-hidden="true">{ "✕" }</span>{ "crossed circle: the packet is dropped there" }</li>
            <li><span class="topo-key topo-key-client" aria-hidden="true"></span>{ "dashed box: a client outside the cluster" }</li>
            <li><span class="topo-key topo-key-tunnel" aria-hidden="true"></span>{ "dashed chip: tunnel device (IPIP or VXLAN)" }</li>
            <li><span class="topo-key topo-key-packet" aria-hidden="true"></span>{ "the packet, labelled source → destination:port; a dashed outer card is the tunnel header around it (IPIP or VXLAN)" }</li>
        </ul>
    }
}

/// The picture in a browser (`cargo test --target wasm32-unknown-unknown
/// --lib topology`, headless Chromium).
#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::engine::scenario;
    use crate::engine::trace::StepKind;
    use crate::engine::{send, SimState, World};
    use std::time::Duration;
    use wasm_bindgen_test::*;
    use web_sys::Element;

    wasm_bindgen_test_configure!(run_in_browser);

    fn walk(name: &str) -> (Rc<Scenario>, Rc<Trace>) {
        let sc = scenario::builtin(name).unwrap();
        let mut w = World::build(&sc).unwrap();
        let mut s = SimState::new(&w);
        let t = send(&mut w, &mut s, &sc.preset.clone().unwrap().to_spec()).unwrap();
        (Rc::new(sc), Rc::new(t))
    }

    async fn render(props: TopologyProps) -> (Element, yew::AppHandle<Topology>) {
        let doc = web_sys::window().unwrap().document().unwrap();
        let root = doc.create_element("div").unwrap();
        doc.body().unwrap().append_child(&root).unwrap();
        let app = yew::Renderer::<Topology>::with_root_and_props(root.clone(), props).render();
        for _ in 0..100 {
            if root.query_selector(".topo-devices rect").unwrap().is_some() {
                break;
            }
            yew::platform::time::sleep(Duration::from_millis(20)).await;
        }
        (root, app)
    }

    fn find(t: &Trace, f: impl Fn(&StepKind) -> bool) -> usize {
        t.steps.iter().position(|s| f(&s.kind)).unwrap()
    }

    #[wasm_bindgen_test]
    async fn draws_the_article_with_the_packet_on_the_veth() {
        let (sc, t) = walk("article");
        let step = find(
            &t,
            |k| matches!(k, StepKind::Transmit { dev, .. } if dev == "cali71ca141a178"),
        );
        let (root, _app) = render(TopologyProps {
            scenario: sc.clone(),
            trace: Some(t.clone()),
            step,
        })
        .await;
        let svg = root.query_selector("svg.topo").unwrap().unwrap();
        assert_eq!(svg.get_attribute("role").as_deref(), Some("img"));
        let label = svg.get_attribute("aria-label").unwrap();
        assert!(
            label.starts_with(&format!(
                "step {}: on node8, device cali71ca141a178",
                step + 1
            )),
            "{label}"
        );
        let rect = root.query_selector(".topo-host rect").unwrap().unwrap();
        assert_eq!(
            rect.namespace_uri().as_deref(),
            Some("http://www.w3.org/2000/svg")
        );
        assert_eq!(root.query_selector_all(".topo-host").unwrap().length(), 8);
        let current = root
            .query_selector(".topo-dev.topo-current")
            .unwrap()
            .unwrap();
        assert!(current.text_content().unwrap().contains("cali71ca141a178"));
        let card = root.query_selector(".topo-card-inner").unwrap().unwrap();
        assert!(card
            .text_content()
            .unwrap()
            .ends_with("→ 172.16.225.112:80"));
        assert!(root.query_selector(".topo-card-outer").unwrap().is_none());
        // node51 is never visited; the client is.
        let hosts = root.query_selector_all(".topo-host.topo-visited").unwrap();
        let mut names = Vec::new();
        for i in 0..hosts.length() {
            names.push(hosts.item(i).unwrap().text_content().unwrap());
        }
        assert!(
            names.iter().any(|n| n.contains("client 192.168.11.200")),
            "{names:?}"
        );
        assert!(!names.iter().any(|n| n.contains("node51")), "{names:?}");
    }

    #[wasm_bindgen_test]
    async fn shows_the_ipip_header_around_the_packet_on_the_lan() {
        let (sc, t) = walk("article-remote");
        let step = t
            .steps
            .iter()
            .position(|s| {
                s.ns == "node8"
                    && matches!(&s.kind, StepKind::Transmit { dev, .. } if dev == "ens33")
            })
            .unwrap();
        let (root, _app) = render(TopologyProps {
            scenario: sc,
            trace: Some(t),
            step,
        })
        .await;
        let outer = root.query_selector(".topo-card-outer").unwrap().unwrap();
        assert!(outer
            .text_content()
            .unwrap()
            .starts_with("IPIP 192.168.11.58 → 192.168.11.54"));
        assert!(root.query_selector(".topo-wire-active").unwrap().is_some());
        let label = root
            .query_selector("svg.topo")
            .unwrap()
            .unwrap()
            .get_attribute("aria-label")
            .unwrap();
        assert!(label.contains("on the wire"), "{label}");
    }

    #[wasm_bindgen_test]
    async fn draws_without_a_trace_and_clamps_the_step() {
        let (sc, t) = walk("article");
        let (root, _app) = render(TopologyProps {
            scenario: sc.clone(),
            trace: None,
            step: 0,
        })
        .await;
        assert!(root.query_selector(".topo-marker").unwrap().is_none());
        let (root, _app) = render(TopologyProps {
            scenario: sc,
            trace: Some(t.clone()),
            step: 10_000,
        })
        .await;
        let label = root
            .query_selector("svg.topo")
            .unwrap()
            .unwrap()
            .get_attribute("aria-label")
            .unwrap();
        assert!(
            label.starts_with(&format!("step {}: on flask-ui", t.steps.len())),
            "{label}"
        );
    }
}
