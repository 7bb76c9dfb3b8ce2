//! One rule: its text, its matches parsed into typed values, and its target.
//! The parser here turns the words after `-A CHAIN` into a [`Rule`]; options
//! are looked up once, never compared as strings while packets are matched.

use super::Counters;
use crate::engine::error::ParseError;
use crate::engine::lex::{self, Word};
use crate::engine::packet::{Proto, TcpFlags};
use ipnet::Ipv4Net;
use smallvec::SmallVec;
use std::net::Ipv4Addr;

/// An interface match (`-i cali+`): a name, or a prefix when it ends in `+`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceMatch {
    pub name: String,
    pub wildcard: bool,
}

impl IfaceMatch {
    pub fn parse(s: &str) -> IfaceMatch {
        match s.strip_suffix('+') {
            Some(p) => IfaceMatch {
                name: p.to_string(),
                wildcard: true,
            },
            None => IfaceMatch {
                name: s.to_string(),
                wildcard: false,
            },
        }
    }

    pub fn matches(&self, dev: Option<&str>) -> bool {
        match dev {
            // No device compares as the empty name: only `+` takes it
            // (iptables-nft saves `-i +` as no match at all).
            None => self.wildcard && self.name.is_empty(),
            Some(d) if self.wildcard => d.starts_with(&self.name),
            Some(d) => d == self.name,
        }
    }
}

/// Which address `addrtype`, `multiport` or `recent` looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Src,
    Dst,
    Either,
}

/// Address types of the `addrtype` match (`RTN_*`), as a bit set.
pub mod addrtype {
    pub const UNSPEC: u16 = 1 << 0;
    pub const UNICAST: u16 = 1 << 1;
    pub const LOCAL: u16 = 1 << 2;
    pub const BROADCAST: u16 = 1 << 3;
    pub const ANYCAST: u16 = 1 << 4;
    pub const MULTICAST: u16 = 1 << 5;
    pub const BLACKHOLE: u16 = 1 << 6;
    pub const UNREACHABLE: u16 = 1 << 7;
    pub const PROHIBIT: u16 = 1 << 8;
    pub const THROW: u16 = 1 << 9;
    pub const NAT: u16 = 1 << 10;
    pub const XRESOLVE: u16 = 1 << 11;
    pub const NAMES: [(&str, u16); 12] = [
        ("UNSPEC", UNSPEC),
        ("UNICAST", UNICAST),
        ("LOCAL", LOCAL),
        ("BROADCAST", BROADCAST),
        ("ANYCAST", ANYCAST),
        ("MULTICAST", MULTICAST),
        ("BLACKHOLE", BLACKHOLE),
        ("UNREACHABLE", UNREACHABLE),
        ("PROHIBIT", PROHIBIT),
        ("THROW", THROW),
        ("NAT", NAT),
        ("XRESOLVE", XRESOLVE),
    ];
    pub fn names(bits: u16) -> String {
        NAMES
            .iter()
            .filter(|(_, b)| bits & b != 0)
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The value of the first of `names` that `word` begins, in any case, as
/// iptables reads a state or an address type (`strncasecmp` over the
/// word's length): `est` is ESTABLISHED, `u` the first name with a U.
fn by_prefix<T: Copy>(names: &[(&str, T)], word: &str) -> Option<T> {
    (names.iter())
        .find(|(n, _)| {
            !word.is_empty() && n.len() >= word.len() && n[..word.len()].eq_ignore_ascii_case(word)
        })
        .map(|(_, v)| *v)
}

/// The names of the bits set in `bits` (a bit set named by `names`),
/// joined by commas; `none` when no bit is set.
fn bit_names(names: &[(&'static str, u8)], bits: u8, none: &str) -> String {
    let v: Vec<&str> = (names.iter())
        .filter(|(_, b)| bits & b != 0)
        .map(|(n, _)| *n)
        .collect();
    if v.is_empty() {
        none.into()
    } else {
        v.join(",")
    }
}

/// `-m conntrack --ctstatus` names and bits (the kernel's IPS_* bits).
pub mod ctstatus {
    pub const NAMES: [(&str, u8); 5] = [
        ("NONE", 0),
        ("EXPECTED", 1),
        ("SEEN_REPLY", 2),
        ("ASSURED", 4),
        ("CONFIRMED", 8),
    ];
    pub fn names(bits: u8) -> String {
        super::bit_names(&NAMES, bits, "NONE")
    }
}

/// Connection tracking states (`--ctstate`, `--state`), as a bit set.
pub mod ctstate {
    pub const INVALID: u8 = 1 << 0;
    pub const NEW: u8 = 1 << 1;
    pub const ESTABLISHED: u8 = 1 << 2;
    pub const RELATED: u8 = 1 << 3;
    pub const UNTRACKED: u8 = 1 << 4;
    pub const SNAT: u8 = 1 << 5;
    pub const DNAT: u8 = 1 << 6;
    pub const NAMES: [(&str, u8); 7] = [
        ("INVALID", INVALID),
        ("NEW", NEW),
        ("ESTABLISHED", ESTABLISHED),
        ("RELATED", RELATED),
        ("UNTRACKED", UNTRACKED),
        ("SNAT", SNAT),
        ("DNAT", DNAT),
    ];
    pub fn names(bits: u8) -> String {
        super::bit_names(&NAMES, bits, "none")
    }
}

/// What a `recent` match does (`--set`, `--rcheck`, `--update`, `--remove`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecentCmd {
    Set,
    Rcheck,
    Update,
    Remove,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Recent {
    pub name: String,
    pub cmd: RecentCmd,
    pub seconds: Option<u32>,
    pub hitcount: Option<u32>,
    pub reap: bool,
    /// `--rdest` (default `--rsource`).
    pub rdest: bool,
    pub mask: Ipv4Addr,
}

/// One test a rule makes. Matches of the base rule (`-s -d -p -i -o -f`)
/// come first, then module matches in the order written, as the kernel
/// evaluates them.
#[derive(Clone, Debug, PartialEq)]
pub enum MatchKind {
    Src(Ipv4Net),
    Dst(Ipv4Net),
    Proto(Proto),
    InIface(IfaceMatch),
    OutIface(IfaceMatch),
    Fragment,
    /// `--sport lo[:hi]` of `-m tcp`/`-m udp`.
    Sport(u16, u16),
    Dport(u16, u16),
    TcpFlags {
        mask: u8,
        comp: u8,
    },
    /// `--icmp-type`; `None` fields match any.
    IcmpType {
        icmp_type: Option<u8>,
        code: Option<u8>,
    },
    Multiport {
        dir: Dir,
        ports: Vec<(u16, u16)>,
    },
    /// `statistic --mode random`; `threshold` is the kernel's
    /// `lround(probability * 2^31)`.
    Random {
        probability: f64,
        threshold: u32,
    },
    /// `statistic --mode nth --every N --packet P`.
    Nth {
        every: u32,
        packet: u32,
    },
    Mark {
        value: u32,
        mask: u32,
    },
    AddrType {
        dir: Dir,
        types: u16,
        limit_iface_in: bool,
        limit_iface_out: bool,
    },
    CtState(u8),
    Recent(Box<Recent>),
    /// `-m comment`: always matches (the text is in the rule's args).
    Comment,
    /// `-m nfacct`: counts, always matches.
    Nfacct,
    /// `-m set --match-set NAME src,dst`: whether the packet is in an IP
    /// set (boxed: a rule's matches stay small for the common kinds).
    Set(Box<SetMatch>),
    /// `-m connmark --mark VALUE[/MASK]`: the connection's mark, masked.
    ConnMark {
        value: u32,
        mask: u32,
    },
    /// `-m limit --limit RATE --limit-burst N`: a token bucket of `burst`
    /// packets, one more every `avg` ten-thousandths of a second (the
    /// kernel's `XT_LIMIT_SCALE` units); its state lives per rule.
    Limit {
        avg: u32,
        burst: u32,
    },
    /// `-m rpfilter`: whether the route back to the packet's source
    /// leaves by the device it came in on (`--loose`: any unicast route
    /// back; `--accept-local`: a local source too). `--invert` is the
    /// match's negation.
    Rpfilter {
        loose: bool,
        validmark: bool,
        accept_local: bool,
    },
    /// One option of `-m physdev`: the bridge ports a packet came in and
    /// goes out by (each option is a match of its own, with its own `!`).
    Physdev(Physdev),
    /// One of `-m conntrack`'s tests of the connection itself (its
    /// tuples, direction, status, time left). `with_state`: the same
    /// `-m conntrack` tests `--ctstate` too, and then a packet with no
    /// connection (INVALID, UNTRACKED) passes this test, as the kernel's
    /// match returns after the state when there is none; without it, the
    /// whole match fails, `!` or not.
    Ct {
        test: CtTest,
        with_state: bool,
    },
    /// One option of `-m owner`: the sending socket's owner (each option
    /// is a match of its own, with its own `!`, as physdev's).
    Owner(Owner),
}

/// What one `-m owner` option tests (iptables-extensions(8)): the socket
/// a host's own packet was sent from, at OUTPUT and POSTROUTING.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// `--uid-owner lo[-hi]`: the socket's file's owner, in a range.
    Uid(u32, u32),
    /// `--gid-owner lo[-hi]` (with `--suppl-groups` the process's other
    /// groups too; Packet Walk's processes have none).
    Gid(u32, u32),
    /// `--socket-exists`: the packet has a socket.
    SocketExists,
}

impl Owner {
    pub fn option(self) -> &'static str {
        match self {
            Owner::Uid(..) => "--uid-owner",
            Owner::Gid(..) => "--gid-owner",
            Owner::SocketExists => "--socket-exists",
        }
    }
}

/// What one `-m conntrack` option beyond `--ctstate` tests.
#[derive(Clone, Debug, PartialEq)]
pub enum CtTest {
    /// `--ctproto`: the connection's protocol (a number; `all` is 0).
    Proto(u8),
    /// `--ctorigsrc` and the others: an address of a tuple.
    Addr { tuple: CtSide, net: Ipv4Net },
    /// `--ctorigdstport` and the others: a port of a tuple, in a range.
    Port { tuple: CtSide, lo: u16, hi: u16 },
    /// `--ctdir REPLY` (else ORIGINAL): the packet's direction.
    Reply(bool),
    /// `--ctstatus`: any of these status bits.
    Status(u8),
    /// `--ctexpire`: the seconds the connection has left, in a range (0
    /// for one not yet confirmed).
    Expire(u32, u32),
}

/// Which address (or port) of which tuple a conntrack test reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtSide {
    OrigSrc,
    OrigDst,
    ReplSrc,
    ReplDst,
}

impl CtSide {
    pub fn option(self, port: bool) -> &'static str {
        match (self, port) {
            (CtSide::OrigSrc, false) => "--ctorigsrc",
            (CtSide::OrigDst, false) => "--ctorigdst",
            (CtSide::ReplSrc, false) => "--ctreplsrc",
            (CtSide::ReplDst, false) => "--ctrepldst",
            (CtSide::OrigSrc, true) => "--ctorigsrcport",
            (CtSide::OrigDst, true) => "--ctorigdstport",
            (CtSide::ReplSrc, true) => "--ctreplsrcport",
            (CtSide::ReplDst, true) => "--ctrepldstport",
        }
    }

    fn of(option: &str) -> Option<(CtSide, bool)> {
        let side = |s: &str| match s {
            "origsrc" => Some(CtSide::OrigSrc),
            "origdst" => Some(CtSide::OrigDst),
            "replsrc" => Some(CtSide::ReplSrc),
            "repldst" => Some(CtSide::ReplDst),
            _ => None,
        };
        let rest = option.strip_prefix("--ct")?;
        match rest.strip_suffix("port") {
            Some(s) => Some((side(s)?, true)),
            None => Some((side(rest)?, false)),
        }
    }
}

/// What one `-m physdev` option tests (iptables-extensions(8)).
#[derive(Clone, Debug, PartialEq)]
pub enum Physdev {
    /// `--physdev-in NAME`: the bridge port it came in by.
    In(IfaceMatch),
    /// `--physdev-out NAME`: the bridge port a bridged frame leaves by.
    Out(IfaceMatch),
    /// `--physdev-is-in`: it came in through a bridge port.
    IsIn,
    /// `--physdev-is-out`: it leaves through a bridge port (bridged).
    IsOut,
    /// `--physdev-is-bridged`: it is bridged, not routed.
    IsBridged,
}

