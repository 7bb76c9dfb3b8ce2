//! What the node's kernel holds after kube-proxy's syncs, printed as
//! `iptables-save` prints it.
//!
//! [`Kernel`] applies restore input the way `iptables-restore --noflush`
//! does (a `:CHAIN` line creates or flushes that chain only, `-X` deletes
//! it, every other chain keeps its rules), so rules a learner keeps in their
//! own chains survive a sync. Rules are stored as iptables prints them
//! ([`canonical`]).

use super::{Restore, JUMPS};
use crate::engine::iptables::canonical::{canonical, canonical_uncached};
use std::collections::{BTreeMap, BTreeSet};

/// Built-in chains of each table, in the order `iptables-save` lists them.
fn builtins(table: &str) -> &'static [&'static str] {
    match table {
        "filter" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => &[],
    }
}

/// iptables-nft prints the tables in this order.
const TABLE_ORDER: [&str; 4] = ["mangle", "raw", "filter", "nat"];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Chain {
    name: String,
    rules: Vec<String>,
    /// A built-in chain's policy when it is not ACCEPT.
    policy: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Table {
    name: String,
    /// By name: a 10,000-Service node has 30,000 chains.
    chains: BTreeMap<String, Chain>,
}

impl Table {
    fn new(name: &str) -> Table {
        let mut t = Table {
            name: name.to_string(),
            chains: BTreeMap::new(),
        };
        for c in builtins(name) {
            t.add(c);
        }
        t
    }
    fn chain(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.get_mut(name)
    }
    fn add(&mut self, name: &str) {
        self.chains
            .entry(name.to_string())
            .or_insert_with(|| Chain {
                name: name.to_string(),
                ..Chain::default()
            });
    }
}

/// The chain a rule jumps or goes to (`-j X` / `-g X`), if it is one.
fn jump_target(rule: &str) -> Option<&str> {
    let mut words = rule.split(' ');
    while let Some(w) = words.next() {
        if w == "-j" || w == "-g" {
            return words.next();
        }
    }
    None
}

/// The iptables tables of one network namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kernel {
    tables: Vec<Table>,
}

impl Kernel {
    fn table(&mut self, name: &str) -> &mut Table {
        if let Some(i) = self.tables.iter().position(|t| t.name == name) {
            return &mut self.tables[i];
        }
        self.tables.push(Table::new(name));
        self.tables.last_mut().expect("just pushed")
    }

    /// `iptables-restore --noflush`: an error names the line the kernel
    /// would refuse, and then nothing of that table is changed.
    pub fn restore(&mut self, text: &str) -> Result<(), String> {
        self.restore_with(text, canonical)
    }

