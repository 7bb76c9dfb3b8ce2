//! Single iptables commands (`-A -I -D -R -N -X -F -Z -P`), applied to a
//! table. `iptables-restore` bodies are the same commands, one per line, so
//! the dump parser uses these too.

use super::rule::{parse_rule, Rule};
use super::{validate, Chain, Counters, Policy, Ruleset, Table, TableName};
use crate::engine::error::{Errors, ParseError};
use crate::engine::lex::{self, Word};

/// Where a command came from, for error positions.
pub struct Source<'a> {
    pub line: &'a str,
    pub line_no: usize,
}

impl Source<'_> {
    fn err(&self, byte: usize, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.line_no, lex::column(self.line, byte), msg)
    }
}

const BUILTIN_NAMES: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

fn chain_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= super::MAX_CHAIN_NAME
        && !name.starts_with('-')
        && !name.starts_with('!')
        && name.chars().all(|c| !c.is_whitespace())
}

/// Whether two rules are the same rule, as `iptables -D` compares them: the
/// same matches (wherever they stand in the text), comment and target.
fn same_rule(a: &Rule, b: &Rule) -> bool {
    let target = match (&a.target, &b.target) {
        (super::Target::Jump { goto: ga, .. }, super::Target::Jump { goto: gb, .. }) => {
            ga == gb && a.target_name() == b.target_name()
        }
        (x, y) => x == y,
    };
    target
        && a.comment() == b.comment()
        && a.matches.len() == b.matches.len()
        && a.matches
            .iter()
            .zip(&b.matches)
            .all(|(x, y)| x.negated == y.negated && x.kind == y.kind)
}