impl Physdev {
    /// The option as written.
    pub fn option(&self) -> &'static str {
        match self {
            Physdev::In(_) => "--physdev-in",
            Physdev::Out(_) => "--physdev-out",
            Physdev::IsIn => "--physdev-is-in",
            Physdev::IsOut => "--physdev-is-out",
            Physdev::IsBridged => "--physdev-is-bridged",
        }
    }
}

/// `-m set --match-set NAME DIRS [--return-nomatch]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SetMatch {
    pub name: String,
    /// The direction of each of the set's parts (true: source).
    pub dirs: Vec<bool>,
    pub return_nomatch: bool,
}

/// A match with its negation and where it is written in the rule's text.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub negated: bool,
    pub kind: MatchKind,
    /// Byte range of the match's words in [`Rule::args`].
    pub span: (u32, u32),
}

/// What `REJECT --reject-with` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectWith {
    /// ICMP destination unreachable with this code.
    Icmp(u8),
    TcpReset,
}

/// A NAT range: `ip[-ip][:port[-port]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatRange {
    pub addr: Option<(Ipv4Addr, Ipv4Addr)>,
    pub ports: Option<(u16, u16)>,
    /// `--random` (or, for SNAT and MASQUERADE, `--random-fully`): the
    /// port is picked at random even when the packet's own would do.
    pub random: bool,
    /// `--persistent`: the address hash leaves the destination out.
    pub persistent: bool,
}

/// What a `CONNMARK` rule does, in the kernel's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnMarkOp {
    /// `ct mark = (ct mark & !ctmask) ^ ctmark` (--set-xmark and the like).
    Set { ctmark: u32, ctmask: u32 },
    /// `ct mark = (ct mark & !ctmask) ^ (mark & nfmask)` (--save-mark).
    Save { nfmask: u32, ctmask: u32 },
    /// `mark = (mark & !nfmask) ^ (ct mark & ctmask)` (--restore-mark).
    Restore { nfmask: u32, ctmask: u32 },
}

impl ConnMarkOp {
    /// The connection's mark and the packet's after the target, from
    /// theirs before (one of them changes, as xt_connmark's mode says).
    pub fn apply(self, ct: u32, mark: u32) -> (u32, u32) {
        match self {
            ConnMarkOp::Set { ctmark, ctmask } => ((ct & !ctmask) ^ ctmark, mark),
            ConnMarkOp::Save { nfmask, ctmask } => ((ct & !ctmask) ^ (mark & nfmask), mark),
            ConnMarkOp::Restore { nfmask, ctmask } => (ct, (mark & !nfmask) ^ (ct & ctmask)),
        }
    }
}

/// The verdict or action of a rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// No `-j`: the rule only counts.
    None,
    Accept,
    Drop,
    Return,
    Reject(RejectWith),
    Dnat(NatRange),
    Snat {
        to: NatRange,
        random_fully: bool,
    },
    Masquerade {
        ports: Option<(u16, u16)>,
        random_fully: bool,
    },
    /// `REDIRECT`: DNAT to the address of the device the packet came in
    /// by (its first), or to 127.0.0.1 for the host's own packet, and to
    /// `--to-ports` if given (nf_nat_redirect_ipv4).
    Redirect {
        ports: Option<(u16, u16)>,
        random: bool,
    },
    /// `MARK`, in the kernel's form: `mark = (mark & !mask) ^ xor`.
    Mark {
        xor: u32,
        mask: u32,
    },
    Log {
        prefix: String,
        level: u8,
    },
    /// `NOTRACK` (or `CT --notrack`, `ct`): the packet is not tracked
    /// (conntrack state UNTRACKED, no entry, no NAT). Raw table only.
    NoTrack {
        ct: bool,
    },
    /// `CONNMARK`: the connection's mark set from a value, saved from the
    /// packet's mark, or restored to it (xt_connmark's three modes).
    ConnMark(ConnMarkOp),
    /// A target that does not change where the packet goes (NFLOG, TRACE,
    /// CHECKSUM, TCPMSS, DSCP…): the rule counts, and the walk goes on.
    PassOver(&'static str),
    /// A jump (`-j CHAIN`) or goto (`-g CHAIN`) into a user chain; `chain`
    /// is the chain's position, resolved when the table is committed.
    Jump {
        /// Where the chain's name stands in the rule's args ([`Rule::target_name`]).
        name: (u32, u32),
        chain: usize,
        goto: bool,
    },
}

impl Target {
    /// The target's name as written after `-j`.
    pub fn name(&self) -> &str {
        match self {
            Target::None => "",
            Target::Accept => "ACCEPT",
            Target::Drop => "DROP",
            Target::Return => "RETURN",
            Target::Reject(_) => "REJECT",
            Target::Dnat(_) => "DNAT",
            Target::Snat { .. } => "SNAT",
            Target::Masquerade { .. } => "MASQUERADE",
            Target::Redirect { .. } => "REDIRECT",
            Target::Mark { .. } => "MARK",
            Target::Log { .. } => "LOG",
            Target::NoTrack { ct: false } => "NOTRACK",
            Target::NoTrack { ct: true } => "CT",
            Target::PassOver(name) => name,
            Target::ConnMark(_) => "CONNMARK",
            Target::Jump { .. } => "",
        }
    }
}

/// One rule of a chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The rule as written after `-A CHAIN ` (what `iptables-save` prints).
    pub args: String,
    /// `[packets:bytes]` prefix, when the dump had one (`iptables-save -c`).
    pub counters: Option<Counters>,
    /// Line in the text it came from (0 when made by a command).
    pub line: usize,
    pub matches: Vec<Match>,
    pub target: Target,
}

impl Rule {
    /// The text of one match of this rule (`-d 10.96.0.10/32`).
    pub fn match_text(&self, m: &Match) -> &str {
        self.args
            .get(m.span.0 as usize..m.span.1 as usize)
            .unwrap_or("")
    }

    /// The target as written after `-j`/`-g` (a chain name for jumps).
    pub fn target_name(&self) -> &str {
        match self.target {
            Target::Jump { name: (a, b), .. } => self
                .args
                .get(a as usize..b as usize)
                .unwrap_or("")
                .trim_matches('"'),
            ref t => t.name(),
        }
    }

    /// The value of `-m comment --comment`, if any, unquoted.
    pub fn comment(&self) -> Option<String> {
        let m = self.matches.iter().find(|m| m.kind == MatchKind::Comment)?;
        let words = lex::words(self.match_text(m)).ok()?;
        words.get(1).map(|w| w.text.to_string())
    }
}

/// iptables-extensions(8)'s other IPv4 matches: real, and not modelled.
#[rustfmt::skip]
const OTHER_MODULES: &[&str] = &[
    "ah", "bpf", "cgroup", "cluster", "connbytes", "connlabel", "connlimit",
    "cpu", "dccp", "devgroup", "dscp", "ecn", "esp", "hashlimit", "helper", "iprange",
    "ipvs", "length", "mac", "osf", "pkttype",
    "policy", "quota", "rateest", "realm", "socket",
    "string", "tcpmss", "time", "tos", "ttl", "u32",
];

/// iptables-extensions(8)'s other IPv4 targets: real, and not modelled.
#[rustfmt::skip]
pub(crate) const OTHER_TARGETS: &[&str] = &[
    "CLUSTERIP", "CONNSECMARK", "ECN", "HMARK", "IDLETIMER", "LED", "NETMAP",
    "NFQUEUE", "RATEEST", "SET", "SYNPROXY", "TCPOPTSTRIP", "TEE", "TPROXY",
    "TTL", "ULOG",
];

/// iptables-extensions(8)'s targets that leave the packet's way as it was
/// (they log, trace, fill a checksum, or set what Packet Walk's packets do
/// not carry): each rule counts, and the walk goes on. With what each does.
pub const PASS_OVER: &[(&str, &str)] = &[
    ("NFLOG", "hands a copy of the packet to a logging program (nflog group); the packet goes on"),
    ("TRACE", "marks the packet for the kernel's rule tracing (nft monitor trace); the packet goes on"),
    ("CHECKSUM", "fills in a checksum the sender left to the network card; the packet goes on"),
    ("TCPMSS", "rewrites a SYN's MSS option, which Packet Walk's segments do not carry; the packet goes on"),
    ("DSCP", "sets the DSCP bits of the type of service, which Packet Walk's packets do not carry; the packet goes on"),
    ("TOS", "sets the type of service, which Packet Walk's packets do not carry; the packet goes on"),
    ("CLASSIFY", "sets the traffic control class the packet queues in; the packet goes on"),
    ("AUDIT", "writes an audit record; the packet goes on"),
    ("SECMARK", "sets the packet's security context (SELinux); the packet goes on"),
];

/// What a real but unmodelled target is told (with the one table the
/// kernel allows it in, for those bound to one).
pub(crate) fn target_not_modelled(name: &str) -> String {
    let table = match name {
        "CT" | "NOTRACK" => Some("raw"),
        "TPROXY" | "TTL" | "ECN" => Some("mangle"),
        "REDIRECT" | "NETMAP" => Some("nat"),
        _ => None,
    };
    let only = table
        .map(|t| format!(" (the kernel takes it in the {t} table only)"))
        .unwrap_or_default();
    not_modelled(&format!("target {name}{only}"))
}

/// What a real but unmodelled target or option is told.
pub(crate) fn not_modelled(what: &str) -> String {
    format!("{what} exists in iptables, but Packet Walk does not model it (yet): take the rule out to trace the rest")
}

/// Match modules this simulator evaluates.
pub const MODULES: &[&str] = &[
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "multiport",
    "comment",
    "statistic",
    "mark",
    "addrtype",
    "conntrack",
    "state",
    "recent",
    "nfacct",
    "set",
    "rpfilter",
    "limit",
    "connmark",
    "physdev",
    "owner",
];

/// Built-in targets this simulator carries out.
pub const TARGETS: &[&str] = &[
    "ACCEPT",
    "DROP",
    "RETURN",
    "REJECT",
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "REDIRECT",
    "MARK",
    "CONNMARK",
    "LOG",
];

/// `-m conntrack`'s options, in iptables-save's order; the tuple tests
/// (addresses, then ports) are `[2..10]`.
pub(crate) const CONNTRACK_OPTIONS: [&str; 13] = [
    "--ctstate",
    "--ctproto",
    "--ctorigsrc",
    "--ctorigdst",
    "--ctreplsrc",
    "--ctrepldst",
    "--ctorigsrcport",
    "--ctorigdstport",
    "--ctreplsrcport",
    "--ctrepldstport",
    "--ctstatus",
    "--ctexpire",
    "--ctdir",
];

/// `lo[:hi]` (one number: both ends), as conntrack's port and time ranges
/// are written; `what` names the form for the error.
fn number_range<T: std::str::FromStr + Copy>(v: &str, what: &str) -> Result<(T, T), String> {
    let n = |s: &str| s.parse::<T>().map_err(|_| format!("\"{v}\" is not {what}"));
    match v.split_once(':') {
        Some((a, b)) => Ok((n(a)?, n(b)?)),
        None => n(v).map(|x| (x, x)),
    }
}

pub(crate) fn module_options(m: &str) -> &'static [&'static str] {
    match m {
        "tcp" => &[
            "--sport",
            "--source-port",
            "--dport",
            "--destination-port",
            "--tcp-flags",
            "--syn",
        ],
        "udp" => &["--sport", "--source-port", "--dport", "--destination-port"],
        "sctp" => &["--sport", "--source-port", "--dport", "--destination-port"],
        "icmp" => &["--icmp-type"],
        "multiport" => &[
            "--sports",
            "--source-ports",
            "--dports",
            "--destination-ports",
            "--ports",
        ],
        "comment" => &["--comment"],
        "statistic" => &["--mode", "--probability", "--every", "--packet"],
        "mark" => &["--mark"],
        "addrtype" => &[
            "--src-type",
            "--dst-type",
            "--limit-iface-in",
            "--limit-iface-out",
        ],
        "conntrack" => &CONNTRACK_OPTIONS,
        "state" => &["--state"],
        "recent" => &[
            "--name",
            "--set",
            "--rcheck",
            "--update",
            "--remove",
            "--seconds",
            "--hitcount",
            "--reap",
            "--rsource",
            "--rdest",
            "--mask",
            "--rttl",
        ],
        "nfacct" => &["--nfacct-name"],
        "rpfilter" => &["--loose", "--validmark", "--accept-local", "--invert"],
        "limit" => &["--limit", "--limit-burst"],
        "connmark" => &["--mark"],
        "owner" => &[
            "--uid-owner",
            "--gid-owner",
            "--socket-exists",
            "--suppl-groups",
        ],
        "physdev" => &[
            "--physdev-in",
            "--physdev-out",
            "--physdev-is-in",
            "--physdev-is-out",
            "--physdev-is-bridged",
        ],
        "set" => &[
            "--match-set",
            "--set",
            "--return-nomatch",
            "--update-counters",
            "--update-subcounters",
            "--packets-eq",
            "--packets-lt",
            "--packets-gt",
            "--bytes-eq",
            "--bytes-lt",
            "--bytes-gt",
        ],
        _ => &[],
    }
}

