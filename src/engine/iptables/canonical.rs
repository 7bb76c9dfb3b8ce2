//! What `iptables-save` prints for a rule that was written another way.
//!
//! The kernel keeps rules as binary structures, not text, so a rule read
//! back is printed in iptables' own order and spelling: the address and
//! protocol tests first (`! -s 10.0.0.0/8 -d 172.30.0.44/32 -p tcp`), a plain
//! address gets `/32`, `-p tcp --dport 80` becomes `-m tcp --dport 80`, a
//! comment is quoted unless it is one plain word (letters, digits, `_` and
//! `-`), a probability has 11 decimals (it is stored as
//! a fraction of 2^31), and `MARK --or-mark 0x4000` is
//! `MARK --set-xmark 0x4000/0x4000`. People comparing kube-proxy's restore
//! input with `iptables-save` meet exactly these differences.
//!
//! Checked against iptables 1.8.9 (nf_tables) in a network namespace; the
//! cases are in `tests/data/canonical.txt`.

use super::rule::{arity, is_flag, module_options, parse_icmp_type, parse_net, target_options};
use crate::engine::decimal;
use crate::engine::lex;
use crate::engine::packet::Proto;

#[derive(Default)]
struct Opt {
    neg: bool,
    name: String,
    values: Vec<String>,
}

#[derive(Default)]
struct Module {
    name: String,
    opts: Vec<Opt>,
}

/// Option names iptables also accepts, mapped to the name it prints.
pub(crate) fn alias(opt: &str) -> &str {
    match opt {
        "--source-port" => "--sport",
        "--destination-port" => "--dport",
        "--source-ports" => "--sports",
        "--destination-ports" => "--dports",
        o => o,
    }
}

fn values_of(opt: &str) -> usize {
    match opt {
        "--tcp-flags" => 2,
        o if is_flag(o) => 0,
        _ => 1,
    }
}

