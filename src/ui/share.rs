//! Sharing a session: the permalink fragment (deflate + base64url) and the
//! autosave (the same record as plain JSON, for `localStorage`).
//!
//! A [`Saved`] records the scenario as the texts the learner changed on a
//! built-in scenario (or the whole scenario, when it was imported), the
//! packets sent, and the selected step. The engine is deterministic, so
//! sending the same packets again gives the same traces: traces are never
//! stored.
//!
//! A link's fragment is `v2.` followed by the record's JSON, compressed
//! with zlib (deflate level 9 with its Adler-32 checksum, so that a changed
//! character is caught, not read as other data) and written in base64url
//! without padding; `v1.` links (raw deflate, no checksum) are still read. The
//! built-in defaults are not repeated in it: a link for an unedited built-in
//! scenario holds only its name and the packets sent.
//!
//! Plain Rust (no web dependency): built and tested natively too. Bad input
//! never panics; every error says, in words a learner understands, what to
//! do next.

pub use crate::engine::scenario::{Era, HostEdit};
use crate::engine::scenario::{Scenario, Text, BUILTIN};
use crate::engine::sim::SendSpec;
use crate::ui::generator::builtin_scenario as builtin;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use miniz_oxide::inflate::TINFLStatus;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a link or an autosave records: the scenario as edits on a built-in
/// one (or whole, when it is not built-in), the packets sent, and the
/// selected step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// Built-in scenario the edits apply to (`article`); None when
    /// `scenario` is given whole.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// A whole scenario (imported from JSON), when it is not a built-in one.
    /// When both are given, the whole scenario is used and `base` is ignored.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<Scenario>,
    /// Per host: the texts as typed that differ from the base (see
    /// [`edits`]).
    #[serde(rename = "e", default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<HostEdit>,
    /// Per host: the texts in use where the typed ones do not apply (they
    /// have errors): the world runs these, the editors show `edits`.
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<HostEdit>,
    /// Packets sent in order (each one is one trace); replaying them
    /// reproduces the traces (the engine is deterministic).
    #[serde(rename = "p", default, skip_serializing_if = "Vec::is_empty")]
    pub sends: Vec<SendSpec>,
    /// Packets that met other texts than the ones in use (they were sent
    /// before an edit), in runs from the first packet; the packets after
    /// the last run met the texts in use.
    #[serde(rename = "w", default, skip_serializing_if = "Vec::is_empty")]
    pub eras: Vec<Era>,
    /// Before which packets conntrack was flushed (`conntrack -F`); the
    /// number of packets when it was flushed after the last one.
    #[serde(rename = "x", default, skip_serializing_if = "Vec::is_empty")]
    pub flushes: Vec<usize>,
    /// The seconds the next packet waits (a Wait after the last packet).
    #[serde(rename = "wn", default, skip_serializing_if = "Option::is_none")]
    pub wait_next: Option<u32>,
    /// Selected trace and step (indexes from 0).
    #[serde(rename = "at", default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<(usize, usize)>,
    /// The send form as it was left (typed, perhaps not sent).
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub form: Option<SendSpec>,
    /// The host whose rules and routes the editors show (`node54`).
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub editor: Option<String>,
    /// The step filters and the editors' tabs ([`crate::ui::model::Filters::view_code`]).
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// Undo and redo, oldest first (an autosave keeps them; a link does
    /// not).
    #[serde(rename = "u", default, skip_serializing_if = "Vec::is_empty")]
    pub undo: Vec<UndoStep>,
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    pub redo: Vec<UndoStep>,
    /// The cluster's YAML in use, when the typed one (`cluster`) differs
    /// from it (it has errors, or is being synced) and it differs from the
    /// built-in one.
    #[serde(rename = "ca", default, skip_serializing_if = "Option::is_none")]
    pub cluster_applied: Option<String>,
    /// The cluster's YAML, when it differs from the built-in one.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// An exercise's question, as its teacher wrote it in the link.
    #[serde(rename = "q", default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// An exercise's packet (index in `sends`): it and those before it
    /// are the exercise, the reader's own packets after it are not. None
    /// (links before 2026-11-27): every packet is.
    #[serde(rename = "xp", default, skip_serializing_if = "Option::is_none")]
    pub exercise_packet: Option<usize>,
    /// How many packets were sent before the first of `sends` and are
    /// forgotten (past the 2,000 replayed): the history's numbers go on
    /// from them.
    #[serde(rename = "n0", default, skip_serializing_if = "is_zero")]
    pub forgotten: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One change that Undo takes back (or Redo makes again): a host's rules
