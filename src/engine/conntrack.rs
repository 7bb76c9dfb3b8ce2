//! Connection tracking, one table per network namespace: original and reply
//! tuples, NAT bindings, and the state (`NEW`, `ESTABLISHED`, `RELATED`)
//! that `-m conntrack --ctstate` tests. Later packets of a connection follow
//! the binding without the nat chains; replies are translated back.

use crate::engine::packet::{icmp, Packet, Proto, TcpFlags, Transport};
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
    pub tcp: Tcp,
}

impl Entry {
    /// Whether DNAT changed the connection's tuple: only then does the
    /// kernel set IPS_DST_NAT (`--ctstate DNAT`; measured on Linux 6.18,
    /// a DNAT to the address already there sets nothing).
    pub fn dst_natted(&self) -> bool {
        self.dnat && (self.reply.src, self.reply.sport) != (self.original.dst, self.original.dport)
    }

    /// Whether SNAT (or MASQUERADE) changed the tuple: IPS_SRC_NAT.
    pub fn src_natted(&self) -> bool {
        self.snat && (self.reply.dst, self.reply.dport) != (self.original.src, self.original.sport)
    }
}

/// The closing states of a TCP connection as conntrack names them
/// (`conntrack -L`); every state before them is `Open` here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TcpState {
    #[default]
    Open,
    /// One side sent a FIN (the one in the field).
    FinWait(Dir),
    /// The other side acknowledged that FIN.
    CloseWait(Dir),
    /// Both sides sent a FIN; an ACK of the second is due.
    LastAck,
    TimeWait,
    /// A RST closed it.
    Close,
    /// The first answer to its first packet was a RST: the kernel deleted
    /// the entry (`nf_ct_kill`); the next lookup takes it out.
    Killed,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Open => "ESTABLISHED",
            TcpState::FinWait(_) => "FIN_WAIT",
            TcpState::CloseWait(_) => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close | TcpState::Killed => "CLOSE",
        }
    }
}

/// What conntrack's TCP tracker keeps of a connection's closing
/// (`nf_conntrack_proto_tcp.c`): the state, whether a FIN began it
/// (`IP_CT_TCP_FLAG_CLOSE_INIT`), and whether the last segment was a RST
/// and from which side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tcp {
    pub state: TcpState,
    fin_closed: bool,
    last_rst: Option<Dir>,
    /// The handshake is done (`conntrack -L` says ESTABLISHED, not
    /// SYN_SENT or SYN_RECV): the opening side acknowledged an answer, or
    /// the connection was picked up from a bare ACK.
    established: bool,
}

impl Tcp {
    /// A new connection's, from its first segment's flags (none: not TCP):
    /// one picked up from a bare ACK (`nf_conntrack_tcp_loose`) is
    /// ESTABLISHED at once.
    pub fn opened_by(flags: Option<TcpFlags>) -> Tcp {
        Tcp {
            established: flags.is_some_and(|f| f.ack && !f.syn),
            ..Tcp::default()
        }
    }

    /// Whether a SYN in direction `dir` reopens the connection: conntrack
    /// deletes the entry and looks the packet up again, as new. From
    /// TIME_WAIT or CLOSE, when a FIN began the closing, or the last
    /// segment was a RST from the SYN's side; in CLOSE, only the side that
    /// opened it. Any other SYN is let through on the old entry (measured
    /// on Linux 6.18: a SYN after the server's RST, or in LAST_ACK, is
    /// ESTABLISHED and keeps the old DNAT).
    pub fn reopens(self, dir: Dir, flags: TcpFlags) -> bool {
        let closed_by_it = self.fin_closed || self.last_rst == Some(dir);
        flags.syn
            && !flags.ack
            && match self.state {
                TcpState::TimeWait => closed_by_it,
                TcpState::Close => dir == Dir::Original && closed_by_it,
                TcpState::Killed => true,
                _ => false,
            }
    }

    /// Whether the handshake is done (or the connection was picked up
    /// from a bare ACK).
    pub fn is_established(self) -> bool {
        self.established
    }