/// A string as iptables-save writes it (`xtables_save_string`): bare when
/// it holds only letters, digits, `_` and `-`; else in double quotes, with
/// `"`, `\` and `'` escaped (measured with iptables 1.8.9).
fn quote(s: &str) -> String {
    if !s.is_empty() && (s.bytes()).all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn address(s: &str) -> String {
    if s.contains(':') {
        return if s.contains('/') {
            s.to_string()
        } else {
            format!("{s}/128")
        };
    }
    match parse_net(s) {
        Ok(n) => n.to_string(),
        Err(_) => s.to_string(),
    }
}

fn hex(v: u32) -> String {
    format!("{v:#x}")
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `value[/mask]` as iptables prints a mark: `0x4000/0x4000`, or `0x4000`
/// when the mask is all ones.
fn mark(s: &str) -> String {
    let (v, m) = s.split_once('/').unwrap_or((s, "0xffffffff"));
    match (parse_u32(v), parse_u32(m)) {
        (Some(v), Some(0xffff_ffff)) => hex(v),
        (Some(v), Some(m)) => format!("{}/{}", hex(v), hex(m)),
        _ => s.to_string(),
    }
}

/// The order iptables prints states in (`conntrack --ctstate` and
/// `state --state` alike).
const CT_ORDER: [&str; 7] = [
    "INVALID",
    "NEW",
    "RELATED",
    "ESTABLISHED",
    "UNTRACKED",
    "SNAT",
    "DNAT",
];

fn states(list: &str) -> String {
    let given: Vec<&str> = list.split(',').collect();
    let mut out: Vec<&str> = CT_ORDER
        .iter()
        .copied()
        .filter(|s| given.contains(s))
        .collect();
    out.extend(given.iter().filter(|g| !CT_ORDER.contains(g)));
    out.join(",")
}

fn neg(o: &Opt) -> &'static str {
    if o.neg {
        "! "
    } else {
        ""
    }
}

/// The options of one module in the order iptables prints them.
fn print_module(m: &Module, out: &mut Vec<String>) {
    out.push(format!("-m {}", m.name));
    let get = |n: &str| m.opts.iter().find(|o| o.name == n);
    let v0 = |o: &Opt| o.values.first().cloned().unwrap_or_default();
    match m.name.as_str() {
        "tcp" | "udp" => {
            for n in ["--sport", "--dport"] {
                if let Some(o) = get(n) {
                    out.push(format!("{}{n} {}", neg(o), v0(o)));
                }
            }
            if let Some(o) = get("--syn") {
                out.push(format!("{}--tcp-flags FIN,SYN,RST,ACK SYN", neg(o)));
            } else if let Some(o) = get("--tcp-flags") {
                out.push(format!("{}--tcp-flags {}", neg(o), o.values.join(" ")));
            }
        }
        "icmp" => {
            if let Some(o) = get("--icmp-type") {
                let t = match parse_icmp_type(&v0(o)) {
                    Ok((Some(t), Some(c))) => format!("{t}/{c}"),
                    Ok((Some(t), None)) => t.to_string(),
                    Ok((None, _)) => "any".into(),
                    Err(_) => v0(o),
                };
                out.push(format!("{}--icmp-type {t}", neg(o)));
            }
        }
        "comment" => {
            if let Some(o) = get("--comment") {
                out.push(format!("--comment {}", quote(&v0(o))));
            }
        }
        "statistic" => {
            let mode = get("--mode").map(v0).unwrap_or_default();
            if mode == "random" {
                let p = get("--probability");
                let threshold = p
                    .and_then(|o| decimal::parse(&v0(o)))
                    .map(|p| (p * 2147483648.0).round() / 2147483648.0)
                    .unwrap_or(0.0);
                let n = p.map(neg).unwrap_or("");
                out.push(format!(
                    "--mode random {n}--probability {}",
                    decimal::fixed(threshold, 11)
                ));
            } else {
                let every = get("--every");
                let n = every.map(neg).unwrap_or("");
                let packet = get("--packet").map(v0).unwrap_or_else(|| "0".into());
                out.push(format!(
                    "--mode nth {n}--every {} --packet {packet}",
                    every.map(v0).unwrap_or_default()
                ));
            }
        }
        "mark" | "connmark" => {
            if let Some(o) = get("--mark") {
                out.push(format!("{}--mark {}", neg(o), mark(&v0(o))));
            }
        }
        "addrtype" => {
            for n in ["--src-type", "--dst-type"] {
                if let Some(o) = get(n) {
                    out.push(format!("{}{n} {}", neg(o), v0(o)));
                }
            }
            for n in ["--limit-iface-in", "--limit-iface-out"] {
                if get(n).is_some() {
                    out.push(n.to_string());
                }
            }
        }
        "conntrack" | "state" => {
            let n = if m.name == "state" {
                "--state"
            } else {
                "--ctstate"
            };
            if let Some(o) = get(n) {
                out.push(format!("{}{n} {}", neg(o), states(&v0(o))));
            }
            // The rest in iptables-save's order (measured with 1.8.9): the
            // protocol as a number, the status's names in the kernel's
            // bit order, the direction in capitals.
            if let Some(o) = get("--ctproto") {
                let v = v0(o);
                let p = if v == "all" {
                    Some(0)
                } else {
                    Proto::parse(&v).map(Proto::number)
                };
                out.push(format!(
                    "{}--ctproto {}",
                    neg(o),
                    p.map_or(v, |p| p.to_string())
                ));
            }
            for n in &super::rule::CONNTRACK_OPTIONS[2..10] {
                if let Some(o) = get(n) {
                    out.push(format!("{}{n} {}", neg(o), v0(o)));
                }
            }
            if let Some(o) = get("--ctstatus") {
                let v = v0(o);
                let bits = (v.split(','))
                    .map(|s| {
                        super::rule::ctstatus::NAMES
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(s))
                            .map(|(_, b)| *b)
                    })
                    .try_fold(0u8, |acc, b| b.map(|b| acc | b));
                out.push(format!(
                    "{}--ctstatus {}",
                    neg(o),
                    bits.map_or(v, super::rule::ctstatus::names)
                ));
            }
            if let Some(o) = get("--ctexpire") {
                out.push(format!("{}--ctexpire {}", neg(o), v0(o)));
            }
            if let Some(o) = get("--ctdir") {
                out.push(format!("--ctdir {}", v0(o).to_ascii_uppercase()));
            }
        }
        "recent" => {
            for c in ["--set", "--rcheck", "--update", "--remove"] {
                if let Some(o) = get(c) {
                    out.push(format!("{}{c}", neg(o)));
                }
            }
            if let Some(o) = get("--seconds") {
                out.push(format!("--seconds {}", v0(o)));
            }
            if get("--reap").is_some() {
                out.push("--reap".into());
            }
            if let Some(o) = get("--hitcount") {
                out.push(format!("--hitcount {}", v0(o)));
            }
            if get("--rttl").is_some() {
                out.push("--rttl".into());
            }
            out.push(format!(
                "--name {}",
                get("--name").map(v0).unwrap_or_else(|| "DEFAULT".into())
            ));
            out.push(format!(
                "--mask {}",
                get("--mask")
                    .map(v0)
                    .unwrap_or_else(|| "255.255.255.255".into())
            ));
            out.push(
                if get("--rdest").is_some() {
                    "--rdest"
                } else {
                    "--rsource"
                }
                .into(),
            );
        }
        "limit" => {
            if let Some(o) = get("--limit") {
                let avg = super::rule::limit_avg(&v0(o));
                out.push(format!(
                    "--limit {}",
                    avg.map(super::rule::limit_text).unwrap_or_else(|| v0(o))
                ));
            } else {
                out.push("--limit 3/hour".into());
            }
            if let Some(o) = get("--limit-burst").filter(|o| v0(o) != "5") {
                out.push(format!("--limit-burst {}", v0(o)));
            }
        }
        // (iptables-save's order, measured with 1.8.9.)
        "physdev" => {
            for n in [
                "--physdev-is-in",
                "--physdev-in",
                "--physdev-is-out",
                "--physdev-out",
                "--physdev-is-bridged",
            ] {
                if let Some(o) = get(n) {
                    let mut s = format!("{}{n}", neg(o));
                    for v in &o.values {
                        s.push(' ');
                        s.push_str(v);
                    }
                    out.push(s);
                }
            }
        }
        // (iptables-save's order and decimal ids, measured with 1.8.9:
        // `--uid-owner root` and `0x10` come back as 0 and 16.)
        "owner" => {
            for n in [
                "--socket-exists",
                "--uid-owner",
                "--gid-owner",
                "--suppl-groups",
            ] {
                if let Some(o) = get(n) {
                    let mut s = format!("{}{n}", neg(o));
                    if let Some(v) = o.values.first() {
                        s.push(' ');
                        s.push_str(&super::rule::owner_ids_text(v));
                    }
                    out.push(s);
                }
            }
        }
        "rpfilter" => {
            for n in ["--loose", "--validmark", "--accept-local", "--invert"] {
                if get(n).is_some() {
                    out.push(n.to_string());
                }
            }
        }
        "set" => {
            // `--set` is the old name of `--match-set`.
            if let Some(o) = get("--match-set").or_else(|| get("--set")) {
                out.push(format!("{}--match-set {}", neg(o), o.values.join(" ")));
            }
            if get("--return-nomatch").is_some() {
                out.push("--return-nomatch".into());
            }
            for n in ["--update-counters", "--update-subcounters"] {
                if let Some(o) = get(n) {
                    out.push(format!("{}{n}", neg(o)));
                }
            }
        }
        _ => {
            for o in &m.opts {
                let mut s = format!("{}{}", neg(o), o.name);
                for v in &o.values {
                    s.push(' ');
                    s.push_str(v);
                }
                out.push(s);
            }
        }
    }
}