/// or routes, or the cluster's objects, before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoStep {
    /// The host (`node8`); none for the cluster's YAML.
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Its rules (else its routes).
    #[serde(rename = "f", default, skip_serializing_if = "std::ops::Not::not")]
    pub rules: bool,
    #[serde(rename = "b")]
    pub before: String,
    #[serde(rename = "a")]
    pub after: String,
    /// A cluster change: each host's rules and routes in use before it
    /// (host, rules, routes), which its undo puts back.
    #[serde(rename = "hb", default, skip_serializing_if = "Vec::is_empty")]
    pub hosts_before: Vec<(String, String, String)>,
}

/// Why a link or an autosave could not be made or read. The messages
/// ([`fmt::Display`]) are sentences for the learner, ending with what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareError {
    /// Nothing follows the `#`.
    Empty,
    /// The fragment does not start with `v2.` (or `v1.`); `found` is what
    /// it starts with (at most 16 characters, up to the first `.`).
    UnknownVersion {
        /// The start of the fragment, in place of `v2`.
        found: String,
    },
    /// A character base64url never uses; `position` counts characters from 1
    /// after the `#`.
    BadCharacter {
        /// The character found.
        character: char,
        /// Where, counting characters from 1 after the `#`.
        position: usize,
    },
    /// The data does not inflate: the link is damaged or cut off.
    Damaged,
    /// The data inflates to more than `max` bytes (a decompression bomb, or
    /// not a Packet Walk link).
    TooBig {
        /// The most a link may inflate to, in bytes.
        max: usize,
    },
    /// The JSON does not have the shape of a [`Saved`]; `message` is serde's.
    BadJson {
        /// What serde_json says is wrong, with line and column.
        message: String,
    },
    /// The link is longer than [`MAX_LINK`] characters.
    TooLong {
        /// The fragment's length in characters (or, `at_least`, the least
        /// it could be, when the session is too large to be worth packing).
        len: usize,
        /// [`MAX_LINK`].
        max: usize,
        at_least: bool,
    },
    /// The base is not the name of a built-in scenario.
    UnknownBase {
        /// The name the record gives.
        name: String,
    },
    /// An edit names a host the scenario does not have.
    UnknownHost {
        /// The host the edit names.
        host: String,
        /// The name of the scenario the edit applies to.
        scenario: String,
    },
    /// The record names neither a built-in scenario nor gives a whole one.
    NoScenario,
}

/// How to get a scenario when a link cannot carry it.
const ASK_FOR_FILE: &str = "ask whoever sent it to export the scenario as a file and send that";

impl fmt::Display for ShareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareError::Empty => write!(
                f,
                "This link holds no session: nothing follows the '#'. Copy the whole link again."
            ),
            ShareError::UnknownVersion { found } => {
                let versioned = found.len() > 1
                    && found.starts_with('v')
                    && found[1..].bytes().all(|b| b.is_ascii_digit());
                if versioned {
                    write!(
                        f,
                        "This link is in format \"{found}\", which this version of Packet Walk does not read (it reads \"{VERSION}\" links). Open it with the Packet Walk that made it, or {ASK_FOR_FILE}."
                    )
                } else {
                    write!(
                        f,
                        "This is not a Packet Walk link: the part after '#' should start with \"{VERSION}.\" but starts with \"{found}\". Copy the whole link again."
                    )
                }
            }
            ShareError::BadCharacter {
                character,
                position,
            } => write!(
                f,
                "The link contains {} (character {position} after the '#'), which a Packet Walk link never contains: it was changed on the way. Copy the whole link again, exactly as it was given.",
                shown(*character)
            ),
            ShareError::Damaged => write!(
                f,
                "The link is damaged or cut off: its data does not unpack. Copy the whole link again (some chat programs cut long links; if it is long, {ASK_FOR_FILE})."
            ),
            ShareError::TooBig { max } => write!(
                f,
                "The link unpacks to more than {} MiB, far more than any Packet Walk session: it was not made by Packet Walk, or it is damaged. Copy the whole link again, or {ASK_FOR_FILE}.",
                max >> 20
            ),
            ShareError::BadJson { message } => write!(
                f,
                "The link's session does not have the shape this version of Packet Walk expects ({message}). It may come from another version: {ASK_FOR_FILE}."
            ),
            ShareError::TooLong { len, max, at_least } => write!(
                f,
                "The link {} {len} characters long, more than the {max} a Packet Walk link may have (browsers and chat programs cut longer ones). Export the scenario as a file instead.",
                if *at_least { "would be at least" } else { "is" }
            ),
            ShareError::UnknownBase { name } => write!(
                f,
                "The session builds on the scenario \"{name}\", which this version of Packet Walk does not have (it has {}). Open it with the Packet Walk that made it, or {ASK_FOR_FILE}.",
                BUILTIN.join(", ")
            ),
            ShareError::UnknownHost { host, scenario } => write!(
                f,
                "The session changes host \"{host}\", which the scenario \"{scenario}\" does not have: it was made from a different version of that scenario. {}.",
                capitalised(ASK_FOR_FILE)
            ),
            ShareError::NoScenario => write!(
                f,
                "The link's session names no scenario (neither a built-in one nor a whole one). Pick a scenario from the list."
            ),
        }
    }
}

