//! Where each part of the topology picture goes: a pure function of the
//! scenario, and of one step for the packet marker. No web dependency, so it
//! is built and tested natively; `super::topology` draws it as SVG.
//!
//! Coordinates are integer SVG user units. Rows of hosts fill [`WIDTH`]
//! units (wider only if one host cannot fit, which clipped names prevent);
//! the picture is as wide as what it draws, so the page, which scales it to
//! its column, draws the 12-unit text as large as it can.
//!
//! Rules:
//! - Hosts that are not pods on a known node (nodes, clients, pods whose
//!   node is not in the scenario) are laid out in scenario order, grouped
//!   in one section per LAN (the LAN of their first Ethernet device, in
//!   order of first appearance), then a section for hosts on no LAN.
//! - In a section, hosts fill rows left to right. Under each row runs the
//!   LAN bus; a trunk on the left joins the rows' buses (one segment). The
//!   section's caption names the LAN and its subnet.
//! - A host box has its title (`node8 192.168.11.58`), then its pods, one
//!   per row, each joined to its host-side veth (`cali…`) drawn to its left,
//!   then its other devices (not `lo`) as chips, wrapped to the box width.
//!   The first Ethernet device sits at the left of the last chip row, and a
//!   stub joins it to the bus below.
//! - Names are clipped (with `…`), so every host fits in [`WIDTH`].

use crate::engine::packet::{Packet, Proto, Transport};
use crate::engine::scenario::{Device, DeviceKind, Host, HostKind, Scenario};
use crate::engine::trace::{RouteResult, Step, StepKind};
use ipnet::Ipv4Net;
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Width the rows of hosts fill, in user units; the picture is as wide as
/// what it draws ([`MIN_WIDTH`] at least, and `CARD_ROOM` more).
pub const WIDTH: i32 = 600;
/// The narrowest picture: room for most packet cards (a wider one, a long
/// ICMP error's, widens the picture at its step).
pub const MIN_WIDTH: i32 = 460;
/// Room right of the widest host, for the packet's card beside it.
const CARD_ROOM: i32 = 40;
/// Size of the labels (user units; 12 px at 600 px wide).
pub const FONT: i32 = 12;
/// Size of the section captions.
pub const CAPTION_FONT: i32 = 13;

const MARGIN: i32 = 8;
const TOP: i32 = 6;
const TRUNK_X: i32 = 12;
const HOSTS_X: i32 = 24;
const HOST_GAP: i32 = 10;
const CAPTION_H: i32 = 24;
const BUS_GAP: i32 = 14;
/// Between a bus and the next row: room for a tunnelled packet's card
/// (two nested boxes, 42 high) with a little air.
const ROW_GAP: i32 = 52;
const PAD: i32 = 8;
/// The title band of a host box (title baseline at 17).
pub const TITLE_H: i32 = 24;
/// The note line under a title (baseline at 33).
pub const NOTE_H: i32 = 16;
pub const CHIP_H: i32 = 22;
const CHIP_GAP: i32 = 6;
/// Padding left and right of a chip's text.
pub const CHIP_PAD: i32 = 6;
/// Room at the right end of a chip, and of a box's title, where the
/// packet's glyph sits without hiding any text.
const SLOT: i32 = 20;
const LINK_GAP: i32 = 24;
const POD_GAP: i32 = 8;
const MAX_HOST_NAME: usize = 28;
const MAX_DEV_NAME: usize = 16;
const MAX_LAN_NAME: usize = 24;
/// Padding inside the packet card, and the inset of each nested header.
const CARD_PAD: i32 = 8;
const CARD_NEST: i32 = 6;
/// Height of the innermost card layer and of an outer header's label band.
pub const CARD_LINE_H: i32 = 20;
pub const CARD_HEAD_H: i32 = 16;

/// Estimated width of `s` in a monospace font of size `font`: 0.62 em per
/// ASCII character (common monospace fonts use 0.6), one em for anything
/// else (`→`, `…` may come from a fallback font).
pub fn text_width(s: &str, font: i32) -> i32 {
    let (ascii, other) = s.chars().fold((0i32, 0i32), |(a, o), c| {
        if c.is_ascii() {
            (a.saturating_add(1), o)
        } else {
            (a, o.saturating_add(1))
        }
    });
    ascii.saturating_mul(font * 62).saturating_add(99) / 100 + other.saturating_mul(font)
}

/// `s` cut to `max` characters, the last one `…` when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Rect {
    pub fn right(&self) -> i32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> i32 {
        self.y + self.h
    }

    /// Whether `o` lies inside this rectangle (edges included).
    pub fn contains(&self, o: &Rect) -> bool {
        o.x >= self.x && o.y >= self.y && o.right() <= self.right() && o.bottom() <= self.bottom()
    }

    pub fn contains_point(&self, p: Point) -> bool {
        p.x >= self.x && p.x <= self.right() && p.y >= self.y && p.y <= self.bottom()
    }

    /// Whether the two rectangles share some area (touching edges do not).
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }

    fn offset(&self, by: Point) -> Rect {
        Rect {
            x: self.x + by.x,
            y: self.y + by.y,
            ..*self
        }
    }
}

/// A straight line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub a: Point,
    pub b: Point,
}

/// A device kind as the picture distinguishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevKind {
    Ethernet,
    Veth,
    /// IPIP (`tunl0`).
    Tunnel,
    Bridge,
}

impl DevKind {
    pub fn word(self) -> &'static str {
        match self {
            DevKind::Ethernet => "ethernet",
            DevKind::Veth => "veth",
            DevKind::Tunnel => "tunnel",
            DevKind::Bridge => "bridge",
        }
    }
}

/// One group of hosts: those on one LAN (a bus under each row, a trunk
/// joining the rows), or those on no LAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The LAN's name (`lan`), none for hosts on no LAN.
    pub lan: Option<String>,
    pub subnet: Option<Ipv4Net>,
    /// `LAN lan 192.168.11.0/24`, or `Not on a LAN`.
    pub caption: String,
    /// Baseline start of the caption.
    pub caption_at: Point,
    pub trunk: Option<Segment>,
    /// One horizontal bus per row (LAN sections only).
    pub buses: Vec<Segment>,
}

/// A network namespace's box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostBox {
    /// Index in `scenario.hosts`.
    pub index: usize,
    pub name: String,
    pub kind: HostKind,
    pub rect: Rect,
    /// The title as drawn (`node8 192.168.11.58`, clipped).
    pub title: String,
    /// A line under the title (why a pod is not in a node).
    pub note: Option<String>,
    /// What a tooltip says (full name, kind, Kubernetes namespace).
    pub tooltip: String,
    /// The enclosing box (a pod's node).
    pub parent: Option<usize>,
    pub section: usize,
}

/// A device's chip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceBox {
    /// Index in [`Layout::hosts`].
    pub host: usize,
    /// Index in the scenario host's `devices`.
    pub index: usize,
    pub name: String,
    /// The name as drawn (clipped).
    pub label: String,
    /// The first address as drawn, if any.
    pub addr: Option<String>,
    pub addrs: Vec<Ipv4Addr>,
    pub kind: DevKind,
    /// What the device is, beyond its kind: the bridge it is a port of.
    pub note: Option<String>,
    pub rect: Rect,
}

/// The line from an Ethernet device down to its LAN's bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stub {
    /// Index in [`Layout::devices`].
    pub device: usize,
    pub section: usize,
    pub x: i32,
    /// The device's bottom edge.
    pub top: i32,
    /// Where the stub meets the bus.
    pub bus_y: i32,
}

/// A veth pair: the host-side device to the pod's device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub from: usize,
    pub to: usize,
    pub a: Point,
    pub b: Point,
}

/// The whole picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub width: i32,
    pub height: i32,
    pub sections: Vec<Section>,
    /// Parents before their children.
    pub hosts: Vec<HostBox>,
    pub devices: Vec<DeviceBox>,
    pub stubs: Vec<Stub>,
    pub links: Vec<Link>,
}

impl Layout {
    /// The box of namespace `name` (the first, if a scenario repeats one).
    pub fn host(&self, name: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.name == name)
    }

    /// The chip of device `name` in host box `host`.
    pub fn device(&self, host: usize, name: &str) -> Option<usize> {
        self.devices
            .iter()
            .position(|d| d.host == host && d.name == name)
    }

    /// The chip named `host/dev` (as steps' `from` and `answered_by` say).
    pub fn device_path(&self, path: &str) -> Option<usize> {
        let (h, d) = path.split_once('/')?;
        self.device(self.host(h)?, d)
    }

    pub fn stub(&self, device: usize) -> Option<&Stub> {
        self.stubs.iter().find(|s| s.device == device)
    }

    /// The host box and device chip a step happens at, when drawn.
    pub fn locate(&self, step: &Step) -> (Option<usize>, Option<usize>) {
        let host = self.host(&step.ns);
        let dev = host.and_then(|h| step_device(step).and_then(|d| self.device(h, d)));
        (host, dev)
    }

    /// Counts of nodes, pods and clients, for words.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |k: HostKind| self.hosts.iter().filter(|h| h.kind == k).count();
        (n(HostKind::Node), n(HostKind::Pod), n(HostKind::Client))
    }
}

/// The device a step happens on: receive, transmit, ARP, encapsulation,
/// decapsulation, leaving the model.
pub fn step_device(step: &Step) -> Option<&str> {
    match &step.kind {
        StepKind::Receive { dev, .. }
        | StepKind::Transmit { dev, .. }
        | StepKind::Arp { dev, .. }
        | StepKind::Encap { dev, .. }
        | StepKind::Decap { dev, .. }
        | StepKind::Exit { dev, .. } => Some(dev),
        StepKind::Bridge { bridge, .. } => Some(bridge),
        _ => None,
    }
}

