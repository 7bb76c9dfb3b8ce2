//! Connection tracking, one table per network namespace: original and reply
//! tuples, NAT bindings, and the state (`NEW`, `ESTABLISHED`, `RELATED`)
//! that `-m conntrack --ctstate` tests. Later packets of a connection follow
//! the binding without the nat chains; replies are translated back. TCP's
//! own states (`SYN_SENT` … `TIME_WAIT`) move by the kernel's state table,
//! which may also ignore a segment or find it invalid.

use crate::engine::packet::{icmp, Packet, Proto, TcpFlags, Transport};
use crate::engine::trace::Tuple;
use std::collections::HashMap;

/// Direction of a packet relative to its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Original,
    Reply,
}

impl Dir {
    pub fn other(self) -> Dir {
        match self {
            Dir::Original => Dir::Reply,
            Dir::Reply => Dir::Original,
        }
    }
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
    /// `IPS_DST_NAT`, `IPS_SRC_NAT`: that NAT changed the tuple (the kernel
    /// sets them only then: a DNAT to the address already there sets
    /// nothing; measured on Linux 6.18).
    pub dst_changed: bool,
    pub src_changed: bool,
    /// What the TCP tracker keeps (unused for other protocols).
    pub tcp: Tcp,
    /// `[ASSURED]`: TCP's handshake completed with an answer seen, or a
    /// UDP packet after the answer (the last an overfull table drops).
    pub assured: bool,
    /// The seconds its last packet gave it (`conntrack -L`'s third column
    /// right after that packet).
    pub timeout: u32,
    /// The simulator's clock at its first packet.
    pub start: u64,
    /// The clock when a packet last set `timeout` (a retransmitted SYN
    /// does not): the entry expires `timeout` seconds after it.
    pub renewed: u64,
    /// The connection's mark (`ct->mark`: CONNMARK sets it, `-m connmark`
    /// tests it).
    pub mark: u32,
}

impl Entry {
    /// A new connection from its first packet (`segment`: a TCP one's), as
    /// its tracker leaves it; or, for TCP, why it starts none.
    pub fn new(original: Tuple, segment: Option<Segment>, now: u64) -> Result<Entry, String> {
        let mut e = Entry {
            original,
            reply: invert(&original),
            seen_reply: false,
            dnat: false,
            snat: false,
            dst_changed: false,
            src_changed: false,
            tcp: Tcp::default(),
            assured: false,
            timeout: 0,
            start: now,
            renewed: now,
            mark: 0,
        };
        match segment {
            Some(s) => match Tcp::segment(&mut e, Dir::Original, s, false, now) {
                Outcome::Invalid(why) | Outcome::Ignored(why) => return Err(why),
                Outcome::Moved { .. } | Outcome::Reopen => {}
            },
            None => e.other_packet(false, now),
        }
        Ok(e)
    }

    /// A UDP, ICMP or other packet of the connection at `now`; `replied`
    /// is whether it had seen an answer before. UDP: 30 s, and a stream's
    /// 120 s and ASSURED for a packet after the answer more than 2 s after
    /// the first (the simulator's clock moves 1 s a packet). ICMP 30 s;
    /// any other protocol 600 s.
    pub fn other_packet(&mut self, replied: bool, now: u64) {
        self.renewed = now;
        self.timeout = match self.original.proto {
            Proto::Udp if replied && now > self.start + 2 => {
                self.assured = true;
                120
            }
            Proto::Udp | Proto::Icmp => 30,
            _ => 600,
        };
    }

    /// Whether DNAT changed the connection's tuple (`--ctstate DNAT`).
    /// Whether the entry has run out of time at `now` (its timeout past
    /// since a packet last renewed it): the kernel finds it no more, and
    /// its garbage collector takes it away.
    pub fn expired(&self, now: u64) -> bool {
        now >= self.renewed + u64::from(self.timeout)
    }

    /// The seconds it has left at `now` (`conntrack -L`'s third column).
    pub fn left(&self, now: u64) -> u64 {
        (self.renewed + u64::from(self.timeout)).saturating_sub(now)
    }