/// Applies one command (its words start with the command option) to `table`.
/// `counters` is a `[p:b]` prefix read before it.
pub fn apply(
    table: &mut Table,
    words: &[Word<'_>],
    src: &Source<'_>,
    counters: Option<Counters>,
) -> Result<(), ParseError> {
    let Some(cmd) = words.first() else {
        return Err(src.err(0, "empty command"));
    };
    let chain_word = words.get(1);
    let need_chain = || -> Result<&Word<'_>, ParseError> {
        chain_word.ok_or_else(|| {
            src.err(
                cmd.start + cmd.text.len(),
                format!("{} needs a chain name", cmd.text),
            )
        })
    };
    let existing = |name: &Word<'_>, table: &Table| -> Result<usize, ParseError> {
        table.chain_index(&name.text).ok_or_else(|| {
            src.err(
                name.start,
                format!("no chain \"{}\" in table {}", name.text, table.name),
            )
        })
    };
    // Rule words start after the chain (and, for -I/-R/-D n, a number).
    let rule_from = |k: usize| -> Result<Rule, ParseError> {
        let start = words.get(k).map(|w| w.start).unwrap_or(src.line.len());
        let mut r = parse_rule(src.line, src.line_no, start, &words[k.min(words.len())..])?;
        if counters.is_some() {
            r.counters = counters;
        }
        Ok(r)
    };
    // A long number cut for its message.
    let shown_number = |t: &str| match t.len() {
        0..=20 => t.to_string(),
        n => format!("{}… ({n} digits)", &t[..20]),
    };
    let number = |k: usize| -> Option<Result<usize, ParseError>> {
        let w = words.get(k)?;
        if w.text.chars().all(|c| c.is_ascii_digit()) && !w.quoted {
            Some(match w.text.parse::<usize>() {
                Ok(n) if (1..=i32::MAX as usize).contains(&n) => Ok(n),
                Ok(0) => Err(src.err(w.start, "rule numbers start at 1 (iptables: Invalid rule number `0')")),
                _ => Err(src.err(w.start, format!("rule number {} is out of range: a chain's rules are numbered from 1 (iptables: Invalid rule number)", shown_number(&w.text)))),
            })
        } else {
            None
        }
    };
    match cmd.text.as_ref() {
        "-A" | "--append" => {
            let name = need_chain()?;
            let c = existing(name, table)?;
            let r = rule_from(2)?;
            table.chains[c].rules.push(r);
            table.chains[c].implicit = false;
        }
        "-I" | "--insert" => {
            let name = need_chain()?;
            let c = existing(name, table)?;
            let (pos, k) = match number(2) {
                Some(n) => (n?, 3),
                None => (1, 2),
            };
            let len = table.chains[c].rules.len();
            if pos > len + 1 {
                return Err(src.err(
                    words[2].start,
                    format!(
                        "index of insertion too big: chain {} has {len} rules",
                        name.text
                    ),
                ));
            }
            let r = rule_from(k)?;
            table.chains[c].rules.insert(pos - 1, r);
            table.chains[c].implicit = false;
        }
        "-R" | "--replace" => {
            let name = need_chain()?;
            let c = existing(name, table)?;
            let n = number(2)
                .ok_or_else(|| src.err(name.start + name.text.len(), "-R needs a rule number"))??;
            let len = table.chains[c].rules.len();
            if n > len {
                return Err(src.err(
                    words[2].start,
                    format!(
                        "index of replacement too big: chain {} has {len} rules",
                        name.text
                    ),
                ));
            }
            let r = rule_from(3)?;
            table.chains[c].rules[n - 1] = r;
        }
        "-D" | "--delete" => {
            let name = need_chain()?;
            let c = existing(name, table)?;
            match number(2) {
                Some(n) => {
                    let n = n?;
                    let len = table.chains[c].rules.len();
                    if n > len {
                        return Err(src.err(
                            words[2].start,
                            format!(
                                "index of deletion too big: chain {} has {len} rules",
                                name.text
                            ),
                        ));
                    }
                    table.chains[c].rules.remove(n - 1);
                }
                None => {
                    let r = rule_from(2)?;
                    let pos = table.chains[c]
                        .rules
                        .iter()
                        .position(|x| same_rule(x, &r))
                        .ok_or_else(|| {
                            src.err(
                                words.get(2).map(|w| w.start).unwrap_or(0),
                                "bad rule (does a matching rule exist in that chain?)",
                            )
                        })?;
                    table.chains[c].rules.remove(pos);
                }
            }
        }
        "-N" | "--new-chain" => {
            let name = need_chain()?;
            if !chain_name_ok(&name.text) {
                return Err(src.err(name.start, format!("invalid chain name \"{}\" (at most 28 characters, no spaces, not starting with - or !)", name.text)));
            }
            if table.chain_index(&name.text).is_some()
                || BUILTIN_NAMES.contains(&name.text.as_ref())
            {
                return Err(src.err(
                    name.start,
                    format!("chain \"{}\" already exists", name.text),
                ));
            }
            if table.declared(&name.text) {
                let i = table
                    .chains
                    .iter()
                    .position(|c| c.name == name.text)
                    .expect("declared");
                table.chains[i].deleted = false;
            } else {
                table.push_chain(Chain::new(&name.text, None, src.line_no));
            }
        }
        "-X" | "--delete-chain" => {
            let name = need_chain()?;
            let c = existing(name, table)?;
            if table.chains[c].is_builtin() {
                return Err(src.err(name.start, "a built-in chain cannot be deleted"));
            }
            if !table.chains[c].rules.is_empty() {
                return Err(src.err(
                    name.start,
                    format!(
                        "chain \"{}\" is not empty (flush it with -F first)",
                        name.text
                    ),
                ));
            }
            let referenced = table.chains.iter().flat_map(|ch| &ch.rules).any(|r| {
                matches!(r.target, super::Target::Jump { .. }) && r.target_name() == name.text
            });
            if referenced {
                return Err(src.err(
                    name.start,
                    format!("chain \"{}\" is still referenced by a rule", name.text),
                ));
            }
            table.chains[c].deleted = true;
        }
        "-F" | "--flush" => match chain_word {
            Some(name) => {
                let c = existing(name, table)?;
                table.chains[c].rules.clear();
            }
            None => table.chains.iter_mut().for_each(|c| c.rules.clear()),
        },
        "-Z" | "--zero" => {
            let zero = |c: &mut Chain| {
                c.counters = Counters::default();
                c.rules
                    .iter_mut()
                    .for_each(|r| r.counters = r.counters.map(|_| Counters::default()));
            };
            match chain_word {
                Some(name) => {
                    let c = existing(name, table)?;
                    zero(&mut table.chains[c]);
                }
                None => table.chains.iter_mut().for_each(zero),
            }
        }
        "-P" | "--policy" => {
            let name = need_chain()?;
            let c = existing(name, table)?;
            let p = words.get(2).ok_or_else(|| {
                src.err(
                    name.start + name.text.len(),
                    "-P needs a policy (ACCEPT or DROP)",
                )
            })?;
            if !table.chains[c].is_builtin() {
                return Err(src.err(name.start, "only built-in chains have a policy"));
            }
            if table.name == TableName::Nat && p.text != "ACCEPT" {
                return Err(src.err(
                    p.start,
                    "the nat table is not intended for filtering, hence policies other than ACCEPT are not allowed",
                ));
            }
            table.chains[c].implicit = false;
            table.chains[c].policy = Some(match p.text.as_ref() {
                "ACCEPT" => Policy::Accept,
                "DROP" => Policy::Drop,
                other => {
                    return Err(src
                        .err(p.start, format!("bad policy \"{other}\""))
                        .expected("ACCEPT or DROP"))
                }
            });
        }
        other => {
            return Err(src
                .err(cmd.start, format!("unknown command \"{other}\""))
                .expected("-A, -I, -R, -D, -N, -X, -F, -Z or -P"))
        }
    }
    Ok(())
}