    /// After a segment with `flags` in direction `dir`; `replied` is
    /// whether the connection had seen an answer before it.
    pub fn after(self, dir: Dir, flags: TcpFlags, replied: bool) -> Tcp {
        let mut t = self;
        t.last_rst = flags.rst.then_some(dir);
        if flags.ack && !flags.syn && !flags.rst && dir == Dir::Original {
            t.established = true;
        }
        t.state = match self.state {
            // "If only reply is a RST…" (nf_conntrack_proto_tcp.c): any RST
            // before an answer deletes the connection.
            _ if flags.rst && !replied => TcpState::Killed,
            _ if flags.rst => TcpState::Close,
            TcpState::Open if flags.fin => {
                t.fin_closed = true;
                TcpState::FinWait(dir)
            }
            TcpState::FinWait(first) | TcpState::CloseWait(first) if flags.fin && dir != first => {
                TcpState::LastAck
            }
            TcpState::FinWait(first) if flags.ack && dir != first => TcpState::CloseWait(first),
            TcpState::LastAck if flags.ack && !flags.fin => TcpState::TimeWait,
            // A SYN that did not reopen it leaves it closed; a SYN-ACK
            // answering that SYN opens it again on the same entry.
            TcpState::Close | TcpState::TimeWait if flags.syn && flags.ack => TcpState::Open,
            s => s,
        };
        t
    }
}

/// A namespace's conntrack table.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub entries: Vec<Entry>,
    map: HashMap<Tuple, (usize, Dir)>,
}

/// A transport header's part of a conntrack tuple: the ports, or for
/// ICMP the identifier and the type and code ([`icmp::key`]).
pub fn keys(t: &Transport) -> (u16, u16) {
    match t {
        Transport::Tcp {
            src_port, dst_port, ..
        }
        | Transport::Udp { src_port, dst_port } => (*src_port, *dst_port),
        Transport::Icmp {
            icmp_type,
            code,
            id,
            ..
        } => icmp::key(*icmp_type, *code, *id),
        Transport::None => (0, 0),
    }
}

/// The tuple of a packet's outermost header. An ICMP echo's is its
/// identifier and type: a request and its reply share the identifier,
/// and the reply's type is the request's inverted ([`invert`]).
pub fn tuple_of(p: &Packet) -> Tuple {
    let h = p.head();
    let (sport, dport) = p.head_transport().map_or((0, 0), |t| keys(&t));
    Tuple {
        proto: h.protocol,
        src: h.src,
        dst: h.dst,
        sport,
        dport,
    }
}

/// The tuple of the answer: addresses and ports swapped; for ICMP the
/// identifier kept and the type inverted (echo-request → echo-reply).
pub fn invert(t: &Tuple) -> Tuple {
    let (sport, dport) = match t.proto {
        Proto::Icmp => (
            t.sport,
            u16::from(icmp::answer(t.dport as u8)) | (t.dport & 0xff00),
        ),
        _ => (t.dport, t.sport),
    };
    Tuple {
        proto: t.proto,
        src: t.dst,
        dst: t.src,
        sport,
        dport,
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

    /// The table as `conntrack -L` lists it, oldest first: protocol and
    /// number, TCP's state, the original tuple, `[UNREPLIED]` before a
    /// reply is seen, the reply tuple (NAT shows there), TCP's
    /// `[ASSURED]`. Without the timeouts (an entry stays until
    /// `conntrack -F`), marks and use counts.
    pub fn list(&self) -> Vec<String> {
        let bare = |t: &Tuple| {
            let s = t.to_string();
            s.split_once(' ').map(|x| x.1.to_string()).unwrap_or(s)
        };
        self.entries
            .iter()
            .filter(|e| e.tcp.state != TcpState::Killed)
            .map(|e| {
                let p = e.original.proto;
                let state = match (p, e.tcp.state) {
                    (Proto::Tcp, TcpState::Open) if !e.tcp.established => match e.seen_reply {
                        false => "SYN_SENT ",
                        true => "SYN_RECV ",
                    },
                    (Proto::Tcp, s) => &format!("{} ", s.name()),
                    _ => "",
                };
                // TCP's handshake done and answered: the kernel marks it
                // ASSURED (it is then the last an overfull table drops).
                let assured = p == Proto::Tcp && e.tcp.established && e.seen_reply;
                format!(
                    "{:<8} {} {state}{}{} {}{}",
                    p.name(),
                    p.number(),
                    bare(&e.original),
                    if e.seen_reply { "" } else { " [UNREPLIED]" },
                    bare(&e.reply),
                    if assured { " [ASSURED]" } else { "" }
                )
            })
            .collect()
    }
}

/// Whether conntrack tracks ports for this protocol.
pub fn has_ports(p: Proto) -> bool {
    matches!(p, Proto::Tcp | Proto::Udp)
}