impl std::error::Error for ShareError {}

/// A character as a message shows it: `'%'`, or `U+200B` when it is not a
/// visible ASCII character.
fn shown(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// `s` with its first letter in upper case.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// The most characters a link's fragment (after `#`) may have. Longer links
/// are cut by browsers, servers and chat programs; export a file instead.
pub const MAX_LINK: usize = 32_000;

/// The most bytes a link may inflate to (protects against a decompression
/// bomb: a 32 000-character link could otherwise unpack to ~25 MB).
const MAX_INFLATED: usize = 8 << 20;

/// The format version, the fragment's prefix before the `.`: what links
/// are written in.
const VERSION: &str = "v2";
/// The first format (raw deflate, no checksum): still read.
const VERSION_1: &str = "v1";

/// The texts of a host, as a record compares them: `ip route` text and
/// `iptables-save` text (empty when the host has no rules).
fn texts(h: &crate::engine::scenario::Host) -> (String, String) {
    (
        h.routes.to_text(),
        h.iptables.as_ref().map(Text::to_text).unwrap_or_default(),
    )
}

/// The texts (`Text::to_text`) of the hosts of `current` that differ from
/// `base`, in the order of `current`'s hosts; unchanged hosts give no edit.
///
/// Only texts are compared: hosts added, removed or rebuilt (devices,
/// addresses) are not recorded, so save such a scenario whole
/// ([`Saved::scenario`]). A host of `current` that `base` does not have gives
/// an edit with all its non-empty texts anyway, so that [`restore`] reports
/// it ([`ShareError::UnknownHost`]) instead of losing it silently. Hosts of
/// `base` missing from `current` are ignored.
///
/// A host without rules and a host with an empty rules text compare equal
/// (both are restored as a host without rules).
pub fn edits(base: &Scenario, current: &Scenario) -> Vec<HostEdit> {
    let mut out = Vec::new();
    for h in &current.hosts {
        let (routes, rules) = texts(h);
        let edit = match base.host(&h.name) {
            Some(b) => {
                let (b_routes, b_rules) = texts(b);
                if routes == b_routes && rules == b_rules {
                    continue;
                }
                HostEdit {
                    host: h.name.clone(),
                    rules: (rules != b_rules).then_some(rules),
                    routes: (routes != b_routes).then_some(routes),
                }
            }
            None => HostEdit {
                host: h.name.clone(),
                rules: (!rules.is_empty()).then_some(rules),
                routes: (!routes.is_empty()).then_some(routes),
            },
        };
        out.push(edit);
    }
    out
}

/// The scenario a record describes: the whole scenario if it has one, else
/// the built-in one named by `base`; with the edits applied in order (an
/// empty rules text removes the host's rules). Errors name the unknown base
/// or host.
pub fn restore(saved: &Saved) -> Result<Scenario, ShareError> {
    let mut scenario = match (&saved.scenario, &saved.base) {
        (Some(s), _) => s.clone(),
        (None, Some(name)) => {
            builtin(name).ok_or_else(|| ShareError::UnknownBase { name: name.clone() })?
        }
        (None, None) => return Err(ShareError::NoScenario),
    };
    for e in &saved.edits {
        let name = scenario.name.clone();
        let host = scenario
            .host_mut(&e.host)
            .ok_or_else(|| ShareError::UnknownHost {
                host: e.host.clone(),
                scenario: name,
            })?;
        if let Some(routes) = &e.routes {
            host.routes = Text::One(routes.clone());
        }
        if let Some(rules) = &e.rules {
            host.iptables = (!rules.is_empty()).then(|| Text::One(rules.clone()));
        }
    }
    Ok(scenario)
}

/// The link's fragment for a record, WITHOUT the `#`: `v2.` and the
/// record's JSON, zlib-compressed (level 9) and written in base64url without
/// padding. Errors with [`ShareError::TooLong`] when it would be longer than
/// [`MAX_LINK`] characters.
pub fn encode_link(saved: &Saved) -> Result<String, ShareError> {
    let json = to_json(saved);
    // zlib packs at most about 1032 bytes into one: a session larger than
    // that many links is refused before seconds of packing it.
    let least = json.len() / 1032 * 4 / 3;
    if least > MAX_LINK {
        return Err(ShareError::TooLong {
            len: least,
            max: MAX_LINK,
            at_least: true,
        });
    }
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(json.as_bytes(), 9);
    let link = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(packed));
    if link.len() > MAX_LINK {
        return Err(ShareError::TooLong {
            len: link.len(),
            max: MAX_LINK,
            at_least: false,
        });
    }
    Ok(link)
}

