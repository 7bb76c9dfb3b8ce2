//! IP sets, as `ipset save` prints them, for the `set` match
//! (`-m set --match-set NAME src,dst`).
//!
//! Calico's rules test sets of addresses (`cali40all-hosts-net`), and
//! kube-proxy's IPVS mode sets of addresses and ports. `iptables-save`
//! prints only the sets' names, so a node's dump needs `ipset save` before
//! it (`ipset save; iptables-save`): its `create` and `add` lines are read
//! here, kept to be printed back as they were, and looked up when a rule
//! tests a packet against a set.
//!
//! A set is a list of entries of one to three parts (address or network,
//! protocol and port, address or network again), tested in the directions
//! the rule names. As the kernel's hash types do, the most specific entry
//! that holds the packet decides: a `nomatch` entry takes the packet out
//! of the set (with `--return-nomatch`, only a nomatch entry matches).
//! Checked against ipset 7.17 and iptables 1.8.9 on Linux 6.18 in network
//! namespaces (the cases in `tests/netfilter.rs`).

use crate::engine::error::ParseError;
use crate::engine::lex;
use crate::engine::packet::{Packet, Transport};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// What one part of a set's entries holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    /// An address (`hash:ip`, `bitmap:ip`): entries may be written as a
    /// range or a network, which stand for each address in them.
    Ip,
    /// A network (`hash:net`): the most specific one decides.
    Net,
    /// A protocol and port (`tcp:80`; `bitmap:port` has no protocol).
    Port,
    /// A member set (`list:set`).
    Set,
}

/// One part of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Addresses `lo..=hi`, written with `prefix` bits (32 for one address
    /// or a range; the network's length for a network).
    Addr {
        lo: u32,
        hi: u32,
        prefix: u8,
    },
    /// Ports `lo..=hi` of protocol `proto` (None: TCP or UDP, as
    /// `bitmap:port` takes them); ICMP's type and code are
    /// `type << 8 | code`.
    Port {
        proto: Option<u8>,
        lo: u16,
        hi: u16,
    },
    Set(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    pub parts: Vec<Part>,
    pub nomatch: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IpSet {
    pub name: String,
    /// As written: `hash:net`.
    pub kind: String,
    /// The parts of its entries; empty for a type Packet Walk does not
    /// model (`hash:mac`, say), which a rule then may not test.
    pub dims: Vec<Dim>,
    /// `family inet6`: iptables refuses to test it.
    pub ipv6: bool,
    /// A type of networks (`IPSET_TYPE_NOMATCH`): its entries may be
    /// `nomatch`, and `--return-nomatch` turns its answers round.
    pub nomatch: bool,
    pub entries: Vec<Entry>,
    /// Its `create` line.
    pub line: usize,
    /// The most entries it holds (`maxelem`, 65536 unless the create
    /// line says; ipset: "Hash is full, cannot add more elements").
    pub maxelem: usize,
    /// Where each entry is, by its parts, for `add -exist` to find one at
    /// once (made at the first such line).
    seen: Option<std::collections::HashMap<Vec<Part>, usize>>,
}

/// ipset's default `maxelem`.
const MAXELEM: usize = 65_536;
/// The largest `maxelem` taken (Calico's sets say 1048576): more would
/// be more than a browser tab holds.
const MAXELEM_CAP: usize = 1 << 20;

/// The sets of one namespace, with the lines they were read from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IpSets {
    pub sets: Vec<IpSet>,
    /// The `create`/`add` lines as written, printed back before table
    /// number `before_table` of the dump.
    pub lines: Vec<String>,
    pub before_table: usize,
}

/// The set types modelled, and their parts.
fn dims_of(kind: &str) -> Option<Vec<Dim>> {
    use Dim::*;
    Some(match kind {
        "hash:ip" | "bitmap:ip" => vec![Ip],
        "hash:net" => vec![Net],
        "hash:ip,port" => vec![Ip, Port],
        "hash:net,port" => vec![Net, Port],
        "hash:ip,port,ip" => vec![Ip, Port, Ip],
        "hash:ip,port,net" => vec![Ip, Port, Net],
        "hash:net,net" => vec![Net, Net],
        "hash:net,port,net" => vec![Net, Port, Net],
        "bitmap:port" => vec![Port],
        "list:set" => vec![Set],
        _ => return None,
    })
}

