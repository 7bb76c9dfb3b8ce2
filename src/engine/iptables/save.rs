//! `iptables-save` text: parse it into a [`Ruleset`] and print it back,
//! byte for byte for real dumps (counters, quoted comments, header lines).

use super::command::{self, Source};
use super::rule::Target;
use super::{validate, Chain, Counters, Policy, Ruleset, Table, TableName, MAX_CHAIN_NAME};
use crate::engine::error::{Errors, ParseError};
use crate::engine::lex;
use crate::engine::route::RouteType;
use crate::engine::text::{odd_char, odd_char_words, without_bom};
use std::fmt::Write as _;

/// `[packets:bytes]`.
fn parse_counters(s: &str) -> Option<Counters> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: b.parse().ok()?,
    })
}

/// Parses a whole dump. Every error is reported with its line; parsing goes
/// on after an error so that all of them can be shown at once.
pub fn parse(text: &str) -> Result<Ruleset, Errors> {
    parse_with(text, true)
}

/// Parses restore input that refers to chains it does not declare, as
/// `iptables-restore --noflush` input does when kube-proxy syncs only the
/// chains that changed. Such a ruleset is for printing, not for tracing.
pub fn parse_fragment(text: &str) -> Result<Ruleset, Errors> {
    parse_with(text, false)
}

fn parse_with(text: &str, resolve_jumps: bool) -> Result<Ruleset, Errors> {
    let mut parser = Parser::new(resolve_jumps);
    let mut at = 0;
    while at < text.len() {
        at = parser.feed(text, at, usize::MAX);
    }
    parser.finish(text)
}

/// Whether a line outside a table is a route (`default via …`, `10.0.0.0/24
/// dev …`, `route -n`'s heading or rows).
fn looks_like_route(line: &str) -> bool {
    let mut w = line.split_whitespace().peekable();
    // A route's type first (`blackhole 10.0.0.0/24`, the local table's;
    // the types not modelled too).
    w.next_if(|t| {
        RouteType::parse(t).is_some() || matches!(*t, "throw" | "multicast" | "anycast" | "nat")
    });
    let first = w.next().unwrap_or("");
    let second = w.next().unwrap_or("");
    let net = first == "default"
        || first
            .split('/')
            .next()
            .is_some_and(|a| a.parse::<std::net::Ipv4Addr>().is_ok());
    line.starts_with("Kernel IP routing table")
        || line.starts_with("Destination ")
        || (net
            && (matches!(second, "dev" | "via" | "proto" | "scope" | "metric")
                || second.parse::<std::net::Ipv4Addr>().is_ok()))
}

/// What iptables-save (nft) prints, on stderr, when the node also has
/// rules in iptables-legacy's tables.
const LEGACY_WARNING: &str = "# Warning: iptables-legacy tables present";

/// What iptables-save (nft) prints for a table where nft added a base
/// chain that iptables cannot show.
const INCOMPATIBLE_BASE: &str = "contains incompatible base-chains";

/// What the text says that its rules leave out, or may mean otherwise than
/// Packet Walk reads them, in words (empty when nothing): the node's
/// iptables-legacy tables and nft's own base chains, which its kernel runs
/// too; `-p ip`, a protocol name that differs between distributions.
pub fn notes(text: &str) -> String {
    let mut said = Vec::new();
    // Both of iptables-save's remarks are comments: the text's few `#`s
    // are found in one fast scan, not the text searched twice.
    let comments = || memchr::memchr_iter(b'#', text.as_bytes()).map(|at| &text[at..]);
    if comments().any(|c| c.starts_with(LEGACY_WARNING)) {
        said.push("iptables-save said the node also has iptables-legacy tables, which this text does not hold (iptables-legacy-save prints them): the kernel runs those rules too, so a packet may meet rules not shown here".to_string());
    }
    let mut tables: Vec<&str> = comments()
        .filter_map(|c| c.lines().next())
        .filter(|l| l.contains(INCOMPATIBLE_BASE))
        .filter_map(|l| l.split('`').nth(1)?.split('\'').next())
        .collect();
    if !tables.is_empty() {
        tables.sort_unstable();
        tables.dedup();
        let which = match tables.as_slice() {
            [one] => format!("table {one} also holds"),
            more => format!("tables {} also hold", more.join(", ")),
        };
        said.push(format!("iptables-save said {which} base chains made with nft, which it cannot show (`nft list table ip NAME` lists them): the kernel runs them too, on the same hooks, so a packet may meet rules not shown here"));
    }
    if text.contains(" -p ip ") {
        said.push("Rules here use -p ip, read as all protocols (Debian names protocol 0 ip). iptables-save never prints protocol 0, though: on a host whose /etc/protocols names another protocol ip (older openSUSE's names IPIP, 4, so), it means that one. If this dump comes from such a host, write its number (-p 4)".to_string());
    }
    said.join(". ")
}

