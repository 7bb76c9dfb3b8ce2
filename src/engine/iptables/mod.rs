//! iptables as the kernel holds it: tables of chains of rules, each rule a
//! list of matches and one target. Parsed once from `iptables-save` text or
//! single `iptables` commands; evaluated by [`eval`].

/// The longest chain name iptables takes (XT_EXTENSION_MAXNAMELEN less the NUL).
pub const MAX_CHAIN_NAME: usize = 28;

pub mod canonical;
pub mod command;
pub mod eval;
pub mod index;
pub mod ipset;
pub mod rule;
pub mod save;
pub mod validate;

pub use rule::{Match, MatchKind, Rule, Target};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::fmt;

/// The netfilter hooks of IPv4 (`NF_INET_*`), named as iptables names the
/// built-in chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];

    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    pub fn from_chain_name(s: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.chain_name() == s)
    }

    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chain_name())
    }
}

/// The iptables tables, in the order the kernel runs them at a hook
/// (priorities raw -300, mangle -150, nat DNAT -100, filter 0, security 50,
/// nat SNAT 100).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableName {
    Raw,
    Mangle,
    Nat,
    Filter,
    Security,
}

impl TableName {
    pub fn parse(s: &str) -> Option<TableName> {
        Some(match s {
            "raw" => TableName::Raw,
            "mangle" => TableName::Mangle,
            "nat" => TableName::Nat,
            "filter" => TableName::Filter,
            "security" => TableName::Security,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TableName::Raw => "raw",
            TableName::Mangle => "mangle",
            TableName::Nat => "nat",
            TableName::Filter => "filter",
            TableName::Security => "security",
        }
    }

    /// The built-in chains of the table, in `iptables-save` order.
    pub fn builtin_hooks(self) -> &'static [Hook] {
        use Hook::*;
        match self {
            TableName::Raw => &[Prerouting, Output],
            TableName::Mangle => &[Prerouting, Input, Forward, Output, Postrouting],
            TableName::Nat => &[Prerouting, Input, Output, Postrouting],
            TableName::Filter | TableName::Security => &[Input, Forward, Output],
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Packet and byte counters, as `[packets:bytes]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// A built-in chain's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Policy {
    #[serde(rename = "ACCEPT")]
    Accept,
    #[serde(rename = "DROP")]
    Drop,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }
}

/// One chain: built-in (has a policy) or user-defined.
#[derive(Clone, Debug)]
pub struct Chain {
    pub name: String,
    /// `Some` for built-in chains.
    pub policy: Option<Policy>,
    pub counters: Counters,
    pub rules: Vec<Rule>,
    /// Line of the `:NAME` declaration (0 when made by a command).
    pub line: usize,
    /// A built-in chain the dump did not declare: it exists but is not printed.
    pub implicit: bool,
    /// Deleted with `-X` in restore input: printed back as `-X NAME`, and
    /// otherwise gone (no rule can jump to it).
    pub deleted: bool,
    /// Candidate lists for long chains, rebuilt whenever the chain changes.
    pub index: Option<index::ChainIndex>,
}

impl Chain {
    pub fn new(name: &str, policy: Option<Policy>, line: usize) -> Chain {
        Chain {
            name: name.to_string(),
            policy,
            counters: Counters::default(),
            rules: Vec::new(),
            line,
            implicit: false,
            deleted: false,
            index: None,
        }
    }

    pub fn is_builtin(&self) -> bool {
        self.policy.is_some()
    }
}

/// One table with its chains, in the order `iptables-save` prints them.
#[derive(Clone, Debug)]
pub struct Table {
    pub name: TableName,
    pub chains: Vec<Chain>,
    /// `# …` lines printed before `*table` (the "Generated by" header).
    pub comments_before: Vec<String>,
    /// `# …` lines after `COMMIT` (the "Completed on" footer).
    pub comments_after: Vec<String>,
    /// Chain name to position; kept in step with `chains` by the methods below.
    names: FxHashMap<String, usize>,
    /// The chain found last: rules of one chain come together in a dump,
    /// so most look-ups hit it without hashing.
    hint: Cell<usize>,
}

impl Table {
    /// A table as the kernel registers it: its built-in chains, policy ACCEPT.
    pub fn new(name: TableName) -> Table {
        let mut t = Table {
            name,
            chains: name
                .builtin_hooks()
                .iter()
                .map(|h| Chain::new(h.chain_name(), Some(Policy::Accept), 0))
                .collect(),
            comments_before: Vec::new(),
            comments_after: Vec::new(),
            names: FxHashMap::default(),
            hint: Cell::new(0),
        };
        t.reindex();
        t
    }

    /// A table with no chains at all (as a dump starts one).
    pub fn empty(name: TableName) -> Table {
        let mut t = Table::new(name);
        t.chains.clear();
        t.reindex();
        t
    }

    fn reindex(&mut self) {
        self.hint.set(0);
        self.names = self
            .chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
    }

    /// Appends a chain; returns its position.
    pub fn push_chain(&mut self, c: Chain) -> usize {
        self.names.insert(c.name.clone(), self.chains.len());
        self.chains.push(c);
        self.chains.len() - 1
    }

    /// Inserts a chain at `pos` (built-in chains a dump left out go first).
    pub fn insert_chain(&mut self, pos: usize, c: Chain) {
        self.chains.insert(pos, c);
        self.reindex();
    }

    /// Whether a chain of that name was ever declared, deleted or not.
    pub fn declared(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// Position of a live (not deleted) chain.
    pub fn chain_index(&self, name: &str) -> Option<usize> {
        let h = self.hint.get();
        if let Some(c) = self.chains.get(h) {
            if c.name == name && !c.deleted {
                return Some(h);
            }
        }
        let i = self
            .names
            .get(name)
            .copied()
            .filter(|&i| !self.chains[i].deleted)?;
        self.hint.set(i);
        Some(i)
    }

    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chain_index(name).map(|i| &self.chains[i])
    }
}

/// All tables of one network namespace. Only tables present in the dump are
/// registered, as on a real node where a table exists once something uses it.
#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    pub tables: Vec<Table>,
    /// `# …` lines after the last table.
    pub trailing_comments: Vec<String>,
    /// The namespace's IP sets, from `ipset save` lines before the tables.
    pub ipsets: ipset::IpSets,
}

impl Ruleset {
    pub fn table(&self, name: TableName) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    pub fn table_mut(&mut self, name: TableName) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.name == name)
    }

    /// The table, registered (with empty built-in chains) if it was not.
    pub fn table_or_insert(&mut self, name: TableName) -> &mut Table {
        let pos = match self.tables.iter().position(|t| t.name == name) {
            Some(p) => p,
            None => {
                self.tables.push(Table::new(name));
                self.tables.len() - 1
            }
        };
        &mut self.tables[pos]
    }

    /// The `-m recent` matches of all rules, in the order loaded (tables,
    /// chains, rules, matches).
    pub fn recent_matches(&self) -> impl Iterator<Item = &rule::Recent> {
        (self.tables.iter())
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules)
            .flat_map(|r| &r.matches)
            .filter_map(|m| match &m.kind {
                MatchKind::Recent(r) => Some(&**r),
                _ => None,
            })
    }

    /// The interfaces rules name (`-i`, `-o`, `cali+` for a prefix) that
    /// none of `devices` is: rules written for another node's devices,
    /// which never match here. Sorted, each once.
    pub fn interfaces_not_in(&self, devices: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = (self.tables.iter())
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules)
            .flat_map(|r| &r.matches)
            // (`! -o docker0` matches all the more without docker0.)
            .filter(|m| !m.negated)
            .filter_map(|m| match &m.kind {
                MatchKind::InIface(i) | MatchKind::OutIface(i) => Some(i),
                _ => None,
            })
            .filter(|i| !devices.iter().any(|d| i.matches(Some(d))))
            .map(|i| format!("{}{}", i.name, if i.wildcard { "+" } else { "" }))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// In words, [`Ruleset::interfaces_not_in`] of `host`'s devices (empty
    /// when none): the first few named.
    pub fn interfaces_note(&self, host: &str, devices: &[&str]) -> String {
        let names = self.interfaces_not_in(devices);
        let shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
        match names.len() {
            0 => String::new(),
            1 => format!("The rules name an interface {host} does not have, {}: a rule testing it never matches here (was it written for another node?)", shown[0]),
            n => format!(
                "The rules name {n} interfaces {host} does not have ({}{}): rules testing them never match here (were they written for another node?)",
                shown.join(", "),
                if n > shown.len() { ", …" } else { "" }
            ),
        }
    }

    /// Whether any rule has a match of which `test` holds.
    pub fn has_match(&self, test: impl Fn(&MatchKind) -> bool) -> bool {
        (self.tables.iter().flat_map(|t| &t.chains))
            .flat_map(|c| &c.rules)
            .any(|r| r.matches.iter().any(|m| test(&m.kind)))
    }

    /// Number of rules in all tables.
    pub fn rule_count(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum()
    }
}