fn dev_kind(d: &Device) -> Option<DevKind> {
    match d.kind {
        DeviceKind::Loopback => None,
        DeviceKind::Ethernet { .. } => Some(DevKind::Ethernet),
        DeviceKind::Veth { .. } => Some(DevKind::Veth),
        DeviceKind::Ipip | DeviceKind::Vxlan { .. } => Some(DevKind::Tunnel),
        DeviceKind::Bridge { .. } => Some(DevKind::Bridge),
    }
}

fn first_addr(d: &Device) -> Option<Ipv4Addr> {
    d.addrs.iter().map(|a| a.addr()).find(|a| !a.is_loopback())
}

fn chip_text(d: &Device) -> (String, Option<String>) {
    (
        clip(&d.name, MAX_DEV_NAME),
        first_addr(d).map(|a| a.to_string()),
    )
}

/// `port of cni0 (hairpin on)` for a bridge's port; a bridge's own ports.
fn bridge_note(h: &Host, d: &Device) -> Option<String> {
    if let DeviceKind::Bridge { ports } = &d.kind {
        return (!ports.is_empty()).then(|| format!("ports {}", ports.join(", ")));
    }
    let bridge = h
        .devices
        .iter()
        .find(|b| matches!(&b.kind, DeviceKind::Bridge { ports } if ports.contains(&d.name)))?;
    let hairpin = if d.hairpin { " (hairpin on)" } else { "" };
    Some(format!("port of {}{hairpin}", bridge.name))
}

fn chip_width(d: &Device) -> i32 {
    let (label, addr) = chip_text(d);
    let text = match addr {
        Some(a) => format!("{label} {a}"),
        None => label,
    };
    text_width(&text, FONT) + 2 * CHIP_PAD + SLOT
}

/// The first Ethernet device: the one on the bus.
fn primary_ethernet(h: &Host) -> Option<(usize, &str)> {
    h.devices
        .iter()
        .enumerate()
        .find_map(|(i, d)| match &d.kind {
            DeviceKind::Ethernet { lan } => Some((i, lan.as_str())),
            _ => None,
        })
}

fn host_title(h: &Host) -> String {
    let name = clip(&h.name, MAX_HOST_NAME);
    if h.kind == HostKind::Pod {
        return name;
    }
    let addr = primary_ethernet(h)
        .and_then(|(i, _)| first_addr(&h.devices[i]))
        .or_else(|| h.devices.iter().find_map(first_addr));
    match addr {
        Some(a) => format!("{name} {a}"),
        None => name,
    }
}

fn host_tooltip(h: &Host) -> String {
    let kind = match h.kind {
        HostKind::Node => "node",
        HostKind::Pod => "pod",
        HostKind::Client => "client",
    };
    let mut s = format!("{} ({kind}", h.name);
    if let Some(ns) = &h.namespace {
        s.push_str(&format!(", namespace {ns}"));
    }
    if let (HostKind::Pod, Some(n)) = (h.kind, &h.node) {
        s.push_str(&format!(", on {n}"));
    }
    s.push(')');
    s
}

/// A host's box measured, with its contents relative to its top left.
struct Plan {
    host: usize,
    w: i32,
    h: i32,
    title: String,
    note: Option<String>,
    /// Scenario device index and chip.
    chips: Vec<(usize, Rect)>,
    pods: Vec<(Plan, Point)>,
    /// Own device index, pod position in `pods`, the pod's device index.
    links: Vec<(usize, usize, usize)>,
    /// The Ethernet device joined to the bus.
    primary: Option<usize>,
}

impl Plan {
    fn chip(&self, dev: usize) -> Option<Rect> {
        self.chips.iter().find(|(d, _)| *d == dev).map(|(_, r)| *r)
    }
}

/// The host-side veth (in `node`) and the pod's device of a veth pair.
fn veth_pair(node: &Host, pod: &Host, used: &[bool]) -> Option<(usize, usize)> {
    let is_free_veth = |i: usize| {
        !used.get(i).copied().unwrap_or(true)
            && matches!(node.devices[i].kind, DeviceKind::Veth { .. })
    };
    for (pj, pd) in pod.devices.iter().enumerate() {
        if let DeviceKind::Veth { peer } = &pd.kind {
            if let Some((h, d)) = peer.split_once('/') {
                if h == node.name {
                    if let Some(di) = node.devices.iter().position(|x| x.name == d) {
                        if is_free_veth(di) {
                            return Some((di, pj));
                        }
                    }
                }
            }
        }
        let me = format!("{}/{}", pod.name, pd.name);
        for (di, nd) in node.devices.iter().enumerate() {
            if let DeviceKind::Veth { peer } = &nd.kind {
                if *peer == me && is_free_veth(di) {
                    return Some((di, pj));
                }
            }
        }
    }
    None
}

/// Chips into rows no wider than `inner` (a chip wider than that gets a
/// row of its own); `primary` goes first in the last row.
fn flow(
    chips: &[(usize, i32)],
    primary: Option<(usize, i32)>,
    inner: i32,
) -> Vec<Vec<(usize, i32)>> {
    let width = |row: &[(usize, i32)]| -> i32 {
        row.iter().map(|c| c.1).sum::<i32>() + CHIP_GAP * (row.len() as i32 - 1).max(0)
    };
    let mut rows: Vec<Vec<(usize, i32)>> = Vec::new();
    for &c in chips {
        match rows.last_mut() {
            Some(row) if width(row) + CHIP_GAP + c.1 <= inner => row.push(c),
            _ => rows.push(vec![c]),
        }
    }
    if let Some(p) = primary {
        match rows.last_mut() {
            Some(row) if width(row) + CHIP_GAP + p.1 <= inner => row.insert(0, p),
            _ => rows.push(vec![p]),
        }
    }
    rows
}

/// Measures host `i` with the pods in `pods` inside it.
/// `top` says whether it is a top-level box (else a pod in a node);
/// `on_bus` whether its first Ethernet device joins a bus.
fn plan(
    sc: &Scenario,
    i: usize,
    pods: &[usize],
    note: Option<String>,
    top: bool,
    on_bus: bool,
) -> Plan {
    let host = &sc.hosts[i];
    let title = host_title(host);
    let mut inner = text_width(&title, FONT) + SLOT;
    if let Some(n) = &note {
        inner = inner.max(text_width(n, FONT));
    }
    let mut y = TITLE_H + if note.is_some() { NOTE_H } else { 0 };
    let mut bottom = y;

    // Pods, one per row, each after its host-side veth.
    let mut used = vec![false; host.devices.len()];
    let mut rows: Vec<(Plan, Option<(usize, usize)>)> = Vec::new();
    for &p in pods {
        let pair = veth_pair(host, &sc.hosts[p], &used);
        if let Some((d, _)) = pair {
            used[d] = true;
        }
        rows.push((plan(sc, p, &[], None, false, false), pair));
    }
    let veth_w = rows
        .iter()
        .filter_map(|(_, pair)| pair.map(|(d, _)| chip_width(&host.devices[d])))
        .max()
        .unwrap_or(0);
    let pod_x = if veth_w > 0 {
        PAD + veth_w + LINK_GAP
    } else {
        PAD
    };
    let mut chips = Vec::new();
    let mut placed = Vec::new();
    let mut links = Vec::new();
    for (k, (pod, pair)) in rows.into_iter().enumerate() {
        inner = inner.max(pod_x - PAD + pod.w);
        if let Some((d, pd)) = pair {
            let cy = pod.chip(pd).map(|r| r.y).unwrap_or(TITLE_H);
            chips.push((
                d,
                Rect {
                    x: PAD,
                    y: y + cy,
                    w: chip_width(&host.devices[d]),
                    h: CHIP_H,
                },
            ));
            links.push((d, k, pd));
        }
        bottom = y + pod.h;
        let h = pod.h;
        placed.push((pod, Point { x: pod_x, y }));
        y += h + POD_GAP;
    }

    // The other devices, as chips.
    let primary = if on_bus {
        primary_ethernet(host).map(|(d, _)| d)
    } else {
        None
    };
    let mut rest: Vec<(usize, i32)> = host
        .devices
        .iter()
        .enumerate()
        .filter(|(d, dev)| !used[*d] && Some(*d) != primary && dev_kind(dev).is_some())
        .map(|(d, dev)| (d, chip_width(dev)))
        .collect();
    // Ethernet devices first, then tunnels, bridges, veths (stable).
    let order = |d: usize| match dev_kind(&host.devices[d]) {
        Some(DevKind::Ethernet) => 0,
        Some(DevKind::Tunnel) => 1,
        Some(DevKind::Bridge) => 2,
        _ => 3,
    };
    rest.sort_by_key(|(d, _)| order(*d));
    let primary_chip = primary.map(|d| (d, chip_width(&host.devices[d])));
    for c in rest.iter().chain(primary_chip.iter()) {
        inner = inner.max(c.1);
    }
    // Many devices (a replayed node's routes): use the whole width.
    if top && rest.len() + primary_chip.iter().len() > 4 {
        inner = inner.max(WIDTH - HOSTS_X - MARGIN - 2 * PAD);
    }
    for row in flow(&rest, primary_chip, inner) {
        let mut x = PAD;
        for (d, w) in row {
            chips.push((d, Rect { x, y, w, h: CHIP_H }));
            x += w + CHIP_GAP;
        }
        bottom = y + CHIP_H;
        y += CHIP_H + CHIP_GAP;
    }
    Plan {
        host: i,
        w: inner + 2 * PAD,
        h: bottom + if bottom > TITLE_H { PAD } else { 2 },
        title,
        note,
        chips,
        pods: placed,
        links,
        primary,
    }
}