    pub fn dst_natted(&self) -> bool {
        self.dst_changed
    }

    /// Whether SNAT (or MASQUERADE) changed it: IPS_SRC_NAT.
    pub fn src_natted(&self) -> bool {
        self.src_changed
    }
}

/// conntrack's TCP states (`tcp_conntrack_names`), and `Killed`: a RST
/// answered the first packet, the kernel deleted the entry
/// (`nf_ct_kill`), and the next lookup takes it out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum TcpState {
    /// Before the first segment (only while it is looked at).
    #[default]
    None,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    CloseWait,
    LastAck,
    TimeWait,
    Close,
    /// Both sides sent a SYN (simultaneous open).
    SynSent2,
    Killed,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close | TcpState::Killed => "CLOSE",
            TcpState::SynSent2 => "SYN_SENT2",
        }
    }

    /// Its timeout in seconds (the `nf_conntrack_tcp_timeout_*` defaults).
    fn timeout(self) -> u32 {
        match self {
            TcpState::Established => 432_000,
            TcpState::SynRecv | TcpState::CloseWait => 60,
            TcpState::LastAck => 30,
            TcpState::Close | TcpState::Killed => 10,
            _ => 120,
        }
    }
}

/// `nf_conntrack_tcp_timeout_unacknowledged` (and `_max_retrans`): the
/// most an entry waits while data is not yet acknowledged.
const UNACK_TIMEOUT: u32 = 300;

/// A segment as the tracker classes it (`get_conntrack_index`): RST
/// first, then SYN (with or without ACK), FIN, ACK, none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg {
    Syn,
    SynAck,
    Fin,
    Ack,
    Rst,
    None,
}

impl Seg {
    pub fn of(f: TcpFlags) -> Seg {
        match f {
            _ if f.rst => Seg::Rst,
            _ if f.syn && f.ack => Seg::SynAck,
            _ if f.syn => Seg::Syn,
            _ if f.fin => Seg::Fin,
            _ if f.ack => Seg::Ack,
            _ => Seg::None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Seg::Syn => "SYN",
            Seg::SynAck => "SYN-ACK",
            Seg::Fin => "FIN",
            Seg::Ack => "ACK",
            Seg::Rst => "RST",
            Seg::None => "segment without flags",
        }
    }
}

/// What the state table says for a segment: a new state, ignore it (the
/// entry may be out of step with the two ends), or invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    To(TcpState),
    Ignore,
    Invalid,
}

/// `tcp_conntracks[dir][index][state]` of `nf_conntrack_proto_tcp.c`.
fn table(dir: Dir, seg: Seg, state: TcpState) -> Next {
    use Next::{Ignore as IG, Invalid as IV, To};
    use TcpState::*;
    let (ss, sr, es, fw, cw, la, tw, cl, s2) = (
        To(SynSent),
        To(SynRecv),
        To(Established),
        To(FinWait),
        To(CloseWait),
        To(LastAck),
        To(TimeWait),
        To(Close),
        To(SynSent2),
    );
    // Columns: NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT,
    // CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2.
    let row: [Next; 10] = match (dir, seg) {
        (Dir::Original, Seg::Syn) => [ss, ss, IG, IG, IG, IG, IG, ss, ss, s2],
        (Dir::Original, Seg::SynAck) => [IV, IV, sr, IV, IV, IV, IV, IV, IV, sr],
        (Dir::Original, Seg::Fin) => [IV, IV, fw, fw, la, la, la, tw, cl, IV],
        (Dir::Original, Seg::Ack) => [es, IV, es, es, cw, cw, tw, tw, cl, IV],
        (Dir::Reply, Seg::Syn) => [IV, s2, IV, IV, IV, IV, IV, ss, IV, s2],
        (Dir::Reply, Seg::SynAck) => [IV, sr, IG, IG, IG, IG, IG, IG, IG, sr],
        (Dir::Reply, Seg::Fin) => [IV, IV, fw, fw, la, la, la, tw, cl, IV],
        (Dir::Reply, Seg::Ack) => [IV, IG, sr, es, cw, cw, tw, tw, cl, IG],
        (_, Seg::Rst) => [IV, cl, cl, cl, cl, cl, cl, cl, cl, cl],
        (_, Seg::None) => [IV; 10],
    };
    let col = match state {
        None => 0,
        SynSent => 1,
        SynRecv => 2,
        Established => 3,
        FinWait => 4,
        CloseWait => 5,
        LastAck => 6,
        TimeWait => 7,
        Close | Killed => 8,
        SynSent2 => 9,
    };
    row[col]
}

