//! Reading YAML with the line of every value: a thin layer over `saphyr`'s
//! marked nodes, so each error says where it is and which field it is
//! (`line 14, column 11: spec.ports[0].port: expected a number from 1 to
//! 65535, found "eighty"`).

use crate::engine::error::{Errors, ParseError};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// A node and the path that led to it (`spec.ports[0]`).
#[derive(Clone, Copy)]
pub struct At<'a, 'y> {
    pub node: &'a MarkedYaml<'y>,
    pub path: &'a str,
}

/// How deep a document may nest: columns of indentation and `- `
/// markers before a line's content, and open `[`/`{`. Kubernetes objects
/// stay far below; the parser recurses per level, and a hostile paste a
/// million levels deep would overflow the browser's stack.
const MAX_COLUMN: usize = 240;
const MAX_FLOW: usize = 64;

/// How much text aliases may stand for: each `*alias` copies its anchor's
/// node, so a file of 1 MB with thousands of aliases of one long string
/// would take gigabytes (saphyr's own limit counts nodes, not their size).
const MAX_ALIASED_BYTES: usize = 64 << 20;

/// Refuses nesting past [`MAX_COLUMN`] / [`MAX_FLOW`], at its line, and
/// aliases that stand for more than [`MAX_ALIASED_BYTES`] in all, at the
/// line of the alias that passes it. An anchor's node is taken to run
/// from the anchor to the next line indented no deeper than the anchor's
/// line. Anchors and aliases are looked for in quotes and comments too
/// (a `*` is an alias only of an anchor seen before it): counting too
/// many is safe, too few is not.
fn check_depth(text: &str) -> Result<(), ParseError> {
    let mut flow = 0usize;
    // Anchors open (their line's indentation, name, where they start),
    // and the size of each closed one.
    let mut open: Vec<(usize, &str, usize)> = Vec::new();
    let mut sizes: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut uses: Vec<(&str, usize)> = Vec::new();
    // The names in `open`, counted: an alias is known at once (a line of
    // thousands of anchors made each alias a scan of them all).
    let mut open_names: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut offset = 0usize;
    for (no, line) in text.lines().enumerate() {
        let line_start = offset;
        offset += line.len() + 1;
        let indent = line.len() - line.trim_start().len();
        if !line.trim().is_empty() {
            while open.last().is_some_and(|(i, ..)| *i >= indent) {
                let (_, name, from) = open.pop().expect("checked");
                if let Some(n) = open_names.get_mut(name) {
                    *n -= 1;
                    if *n == 0 {
                        open_names.remove(name);
                    }
                }
                sizes.insert(name, line_start.saturating_sub(from));
            }
        }
        let mut col = indent;
        let mut rest = line.trim_start();
        while let Some(r) = rest
            .strip_prefix('-')
            .or_else(|| rest.strip_prefix('?'))
            .filter(|r| r.is_empty() || r.starts_with(' '))
        {
            col += 2;
            rest = r.trim_start();
        }
        if col > MAX_COLUMN {
            return Err(ParseError::new(
                no + 1,
                1,
                format!("YAML: nested more than {MAX_COLUMN} columns deep; Kubernetes objects never are"),
            ));
        }
        let rest_at = line_start + (line.len() - rest.len());
        let mut quote: Option<char> = None;
        let mut comment = false;
        let mut before = ' ';
        // The anchor or alias name after `&` or `*` at byte `i`.
        let name_at = |i: usize| {
            let tail = &rest[i + 1..];
            let end = tail
                .find(|c: char| c.is_whitespace() || ",[]{}".contains(c))
                .unwrap_or(tail.len());
            &tail[..end]
        };
        for (i, c) in rest.char_indices() {
            let prev = std::mem::replace(&mut before, c);
            let starts = matches!(prev, ' ' | '\t' | '[' | '{' | ',' | ':' | '-' | '\'' | '"');
            match c {
                '&' if starts => {
                    open.push((indent, name_at(i), rest_at + i));
                    *open_names.entry(name_at(i)).or_default() += 1;
                }
                '*' if starts
                    && (sizes.contains_key(name_at(i)) || open_names.contains_key(name_at(i))) =>
                {
                    uses.push((name_at(i), no + 1));
                }
                _ => {}
            }
            if comment {
                continue;
            }
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') if starts => quote = Some(c),
                (None, '#') if prev == ' ' || prev == '\t' || i == 0 => comment = true,
                (None, '[' | '{') => {
                    flow += 1;
                    if flow > MAX_FLOW {
                        return Err(ParseError::new(
                            no + 1,
                            1,
                            format!("YAML: brackets nested more than {MAX_FLOW} deep"),
                        ));
                    }
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
    }
    for (_, name, from) in open {
        sizes.insert(name, text.len().saturating_sub(from));
    }
    let mut total = 0usize;
    for (k, (name, line)) in uses.iter().enumerate() {
        total = total.saturating_add(sizes.get(name).copied().unwrap_or(text.len()));
        if total > MAX_ALIASED_BYTES {
            return Err(ParseError::new(
                *line,
                1,
                format!(
                    "YAML: the {} aliases (*name) up to here stand for more than {} MB of text; Kubernetes objects need none: write the values out",
                    k + 1,
                    MAX_ALIASED_BYTES >> 20
                ),
            ));
        }
    }
    Ok(())
}

/// Parses every document of `text`; a syntax error is located.
pub fn documents(text: &str) -> Result<Vec<MarkedYaml<'_>>, ParseError> {
    check_depth(text)?;
    MarkedYaml::load_from_str(text).map_err(|e| {
        let m = e.marker();
        ParseError::new(m.line(), m.col() + 1, format!("YAML: {}", e.info()))
    })
}

fn unwrap_tags<'a, 'y>(mut n: &'a MarkedYaml<'y>) -> &'a MarkedYaml<'y> {
    while let YamlData::Tagged(_, inner) = &n.data {
        n = inner;
    }
    n
}

impl<'a, 'y> At<'a, 'y> {
    pub fn new(node: &'a MarkedYaml<'y>, path: &'a str) -> At<'a, 'y> {
        At {
            node: unwrap_tags(node),
            path,
        }
    }

    pub fn line(&self) -> usize {
        self.node.span.start.line()
    }

    /// The column (from 1) where this node starts.
    pub fn column(&self) -> usize {
        self.node.span.start.col() + 1
    }

    /// An error at this node, naming its path.
    pub fn error(&self, message: impl std::fmt::Display) -> ParseError {
        let m = self.node.span.start;
        let path = if self.path.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.path)
        };
        ParseError::new(m.line(), m.col() + 1, format!("{path}{message}"))
    }

    pub fn is_null(&self) -> bool {
        matches!(self.node.data, YamlData::Value(Scalar::Null))
    }

    /// What the node is, for messages: `a list`, `"eighty"`.
    pub fn describe(&self) -> String {
        match &self.node.data {
            YamlData::Value(Scalar::String(s)) => format!("\"{s}\""),
            YamlData::Value(Scalar::Integer(i)) => i.to_string(),
            YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
            YamlData::Value(Scalar::Null) => "nothing".into(),
            YamlData::Value(Scalar::FloatingPoint(_)) => "a decimal number".into(),
            YamlData::Sequence(_) => "a list".into(),
            YamlData::Mapping(_) => "a mapping".into(),
            _ => "something else".into(),
        }
    }

    /// The entries of a mapping, in document order; `None` for a null.
    pub fn entries(&self) -> Result<Vec<(String, &'a MarkedYaml<'y>)>, ParseError> {
        match &self.node.data {
            YamlData::Mapping(m) => m
                .iter()
                .map(|(k, v)| match &unwrap_tags(k).data {
                    YamlData::Value(Scalar::String(s)) => Ok((s.to_string(), v)),
                    YamlData::Value(Scalar::Integer(i)) => Ok((i.to_string(), v)),
                    YamlData::Value(Scalar::Boolean(b)) => Ok((b.to_string(), v)),
                    _ => Err(At::new(k, self.path).error("a key must be a plain word")),
                })
                .collect(),
            YamlData::Value(Scalar::Null) => Ok(Vec::new()),
            _ => Err(self.error(format_args!(
                "expected a mapping, found {}",
                self.describe()
            ))),
        }
    }

    /// The keys of a mapping that are not in `known`, each with its line
    /// and column (empty when the node is not a mapping).
    pub fn other_keys(&self, known: &[&str]) -> Vec<(String, usize, usize)> {
        let YamlData::Mapping(m) = &self.node.data else {
            return Vec::new();
        };
        m.keys()
            .filter_map(|k| {
                let k = unwrap_tags(k);
                let name = match &k.data {
                    YamlData::Value(Scalar::String(s)) => s.to_string(),
                    YamlData::Value(Scalar::Integer(i)) => i.to_string(),
                    YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
                    _ => return None,
                };
                (!known.contains(&name.as_str()))
                    .then(|| (name, k.span.start.line(), k.span.start.col() + 1))
            })
            .collect()
    }

    /// The value under `key` of a mapping (`None` when absent or null).
    pub fn get(&self, key: &str) -> Result<Option<&'a MarkedYaml<'y>>, ParseError> {
        Ok(self
            .entries()?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| !matches!(unwrap_tags(v).data, YamlData::Value(Scalar::Null))))
    }

    /// The items of a sequence; a null is an empty list.
    pub fn items(&self) -> Result<Vec<&'a MarkedYaml<'y>>, ParseError> {
        match &self.node.data {
            YamlData::Sequence(s) => Ok(s.iter().collect()),
            YamlData::Value(Scalar::Null) => Ok(Vec::new()),
            _ => Err(self.error(format_args!("expected a list, found {}", self.describe()))),
        }
    }

    /// A scalar as text (numbers and booleans as written).
    pub fn text(&self) -> Result<String, ParseError> {
        match &self.node.data {
            YamlData::Value(Scalar::String(s)) => Ok(s.to_string()),
            YamlData::Value(Scalar::Integer(i)) => Ok(i.to_string()),
            YamlData::Value(Scalar::Boolean(b)) => Ok(b.to_string()),
            _ => Err(self.error(format_args!("expected text, found {}", self.describe()))),
        }
    }

    pub fn integer(&self, min: i64, max: i64, what: &str) -> Result<i64, ParseError> {
        let v = match &self.node.data {
            YamlData::Value(Scalar::Integer(i)) => Some(*i),
            YamlData::Value(Scalar::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        match v {
            Some(i) if (min..=max).contains(&i) => Ok(i),
            _ => Err(self.error(format_args!(
                "expected {what} from {min} to {max}, found {}",
                self.describe()
            ))),
        }
    }

    pub fn boolean(&self) -> Result<bool, ParseError> {
        match &self.node.data {
            YamlData::Value(Scalar::Boolean(b)) => Ok(*b),
            _ => Err(self.error(format_args!(
                "expected true or false, found {}",
                self.describe()
            ))),
        }
    }
}

/// Collects the errors of a document while reading goes on, so one paste
/// reports every bad field at once.
#[derive(Default)]
pub struct Report {
    pub errors: Errors,
}

impl Report {
    /// The value, or `None` after recording the error.
    pub fn ok<T>(&mut self, r: Result<T, ParseError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }
}