/// Turns plans into boxes.
struct Builder<'a> {
    sc: &'a Scenario,
    out: Layout,
}

impl Builder<'_> {
    /// Emits `plan` at `origin`; returns its host box index.
    fn emit(&mut self, plan: &Plan, origin: Point, parent: Option<usize>, section: usize) -> usize {
        let host = &self.sc.hosts[plan.host];
        let hi = self.out.hosts.len();
        self.out.hosts.push(HostBox {
            index: plan.host,
            name: host.name.clone(),
            kind: host.kind,
            rect: Rect {
                x: origin.x,
                y: origin.y,
                w: plan.w,
                h: plan.h,
            },
            title: plan.title.clone(),
            note: plan.note.clone(),
            tooltip: host_tooltip(host),
            parent,
            section,
        });
        let mut own = Vec::new();
        for (d, r) in &plan.chips {
            let dev = &host.devices[*d];
            let (label, addr) = chip_text(dev);
            own.push((*d, self.out.devices.len()));
            self.out.devices.push(DeviceBox {
                host: hi,
                index: *d,
                name: dev.name.clone(),
                label,
                addr,
                addrs: dev.addrs.iter().map(|a| a.addr()).collect(),
                kind: dev_kind(dev).unwrap_or(DevKind::Veth),
                // Its MTU too, in the tooltip (ip link's `mtu`).
                note: Some(match bridge_note(host, dev) {
                    Some(n) => format!("{n}, mtu {}", dev.mtu()),
                    None => format!("mtu {}", dev.mtu()),
                }),
                rect: r.offset(origin),
            });
        }
        // Each child with the index of its first device chip.
        let mut children = Vec::new();
        for (pod, at) in &plan.pods {
            let at = Point {
                x: origin.x + at.x,
                y: origin.y + at.y,
            };
            let first = self.out.devices.len();
            children.push((self.emit(pod, at, Some(hi), section), first));
        }
        for &(d, k, pd) in &plan.links {
            let from = own.iter().find(|(x, _)| *x == d).map(|(_, b)| *b);
            let to = children.get(k).and_then(|&(c, first)| {
                self.out.devices[first..]
                    .iter()
                    .position(|b| b.host == c && b.index == pd)
                    .map(|i| first + i)
            });
            if let (Some(from), Some(to)) = (from, to) {
                let (fa, tb) = (self.out.devices[from].rect, self.out.devices[to].rect);
                self.out.links.push(Link {
                    from,
                    to,
                    a: Point {
                        x: fa.right(),
                        y: fa.y + fa.h / 2,
                    },
                    b: Point {
                        x: tb.x,
                        y: tb.y + tb.h / 2,
                    },
                });
            }
        }
        hi
    }
}

/// Lays out the whole scenario.
pub fn layout(sc: &Scenario) -> Layout {
    let n = sc.hosts.len();
    // The node box each pod goes in, if its node is in the scenario.
    let mut nodes: HashMap<&str, usize> = HashMap::new();
    for (i, h) in sc.hosts.iter().enumerate() {
        if h.kind == HostKind::Node {
            nodes.entry(h.name.as_str()).or_insert(i);
        }
    }
    let node_of = |i: usize| -> Option<usize> {
        let h = &sc.hosts[i];
        if h.kind != HostKind::Pod {
            return None;
        }
        nodes.get(h.node.as_deref()?).copied()
    };
    let mut pods_of: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut top: Vec<usize> = Vec::new();
    for i in 0..n {
        match node_of(i) {
            Some(node) => pods_of[node].push(i),
            None => top.push(i),
        }
    }

    // Clients outside the cluster first: the packets a learner sends
    // most start there, so the walk begins at the picture's top (in sight
    // when the page opens) and goes down into the nodes.
    top.sort_by_key(|&i| sc.hosts[i].kind != HostKind::Client);

    // Sections: one per LAN in order of first appearance, then no LAN.
    let mut lans: Vec<String> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut loose: Vec<usize> = Vec::new();
    for &i in &top {
        match primary_ethernet(&sc.hosts[i]) {
            Some((_, lan)) => match lans.iter().position(|l| l == lan) {
                Some(k) => members[k].push(i),
                None => {
                    lans.push(lan.to_string());
                    members.push(vec![i]);
                }
            },
            None => loose.push(i),
        }
    }
    let subnet = |lan: &str| -> Option<Ipv4Net> {
        sc.hosts
            .iter()
            .flat_map(|h| &h.devices)
            .filter(|d| matches!(&d.kind, DeviceKind::Ethernet { lan: l } if l == lan))
            .flat_map(|d| &d.addrs)
            .map(|a| a.trunc())
            .fold(None, |best: Option<Ipv4Net>, a| match best {
                // The first that is a network rather than one address.
                Some(b) if b.prefix_len() < 32 || a.prefix_len() == 32 => Some(b),
                _ => Some(a),
            })
    };
    let mut groups: Vec<(Option<String>, Vec<usize>)> =
        lans.into_iter().map(Some).zip(members).collect();
    if !loose.is_empty() {
        groups.push((None, loose));
    }

    let mut b = Builder {
        sc,
        out: Layout {
            width: WIDTH,
            height: 0,
            sections: Vec::new(),
            hosts: Vec::new(),
            devices: Vec::new(),
            stubs: Vec::new(),
            links: Vec::new(),
        },
    };
    let mut y = TOP;
    for (si, (lan, hosts)) in groups.into_iter().enumerate() {
        let subnet = lan.as_deref().and_then(subnet);
        let caption = match (&lan, subnet) {
            (Some(l), s) => {
                let name = if l.eq_ignore_ascii_case("lan") {
                    String::new()
                } else {
                    format!(" {}", clip(l, MAX_LAN_NAME))
                };
                match s {
                    Some(s) => format!("LAN{name} {s}"),
                    None => format!("LAN{name}"),
                }
            }
            (None, _) => "Not on a LAN".to_string(),
        };
        let on_bus = lan.is_some();
        let caption_at = Point {
            x: if on_bus { 4 } else { HOSTS_X },
            y: y + 16,
        };
        let trunk_top = y + CAPTION_H - 4;
        // Room for the packet's card above the first row, as the gap
        // between rows leaves above the others.
        y += CAPTION_H + ROW_GAP + 2;
        let mut buses = Vec::new();
        let plans: Vec<Plan> = hosts
            .iter()
            .map(|&i| {
                let h = &sc.hosts[i];
                let note = match (h.kind, &h.node) {
                    (HostKind::Pod, Some(node)) => {
                        Some(format!("node {} not found", clip(node, MAX_HOST_NAME)))
                    }
                    (HostKind::Pod, None) => Some("no node given".to_string()),
                    _ => None,
                };
                plan(sc, i, &pods_of[i], note, true, on_bus)
            })
            .collect();
        // Rows, filled left to right.
        let mut rows: Vec<Vec<&Plan>> = Vec::new();
        let mut x = HOSTS_X;
        for p in &plans {
            match rows.last_mut() {
                Some(row) if x + p.w <= WIDTH - MARGIN => row.push(p),
                _ => {
                    rows.push(vec![p]);
                    x = HOSTS_X;
                }
            }
            x += p.w + HOST_GAP;
        }
        for row in rows {
            let row_h = row.iter().map(|p| p.h).max().unwrap_or(0);
            let mut x = HOSTS_X;
            let mut placed = Vec::new();
            for p in row {
                let first = b.out.devices.len();
                let hi = b.emit(p, Point { x, y }, None, si);
                b.out.width = b.out.width.max(x + p.w + MARGIN);
                placed.push((p, hi, first));
                x += p.w + HOST_GAP;
            }
            if on_bus {
                let bus_y = y + row_h + BUS_GAP;
                for (p, hi, first) in placed {
                    let Some(d) = p.primary else { continue };
                    let Some(di) = b.out.devices[first..]
                        .iter()
                        .position(|x| x.host == hi && x.index == d)
                        .map(|k| first + k)
                    else {
                        continue;
                    };
                    let r = b.out.devices[di].rect;
                    b.out.stubs.push(Stub {
                        device: di,
                        section: si,
                        x: r.x + r.w / 2,
                        top: r.bottom(),
                        bus_y,
                    });
                }
                buses.push(Segment {
                    a: Point {
                        x: TRUNK_X,
                        y: bus_y,
                    },
                    b: Point { x: 0, y: bus_y },
                });
                y = bus_y + ROW_GAP;
            } else {
                y += row_h + ROW_GAP;
            }
        }
        let trunk = match (on_bus, buses.last()) {
            (true, Some(last)) => Some(Segment {
                a: Point {
                    x: TRUNK_X,
                    y: trunk_top,
                },
                b: Point {
                    x: TRUNK_X,
                    y: last.a.y,
                },
            }),
            _ => None,
        };
        b.out.sections.push(Section {
            lan,
            subnet,
            caption,
            caption_at,
            trunk,
            buses,
        });
    }
    let mut out = b.out;
    // As wide as what is drawn, and a little room for the packet's card
    // beside it: the page scales the picture to its column, so the
    // narrower the picture, the larger its text (the article's is 478
    // units: its 12-unit text is 13.4 px in a 535 px column, not 10.7).
    let drawn = (out.hosts.iter().map(|h| h.rect.right()))
        .chain((out.sections.iter()).map(|s| s.caption_at.x + text_width(&s.caption, CAPTION_FONT)))
        .max()
        .unwrap_or(0);
    out.width = out.width.min((drawn + MARGIN + CARD_ROOM).max(MIN_WIDTH));
    let right = out.width - MARGIN;
    for s in &mut out.sections {
        for bus in &mut s.buses {
            bus.b.x = right;
        }
    }
    // Under the last bus, room for the packet's card as under the others.
    let last_bus = out.sections.last().is_some_and(|s| !s.buses.is_empty());
    let room = if last_bus { ROW_GAP } else { MARGIN };
    out.height = (y - ROW_GAP + room).max(TOP + CAPTION_H + MARGIN);
    out
}