/// Why the state table finds a segment invalid, in the words of its
/// comments.
fn invalid_why(dir: Dir, seg: Seg, state: TcpState) -> String {
    let side = match dir {
        Dir::Original => "the opening side",
        Dir::Reply => "the answering side",
    };
    let st = state.name();
    let what = match (dir, seg, state) {
        (Dir::Original, Seg::Ack, TcpState::SynSent | TcpState::SynSent2) => format!(
            "an ACK from the opening side before any SYN-ACK came back ({st}): \"we haven't seen a SYN/ACK yet\""
        ),
        (Dir::Original, Seg::SynAck, TcpState::SynSent) => format!(
            "a SYN-ACK from the opening side after its own SYN ({st}): \"client can't send SYN and then SYN/ACK\""
        ),
        (_, Seg::Fin, TcpState::SynSent | TcpState::SynSent2) => format!(
            "a FIN from {side} before the handshake was answered ({st}): conntrack waits for the SYN-ACK first"
        ),
        (Dir::Reply, Seg::Syn, _) => format!(
            "a SYN from the answering side of a connection in {st}: only the opening side may start it again (either, from TIME_WAIT)"
        ),
        (Dir::Original, Seg::SynAck, _) => {
            format!("a SYN-ACK from the opening side in {st}: only the answering side sends one")
        }
        _ => format!("a {} from {side} in {st}, which the state table does not expect", seg.name()),
    };
    format!("{what}; conntrack's TCP state table finds it invalid, the entry stays {st}, and no NAT applies")
}

/// A TCP segment as the tracker reads it.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    /// Bytes of data.
    pub len: u32,
}

impl Segment {
    /// The sequence number after it (`segment_seq_plus_len`): its data,
    /// plus one for a SYN and one for a FIN.
    fn end(self) -> u32 {
        (self.seq.wrapping_add(self.len))
            .wrapping_add(u32::from(self.flags.syn) + u32::from(self.flags.fin))
    }
}

/// `before(a, b)` of the kernel: sequence number `a` comes before `b`
/// (modulo 2³²).
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// What a segment did to the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The state table took it: from one state to another (maybe the same).
    Moved { from: TcpState, to: TcpState },
    /// Let through on the entry, whose state stays (`sIG`, a SYN in
    /// TIME_WAIT or CLOSE that may not reopen it, a RST in ESTABLISHED
    /// that is not at the exact sequence number): why, in words.
    Ignored(String),
    /// A SYN of a connection that was closed: the kernel deletes the entry
    /// and looks the packet up again (`NF_REPEAT`), as new.
    Reopen,
    /// INVALID: why, in words. The entry is left alone.
    Invalid(String),
}

