//! Candidate lists for long chains. kube-proxy's KUBE-SERVICES holds one
//! rule per service port, each testing one destination address; the kernel
//! walks them all. Here a chain of many such rules is indexed by the value
//! most of its rules test (`-d a.b.c.d/32`, or `--dport N`): a packet only
//! visits the rules keyed by its own value and the rules without a key, in
//! chain order, so first-match semantics stay exact. The rules left out are
//! known not to match, and why.

use super::rule::{Match, MatchKind, Rule};
use crate::engine::packet::Packet;
use std::collections::HashMap;

/// Chains shorter than this are walked rule by rule.
pub const MIN_RULES: usize = 32;

/// What an index is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `-d a.b.c.d/32`.
    Dst,
    /// `--dport N` (a single port).
    Dport,
}

#[derive(Clone, Debug)]
pub struct ChainIndex {
    pub kind: KeyKind,
    /// Rule positions (ascending) per key.
    keyed: HashMap<u32, Vec<u32>>,
    /// Rules without a key: they must always be visited.
    unkeyed: Vec<u32>,
}

fn key(kind: KeyKind, m: &Match) -> Option<u32> {
    if m.negated {
        return None;
    }
    match (kind, &m.kind) {
        (KeyKind::Dst, MatchKind::Dst(net)) if net.prefix_len() == 32 => {
            Some(u32::from(net.addr()))
        }
        (KeyKind::Dport, MatchKind::Dport(lo, hi)) if lo == hi => Some(*lo as u32),
        _ => None,
    }
}

/// A rule's key, unless the rule has a match with side effects (a random
/// draw, an nth counter, a recent list): the kernel runs those for every
/// packet that reaches them, so such a rule must always be visited.
fn rule_key(kind: KeyKind, r: &Rule) -> Option<u32> {
    let side_effects = r.matches.iter().any(|m| {
        matches!(
            m.kind,
            MatchKind::Random { .. }
                | MatchKind::Nth { .. }
                | MatchKind::Recent(_)
                | MatchKind::Limit { .. }
        )
    });
    if side_effects {
        return None;
    }
    r.matches.iter().find_map(|m| key(kind, m))
}

impl ChainIndex {
    pub fn build(rules: &[Rule]) -> Option<ChainIndex> {
        if rules.len() < MIN_RULES {
            return None;
        }
        // The key that tells rules apart best: most distinct values among
        // keyed rules (KUBE-SERVICES: thousands of addresses but a few dozen
        // ports), provided most rules have it. Ties go to the destination.
        let mut best: Option<(KeyKind, usize)> = None;
        for k in [KeyKind::Dst, KeyKind::Dport] {
            let keys: Vec<u32> = rules.iter().filter_map(|r| rule_key(k, r)).collect();
            if keys.len() * 2 < rules.len() {
                continue;
            }
            let distinct = keys.iter().collect::<std::collections::HashSet<_>>().len();
            if best.is_none_or(|(_, d)| distinct > d) {
                best = Some((k, distinct));
            }
        }
        let kind = best?.0;
        let mut keyed: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut unkeyed = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match rule_key(kind, r) {
                Some(k) => keyed.entry(k).or_default().push(i as u32),
                None => unkeyed.push(i as u32),
            }
        }
        Some(ChainIndex {
            kind,
            keyed,
            unkeyed,
        })
    }

    /// The packet's key; `None` when the packet has no such field (no port).
    pub fn packet_key(&self, p: &Packet) -> Option<u32> {
        match self.kind {
            KeyKind::Dst => Some(u32::from(p.head().dst)),
            KeyKind::Dport => p.head_ports().map(|(_, d)| d as u32),
        }
    }

    /// Rule positions to visit for this packet, in chain order, starting at `from`.
    pub fn candidates(&self, p: &Packet, from: usize) -> Vec<u32> {
        let keyed: &[u32] = self
            .packet_key(p)
            .and_then(|k| self.keyed.get(&k))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let from = from as u32;
        let a = &keyed[keyed.partition_point(|&x| x < from)..];
        let b = &self.unkeyed[self.unkeyed.partition_point(|&x| x < from)..];
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if j == b.len() || (i < a.len() && a[i] < b[j]) {
                out.push(a[i]);
                i += 1;
            } else {
                out.push(b[j]);
                j += 1;
            }
        }
        out
    }

    /// Why a rule that is not a candidate did not match.
    pub fn skip_reason(&self) -> &'static str {
        match self.kind {
            KeyKind::Dst => "destination address differs (-d)",
            KeyKind::Dport => "destination port differs (--dport)",
        }
    }
}