/// Where the packet is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// In a namespace (host box).
    Host { host: usize },
    /// At a device of a namespace.
    Device { host: usize, device: usize },
    /// On the LAN, sent by device `from` toward device `to` (when the next
    /// hop is drawn); `path` runs from the sender's stub along the bus.
    Wire {
        section: usize,
        from: usize,
        to: Option<usize>,
        path: Vec<Point>,
    },
    /// In a namespace the picture does not show.
    Nowhere,
}

/// An IPv4 header as the marker labels it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: Proto,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    /// An ICMP message's kind (`echo-request`).
    pub icmp: Option<&'static str>,
}

impl Header {
    /// `192.168.11.200 → 10.96.100.10:80` (the protocol for port-less ones).
    pub fn inner_label(&self) -> String {
        match self.dst_port {
            Some(p) => format!("{} → {}:{}", self.src, self.dst, p),
            None => format!(
                "{} → {} {}{}",
                self.src,
                self.dst,
                self.proto.name().to_ascii_uppercase(),
                self.icmp.map(|k| format!(" {k}")).unwrap_or_default()
            ),
        }
    }

    /// `IPIP 192.168.11.58 → 192.168.11.54`.
    pub fn outer_label(&self) -> String {
        let p = match self.proto {
            Proto::Ipip => "IPIP".to_string(),
            p => p.name().to_ascii_uppercase(),
        };
        format!("{p} {} → {}", self.src, self.dst)
    }
}

/// One nested box of the packet card: outer headers first, the inner
/// packet last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardLayer {
    pub rect: Rect,
    pub label: String,
    /// An encapsulating header (else the inner packet).
    pub outer: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    pub rect: Rect,
    pub layers: Vec<CardLayer>,
    /// Where the leader line from the glyph meets the card.
    pub lead: Point,
}

/// The packet at one step: where it is drawn and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// Where the packet glyph goes.
    pub at: Point,
    pub place: Place,
    /// The step's namespace and device.
    pub ns: String,
    pub device: Option<String>,
    /// Encapsulating headers, outermost first (empty when not tunnelled).
    pub outer: Vec<Header>,
    pub inner: Header,
    /// The label card near `at`.
    pub card: Card,
}

impl Marker {
    pub fn encapsulated(&self) -> bool {
        !self.outer.is_empty()
    }

    /// Where the packet is, in words: `on node8, device cali71ca141a178`.
    pub fn describe(&self, layout: &Layout) -> String {
        let host = |i: usize| layout.hosts.get(i).map(|h| h.name.as_str()).unwrap_or("?");
        let dev = |i: usize| {
            layout
                .devices
                .get(i)
                .map(|d| format!("{} {}", host(d.host), d.name))
                .unwrap_or_default()
        };
        let mut s = match &self.place {
            Place::Host { host: h } => format!("on {}", host(*h)),
            Place::Device { host: h, device } => format!(
                "on {}, device {}",
                host(*h),
                layout
                    .devices
                    .get(*device)
                    .map(|d| d.name.as_str())
                    .unwrap_or("?")
            ),
            Place::Wire {
                section, from, to, ..
            } => {
                let lan = layout
                    .sections
                    .get(*section)
                    .map(|s| s.caption.clone())
                    .unwrap_or_else(|| "LAN".into());
                match to {
                    Some(t) => format!("on the wire ({lan}) from {} to {}", dev(*from), dev(*t)),
                    None => format!("on the wire ({lan}), sent by {}", dev(*from)),
                }
            }
            Place::Nowhere => format!("in {}, which the picture does not show", self.ns),
        };
        s.push_str(&format!("; packet {}", self.inner.inner_label()));
        for o in &self.outer {
            s.push_str(&format!(", inside {}", o.outer_label()));
        }
        s
    }
}

fn headers(p: &Packet) -> (Vec<Header>, Header) {
    let outer = p
        .outer
        .iter()
        .map(|h| Header {
            src: h.src,
            dst: h.dst,
            proto: h.protocol,
            src_port: None,
            dst_port: None,
            icmp: None,
        })
        .collect();
    let ports = match &p.transport {
        Transport::Tcp { .. } | Transport::Udp { .. } => p.transport.ports(),
        _ => None,
    };
    let inner = Header {
        src: p.ip.src,
        dst: p.ip.dst,
        proto: p.ip.protocol,
        src_port: ports.map(|x| x.0),
        dst_port: ports.map(|x| x.1),
        icmp: match &p.transport {
            Transport::Icmp {
                icmp_type, code, ..
            } => Some(crate::engine::packet::icmp::name(*icmp_type, *code)),
            _ => None,
        },
    };
    (outer, inner)
}

/// A card's labels, outermost first, with whether each is an
/// encapsulating header.
type Labels = Vec<(String, bool)>;

/// The card's labels, and each nested box's size (the first is the
/// card's).
fn card_boxes(outer: &[Header], inner: &Header) -> (Labels, Vec<(i32, i32)>) {
    let mut labels: Vec<(String, bool)> = outer.iter().map(|h| (h.outer_label(), true)).collect();
    labels.push((inner.inner_label(), false));
    // Sizes from the inside out.
    let mut sizes = Vec::with_capacity(labels.len());
    let (mut w, mut h) = (
        text_width(&labels[labels.len() - 1].0, FONT) + 2 * CARD_PAD,
        CARD_LINE_H,
    );
    sizes.push((w, h));
    for (label, _) in labels.iter().rev().skip(1) {
        w = (w + 2 * CARD_NEST).max(text_width(label, FONT) + 2 * CARD_PAD);
        h += CARD_HEAD_H + CARD_NEST;
        sizes.push((w, h));
    }
    sizes.reverse();
    (labels, sizes)
}

/// The card's nested boxes, with its top left corner at `corner` (else
/// where [`place_cards`] puts it for this step alone).
fn card(layout: &Layout, spot: &Spot, corner: Option<Point>) -> Card {
    let (labels, sizes) = card_boxes(&spot.outer, &spot.inner);
    let (w, h) = sizes[0];
    let scene = Scene::new(layout);
    let Point { x, y } = corner.unwrap_or_else(|| {
        let only = [(spot.at, spot.own)];
        scene.place(layout, &only, w, h, spot.top)
    });
    let rect = Rect { x, y, w, h };
    let lead = scene.lead(layout, &rect, spot.at, spot.own).1;
    let mut layers: Vec<CardLayer> = Vec::with_capacity(labels.len());
    for (k, (label, is_outer)) in labels.into_iter().enumerate() {
        let rect = match layers.last() {
            None => rect,
            Some(o) => Rect {
                x: o.rect.x + CARD_NEST,
                y: o.rect.y + CARD_HEAD_H,
                w: (o.rect.w - 2 * CARD_NEST).max(0),
                h: sizes[k].1,
            },
        };
        layers.push(CardLayer {
            rect,
            label,
            outer: is_outer,
        });
    }
    Card { rect, layers, lead }
}

/// Where the leader line from the glyph at `at` may meet `card`: on its
/// edge nearest the glyph, above or below it, straight over the glyph
/// (first) or elsewhere along that edge.
fn leads(card: &Rect, at: Point) -> impl Iterator<Item = Point> {
    let (lo, hi) = (card.x + 4, (card.right() - 4).max(card.x + 4));
    let y = if card.bottom() <= at.y {
        card.bottom()
    } else {
        card.y
    };
    std::iter::once(at.x.clamp(lo, hi))
        .chain((0..=8).map(move |k| lo + (hi - lo) * k / 8))
        .map(move |x| Point { x, y })
}

/// The length of the picture's lines that run under `r` or within 3 of
/// its edges: host borders (the ring drawn around the packet's host is 4
/// outside them), buses and trunks.
fn lines_under(layout: &Layout, r: &Rect) -> i64 {
    const M: i32 = 3;
    let across = |y: i32, x1: i32, x2: i32| -> i64 {
        if y >= r.y - M && y <= r.bottom() + M {
            (x2.min(r.right()) - x1.max(r.x)).max(0) as i64
        } else {
            0
        }
    };
    let down = |x: i32, y1: i32, y2: i32| -> i64 {
        if x >= r.x - M && x <= r.right() + M {
            (y2.min(r.bottom()) - y1.max(r.y)).max(0) as i64
        } else {
            0
        }
    };
    let mut n = 0;
    for h in &layout.hosts {
        let b = h.rect;
        n += across(b.y, b.x, b.right())
            + across(b.bottom(), b.x, b.right())
            + down(b.x, b.y, b.bottom())
            + down(b.right(), b.y, b.bottom());
    }
    for s in &layout.sections {
        for bus in &s.buses {
            n += across(bus.a.y, bus.a.x, bus.b.x);
        }
        if let Some(t) = s.trunk {
            n += down(t.a.x, t.a.y, t.b.y);
        }
    }
    n
}

fn overlap(a: &Rect, b: &Rect) -> i64 {
    let w = (a.right().min(b.right()) - a.x.max(b.x)).max(0) as i64;
    let h = (a.bottom().min(b.bottom()) - a.y.max(b.y)).max(0) as i64;
    w * h
}