/// What conntrack's TCP tracker keeps of a connection
/// (`nf_conntrack_proto_tcp.c`): the state, whether a FIN began the
/// closing (`IP_CT_TCP_FLAG_CLOSE_INIT`), the last segment it took (its
/// class, direction and end), whether each side's data waits for an ACK,
/// whether the two opened at once, and each side's highest sequence end
/// and acknowledgement (`td_end`, `td_maxack`). Sequence numbers are not
/// checked against the windows, except a RST's (below).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tcp {
    pub state: TcpState,
    close_init: bool,
    last: Option<(Dir, Seg)>,
    last_end: u32,
    /// Each side's data not yet acknowledged by the other (original,
    /// then reply).
    unacked: [bool; 2],
    /// An opening-side SYN was ignored in LAST_ACK: the next ACK from the
    /// other side may be RFC 5961's challenge ACK to it
    /// (`IP_CT_EXP_CHALLENGE_ACK`).
    expect_challenge: bool,
    simultaneous: bool,
    /// Each side's highest sequence end sent (`td_end`), original then
    /// reply.
    end: [Option<u32>; 2],
    /// Each side's highest acknowledgement sent (`td_maxack`, set with
    /// `IP_CT_TCP_FLAG_MAXACK_SET`).
    maxack: [Option<u32>; 2],
}

/// What the checks of a RST that the state table sends to CLOSE decide.
enum RstCheck {
    Close,
    /// Accepted, but the state stays: why.
    Keep(String),
    Invalid(String),
}

fn side(dir: Dir) -> usize {
    match dir {
        Dir::Original => 0,
        Dir::Reply => 1,
    }
}