/// Whether the line (as [`strip_newline`] gives it) is `COMMIT`.
fn is_commit(line: &str) -> bool {
    !line.starts_with('-') && line.strip_suffix('\r').unwrap_or(line).trim() == "COMMIT"
}

/// The same line as [`str::lines`] yields for `piece` (one line with its
/// `\n`, or the last line without one).
fn strip_newline(piece: &str) -> &str {
    match piece.strip_suffix('\n') {
        Some(l) => l.strip_suffix('\r').unwrap_or(l),
        None => piece,
    }
}

/// A resumable [`parse`]: the text is read a few lines at a time, so that a
/// caller (the web page) can yield to the browser between chunks.
///
/// ```
/// use packetwalk::engine::iptables::save::{self, Parser};
/// let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n";
/// let mut parser = Parser::new(true);
/// let mut at = 0;
/// while at < text.len() {
///     at = parser.feed(text, at, 2);
/// }
/// let rs = parser.finish(text).unwrap();
/// assert_eq!(save::emit(&rs), text);
/// ```
///
/// Feeding everything at once and feeding line by line give the same
/// ruleset and the same errors. A table is validated
/// ([`validate::commit`]) when its `COMMIT` line is read; that line gets a
/// [`Parser::feed`] call of its own, the costliest one for a large table
/// (about 30 ms natively for the nat table of a 10,000-service dump).
pub struct Parser {
    resolve_jumps: bool,
    rs: Ruleset,
    errors: Errors,
    /// The open table and the line of its `*name`.
    current: Option<(Table, usize)>,
    /// Comment lines outside a table, not yet attached to one.
    pending_comments: Vec<String>,
    /// The open table has rules, and a chain declared after one of them:
    /// its jumps are checked for chains declared further down.
    in_body: bool,
    declared_late: bool,
    /// Lines read so far: the number of the last line read.
    line_no: usize,
    /// Byte offset where the last [`Parser::feed`] stopped reading.
    stopped_at: usize,
    /// Lines outside a table were reported since the last table opened:
    /// the first says what is wrong, the rest would only repeat it (a
    /// misspelt `*nat` would make every line of its table one).
    stray_reported: bool,
    /// Inside a table whose `*name` is unknown: its lines, up to its
    /// COMMIT, are skipped (the `*name` line was reported).
    skipping_table: bool,
    /// The line iptables-save's legacy warning cut (its rest is next).
    cut_by_warning: Option<usize>,
}

impl Parser {
    /// A parser for a whole dump (`resolve_jumps`, as [`parse`]) or for
    /// restore fragments (as [`parse_fragment`]).
    pub fn new(resolve_jumps: bool) -> Parser {
        Parser {
            resolve_jumps,
            rs: Ruleset::default(),
            errors: Errors::default(),
            current: None,
            pending_comments: Vec::new(),
            in_body: false,
            declared_late: false,
            line_no: 0,
            stopped_at: 0,
            stray_reported: false,
            skipping_table: false,
            cut_by_warning: None,
        }
    }