pub(crate) fn target_options(t: &str) -> &'static [&'static str] {
    match t {
        "REJECT" => &["--reject-with"],
        "DNAT" => &["--to-destination", "--random", "--persistent"],
        "SNAT" => &["--to-source", "--random", "--random-fully", "--persistent"],
        "MASQUERADE" => &["--to-ports", "--random", "--random-fully"],
        "REDIRECT" => &["--to-ports", "--random"],
        "MARK" => &[
            "--set-xmark",
            "--set-mark",
            "--and-mark",
            "--or-mark",
            "--xor-mark",
        ],
        "NOTRACK" => &[],
        // Only its --notrack is modelled; its zones, helpers and timeouts
        // are refused by name (see `build_target`).
        "CT" => &["--notrack"],
        "LOG" => &[
            "--log-prefix",
            "--log-level",
            "--log-tcp-sequence",
            "--log-tcp-options",
            "--log-ip-options",
            "--log-uid",
        ],
        "NFLOG" => &[
            "--nflog-group",
            "--nflog-prefix",
            "--nflog-range",
            "--nflog-size",
            "--nflog-threshold",
        ],
        "CHECKSUM" => &["--checksum-fill"],
        "CONNMARK" => &[
            "--set-xmark",
            "--set-mark",
            "--and-mark",
            "--or-mark",
            "--xor-mark",
            "--save-mark",
            "--restore-mark",
            "--nfmask",
            "--ctmask",
            "--mask",
        ],
        "TCPMSS" => &["--set-mss", "--clamp-mss-to-pmtu"],
        "DSCP" => &["--set-dscp", "--set-dscp-class"],
        "TOS" => &["--set-tos", "--and-tos", "--or-tos", "--xor-tos"],
        "CLASSIFY" => &["--set-class"],
        "AUDIT" => &["--type"],
        "SECMARK" => &["--selctx"],
        _ => &[],
    }
}

/// The tables a pass-over target is valid in, where the kernel binds it
/// (measured with iptables-nft 1.8.9: TRACE and CLASSIFY go anywhere).
pub(crate) fn pass_over_tables(name: &str) -> &'static [super::TableName] {
    use super::TableName::{Mangle, Security};
    match name {
        "CHECKSUM" | "DSCP" | "TOS" => &[Mangle],
        "SECMARK" => &[Mangle, Security],
        _ => &[],
    }
}

/// The built-in chains a pass-over rule is valid in, where the kernel
/// binds it (TCPMSS's clamping to the path MTU, CLASSIFY): `args` is the
/// rule's text.
pub(crate) fn pass_over_hooks(name: &str, args: &str) -> &'static [&'static str] {
    match name {
        "TCPMSS" if args.contains("--clamp-mss-to-pmtu") => &["FORWARD", "OUTPUT", "POSTROUTING"],
        "CLASSIFY" => &["FORWARD", "OUTPUT", "POSTROUTING"],
        _ => &[],
    }
}

/// The options of matches and targets that take no value.
const FLAGS: &[&str] = &[
    "--syn",
    "--set",
    "--rcheck",
    "--update",
    "--remove",
    "--reap",
    "--rsource",
    "--rdest",
    "--rttl",
    "--notrack",
    "--limit-iface-in",
    "--limit-iface-out",
    "--random",
    "--random-fully",
    "--persistent",
    "--log-tcp-sequence",
    "--log-tcp-options",
    "--log-ip-options",
    "--log-uid",
    "--checksum-fill",
    "--clamp-mss-to-pmtu",
    "--socket-exists",
    "--suppl-groups",
    "--save-mark",
    "--restore-mark",
    "--physdev-is-in",
    "--physdev-is-out",
    "--physdev-is-bridged",
];

/// Options that take no value.
pub(crate) fn is_flag(opt: &str) -> bool {
    among(opt, FLAGS)
}

/// `names.contains(&word)`, with the lengths compared first, inline. The
/// parse asks this of every option of a dump (a million words for 10k
/// Services), and in the page's build (opt-level z) each string compare
/// is a call: most names differ from the word in length alone.
#[inline(always)]
pub(crate) fn among(word: &str, names: &[&str]) -> bool {
    names.iter().any(|n| n.len() == word.len() && *n == word)
}

/// The options of iptables itself (not of a match or a target).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BaseOpt {
    Src,
    Dst,
    Proto,
    InIface,
    OutIface,
    Fragment,
    Match,
    Jump,
    Goto,
    Counters,
}

impl BaseOpt {
    /// Each with its long names.
    const ALL: [(BaseOpt, &'static [&'static str]); 10] = [
        (BaseOpt::Src, &["-s", "--source", "--src"]),
        (BaseOpt::Dst, &["-d", "--destination", "--dst"]),
        (BaseOpt::Proto, &["-p", "--protocol"]),
        (BaseOpt::InIface, &["-i", "--in-interface"]),
        (BaseOpt::OutIface, &["-o", "--out-interface"]),
        (BaseOpt::Fragment, &["-f", "--fragment"]),
        (BaseOpt::Match, &["-m", "--match"]),
        (BaseOpt::Jump, &["-j", "--jump"]),
        (BaseOpt::Goto, &["-g", "--goto"]),
        (BaseOpt::Counters, &["-c", "--set-counters"]),
    ];

    fn of(opt: &str) -> Option<BaseOpt> {
        use BaseOpt::*;
        // Every word of a dump asks: a short name is told by its letter.
        let found = match opt.as_bytes() {
            [b'-', c] => match c {
                b's' => Src,
                b'd' => Dst,
                b'p' => Proto,
                b'i' => InIface,
                b'o' => OutIface,
                b'f' => Fragment,
                b'm' => Match,
                b'j' => Jump,
                b'g' => Goto,
                b'c' => Counters,
                _ => return None,
            },
            [b'-', b'-', ..] => {
                Self::ALL
                    .iter()
                    .find(|(_, names)| among(opt, &names[1..]))?
                    .0
            }
            _ => return None,
        };
        Some(found)
    }

    /// The short name, for messages.
    fn short(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(o, _)| *o == self)
            .map_or("", |(_, n)| n[0])
    }
}

/// Parses an IPv4 address or network as iptables takes it: `a.b.c.d`,
/// `a.b.c.d/len` or `a.b.c.d/mask`. The host bits are cleared, as iptables does.
pub fn parse_net(s: &str) -> Result<Ipv4Net, String> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: Ipv4Addr = (addr.parse().ok())
        .or_else(|| short_ipv4(addr))
        .ok_or_else(|| format!("\"{addr}\" is not an IPv4 address"))?;
    let prefix = match len {
        None => 32,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= 32 => n,
            Ok(_) => return Err(format!("prefix length /{l} is larger than 32")),
            Err(_) => {
                let m: Ipv4Addr = l
                    .parse()
                    .map_err(|_| format!("\"/{l}\" is neither a prefix length nor a netmask"))?;
                let bits = u32::from(m);
                if bits.leading_ones() + bits.trailing_zeros() != 32 {
                    return Err(format!("netmask {m} is not contiguous: iptables takes such a mask, but Packet Walk models prefixes only (write /N)"));
                }
                bits.leading_ones() as u8
            }
        },
    };
    Ok(Ipv4Net::new(ip, prefix).expect("prefix checked").trunc())
}

/// `--uid-owner`'s or `--gid-owner`'s value: an id or a range `lo-hi`,
/// each as strtoul reads it, at most 4294967294 (measured with iptables
/// 1.8.9); `root` is 0, the one name every node has (iptables-save
/// prints numbers).
fn owner_ids(v: &str, what: &str) -> Result<(u32, u32), String> {
    let id = |w: &str| match w {
        "root" => Some(0),
        _ => crate::engine::text::strtoul(w).filter(|n| *n < u32::MAX),
    };
    let range = match v.split_once('-') {
        Some((lo, hi)) => id(lo).zip(id(hi)).filter(|(lo, hi)| lo <= hi),
        None => id(v).map(|n| (n, n)),
    };
    range.ok_or_else(|| {
        let named = v.starts_with(|c: char| c.is_ascii_alphabetic());
        if named {
            format!("{what} \"{v}\": Packet Walk has no node's /etc/passwd or /etc/group to look names up in (iptables-save prints numbers): write its id")
        } else {
            format!("\"{v}\" is not a {what} id or a range of them (like 1337 or 1000-1999, at most 4294967294)")
        }
    })
}

/// An owner id or range as iptables-save prints it (decimal), or as
/// written when it is not one (the parser reports it).
pub(crate) fn owner_ids_text(v: &str) -> String {
    match owner_ids(v, "user") {
        Ok((lo, hi)) if lo == hi => lo.to_string(),
        Ok((lo, hi)) => format!("{lo}-{hi}"),
        Err(_) => v.to_string(),
    }
}

/// An address as iptables and ip read one (C's `strtoul` with base 0 for
/// each part: `010` is octal 8, `0x0a` hex 10), with fewer than four parts
/// completed by zeros at the end (`10/8`, `0/0`, `10.1.2`).
fn short_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    for (n, part) in s.split('.').enumerate() {
        // (strtoul's `+` too: iptables 1.8.9 takes `+10.0.0.1`, measured.)
        let value = crate::engine::text::strtoul(part).and_then(|v| u8::try_from(v).ok());
        *octets.get_mut(n)? = value?;
    }
    Some(Ipv4Addr::from(octets))
}

/// The protocols a service name is listed for in `/etc/services`.
const TCP: u8 = 1;
const UDP: u8 = 2;
const SCTP: u8 = 4;

/// Service names iptables finds in Debian's `/etc/services` (netbase 6.4;
/// the common ones), with the port each stands for and its protocols.
#[rustfmt::skip]
const SERVICES: &[(&str, u16, u8)] = &[
    ("ftp-data", 20, TCP), ("ftp", 21, TCP), ("ssh", 22, TCP), ("telnet", 23, TCP),
    ("smtp", 25, TCP), ("mail", 25, TCP), ("domain", 53, TCP | UDP), ("bootps", 67, UDP),
    ("bootpc", 68, UDP), ("tftp", 69, UDP), ("http", 80, TCP), ("www", 80, TCP),
    ("kerberos", 88, TCP | UDP), ("pop3", 110, TCP), ("ntp", 123, UDP),
    ("netbios-ssn", 139, TCP), ("imap2", 143, TCP), ("imap", 143, TCP),
    ("snmp", 161, TCP | UDP), ("snmp-trap", 162, TCP | UDP), ("bgp", 179, TCP),
    ("ldap", 389, TCP | UDP), ("https", 443, TCP | UDP), ("microsoft-ds", 445, TCP),
    ("submissions", 465, TCP), ("smtps", 465, TCP), ("syslog", 514, TCP | UDP),
    ("printer", 515, TCP), ("submission", 587, TCP), ("ipp", 631, TCP),
    ("ldaps", 636, TCP | UDP), ("domain-s", 853, TCP | UDP), ("rsync", 873, TCP),
    ("imaps", 993, TCP), ("pop3s", 995, TCP), ("ms-sql-s", 1433, TCP),
    ("nfs", 2049, TCP | UDP), ("mysql", 3306, TCP), ("ms-wbt-server", 3389, TCP),
    ("sip", 5060, TCP | UDP), ("postgresql", 5432, TCP), ("postgres", 5432, TCP),
    ("amqp", 5672, TCP | SCTP), ("x11", 6000, TCP),
];