impl Tcp {
    /// The tracker's work on one segment in direction `dir`
    /// (`nf_conntrack_tcp_packet`); `replied` is whether the connection
    /// had seen an answer before it (`IPS_SEEN_REPLY`). Updates `entry`'s
    /// state, timeout and ASSURED mark.
    pub fn segment(entry: &mut Entry, dir: Dir, s: Segment, replied: bool, now: u64) -> Outcome {
        let assured = entry.assured;
        let t = &mut entry.tcp;
        let seg = Seg::of(s.flags);
        let mut old = t.state;
        let mut new = match table(dir, seg, old) {
            Next::Invalid => return Outcome::Invalid(invalid_why(dir, seg, old)),
            // A SYN after the close: it reopens the connection if a FIN
            // began the closing, or the last segment was its own side's
            // RST; else it is ignored.
            Next::To(TcpState::SynSent) if old >= TcpState::TimeWait => {
                if t.close_init || t.last == Some((dir, Seg::Rst)) {
                    return Outcome::Reopen;
                }
                Next::Ignore
            }
            n => n,
        };
        if new == Next::Ignore {
            let other = dir.other();
            // A SYN-ACK answering a SYN it ignored: the two ends are in
            // step, the entry was not; it takes the new handshake.
            if seg == Seg::SynAck && t.last == Some((other, Seg::Syn)) && s.ack == t.last_end {
                // nf_ct_tcp_state_reset: what the old connection knew goes.
                old = TcpState::SynSent;
                new = Next::To(TcpState::SynRecv);
                t.close_init = false;
                t.unacked = [false; 2];
                t.simultaneous = false;
                // The ignored SYN's end is its side's (td_end = last_end).
                t.end = [None; 2];
                t.end[side(other)] = Some(t.last_end);
                t.maxack = [None; 2];
                t.expect_challenge = false;
            } else {
                if old == TcpState::LastAck && dir == Dir::Original && seg == Seg::Syn {
                    t.expect_challenge = true;
                }
                let why = match (dir, seg) {
                    (Dir::Original, Seg::Syn) if old >= TcpState::TimeWait => format!(
                        "a SYN in {}, but the other side closed it: conntrack lets it through on the old entry, its NAT included (a SYN from the side that closed it would start anew)",
                        old.name()
                    ),
                    (_, Seg::Syn) => format!(
                        "a SYN on a connection in {}: conntrack's TCP tracker ignores it (the ends may know better than the entry; if the SYN is wrong, the answer will say so), so the entry stays and its NAT applies",
                        old.name()
                    ),
                    (_, Seg::SynAck) => format!(
                        "a SYN-ACK on a connection in {}: conntrack's TCP tracker ignores it (a late retransmission, or the answer to a SYN it ignored), so the entry stays and its NAT applies",
                        old.name()
                    ),
                    _ => format!(
                        "an ACK from the answering side in {}: conntrack's TCP tracker ignores it (it may be a half-open connection's), so the entry stays and its NAT applies",
                        old.name()
                    ),
                };
                t.last = Some((dir, seg));
                t.last_end = s.end();
                return Outcome::Ignored(why);
            }
        }
        let Next::To(mut new) = new else {
            unreachable!("Ignore and Invalid returned above")
        };
        // Before any answer, the opener's window ends where its SYN did
        // (td_maxend = td_end): a RST past it is out of window.
        if let (Seg::Rst, TcpState::SynSent, Dir::Original, Some(end)) = (seg, old, dir, t.end[0]) {
            if before(end, s.seq) {
                return Outcome::Invalid(format!(
                    "a RST with sequence number {}, past {end}, where the opening SYN ended: before any answer, the opener's window in conntrack ends there (its upper bound, td_maxend), so conntrack finds the RST out of window and invalid; the entry stays SYN_SENT, and no NAT applies",
                    s.seq
                ));
            }
        }
        if seg == Seg::Rst {
            match t.rst_check(dir, s, old, assured) {
                RstCheck::Close => {}
                RstCheck::Invalid(why) => return Outcome::Invalid(why),
                RstCheck::Keep(why) => {
                    // Accepted on the entry (tcp_in_window's bookkeeping),
                    // whose state stays; any RST gives the CLOSE timeout.
                    t.took(dir, seg, s);
                    entry.timeout = TcpState::Close.timeout();
                    entry.renewed = now;
                    return Outcome::Ignored(why);
                }
            }
        }
        match new {
            // An ACK of the last FIN that answers a SYN from the other side
            // is RFC 5961's challenge ACK, not the end of the connection.
            TcpState::TimeWait
                if old == TcpState::LastAck
                    && seg == Seg::Ack
                    && t.last.is_some_and(|(d, x)| d != dir && x == Seg::Syn)
                    && t.expect_challenge =>
            {
                t.expect_challenge = false;
                return Outcome::Ignored(
                    "an ACK in LAST_ACK answering the other side's SYN: conntrack takes it for RFC 5961's challenge ACK, not the last ACK, and the state stays".to_string(),
                );
            }
            TcpState::SynSent2 => t.simultaneous = true,
            TcpState::SynRecv if dir == Dir::Reply && seg == Seg::Ack && t.simultaneous => {
                new = TcpState::Established
            }
            _ => {}
        }
        t.took(dir, seg, s);
        t.state = new;
        if old != new && new == TcpState::FinWait {
            t.close_init = true;
        }
        // "Do not renew timeout on SYN retransmit": any SYN while the
        // entry is SYN_SENT and unanswered, a simultaneous open's too
        // (which moves it to SYN_SENT2).
        let retransmit = old == TcpState::SynSent && seg == Seg::Syn && !replied;
        let mut timeout = match seg {
            Seg::Rst => TcpState::Close.timeout(),
            _ if (t.unacked[0] || t.unacked[1]) && new.timeout() > UNACK_TIMEOUT => UNACK_TIMEOUT,
            _ => new.timeout(),
        };
        if !replied {
            // "If only reply is a RST, we can consider ourselves not to
            // have an established connection": deleted at once.
            if seg == Seg::Rst {
                t.state = TcpState::Killed;
            }
            // A connection picked up mid-stream, not yet answered.
            if new == TcpState::Established {
                timeout = timeout.min(UNACK_TIMEOUT);
            }
        } else if matches!(old, TcpState::SynRecv | TcpState::Established)
            && new == TcpState::Established
        {
            entry.assured = true;
        }
        if !retransmit || entry.timeout == 0 {
            entry.timeout = timeout;
            entry.renewed = now;
        }
        Outcome::Moved {
            from: old,
            to: t.state,
        }
    }
}

/// The later of two sequence numbers.
fn later(a: u32, b: u32) -> u32 {
    if before(a, b) {
        b
    } else {
        a
    }
}