    /// Reads up to `max_lines` lines (at least one) of `text`, starting at
    /// byte `from_byte`, which must be a line start: 0 at first, then what
    /// the previous call returned. Returns the byte offset of the next
    /// unread line, or `text.len()` when there is nothing more to read
    /// (the end of the text, or [`MAX_ERRORS`](crate::engine::error::MAX_ERRORS)
    /// errors). Line numbers in errors count across calls.
    ///
    /// The `COMMIT` of an open table, which validates the whole table, is
    /// read in a call of its own: the call before it stops in front of it,
    /// and the call that reads it stops after it. A call may therefore read
    /// fewer than `max_lines` lines; feed until `text.len()` comes back.
    pub fn feed(&mut self, text: &str, from_byte: usize, max_lines: usize) -> usize {
        let mut pos = from_byte.min(text.len());
        // Not a char boundary (a caller's mistake): skip to one rather than panic.
        while !text.is_char_boundary(pos) {
            pos += 1;
        }
        let mut words = Vec::with_capacity(32);
        let max_lines = max_lines.max(1);
        let mut read = 0;
        while read < max_lines && pos < text.len() && !self.errors.full() {
            let rest = &text[pos..];
            // One scan finds the line's end, and whether a `\r` or a `#`
            // (which [`Parser::line`] looks into) comes before it: on a
            // dump's 150,000 rules, neither does.
            let (piece, plain) = match memchr::memchr3(b'\n', b'\r', b'#', rest.as_bytes()) {
                Some(i) if rest.as_bytes()[i] == b'\n' => (&rest[..=i], true),
                _ => match rest.find('\n') {
                    Some(i) => (&rest[..=i], false),
                    None => (rest, false),
                },
            };
            // A byte-order mark before the first line is not part of it.
            let line = match pos {
                0 => without_bom(strip_newline(piece)),
                _ => strip_newline(piece),
            };
            let commit = self.current.is_some() && is_commit(line);
            if commit && read > 0 {
                break;
            }
            pos += piece.len();
            read += 1;
            self.line_no += 1;
            let before = self.errors.0.len();
            self.line(line, plain, &mut words);
            // A space that is none to iptables (a paste from a web page)
            // makes an error that names the word it is in: it is named.
            // (Looked for only on a line with an error: not on 150,000
            // good ones.)
            let odd = || odd_char(line);
            if let Some((e, (col, c))) = self
                .errors
                .0
                .get_mut(before)
                .and_then(|e| Some((e, odd()?)))
            {
                let in_word = (col >= e.column)
                    && !(line
                        .chars()
                        .skip(e.column.saturating_sub(1))
                        .take(col - e.column))
                    .any(|c| c == ' ' || c == '\t');
                if !c.is_control() && e.line == self.line_no && in_word {
                    e.message += &format!("; column {col} holds {}", odd_char_words(c));
                }
            }
            if commit {
                break;
            }
        }
        self.stopped_at = pos;
        if self.errors.full() {
            text.len()
        } else {
            pos
        }
    }

    /// Ends the input: a table left open is an error, and comments after
    /// the last table are attached. `text` is the text given to
    /// [`Parser::feed`] (its line count names the line of that error).
    pub fn finish(mut self, text: &str) -> Result<Ruleset, Errors> {
        if let Some((_, start)) = self.current.take() {
            let unread = text.get(self.stopped_at..).map_or(0, |r| r.lines().count());
            self.errors.push(
                ParseError::new(
                    (self.line_no + unread).max(1),
                    1,
                    format!("table started at line {start} is never committed"),
                )
                .expected("COMMIT"),
            );
        }
        let mut pending_comments = self.pending_comments;
        let mut rs = self.rs;
        if let Some(prev) = rs.tables.last_mut() {
            let split = pending_comments
                .iter()
                .position(|c| !c.starts_with("# Completed"))
                .unwrap_or(pending_comments.len());
            prev.comments_after.extend(pending_comments.drain(..split));
        }
        rs.trailing_comments = pending_comments;
        // The sets rules test, made by ipset lines anywhere in the text
        // (a set missing is explained once, at its first rule).
        let mut told: Vec<(String, usize)> = Vec::new();
        let bad = rs.ipsets.bad_rules(&rs);
        // The lines, split once (not once per error: a dump's thousands
        // of set rules without its ipset lines).
        let lines: Vec<&str> = if bad.is_empty() {
            Vec::new()
        } else {
            text.lines().collect()
        };
        for (line, what, why) in bad {
            if self.errors.full() {
                break;
            }
            let missing = why
                .strip_prefix("there is no set ")
                .and_then(|r| r.split_whitespace().next());
            let why = match (
                missing,
                told.iter().find(|(n, _)| Some(n.as_str()) == missing),
            ) {
                (Some(name), Some((_, first))) => {
                    format!("there is no set {name} (see line {first})")
                }
                (Some(name), None) => {
                    told.push((name.to_string(), line));
                    why
                }
                (None, _) => why,
            };
            let column = (lines.get(line.wrapping_sub(1)))
                .and_then(|l| l.find(what).map(|at| lex::column(l, at)))
                .unwrap_or(1);
            self.errors.push(ParseError::new(line, column, why));
        }
        if self.errors.is_empty() {
            Ok(rs)
        } else {
            // In the order of the text (a table's COMMIT reports its
            // chains' errors after the lines read before it).
            self.errors.0.sort_by_key(|e| (e.line, e.column));
            Err(self.errors)
        }
    }