/// What a packet's card should not hide, and its leader line not cross.
struct Scene {
    /// Host titles, device chips and section captions.
    obstacles: Vec<Rect>,
    /// The text a leader line should not cross: host titles and device
    /// chips.
    texts: Vec<Rect>,
}

impl Scene {
    fn new(layout: &Layout) -> Scene {
        let mut obstacles = Vec::new();
        let mut texts = Vec::new();
        for hb in &layout.hosts {
            let lines = TITLE_H + if hb.note.is_some() { NOTE_H } else { 0 };
            let text = text_width(&hb.title, FONT)
                .max(hb.note.as_deref().map_or(0, |n| text_width(n, FONT)));
            let title = Rect {
                x: hb.rect.x,
                y: hb.rect.y,
                w: hb.rect.w.min(text + 2 * PAD),
                h: lines.min(hb.rect.h),
            };
            obstacles.push(title);
            texts.push(title);
        }
        for d in &layout.devices {
            obstacles.push(d.rect);
            texts.push(d.rect);
        }
        for s in &layout.sections {
            obstacles.push(Rect {
                x: s.caption_at.x,
                y: s.caption_at.y - 14,
                w: text_width(&s.caption, CAPTION_FONT),
                h: 18,
            });
        }
        Scene { obstacles, texts }
    }

    /// What a card at `r` costs while the glyph is at `at` on `own` (the
    /// device the packet is on), without its leader line: the text it
    /// hides (the glyph and `own` ten times over), the lines it crosses,
    /// and its distance from the glyph.
    fn cost(&self, layout: &Layout, r: &Rect, at: Point, own: Option<Rect>) -> i64 {
        let glyph = Rect {
            x: at.x - 13,
            y: at.y - 10,
            w: 26,
            h: 20,
        };
        let hidden: i64 = (self.obstacles.iter()).map(|o| overlap(r, o)).sum::<i64>()
            + 10 * overlap(r, &glyph)
            + own.map_or(0, |o| 10 * overlap(r, &o));
        let crossed = 20 * lines_under(layout, r);
        let dx = (r.x - at.x).max(at.x - r.right()).max(0) as i64;
        let dy = (r.y - at.y).max(at.y - r.bottom()).max(0) as i64;
        hidden + crossed + 4 * (dx + dy)
    }

    /// The leader line's best way from the glyph at `at` to the card at
    /// `r`: over the least text (not `own`, the glyph's device), across
    /// the fewest lines, the shortest. Its cost, and where it meets the
    /// card.
    fn lead(&self, layout: &Layout, r: &Rect, at: Point, own: Option<Rect>) -> (i64, Point) {
        leads(r, at)
            .enumerate()
            .map(|(k, to)| {
                let len = (to.x - at.x).abs() + (to.y - at.y).abs();
                let cost = 400 * leader_over(&self.texts, own, at, to)
                    + 100 * leader_crossings(layout, at, to)
                    + i64::from(len) / 8;
                ((cost, k), to)
            })
            .min_by_key(|(c, _)| *c)
            .map(|((cost, _), to)| (cost, to))
            .unwrap_or((0, at))
    }

    /// Where a `w`×`h` card goes for a glyph that stands at each of
    /// `spots` (a place, and the device there) in turn: of the places
    /// around each (above, below, diagonally, beside, and in the gaps
    /// above and below the row of `top`, the outermost box around them;
    /// clamped into the picture), the one that costs least for them all
    /// ([`Scene::cost`] and [`Scene::lead`]), then the first in that
    /// order. Its top left corner.
    fn place(
        &self,
        layout: &Layout,
        spots: &[(Point, Option<Rect>)],
        w: i32,
        h: i32,
        top: Option<Rect>,
    ) -> Point {
        const GAP: i32 = 10;
        let clamp = |v: i32, hi: i32| v.min(hi).max(2);
        let mut places: Vec<Rect> = Vec::new();
        for &(at, _) in spots {
            let mut candidates = vec![
                (at.x - w / 2, at.y - GAP - h),
                (at.x - w / 2, at.y + GAP),
                (at.x + 2 * GAP, at.y - GAP - h),
                (at.x - 2 * GAP - w, at.y - GAP - h),
                (at.x + 2 * GAP, at.y + GAP),
                (at.x - 2 * GAP - w, at.y + GAP),
                (at.x + 2 * GAP, at.y - h / 2),
                (at.x - 2 * GAP - w, at.y - h / 2),
                // Just under a bus (the gap below it holds the tallest card).
                (at.x - w / 2, at.y + 5),
                (at.x + GAP, at.y + 5),
            ];
            // In the gaps above and below the row of the outermost box
            // around the packet (below its bus).
            if let Some(t) = top {
                for y in [t.y - 5 - h, t.bottom() + BUS_GAP + 5] {
                    candidates.extend([(at.x - w / 2, y), (t.right() - w, y), (t.x, y)]);
                }
                // Beside the box, level with the glyph.
                candidates.push((t.right() + GAP, at.y - h / 2));
            }
            for (x, y) in candidates {
                let r = Rect {
                    x: clamp(x, layout.width - 2 - w),
                    y: clamp(y, layout.height - 2 - h),
                    w,
                    h,
                };
                if !places.contains(&r) {
                    places.push(r);
                }
            }
        }
        // The best place so far: a place whose card alone already costs
        // more is not worth its leaders' reckoning (the long part of the
        // work).
        let mut best: Option<(i64, Rect)> = None;
        for r in places {
            let base: i64 = spots
                .iter()
                .map(|&(at, own)| self.cost(layout, &r, at, own))
                .sum();
            if best.as_ref().is_some_and(|b| base >= b.0) {
                continue;
            }
            let led: i64 = spots
                .iter()
                .map(|&(at, own)| self.lead(layout, &r, at, own).0)
                .sum();
            // (Ties go to the earlier place.)
            if best.as_ref().is_none_or(|b| base + led < b.0) {
                best = Some((base + led, r));
            }
        }
        best.map_or(Point { x: 2, y: 2 }, |(_, r)| Point { x: r.x, y: r.y })
    }
}

/// Where the packet's card goes at each of `steps` (its top left
/// corner): one place for each stay of the packet in one box (a node's
/// namespace, a pod's), as large as the largest card of the stay and the
/// best for all the places the glyph takes in it (`Scene::place`), so
/// that the card keeps still while the glyph moves between the box's
/// hooks and devices. On a wire (outside any box) it is placed for that
/// step alone.
pub fn place_cards(layout: &Layout, steps: &[Step]) -> Vec<Point> {
    let scene = Scene::new(layout);
    let spots: Vec<Spot> = steps.iter().map(|s| spot(layout, s)).collect();
    // Each step's card size: measured again only when the headers change.
    let mut sizes: Vec<(i32, i32)> = Vec::with_capacity(spots.len());
    for (k, s) in spots.iter().enumerate() {
        let same = k > 0 && spots[k - 1].outer == s.outer && spots[k - 1].inner == s.inner;
        let size = match sizes.last() {
            Some(&last) if same => last,
            _ => card_boxes(&s.outer, &s.inner).1[0],
        };
        sizes.push(size);
    }
    let mut out = Vec::with_capacity(spots.len());
    let mut k = 0;
    while k < spots.len() {
        let first = &spots[k];
        let stay = spots[k..]
            .iter()
            .take_while(|s| s.host == first.host && (s.host.is_some() || s.at == first.at))
            .count();
        let mut glyphs: Vec<(Point, Option<Rect>)> = Vec::new();
        let (mut w, mut h) = (0, 0);
        for (s, size) in spots[k..k + stay].iter().zip(&sizes[k..k + stay]) {
            if !glyphs.contains(&(s.at, s.own)) {
                glyphs.push((s.at, s.own));
            }
            (w, h) = (w.max(size.0), h.max(size.1));
        }
        let corner = scene.place(layout, &glyphs, w, h, first.top);
        out.extend(std::iter::repeat_n(corner, stay));
        k += stay;
    }
    out
}

/// How much of the leader line from the glyph at `at` to `to` runs over
/// text in `rects` (host titles, device chips) but `except`, in steps of 2.
fn leader_over(rects: &[Rect], except: Option<Rect>, at: Point, to: Point) -> i64 {
    // Only the rectangles the line's bounding box touches.
    let (x0, x1, y0, y1) = (
        at.x.min(to.x),
        at.x.max(to.x),
        at.y.min(to.y),
        at.y.max(to.y),
    );
    let rects: Vec<&Rect> = (rects.iter())
        .filter(|r| {
            Some(**r) != except && r.x <= x1 && r.right() >= x0 && r.y <= y1 && r.bottom() >= y0
        })
        .collect();
    if rects.is_empty() {
        return 0;
    }
    let steps = ((to.x - at.x).abs().max((to.y - at.y).abs()) / 2).max(1);
    // The glyph's own half-height is where the line starts.
    (4..=steps)
        .filter(|k| {
            let p = Point {
                x: at.x + (to.x - at.x) * k / steps,
                y: at.y + (to.y - at.y) * k / steps,
            };
            rects.iter().any(|r| r.contains_point(p))
        })
        .count() as i64
}