/// Which service names a port option takes, as iptables v1.8.9 looks them
/// up: the tcp and sctp matches their own protocol's, the udp and dccp
/// matches and the NAT targets any protocol's, multiport those of `-p`'s.
#[derive(Clone, Copy)]
enum Names {
    Any,
    Of(&'static str, u8),
}

impl Names {
    /// The names `-m multiport` takes with protocol `proto`.
    fn of_proto(proto: Option<Proto>) -> Names {
        match proto {
            Some(Proto::Tcp) => Names::Of("TCP", TCP),
            Some(Proto::Udp) => Names::Of("UDP", UDP),
            Some(Proto::Other(132)) => Names::Of("SCTP", SCTP),
            Some(Proto::Other(136)) => Names::Of("UDP-Lite", 0),
            _ => Names::Of("DCCP", 0),
        }
    }
}

/// A port as a number or a service name (`http` is 80).
fn parse_port(s: &str, names: Names) -> Result<u16, String> {
    if let Ok(p) = s.parse::<u16>() {
        return Ok(p);
    }
    let bad =
        || format!("\"{s}\" is not a port number (0-65535) or a service name of /etc/services");
    let &(_, port, listed) = SERVICES.iter().find(|(n, ..)| *n == s).ok_or_else(bad)?;
    match names {
        Names::Of(proto, mask) if listed & mask == 0 => {
            let of: Vec<&str> = [(TCP, "TCP"), (UDP, "UDP"), (SCTP, "SCTP")]
                .iter()
                .filter(|(m, _)| listed & m != 0)
                .map(|(_, n)| *n)
                .collect();
            Err(format!(
                "\"{s}\" is not listed for {proto} in /etc/services (only for {}): write its number, {port}",
                of.join(" and ")
            ))
        }
        _ => Ok(port),
    }
}

/// `80`, `1000:2000`, `:1024`, `1024:`.
fn parse_port_range(s: &str, names: Names) -> Result<(u16, u16), String> {
    match s.split_once(':') {
        None => parse_port(s, names).map(|p| (p, p)),
        Some((a, b)) => {
            let lo = if a.is_empty() {
                0
            } else {
                parse_port(a, names)?
            };
            let hi = if b.is_empty() {
                65535
            } else {
                parse_port(b, names)?
            };
            if lo > hi {
                return Err(format!("port range {s} is inverted"));
            }
            Ok((lo, hi))
        }
    }
}

fn parse_u32(s: &str) -> Result<u32, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse::<u32>(),
    };
    r.map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => {
            format!("\"{s}\" is out of range: at most 4294967295 (0xffffffff)")
        }
        _ => format!("\"{s}\" is not a number"),
    })
}

/// `value[/mask]` as MARK and `-m mark` take it.
fn parse_value_mask(s: &str, default_mask: u32) -> Result<(u32, u32), String> {
    match s.split_once('/') {
        Some((v, m)) => Ok((parse_u32(v)?, parse_u32(m)?)),
        None => Ok((parse_u32(s)?, default_mask)),
    }
}

/// The port part of a NAT range as iptables v1.8.9 reads it: one port
/// (a number, 0 included, or a service name of any protocol), or a
/// range of two numbers.
/// A MARK or CONNMARK value option (`--set-xmark`, `--set-mark`,
/// `--and-mark`, `--or-mark`, `--xor-mark`) as the kernel keeps it: the
/// value xored in, and the mask of the bits cleared first.
fn mark_form(form: &str, v: &str) -> Result<(u32, u32), String> {
    Ok(match form {
        "--set-xmark" => parse_value_mask(v, u32::MAX)?,
        "--set-mark" => {
            let (v, m) = parse_value_mask(v, u32::MAX)?;
            (v, m | v)
        }
        "--and-mark" => (0, !parse_u32(v)?),
        "--or-mark" => {
            let v = parse_u32(v)?;
            (v, v)
        }
        _ => (parse_u32(v)?, 0),
    })
}

fn nat_ports(p: &str) -> Result<(u16, u16), String> {
    let bad = |why: &str| format!("Port `{p}' not valid: {why}");
    match p.split_once('-') {
        Some((a, b)) => {
            let (Ok(lo), Ok(hi)) = (a.parse::<u16>(), b.parse::<u16>()) else {
                return Err(bad("a port range is two numbers from 0 to 65535"));
            };
            if lo > hi {
                return Err(format!("port range {p} is inverted"));
            }
            Ok((lo, hi))
        }
        None => parse_port(p, Names::Any).map(|x| (x, x)).map_err(|_| {
            bad("a port is a number from 0 to 65535 or a service name of /etc/services")
        }),
    }
}

fn parse_nat_range(s: &str) -> Result<NatRange, String> {
    let (addr_part, port_part) = match s.rsplit_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = if addr_part.is_empty() {
        None
    } else {
        let ip = |a: &str| -> Result<Ipv4Addr, String> {
            a.parse()
                .map_err(|_| format!("\"{a}\" is not an IPv4 address"))
        };
        let (a, b) = match addr_part.split_once('-') {
            Some((a, b)) => (ip(a)?, ip(b)?),
            None => {
                let a = ip(addr_part)?;
                (a, a)
            }
        };
        if a > b {
            return Err(format!("address range {a}-{b} is inverted"));
        }
        Some((a, b))
    };
    let ports = port_part.map(nat_ports).transpose()?;
    Ok(NatRange {
        addr,
        ports,
        random: false,
        persistent: false,
    })
}

pub(crate) fn parse_icmp_type(s: &str) -> Result<(Option<u8>, Option<u8>), String> {
    // iptables' names (libxt_icmp), in any case.
    let named: Option<(Option<u8>, Option<u8>)> = match s.to_ascii_lowercase().as_str() {
        "any" => Some((None, None)),
        "echo-reply" | "pong" => Some((Some(0), None)),
        "destination-unreachable" => Some((Some(3), None)),
        "network-unreachable" => Some((Some(3), Some(0))),
        "host-unreachable" => Some((Some(3), Some(1))),
        "protocol-unreachable" => Some((Some(3), Some(2))),
        "port-unreachable" => Some((Some(3), Some(3))),
        "fragmentation-needed" => Some((Some(3), Some(4))),
        "source-route-failed" => Some((Some(3), Some(5))),
        "network-unknown" => Some((Some(3), Some(6))),
        "host-unknown" => Some((Some(3), Some(7))),
        "network-prohibited" => Some((Some(3), Some(9))),
        "host-prohibited" => Some((Some(3), Some(10))),
        "tos-network-unreachable" => Some((Some(3), Some(11))),
        "tos-host-unreachable" => Some((Some(3), Some(12))),
        "communication-prohibited" => Some((Some(3), Some(13))),
        "host-precedence-violation" => Some((Some(3), Some(14))),
        "precedence-cutoff" => Some((Some(3), Some(15))),
        "source-quench" => Some((Some(4), None)),
        "redirect" => Some((Some(5), None)),
        "network-redirect" => Some((Some(5), Some(0))),
        "host-redirect" => Some((Some(5), Some(1))),
        "tos-network-redirect" => Some((Some(5), Some(2))),
        "tos-host-redirect" => Some((Some(5), Some(3))),
        "echo-request" | "ping" => Some((Some(8), None)),
        "router-advertisement" => Some((Some(9), None)),
        "router-solicitation" => Some((Some(10), None)),
        "time-exceeded" | "ttl-exceeded" => Some((Some(11), None)),
        "ttl-zero-during-transit" => Some((Some(11), Some(0))),
        "ttl-zero-during-reassembly" => Some((Some(11), Some(1))),
        "parameter-problem" => Some((Some(12), None)),
        "ip-header-bad" => Some((Some(12), Some(0))),
        "required-option-missing" => Some((Some(12), Some(1))),
        "timestamp-request" => Some((Some(13), None)),
        "timestamp-reply" => Some((Some(14), None)),
        "address-mask-request" => Some((Some(17), None)),
        "address-mask-reply" => Some((Some(18), None)),
        _ => None,
    };
    if let Some(n) = named {
        return Ok(n);
    }
    let (t, c) = match s.split_once('/') {
        Some((t, c)) => (t, Some(c)),
        None => (s, None),
    };
    let t: u8 = t
        .parse()
        .map_err(|_| format!("unknown ICMP type \"{s}\""))?;
    let c = match c {
        Some(c) => Some(
            c.parse::<u8>()
                .map_err(|_| format!("bad ICMP code in \"{s}\""))?,
        ),
        None => None,
    };
    Ok((Some(t), c))
}

fn parse_reject_with(s: &str) -> Result<RejectWith, String> {
    use crate::engine::packet::icmp;
    Ok(match s {
        "icmp-net-unreachable" | "net-unreach" => RejectWith::Icmp(icmp::NET_UNREACH),
        "icmp-host-unreachable" | "host-unreach" => RejectWith::Icmp(icmp::HOST_UNREACH),
        "icmp-port-unreachable" | "port-unreach" => RejectWith::Icmp(icmp::PORT_UNREACH),
        "icmp-proto-unreachable" | "proto-unreach" => RejectWith::Icmp(icmp::PROT_UNREACH),
        "icmp-net-prohibited" | "net-prohib" => RejectWith::Icmp(icmp::NET_PROHIBITED),
        "icmp-host-prohibited" | "host-prohib" => RejectWith::Icmp(icmp::HOST_PROHIBITED),
        "icmp-admin-prohibited" | "admin-prohib" => RejectWith::Icmp(icmp::ADMIN_PROHIBITED),
        "tcp-reset" | "tcp-rst" => RejectWith::TcpReset,
        _ => {
            return Err(format!(
                "unknown --reject-with \"{s}\" (icmp-port-unreachable, icmp-host-unreachable, icmp-net-unreachable, icmp-proto-unreachable, icmp-net-prohibited, icmp-host-prohibited, icmp-admin-prohibited, tcp-reset)"
            ))
        }
    })
}

fn parse_log_level(s: &str) -> Result<u8, String> {
    const LEVELS: [&str; 8] = [
        "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
    ];
    if let Ok(n) = s.parse::<u8>() {
        if n <= 7 {
            return Ok(n);
        }
    }
    // iptables 1.8.9's names ("panic" is emerg's other; "warn" and "err"
    // are not among them).
    LEVELS
        .iter()
        .position(|l| *l == s || (s == "panic" && *l == "emerg"))
        .map(|p| p as u8)
        .ok_or_else(|| format!("log level \"{s}\" unknown (emerg or panic, alert, crit, error, warning, notice, info, debug, or 0 to 7)"))
}

/// The match module `-p` loads implicitly.
fn proto_module(p: Proto) -> Option<&'static str> {
    match p {
        Proto::Tcp => Some("tcp"),
        Proto::Udp => Some("udp"),
        Proto::Icmp => Some("icmp"),
        Proto::Other(132) => Some("sctp"),
        _ => None,
    }
}

/// `XT_LIMIT_SCALE`: a limit's period is kept in ten-thousandths of a
/// second.
pub const LIMIT_SCALE: u32 = 10_000;

/// A `--limit` rate (`3/min`, `5/second`, `10`: per second) as the kernel
/// keeps it: the period between packets in [`LIMIT_SCALE`] units
/// (libxt_limit's `parse_rate`: a unit is any start of second, minute,
/// hour or day).
fn limit_rate(s: &str) -> Result<u32, String> {
    let bad = || {
        format!(
            "bad rate \"{s}\": a number of packets per second, minute, hour or day, such as 3/min"
        )
    };
    let (n, unit) = s.split_once('/').unwrap_or((s, "second"));
    let secs: u32 = match unit.to_ascii_lowercase() {
        u if u.is_empty() => return Err(bad()),
        u if "second".starts_with(&u) => 1,
        u if "minute".starts_with(&u) => 60,
        u if "hour".starts_with(&u) => 3600,
        u if "day".starts_with(&u) => 86_400,
        _ => return Err(bad()),
    };
    let n: u32 = n.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
    let avg = (u64::from(LIMIT_SCALE) * u64::from(secs) / u64::from(n)) as u32;
    if avg == 0 {
        return Err(format!("rate \"{s}\" is too fast: at most 10000/second"));
    }
    Ok(avg)
}

/// [`limit_rate`] for the canonical form (None when it does not read).
pub(crate) fn limit_avg(s: &str) -> Option<u32> {
    limit_rate(s).ok()
}