    /// Reads one line (without its line ending), number `self.line_no`.
    /// Reads one line; `plain`: it holds no `\r` and no `#`.
    fn line<'t>(&mut self, raw: &'t str, plain: bool, words: &mut Vec<lex::Word<'t>>) {
        let line_no = self.line_no;
        let errors = &mut self.errors;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        // Lines that end in CR alone are one line here, a comment's maybe.
        if let Some(at) = (!plain).then(|| line.find('\r')).flatten() {
            let col = lex::column(line, at);
            errors.push(ParseError::new(line_no, col, odd_char_words('\r')));
            return;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return;
        }
        // The rest of a line that iptables-save's warning (on stderr,
        // saved with 2>&1) cut in two.
        if let Some(cut) = self.cut_by_warning.take() {
            errors.push(ParseError::new(
                line_no,
                1,
                format!("this is the rest of line {cut}, which iptables-save's warning cut in two: join them"),
            ));
            return;
        }
        let warned = ((!plain).then(|| line.find('#')).flatten())
            .filter(|&at| !line[..at].trim().is_empty() && line[at..].starts_with(LEGACY_WARNING));
        if let Some(at) = warned {
            self.cut_by_warning = Some(line_no);
            errors.push(ParseError::new(
                line_no,
                lex::column(line, at),
                "iptables-save's warning about iptables-legacy tables (which it prints on stderr) landed in the middle of this rule: the output was saved with 2>&1. Take the warning out and join the rule's two parts, or save again with 2>/dev/null",
            ));
            return;
        }
        if trimmed.starts_with('#') {
            if trimmed.starts_with("# Generated by ip6tables") {
                errors.push(ParseError::new(
                    line_no,
                    1,
                    "this is ip6tables-save output (IPv6 rules): Packet Walk simulates IPv4, so give it what iptables-save prints",
                ));
            } else if let Some(rest) = trimmed.strip_prefix("# Table `") {
                let table = rest.split('\'').next().unwrap_or(rest);
                if trimmed.contains("is incompatible") {
                    errors.push(ParseError::new(
                        line_no,
                        1,
                        format!("iptables-save could not print table {table}: it holds rules made with nft that iptables cannot show, so this dump leaves the table out, and a trace would run without it. `nft list table ip {table}` shows them; take them out on the node (or run the iptables its rules were made with) and save again"),
                    ));
                }
            }
            match &mut self.current {
                Some(_) => {} // comments inside a table are dropped, as iptables-restore does
                None => self.pending_comments.push(line.to_string()),
            }
            return;
        }
        if let Some(name) = trimmed.strip_prefix('*') {
            if let Some((_, start)) = &self.current {
                errors.push(
                    ParseError::new(
                        line_no,
                        1,
                        format!("table started before the table of line {start} was committed"),
                    )
                    .expected("COMMIT"),
                );
                self.current = None;
            }
            self.stray_reported = false;
            self.skipping_table = false;
            match TableName::parse(name) {
                Some(t) => {
                    if self.rs.table(t).is_some() {
                        errors.push(ParseError::new(
                            line_no,
                            2,
                            format!("table {name} appears twice"),
                        ));
                    }
                    let mut table = Table::empty(t);
                    // After a table's COMMIT, comments before the next `*` are
                    // split: the "Completed on" line closes the previous table.
                    if let Some(prev) = self.rs.tables.last_mut() {
                        let split = self
                            .pending_comments
                            .iter()
                            .position(|c| !c.starts_with("# Completed"))
                            .unwrap_or(self.pending_comments.len());
                        prev.comments_after
                            .extend(self.pending_comments.drain(..split));
                    }
                    table.comments_before = std::mem::take(&mut self.pending_comments);
                    self.current = Some((table, line_no));
                    (self.in_body, self.declared_late) = (false, false);
                }
                None => {
                    errors.push(
                        ParseError::new(
                            line_no,
                            2,
                            format!(
                                "unknown table \"{name}\": the lines up to its COMMIT are skipped"
                            ),
                        )
                        .expected("raw, mangle, nat, filter or security"),
                    );
                    // Its lines are not reported one by one.
                    self.skipping_table = true;
                }
            }
            return;
        }
        let Some((table, _)) = &mut self.current else {
            // The lines of a table that did not open (misspelt), up to
            // its COMMIT, were reported with its `*name`.
            if self.skipping_table {
                self.skipping_table = trimmed != "COMMIT";
                return;
            }
            // `ipset save` output before the tables: the sets rules test.
            if trimmed.starts_with("create ") || trimmed.starts_with("add ") {
                let sets = &mut self.rs.ipsets;
                if sets.is_empty() {
                    sets.before_table = self.rs.tables.len();
                }
                if let Err(e) = sets.read_line(line, line_no) {
                    errors.push(e);
                }
                return;
            }
            if std::mem::replace(&mut self.stray_reported, true) {
                return;
            }
            // Other listings of the same rules, pasted by mistake.
            let what = if trimmed.starts_with("-P ") || trimmed.starts_with("-N ") {
                ": this looks like iptables -S output; Packet Walk reads iptables-save output (per table: *nat, its chains, its rules, COMMIT)"
            } else if trimmed.starts_with("Chain ")
                || trimmed.starts_with("target ")
                || trimmed.starts_with("pkts ")
                || trimmed.starts_with("num ")
            {
                ": this looks like iptables -L output; Packet Walk reads iptables-save output (per table: *nat, its chains, its rules, COMMIT)"
            } else if trimmed.starts_with("table ") {
                ": this looks like nft list ruleset output; Packet Walk reads iptables-save output (iptables-nft-save prints the same rules that way)"
            } else if trimmed.starts_with(['{', '[']) {
                ": this is JSON, not iptables-save output (a scenario file opens with Import…)"
            } else if ["Name: ", "Type: ", "Revision: ", "Header: ", "Members:"]
                .iter()
                .any(|p| trimmed.starts_with(p))
            {
                ": this is ipset list output; Packet Walk reads the lines of ipset save (create and add) before the rules: ipset save; iptables-save"
            } else if trimmed.starts_with("$ ")
                || trimmed.contains(":~#")
                || trimmed.contains(":~$")
                || trimmed
                    .split_whitespace()
                    .any(|w| w.ends_with("iptables-save"))
            {
                ": this looks like a shell prompt and the command typed at it; take the line out (only what iptables-save printed belongs here)"
            } else if looks_like_route(trimmed) {
                ": this is an ip route or route -n listing (routes), not iptables-save text: it goes in the routes"
            } else {
                ""
            };
            // (What the line is, when it can say, is the whole answer.)
            let e = ParseError::new(line_no, 1, format!("line outside a table{what}"));
            errors.push(if what.is_empty() {
                e.expected("*raw, *mangle, *nat, *filter or *security")
            } else {
                e
            });
            return;
        };
        if trimmed == "COMMIT" {
            let Some((mut table, _)) = self.current.take() else {
                return; // unreachable: a table is open
            };
            // Built-in chains the dump did not declare still exist.
            for h in table.name.builtin_hooks() {
                if table.chain(h.chain_name()).is_none() {
                    let mut c = Chain::new(h.chain_name(), Some(Policy::Accept), 0);
                    c.implicit = true;
                    table.insert_chain(0, c);
                }
            }
            // iptables-restore makes the chains as it reads them: a jump
            // to one declared further down finds none (measured with
            // 1.8.9: "Chain 'FOO' does not exist").
            let late = std::mem::take(&mut self.declared_late);
            for c in table.chains.iter().filter(|_| late) {
                for r in c
                    .rules
                    .iter()
                    .filter(|r| matches!(r.target, Target::Jump { .. }))
                {
                    let name = r.target_name();
                    let Some(later) = table.chain(name).map(|t| t.line).filter(|l| *l > r.line)
                    else {
                        continue;
                    };
                    errors.push(ParseError::new(
                        r.line,
                        validate::col(&c.name, &r.args, name),
                        format!("chain {name} is declared on line {later}, after this rule: a chain must be declared before a rule jumps to it (iptables-restore: Chain '{name}' does not exist)"),
                    ));
                }
            }
            if let Err(e) = validate::commit(&mut table, self.resolve_jumps) {
                for x in e.0 {
                    errors.push(x);
                }
            }
            self.rs.tables.push(table);
            return;
        }
        if let Some(decl) = line.trim_start().strip_prefix(':') {
            let offset = line.len() - line.trim_start().len() + 1;
            // (A declaration may follow rules: iptables-restore 1.8.9 takes
            // `:FOO - [0:0]` after `-A INPUT …`, measured on Linux 6.18.)
            self.declared_late |= self.in_body;
            // (Split on ASCII blanks, as a rule's words are: a no-break
            // space is none to iptables-restore, which splits on spaces and
            // tabs.)
            let mut parts = decl.split_ascii_whitespace();
            let (name, policy_word, counters_word) =
                (parts.next().unwrap_or(""), parts.next(), parts.next());
            if name.is_empty() {
                errors.push(ParseError::new(
                    line_no,
                    offset + 1,
                    "chain declaration without a name",
                ));
                return;
            }
            let mut bad_policy = false;
            let policy = match policy_word {
                Some("-") | None => None,
                Some("ACCEPT") => Some(Policy::Accept),
                Some("DROP") => Some(Policy::Drop),
                Some(other) => {
                    let col = lex::column(line, lex::offset_in(line, other).unwrap_or(0));
                    // (`:FOO\u{a0}- [0:0]` reads as chain `FOO\u{a0}-`, policy
                    // `[0:0]`, to iptables-restore as here.)
                    let odd = crate::engine::text::odd_char(name)
                        .map(|(_, c)| {
                            format!(
                                ": the chain's name holds {}",
                                crate::engine::text::odd_char_words(c)
                            )
                        })
                        .unwrap_or_default();
                    errors.push(
                        ParseError::new(line_no, col, format!("bad policy \"{other}\"{odd}"))
                            .expected("ACCEPT, DROP or -"),
                    );
                    // Declared all the same (below), so that its rules are
                    // not reported as rules of a missing chain.
                    bad_policy = true;
                    None
                }
            };
            let builtin = table
                .name
                .builtin_hooks()
                .iter()
                .any(|h| h.chain_name() == name);
            // A mistake in the declaration is reported and the chain is
            // still declared, so its rules and jumps are not reported again.
            let mut policy = if bad_policy && builtin {
                Some(Policy::Accept)
            } else {
                policy
            };
            if !builtin && policy.is_some() {
                errors.push(ParseError::new(
                    line_no,
                    offset,
                    format!(
                        "{name} is not a built-in chain of table {}, so it cannot have a policy (write \":{name} - [0:0]\")",
                        table.name
                    ),
                ));
                policy = None;
            }
            // (`iptables -t nat -P PREROUTING DROP` is refused, but
            // iptables-restore takes a nat chain's DROP policy, and the
            // kernel applies it: measured with iptables 1.8.9 on Linux 6.18.)
            if name.len() > MAX_CHAIN_NAME {
                errors.push(ParseError::new(
                    line_no,
                    offset,
                    format!(
                        "chain name {name} is {} characters long; iptables allows at most {MAX_CHAIN_NAME}",
                        name.len()
                    ),
                ));
            }
            let counters = match counters_word {
                Some(c) => match parse_counters(c) {
                    Some(c) => c,
                    None => {
                        let col = lex::column(line, lex::offset_in(line, c).unwrap_or(0));
                        errors.push(
                            ParseError::new(line_no, col, format!("bad counters \"{c}\""))
                                .expected("[packets:bytes]"),
                        );
                        return;
                    }
                },
                None => Counters::default(),
            };
            // A built-in chain declared again, or after an `-A` made it:
            // the last line gives it its policy and counters
            // (iptables-restore 1.8.9 takes both, measured on Linux 6.18).
            if let Some(i) = builtin.then(|| table.chain_index(name)).flatten() {
                let c = &mut table.chains[i];
                (c.policy, c.counters, c.line, c.implicit) = (
                    Some(policy.unwrap_or(Policy::Accept)),
                    counters,
                    line_no,
                    false,
                );
                return;
            }
            if table.declared(name) {
                let first = (table.chains.iter().find(|c| c.name == name))
                    .map(|c| format!(" (first at line {})", c.line))
                    .unwrap_or_default();
                errors.push(ParseError::new(
                    line_no,
                    offset,
                    format!("chain {name} declared twice{first}"),
                ));
                return;
            }
            let mut chain = Chain::new(
                name,
                if builtin {
                    Some(policy.unwrap_or(Policy::Accept))
                } else {
                    None
                },
                line_no,
            );
            chain.counters = counters;
            table.push_chain(chain);
            return;
        }
        self.in_body = true;
        if let Err((at, m)) = lex::words_into(line, words) {
            errors.push(ParseError::new(line_no, lex::column(line, at), m));
            return;
        }
        let (counters, words) = match words.first() {
            Some(w) if w.text.starts_with('[') => match parse_counters(&w.text) {
                Some(c) => (Some(c), &words[1..]),
                None => {
                    errors.push(
                        ParseError::new(
                            line_no,
                            lex::column(line, w.start),
                            format!("bad counters \"{}\"", w.text),
                        )
                        .expected("[packets:bytes]"),
                    );
                    return;
                }
            },
            _ => (None, &words[..]),
        };
        // A built-in chain exists whether the dump declares it or not
        // (iptables-restore takes `-A PREROUTING` in a `*raw` with no
        // `:PREROUTING` line).
        if let (Some(cmd), Some(name)) = (words.first(), words.get(1)) {
            let adds = matches!(cmd.text.as_ref(), "-A" | "--append" | "-I" | "--insert");
            let hook = (table.name.builtin_hooks().iter()).find(|h| h.chain_name() == name.text);
            if let (true, Some(h), None) = (adds, hook, table.chain(&name.text)) {
                let mut c = Chain::new(h.chain_name(), Some(Policy::Accept), 0);
                c.implicit = true;
                table.insert_chain(0, c);
            }
        }
        if let Err(e) = command::apply(table, words, &Source { line, line_no }, counters) {
            errors.push(e);
        }
    }
}