impl Tcp {
    /// What the tracker notes of a segment it took (`tcp_in_window`):
    /// its data waits for the other side's ACK, its ACK takes the other
    /// side's off, its side's highest end and acknowledgement, and the
    /// segment as the last one taken.
    fn took(&mut self, dir: Dir, seg: Seg, s: Segment) {
        let (me, peer) = (side(dir), 1 - side(dir));
        self.last = Some((dir, seg));
        self.last_end = s.end();
        // Data not yet acknowledged (IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED):
        // here any ACK from the other side after it acknowledges it,
        // whatever its number.
        if s.len > 0 {
            self.unacked[me] = true;
        }
        if s.flags.ack {
            self.unacked[peer] = false;
            // (An acknowledgement of 0 is taken as none: the page's
            // hand-made segments carry it.)
            if s.ack != 0 {
                self.maxack[me] = Some(self.maxack[me].map_or(s.ack, |m| later(m, s.ack)));
            }
        }
        self.end[me] = Some(self.end[me].map_or(s.end(), |e| later(e, s.end())));
    }

    /// The checks of a RST the state table sends to CLOSE
    /// (`nf_conntrack_tcp_packet`'s `TCP_CONNTRACK_CLOSE` case, then
    /// `tcp_in_window`'s bound on its acknowledgement), measured on Linux
    /// 6.18: in a closing state any RST closes; once the peer has
    /// acknowledged something, a RST before that acknowledgement is
    /// invalid, and on an assured ESTABLISHED connection only the exact
    /// number (or the end of the sender's last segment, a "RST train")
    /// closes it, while another number within the window leaves it
    /// ESTABLISHED, for the challenge ACK (RFC 5961) that will follow.
    fn rst_check(&self, dir: Dir, s: Segment, old: TcpState, assured: bool) -> RstCheck {
        use TcpState::*;
        // tcp_can_early_drop: the connection is closing anyway.
        if matches!(
            old,
            FinWait | CloseWait | LastAck | TimeWait | Close | Killed
        ) {
            return RstCheck::Close;
        }
        let peer = 1 - side(dir);
        let established = old == Established && assured;
        let mut decision = RstCheck::Close;
        if let Some(maxack) = self.maxack[peer].filter(|_| self.last.map(|l| l.1) != Some(Seg::Syn))
        {
            let train = self.last == Some((dir, Seg::Ack)) && s.seq == self.last_end;
            if s.seq == 0 && !established {
                // (No check of the number.)
            } else if before(s.seq, maxack) {
                return RstCheck::Invalid(format!(
                    "a RST with sequence number {} in {}, before {maxack}, which the other side has already acknowledged: conntrack finds it invalid (\"invalid rst\": an old or forged reset), the entry stays, and no NAT applies",
                    s.seq,
                    old.name()
                ));
            } else if established && s.seq != maxack && !train {
                decision = RstCheck::Keep(format!(
                    "a RST with sequence number {}, past {maxack}, the most the other side has acknowledged: conntrack lets it through but keeps ESTABLISHED (the receiver answers such a reset with a challenge ACK, RFC 5961, and only a RST at the exact number ends the connection); the entry's timeout drops to 10 s",
                    s.seq
                ));
            }
        }
        // tcp_in_window, after either decision: an acknowledgement past
        // anything the other side sent (a RST without ACK, or
        // acknowledging 0, is taken as acknowledging all of it).
        if let (true, Some(end)) = (s.flags.ack && s.ack != 0, self.end[peer]) {
            if before(end, s.ack) {
                return RstCheck::Invalid(format!(
                    "a RST acknowledging {}, past anything the other side sent (it ends at {end}): conntrack finds it out of window and invalid, the entry stays {}, and no NAT applies",
                    s.ack,
                    old.name()
                ));
            }
        }
        decision
    }
}

