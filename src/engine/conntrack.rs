//! Connection tracking, one table per network namespace: original and reply
//! tuples, NAT bindings, and the state (`NEW`, `ESTABLISHED`, `RELATED`)
//! that `-m conntrack --ctstate` tests. Later packets of a connection follow
//! the binding without the nat chains; replies are translated back.

use crate::engine::packet::{Packet, Proto, Transport};
use crate::engine::trace::Tuple;
use std::collections::HashMap;

/// Direction of a packet relative to its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Original,
    Reply,
}

/// One tracked connection (`conntrack -L` line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub original: Tuple,
    /// The tuple a reply carries; NAT rewrites it (DNAT its source, SNAT its destination).
    pub reply: Tuple,
    pub seen_reply: bool,
    pub dnat: bool,
    pub snat: bool,
}

/// A namespace's conntrack table.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub entries: Vec<Entry>,
    map: HashMap<Tuple, (usize, Dir)>,
}

/// The tuple of a packet's outermost header. ICMP echo uses the id as both
/// ports, so a request and its reply share it.
pub fn tuple_of(p: &Packet) -> Tuple {
    let h = p.head();
    let (sport, dport) = match p.head_transport().as_deref() {
        Some(Transport::Tcp {
            src_port, dst_port, ..
        })
        | Some(Transport::Udp { src_port, dst_port }) => (*src_port, *dst_port),
        Some(Transport::Icmp { id, .. }) => (*id, *id),
        _ => (0, 0),
    };
    Tuple {
        proto: h.protocol,
        src: h.src,
        dst: h.dst,
        sport,
        dport,
    }
}

pub fn invert(t: &Tuple) -> Tuple {
    Tuple {
        proto: t.proto,
        src: t.dst,
        dst: t.src,
        sport: t.dport,
        dport: t.sport,
    }
}

impl Table {
    pub fn find(&self, t: &Tuple) -> Option<(usize, Dir)> {
        self.map.get(t).copied()
    }

    /// Whether a tuple is already used as some connection's reply (a NAT clash).
    pub fn reply_taken(&self, t: &Tuple) -> bool {
        self.map.contains_key(t)
    }

    /// Inserts a confirmed connection; returns its position.
    pub fn confirm(&mut self, e: Entry) -> usize {
        let i = self.entries.len();
        self.map.insert(e.original, (i, Dir::Original));
        self.map.insert(e.reply, (i, Dir::Reply));
        self.entries.push(e);
        i
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.map.clear();
    }

    /// `conntrack -L` style lines.
    pub fn list(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| {
                let status = if e.seen_reply {
                    "ESTABLISHED"
                } else {
                    "UNREPLIED"
                };
                format!("{} {} {}", e.original, e.reply, status)
                    .replace(&format!("{} src", e.reply.proto), "src")
            })
            .collect()
    }
}

/// Whether conntrack tracks ports for this protocol.
pub fn has_ports(p: Proto) -> bool {
    matches!(p, Proto::Tcp | Proto::Udp)
}