fn print_target(name: &str, opts: &[Opt], out: &mut Vec<String>) {
    let get = |n: &str| opts.iter().find(|o| o.name == n);
    let v0 = |o: &Opt| o.values.first().cloned().unwrap_or_default();
    out.push(format!("-j {name}"));
    match name {
        // The same forms as MARK's for a value; --save-mark and
        // --restore-mark print both their masks.
        "CONNMARK" if get("--save-mark").is_some() || get("--restore-mark").is_some() => {
            let mask = |n: &str| {
                get(n)
                    .or_else(|| get("--mask"))
                    .and_then(|o| parse_u32(&v0(o)))
                    .unwrap_or(0xffff_ffff)
            };
            let mode = if get("--save-mark").is_some() {
                "--save-mark"
            } else {
                "--restore-mark"
            };
            out.push(format!(
                "{mode} --nfmask {} --ctmask {}",
                hex(mask("--nfmask")),
                hex(mask("--ctmask"))
            ));
        }
        "MARK" | "CONNMARK" => {
            let val =
                |n: &str| get(n).and_then(|o| parse_u32(v0(o).split('/').next().unwrap_or("")));
            let (x, m) = if let Some(o) = get("--set-xmark") {
                let s = v0(o);
                let (v, m) = s.split_once('/').unwrap_or((&s, "0xffffffff"));
                (
                    parse_u32(v).unwrap_or(0),
                    parse_u32(m).unwrap_or(0xffff_ffff),
                )
            } else if let Some(o) = get("--set-mark") {
                // libxt_MARK: --set-mark v/m is stored as xmark v, mask v|m.
                let s = v0(o);
                let (v, m) = s.split_once('/').unwrap_or((&s, "0xffffffff"));
                let v = parse_u32(v).unwrap_or(0);
                (v, v | parse_u32(m).unwrap_or(0xffff_ffff))
            } else if let Some(v) = val("--or-mark") {
                (v, v)
            } else if let Some(v) = val("--and-mark") {
                (0, !v)
            } else if let Some(v) = val("--xor-mark") {
                (v, 0)
            } else {
                (0, 0)
            };
            out.push(format!("--set-xmark {}/{}", hex(x), hex(m)));
        }
        "REJECT" => {
            let with = get("--reject-with")
                .map(v0)
                .unwrap_or_else(|| "icmp-port-unreachable".into());
            let with = match with.as_str() {
                "icmp-net-unreach" | "net-unreach" => "icmp-net-unreachable",
                "icmp-host-unreach" | "host-unreach" => "icmp-host-unreachable",
                "icmp-port-unreach" | "port-unreach" => "icmp-port-unreachable",
                "icmp-proto-unreach" | "proto-unreach" => "icmp-proto-unreachable",
                "icmp-net-prohib" | "net-prohib" => "icmp-net-prohibited",
                "icmp-host-prohib" | "host-prohib" => "icmp-host-prohibited",
                "icmp-admin-prohib" | "admin-prohib" => "icmp-admin-prohibited",
                "tcp-rst" => "tcp-reset",
                w => w,
            }
            .to_string();
            out.push(format!("--reject-with {with}"));
        }
        "DNAT" | "SNAT" | "MASQUERADE" | "REDIRECT" => {
            for n in ["--to-destination", "--to-source", "--to-ports"] {
                if let Some(o) = get(n) {
                    out.push(format!("{n} {}", v0(o)));
                }
            }
            for n in ["--random", "--random-fully", "--persistent"] {
                if get(n).is_some() {
                    out.push(n.to_string());
                }
            }
        }
        "LOG" => {
            if let Some(o) = get("--log-prefix") {
                out.push(format!("--log-prefix {}", quote(&v0(o))));
            }
            if let Some(o) = get("--log-level") {
                let l = v0(o);
                let n = match l.as_str() {
                    "emerg" | "panic" => "0",
                    "alert" => "1",
                    "crit" => "2",
                    "err" | "error" => "3",
                    "warning" | "warn" => "4",
                    "notice" => "5",
                    "info" => "6",
                    "debug" => "7",
                    n => n,
                };
                if n != "4" {
                    out.push(format!("--log-level {n}"));
                }
            }
            for n in [
                "--log-tcp-sequence",
                "--log-tcp-options",
                "--log-ip-options",
                "--log-uid",
            ] {
                if get(n).is_some() {
                    out.push(n.to_string());
                }
            }
        }
        "NFLOG" => {
            if let Some(o) = get("--nflog-prefix") {
                out.push(format!("--nflog-prefix {}", quote(&v0(o))));
            }
            for n in [
                "--nflog-group",
                "--nflog-range",
                "--nflog-size",
                "--nflog-threshold",
            ] {
                if let Some(o) = get(n) {
                    out.push(format!("{n} {}", v0(o)));
                }
            }
        }
        "DSCP" => {
            // A class is printed as its value (libxt_DSCP's class table).
            let value = get("--set-dscp")
                .map(|o| parse_u32(&v0(o)))
                .or_else(|| get("--set-dscp-class").map(|o| dscp_class(&v0(o))));
            match value.flatten() {
                Some(v) => out.push(format!("--set-dscp 0x{v:02x}")),
                None => opts
                    .iter()
                    .for_each(|o| out.push(format!("{} {}", o.name, v0(o)))),
            }
        }
        _ => {
            for o in opts {
                let mut s = o.name.clone();
                for v in &o.values {
                    s.push(' ');
                    s.push_str(v);
                }
                out.push(s);
            }
        }
    }
}