/// How many lines (host borders, buses) the leader line from the glyph at
/// `at` to `to` crosses.
fn leader_crossings(layout: &Layout, at: Point, to: Point) -> i64 {
    let (p, q) = (at, to);
    // Strictly between p and q along one axis, at `v`: where the other
    // coordinate is then, if it is within [lo, hi].
    let hits = |pa: i32, qa: i32, pb: i32, qb: i32, v: i32, lo: i32, hi: i32| -> bool {
        if (pa - v).signum() * (qa - v).signum() >= 0 {
            return false;
        }
        let b = pb + (qb - pb) * (v - pa) / (qa - pa);
        (lo..=hi).contains(&b)
    };
    let across = |y: i32, x1: i32, x2: i32| hits(p.y, q.y, p.x, q.x, y, x1, x2);
    let down = |x: i32, y1: i32, y2: i32| hits(p.x, q.x, p.y, q.y, x, y1, y2);
    let mut n = 0;
    for h in &layout.hosts {
        let b = h.rect;
        n += [
            across(b.y, b.x, b.right()),
            across(b.bottom(), b.x, b.right()),
            down(b.x, b.y, b.bottom()),
            down(b.right(), b.y, b.bottom()),
        ]
        .iter()
        .filter(|x| **x)
        .count() as i64;
    }
    for s in &layout.sections {
        n += (s.buses.iter())
            .filter(|bus| across(bus.a.y, bus.a.x, bus.b.x))
            .count() as i64;
    }
    n
}

/// Where the packet is at `step`: on the device the step names (receive,
/// transmit, ARP, encapsulation), on the LAN bus between sender and next
/// hop when it is transmitted on an Ethernet device joined to a bus, else
/// in its namespace's box. `card_at` is where its card goes
/// ([`place_cards`]); without it, the card is placed for this step alone.
pub fn packet_position(layout: &Layout, step: &Step, card_at: Option<Point>) -> Marker {
    let spot = spot(layout, step);
    let card = card(layout, &spot, card_at);
    Marker {
        at: spot.at,
        place: spot.place,
        ns: step.ns.clone(),
        device: step_device(step).map(str::to_string),
        outer: spot.outer,
        inner: spot.inner,
        card,
    }
}

/// Where the packet is at a step, before its card is placed.
struct Spot {
    place: Place,
    /// Where the glyph goes.
    at: Point,
    /// The device the packet is on.
    own: Option<Rect>,
    /// The box the packet is in (a node's, a pod's).
    host: Option<usize>,
    /// The outermost box around the packet (a pod's node).
    top: Option<Rect>,
    outer: Vec<Header>,
    inner: Header,
}

fn spot(layout: &Layout, step: &Step) -> Spot {
    let (host, device) = layout.locate(step);
    let next_hop = match &step.kind {
        StepKind::Transmit { next_hop, .. } => Some(*next_hop),
        StepKind::Exit { next_hop, .. } => Some(Some(*next_hop)),
        _ => None,
    };
    let wire = match (device, next_hop) {
        (Some(d), Some(nh)) => layout.stub(d).map(|s| (d, *s, nh)),
        _ => None,
    };
    let (place, at) = match (host, device, wire) {
        (_, _, Some((d, s, nh))) => {
            let target = nh.and_then(|nh| {
                layout.stubs.iter().find(|o| {
                    o.section == s.section
                        && layout.devices[o.device].host != layout.devices[d].host
                        && layout.devices[o.device].addrs.contains(&nh)
                })
            });
            let trunk_x = layout
                .sections
                .get(s.section)
                .and_then(|x| x.trunk)
                .map(|t| t.a.x)
                .unwrap_or(TRUNK_X);
            let mut path = vec![Point { x: s.x, y: s.top }, Point { x: s.x, y: s.bus_y }];
            let at = match target {
                Some(t) if t.bus_y == s.bus_y => {
                    path.push(Point { x: t.x, y: t.bus_y });
                    path.push(Point { x: t.x, y: t.top });
                    Point {
                        x: (s.x + t.x) / 2,
                        y: s.bus_y,
                    }
                }
                Some(t) => {
                    path.push(Point {
                        x: trunk_x,
                        y: s.bus_y,
                    });
                    path.push(Point {
                        x: trunk_x,
                        y: t.bus_y,
                    });
                    path.push(Point { x: t.x, y: t.bus_y });
                    path.push(Point { x: t.x, y: t.top });
                    // Halfway along the longer of the two runs on a bus
                    // (the gaps under buses have room for the card).
                    if (s.x - trunk_x).abs() >= (t.x - trunk_x).abs() {
                        Point {
                            x: (s.x + trunk_x) / 2,
                            y: s.bus_y,
                        }
                    } else {
                        Point {
                            x: (t.x + trunk_x) / 2,
                            y: t.bus_y,
                        }
                    }
                }
                None => Point { x: s.x, y: s.bus_y },
            };
            (
                Place::Wire {
                    section: s.section,
                    from: d,
                    to: target.map(|t| t.device),
                    path,
                },
                at,
            )
        }
        (Some(h), Some(d), None) => {
            let r = layout.devices[d].rect;
            (
                Place::Device { host: h, device: d },
                // In the room at the chip's right end, after its text.
                Point {
                    x: r.right() - SLOT / 2 - 2,
                    y: r.y + CHIP_H / 2,
                },
            )
        }
        (Some(h), None, None) => {
            let r = layout.hosts[h].rect;
            (
                Place::Host { host: h },
                // In the room at the end of the box's title.
                Point {
                    x: r.right() - PAD - SLOT / 2,
                    y: r.y + TITLE_H / 2,
                },
            )
        }
        (None, _, None) => (
            Place::Nowhere,
            Point {
                x: layout.width / 2,
                y: TOP,
            },
        ),
    };
    let (outer, inner) = headers(&step.packet);
    let own = match &place {
        Place::Device { device, .. } => layout.devices.get(*device).map(|d| d.rect),
        _ => None,
    };
    // The outermost box around the packet (a pod's node).
    let top = match &place {
        Place::Host { host } | Place::Device { host, .. } => {
            let mut h = *host;
            let mut hops = 0;
            while let Some(p) = layout.hosts.get(h).and_then(|b| b.parent) {
                if hops > layout.hosts.len() {
                    break;
                }
                h = p;
                hops += 1;
            }
            layout.hosts.get(h).map(|b| b.rect)
        }
        _ => None,
    };
    Spot {
        host: match &place {
            Place::Host { host } | Place::Device { host, .. } => Some(*host),
            _ => None,
        },
        place,
        at,
        own,
        top,
        outer,
        inner,
    }
}