/// Set types ipset has and Packet Walk does not model (their sets are
/// read, and a rule may not test them).
const OTHER_TYPES: &[&str] = &[
    "hash:mac",
    "hash:ip,mac",
    "hash:net,iface",
    "hash:ip,mark",
    "bitmap:ip,mac",
];

impl IpSets {
    pub fn get(&self, name: &str) -> Option<&IpSet> {
        self.sets.iter().find(|s| s.name == name)
    }

    /// Why a rule may not test set `name` (None: it may), as iptables
    /// refuses the rule.
    pub fn problem(&self, name: &str) -> Option<String> {
        let Some(set) = self.get(name) else {
            return Some(format!(
                "there is no set {name} (iptables: Set {name} doesn't exist): iptables-save prints only a set's name, so put the node's ipset save output before the rules (ipset save; iptables-save), or the set's create and add lines"
            ));
        };
        if set.ipv6 {
            return Some(format!("set {name} is an IPv6 set (family inet6): iptables refuses it (The protocol family of set {name} is IPv6, which is not applicable)"));
        }
        if set.dims.is_empty() {
            return Some(super::rule::not_modelled(&format!(
                "set type {} (set {name})",
                set.kind
            )));
        }
        None
    }

    /// The rules of `rs` that test a set they may not, with why: (line,
    /// rule text, message).
    pub fn bad_rules<'r>(&self, rs: &'r super::Ruleset) -> Vec<(usize, &'r str, String)> {
        let mut out = Vec::new();
        for r in rs
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules)
        {
            for m in &r.matches {
                if let super::MatchKind::Set(s) = &m.kind {
                    if let Some(why) = self.problem(&s.name) {
                        out.push((r.line, r.match_text(m), why));
                    }
                }
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The sets as a learner reads them: each with its type and entries
    /// (the first `shown` of each), one a line.
    pub fn listing(&self, shown: usize) -> String {
        let mut out = String::new();
        for s in &self.sets {
            let what = if s.ipv6 {
                " (IPv6: not tested here)".to_string()
            } else if s.dims.is_empty() {
                " (a type Packet Walk does not model)".to_string()
            } else {
                String::new()
            };
            out.push_str(&format!(
                "{} {}: {}{what}\n",
                s.name,
                s.kind,
                entries_word(s.entries.len())
            ));
            for e in s.entries.iter().take(shown) {
                let nomatch = if e.nomatch { " nomatch" } else { "" };
                out.push_str(&format!("  {}{nomatch}\n", entry_text(e)));
            }
            if s.entries.len() > shown {
                out.push_str(&format!("  … and {} more\n", s.entries.len() - shown));
            }
        }
        out
    }

    /// Reads one `create` or `add` line (as `ipset save` prints it, or as
    /// `ipset restore` takes it), number `line_no`.
    pub fn read_line(&mut self, line: &str, line_no: usize) -> Result<(), ParseError> {
        self.lines.push(line.to_string());
        let mut words = lex::words(line)
            .map_err(|(at, m)| ParseError::new(line_no, lex::column(line, at), m.to_string()))?;
        // ipset's options may stand anywhere on a line (`create S -exist
        // hash:net`): -exist lets a set or an entry come again.
        let before = words.len();
        words.retain(|w| !matches!(w.text.as_ref(), "-exist" | "-!" | "-q" | "-quiet"));
        let exist = words.len() < before;
        let err = |k: usize, msg: String| {
            let at = words.get(k).map_or(line.len(), |w| w.start);
            ParseError::new(line_no, lex::column(line, at), msg)
        };
        let word = |k: usize| words.get(k).map(|w| w.text.as_ref()).unwrap_or("");
        let name = word(1);
        if name.is_empty() {
            return Err(err(1, format!("ipset {} needs a set name", word(0))));
        }
        match word(0) {
            "create" if exist && self.get(name).is_some_and(|s| s.kind.starts_with(word(2))) => {
                Ok(())
            }
            "create" => {
                if self.get(name).is_some() {
                    return Err(err(
                        1,
                        format!("set {name} is created twice (ipset: Set cannot be created: set with the same name already exists)"),
                    ));
                }
                let kind = word(2);
                if kind.is_empty() {
                    return Err(err(2, format!("ipset create {name} needs a set type")));
                }
                let dims = match dims_of(kind) {
                    Some(d) => d,
                    None if OTHER_TYPES.contains(&kind) => Vec::new(),
                    None => {
                        return Err(err(2, format!("unknown set type \"{kind}\""))
                            .expected("hash:ip, hash:net, hash:ip,port, hash:net,port, hash:ip,port,ip, hash:ip,port,net, hash:net,net, hash:net,port,net, bitmap:ip, bitmap:port, list:set"))
                    }
                };
                let opt = |o: &str| {
                    (3..words.len())
                        .find(|&k| word(k) == o)
                        .map(|k| (k + 1, word(k + 1)))
                };
                let ipv6 = opt("family").is_some_and(|(_, f)| f == "inet6");
                let mut set = IpSet {
                    name: name.to_string(),
                    kind: kind.to_string(),
                    nomatch: kind.starts_with("hash:") && kind.contains("net"),
                    dims,
                    ipv6,
                    entries: Vec::new(),
                    line: line_no,
                    maxelem: MAXELEM,
                    seen: None,
                };
                if let Some((k, m)) = opt("maxelem") {
                    let n: usize = (m.parse().ok()).filter(|n| *n > 0).ok_or_else(|| {
                        err(k, format!("maxelem \"{m}\" is not a positive number"))
                    })?;
                    if n > MAXELEM_CAP {
                        return Err(err(k, format!("maxelem {n} is more than Packet Walk holds in a set ({MAXELEM_CAP})")));
                    }
                    set.maxelem = n;
                }
                // `netmask N` (hash:ip, bitmap:ip): addresses are kept
                // (and tested) as their /N network.
                if let Some((k, m)) = opt("netmask") {
                    let bits: u8 = m
                        .parse()
                        .ok()
                        .filter(|b| (1..=32).contains(b))
                        .ok_or_else(|| err(k, format!("netmask \"{m}\" is not 1 to 32")))?;
                    set.dims = set
                        .dims
                        .iter()
                        .map(|d| {
                            if *d == Dim::Ip && bits < 32 {
                                Dim::Net
                            } else {
                                *d
                            }
                        })
                        .collect();
                    set.kind = format!("{kind} netmask {bits}");
                }
                self.sets.push(set);
                Ok(())
            }
            "add" => {
                let Some(pos) = self.sets.iter().position(|s| s.name == name) else {
                    return Err(err(
                        1,
                        format!("add to set {name}, which no create line before it makes (ipset: The set with the given name does not exist)"),
                    ));
                };
                let set = &self.sets[pos];
                // A list's members are sets made before it.
                if set.dims == [Dim::Set] && self.get(word(2)).is_none() {
                    return Err(err(2, format!("there is no set {} to list in {name} (ipset: Set to be added/deleted/tested as element does not exist)", word(2))));
                }
                if set.ipv6 {
                    // Kept as written, never tested; an IPv4 entry is the
                    // kernel's error (ipset: Syntax error).
                    if word(2)
                        .split(['/', ',', '-'])
                        .next()
                        .is_some_and(|a| a.parse::<Ipv4Addr>().is_ok())
                    {
                        return Err(err(
                            2,
                            format!(
                                "{} is an IPv4 entry, and set {name} is an IPv6 set (family inet6)",
                                word(2)
                            ),
                        ));
                    }
                    return Ok(());
                }
                if set.dims.is_empty() {
                    // Kept as written; never tested.
                    return Ok(());
                }
                let elem = word(2);
                let mut entries = parse_entry(set, elem).map_err(|m| err(2, m))?;
                let mut nomatch = false;
                let mut k = 3;
                while k < words.len() {
                    match word(k) {
                        "nomatch" => {
                            nomatch = true;
                            k += 1;
                        }
                        // Counters, timeouts, comments and skb info do
                        // not change what the set holds.
                        "timeout" | "packets" | "bytes" | "comment" | "skbmark" | "skbprio"
                        | "skbqueue" => k += 2,
                        w => return Err(err(k, format!("unknown word \"{w}\" after the entry"))
                            .expected(
                            "nomatch, timeout, comment, packets, bytes, skbmark, skbprio, skbqueue",
                        )),
                    }
                }
                if nomatch && !set.nomatch {
                    return Err(err(
                        2,
                        format!("nomatch is for sets of networks, not {}", set.kind),
                    ));
                }
                let set = &mut self.sets[pos];
                if exist && set.seen.is_none() {
                    let at = set
                        .entries
                        .iter()
                        .enumerate()
                        .map(|(i, e)| (e.parts.clone(), i));
                    set.seen = Some(at.collect());
                }
                for mut entry in entries.drain(..) {
                    entry.nomatch = nomatch;
                    // Again with -exist: the entry is there already, and
                    // takes the line's nomatch (ipset updates it in place).
                    let again = set
                        .seen
                        .as_ref()
                        .filter(|_| exist)
                        .and_then(|s| s.get(&entry.parts));
                    if let Some(&i) = again {
                        set.entries[i].nomatch = nomatch;
                        continue;
                    }
                    if set.entries.len() >= set.maxelem {
                        return Err(err(
                            2,
                            format!(
                                "set {name} is full: it holds {} entries, its maxelem (ipset: Hash is full, cannot add more elements){}",
                                set.maxelem,
                                if elem.contains('-') { "; a range is added as the networks that cover it, one entry each" } else { "" }
                            ),
                        ));
                    }
                    if let Some(seen) = set.seen.as_mut() {
                        seen.insert(entry.parts.clone(), set.entries.len());
                    }
                    set.entries.push(entry);
                }
                Ok(())
            }
            w => {
                Err(err(0, format!("\"{w}\" is not an ipset save line")).expected("create or add"))
            }
        }
    }

    /// Whether `pkt` is in set `name`, looked up in the directions `dirs`
    /// (`src`, `dst` per part), and the entry that decided, in words. A
    /// set not listed holds nothing.
    pub fn test(
        &self,
        name: &str,
        dirs: &[bool],
        return_nomatch: bool,
        pkt: &Packet,
    ) -> (bool, String) {
        self.test_depth(name, dirs, return_nomatch, pkt, 0)
    }

    fn test_depth(
        &self,
        name: &str,
        dirs: &[bool],
        return_nomatch: bool,
        pkt: &Packet,
        depth: usize,
    ) -> (bool, String) {
        let Some(set) = self.get(name) else {
            return (false, format!("there is no set {name}"));
        };
        let values = lookup_values(set, dirs, pkt);
        let shown = describe_values(&values);
        if set.dims == [Dim::Set] {
            // A list of sets: the first member set that holds it.
            for e in &set.entries {
                if let (Some(Part::Set(member)), true) = (e.parts.first(), depth < 8) {
                    let (hit, _) = self.test_depth(member, dirs, return_nomatch, pkt, depth + 1);
                    if hit {
                        return (
                            true,
                            format!("{shown} is in {member}, a member of set {name}"),
                        );
                    }
                }
            }
            return (
                false,
                format!("{shown} is in none of the sets that set {name} lists"),
            );
        }
        // Fewer directions than the set has parts: the kernel finds nothing.
        if dirs.len() < set.dims.len() {
            return (
                false,
                format!(
                    "set {name} ({}) has {} parts and the rule names {} direction{}: the kernel finds nothing",
                    set.kind,
                    set.dims.len(),
                    dirs.len(),
                    if dirs.len() == 1 { "" } else { "s" }
                ),
            );
        }
        let values = values.unwrap_or_default();
        let best = set
            .entries
            .iter()
            .filter(|e| e.parts.iter().zip(&values).all(|(p, v)| holds(p, v)))
            .max_by_key(|e| {
                e.parts
                    .iter()
                    .map(|p| match p {
                        Part::Addr { prefix, .. } => u32::from(*prefix),
                        _ => 0,
                    })
                    .collect::<Vec<_>>()
            });
        let size = format!("{}, {}", set.kind, entries_word(set.entries.len()));
        // --return-nomatch turns the answer round for a type of networks:
        // a nomatch entry matches, a plain one does not
        // (iptables-extensions(8); ip_set_test, for IPSET_TYPE_NOMATCH).
        let return_nomatch = return_nomatch && set.nomatch;
        match best {
            None => (false, format!("{shown} is not in set {name} ({size})")),
            Some(e) if e.nomatch == return_nomatch => (
                true,
                format!("{shown} is in set {name} ({size}) by its {}entry {}", if e.nomatch { "nomatch " } else { "" }, entry_text(e)),
            ),
            Some(e) if e.nomatch => (
                false,
                format!("{shown} falls under set {name}'s ({size}) nomatch entry {}, which takes it out of the set", entry_text(e)),
            ),
            Some(e) => (
                false,
                format!("{shown} is in set {name} ({size}) by its plain entry {}, and --return-nomatch matches only nomatch entries", entry_text(e)),
            ),
        }
    }
}

fn entries_word(n: usize) -> String {
    if n == 1 {
        "1 entry".into()
    } else {
        format!("{n} entries")
    }
}

/// What the kernel takes from the packet for each part: an address, or a
/// protocol and port (None when the packet's protocol has none).
#[derive(Clone, Debug)]
enum Value {
    Addr(Ipv4Addr),
    Port(u8, u16),
}

fn lookup_values(set: &IpSet, dirs: &[bool], pkt: &Packet) -> Option<Vec<Value>> {
    let h = pkt.head();
    let t = pkt.head_transport();
    set.dims
        .iter()
        .zip(dirs)
        .map(|(d, &src)| match d {
            Dim::Ip | Dim::Net => Some(Value::Addr(if src { h.src } else { h.dst })),
            Dim::Port => {
                let proto = h.protocol.number();
                match t.as_deref() {
                    Some(Transport::Icmp {
                        icmp_type, code, ..
                    }) => Some(Value::Port(
                        proto,
                        crate::engine::packet::icmp::key(*icmp_type, *code, 0).1,
                    )),
                    // A protocol without ports tests as port 0.
                    _ => Some(Value::Port(
                        proto,
                        pkt.head_ports().map_or(0, |(s, d)| if src { s } else { d }),
                    )),
                }
            }
            Dim::Set => None,
        })
        .collect()
}

fn describe_values(values: &Option<Vec<Value>>) -> String {
    match values {
        Some(v) if !v.is_empty() => v
            .iter()
            .map(|v| match v {
                Value::Addr(a) => a.to_string(),
                Value::Port(p, port) => format!("{}:{}", proto_name(*p), port_text(*p, *port)),
            })
            .collect::<Vec<_>>()
            .join(","),
        _ => "the packet".into(),
    }
}

fn holds(p: &Part, v: &Value) -> bool {
    match (p, v) {
        (Part::Addr { lo, hi, .. }, Value::Addr(a)) => (*lo..=*hi).contains(&u32::from(*a)),
        (Part::Port { proto, lo, hi }, Value::Port(vp, port)) => {
            // bitmap:port takes the port of TCP and UDP only.
            let proto_ok = match proto {
                Some(p) => p == vp,
                None => matches!(vp, 6 | 17),
            };
            proto_ok && (*lo..=*hi).contains(port)
        }
        _ => false,
    }
}

fn proto_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        132 => "sctp".into(),
        136 => "udplite".into(),
        n => n.to_string(),
    }
}