/// A DSCP class's value: CS0–CS7, AF11–AF43, EF (libxt_dscp's table).
fn dscp_class(name: &str) -> Option<u32> {
    let n = name.to_ascii_uppercase();
    if n == "EF" {
        return Some(46);
    }
    if let Some(c) = n.strip_prefix("CS") {
        return c.parse::<u32>().ok().filter(|c| *c <= 7).map(|c| c * 8);
    }
    let af = n.strip_prefix("AF")?.as_bytes();
    match af {
        [c @ b'1'..=b'4', d @ b'1'..=b'3'] => {
            Some(u32::from(c - b'0') * 8 + u32::from(d - b'0') * 2)
        }
        _ => None,
    }
}

/// The rule as `iptables-save` prints it, from the words after `-A CHAIN`.
/// An error names the word iptables would refuse.
///
/// Answers are remembered (up to 8,192 rules, then it starts again): a
/// cluster sync prints the same kube-proxy rules on every node, and again
/// for the form and for the change's diff (400 Services: about 6,000 calls
/// per sync, a quarter of its instructions, measured with callgrind).
/// A node's dump, whose rules are all different, is read with
/// [`canonical_uncached`].
pub fn canonical(args: &str) -> Result<String, String> {
    MEMO.with(|m| {
        if let Some(r) = m.borrow().get(args) {
            return r.clone();
        }
        let r = canonical_uncached(args);
        let mut m = m.borrow_mut();
        if m.len() >= MEMO_MAX {
            m.clear();
        }
        m.insert(args.into(), r.clone());
        r
    })
}

