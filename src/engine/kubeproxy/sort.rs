//! The normal form kube-proxy's own tests compare restore input in
//! (`sortIPTablesRules` in `proxier_test.go`): kube-proxy writes Services in
//! Go map order, which is random, so two syncs of the same objects differ
//! until tables, chains and the rules of `KUBE-SERVICES`/`KUBE-NODEPORTS`
//! are put in a fixed order. Used to compare output with the vectors and to
//! show what a sync changed.

use crate::engine::lex;

#[derive(Debug, Default)]
struct Table {
    name: String,
    chains: Vec<Chain>,
}

#[derive(Debug, Default)]
struct Chain {
    name: String,
    rules: Vec<String>,
    deleted: bool,
}

/// The service name a rule sorts by: its comment up to the first space or
/// colon (`ns2/svc2` for `"ns2/svc2:p80 cluster IP"`); `None` without one.
fn service_key(rule: &str) -> Option<String> {
    let words = lex::words(rule).ok()?;
    let i = words.iter().position(|w| w.text == "--comment")?;
    let c = &words.get(i + 1)?.text;
    let end = c.find([' ', ':']).unwrap_or(c.len());
    Some(c[..end].to_string())
}

fn chain_rank(name: &str) -> (u8, &str) {
    match name {
        "KUBE-NODEPORTS" => (0, ""),
        "KUBE-SERVICES" => (1, ""),
        n if n.starts_with("KUBE-") => (2, n),
        n => (3, n),
    }
}

/// Puts restore text in the normal form; an error names the line that does
/// not fit (a rule for an undeclared chain, a bad chain line).
pub fn normalise(text: &str) -> Result<String, String> {
    let mut tables: Vec<Table> = Vec::new();
    let mut in_body = false;
    for (no, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let err = |m: &str| format!("line {}: {m}: {line}", no + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            tables.push(Table {
                name: t.to_string(),
                chains: Vec::new(),
            });
            in_body = false;
            continue;
        }
        let table = tables.last_mut().ok_or_else(|| err("outside a table"))?;
        if line == "COMMIT" {
            in_body = true;
            continue;
        }
        if !in_body && line.starts_with(':') {
            let mut parts = line[1..].split_whitespace();
            let (Some(name), Some("-")) = (parts.next(), parts.next()) else {
                return Err(err("a chain line must be ':NAME - [packets:bytes]'"));
            };
            table.chains.push(Chain {
                name: name.to_string(),
                ..Chain::default()
            });
            continue;
        }
        in_body = true;
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("-A"), Some(chain)) => {
                let c = table
                    .chains
                    .iter_mut()
                    .find(|c| c.name == chain)
                    .ok_or_else(|| err("a rule for a chain that was not declared"))?;
                c.rules.push(line.to_string());
            }
            (Some("-X"), Some(chain)) => {
                let c = table
                    .chains
                    .iter_mut()
                    .find(|c| c.name == chain && c.rules.is_empty())
                    .ok_or_else(|| err("-X of a chain that was not declared empty"))?;
                c.deleted = true;
            }
            _ => return Err(err("not a rule")),
        }
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::new();
    for t in &mut tables {
        t.chains
            .sort_by(|a, b| chain_rank(&a.name).cmp(&chain_rank(&b.name)));
        for c in &mut t.chains {
            if c.name == "KUBE-NODEPORTS" || c.name == "KUBE-SERVICES" {
                let keyed: Vec<(Option<String>, bool, String)> = c
                    .rules
                    .drain(..)
                    .map(|r| {
                        let last = t.name == "nat"
                            && c.name == "KUBE-SERVICES"
                            && r.contains("must be the last rule");
                        (service_key(&r), last, r)
                    })
                    .collect();
                // A stable insertion sort: rules without a comment compare
                // equal to every other, which is not a total order, so the
                // comparisons are made exactly as Go's stable sort makes them.
                let mut v = keyed;
                if v.iter().all(|r| r.0.is_some()) {
                    v.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
                }
                for i in 1..v.len() {
                    let mut j = i;
                    while j > 0 && less(&v[j], &v[j - 1]) {
                        v.swap(j, j - 1);
                        j -= 1;
                    }
                }
                c.rules = v.into_iter().map(|(_, _, r)| r).collect();
            }
        }
        out += &format!("*{}\n", t.name);
        for c in &t.chains {
            out += &format!(":{} - [0:0]\n", c.name);
        }
        for c in &t.chains {
            for r in &c.rules {
                out += r;
                out.push('\n');
            }
        }
        for c in t.chains.iter().filter(|c| c.deleted) {
            out += &format!("-X {}\n", c.name);
        }
        out += "COMMIT\n";
    }
    Ok(out)
}

fn less(a: &(Option<String>, bool, String), b: &(Option<String>, bool, String)) -> bool {
    if a.1 != b.1 {
        return !a.1; // the "last rule" goes after everything
    }
    match (&a.0, &b.0) {
        (Some(x), Some(y)) => x < y,
        _ => false,
    }
}