    /// [`Kernel::restore`], each rule printed by `print`.
    fn restore_with(
        &mut self,
        text: &str,
        print: fn(&str) -> Result<String, String>,
    ) -> Result<(), String> {
        let mut work: Option<Table> = None;
        // Chains deleted with -X, checked for jumps to them at COMMIT.
        let mut deleted: Vec<(usize, String)> = Vec::new();
        for (no, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let err = |m: String| format!("line {}: {m}", no + 1);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(t) = line.strip_prefix('*') {
                work = Some(self.table(t).clone());
                continue;
            }
            let Some(t) = work.as_mut() else {
                return Err(err("a line outside a table".into()));
            };
            if line == "COMMIT" {
                let done = work.take().expect("checked above");
                if !deleted.is_empty() {
                    let used: BTreeSet<&str> = done
                        .chains
                        .values()
                        .flat_map(|c| c.rules.iter().filter_map(|r| jump_target(r)))
                        .collect();
                    if let Some((l, c)) = deleted.iter().find(|(_, c)| used.contains(c.as_str())) {
                        return Err(format!("line {l}: chain {c} is still jumped to"));
                    }
                    deleted.clear();
                }
                let name = done.name.clone();
                *self.table(&name) = done;
                continue;
            }
            if let Some(decl) = line.strip_prefix(':') {
                // (On ASCII blanks, as `iptables::save` reads a declaration.)
                let mut words = decl.split_ascii_whitespace();
                let name = words.next().unwrap_or("");
                let policy = words
                    .next()
                    .filter(|p| *p != "-" && *p != "ACCEPT")
                    .map(str::to_string);
                // --noflush: a user chain named here is flushed; a built-in
                // one only gets its policy.
                let builtin = builtins(&t.name).contains(&name);
                match t.chain(name) {
                    Some(c) => {
                        if !builtin {
                            c.rules.clear();
                        }
                        c.policy = policy;
                    }
                    None => {
                        t.add(name);
                        if let Some(c) = t.chain(name) {
                            c.policy = policy;
                        }
                    }
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix("-A ") {
                let (chain, args) = rest.split_once(' ').unwrap_or((rest, ""));
                let rule = print(args).map_err(|e| err(format!("{chain}: {e}")))?;
                let c = t
                    .chain(chain)
                    .ok_or_else(|| err(format!("chain {chain} does not exist")))?;
                c.rules.push(rule);
                continue;
            }
            if let Some(chain) = line.strip_prefix("-X ") {
                let chain = chain.trim();
                if builtins(&t.name).contains(&chain) {
                    return Err(err(format!("{chain} is a built-in chain")));
                }
                if t.chains.remove(chain).is_none() {
                    return Err(err(format!("chain {chain} does not exist")));
                }
                deleted.push((no + 1, chain.to_string()));
                continue;
            }
            return Err(err(format!("not a restore line: {line}")));
        }
        match work {
            Some(t) => Err(format!(
                "the table *{} has no COMMIT: nothing of it was loaded",
                t.name
            )),
            None => Ok(()),
        }
    }

    /// Puts `rule` at the top of `chain` unless it is already there
    /// (kube-proxy's `EnsureRule(Prepend, …)`), creating `target` chains
    /// as `EnsureChain` does.
    pub fn ensure_jump(&mut self, table: &str, chain: &str, rule: &str) -> Result<(), String> {
        let rule = canonical(rule)?;
        let target = rule.rsplit(' ').next().unwrap_or("").to_string();
        let t = self.table(table);
        t.add(&target);
        let c = t
            .chain(chain)
            .ok_or_else(|| format!("no chain {chain} in {table}"))?;
        if !c.rules.contains(&rule) {
            c.rules.insert(0, rule);
        }
        Ok(())
    }

    /// Appends `rule` to `chain` unless it is already there (`iptables -C`,
    /// then `-A`: flanneld's and Felix's appended rules).
    pub fn ensure_appended(&mut self, table: &str, chain: &str, rule: &str) -> Result<(), String> {
        let rule = canonical(rule)?;
        let c = (self.table(table).chain(chain))
            .ok_or_else(|| format!("no chain {chain} in {table}"))?;
        if !c.rules.contains(&rule) {
            c.rules.push(rule);
        }
        Ok(())
    }

    /// Whether the node has `table` (something made or used it).
    pub fn has_table(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t.name == table)
    }

    /// Whether `chain` of `table` holds `rule` (`iptables -C`).
    pub fn has_rule(&self, table: &str, chain: &str, rule: &str) -> Result<bool, String> {
        let rule = canonical(rule)?;
        Ok((self.tables.iter())
            .filter(|t| t.name == table)
            .filter_map(|t| t.chains.get(chain))
            .any(|c| c.rules.contains(&rule)))
    }

    /// Deletes the first copy of `rule` from `chain`, if it is there
    /// (`iptables -D` by the rule's text).
    pub fn delete_rule(&mut self, table: &str, chain: &str, rule: &str) -> Result<(), String> {
        let rule = canonical(rule)?;
        if let Some(c) = self.table(table).chain(chain) {
            if let Some(i) = c.rules.iter().position(|r| *r == rule) {
                c.rules.remove(i);
            }
        }
        Ok(())
    }

    /// Deletes chains `names` of `table` and every rule that jumps to one
    /// (what a CNI does to its own chains before writing them again).
    pub fn drop_chains(&mut self, table: &str, names: &[&str]) {
        let t = self.table(table);
        for n in names {
            t.chains.remove(*n);
        }
        for c in t.chains.values_mut() {
            c.rules
                .retain(|r| !jump_target(r).is_some_and(|j| names.contains(&j)));
        }
    }

    /// The rules of `table` that jump (or go) to `target`, each with its
    /// chain's name.
    pub fn referrers(&self, table: &str, target: &str) -> Vec<(String, String)> {
        (self.tables.iter())
            .filter(|t| t.name == table)
            .flat_map(|t| t.chains.values())
            .flat_map(|c| c.rules.iter().map(move |r| (c, r)))
            .filter(|(_, r)| jump_target(r) == Some(target))
            .map(|(c, r)| (c.name.clone(), r.clone()))
            .collect()
    }

    /// Whether a rule of `chain` in `table` jumps to `target`.
    pub fn jumps_to(&self, table: &str, chain: &str, target: &str) -> bool {
        (self.tables.iter())
            .filter(|t| t.name == table)
            .filter_map(|t| t.chains.get(chain))
            .any(|c| c.rules.iter().any(|r| jump_target(r) == Some(target)))
    }

    /// A full sync on this node: the jump rules, then the restore.
    pub fn apply(&mut self, restore: &Restore) -> Result<(), String> {
        self.apply_text(restore.full, &restore.text())
    }

    /// [`Kernel::apply`] for restore text: on a full sync, kube-proxy's
    /// canary chains and jump rules first.
    pub fn apply_text(&mut self, full: bool, text: &str) -> Result<(), String> {
        if full {
            for t in ["mangle", "nat", "filter"] {
                self.table(t).add("KUBE-PROXY-CANARY");
            }
            for (table, chain, rule) in JUMPS {
                self.ensure_jump(table, chain, rule)?;
            }
        }
        self.restore(text)
    }

    /// The kernel after loading an `iptables-save` dump (the rules stored
    /// as iptables prints them).
    pub fn from_save(text: &str) -> Result<Kernel, String> {
        // A node's dump (150,000 rules, all different) is not remembered:
        // it would push out kube-proxy's own rules, which come back.
        const LARGE: usize = 256 << 10;
        let print = if text.len() > LARGE {
            canonical_uncached
        } else {
            canonical
        };
        let mut k = Kernel::default();
        k.restore_with(text, print)?;
        Ok(k)
    }

    /// The chains of a table.
    pub fn chains(&self, table: &str) -> Vec<String> {
        self.tables
            .iter()
            .filter(|t| t.name == table)
            .flat_map(|t| t.chains.keys().cloned())
            .collect()
    }

    /// A sync of kube-proxy 1.18 ([`super::legacy`]): kubelet's chains
    /// of that time, the jump rules of that time, then the restore.
    pub fn apply_legacy(&mut self, restore: &Restore) -> Result<(), String> {
        self.restore(super::legacy::KUBELET)?;
        for (table, chain, rule) in super::legacy::JUMPS {
            self.ensure_jump(table, chain, rule)?;
        }
        self.ensure_jump("filter", "OUTPUT", "-j KUBE-FIREWALL")?;
        self.restore(&restore.text())
    }

    /// `iptables-save`, without the date lines' dates.
    pub fn save(&self) -> String {
        let mut out = String::new();
        for name in TABLE_ORDER {
            let Some(t) = self.tables.iter().find(|t| t.name == name) else {
                continue;
            };
            let b = builtins(name);
            let chains: Vec<&Chain> = b.iter().filter_map(|n| t.chains.get(*n)).collect();
            // User chains in name order, as iptables-save lists them.
            let user: Vec<&Chain> = t
                .chains
                .values()
                .filter(|c| !b.contains(&c.name.as_str()))
                .collect();
            out += "# Generated by iptables-save v1.8.9 (nf_tables)\n";
            out += &format!("*{name}\n");
            for c in &chains {
                out += &format!(
                    ":{} {} [0:0]\n",
                    c.name,
                    c.policy.as_deref().unwrap_or("ACCEPT")
                );
            }
            for c in &user {
                out += &format!(":{} - [0:0]\n", c.name);
            }
            for c in chains.iter().chain(&user) {
                for r in &c.rules {
                    out += &format!("-A {} {r}\n", c.name);
                }
            }
            out += "COMMIT\n# Completed\n";
        }
        out
    }
}