/// A limit's rate as `iptables-save` prints it (libxt_limit's
/// `print_rate`: the largest unit that shows it whole enough).
pub fn limit_text(avg: u32) -> String {
    const RATES: [(&str, u32); 4] = [
        ("day", LIMIT_SCALE * 86_400),
        ("hour", LIMIT_SCALE * 3600),
        ("min", LIMIT_SCALE * 60),
        ("sec", LIMIT_SCALE),
    ];
    if avg == 0 {
        return "max".into();
    }
    let mut i = 1;
    while i < RATES.len() && !(avg > RATES[i].1 || RATES[i].1 / avg < RATES[i].1 % avg) {
        i += 1;
    }
    format!("{}/{}", RATES[i - 1].1 / avg, RATES[i - 1].0)
}

/// How many words an option of match `module` takes after its name.
pub(crate) fn arity(module: &str, opt: &str) -> usize {
    if module == "rpfilter" {
        return 0;
    }
    if module == "set" {
        return match opt {
            "--match-set" | "--set" => 2,
            "--return-nomatch" | "--update-counters" | "--update-subcounters" => 0,
            _ => 1,
        };
    }
    if is_flag(opt) {
        0
    } else if opt == "--tcp-flags" {
        2
    } else {
        1
    }
}

/// One option of a match module as written: name, negation, values and
/// where it stands in the rule's text.
struct Opt<'w> {
    name: &'w str,
    negated: bool,
    /// Up to two values (`--tcp-flags MASK COMP`); unused ones are "".
    values: [&'w str; 2],
    /// Byte offset in the line of the first value (or of the option).
    at: usize,
    span: (u32, u32),
}

/// A loaded match module (`-m NAME`, or implicit from `-p tcp`) with the
/// options given to it.
struct Module<'w> {
    name: &'w str,
    at: usize,
    opts: SmallVec<[Opt<'w>; 3]>,
}

/// The rule under construction while its words are read.
struct Builder<'l, 'w> {
    line_no: usize,
    line: &'l str,
    args_offset: usize,
    base: SmallVec<[Match; 4]>,
    modules: SmallVec<[Module<'w>; 4]>,
    proto: Option<Proto>,
    /// The `-p` written, negated or not (what iptables' NAT targets check).
    proto_written: Option<Proto>,
    /// The target's name, and where its word starts and ends.
    target: Option<(&'w str, usize, usize)>,
    target_opts: SmallVec<[(&'w str, Option<&'w str>, usize); 3]>,
    goto: bool,
    counters: Option<Counters>,
}

impl Builder<'_, '_> {
    fn err(&self, byte: usize, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.line_no, lex::column(self.line, byte), msg)
    }

    fn span(&self, from: usize, to: usize) -> (u32, u32) {
        (
            from.saturating_sub(self.args_offset) as u32,
            to.saturating_sub(self.args_offset) as u32,
        )
    }
}

/// Parses the rule words (everything after `-A CHAIN`). `line` is the whole
/// source line and `args_start` the byte where the rule words begin.
pub fn parse_rule(
    line: &str,
    line_no: usize,
    args_start: usize,
    words: &[Word<'_>],
) -> Result<Rule, ParseError> {
    // (Trimmed of what the words are split on alone, so that every word's
    // span lies within it: a trailing no-break space is part of the last
    // word, as iptables-restore reads it.)
    let args = line[args_start..]
        .trim_end_matches(|c: char| c.is_ascii_whitespace())
        .to_string();
    let mut b = Builder {
        line_no,
        line,
        args_offset: args_start,
        base: SmallVec::new(),
        modules: SmallVec::new(),
        proto: None,
        proto_written: None,
        target: None,
        target_opts: SmallVec::new(),
        goto: false,
        counters: None,
    };
    let mut i = 0;
    let mut negate: Option<usize> = None;
    // -s, -d, -p, -i, -o and -f given so far: iptables takes each once.
    let mut given: SmallVec<[BaseOpt; 6]> = SmallVec::new();
    while i < words.len() {
        let w = &words[i];
        let opt = w.text.as_ref();
        let base = BaseOpt::of(opt);
        if let Some(f) = base.filter(|f| {
            b.target.is_none()
                && matches!(
                    f,
                    BaseOpt::Src
                        | BaseOpt::Dst
                        | BaseOpt::Proto
                        | BaseOpt::InIface
                        | BaseOpt::OutIface
                        | BaseOpt::Fragment
                )
        }) {
            if given.contains(&f) {
                return Err(b.err(
                    w.start,
                    format!(
                        "multiple {} flags not allowed: a rule tests each once (write two rules)",
                        f.short()
                    ),
                ));
            }
            given.push(f);
        }
        if opt == "!" && !w.quoted {
            if negate.is_some() {
                return Err(b.err(w.start, "\"!\" twice in a row"));
            }
            negate = Some(w.start);
            i += 1;
            continue;
        }
        let start = negate.unwrap_or(w.start);
        let negated = negate.take().is_some();
        let missing_at = w.end;
        let (line_no, full_line) = (b.line_no, b.line);
        let value = |k: usize| -> Result<&Word<'_>, ParseError> {
            let v = words.get(k).ok_or_else(|| {
                ParseError::new(
                    line_no,
                    lex::column(full_line, missing_at),
                    format!("option {opt} needs a value"),
                )
            })?;
            // A value left out: iptables would take the next option for it
            // (`--dport -j` is "invalid port/service `-j'") and then trip on
            // what follows; the mistake is the missing value. Free text may
            // begin with a dash (iptables-save writes `--comment -x`
            // unquoted).
            let t = v.text.as_bytes();
            let free_text = || {
                among(
                    opt,
                    &["--comment", "--log-prefix", "--name", "--nfacct-name"],
                )
            };
            if !v.quoted
                && t.len() > 1
                && t[0] == b'-'
                && (t[1].is_ascii_alphabetic() || t[1] == b'-')
                && !free_text()
            {
                return Err(ParseError::new(
                    line_no,
                    lex::column(full_line, v.start),
                    format!(
                        "option {opt} needs a value, but the next option, \"{}\", follows it",
                        v.text
                    ),
                ));
            }
            Ok(v)
        };
        // iptables takes matches after the target too (`-j ACCEPT -m mark
        // --mark 1`): an option the target does not know but a match does
        // is the match's.
        let matches_side = || {
            matches!(
                base,
                Some(
                    BaseOpt::Match
                        | BaseOpt::Proto
                        | BaseOpt::Src
                        | BaseOpt::Dst
                        | BaseOpt::InIface
                        | BaseOpt::OutIface
                )
            ) || b.modules.iter().any(|m| among(opt, module_options(m.name)))
                || b.proto
                    .and_then(proto_module)
                    .is_some_and(|p| among(opt, module_options(p)))
        };
        let target_side = b
            .target
            .as_ref()
            .is_some_and(|(t, _, _)| among(opt, target_options(t)) || !matches_side());
        if let Some((tname, _, _)) = b.target.as_ref().filter(|_| target_side) {
            if matches!(base, Some(BaseOpt::Jump | BaseOpt::Goto)) {
                return Err(b.err(w.start, "a rule has only one target"));
            }
            // The target's options, and what nothing else takes.
            let known = target_options(tname);
            if among(tname, OTHER_TARGETS) {
                let at = b.target.as_ref().map_or(w.start, |t| t.1);
                return Err(b.err(at, target_not_modelled(tname)));
            }
            if *tname == "CT" && opt.starts_with("--") && opt != "--notrack" {
                return Err(b.err(
                    w.start,
                    format!("CT {opt} is not modelled by Packet Walk: only CT --notrack is (the connection is not tracked)"),
                ));
            }
            if !among(opt, known) {
                let msg = if opt.starts_with('-') {
                    format!("unknown option {opt} for target {tname}")
                } else {
                    format!("unexpected word \"{opt}\" after the target (a comment with spaces must be quoted)")
                };
                let mut e = b.err(w.start, msg);
                if !known.is_empty() {
                    e = e.expected(known.join(", "));
                }
                return Err(e);
            }
            if negated {
                return Err(b.err(start, format!("{opt} cannot be negated")));
            }
            if b.target_opts.iter().any(|(o, _, _)| *o == opt) {
                return Err(b.err(
                    w.start,
                    format!("{tname}: option \"{opt}\" can only be used once (iptables' words)"),
                ));
            }
            if is_flag(opt) {
                b.target_opts.push((opt, None, w.start));
                i += 1;
            } else {
                let v = value(i + 1)?;
                b.target_opts.push((opt, Some(v.text.as_ref()), v.start));
                i += 2;
            }
            continue;
        }
        match base {
            Some(BaseOpt::Src | BaseOpt::Dst) => {
                let v = value(i + 1)?;
                if v.text.contains(',') {
                    return Err(b.err(
                        v.start,
                        format!(
                            "address lists (\"{}\") expand to several rules; write one rule per address",
                            v.text
                        ),
                    ));
                }
                let net = parse_net(&v.text).map_err(|m| b.err(v.start, m))?;
                // The kernel refuses a negated match of every address.
                if negated && net.prefix_len() == 0 {
                    return Err(b.err(v.start, format!("! {opt} {} would match no address: the kernel refuses the rule (RULE_APPEND failed: Invalid argument)", v.text)));
                }
                let kind = if base == Some(BaseOpt::Src) {
                    MatchKind::Src(net)
                } else {
                    MatchKind::Dst(net)
                };
                let span = b.span(start, v.end);
                b.base.push(Match {
                    negated,
                    kind,
                    span,
                });
                i += 2;
            }
            Some(BaseOpt::Proto) => {
                let v = value(i + 1)?;
                i += 2;
                if v.text == "all" || v.text == "0" || v.text == "ip" {
                    if negated {
                        return Err(b.err(v.start, "rule would never match protocol (! -p all)"));
                    }
                    continue;
                }
                let p = Proto::parse(&v.text).ok_or_else(|| {
                    b.err(v.start, format!("unknown protocol \"{}\"", v.text))
                        .expected("tcp, udp, icmp, all or a protocol number")
                })?;
                if !negated {
                    b.proto = Some(p);
                }
                b.proto_written = Some(p);
                let span = b.span(start, v.end);
                b.base.push(Match {
                    negated,
                    kind: MatchKind::Proto(p),
                    span,
                });
            }
            Some(BaseOpt::InIface | BaseOpt::OutIface) => {
                let v = value(i + 1)?;
                if v.text.len() > 15 {
                    return Err(b.err(
                        v.start,
                        format!(
                            "interface name `{}' must be shorter than IFNAMSIZ (15)",
                            v.text
                        ),
                    ));
                }
                let m = IfaceMatch::parse(&v.text);
                let kind = if base == Some(BaseOpt::InIface) {
                    MatchKind::InIface(m)
                } else {
                    MatchKind::OutIface(m)
                };
                let span = b.span(start, v.end);
                b.base.push(Match {
                    negated,
                    kind,
                    span,
                });
                i += 2;
            }
            Some(BaseOpt::Fragment) => {
                let span = b.span(start, w.end);
                b.base.push(Match {
                    negated,
                    kind: MatchKind::Fragment,
                    span,
                });
                i += 1;
            }
            Some(BaseOpt::Match) => {
                let v = value(i + 1)?;
                if negated {
                    return Err(b.err(start, "-m cannot be negated"));
                }
                if !among(&v.text, MODULES) {
                    let what = if OTHER_MODULES.contains(&v.text.as_ref()) {
                        format!("match \"{}\" is an iptables module (iptables-extensions(8)) that Packet Walk does not model (yet): take the rule out to trace the rest", v.text)
                    } else {
                        format!("unknown match \"{}\"", v.text)
                    };
                    return Err(b.err(v.start, what).expected(MODULES.join(", ")));
                }
                b.modules.push(Module {
                    name: v.text.as_ref(),
                    at: v.start,
                    opts: SmallVec::new(),
                });
                i += 2;
            }
            Some(BaseOpt::Jump | BaseOpt::Goto) => {
                let v = value(i + 1)?;
                if negated {
                    return Err(b.err(start, format!("{opt} cannot be negated")));
                }
                if b.target.is_some() {
                    return Err(b.err(w.start, "a rule has only one target"));
                }
                b.goto = base == Some(BaseOpt::Goto);
                b.target = Some((v.text.as_ref(), v.start, v.end));
                i += 2;
            }
            Some(BaseOpt::Counters) => {
                let p = value(i + 1)?;
                let by = value(i + 2)?;
                let packets = p
                    .text
                    .parse()
                    .map_err(|_| b.err(p.start, "counter is not a number"))?;
                let bytes = by
                    .text
                    .parse()
                    .map_err(|_| b.err(by.start, "counter is not a number"))?;
                b.counters = Some(Counters { packets, bytes });
                i += 3;
            }
            _ if opt.starts_with('-') && opt.len() > 1 => {
                // An option of a loaded match: the latest module that knows it,
                // else the protocol's module, loaded implicitly by -p.
                let owner = b
                    .modules
                    .iter()
                    .rposition(|m| among(opt, module_options(m.name)));
                let owner = match owner {
                    Some(o) => o,
                    None => {
                        let implicit = b.proto.and_then(proto_module);
                        match implicit {
                            Some(p) if among(opt, module_options(p)) => {
                                b.modules.push(Module {
                                    name: p,
                                    at: w.start,
                                    opts: SmallVec::new(),
                                });
                                b.modules.len() - 1
                            }
                            // TCP options are not in the model's segments.
                            _ if opt == "--tcp-option" && implicit == Some("tcp") => {
                                return Err(b.err(
                                    w.start,
                                    not_modelled(
                                        "-m tcp --tcp-option (a test of the segment's TCP options)",
                                    ),
                                ));
                            }
                            _ => {
                                let mut known: Vec<&str> = b
                                    .modules
                                    .iter()
                                    .flat_map(|m| module_options(m.name).iter().copied())
                                    .collect();
                                if let Some(p) = implicit {
                                    known.extend(module_options(p));
                                }
                                // `-p tcp -m tcp` loads one match, not two.
                                let mut seen = Vec::with_capacity(known.len());
                                known.retain(|o| {
                                    let new = !seen.contains(o);
                                    seen.push(*o);
                                    new
                                });
                                let meant = known
                                    .iter()
                                    .find(|k| crate::engine::lex::edit_distance(k, opt) <= 2);
                                let msg = match meant {
                                    _ if known.is_empty() => format!(
                                        "unknown option {opt} (is a -m match missing before it?)"
                                    ),
                                    Some(k) => format!(
                                        "unknown option {opt} for the loaded matches: did you mean {k}?"
                                    ),
                                    None => format!("unknown option {opt} for the loaded matches"),
                                };
                                let mut e = b.err(w.start, msg);
                                if !known.is_empty() {
                                    e = e.expected(known.join(", "));
                                }
                                return Err(e);
                            }
                        }
                    }
                };
                let n = arity(b.modules[owner].name, opt);
                let mut values = [""; 2];
                let mut end = w.end;
                let mut at = w.start;
                for (k, slot) in values.iter_mut().enumerate().take(n) {
                    let v = value(i + 1 + k)?;
                    if k == 0 {
                        at = v.start;
                    }
                    *slot = v.text.as_ref();
                    end = v.end;
                }
                // iptables takes each option of a match once.
                let same = |o: &str| {
                    let slot = |o| match super::canonical::alias(o) {
                        "--syn" => "--tcp-flags",
                        o => o,
                    };
                    slot(o) == slot(opt)
                };
                let module = b.modules[owner].name;
                if b.modules[owner].opts.iter().any(|o| same(o.name)) {
                    let long = match super::canonical::alias(opt) {
                        "--sport" => "--source-port",
                        "--dport" => "--destination-port",
                        "--sports" => "--source-ports",
                        "--dports" => "--destination-ports",
                        o => o,
                    };
                    let msg = match (module, opt) {
                        ("tcp", "--syn" | "--tcp-flags") => {
                            "Only one of `--syn' or `--tcp-flags' allowed (iptables' words): write one, or a second -m tcp".to_string()
                        }
                        ("tcp" | "udp" | "sctp", _) => format!(
                            "Only one `{long}' allowed (iptables' words): write two rules, or a second -m {module}"
                        ),
                        _ => format!(
                            "{module}: option \"{long}\" can only be used once (iptables' words)"
                        ),
                    };
                    return Err(b.err(w.start, msg));
                }
                let span = b.span(start, end);
                b.modules[owner].opts.push(Opt {
                    name: opt,
                    negated,
                    values,
                    at,
                    span,
                });
                i += 1 + n;
            }
            _ => {
                return Err(b.err(
                    w.start,
                    format!("unexpected word \"{opt}\" (a comment with spaces must be quoted)"),
                ))
            }
        }
    }
    if let Some(at) = negate {
        return Err(b.err(at, "\"!\" at the end of the rule negates nothing"));
    }
    let mut matches =
        Vec::with_capacity(b.base.len() + b.modules.iter().map(|m| m.opts.len()).sum::<usize>());
    matches.extend(b.base.drain(..));
    for m in &b.modules {
        b.module_matches(m, &mut matches)?;
    }
    let target = b.build_target()?;
    Ok(Rule {
        args,
        counters: b.counters,
        line: line_no,
        matches,
        target,
    })
}

impl Builder<'_, '_> {
    /// Where a match that may have no option stands in the rule's text:
    /// from its `-m` to its last option.
    fn module_span(&self, m: &Module<'_>) -> (u32, u32) {
        let from = (self.line[..m.at].trim_end())
            .rfind(char::is_whitespace)
            .map_or(0, |k| k + 1);
        let named = self.span(from, m.at + m.name.len());
        let last = m.opts.last().map_or(0, |o| o.span.1);
        (named.0, last.max(named.1))
    }