/// Prints the ruleset as `iptables-save` does.
pub fn emit(rs: &Ruleset) -> String {
    let mut out = String::new();
    for (k, t) in rs.tables.iter().enumerate() {
        if k == rs.ipsets.before_table {
            emit_ipsets(rs, &mut out);
        }
        emit_table(t, &mut out);
    }
    if rs.ipsets.before_table >= rs.tables.len() {
        emit_ipsets(rs, &mut out);
    }
    for c in &rs.trailing_comments {
        out.push_str(c);
        out.push('\n');
    }
    out
}

/// [`emit`], with every chain's and rule's `line` set to its line in the
/// text returned, as [`parse`] of that text would set them (without
/// parsing 12 MB again after one command).
pub fn emit_numbered(rs: &mut Ruleset) -> String {
    let mut line = 0;
    for (k, t) in rs.tables.iter_mut().enumerate() {
        if k == rs.ipsets.before_table {
            line += rs.ipsets.lines.len();
        }
        line += t.comments_before.len() + 1;
        for c in t.chains.iter_mut().filter(|c| !c.implicit) {
            line += 1;
            c.line = line;
        }
        for c in &mut t.chains {
            for r in &mut c.rules {
                line += 1;
                r.line = line;
            }
        }
        line += t.chains.iter().filter(|c| c.deleted).count() + 1 + t.comments_after.len();
    }
    emit(rs)
}