/// Reads a link's fragment, with or without its leading `#`. Whitespace is
/// ignored (links wrapped over lines). Errors: too long, empty, an unknown
/// version, a character base64url does not use (which and where), data that
/// does not inflate (damaged or cut off), data that inflates to more than
/// 8 MiB, JSON that does not fit a [`Saved`].
pub fn decode_link(fragment: &str) -> Result<Saved, ShareError> {
    let body = fragment.strip_prefix('#').unwrap_or(fragment);
    let len = body.chars().count();
    if len > MAX_LINK {
        return Err(ShareError::TooLong {
            len,
            max: MAX_LINK,
            at_least: false,
        });
    }
    // Characters with their positions (from 1 after the '#'), without whitespace.
    let chars: Vec<(usize, char)> = body
        .chars()
        .enumerate()
        .filter(|(_, c)| !c.is_whitespace())
        .map(|(i, c)| (i + 1, c))
        .collect();
    if chars.is_empty() {
        return Err(ShareError::Empty);
    }
    let dot = chars.iter().position(|&(_, c)| c == '.');
    let prefix: String = chars[..dot.unwrap_or(chars.len())]
        .iter()
        .take(16)
        .map(|&(_, c)| c)
        .collect();
    let Some(dot) = dot.filter(|_| prefix == VERSION || prefix == VERSION_1) else {
        return Err(ShareError::UnknownVersion { found: prefix });
    };
    let checked = prefix == VERSION;
    let payload = &chars[dot + 1..];
    if let Some(&(position, character)) = payload
        .iter()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(ShareError::BadCharacter {
            character,
            position,
        });
    }
    let text: String = payload.iter().map(|&(_, c)| c).collect();
    // Every character is base64url now: any error is a wrong length or
    // trailing bits, which is what a cut gives.
    let packed = URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map_err(|_| ShareError::Damaged)?;
    // A v2 link's checksum turns a changed character into Damaged.
    let inflated = if checked {
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&packed, MAX_INFLATED)
    } else {
        miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_INFLATED)
    };
    let json = inflated.map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => ShareError::TooBig { max: MAX_INFLATED },
        _ => ShareError::Damaged,
    })?;
    // One reader for links and autosaves (from_str) keeps one copy of the
    // deserialiser in the page.
    let json = String::from_utf8(json).map_err(|e| ShareError::BadJson {
        message: format!(
            "the data is not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    from_json(&json)
}

/// The record as compact JSON (no compression), for the autosave.
pub fn to_json(saved: &Saved) -> String {
    // Saved holds only strings, numbers and lists: serialising cannot fail.
    serde_json::to_string(saved).expect("a saved session always serialises")
}

/// Reads a record written by [`to_json`]; [`ShareError::BadJson`] with
/// serde's message when it does not fit.
pub fn from_json(text: &str) -> Result<Saved, ShareError> {
    serde_json::from_str(text).map_err(|e| ShareError::BadJson {
        message: plain(&e.to_string()),
    })
}

/// serde's words for a shape that does not fit, in a reader's: `expected
/// struct Saved` is a session, `usize` a whole number (only in what it
/// expected: the link's own values are quoted as they are).
fn plain(message: &str) -> String {
    let Some(at) = message.find("expected ") else {
        return message.to_string();
    };
    let (found, expected) = message.split_at(at);
    let mut out = expected.to_string();
    for (from, to) in [
        ("struct Saved", "a Packet Walk session"),
        ("struct ", ""),
        ("usize", "a whole number"),
        ("u64", "a whole number"),
        ("u32", "a whole number"),
        ("u16", "a whole number from 0 to 65535"),
        ("u8", "a whole number from 0 to 255"),
        ("a sequence", "a list"),
        ("a map", "an object"),
    ] {
        out = out.replace(from, to);
    }
    format!("{found}{out}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::packet::Proto;
    use crate::engine::scenario::World;

    const NODE: &str = "node8";
    const OLD_ROUTE: &str = "172.16.3.64/26 via 192.168.11.54 dev tunl0 proto bird onlink";
    const NEW_ROUTE: &str = "172.16.3.64/26 via 192.168.11.53 dev tunl0 proto bird onlink";

    fn article() -> Scenario {
        builtin("article").expect("article is built in")
    }

    /// The article scenario with one route line of node8 changed.
    fn edited_article() -> Scenario {
        let mut s = article();
        let host = s.host_mut(NODE).expect("article has node8");
        let text = host.routes.to_text();
        assert!(text.contains(OLD_ROUTE), "node8's routes changed: {text}");
        host.routes = Text::One(text.replace(OLD_ROUTE, NEW_ROUTE));
        s
    }

    fn preset() -> SendSpec {
        article().preset.expect("article has a preset").to_spec()
    }

    /// The edited article, two packets sent, step 5 of the second selected.
    fn edited_saved() -> Saved {
        let mut second = SendSpec::new("curl-7d4b9c6f5-qm2lx", "ms-test/flask-ui", Proto::Tcp);
        second.src_port = Some(40_000);
        Saved {
            base: Some("article".into()),
            scenario: None,
            edits: edits(&article(), &edited_article()),
            sends: vec![preset(), second],
            selected: Some((1, 5)),
            ..Saved::default()
        }
    }

    fn default_saved() -> Saved {
        Saved {
            base: Some("article".into()),
            sends: vec![preset()],
            selected: Some((0, 0)),
            ..Saved::default()
        }
    }

    /// Fragments holding `bytes` (any bytes, not only a record): as v1
    /// (raw deflate) and as v2 (zlib) links.
    fn links_of(bytes: &[u8]) -> [String; 2] {
        let v1 = miniz_oxide::deflate::compress_to_vec(bytes, 9);
        let v2 = miniz_oxide::deflate::compress_to_vec_zlib(bytes, 9);
        [
            format!("v1.{}", URL_SAFE_NO_PAD.encode(v1)),
            format!("v2.{}", URL_SAFE_NO_PAD.encode(v2)),
        ]
    }

    /// Deterministic text that does not compress (xorshift, hex digits).
    fn noise(len: usize) -> String {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from_digit((x % 16) as u32, 16).unwrap_or('0')
            })
            .collect()
    }

    fn all_texts(s: &Scenario) -> Vec<(String, String, Option<String>)> {
        s.hosts
            .iter()
            .map(|h| {
                (
                    h.name.clone(),
                    h.routes.to_text(),
                    h.iptables.as_ref().map(Text::to_text),
                )
            })
            .collect()
    }

    #[test]
    fn edits_record_only_the_changed_text() {
        let e = edits(&article(), &edited_article());
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].host, NODE);
        assert_eq!(e[0].rules, None);
        let routes = e[0].routes.as_deref().unwrap_or("");
        assert!(routes.contains(NEW_ROUTE) && !routes.contains(OLD_ROUTE));
        assert!(edits(&article(), &article()).is_empty());
    }

    #[test]
    fn edited_article_round_trips_through_a_link() {
        let saved = edited_saved();
        let link = encode_link(&saved).expect("fits in a link");
        assert!(link.starts_with("v2."), "{link}");
        assert!(!link.contains('#'));
        for fragment in [link.clone(), format!("#{link}")] {
            let back = decode_link(&fragment).expect("decodes");
            assert_eq!(back, saved);
            assert_eq!(back.selected, Some((1, 5)));
            assert_eq!(back.sends.len(), 2);
            let restored = restore(&back).expect("restores");
            assert_eq!(all_texts(&restored), all_texts(&edited_article()));
            assert_ne!(all_texts(&restored), all_texts(&article()));
            assert!(World::build(&restored).is_ok());
        }
    }

    /// A ping and its echo-reply keep their ICMP type, identifier and
    /// sequence through a link.
    #[test]
    fn a_ping_and_its_reply_round_trip_through_a_link() {
        let mut ping = SendSpec::new(NODE, "172.16.225.112", Proto::Icmp);
        ping.src_port = Some(4242);
        let mut reply = SendSpec::new("flask-ui-6c9f7d8b5d-x2k4p", "192.168.11.58", Proto::Icmp);
        reply.icmp_type = Some(0);
        reply.src_port = Some(4242);
        reply.seq = Some(1);
        let saved = Saved {
            base: Some("article".into()),
            sends: vec![ping, reply],
            selected: Some((1, 0)),
            ..Saved::default()
        };
        let back = decode_link(&encode_link(&saved).expect("fits")).expect("decodes");
        assert_eq!(back, saved);
        assert_eq!(back.sends[1].icmp_type, Some(0));
    }

    /// The kernel's answer to a refused packet (its ICMP error, the
    /// quote and the connection it carries) goes through a link, and
    /// walks back the same way from it.
    #[test]
    fn a_refused_packets_answer_round_trips_through_a_link() {
        use crate::engine::sim::{reply_spec, send, SimState};
        let mut w = World::build(&article()).expect("builds");
        let mut state = SimState::new(&w);
        let refused = SendSpec::new("curl-7d4b9c6f5-qm2lx", "ms-test/flask-api", Proto::Tcp);
        let t = send(&mut w, &mut state, &refused).expect("sends");
        let answer = reply_spec(&t).expect("the REJECT answers");
        assert!(answer.is_icmp_error() && answer.ct.is_some(), "{answer:?}");
        let walked = send(&mut w, &mut state, &answer).expect("sends");
        let saved = Saved {
            base: Some("article".into()),
            sends: vec![refused.clone(), answer],
            selected: Some((1, 0)),
            ..Saved::default()
        };
        let back = decode_link(&encode_link(&saved).expect("fits")).expect("decodes");
        assert_eq!(back, saved);
        let mut w = World::build(&article()).expect("builds");
        let mut state = SimState::new(&w);
        send(&mut w, &mut state, &back.sends[0]).expect("sends");
        assert_eq!(send(&mut w, &mut state, &back.sends[1]), Ok(walked));
    }

    #[test]
    fn unedited_default_link_is_short() {
        let link = encode_link(&default_saved()).expect("fits");
        assert!(link.len() < 200, "{} characters: {link}", link.len());
        assert_eq!(decode_link(&link), Ok(default_saved()));
        assert_eq!(restore(&default_saved()), Ok(article()));
    }

    #[test]
    fn autosave_json_round_trips_and_is_compact() {
        for saved in [default_saved(), edited_saved(), Saved::default()] {
            let json = to_json(&saved);
            assert_eq!(from_json(&json), Ok(saved.clone()));
            assert!(!json.contains("null") && !json.contains(": "), "{json}");
        }
        assert_eq!(to_json(&Saved::default()), "{}");
    }

    #[test]
    fn whole_scenario_round_trips() {
        let mut whole = edited_article();
        whole.name = "imported".into();
        let saved = Saved {
            scenario: Some(whole.clone()),
            edits: vec![HostEdit {
                host: NODE.into(),
                rules: Some(String::new()),
                routes: None,
            }],
            ..Saved::default()
        };
        let back = decode_link(&encode_link(&saved).expect("fits")).expect("decodes");
        let restored = restore(&back).expect("restores");
        // The empty rules text removed node8's rules; the rest is the whole scenario.
        assert_eq!(restored.host(NODE).and_then(|h| h.iptables.as_ref()), None);
        whole.host_mut(NODE).expect("node8").iptables = None;
        assert_eq!(restored, whole);
    }

    #[test]
    fn rules_edits_and_added_hosts() {
        let mut current = article();
        let node = current.host_mut(NODE).expect("node8");
        let rules = node
            .iptables
            .as_ref()
            .map(Text::to_text)
            .unwrap_or_default();
        node.iptables = Some(Text::One(format!("# edited\n{rules}")));
        let mut extra = current.hosts[0].clone();
        extra.name = "node99".into();
        current.hosts.push(extra);
        let e = edits(&article(), &current);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!((e[0].host.as_str(), e[0].routes.is_none()), (NODE, true));
        assert!(e[0].rules.as_deref().unwrap_or("").starts_with("# edited"));
        // The added host is recorded whole, so that restore names it.
        assert_eq!(e[1].host, "node99");
        assert!(e[1].routes.is_some() && e[1].rules.is_some());
        let saved = Saved {
            base: Some("article".into()),
            edits: e,
            ..Saved::default()
        };
        assert_eq!(
            restore(&saved),
            Err(ShareError::UnknownHost {
                host: "node99".into(),
                scenario: "article".into()
            })
        );
    }

    /// An error, and words its message must contain.
    type Case = (
        &'static str,
        Result<Saved, ShareError>,
        ShareError,
        &'static [&'static str],
    );

    #[test]
    fn bad_links_give_their_own_error_and_say_what_to_do() {
        let link = encode_link(&edited_saved()).expect("fits");
        let half = &link[..link.len() / 2];
        let mut bad: Vec<char> = link.chars().collect();
        bad[40] = '!';
        let bad: String = bad.into_iter().collect();
        let long = format!("v1.{}", "A".repeat(MAX_LINK));
        let [bomb_v1, bomb_v2] = links_of(&vec![b' '; MAX_INFLATED + 1]);
        assert!(bomb_v2.len() < MAX_LINK, "the bomb must fit in a link");
        let [shape_v1, shape_v2] = links_of(br#"{"b": 5}"#);
        let [_, whole] = links_of(br#""hello""#);
        let [_, count] = links_of(br#"{"b": "article", "xp": "many"}"#);
        let cases: Vec<Case> = vec![
            (
                "cut in half",
                decode_link(half),
                ShareError::Damaged,
                &["damaged or cut off", "Copy the whole link again"],
            ),
            (
                "bad character",
                decode_link(&bad),
                ShareError::BadCharacter {
                    character: '!',
                    position: 41,
                },
                &["'!'", "character 41", "Copy the whole link again"],
            ),
            (
                "bad character after #",
                decode_link(&format!("#{bad}")),
                ShareError::BadCharacter {
                    character: '!',
                    position: 41,
                },
                &["character 41"],
            ),
            (
                "a later version",
                decode_link(&format!("v3.{}", &link[3..])),
                ShareError::UnknownVersion { found: "v3".into() },
                &["\"v3\"", "export the scenario as a file"],
            ),
            (
                "not a link",
                decode_link("#hello"),
                ShareError::UnknownVersion {
                    found: "hello".into(),
                },
                &["not a Packet Walk link", "Copy the whole link again"],
            ),
            (
                "empty",
                decode_link("#"),
                ShareError::Empty,
                &["Copy the whole link again"],
            ),
            (
                "json of the wrong shape (v1)",
                decode_link(&shape_v1),
                ShareError::BadJson {
                    message: "invalid type: integer `5`, expected a string at line 1 column 7"
                        .into(),
                },
                &["invalid type", "export the scenario as a file"],
            ),
            // In a reader's words, not serde's.
            (
                "json of the wrong shape: not a session",
                decode_link(&whole),
                ShareError::BadJson {
                    message: "invalid type: string \"hello\", expected a Packet Walk session at line 1 column 7".into(),
                },
                &["expected a Packet Walk session"],
            ),
            (
                "json of the wrong shape: a word for a count",
                decode_link(&count),
                ShareError::BadJson {
                    message: "invalid type: string \"many\", expected a whole number at line 1 column 29".into(),
                },
                &["expected a whole number"],
            ),
            (
                "json of the wrong shape (v2)",
                decode_link(&shape_v2),
                ShareError::BadJson {
                    message: "invalid type: integer `5`, expected a string at line 1 column 7"
                        .into(),
                },
                &["invalid type", "export the scenario as a file"],
            ),
            (
                "over-long link",
                decode_link(&long),
                ShareError::TooLong {
                    len: MAX_LINK + 3,
                    max: MAX_LINK,
                    at_least: false,
                },
                &["32003 characters", "Export the scenario as a file instead"],
            ),
            (
                "decompression bomb (v1)",
                decode_link(&bomb_v1),
                ShareError::TooBig { max: MAX_INFLATED },
                &["8 MiB", "export the scenario as a file"],
            ),
            (
                "decompression bomb (v2)",
                decode_link(&bomb_v2),
                ShareError::TooBig { max: MAX_INFLATED },
                &["8 MiB", "export the scenario as a file"],
            ),
        ];
        for (name, got, want, words) in cases {
            assert_eq!(got.as_ref(), Err(&want), "{name}");
            let message = want.to_string();
            for w in words {
                assert!(message.contains(w), "{name}: {message:?} lacks {w:?}");
            }
        }
    }

    /// Any one character of a link changed to another base64url
    /// character: the checksum says the link is damaged (a v1 link could
    /// open with other data, as a YAML line "gateway" became "P paway").
    #[test]
    fn a_changed_character_is_damage_not_other_data() {
        let link = encode_link(&edited_saved()).expect("fits");
        let chars: Vec<char> = link.chars().collect();
        for i in 3..chars.len() {
            for to in ['A', 'q', '-'] {
                if chars[i] == to {
                    continue;
                }
                let mut bad = chars.clone();
                bad[i] = to;
                let bad: String = bad.into_iter().collect();
                let got = decode_link(&bad);
                assert!(got.is_err(), "character {i} as {to:?}: {got:?}");
            }
        }
    }

    #[test]
    fn not_json_and_wrong_shapes_are_bad_json() {
        for bytes in [
            &b"not json"[..],
            b"[1, 2]",
            b"{\"p\": [{\"from\": 1}]}",
            b"\xff\xfe",
        ] {
            for link in links_of(bytes) {
                let got = decode_link(&link);
                assert!(
                    matches!(got, Err(ShareError::BadJson { .. })),
                    "{bytes:?}: {got:?}"
                );
            }
            let got = from_json(&String::from_utf8_lossy(bytes));
            assert!(
                matches!(got, Err(ShareError::BadJson { .. })),
                "{bytes:?}: {got:?}"
            );
        }
    }

    #[test]
    fn restore_errors_name_what_is_unknown() {
        let cases: Vec<Case> = vec![
            (
                "unknown base",
                restore(&Saved {
                    base: Some("nope".into()),
                    ..Saved::default()
                })
                .map(|_| Saved::default()),
                ShareError::UnknownBase {
                    name: "nope".into(),
                },
                &["\"nope\"", "article", "export the scenario as a file"],
            ),
            (
                "unknown host",
                restore(&Saved {
                    base: Some("article".into()),
                    edits: vec![HostEdit {
                        host: "node99".into(),
                        rules: None,
                        routes: Some(String::new()),
                    }],
                    ..Saved::default()
                })
                .map(|_| Saved::default()),
                ShareError::UnknownHost {
                    host: "node99".into(),
                    scenario: "article".into(),
                },
                &[
                    "\"node99\"",
                    "\"article\"",
                    "Ask whoever sent it to export the scenario as a file",
                ],
            ),
            (
                "no scenario",
                restore(&Saved::default()).map(|_| Saved::default()),
                ShareError::NoScenario,
                &["Pick a scenario"],
            ),
        ];
        for (name, got, want, words) in cases {
            assert_eq!(got.as_ref(), Err(&want), "{name}");
            let message = want.to_string();
            for w in words {
                assert!(message.contains(w), "{name}: {message:?} lacks {w:?}");
            }
        }
    }

    #[test]
    fn too_long_to_encode() {
        let mut whole = article();
        whole.hosts[0].routes = Text::One(noise(100_000));
        let saved = Saved {
            scenario: Some(whole),
            ..Saved::default()
        };
        let err = encode_link(&saved).expect_err("does not fit");
        assert!(
            matches!(err, ShareError::TooLong { len, max: MAX_LINK, at_least: false } if len > MAX_LINK),
            "{err:?}"
        );
        // Far too large to be worth packing: refused by its size alone.
        let mut huge = article();
        huge.hosts[0].routes = Text::One("x".repeat(40_000_000));
        let err = encode_link(&Saved {
            scenario: Some(huge),
            ..Saved::default()
        })
        .expect_err("does not fit");
        assert!(
            matches!(err, ShareError::TooLong { len, at_least: true, .. } if len > MAX_LINK),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("The link would be at least "));
        assert!(err
            .to_string()
            .contains("Export the scenario as a file instead"));
        // The autosave has no such limit.
        assert_eq!(from_json(&to_json(&saved)), Ok(saved));
    }

    #[test]
    fn whitespace_in_a_link_is_ignored() {
        let link = encode_link(&edited_saved()).expect("fits");
        let wrapped = format!("  {}\n{} \n", &link[..50], &link[50..]);
        assert_eq!(decode_link(&wrapped), Ok(edited_saved()));
    }

    #[test]
    fn mangled_links_never_panic() {
        let link = encode_link(&edited_saved()).expect("fits");
        let chars: Vec<char> = link.chars().collect();
        for i in 0..chars.len() {
            for c in ['A', '_', '-', 'z', '9', '.', '#', 'é', '\0'] {
                let mut m = chars.clone();
                m[i] = c;
                let m: String = m.into_iter().collect();
                let _ = decode_link(&m).map(|s| restore(&s));
            }
            let _ = decode_link(&format!("{}{}", &link[..i], &link[i + 1..]));
            // Every cut link is refused.
            assert!(decode_link(&link[..i]).is_err(), "cut at {i}");
        }
    }
}