    /// Turns one loaded module and its options into matches.
    fn module_matches(&self, m: &Module<'_>, out: &mut Vec<Match>) -> Result<(), ParseError> {
        let e = |o: &Opt, msg: String| self.err(o.at, msg);
        // A module whose options take no `!`: `why` with `{}` for the option.
        let refuse_negation = |m: &Module, why: &str| match m.opts.iter().find(|o| o.negated) {
            Some(o) => Err(e(o, why.replace("{}", o.name))),
            None => Ok(()),
        };
        let whole = |m: &Module| -> (u32, u32) {
            let s = m.opts.first().map(|o| o.span.0).unwrap_or(0);
            let e = m.opts.last().map(|o| o.span.1).unwrap_or(0);
            (s, e)
        };
        if (m.name == "tcp" || m.name == "udp" || m.name == "sctp")
            && self.proto.and_then(proto_module) != Some(m.name)
        {
            return Err(self.err(m.at, format!("-m {} needs -p {} before it", m.name, m.name)));
        }
        if m.name == "icmp" && self.proto != Some(Proto::Icmp) {
            return Err(self.err(m.at, "-m icmp needs -p icmp before it"));
        }
        match m.name {
            "tcp" | "udp" | "sctp" | "icmp" | "multiport" | "comment" | "mark" | "conntrack"
            | "state" | "nfacct" => {
                let port_names = match m.name {
                    "tcp" => Names::Of("TCP", TCP),
                    "sctp" => Names::Of("SCTP", SCTP),
                    _ => Names::Any,
                };
                let with_state =
                    m.name == "conntrack" && m.opts.iter().any(|o| o.name == "--ctstate");
                for o in &m.opts {
                    let v = o.values[0];
                    let kind = match o.name {
                        "--sport" | "--source-port" => {
                            let (lo, hi) = parse_port_range(v, port_names).map_err(|x| e(o, x))?;
                            MatchKind::Sport(lo, hi)
                        }
                        "--dport" | "--destination-port" => {
                            let (lo, hi) = parse_port_range(v, port_names).map_err(|x| e(o, x))?;
                            MatchKind::Dport(lo, hi)
                        }
                        "--syn" => MatchKind::TcpFlags {
                            mask: 0x17,
                            comp: 0x02,
                        },
                        "--tcp-flags" => {
                            let list = |v: &str| {
                                TcpFlags::parse_iptables_list(v).ok_or_else(|| {
                                    e(o, format!("bad TCP flag list \"{v}\" (iptables knows FIN, SYN, RST, PSH, ACK, URG, ALL and NONE)"))
                                })
                            };
                            let (mask, comp) = (list(o.values[0])?, list(o.values[1])?);
                            MatchKind::TcpFlags { mask, comp }
                        }
                        "--icmp-type" => {
                            let (t, c) = parse_icmp_type(v).map_err(|x| e(o, x))?;
                            MatchKind::IcmpType {
                                icmp_type: t,
                                code: c,
                            }
                        }
                        "--sports"
                        | "--source-ports"
                        | "--dports"
                        | "--destination-ports"
                        | "--ports" => {
                            let dir = match o.name {
                                "--sports" | "--source-ports" => Dir::Src,
                                "--dports" | "--destination-ports" => Dir::Dst,
                                _ => Dir::Either,
                            };
                            // One of the three per match (iptables names them long).
                            let long = |n: &str| match n {
                                "--sports" | "--source-ports" => "--source-ports",
                                "--dports" | "--destination-ports" => "--destination-ports",
                                _ => "--ports",
                            };
                            let given: Vec<&str> = (m.opts.iter())
                                .map(|x| x.name)
                                .filter(|n| {
                                    matches!(
                                        *n,
                                        "--sports"
                                            | "--source-ports"
                                            | "--dports"
                                            | "--destination-ports"
                                            | "--ports"
                                    )
                                })
                                .collect();
                            if let [first, second, ..] = given[..] {
                                return Err(e(o, format!("multiport: option \"{}\" cannot be used together with \"{}\"", long(second), long(first))));
                            }
                            let mut ports = Vec::new();
                            for p in v.split(',') {
                                // multiport's parser wants both ends of a range.
                                if p.starts_with(':') || p.ends_with(':') {
                                    return Err(e(o, format!("invalid port/service `' specified: \"{p}\" (multiport wants both ends of a range, as in 80:90)")));
                                }
                                let range = parse_port_range(p, Names::of_proto(self.proto))
                                    .map_err(|x| e(o, x))?;
                                // multiport's own parser wants a range's ends apart.
                                if p.contains(':') && range.0 == range.1 {
                                    return Err(e(o, format!("invalid portrange specified: \"{p}\" (write the port alone)")));
                                }
                                ports.push(range);
                            }
                            // A range takes two of the 15 slots.
                            let slots: usize = ports
                                .iter()
                                .map(|(lo, hi)| if lo == hi { 1 } else { 2 })
                                .sum();
                            if slots > 15 {
                                return Err(e(
                                    o,
                                    "multiport takes at most 15 ports (a range counts as two)"
                                        .into(),
                                ));
                            }
                            // tcp, udp, sctp, udplite, dccp.
                            if !matches!(
                                self.proto,
                                Some(Proto::Tcp | Proto::Udp | Proto::Other(132 | 136 | 33))
                            ) {
                                return Err(self.err(
                                    m.at,
                                    "-m multiport needs -p tcp, udp, sctp, udplite or dccp",
                                ));
                            }
                            MatchKind::Multiport { dir, ports }
                        }
                        "--comment" => {
                            if o.negated {
                                return Err(e(o, "a comment cannot be negated".into()));
                            }
                            if v.len() > 256 {
                                return Err(e(o, "a comment is at most 256 characters".into()));
                            }
                            MatchKind::Comment
                        }
                        "--mark" => {
                            let (value, mask) =
                                parse_value_mask(v, u32::MAX).map_err(|x| e(o, x))?;
                            MatchKind::Mark { value, mask }
                        }
                        "--ctstate" | "--state" => {
                            // -m state knows no SNAT or DNAT (iptables: Bad state "SNAT").
                            let names = if o.name == "--state" {
                                &ctstate::NAMES[..5]
                            } else {
                                &ctstate::NAMES[..]
                            };
                            let mut bits = 0u8;
                            for s in v.split(',') {
                                bits |= by_prefix(names, s).ok_or_else(|| {
                                    let all: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                                    e(
                                        o,
                                        format!(
                                            "Bad state \"{s}\": not a connection state of -m {}",
                                            m.name
                                        ),
                                    )
                                    .expected(all.join(", "))
                                })?;
                            }
                            MatchKind::CtState(bits)
                        }
                        "--ctproto" => {
                            let p = if v == "all" {
                                Some(0)
                            } else {
                                Proto::parse(v).map(Proto::number)
                            };
                            let p = p.ok_or_else(|| e(o, format!("unknown protocol \"{v}\"")))?;
                            MatchKind::Ct {
                                test: CtTest::Proto(p),
                                with_state,
                            }
                        }
                        "--ctdir" => {
                            if o.negated {
                                return Err(e(o, "conntrack: option \"--ctdir\" cannot be inverted (iptables' words)".into()));
                            }
                            let reply = match v.to_ascii_uppercase().as_str() {
                                "ORIGINAL" => false,
                                "REPLY" => true,
                                _ => {
                                    return Err(e(
                                        o,
                                        format!("--ctdir takes ORIGINAL or REPLY, not \"{v}\""),
                                    ))
                                }
                            };
                            MatchKind::Ct {
                                test: CtTest::Reply(reply),
                                with_state,
                            }
                        }
                        "--ctstatus" => {
                            let mut bits = 0u8;
                            for s in v.split(',') {
                                bits |= by_prefix(&ctstatus::NAMES, s).ok_or_else(|| {
                                    let all: Vec<&str> =
                                        ctstatus::NAMES.iter().map(|(n, _)| *n).collect();
                                    e(o, format!("Bad ctstatus \"{s}\"")).expected(all.join(", "))
                                })?;
                            }
                            MatchKind::Ct {
                                test: CtTest::Status(bits),
                                with_state,
                            }
                        }
                        "--ctexpire" => {
                            let (lo, hi) =
                                number_range(v, "a time in seconds (--ctexpire min[:max])")
                                    .map_err(|x| e(o, x))?;
                            MatchKind::Ct {
                                test: CtTest::Expire(lo, hi),
                                with_state,
                            }
                        }
                        name => match CtSide::of(name) {
                            Some((tuple, false)) => {
                                let net = parse_net(v).map_err(|x| e(o, x))?;
                                MatchKind::Ct {
                                    test: CtTest::Addr { tuple, net },
                                    with_state,
                                }
                            }
                            Some((tuple, true)) => {
                                // (A reversed range is taken, and never matches.)
                                let (lo, hi) =
                                    number_range(v, "a port or a port range (port[:port])")
                                        .map_err(|x| e(o, x))?;
                                MatchKind::Ct {
                                    test: CtTest::Port { tuple, lo, hi },
                                    with_state,
                                }
                            }
                            None if name == "--nfacct-name" => MatchKind::Nfacct,
                            None => return Err(e(o, format!("option {name} is not supported"))),
                        },
                    };
                    out.push(Match {
                        negated: o.negated,
                        kind,
                        span: o.span,
                    });
                }
                if m.opts.is_empty() {
                    match m.name {
                        "comment" => return Err(self.err(m.at, "-m comment needs --comment")),
                        "conntrack" => {
                            return Err(self.err(m.at, "conntrack: At least one option is required"))
                        }
                        "state" => {
                            return Err(
                                self.err(m.at, "state: option \"--state\" must be specified")
                            )
                        }
                        _ => {}
                    }
                }
            }
            "statistic" => {
                let get = |n: &str| m.opts.iter().find(|o| o.name == n);
                let negated = m.opts.iter().any(|o| o.negated);
                let mode = get("--mode")
                    .ok_or_else(|| self.err(m.at, "statistic needs --mode random or --mode nth"))?;
                let kind = match mode.values[0] {
                    "random" => {
                        let o = get("--probability").ok_or_else(|| {
                            self.err(m.at, "statistic --mode random needs --probability")
                        })?;
                        if let Some(every) = get("--every") {
                            return Err(e(every, "statistic: option \"--probability\" cannot be used together with \"--every\"".into()));
                        }
                        let p = crate::engine::decimal::parse(o.values[0]).ok_or_else(|| {
                            e(o, format!("\"{}\" is not a probability", o.values[0]))
                        })?;
                        if !(0.0..=1.0).contains(&p) {
                            return Err(e(
                                o,
                                format!("probability {} is not between 0 and 1", o.values[0]),
                            ));
                        }
                        MatchKind::Random {
                            probability: p,
                            threshold: (p * 2147483648.0).round() as u32,
                        }
                    }
                    "nth" => {
                        let o = get("--every")
                            .ok_or_else(|| self.err(m.at, "statistic --mode nth needs --every"))?;
                        let every = parse_u32(o.values[0]).map_err(|x| e(o, x))?;
                        let packet = match get("--packet") {
                            Some(p) => parse_u32(p.values[0]).map_err(|x| e(p, x))?,
                            None => 0,
                        };
                        if every == 0 || packet >= every {
                            return Err(e(
                                o,
                                "--packet must be smaller than --every, and --every at least 1"
                                    .into(),
                            ));
                        }
                        MatchKind::Nth { every, packet }
                    }
                    other => {
                        return Err(e(mode, format!("unknown statistic mode \"{other}\""))
                            .expected("random or nth"))
                    }
                };
                out.push(Match {
                    negated,
                    kind,
                    span: whole(m),
                });
            }
            "recent" => {
                let mut r = Recent {
                    name: "DEFAULT".into(),
                    cmd: RecentCmd::Rcheck,
                    seconds: None,
                    hitcount: None,
                    reap: false,
                    rdest: false,
                    mask: Ipv4Addr::BROADCAST,
                };
                let mut cmds = 0;
                let mut negated = false;
                for o in &m.opts {
                    negated |= o.negated;
                    let v = o.values[0];
                    match o.name {
                        "--name" => r.name = v.to_string(),
                        "--set" | "--rcheck" | "--update" | "--remove" => {
                            cmds += 1;
                            r.cmd = match o.name {
                                "--set" => RecentCmd::Set,
                                "--rcheck" => RecentCmd::Rcheck,
                                "--update" => RecentCmd::Update,
                                _ => RecentCmd::Remove,
                            }
                        }
                        "--seconds" => r.seconds = Some(parse_u32(v).map_err(|x| e(o, x))?),
                        "--hitcount" => r.hitcount = Some(parse_u32(v).map_err(|x| e(o, x))?),
                        "--reap" => r.reap = true,
                        "--rdest" => r.rdest = true,
                        "--rsource" => r.rdest = false,
                        "--mask" => {
                            r.mask = v
                                .parse()
                                .map_err(|_| e(o, format!("\"{v}\" is not a netmask")))?
                        }
                        _ => {}
                    }
                }
                if r.reap && r.seconds.is_none() {
                    return Err(self.err(m.at, "recent --reap needs --seconds"));
                }
                if r.hitcount.is_some_and(|h| h > 65535) {
                    return Err(self.err(m.at, "recent --hitcount is at most 65535 (the kernel keeps at most 65536 timestamps per address; RULE_APPEND failed: Invalid argument)"));
                }
                if cmds != 1 {
                    return Err(self.err(
                        m.at,
                        "recent needs exactly one of --set, --rcheck, --update, --remove",
                    ));
                }
                // The kernel refuses a time window or a count on --set
                // and --remove (RULE_APPEND failed: Invalid argument).
                if matches!(r.cmd, RecentCmd::Set | RecentCmd::Remove)
                    && (r.seconds.is_some() || r.hitcount.is_some())
                {
                    return Err(self.err(
                        m.at,
                        "recent --seconds and --hitcount go with --rcheck or --update, not --set or --remove (the kernel refuses the rule: Invalid argument)",
                    ));
                }
                out.push(Match {
                    negated,
                    kind: MatchKind::Recent(Box::new(r)),
                    span: whole(m),
                });
            }
            "addrtype" => {
                let lin = m.opts.iter().any(|o| o.name == "--limit-iface-in");
                let lout = m.opts.iter().any(|o| o.name == "--limit-iface-out");
                if lin && lout {
                    return Err(self.err(
                        m.at,
                        "--limit-iface-in and --limit-iface-out exclude each other",
                    ));
                }
                let mut any = false;
                for o in m.opts.iter().filter(|o| o.name.ends_with("-type")) {
                    any = true;
                    let mut types = 0u16;
                    for t in o.values[0].split(',') {
                        types |= by_prefix(&addrtype::NAMES, t).ok_or_else(|| {
                            e(o, format!("unknown address type \"{t}\"")).expected(
                                addrtype::NAMES
                                    .iter()
                                    .map(|(n, _)| *n)
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            )
                        })?;
                    }
                    out.push(Match {
                        negated: o.negated,
                        kind: MatchKind::AddrType {
                            dir: if o.name == "--src-type" {
                                Dir::Src
                            } else {
                                Dir::Dst
                            },
                            types,
                            limit_iface_in: lin,
                            limit_iface_out: lout,
                        },
                        span: whole(m),
                    });
                }
                if !any {
                    return Err(self.err(m.at, "addrtype needs --src-type or --dst-type"));
                }
            }
            "connmark" => {
                let Some(o) = m.opts.iter().find(|o| o.name == "--mark") else {
                    return Err(self.err(m.at, "connmark needs --mark VALUE[/MASK]"));
                };
                let (value, mask) = parse_value_mask(o.values[0], u32::MAX).map_err(|x| e(o, x))?;
                out.push(Match {
                    negated: o.negated,
                    kind: MatchKind::ConnMark { value, mask },
                    span: whole(m),
                });
            }
            "limit" => {
                refuse_negation(
                    m,
                    "limit: option \"{}\" cannot be inverted (iptables' words)",
                )?;
                let avg = match m.opts.iter().find(|o| o.name == "--limit") {
                    Some(o) => limit_rate(o.values[0]).map_err(|x| e(o, x))?,
                    None => LIMIT_SCALE * 3600 / 3,
                };
                let burst = match m.opts.iter().find(|o| o.name == "--limit-burst") {
                    Some(o) => o.values[0]
                        .parse::<u32>()
                        .ok()
                        .filter(|b| (1..=10_000).contains(b))
                        .ok_or_else(|| {
                            e(
                                o,
                                format!(
                                    "bad --limit-burst \"{}\": a number from 1 to 10000",
                                    o.values[0]
                                ),
                            )
                        })?,
                    None => 5,
                };

                out.push(Match {
                    negated: false,
                    kind: MatchKind::Limit { avg, burst },
                    span: self.module_span(m),
                });
            }
            "physdev" => {
                if m.opts.is_empty() {
                    return Err(self.err(m.at, "PHYSDEV: no physdev option specified (iptables' words): give --physdev-in, --physdev-out, --physdev-is-in, --physdev-is-out or --physdev-is-bridged"));
                }
                for o in &m.opts {
                    let name = |o: &Opt<'_>| -> Result<IfaceMatch, ParseError> {
                        let v = o.values[0];
                        if v.len() > 15 {
                            return Err(e(
                                o,
                                format!("interface name `{v}' must be shorter than IFNAMSIZ (15)"),
                            ));
                        }
                        Ok(IfaceMatch::parse(v))
                    };
                    let test = match o.name {
                        "--physdev-in" => Physdev::In(name(o)?),
                        "--physdev-out" => Physdev::Out(name(o)?),
                        "--physdev-is-in" => Physdev::IsIn,
                        "--physdev-is-out" => Physdev::IsOut,
                        _ => Physdev::IsBridged,
                    };
                    out.push(Match {
                        negated: o.negated,
                        kind: MatchKind::Physdev(test),
                        span: whole(m),
                    });
                }
            }
            "owner" => {
                let has = |n: &str| m.opts.iter().any(|o| o.name == n);
                if has("--suppl-groups") && !has("--gid-owner") {
                    return Err(self.err(m.at, "owner: --suppl-groups needs --gid-owner (iptables: \"you need to use --gid-owner first\")"));
                }
                if !has("--uid-owner") && !has("--gid-owner") && !has("--socket-exists") {
                    return Err(self.err(m.at, "owner: at least one of --uid-owner, --gid-owner or --socket-exists is required (iptables' words)"));
                }
                for o in &m.opts {
                    let test = match o.name {
                        "--uid-owner" => {
                            let (lo, hi) =
                                owner_ids(o.values[0], "user").map_err(|why| e(o, why))?;
                            Owner::Uid(lo, hi)
                        }
                        "--gid-owner" => {
                            let (lo, hi) =
                                owner_ids(o.values[0], "group").map_err(|why| e(o, why))?;
                            Owner::Gid(lo, hi)
                        }
                        "--socket-exists" => Owner::SocketExists,
                        _ => continue,
                    };
                    out.push(Match {
                        negated: o.negated,
                        kind: MatchKind::Owner(test),
                        span: whole(m),
                    });
                }
            }
            "rpfilter" => {
                refuse_negation(
                    m,
                    "{} cannot be negated (rpfilter's --invert turns the match round)",
                )?;
                let has = |n: &str| m.opts.iter().any(|o| o.name == n);
                out.push(Match {
                    negated: has("--invert"),
                    kind: MatchKind::Rpfilter {
                        loose: has("--loose"),
                        validmark: has("--validmark"),
                        accept_local: has("--accept-local"),
                    },
                    span: self.module_span(m),
                });
            }
            "set" => {
                let Some(o) = m
                    .opts
                    .iter()
                    .find(|o| o.name == "--match-set" || o.name == "--set")
                else {
                    return Err(self.err(m.at, "-m set needs --match-set NAME src|dst[,src|dst…]"));
                };
                // Where the directions stand: after the set's name.
                let dirs_at = self.line[o.at..]
                    .find(o.values[1])
                    .map_or(o.at, |k| o.at + k);
                let dirs = (o.values[1].split(','))
                    .map(|d| match d {
                        "src" => Ok(true),
                        "dst" => Ok(false),
                        _ => Err(self.err(dirs_at, format!("\"{}\": each direction is src or dst, up to 6, joined by commas (--match-set {} src,dst)", o.values[1], o.values[0]))),
                    })
                    .collect::<Result<Vec<bool>, _>>()?;
                if dirs.len() > 6 {
                    return Err(self.err(o.at, "--match-set takes at most 6 directions"));
                }
                let mut return_nomatch = false;
                for x in &m.opts {
                    match x.name {
                        "--match-set" | "--set" => {}
                        "--return-nomatch" => return_nomatch = true,
                        // Whether the set's own counters count: the path
                        // is the same.
                        "--update-counters" | "--update-subcounters" if x.negated => {}
                        "--update-counters" | "--update-subcounters" => {
                            return Err(e(
                                x,
                                format!(
                                    "{} is the default: iptables takes it only as ! {}",
                                    x.name, x.name
                                ),
                            ))
                        }
                        other => {
                            let at = self.args_offset + x.span.0 as usize;
                            return Err(self.err(
                                at,
                                not_modelled(&format!(
                                    "-m set {other} (a test of the set entry's counters)"
                                )),
                            ));
                        }
                    }
                }
                out.push(Match {
                    negated: o.negated,
                    kind: MatchKind::Set(Box::new(SetMatch {
                        name: o.values[0].to_string(),
                        dirs,
                        return_nomatch,
                    })),
                    span: whole(m),
                });
            }
            _ => return Err(self.err(m.at, format!("match {} is not supported", m.name))),
        }
        Ok(())
    }