fn emit_ipsets(rs: &Ruleset, out: &mut String) {
    for l in &rs.ipsets.lines {
        out.push_str(l);
        out.push('\n');
    }
}

fn emit_table(t: &Table, out: &mut String) {
    for c in &t.comments_before {
        out.push_str(c);
        out.push('\n');
    }
    let _ = writeln!(out, "*{}", t.name);
    for c in t.chains.iter().filter(|c| !c.implicit) {
        let policy = c.policy.map(Policy::as_str).unwrap_or("-");
        let _ = writeln!(
            out,
            ":{} {} [{}:{}]",
            c.name, policy, c.counters.packets, c.counters.bytes
        );
    }
    for c in &t.chains {
        for r in &c.rules {
            if let Some(k) = r.counters {
                let _ = write!(out, "[{}:{}] ", k.packets, k.bytes);
            }
            out.push_str("-A ");
            out.push_str(&c.name);
            if !r.args.is_empty() {
                out.push(' ');
                out.push_str(&r.args);
            }
            out.push('\n');
        }
    }
    for c in t.chains.iter().filter(|c| c.deleted) {
        let _ = writeln!(out, "-X {}", c.name);
    }
    out.push_str("COMMIT\n");
    for c in &t.comments_after {
        out.push_str(c);
        out.push('\n');
    }
}