fn port_text(proto: u8, port: u16) -> String {
    if proto == 1 {
        format!("{}/{}", port >> 8, port & 0xff)
    } else {
        port.to_string()
    }
}

fn entry_text(e: &Entry) -> String {
    e.parts
        .iter()
        .map(|p| match p {
            Part::Addr { lo, prefix, .. } if *prefix < 32 => {
                format!("{}/{prefix}", Ipv4Addr::from(*lo))
            }
            Part::Addr { lo, hi, .. } if lo == hi => Ipv4Addr::from(*lo).to_string(),
            Part::Addr { lo, hi, .. } => format!("{}-{}", Ipv4Addr::from(*lo), Ipv4Addr::from(*hi)),
            Part::Port { proto, lo, hi } => {
                let ports = if lo == hi {
                    port_text(proto.unwrap_or(6), *lo)
                } else {
                    format!("{lo}-{hi}")
                };
                match proto {
                    Some(p) => format!("{}:{ports}", proto_name(*p)),
                    None => ports,
                }
            }
            Part::Set(s) => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// An entry as `add` writes it: its parts joined by commas. A range in a
/// network's part is the networks that cover it, as the kernel stores
/// them: one entry each.
fn parse_entry(set: &IpSet, elem: &str) -> Result<Vec<Entry>, String> {
    if elem.is_empty() {
        return Err(format!("add to {} needs an entry", set.name));
    }
    if set.dims == [Dim::Set] {
        return Ok(vec![Entry {
            parts: vec![Part::Set(elem.to_string())],
            nomatch: false,
        }]);
    }
    let pieces: Vec<&str> = elem.split(',').collect();
    if pieces.len() != set.dims.len() {
        return Err(format!(
            "\"{elem}\" has {} part{} and set {} ({}) takes {}",
            pieces.len(),
            if pieces.len() == 1 { "" } else { "s" },
            set.name,
            set.kind,
            set.dims.len()
        ));
    }
    let netmask = set
        .kind
        .split_once("netmask ")
        .and_then(|(_, m)| m.parse::<u8>().ok());
    // Each part's choices (a range in a network's part: its networks).
    let mut choices: Vec<Vec<Part>> = Vec::with_capacity(pieces.len());
    for (d, p) in set.dims.iter().zip(pieces) {
        choices.push(match d {
            Dim::Ip => vec![addr_part(p, netmask, true)?],
            Dim::Net => match addr_part(p, netmask, false)? {
                Part::Addr { lo, hi, prefix: 32 } if lo != hi => covering(lo, hi),
                a => vec![a],
            },
            Dim::Port => vec![port_part(p, set.kind.starts_with("bitmap:port"))?],
            Dim::Set => vec![Part::Set(p.to_string())],
        });
    }
    let mut entries = vec![Vec::new()];
    for options in choices {
        entries = (entries.iter())
            .flat_map(|parts: &Vec<Part>| {
                options.iter().map(move |o| {
                    let mut p = parts.clone();
                    p.push(o.clone());
                    p
                })
            })
            .collect();
    }
    Ok(entries
        .into_iter()
        .map(|parts| Entry {
            parts,
            nomatch: false,
        })
        .collect())
}

/// The fewest networks that cover the addresses `lo..=hi` exactly.
fn covering(lo: u32, hi: u32) -> Vec<Part> {
    let mut out = Vec::new();
    let mut at = u64::from(lo);
    while at <= u64::from(hi) {
        // The largest block aligned at `at` that stays within `hi`.
        let mut bits = if at == 0 {
            32
        } else {
            (at as u32).trailing_zeros().min(32)
        };
        while bits > 0 && at + (1u64 << bits) - 1 > u64::from(hi) {
            bits -= 1;
        }
        let size = 1u64 << bits;
        out.push(Part::Addr {
            lo: at as u32,
            hi: (at + size - 1) as u32,
            prefix: (32 - bits) as u8,
        });
        at += size;
    }
    out
}

/// An address part: an address, a range or a network. In an address's
/// part (`ip`) it stands for each address in it, ranked as a /32 when the
/// most specific entry is looked for; in a network's, it is one network
/// (a range is split by the caller).
fn addr_part(s: &str, netmask: Option<u8>, each_address: bool) -> Result<Part, String> {
    let bad = || format!("\"{s}\" is not an IPv4 address, range or network");
    let part = if let Some((a, b)) = s.split_once('-') {
        let lo: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let hi: Ipv4Addr = b.parse().map_err(|_| bad())?;
        if hi < lo {
            return Err(format!("\"{s}\": the range ends before it starts"));
        }
        Part::Addr {
            lo: lo.into(),
            hi: hi.into(),
            prefix: 32,
        }
    } else {
        let net: Ipv4Net = if s.contains('/') {
            s.parse().map_err(|_| bad())?
        } else {
            Ipv4Net::new(s.parse().map_err(|_| bad())?, 32).map_err(|_| bad())?
        };
        let net = net.trunc();
        Part::Addr {
            lo: net.network().into(),
            hi: net.broadcast().into(),
            prefix: net.prefix_len(),
        }
    };
    Ok(match (part, netmask) {
        (Part::Addr { lo, hi, prefix }, Some(m)) if m < prefix => {
            let mask = u32::MAX << (32 - u32::from(m));
            Part::Addr {
                lo: lo & mask,
                hi: hi | !mask,
                prefix: m,
            }
        }
        (Part::Addr { lo, hi, .. }, None) if each_address => Part::Addr { lo, hi, prefix: 32 },
        (p, _) => p,
    })
}

fn port_part(s: &str, bitmap: bool) -> Result<Part, String> {
    let (proto, ports) = match s.split_once(':') {
        Some((p, rest)) => (Some(p), rest),
        None => (None, s),
    };
    let number = match proto.map(str::to_ascii_lowercase).as_deref() {
        None if bitmap => None,
        None | Some("tcp") => Some(6),
        Some("udp") => Some(17),
        Some("sctp") => Some(132),
        Some("udplite") => Some(136),
        Some("icmp") => Some(1),
        Some(other) => {
            return Err(format!(
                "protocol \"{other}\" in \"{s}\": Packet Walk reads tcp, udp, sctp, udplite and icmp entries"
            ))
        }
    };
    if number == Some(1) {
        let (t, c) = match ports.split_once('/') {
            Some((t, c)) => (t.parse::<u8>().ok(), c.parse::<u8>().ok()),
            None => match super::rule::parse_icmp_type(ports) {
                Ok((Some(t), c)) => (Some(t), Some(c.unwrap_or(0))),
                _ => (None, None),
            },
        };
        let (Some(t), Some(c)) = (t, c) else {
            return Err(format!(
                "\"{ports}\" is not an ICMP type (a name, or type/code)"
            ));
        };
        let v = crate::engine::packet::icmp::key(t, c, 0).1;
        return Ok(Part::Port {
            proto: Some(1),
            lo: v,
            hi: v,
        });
    }
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("\"{p}\" is not a port number"))
    };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(ports)?, port(ports)?),
    };
    if hi < lo {
        return Err(format!("\"{s}\": the port range ends before it starts"));
    }
    Ok(Part::Port {
        proto: number,
        lo,
        hi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A set holds at most its maxelem entries, as ipset's hash does: a
    /// paste of wide ranges (each a few thousand networks in a
    /// hash:net,net) is refused at the line that fills it, not held in
    /// memory; `add -exist` finds an entry again at once.
    #[test]
    fn a_set_holds_at_most_its_maxelem() {
        let mut s = IpSets::default();
        s.read_line("create S hash:net,net", 1).unwrap();
        let wide = "add S 0.0.0.1-255.255.255.254,0.0.0.1-255.255.255.254";
        let mut refused = None;
        for n in 2..100 {
            if let Err(e) = s.read_line(wide, n) {
                refused = Some((n, e));
                break;
            }
        }
        let (n, e) = refused.expect("the set fills up");
        assert!(
            n < 30
                && e.message
                    .starts_with("set S is full: it holds 65536 entries, its maxelem"),
            "{n}: {e:?}"
        );
        assert_eq!(s.get("S").unwrap().entries.len(), MAXELEM);
        s.read_line("create T hash:ip maxelem 2", 1).unwrap();
        s.read_line("add T 10.0.0.1", 2).unwrap();
        s.read_line("add -exist T 10.0.0.1", 3).unwrap();
        // -exist with nomatch on a net entry there already: its flag
        // changes in place.
        s.read_line("create N hash:net", 7).unwrap();
        s.read_line("add N 10.1.0.0/16", 8).unwrap();
        s.read_line("add -exist N 10.1.0.0/16 nomatch", 9).unwrap();
        let n = &s.get("N").unwrap().entries;
        assert!(n.len() == 1 && n[0].nomatch, "{n:?}");
        s.read_line("add T 10.0.0.2", 4).unwrap();
        assert!(s
            .read_line("add T 10.0.0.3", 5)
            .unwrap_err()
            .message
            .contains("full"));
        assert_eq!(s.get("T").unwrap().entries.len(), 2);
        let e = s
            .read_line("create U hash:ip maxelem 99999999", 6)
            .unwrap_err();
        assert!(e.message.contains("more than Packet Walk holds"), "{e:?}");
    }

    #[test]
    fn save_lines_are_read_and_bad_ones_named() {
        let mut s = IpSets::default();
        for (i, l) in [
            "create cali40all-hosts-net hash:net family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0xbae81dff",
            "add cali40all-hosts-net 10.1.0.0/16 nomatch",
            "add cali40all-hosts-net 192.168.11.58",
            "add cali40all-hosts-net 10.0.0.0/8",
            "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536",
            "add KUBE-CLUSTER-IP 10.96.0.10,udp:53",
            "add KUBE-CLUSTER-IP 10.96.0.2,icmp:echo-request",
            "create H hash:ip family inet hashsize 1024 maxelem 65536 timeout 0 comment bucketsize 12",
            "add H 1.2.3.4 timeout 0 comment \"hello world\"",
            "create N6 hash:net family inet6 hashsize 1024 maxelem 65536",
            "add N6 fe80::/64",
            "create M hash:mac",
            "add M 00:11:22:33:44:55",
        ]
        .iter()
        .enumerate()
        {
            s.read_line(l, i + 1).unwrap_or_else(|e| panic!("{l}: {e:?}"));
        }
        assert_eq!(s.get("cali40all-hosts-net").unwrap().entries.len(), 3);
        assert!(s.listing(2).starts_with(
            "cali40all-hosts-net hash:net: 3 entries\n  10.1.0.0/16 nomatch\n  192.168.11.58\n  … and 1 more\n"
        ));
        assert_eq!(s.get("H").unwrap().entries.len(), 1);
        assert!(s.get("N6").unwrap().ipv6);
        for (line, col, msg) in [
            ("add nope 1.2.3.4", 5, "no create line before it"),
            ("create H hash:ip", 8, "created twice"),
            ("create X hash:foo", 10, "unknown set type"),
            (
                "add KUBE-CLUSTER-IP 10.96.0.10",
                21,
                "has 1 part and set KUBE-CLUSTER-IP (hash:ip,port) takes 2",
            ),
            (
                "add H 1.2.3.4 nomatch",
                7,
                "nomatch is for sets of networks",
            ),
            ("add H 1.2.3", 7, "not an IPv4 address"),
            (
                "add N6 10.0.0.0/8",
                8,
                "is an IPv4 entry, and set N6 is an IPv6 set",
            ),
        ] {
            let e = s.read_line(line, 9).unwrap_err();
            assert_eq!(
                (e.column, e.message.contains(msg)),
                (col, true),
                "{line}: {e:?}"
            );
        }
    }
}
