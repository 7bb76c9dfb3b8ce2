//! Checks the kernel makes when a table is committed: every jump lands on a
//! user chain, no chain reaches itself (`ELOOP`), and each target is used
//! only from the hooks it supports. Also rebuilds the chain indexes.

use super::rule::Physdev;
use super::{index, Hook, MatchKind, Table, TableName, Target};
use crate::engine::error::{Errors, ParseError};

/// Column of `needle` in the line `-A CHAIN args`.
pub(super) fn col(chain: &str, args: &str, needle: &str) -> usize {
    4 + chain.len() + 1 + args.find(needle).unwrap_or(0)
}

/// Validates `table` and resolves its jumps. With `resolve_jumps` false
/// (restore fragments) jumps to undeclared chains are left unresolved and
/// loops are not checked.
pub fn commit(table: &mut Table, resolve_jumps: bool) -> Result<(), Errors> {
    let mut errors = Errors::default();
    let nat = table.name == TableName::Nat;
    // Resolve jumps by name first (reading), then store them (writing).
    let mut resolved: Vec<(usize, usize, usize)> = Vec::new();
    for (ci, c) in table.chains.iter().enumerate() {
        // iptables refuses an interface the hook cannot have (a
        // user chain may hold either: it is checked as it is walked).
        let (no_out, no_in) = match (c.is_builtin(), c.name.as_str()) {
            (true, "PREROUTING" | "INPUT") => (true, false),
            (true, "OUTPUT" | "POSTROUTING") => (false, true),
            _ => (false, false),
        };
        for (ri, r) in c.rules.iter().enumerate() {
            // Targets the kernel takes in one table only.
            let only = match r.target {
                Target::Dnat(_)
                | Target::Snat { .. }
                | Target::Masquerade { .. }
                | Target::Redirect { .. } => Some(TableName::Nat),
                Target::Reject(_) => Some(TableName::Filter),
                Target::NoTrack { .. } => Some(TableName::Raw),
                _ => None,
            };
            if let Target::PassOver(name) = r.target {
                let tables = super::rule::pass_over_tables(name);
                let hooks = super::rule::pass_over_hooks(name, &r.args);
                let why = if !tables.is_empty() && !tables.contains(&table.name) {
                    let names: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
                    Some(format!("{name} is only valid in the {} table, not in {} (the kernel refuses the rule: Invalid argument)", names.join(" or "), table.name))
                } else if c.is_builtin() && !hooks.is_empty() && !hooks.contains(&c.name.as_str()) {
                    Some(format!("{name} here works in {} only, not in {} (the kernel refuses the rule: Invalid argument)", hooks.join(", "), c.name))
                } else {
                    None
                };
                if let Some(why) = why {
                    errors.push(ParseError::new(r.line, col(&c.name, &r.args, name), why));
                }
            }
            if let Some(t) = only.filter(|t| *t != table.name) {
                let tname = r.target_name();
                errors.push(ParseError::new(
                    r.line,
                    col(&c.name, &r.args, tname),
                    format!(
                        "{tname} is only valid in the {t} table, not in {}",
                        table.name
                    ),
                ));
            }
            for m in &r.matches {
                if let MatchKind::Rpfilter { .. } = m.kind {
                    // rpfilter_check, and the match's hook mask.
                    let why = if !matches!(table.name, TableName::Raw | TableName::Mangle) {
                        Some(format!("rpfilter is only valid in the raw or mangle table, not in {} (the kernel refuses the rule: Invalid argument)", table.name))
                    } else if c.is_builtin() && c.name != "PREROUTING" {
                        Some(format!("rpfilter works in PREROUTING only, not in {} (the kernel refuses the rule: Invalid argument)", c.name))
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        errors.push(ParseError::new(
                            r.line,
                            col(&c.name, &r.args, "rpfilter"),
                            why,
                        ));
                    }
                    continue;
                }
                // physdev_mt_check: no port out to test for the host's own
                // packets (unless the rule asks for bridged ones). Only in
                // OUTPUT itself: iptables-nft (measured, 1.8.9) takes it in
                // a user chain OUTPUT jumps to, as Packet Walk does;
                // iptables-legacy refuses that too.
                // owner_mt's hooks: a host's own packets, at OUTPUT and
                // POSTROUTING (iptables-nft refuses it elsewhere, and a
                // jump to it from another hook, checked in check_hooks:
                // measured, 1.8.9).
                if let MatchKind::Owner(t) = &m.kind {
                    if c.is_builtin() && !matches!(c.name.as_str(), "OUTPUT" | "POSTROUTING") {
                        errors.push(ParseError::new(
                            r.line,
                            col(&c.name, &r.args, t.option()),
                            format!("owner works in OUTPUT and POSTROUTING only, where a host's own packets have their socket, not in {} (the kernel refuses the rule: Invalid argument)", c.name),
                        ));
                    }
                    continue;
                }
                if let MatchKind::Physdev(t @ (Physdev::Out(_) | Physdev::IsOut)) = &m.kind {
                    let bridged = (r.matches.iter())
                        .any(|b| !b.negated && b.kind == MatchKind::Physdev(Physdev::IsBridged));
                    if c.is_builtin() && c.name == "OUTPUT" && !bridged {
                        errors.push(ParseError::new(
                            r.line,
                            col(&c.name, &r.args, t.option()),
                            format!("{} works in FORWARD and POSTROUTING only (bridged frames), not in OUTPUT, unless the rule has --physdev-is-bridged (the kernel refuses the rule: Invalid argument)", t.option()),
                        ));
                    }
                    continue;
                }
                let flag = match m.kind {
                    MatchKind::OutIface(_) if no_out => "-o",
                    MatchKind::InIface(_) if no_in => "-i",
                    // addrtype_mt_checkentry refuses these (EINVAL).
                    MatchKind::AddrType {
                        limit_iface_in: true,
                        ..
                    } if no_in => "--limit-iface-in",
                    MatchKind::AddrType {
                        limit_iface_out: true,
                        ..
                    } if no_out => "--limit-iface-out",
                    _ => continue,
                };
                let (side, which) = if flag == "-o" || flag == "--limit-iface-out" {
                    ("output", "FORWARD, OUTPUT and POSTROUTING")
                } else {
                    ("input", "PREROUTING, INPUT and FORWARD")
                };
                let at = if flag.starts_with("--") {
                    flag
                } else {
                    r.match_text(m)
                };
                errors.push(ParseError::new(
                    r.line,
                    col(&c.name, &r.args, at),
                    format!(
                        "Can't use {flag} with {}: a packet there has no {side} interface ({}: {flag} only in {which})",
                        c.name,
                        if flag.starts_with("--") { "the kernel's addrtype match refuses it" } else { "iptables(8)" },
                    ),
                ));
            }
            if r.target == Target::Drop && nat {
                // iptables itself refuses this before the kernel sees it.
                errors.push(ParseError::new(
                    r.line,
                    col(&c.name, &r.args, "DROP"),
                    "the nat table is not intended for filtering, the use of DROP is therefore inhibited",
                ));
            }
            if let Target::Jump { .. } = r.target {
                let name = r.target_name();
                match table.chain_index(name) {
                    Some(i) if table.chains[i].is_builtin() => errors.push(ParseError::new(
                        r.line,
                        col(&c.name, &r.args, name),
                        format!("cannot jump to the built-in chain {name}"),
                    )),
                    Some(i) => resolved.push((ci, ri, i)),
                    None if resolve_jumps && super::rule::OTHER_TARGETS.contains(&name) => errors
                        .push(ParseError::new(
                            r.line,
                            col(&c.name, &r.args, name),
                            super::rule::target_not_modelled(name),
                        )),
                    None if resolve_jumps => errors.push(
                        ParseError::new(
                            r.line,
                            col(&c.name, &r.args, name),
                            format!(
                                "no chain or target named \"{name}\" in table {}{}",
                                table.name,
                                // (iptables-restore reads it whole too.)
                                crate::engine::text::odd_char(name)
                                    .map(|(_, c)| format!(
                                        ": the name holds {}",
                                        crate::engine::text::odd_char_words(c)
                                    ))
                                    .unwrap_or_default()
                            ),
                        )
                        .expected(format!(
                            "a chain declared with :{name} (or -N {name}), or one of {}",
                            super::rule::TARGETS.join(", ")
                        )),
                    ),
                    None => resolved.push((ci, ri, usize::MAX)),
                }
            }
        }
    }
    for (ci, ri, to) in resolved {
        if let Target::Jump { chain, .. } = &mut table.chains[ci].rules[ri].target {
            *chain = to;
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if resolve_jumps {
        let adj = edges(table);
        check_loops(table, &adj, &mut errors);
        // iptables-legacy (its dump says so in the header) has no such
        // limit: only nf_tables counts the jumps.
        let legacy = table.comments_before.iter().any(|c| c.contains("(legacy)"));
        if errors.is_empty() && !legacy {
            check_depth(table, &adj, &mut errors);
        }
        if errors.is_empty() {
            check_hooks(table, &adj, &mut errors);
        }
    }
    for c in table.chains.iter_mut() {
        c.index = index::ChainIndex::build(&c.rules);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The jump graph: per chain, (rule position, target chain).
fn edges(table: &Table) -> Vec<Vec<(usize, usize)>> {
    table
        .chains
        .iter()
        .map(|c| {
            c.rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match r.target {
                    Target::Jump { chain, .. } if chain != usize::MAX => Some((i, chain)),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

fn check_loops(table: &Table, adj: &[Vec<(usize, usize)>], errors: &mut Errors) {
    // 0 = unseen, 1 = on the current path, 2 = done.
    let n = table.chains.len();
    let mut color = vec![0u8; n];
    // Only loops reachable from a built-in chain are refused: the kernel
    // accepts a loop nothing jumps into (checked in a network namespace).
    for root in 0..n {
        if color[root] != 0 || !table.chains[root].is_builtin() {
            continue;
        }
        // Iterative DFS: (chain, next edge position).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        color[root] = 1;
        while let Some(&mut (c, ref mut k)) = stack.last_mut() {
            let next = adj[c].get(*k).copied();
            *k += 1;
            match next {
                None => {
                    color[c] = 2;
                    stack.pop();
                }
                Some((ri, to)) => match color[to] {
                    0 => {
                        color[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|(x, _)| *x == to).unwrap_or(0);
                        let mut path: Vec<&str> = stack[from..]
                            .iter()
                            .map(|(x, _)| table.chains[*x].name.as_str())
                            .collect();
                        path.push(&table.chains[to].name);
                        let r = &table.chains[c].rules[ri];
                        let what = if c == to {
                            format!("chain {} jumps to itself", table.chains[c].name)
                        } else {
                            format!("chain loop {}", path.join(" → "))
                        };
                        errors.push(ParseError::new(
                            r.line,
                            col(&table.chains[c].name, &r.args, &table.chains[to].name),
                            format!(
                                "{what}, reachable from {}; the kernel refuses it (RULE_APPEND failed: Too many links)",
                                table.chains[root].name
                            ),
                        ));
                        return;
                    }
                    _ => {}
                },
            }
        }
    }
}

/// How many user chains nf_tables lets jumps (and gotos) nest below a
/// built-in chain: measured on Linux 6.18 with iptables-nft 1.8.9, 15
/// load and 16 are refused (`RULE_APPEND failed (Too many links)`).
pub const MAX_DEPTH: usize = 15;

/// Refuses jumps nested deeper than [`MAX_DEPTH`] below a built-in chain
/// (the graph has no loops by now). Chains nothing reaches may nest at
/// any depth, as in the kernel.
fn check_depth(table: &Table, adj: &[Vec<(usize, usize)>], errors: &mut Errors) {
    let n = table.chains.len();
    // Per chain: the most user chains nested below it (iterative
    // post-order: a chain of 10,000 jumps must not overflow the stack).
    let mut below: Vec<Option<usize>> = vec![None; n];
    for root in (0..n).filter(|&c| table.chains[c].is_builtin()) {
        let mut stack = vec![(root, 0usize)];
        while let Some(&mut (c, ref mut k)) = stack.last_mut() {
            match adj[c].get(*k) {
                Some(&(_, to)) => {
                    *k += 1;
                    if below[to].is_none() {
                        stack.push((to, 0));
                    }
                }
                None => {
                    below[c] = Some(
                        adj[c]
                            .iter()
                            .map(|&(_, to)| below[to].unwrap_or(0) + 1)
                            .max()
                            .unwrap_or(0),
                    );
                    stack.pop();
                }
            }
        }
        if below[root].unwrap_or(0) <= MAX_DEPTH {
            continue;
        }
        // The deepest path, to the rule that jumps one chain too deep.
        let mut path = vec![root];
        let mut c = root;
        while let Some(&(ri, to)) = adj[c].iter().max_by_key(|&&(_, to)| below[to]) {
            if path.len() > MAX_DEPTH {
                let names: Vec<&str> = path
                    .iter()
                    .map(|&x| table.chains[x].name.as_str())
                    .collect();
                let r = &table.chains[c].rules[ri];
                errors.push(ParseError::new(
                    r.line,
                    col(&table.chains[c].name, &r.args, &table.chains[to].name),
                    format!(
                        "this jump to {} nests {} chains deep ({} → …): nf_tables allows {MAX_DEPTH} below a built-in chain and refuses it (RULE_APPEND failed (Too many links): rule in chain {})",
                        table.chains[to].name,
                        MAX_DEPTH + 1,
                        names[..3.min(names.len())].join(" → "),
                        table.chains[c].name
                    ),
                ));
                return;
            }
            path.push(to);
            c = to;
        }
    }
}

/// Which hooks each chain can be reached from, then which targets are used
/// where the kernel does not allow them.
/// The built-in chains of the hooks in `bits`, as a list in words.
fn hook_names(bits: u8) -> String {
    let names: Vec<&str> = (Hook::ALL.iter())
        .filter(|h| bits & h.bit() != 0)
        .map(|h| h.chain_name())
        .collect();
    names.join(", ")
}

fn check_hooks(table: &Table, adj: &[Vec<(usize, usize)>], errors: &mut Errors) {
    let n = table.chains.len();
    let mut hooks = vec![0u8; n];
    for (i, c) in table.chains.iter().enumerate() {
        if let Some(h) = Hook::from_chain_name(&c.name).filter(|_| c.is_builtin()) {
            let mut todo = vec![i];
            while let Some(x) = todo.pop() {
                if hooks[x] & h.bit() != 0 {
                    continue;
                }
                hooks[x] |= h.bit();
                todo.extend(adj[x].iter().map(|&(_, to)| to));
            }
        }
    }
    let allowed = |t: &Target| -> Option<(u8, &'static str)> {
        use Hook::*;
        match t {
            Target::Dnat(_) | Target::Redirect { .. } => {
                Some((Prerouting.bit() | Output.bit(), "PREROUTING and OUTPUT"))
            }
            Target::Snat { .. } => Some((Postrouting.bit() | Input.bit(), "POSTROUTING and INPUT")),
            Target::Masquerade { .. } => Some((Postrouting.bit(), "POSTROUTING")),
            Target::Reject(_) => Some((
                Input.bit() | Forward.bit() | Output.bit(),
                "INPUT, FORWARD and OUTPUT",
            )),
            _ => None,
        }
    };
    for (i, c) in table.chains.iter().enumerate() {
        for r in &c.rules {
            if let Some((ok, names)) = allowed(&r.target) {
                let bad = hooks[i] & !ok;
                if bad != 0 {
                    let t = r.target_name();
                    errors.push(ParseError::new(
                        r.line,
                        col(&c.name, &r.args, t),
                        format!(
                            "{t} in chain {} is reached from {}, but {t} is only valid from {names}",
                            c.name,
                            hook_names(bad)
                        ),
                    ));
                }
            }
            // owner_mt's hooks: iptables-nft refuses a jump from another
            // hook to a chain that tests the owner (measured, 1.8.9).
            let owner = r.matches.iter().find_map(|m| match m.kind {
                MatchKind::Owner(t) => Some(t.option()),
                _ => None,
            });
            let bad = hooks[i] & !(Hook::Output.bit() | Hook::Postrouting.bit());
            if let Some(option) = owner.filter(|_| bad != 0 && !c.is_builtin()) {
                errors.push(ParseError::new(
                    r.line,
                    col(&c.name, &r.args, option),
                    format!(
                        "owner in chain {} is reached from {}, but owner is only valid from OUTPUT and POSTROUTING, where a host's own packets have their socket (the kernel refuses the jump: Invalid argument)",
                        c.name,
                        hook_names(bad)
                    ),
                ));
            }
        }
    }
}
