//! What the node's kernel holds after kube-proxy's syncs, printed as
//! `iptables-save` prints it.
//!
//! [`Kernel`] applies restore input the way `iptables-restore --noflush`
//! does (a `:CHAIN` line creates or flushes that chain only, `-X` deletes
//! it, every other chain keeps its rules), so rules a learner keeps in their
//! own chains survive a sync. Rules are stored as iptables prints them
//! ([`canonical`]).

use super::{Restore, JUMPS};
use crate::engine::iptables::canonical::canonical;

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
    /// Built-in chains first (in their fixed order), then user chains.
    chains: Vec<Chain>,
}

impl Table {
    fn new(name: &str) -> Table {
        Table {
            name: name.to_string(),
            chains: builtins(name)
                .iter()
                .map(|c| Chain {
                    name: c.to_string(),
                    ..Chain::default()
                })
                .collect(),
        }
    }
    fn chain(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }
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
        let mut work: Option<Table> = None;
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
                let name = done.name.clone();
                *self.table(&name) = done;
                continue;
            }
            if let Some(decl) = line.strip_prefix(':') {
                let mut words = decl.split_whitespace();
                let name = words.next().unwrap_or("");
                let policy = words
                    .next()
                    .filter(|p| *p != "-" && *p != "ACCEPT")
                    .map(str::to_string);
                match t.chain(name) {
                    Some(c) => {
                        c.rules.clear();
                        c.policy = policy;
                    }
                    None => t.chains.push(Chain {
                        name: name.to_string(),
                        rules: Vec::new(),
                        policy,
                    }),
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix("-A ") {
                let (chain, args) = rest.split_once(' ').unwrap_or((rest, ""));
                let rule = canonical(args).map_err(|e| err(format!("{chain}: {e}")))?;
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
                let target = format!("-j {chain}");
                if t.chains
                    .iter()
                    .flat_map(|c| &c.rules)
                    .any(|r| r.ends_with(&target) || r.contains(&format!("{target} ")))
                {
                    return Err(err(format!("chain {chain} is still jumped to")));
                }
                t.chains.retain(|c| c.name != chain);
                continue;
            }
            return Err(err(format!("not a restore line: {line}")));
        }
        Ok(())
    }

    /// Puts `rule` at the top of `chain` unless it is already there
    /// (kube-proxy's `EnsureRule(Prepend, …)`), creating `target` chains
    /// as `EnsureChain` does.
    pub fn ensure_jump(&mut self, table: &str, chain: &str, rule: &str) -> Result<(), String> {
        let rule = canonical(rule)?;
        let target = rule.rsplit(' ').next().unwrap_or("").to_string();
        let t = self.table(table);
        if t.chain(&target).is_none() {
            t.chains.push(Chain {
                name: target,
                ..Chain::default()
            });
        }
        let c = t
            .chain(chain)
            .ok_or_else(|| format!("no chain {chain} in {table}"))?;
        if !c.rules.contains(&rule) {
            c.rules.insert(0, rule);
        }
        Ok(())
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
                let tb = self.table(t);
                if tb.chain("KUBE-PROXY-CANARY").is_none() {
                    tb.chains.push(Chain {
                        name: "KUBE-PROXY-CANARY".into(),
                        ..Chain::default()
                    });
                }
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
        let mut k = Kernel::default();
        k.restore(text)?;
        Ok(k)
    }

    /// The chains of a table.
    pub fn chains(&self, table: &str) -> Vec<String> {
        self.tables
            .iter()
            .filter(|t| t.name == table)
            .flat_map(|t| t.chains.iter().map(|c| c.name.clone()))
            .collect()
    }

    /// A sync of kube-proxy 1.18/1.19 ([`super::legacy`]): kubelet's chains
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
            let mut chains: Vec<&Chain> = t
                .chains
                .iter()
                .filter(|c| b.contains(&c.name.as_str()))
                .collect();
            chains.sort_by_key(|c| b.iter().position(|x| *x == c.name));
            let mut user: Vec<&Chain> = t
                .chains
                .iter()
                .filter(|c| !b.contains(&c.name.as_str()))
                .collect();
            user.sort_by(|a, b| a.name.cmp(&b.name));
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
