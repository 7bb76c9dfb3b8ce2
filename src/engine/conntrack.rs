//! Connection tracking, one table per network namespace: original and reply
//! tuples, NAT bindings, and the state (`NEW`, `ESTABLISHED`, `RELATED`)
//! that `-m conntrack --ctstate` tests. Later packets of a connection follow
//! the binding without the nat chains; replies are translated back.

use crate::engine::packet::{Packet, Proto, TcpFlags, Transport};
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
    /// Where a TCP connection is in its closing (what decides whether a
    /// new SYN of the same tuple reopens it).
    pub tcp: TcpState,
}

/// The closing states of a TCP connection as conntrack names them
/// (`conntrack -L`); every state before them is `Open` here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TcpState {
    #[default]
    Open,
    /// One side sent a FIN (the one in the field).
    FinWait(Dir),
    /// Both sides sent a FIN; the first one's ACK of the second is due.
    LastAck(Dir),
    TimeWait,
    /// A RST closed it (the direction it came in).
    Close(Dir),
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Open => "ESTABLISHED",
            TcpState::FinWait(_) => "FIN_WAIT",
            TcpState::LastAck(_) => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close(_) => "CLOSE",
        }
    }

    /// Whether a SYN in direction `dir` reopens the connection: conntrack
    /// deletes the entry and looks the packet up again, as new. From
    /// TIME_WAIT either side's SYN does; from CLOSE only the SYN of the side
    /// whose RST closed it. Any other SYN is let through on the old entry
    /// (measured on Linux 6.18: a SYN after the server's RST, or in
    /// LAST_ACK, is ESTABLISHED and keeps the old DNAT).
    pub fn reopens(self, dir: Dir, flags: TcpFlags) -> bool {
        flags.syn
            && !flags.ack
            && match self {
                TcpState::TimeWait => true,
                TcpState::Close(by) => by == dir,
                _ => false,
            }
    }

    /// The state after a segment with `flags` in direction `dir`.
    pub fn after(self, dir: Dir, flags: TcpFlags) -> TcpState {
        if flags.rst {
            return TcpState::Close(dir);
        }
        match self {
            TcpState::Open if flags.fin => TcpState::FinWait(dir),
            TcpState::FinWait(first) if flags.fin && dir != first => TcpState::LastAck(first),
            TcpState::LastAck(first) if flags.ack && !flags.fin && dir == first => {
                TcpState::TimeWait
            }
            // A SYN that did not reopen it leaves it closed; a SYN-ACK
            // answering that SYN opens it again on the same entry.
            TcpState::Close(_) | TcpState::TimeWait if flags.syn && flags.ack => TcpState::Open,
            s => s,
        }
    }
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

    /// Deletes connection `i` (a SYN reopened it); later ones move up.
    pub fn remove(&mut self, i: usize) {
        let e = self.entries.remove(i);
        self.map.remove(&e.original);
        self.map.remove(&e.reply);
        for (k, _) in self.map.values_mut() {
            if *k > i {
                *k -= 1;
            }
        }
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
                let status = match e.tcp {
                    _ if !e.seen_reply => "UNREPLIED",
                    TcpState::Open => "ESTABLISHED",
                    s => s.name(),
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