/// Rules [`canonical`] remembers before it starts again: a few MB at most.
const MEMO_MAX: usize = 8192;

type Memo = std::collections::HashMap<Box<str>, Result<String, String>>;

thread_local! {
    static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::default();
}

/// [`canonical`], printed again each time: for texts too large for its
/// memory (they would only crowd out the rules it keeps).
pub fn canonical_uncached(args: &str) -> Result<String, String> {
    let words = lex::words(args).map_err(|(_, m)| m.to_string())?;
    let words: Vec<String> = words.into_iter().map(|w| w.text.into_owned()).collect();
    let mut base: [Option<(bool, String)>; 5] = Default::default(); // -s -d -i -o -p
    let mut frag: Option<bool> = None;
    let mut modules: Vec<Module> = Vec::new();
    let mut target: Option<(bool, String, Vec<Opt>)> = None; // (goto, name, opts)
    let mut negate = false;
    let mut i = 0;
    let next = |i: &mut usize, what: &str| -> Result<String, String> {
        *i += 1;
        words
            .get(*i)
            .cloned()
            .ok_or_else(|| format!("{what} needs a value"))
    };
    while i < words.len() {
        let w = words[i].as_str();
        let slot = match w {
            "!" => {
                negate = true;
                i += 1;
                continue;
            }
            "-s" | "--source" | "--src" => Some(0),
            "-d" | "--destination" | "--dst" => Some(1),
            "-i" | "--in-interface" => Some(2),
            "-o" | "--out-interface" => Some(3),
            "-p" | "--protocol" => Some(4),
            _ => None,
        };
        if let Some(s) = slot {
            let v = next(&mut i, w)?;
            base[s] = Some((negate, v));
        } else if w == "-f" || w == "--fragment" {
            frag = Some(negate);
        } else if w == "-m" || w == "--match" {
            let name = next(&mut i, w)?;
            modules.push(Module {
                name,
                opts: Vec::new(),
            });
        } else if w == "-j" || w == "--jump" || w == "-g" || w == "--goto" {
            let name = next(&mut i, w)?;
            target = Some((w.starts_with("-g") || w == "--goto", name, Vec::new()));
        } else if let Some(opt) = w.strip_prefix("--").map(|_| alias(w).to_string()) {
            let n = match modules.last() {
                Some(m) if matches!(m.name.as_str(), "set" | "rpfilter") && target.is_none() => {
                    arity(&m.name, &opt)
                }
                _ => values_of(&opt),
            };
            let mut values = Vec::new();
            for _ in 0..n {
                values.push(next(&mut i, &opt)?);
            }
            let o = Opt {
                neg: negate,
                name: opt.clone(),
                values,
            };
            if let Some((_, t, opts)) = &mut target {
                if !target_options(t).contains(&o.name.as_str()) && !target_options(t).is_empty() {
                    return Err(format!("{t} has no option {}", o.name));
                }
                opts.push(o);
            } else {
                let fits = |m: &Module| {
                    module_options(&m.name).contains(&o.name.as_str())
                        || (m.name == "tcp" && o.name == "--tcp-flags")
                };
                match modules.last_mut() {
                    Some(m) if fits(m) || module_options(&m.name).is_empty() => m.opts.push(o),
                    _ => {
                        // `-p tcp --dport 80`: iptables loads the protocol's
                        // match by itself.
                        let proto = base[4].as_ref().map(|(_, p)| p.clone()).unwrap_or_default();
                        if module_options(&proto).contains(&o.name.as_str()) {
                            match modules.iter_mut().rev().find(|m| m.name == proto) {
                                Some(m) => m.opts.push(o),
                                None => modules.push(Module {
                                    name: proto,
                                    opts: vec![o],
                                }),
                            }
                        } else {
                            return Err(format!("unknown option {}", o.name));
                        }
                    }
                }
            }
        } else {
            return Err(format!("unexpected word \"{w}\""));
        }
        negate = false;
        i += 1;
    }

    let mut out = Vec::new();
    let flags = ["-s", "-d", "-i", "-o", "-p"];
    for (k, b) in base.iter().enumerate() {
        if let Some((n, v)) = b {
            let v = if k < 2 { address(v) } else { v.clone() };
            out.push(format!("{}{} {v}", if *n { "! " } else { "" }, flags[k]));
        }
    }
    if let Some(n) = frag {
        out.push(format!("{}-f", if n { "! " } else { "" }));
    }
    for m in &modules {
        print_module(m, &mut out);
    }
    if let Some((goto, name, opts)) = &target {
        if *goto {
            out.push(format!("-g {name}"));
        } else {
            print_target(name, opts, &mut out);
        }
    }
    Ok(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::canonical;

    /// Each pair: as written, as iptables 1.8.9 prints it back. The second
    /// column was read from `iptables-save` after `iptables-restore` of the
    /// first (see `scripts/canonical_kernel.sh`).
    #[test]
    fn rules_come_back_as_the_kernel_prints_them() {
        let text = include_str!("../../../tests/data/canonical.txt");
        let mut n = 0;
        for pair in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
            let mut lines = pair.lines().filter(|l| !l.starts_with('#'));
            let (Some(input), Some(want)) = (lines.next(), lines.next()) else {
                continue;
            };
            let input = input.trim_start_matches("-A X ");
            let want = want.trim_start_matches("-A X ");
            assert_eq!(canonical(input).as_deref(), Ok(want), "{input}");
            n += 1;
        }
        assert!(n >= 20, "only {n} cases");
    }
}