/// Devices a step names, as (namespace, device): the one it happens on,
/// the sender of a receive, the answer of an ARP, a route's device.
pub fn named_devices(step: &Step) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(d) = step_device(step) {
        out.push((step.ns.clone(), d.to_string()));
    }
    let path = |p: &str| {
        p.split_once('/')
            .map(|(h, d)| (h.to_string(), d.to_string()))
    };
    match &step.kind {
        StepKind::Receive { from: Some(f), .. } => out.extend(path(f)),
        StepKind::Arp {
            answered_by: Some(a),
            ..
        } => out.extend(path(a)),
        StepKind::Route {
            result: RouteResult::Unicast { dev, .. },
            ..
        } => out.push((step.ns.clone(), dev.clone())),
        StepKind::Bridge {
            in_port, out_port, ..
        } => {
            out.push((step.ns.clone(), in_port.clone()));
            out.push((step.ns.clone(), out_port.clone()));
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scenario::{self, Device, Host};
    use crate::engine::{send, SimState, Trace, World};

    fn walk(name: &str) -> (Scenario, Trace) {
        let sc = scenario::builtin(name).unwrap();
        let mut w = World::build(&sc).unwrap();
        let mut s = SimState::new(&w);
        let spec = sc.preset.clone().unwrap().to_spec();
        let t = send(&mut w, &mut s, &spec).unwrap();
        (sc, t)
    }

    fn inside_picture(l: &Layout, r: &Rect) -> bool {
        r.x >= 0 && r.y >= 0 && r.right() <= l.width && r.bottom() <= l.height
    }

    /// Structural checks every layout must pass.
    fn check(l: &Layout) {
        assert!(l.width >= MIN_WIDTH && l.height > 0);
        for h in &l.hosts {
            assert!(inside_picture(l, &h.rect), "{} {:?}", h.name, h.rect);
            if let Some(p) = h.parent {
                assert!(p < l.hosts.len());
                assert!(
                    l.hosts[p].rect.contains(&h.rect),
                    "{} outside its parent",
                    h.name
                );
            }
        }
        // Siblings (same parent) never overlap.
        for (i, a) in l.hosts.iter().enumerate() {
            for b in &l.hosts[i + 1..] {
                if a.parent == b.parent {
                    assert!(!a.rect.overlaps(&b.rect), "{} overlaps {}", a.name, b.name);
                }
            }
        }
        for d in &l.devices {
            let h = &l.hosts[d.host];
            assert!(
                h.rect.contains(&d.rect),
                "{}/{} outside its host",
                h.name,
                d.name
            );
            // Not under a pod box of its own host.
            for c in l.hosts.iter().filter(|c| c.parent == Some(d.host)) {
                assert!(
                    !c.rect.overlaps(&d.rect),
                    "{}/{} under {}",
                    h.name,
                    d.name,
                    c.name
                );
            }
        }
        for (i, a) in l.devices.iter().enumerate() {
            for b in &l.devices[i + 1..] {
                assert!(!a.rect.overlaps(&b.rect), "{} overlaps {}", a.name, b.name);
            }
        }
        for s in &l.stubs {
            assert!(s.top <= s.bus_y);
            let sec = &l.sections[s.section];
            assert!(sec
                .buses
                .iter()
                .any(|b| b.a.y == s.bus_y && b.a.x <= s.x && s.x <= b.b.x));
        }
    }

    #[test]
    fn article_boxes_nest_and_do_not_overlap() {
        let sc = scenario::builtin("article").unwrap();
        let l = layout(&sc);
        check(&l);
        assert_eq!(
            l.width, 478,
            "the article is as wide as its node8, and room for a card"
        );
        // Every pod box lies inside its node's box.
        for h in l.hosts.iter().filter(|h| h.kind == HostKind::Pod) {
            let node = sc.hosts[h.index].node.as_deref().unwrap();
            let n = l.host(node).unwrap();
            assert_eq!(h.parent, Some(n));
            assert!(
                l.hosts[n].rect.contains(&h.rect),
                "{} not in {node}",
                h.name
            );
        }
        // No two node boxes overlap (nor any top-level box).
        let tops: Vec<&HostBox> = l.hosts.iter().filter(|h| h.parent.is_none()).collect();
        assert_eq!(tops.len(), 6);
        for (i, a) in tops.iter().enumerate() {
            for b in &tops[i + 1..] {
                assert!(!a.rect.overlaps(&b.rect), "{} overlaps {}", a.name, b.name);
            }
        }
        // The LAN: one section, its subnet, a stub per host.
        assert_eq!(l.sections.len(), 1);
        assert_eq!(l.sections[0].caption, "LAN 192.168.11.0/24");
        assert_eq!(l.stubs.len(), 6);
        // Titles, devices, veth links; lo is skipped.
        let n8 = l.host("node8").unwrap();
        assert_eq!(l.hosts[n8].title, "node8 192.168.11.58");
        assert!(l.devices.iter().all(|d| d.name != "lo"));
        let tunl = l.device(n8, "tunl0").unwrap();
        assert_eq!(l.devices[tunl].addr.as_deref(), Some("172.16.225.64"));
        assert_eq!(l.links.len(), 2);
        let cali = l.device(n8, "cali71ca141a178").unwrap();
        let pod = l.host("flask-ui-6c9f7d8b5d-x2k4p").unwrap();
        let eth0 = l.device(pod, "eth0").unwrap();
        assert!(l
            .links
            .iter()
            .any(|k| k.from == cali && k.to == eth0 && k.a.y == k.b.y));
        // Deterministic.
        assert_eq!(l, layout(&sc));
    }

    /// Flannel's veths say which bridge they are ports of, and cni0 lists
    /// them; Calico's routed veths say nothing of the kind.
    #[test]
    fn bridge_ports_are_named_on_their_chips() {
        use crate::engine::cni;
        use crate::engine::k8s::Cluster;
        let build = |mode: &str| {
            let c = Cluster::from_yaml(cni::cluster_yaml(mode).unwrap()).unwrap();
            layout(&cni::build(&c, mode, mode).unwrap())
        };
        let l = build("flannel-vxlan");
        let n8 = l.host("node8").unwrap();
        let curl = cni::bridge_veth("ms-test", "curl");
        let note = |l: &Layout, dev: &str| l.devices[l.device(n8, dev).unwrap()].note.clone();
        assert_eq!(
            note(&l, &curl).as_deref(),
            Some("port of cni0 (hairpin on), mtu 1450")
        );
        assert!(note(&l, "cni0").is_some_and(|n| n.starts_with("ports ") && n.contains(&curl)));
        // Elsewhere the MTU alone: Calico IPIP's tunnel and pods' veths.
        let l = build("calico-ipip");
        let n8 = l.host("node8").unwrap();
        let notes: Vec<_> = (l.devices.iter())
            .filter(|d| d.host == n8)
            .map(|d| (d.name.as_str(), d.note.as_deref().unwrap_or("")))
            .collect();
        assert!(
            notes.contains(&("tunl0", "mtu 1480")) && notes.contains(&("ens33", "mtu 1500")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .filter(|(n, _)| n.starts_with("cali"))
                .all(|(_, m)| *m == "mtu 1480"),
            "{notes:?}"
        );
    }

    #[test]
    fn every_device_the_article_trace_names_has_a_box() {
        for name in scenario::BUILTIN {
            let (sc, t) = walk(name);
            let l = layout(&sc);
            check(&l);
            let cards = place_cards(&l, &t.steps);
            for (s, card) in t.steps.iter().zip(cards) {
                for (ns, dev) in named_devices(s) {
                    let h = l
                        .host(&ns)
                        .unwrap_or_else(|| panic!("{name}: no box for {ns}"));
                    assert!(l.device(h, &dev).is_some(), "{name}: no box for {ns}/{dev}");
                }
                let m = packet_position(&l, s, Some(card));
                assert_ne!(m.place, Place::Nowhere);
                assert!(inside_picture(&l, &m.card.rect), "{:?}", m.card);
                for w in m.card.layers.windows(2) {
                    assert!(w[0].rect.contains(&w[1].rect));
                }
            }
        }
    }

    /// At every step of the article's two scenarios (the ones a new user
    /// steps through first) the packet's card sits clear of the picture's
    /// lines (host borders, buses, trunks) and its leader line crosses no
    /// host's title text (it may graze the estimated end of one: 4 units). (In the denser cluster scenarios a card may
    /// still cross a line where no place is free.)
    #[test]
    fn the_packets_card_crosses_no_line_and_its_leader_no_title() {
        let mut all = Vec::new();
        for name in ["article", "article-remote"] {
            let (sc, t) = walk(name);
            let l = layout(&sc);
            let titles: Vec<Rect> = (l.hosts.iter())
                .map(|h| Rect {
                    x: h.rect.x + PAD,
                    y: h.rect.y + 6,
                    w: text_width(&h.title, FONT),
                    h: TITLE_H - 10,
                })
                .collect();
            let cards = place_cards(&l, &t.steps);
            let bad: Vec<String> = (t.steps.iter().enumerate())
                .filter_map(|(i, s)| {
                    let m = packet_position(&l, s, Some(cards[i]));
                    let (lines, led) = (
                        lines_under(&l, &m.card.rect),
                        leader_over(&titles, None, m.at, m.card.lead),
                    );
                    (lines > 0 || led > 2).then(|| {
                        format!(
                            "step {}: {lines} of lines under {:?}, leader over titles {led}",
                            i + 1,
                            m.card.rect
                        )
                    })
                })
                .collect();
            all.extend(bad.into_iter().map(|b| format!("{name} {b}")));
        }
        assert!(all.is_empty(), "{}", all.join("\n"));
    }

    /// While the packet stays in one box (node8's namespace, a pod's),
    /// its card keeps still, the largest of the stay included (node54's
    /// IPIP card, then the packet it held): only the glyph moves between
    /// the box's hooks and devices. In the remote scenario the card moves
    /// 5 times in 143 steps (18 times when each step places it alone).
    #[test]
    fn the_packets_card_keeps_still_while_the_packet_stays_in_a_box() {
        for (name, moves) in [("article", 3), ("article-remote", 5)] {
            let (sc, t) = walk(name);
            let l = layout(&sc);
            let cards = place_cards(&l, &t.steps);
            let markers: Vec<Marker> = (t.steps.iter().zip(&cards))
                .map(|(s, c)| packet_position(&l, s, Some(*c)))
                .collect();
            let corner = |m: &Marker| (m.card.rect.x, m.card.rect.y);
            let mut moved = 0;
            for (k, w) in markers.windows(2).enumerate() {
                let same_box = match (&w[0].place, &w[1].place) {
                    (
                        Place::Host { host: a } | Place::Device { host: a, .. },
                        Place::Host { host: b } | Place::Device { host: b, .. },
                    ) => a == b,
                    _ => false,
                };
                if same_box {
                    assert_eq!(
                        corner(&w[0]),
                        corner(&w[1]),
                        "{name}: the card moved from step {} to {}",
                        k + 1,
                        k + 2
                    );
                }
                moved += usize::from(corner(&w[0]) != corner(&w[1]));
            }
            assert_eq!(moved, moves, "{name}");
        }
        let (sc, t) = walk("article-remote");
        let l = layout(&sc);
        let alone: Vec<(i32, i32)> = (t.steps.iter())
            .map(|s| packet_position(&l, s, None).card.rect)
            .map(|r| (r.x, r.y))
            .collect();
        assert_eq!(alone.windows(2).filter(|w| w[0] != w[1]).count(), 18);
    }

    #[test]
    fn marker_sits_on_the_veth_that_transmits() {
        let (sc, t) = walk("article");
        let l = layout(&sc);
        let (i, step) = t
            .steps
            .iter()
            .enumerate()
            .find(|(_, s)| matches!(&s.kind, StepKind::Transmit { dev, .. } if dev == "cali71ca141a178"))
            .unwrap();
        let m = packet_position(&l, step, None);
        let n8 = l.host("node8").unwrap();
        let cali = l.device(n8, "cali71ca141a178").unwrap();
        assert_eq!(
            m.place,
            Place::Device {
                host: n8,
                device: cali
            }
        );
        let d = &l.devices[cali];
        let (chip, text) = (
            d.rect,
            match &d.addr {
                Some(a) => format!("{} {a}", d.label),
                None => d.label.clone(),
            },
        );
        // The glyph (16×12) inside the chip, after its text.
        let text_end = chip.x + CHIP_PAD + text_width(&text, FONT);
        assert!(
            text_end < m.at.x - 8
                && m.at.x + 8 < chip.right()
                && chip.y < m.at.y - 6
                && m.at.y + 6 < chip.bottom(),
            "in the chip, clear of its text: {:?} {chip:?}, text ends at {text_end}",
            m.at
        );
        assert!(!m.encapsulated());
        assert_eq!(m.inner.dst_port, Some(80));
        assert!(m.inner.inner_label().ends_with("→ 172.16.225.112:80"));
        assert_eq!(
            format!("step {}: {}", i + 1, m.describe(&l))
                .split(';')
                .next()
                .unwrap(),
            format!("step {}: on node8, device cali71ca141a178", i + 1)
        );
        // The client's transmit is on the bus between the client and node8.
        let first = t
            .steps
            .iter()
            .find(|s| matches!(&s.kind, StepKind::Transmit { .. }))
            .unwrap();
        let m = packet_position(&l, first, None);
        let Place::Wire { from, to, path, .. } = &m.place else {
            panic!("{:?}", m.place)
        };
        assert_eq!(l.hosts[l.devices[*from].host].name, "client");
        assert_eq!(l.devices[to.unwrap()].name, "ens33");
        assert_eq!(path.first().map(|p| p.x), l.stub(*from).map(|s| s.x));
        // Determinism.
        assert_eq!(m, packet_position(&l, first, None));
    }

    #[test]
    fn ipip_on_the_lan_is_between_the_two_nodes_and_shows_the_outer_header() {
        let (sc, t) = walk("article-remote");
        let l = layout(&sc);
        let step = t
            .steps
            .iter()
            .find(|s| {
                s.ns == "node8"
                    && matches!(&s.kind, StepKind::Transmit { dev, .. } if dev == "ens33")
            })
            .unwrap();
        let m = packet_position(&l, step, None);
        let n8 = l.device(l.host("node8").unwrap(), "ens33").unwrap();
        let n54 = l.device(l.host("node54").unwrap(), "ens33").unwrap();
        match &m.place {
            Place::Wire { from, to, .. } => assert_eq!((*from, *to), (n8, Some(n54))),
            p => panic!("{p:?}"),
        }
        let (a, b) = (l.stub(n8).unwrap(), l.stub(n54).unwrap());
        if a.bus_y == b.bus_y {
            assert_eq!(m.at.y, a.bus_y);
            assert!(m.at.x > a.x.min(b.x) && m.at.x < a.x.max(b.x));
        } else {
            // On one of the two buses, between the trunk and the stub.
            let trunk = l.sections[a.section].trunk.unwrap().a.x;
            assert!(
                (m.at.y == a.bus_y && m.at.x > trunk && m.at.x < a.x)
                    || (m.at.y == b.bus_y && m.at.x > trunk && m.at.x < b.x),
                "{:?}",
                m.at
            );
        }
        // The path runs from node8's stub to node54's.
        let Place::Wire { path, .. } = &m.place else {
            unreachable!()
        };
        assert_eq!(path.first(), Some(&Point { x: a.x, y: a.top }));
        assert_eq!(path.last(), Some(&Point { x: b.x, y: b.top }));
        assert!(m.encapsulated());
        assert_eq!(
            m.outer[0].outer_label(),
            "IPIP 192.168.11.58 → 192.168.11.54"
        );
        assert_eq!(m.outer[0].proto, Proto::Ipip);
        assert_eq!(m.card.layers.len(), 2);
        assert!(m.card.layers[0].outer && !m.card.layers[1].outer);
        assert!(m.card.layers[1].label.ends_with("172.16.3.70:80"));
        assert!(m
            .describe(&l)
            .contains("inside IPIP 192.168.11.58 → 192.168.11.54"));
        // Encapsulation itself happens on tunl0.
        let enc = t
            .steps
            .iter()
            .find(|s| matches!(&s.kind, StepKind::Encap { .. }))
            .unwrap();
        let m = packet_position(&l, enc, None);
        let tunl = l.device(l.host("node8").unwrap(), "tunl0").unwrap();
        assert!(matches!(m.place, Place::Device { device, .. } if device == tunl));
    }

    fn dev(name: &str, kind: DeviceKind, addr: Option<&str>) -> Device {
        Device {
            name: name.into(),
            kind,
            addrs: addr.map(|a| a.parse().unwrap()).into_iter().collect(),
            proxy_arp: false,
            rp_filter: 0,
            hairpin: false,
            mtu: None,
        }
    }

    fn host(name: &str, kind: HostKind, node: Option<&str>, devices: Vec<Device>) -> Host {
        Host {
            name: name.into(),
            kind,
            node: node.map(str::to_string),
            namespace: None,
            devices,
            routes: Default::default(),
            iptables: None,
            listeners: Vec::new(),
            ip_forward: None,
        }
    }

    #[test]
    fn odd_scenarios_degrade_gracefully() {
        let empty = Scenario {
            name: "empty".into(),
            title: String::new(),
            description: String::new(),
            notes: Vec::new(),
            seed: 0,
            hosts: Vec::new(),
            services: Vec::new(),
            announces: Vec::new(),
            preset: None,
            cluster: None,
            sends: Vec::new(),
            eras: Vec::new(),
            flushes: Vec::new(),
            page: None,
        };
        let l = layout(&empty);
        check(&l);
        assert!(l.hosts.is_empty() && l.sections.is_empty());

        // 50 nodes, no pods; two LANs; a node on no LAN; pods whose node is
        // unknown or a client; a long name; a veth whose peer is missing.
        let mut sc = empty.clone();
        for i in 0..50 {
            sc.hosts.push(host(
                &format!("node{i}"),
                HostKind::Node,
                None,
                vec![
                    dev("lo", DeviceKind::Loopback, Some("127.0.0.1/8")),
                    dev(
                        "ens33",
                        DeviceKind::Ethernet {
                            lan: if i % 7 == 3 {
                                "storage".into()
                            } else {
                                "lan".into()
                            },
                        },
                        Some(&format!("10.0.{}.{}/16", i / 200, i + 1)),
                    ),
                    dev("tunl0", DeviceKind::Ipip, Some(&format!("172.16.{i}.0/32"))),
                ],
            ));
        }
        sc.hosts.push(host(
            "island-node-with-a-very-long-name-indeed-0123456789",
            HostKind::Node,
            None,
            vec![
                dev(
                    "cali0000000000000000000",
                    DeviceKind::Veth {
                        peer: "gone/eth0".into(),
                    },
                    None,
                ),
                dev(
                    "br0",
                    DeviceKind::Bridge { ports: vec![] },
                    Some("10.9.0.1/24"),
                ),
            ],
        ));
        // A replayed node: every route's device is an Ethernet device on a
        // LAN of its own.
        sc.hosts.push(host(
            "replay",
            HostKind::Node,
            None,
            (0..12)
                .map(|k| {
                    dev(
                        &format!("cali{k:011x}"),
                        DeviceKind::Ethernet {
                            lan: format!("lan-cali{k}"),
                        },
                        Some(&format!("10.{k}.0.1/32")),
                    )
                })
                .collect(),
        ));
        sc.hosts.push(host(
            "lost-pod",
            HostKind::Pod,
            Some("node-that-is-not-there"),
            vec![dev(
                "eth0",
                DeviceKind::Veth {
                    peer: "nowhere/cali1".into(),
                },
                Some("172.16.9.9/32"),
            )],
        ));
        sc.hosts
            .push(host("client", HostKind::Client, None, vec![]));
        sc.hosts
            .push(host("pod-on-client", HostKind::Pod, Some("client"), vec![]));
        sc.hosts.push(host("nodeless", HostKind::Pod, None, vec![]));
        let l = layout(&sc);
        check(&l);
        assert_eq!(l.width, WIDTH);
        assert_eq!(l.sections.len(), 4);
        assert_eq!(l.sections[1].caption, "LAN storage 10.0.0.0/16");
        assert_eq!(l.sections[2].caption, "LAN lan-cali0 10.0.0.1/32");
        assert_eq!(l.sections[3].caption, "Not on a LAN");
        assert!(l.sections[3].trunk.is_none() && l.sections[3].buses.is_empty());
        // Its twelve devices fill the width, two to a row.
        let r = l.hosts[l.host("replay").unwrap()].rect;
        assert!(
            r.w > WIDTH / 2 && r.h <= TITLE_H + 6 * (CHIP_H + CHIP_GAP) + PAD,
            "{r:?}"
        );
        assert_eq!(l.hosts.len(), sc.hosts.len());
        let tops: Vec<&HostBox> = l.hosts.iter().filter(|h| h.parent.is_none()).collect();
        for (i, a) in tops.iter().enumerate() {
            for b in &tops[i + 1..] {
                assert!(!a.rect.overlaps(&b.rect), "{} overlaps {}", a.name, b.name);
            }
        }
        let lost = l.host("lost-pod").unwrap();
        assert_eq!(l.hosts[lost].parent, None);
        assert_eq!(
            l.hosts[lost].note.as_deref(),
            Some("node node-that-is-not-there not found")
        );
        assert!(l.hosts.iter().all(|h| h.title.chars().count() <= 28 + 16));
        assert_eq!(l, layout(&sc));

        // A step in a namespace that has no box, on a device that has none.
        let (_, t) = walk("article");
        let mut s = t.steps[3].clone();
        s.ns = "ghost".into();
        let m = packet_position(&l, &s, None);
        assert_eq!(m.place, Place::Nowhere);
        assert!(inside_picture(&l, &m.card.rect));
        s.ns = "node3".into();
        s.kind = StepKind::Receive {
            dev: "eth9".into(),
            from: None,
        };
        let m = packet_position(&l, &s, None);
        assert!(matches!(m.place, Place::Host { .. }));
        // A transmit to a next hop that is not drawn stays at the sender's stub.
        s.kind = StepKind::Transmit {
            dev: "ens33".into(),
            next_hop: Some("10.0.0.250".parse().unwrap()),
        };
        let m = packet_position(&l, &s, None);
        let d = l.device(l.host("node3").unwrap(), "ens33").unwrap();
        assert!(matches!(&m.place, Place::Wire { from, to: None, .. } if *from == d));
        assert_eq!(m.at.y, l.stub(d).unwrap().bus_y);
    }
}