/// A namespace's conntrack table.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub entries: Vec<Entry>,
    map: HashMap<Tuple, (usize, Dir)>,
    /// The connections that expired just before the packet being walked
    /// (since the one before it): a lookup that misses says so.
    pub expired: Vec<Entry>,
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
        Proto::Icmp => {
            let (ty, code) = icmp::type_code(t.dport);
            icmp::key(icmp::answer(ty), code, t.sport)
        }
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
    /// The live connection with tuple `t`, and the packet's direction.
    pub fn find(&self, t: &Tuple) -> Option<(usize, Dir)> {
        (self.map.get(t).copied()).filter(|(i, _)| self.entries[*i].tcp.state != TcpState::Killed)
    }

    /// A connection with tuple `t` whose entry the kernel deleted (a RST
    /// came before any answer): the next lookup says so, and takes it out.
    pub fn killed(&self, t: &Tuple) -> Option<usize> {
        (self.map.get(t).map(|(i, _)| *i))
            .filter(|i| self.entries[*i].tcp.state == TcpState::Killed)
    }

    /// Whether a tuple is already used as some connection's reply (a NAT clash).
    pub fn reply_taken(&self, t: &Tuple) -> bool {
        self.find(t).is_some()
    }

    /// Inserts a confirmed connection; returns its position. A deleted
    /// (killed) entry holding one of its tuples goes first: the kernel
    /// took it out of its table at once.
    pub fn confirm(&mut self, e: Entry) -> usize {
        for t in [e.original, e.reply] {
            if let Some(&(i, _)) = self.map.get(&t) {
                self.remove(i);
            }
        }
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
        self.expired.clear();
    }

    /// The connection with tuple `t` (either way) that expired just
    /// before this packet, if any.
    pub fn just_expired(&self, t: &Tuple) -> Option<&Entry> {
        self.expired
            .iter()
            .find(|e| e.original == *t || e.reply == *t)
    }

    /// Takes away the connections whose time ran out at `now` (kept in
    /// `expired` until the next call).
    pub fn expire(&mut self, now: u64) {
        self.expired.clear();
        if self.entries.iter().any(|e| e.expired(now)) {
            let (gone, kept) = std::mem::take(&mut self.entries)
                .into_iter()
                .partition(|e| e.expired(now));
            (self.expired, self.entries) = (gone, kept);
            self.map.clear();
            for (i, e) in self.entries.iter().enumerate() {
                self.map.insert(e.original, (i, Dir::Original));
                self.map.insert(e.reply, (i, Dir::Reply));
            }
        }
    }

    /// The table as `conntrack -L` lists it at `now`, oldest first:
    /// protocol and number, the seconds left before it expires, TCP's
    /// state, the original tuple, `[UNREPLIED]` before a reply is seen,
    /// the reply tuple (NAT shows there), `[ASSURED]`, the connection's
    /// mark and its use count (1: the entry itself).
    pub fn list(&self, now: u64) -> Vec<String> {
        let bare = |t: &Tuple| {
            let s = t.to_string();
            s.split_once(' ').map(|x| x.1.to_string()).unwrap_or(s)
        };
        self.entries
            .iter()
            .filter(|e| e.tcp.state != TcpState::Killed)
            .map(|e| {
                let p = e.original.proto;
                let state = match p {
                    Proto::Tcp => format!("{} ", e.tcp.state.name()),
                    _ => String::new(),
                };
                // conntrack(8) names the protocols it has a tracker for;
                // the generic one's (IPIP's, for one) are "unknown".
                let name = match p {
                    Proto::Tcp | Proto::Udp | Proto::Icmp => p.name(),
                    Proto::Other(33 | 47 | 132 | 136) => p.name(),
                    _ => "unknown".into(),
                };
                format!(
                    "{:<8} {} {} {state}{}{} {}{} mark={} use=1",
                    name,
                    p.number(),
                    e.left(now),
                    bare(&e.original),
                    if e.seen_reply { "" } else { " [UNREPLIED]" },
                    bare(&e.reply),
                    if e.assured { " [ASSURED]" } else { "" },
                    e.mark
                )
            })
            .collect()
    }
}

/// Whether conntrack tracks ports for this protocol.
pub fn has_ports(p: Proto) -> bool {
    matches!(p, Proto::Tcp | Proto::Udp)
}