    /// NAT to a port needs a protocol with ports (or ICMP, whose id is
    /// mapped like one), as iptables checks: the `-p` written, even negated.
    fn ported(&self, r: &NatRange, pos: usize, option: &str) -> Result<(), ParseError> {
        let with_ports = matches!(
            self.proto_written,
            Some(Proto::Tcp | Proto::Udp | Proto::Icmp | Proto::Other(132 | 33))
        );
        if r.ports.is_some() && !with_ports {
            return Err(self.err(
                pos,
                format!("Need TCP, UDP, SCTP or DCCP with port specification: a port in {option} needs -p tcp, -p udp, -p sctp or -p dccp"),
            ));
        }
        Ok(())
    }

    fn build_target(&self) -> Result<Target, ParseError> {
        let Some((name, at, end)) = &self.target else {
            return Ok(Target::None);
        };
        let (at, end) = (*at, *end);
        let opt = |o: &str| self.target_opts.iter().find(|(k, _, _)| *k == o);
        let has = |o: &str| opt(o).is_some();
        let val = |o: &str| opt(o).and_then(|(_, v, pos)| v.map(|v| (v, *pos)));
        // MASQUERADE's and REDIRECT's `--to-ports`.
        let to_ports = || -> Result<Option<(u16, u16)>, ParseError> {
            let Some((v, pos)) = val("--to-ports") else {
                return Ok(None);
            };
            let r = parse_nat_range(&format!(":{v}")).map_err(|m| self.err(pos, m))?;
            self.ported(&r, pos, "--to-ports")?;
            Ok(r.ports)
        };
        let t = match *name {
            "ACCEPT" => Target::Accept,
            "DROP" => Target::Drop,
            "RETURN" => Target::Return,
            "REJECT" => Target::Reject(match val("--reject-with") {
                Some((v, pos)) => {
                    let r = parse_reject_with(v).map_err(|m| self.err(pos, m))?;
                    if r == RejectWith::TcpReset && self.proto != Some(Proto::Tcp) {
                        return Err(self.err(pos, "--reject-with tcp-reset needs -p tcp"));
                    }
                    r
                }
                None => RejectWith::Icmp(crate::engine::packet::icmp::PORT_UNREACH),
            }),
            "DNAT" => {
                let (v, pos) = val("--to-destination")
                    .ok_or_else(|| self.err(at, "DNAT needs --to-destination"))?;
                let r = parse_nat_range(v).map_err(|m| self.err(pos, m))?;
                self.ported(&r, pos, "--to-destination")?;
                Target::Dnat(NatRange {
                    random: has("--random"),
                    persistent: has("--persistent"),
                    ..r
                })
            }
            "SNAT" => {
                let (v, pos) =
                    val("--to-source").ok_or_else(|| self.err(at, "SNAT needs --to-source"))?;
                let to = parse_nat_range(v).map_err(|m| self.err(pos, m))?;
                self.ported(&to, pos, "--to-source")?;
                Target::Snat {
                    to: NatRange {
                        random: has("--random"),
                        persistent: has("--persistent"),
                        ..to
                    },
                    random_fully: has("--random-fully"),
                }
            }
            "MASQUERADE" => Target::Masquerade {
                ports: to_ports()?,
                // --random too: both pick the port at random.
                random_fully: has("--random-fully") || has("--random"),
            },
            "REDIRECT" => Target::Redirect {
                ports: to_ports()?,
                random: has("--random"),
            },
            "NOTRACK" => Target::NoTrack { ct: false },
            "CT" => {
                if let Some((k, _, pos)) =
                    self.target_opts.iter().find(|(k, _, _)| *k != "--notrack")
                {
                    return Err(self.err(
                        *pos,
                        format!("CT {k} is not modelled by Packet Walk: only CT --notrack is (the connection is not tracked)"),
                    ));
                }
                if !has("--notrack") {
                    return Err(self.err(at, "CT is modelled here only as CT --notrack"));
                }
                Target::NoTrack { ct: true }
            }
            "MARK" => {
                let forms = [
                    "--set-xmark",
                    "--set-mark",
                    "--and-mark",
                    "--or-mark",
                    "--xor-mark",
                ];
                let given: Vec<_> = forms.iter().filter(|f| has(f)).collect();
                if given.len() != 1 {
                    return Err(self
                        .err(at, "MARK needs exactly one of its options")
                        .expected(forms.join(", ")));
                }
                let form = *given[0];
                let (v, pos) = val(form).expect("present");
                let (xor, mask) = mark_form(form, v).map_err(|m| self.err(pos, m))?;
                Target::Mark { xor, mask }
            }
            "CONNMARK" => {
                let mask_of = |o: &str| -> Result<Option<u32>, ParseError> {
                    val(o)
                        .map(|(v, pos)| parse_u32(v).map_err(|m| self.err(pos, m)))
                        .transpose()
                };
                let both = mask_of("--mask")?;
                let nfmask = mask_of("--nfmask")?.or(both).unwrap_or(u32::MAX);
                let ctmask = mask_of("--ctmask")?.or(both).unwrap_or(u32::MAX);
                let op = if has("--save-mark") {
                    ConnMarkOp::Save { nfmask, ctmask }
                } else if has("--restore-mark") {
                    ConnMarkOp::Restore { nfmask, ctmask }
                } else {
                    let set = [
                        "--set-xmark",
                        "--set-mark",
                        "--and-mark",
                        "--or-mark",
                        "--xor-mark",
                    ]
                    .iter()
                    .find_map(|o| val(o).map(|v| (*o, v)));
                    let Some((how, (v, pos))) = set else {
                        return Err(self.err(at, "CONNMARK needs one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark, --save-mark, --restore-mark"));
                    };
                    let (ctmark, ctmask) = mark_form(how, v).map_err(|m| self.err(pos, m))?;
                    ConnMarkOp::Set { ctmark, ctmask }
                };
                Target::ConnMark(op)
            }
            p if PASS_OVER.iter().any(|(n, _)| *n == p) => {
                let name = PASS_OVER
                    .iter()
                    .find(|(n, _)| *n == p)
                    .map_or("", |(n, _)| *n);
                if name == "TCPMSS" && self.proto != Some(Proto::Tcp) {
                    return Err(self.err(at, "TCPMSS is for TCP segments: it needs -p tcp (iptables' words: \"TCPMSS target: only valid for TCP\")"));
                }
                // libxt_TCPMSS's checks (measured with iptables 1.8.9).
                if name == "TCPMSS" {
                    match val("--set-mss") {
                        Some((v, pos))
                            if crate::engine::text::strtoul(v).is_none_or(|n| n > 65515) =>
                        {
                            return Err(self.err(pos, format!("--set-mss {v}: an MSS is a number from 0 to 65515 (iptables: \"out of range (0-65515)\")")));
                        }
                        None if !has("--clamp-mss-to-pmtu") => {
                            return Err(self.err(at, "TCPMSS needs --set-mss VALUE or --clamp-mss-to-pmtu (iptables: \"TCPMSS target: At least one parameter is required\")"));
                        }
                        _ => {}
                    }
                }
                Target::PassOver(name)
            }
            "LOG" => Target::Log {
                prefix: val("--log-prefix")
                    .map(|(v, _)| v.to_string())
                    .unwrap_or_default(),
                level: match val("--log-level") {
                    Some((v, pos)) => parse_log_level(v).map_err(|m| self.err(pos, m))?,
                    None => 4,
                },
            },
            other => {
                if other.is_empty() {
                    return Err(self.err(at, "empty target name"));
                }
                Target::Jump {
                    name: self.span(at, end),
                    chain: usize::MAX,
                    goto: self.goto,
                }
            }
        };
        if self.goto && !matches!(t, Target::Jump { .. }) {
            return Err(self.err(at, format!("-g needs a user chain, not {name}")));
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::{BaseOpt, Match, MatchKind};

    /// `BaseOpt::of` tells a short option by its letter, apart from the
    /// table of names: the two agree, and nothing else is taken.
    #[test]
    fn base_options_are_told_by_every_name() {
        for (o, names) in BaseOpt::ALL {
            for n in names {
                assert_eq!(BaseOpt::of(n), Some(o), "{n}");
            }
            assert_eq!(o.short(), names[0]);
        }
        for other in ["-x", "-", "--", "--sourcex", "s", "--dport", "-A"] {
            assert_eq!(BaseOpt::of(other), None, "{other}");
        }
    }

    /// The rates as iptables-save prints them back (measured with
    /// iptables 1.8.9; tests/data/canonical.txt has the rules), the
    /// default 3/hour among them.
    #[test]
    fn limit_rates_print_as_iptables_save_does() {
        let text = |r: &str| super::limit_text(super::limit_rate(r).unwrap());
        let rs = crate::engine::iptables::save::parse(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m limit\nCOMMIT\n",
        )
        .unwrap();
        let input = rs.tables[0]
            .chains
            .iter()
            .find(|c| c.name == "INPUT")
            .unwrap();
        let m = &input.rules[0].matches[0];
        assert_eq!(
            m.kind,
            MatchKind::Limit {
                avg: 12_000_000,
                burst: 5
            }
        );
        assert_eq!(super::limit_text(12_000_000), "3/hour");
        for (written, saved) in [
            ("3/min", "3/min"),
            ("30/minute", "30/min"),
            ("2/s", "2/sec"),
            ("7/m", "7/min"),
            ("100/hour", "100/hour"),
            ("1/day", "1/day"),
            ("1000/s", "1000/sec"),
        ] {
            assert_eq!(text(written), saved, "{written}");
        }
    }

    /// A 10k-service dump holds some 700,000 matches: a kind that grows
    /// (a new variant carrying a String and a Vec unboxed) costs the parse
    /// a tenth of its time, as `-m set`'s first form did. Large payloads
    /// go in a Box.
    #[test]
    fn matches_stay_small() {
        assert!(
            std::mem::size_of::<MatchKind>() <= 40,
            "{}",
            std::mem::size_of::<MatchKind>()
        );
        assert!(
            std::mem::size_of::<Match>() <= 56,
            "{}",
            std::mem::size_of::<Match>()
        );
    }
}