/// Applies a single command line such as
/// `iptables -t nat -I KUBE-SERVICES 1 -d 10.96.0.10/32 -j DROP` to a
/// ruleset. The leading `iptables` is optional; `-t` defaults to filter.
/// The ruleset is left unchanged when the command or the result is invalid.
pub fn apply_command(rules: &mut Ruleset, line: &str) -> Result<(), Errors> {
    // One rule's worth: kube-proxy's longest run to a few hundred
    // characters. A longer paste is refused before it is read.
    const MAX_COMMAND: usize = 16 << 10;
    if line.len() > MAX_COMMAND {
        return Err(ParseError::new(
            1,
            1,
            format!(
                "the command is {} bytes long, more than the {MAX_COMMAND} one rule may have here: load a file of rules instead",
                line.len()
            ),
        )
        .into());
    }
    let words =
        lex::shell_words(line).map_err(|(at, m)| ParseError::new(1, lex::column(line, at), m))?;
    let mut words: Vec<Word<'_>> = words;
    if words.first().is_some_and(|w| {
        w.text == "iptables" || w.text == "iptables-nft" || w.text == "iptables-legacy"
    }) {
        words.remove(0);
    }
    let mut table = TableName::Filter;
    let mut k = 0;
    while k < words.len() {
        if words[k].text == "-t" || words[k].text == "--table" {
            let v = words.get(k + 1).ok_or_else(|| {
                ParseError::new(
                    1,
                    lex::column(line, words[k].start),
                    "-t needs a table name",
                )
            })?;
            table = TableName::parse(&v.text).ok_or_else(|| {
                ParseError::new(
                    1,
                    lex::column(line, v.start),
                    format!("unknown table \"{}\"", v.text),
                )
                .expected("raw, mangle, nat, filter or security")
            })?;
            words.drain(k..k + 2);
        } else {
            k += 1;
        }
    }
    // Options may come before the command (`iptables -w -A ...`): drop -w.
    words.retain(|w| w.text != "-w" && w.text != "--wait");
    if words.is_empty() {
        return Err(ParseError::new(1, 1, "empty command")
            .expected("-A, -I, -R, -D, -N, -X, -F, -Z or -P")
            .into());
    }
    // Rebuild the command without the words taken out, so that the rule's
    // text (what iptables-save prints) holds only the rule.
    let canonical: String = words
        .iter()
        .map(|w| lex::quote(&w.text, w.quoted))
        .collect::<Vec<_>>()
        .join(" ");
    let words = lex::words(&canonical)
        .map_err(|(at, m)| ParseError::new(1, lex::column(&canonical, at), m))?;
    let mut copy = rules
        .table(table)
        .cloned()
        .unwrap_or_else(|| Table::new(table));
    let src = Source {
        line: &canonical,
        line_no: 1,
    };
    apply(&mut copy, &words, &src, None)?;
    validate::commit(&mut copy, true)?;
    let mut one = Ruleset::default();
    one.tables.push(copy);
    if let Some((_, what, why)) = rules.ipsets.bad_rules(&one).into_iter().next() {
        let at = canonical.find(what).unwrap_or(0);
        return Err(ParseError::new(1, lex::column(&canonical, at), why).into());
    }
    let copy = one.tables.pop().expect("pushed above");
    *rules.table_or_insert(table) = copy;
    Ok(())
}
