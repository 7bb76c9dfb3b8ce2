//! `iptables-save` text: parse it into a [`Ruleset`] and print it back,
//! byte for byte for real dumps (counters, quoted comments, header lines).

use super::command::{self, Source};
use super::{validate, Chain, Counters, Policy, Ruleset, Table, TableName};
use crate::engine::error::{Errors, ParseError};
use crate::engine::lex;
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
    let mut rs = Ruleset::default();
    let mut errors = Errors::default();
    let mut current: Option<(Table, usize)> = None;
    let mut pending_comments: Vec<String> = Vec::new();
    let mut in_body = false;
    let mut words = Vec::with_capacity(32);
    for (idx, raw) in text.lines().enumerate() {
        if errors.full() {
            break;
        }
        let line_no = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('#') {
            match &mut current {
                Some(_) => {} // comments inside a table are dropped, as iptables-restore does
                None => pending_comments.push(line.to_string()),
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('*') {
            if let Some((_, start)) = &current {
                errors.push(
                    ParseError::new(
                        line_no,
                        1,
                        format!("table started before the table of line {start} was committed"),
                    )
                    .expected("COMMIT"),
                );
                current = None;
            }
            match TableName::parse(name) {
                Some(t) => {
                    if rs.table(t).is_some() {
                        errors.push(ParseError::new(
                            line_no,
                            2,
                            format!("table {name} appears twice"),
                        ));
                    }
                    let mut table = Table::empty(t);
                    // After a table's COMMIT, comments before the next `*` are
                    // split: the "Completed on" line closes the previous table.
                    if let Some(prev) = rs.tables.last_mut() {
                        let split = pending_comments
                            .iter()
                            .position(|c| !c.starts_with("# Completed"))
                            .unwrap_or(pending_comments.len());
                        prev.comments_after.extend(pending_comments.drain(..split));
                    }
                    table.comments_before = std::mem::take(&mut pending_comments);
                    current = Some((table, line_no));
                    in_body = false;
                }
                None => {
                    errors.push(
                        ParseError::new(line_no, 2, format!("unknown table \"{name}\""))
                            .expected("raw, mangle, nat, filter or security"),
                    );
                }
            }
            continue;
        }
        let Some((table, _)) = &mut current else {
            errors.push(
                ParseError::new(line_no, 1, "line outside a table")
                    .expected("*raw, *mangle, *nat, *filter or *security"),
            );
            continue;
        };
        if trimmed == "COMMIT" {
            let (mut table, _) = current.take().expect("in a table");
            // Built-in chains the dump did not declare still exist.
            for h in table.name.builtin_hooks() {
                if table.chain(h.chain_name()).is_none() {
                    let mut c = Chain::new(h.chain_name(), Some(Policy::Accept), 0);
                    c.implicit = true;
                    table.insert_chain(0, c);
                }
            }
            if let Err(e) = validate::commit(&mut table, resolve_jumps) {
                for x in e.0 {
                    errors.push(x);
                }
            }
            rs.tables.push(table);
            continue;
        }
        if let Some(decl) = line.trim_start().strip_prefix(':') {
            let offset = line.len() - line.trim_start().len() + 1;
            if in_body {
                errors.push(ParseError::new(
                    line_no,
                    1,
                    "chain declared after the first rule",
                ));
            }
            let parts: Vec<&str> = decl.split_whitespace().collect();
            let name = parts.first().copied().unwrap_or("");
            if name.is_empty() {
                errors.push(ParseError::new(
                    line_no,
                    offset + 1,
                    "chain declaration without a name",
                ));
                continue;
            }
            let policy = match parts.get(1).copied() {
                Some("-") | None => None,
                Some("ACCEPT") => Some(Policy::Accept),
                Some("DROP") => Some(Policy::Drop),
                Some(other) => {
                    let col = lex::column(line, line.find(other).unwrap_or(0));
                    errors.push(
                        ParseError::new(line_no, col, format!("bad policy \"{other}\""))
                            .expected("ACCEPT, DROP or -"),
                    );
                    continue;
                }
            };
            let builtin = table
                .name
                .builtin_hooks()
                .iter()
                .any(|h| h.chain_name() == name);
            if table.name == TableName::Nat && policy == Some(Policy::Drop) {
                let col = lex::column(line, line.find("DROP").unwrap_or(0));
                errors.push(ParseError::new(
                    line_no,
                    col,
                    "the nat table is not intended for filtering, hence policies other than ACCEPT are not allowed",
                ));
                continue;
            }
            if builtin && policy.is_none() {
                // kube-proxy's restore input declares built-ins with "-": keep the chain's policy.
            } else if !builtin && policy.is_some() {
                errors.push(ParseError::new(
                    line_no,
                    offset,
                    format!(
                        "{name} is not a built-in chain of table {}, so it cannot have a policy",
                        table.name
                    ),
                ));
                continue;
            }
            let counters = match parts.get(2) {
                Some(c) => match parse_counters(c) {
                    Some(c) => c,
                    None => {
                        let col = lex::column(line, line.find(c).unwrap_or(0));
                        errors.push(
                            ParseError::new(line_no, col, format!("bad counters \"{c}\""))
                                .expected("[packets:bytes]"),
                        );
                        continue;
                    }
                },
                None => Counters::default(),
            };
            if table.declared(name) {
                errors.push(ParseError::new(
                    line_no,
                    offset,
                    format!("chain {name} declared twice"),
                ));
                continue;
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
            continue;
        }
        in_body = true;
        if let Err((at, m)) = lex::words_into(line, &mut words) {
            errors.push(ParseError::new(line_no, lex::column(line, at), m));
            continue;
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
                    continue;
                }
            },
            _ => (None, &words[..]),
        };
        if let Err(e) = command::apply(table, words, &Source { line, line_no }, counters) {
            errors.push(e);
        }
    }
    if let Some((_, start)) = current {
        errors.push(
            ParseError::new(
                text.lines().count().max(1),
                1,
                format!("table started at line {start} is never committed"),
            )
            .expected("COMMIT"),
        );
    }
    if let Some(prev) = rs.tables.last_mut() {
        let split = pending_comments
            .iter()
            .position(|c| !c.starts_with("# Completed"))
            .unwrap_or(pending_comments.len());
        prev.comments_after.extend(pending_comments.drain(..split));
    }
    rs.trailing_comments = pending_comments;
    if errors.is_empty() {
        Ok(rs)
    } else {
        Err(errors)
    }
}

/// Prints the ruleset as `iptables-save` does.
pub fn emit(rs: &Ruleset) -> String {
    let mut out = String::new();
    for t in &rs.tables {
        emit_table(t, &mut out);
    }
    for c in &rs.trailing_comments {
        out.push_str(c);
        out.push('\n');
    }
    out
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
