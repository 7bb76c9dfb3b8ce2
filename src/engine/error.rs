//! Located errors: every parse or load error names the line, the column and
//! what was expected, so a learner can fix the text they typed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One error in a piece of text (an `iptables-save` dump, an `ip route`
/// listing, a scenario). Lines and columns count from 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    /// What is wrong, in words.
    pub message: String,
    /// What the parser would have accepted there, if it can say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// The text the line counts in, when it is not the whole input: `host
    /// node8 routes` (a scenario's host text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl ParseError {
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            column,
            message: shown(message.into()),
            expected: None,
            context: None,
        }
    }

    /// Where it is, in words: `line 3, column 7`, `line 3`, or None for
    /// an error of the whole text (line 0).
    pub fn place(&self) -> Option<String> {
        match (self.line, self.column) {
            (0, _) => None,
            (l, 0) => Some(format!("line {l}")),
            (l, c) => Some(format!("line {l}, column {c}")),
        }
    }

    pub fn expected(mut self, what: impl Into<String>) -> ParseError {
        self.expected = Some(shown(what.into()));
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.context {
            write!(f, "{c}, ")?;
        }
        // Line 0: the error belongs to no line (the text as a whole).
        if let Some(at) = self.place() {
            write!(f, "{at}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(e) = &self.expected {
            write!(f, " (expected {e})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// Messages quote what they found: a control character in it is written
/// as `\u{0}` (a NUL would end the line on a terminal, or vanish on the
/// page), and a word past 200 characters is cut where it stands, its
/// length said, so the words after it (the reason) stay.
fn shown(message: String) -> String {
    const WORD: usize = 200;
    let long_word = message.split_whitespace().any(|w| w.len() > WORD);
    if !long_word && !message.chars().any(|c| c.is_control() && c != '\n') {
        return message;
    }
    let mut out = String::new();
    let mut word = 0usize;
    let mut cut = 0usize;
    for c in message.chars() {
        if c.is_whitespace() {
            if cut > 0 {
                out += &format!("… ({cut} characters more)");
                cut = 0;
            }
            word = 0;
        } else {
            word += 1;
            if word > WORD {
                cut += 1;
                continue;
            }
        }
        if c.is_control() && c != '\n' {
            out += &format!("\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    if cut > 0 {
        out += &format!("… ({cut} characters more)");
    }
    out
}

/// At most this many errors are reported for one text; the rest are counted.
pub const MAX_ERRORS: usize = 200;

/// A list of located errors, as returned by the parsers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errors(pub Vec<ParseError>);

impl Errors {
    /// Adds an error; past [`MAX_ERRORS`] errors are not kept.
    pub fn push(&mut self, e: ParseError) {
        if !self.full() {
            self.0.push(e);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn full(&self) -> bool {
        self.0.len() >= MAX_ERRORS
    }
    /// The errors as lines of another text: `host node8 routes, line 2,
    /// column 1: …` (line 2 of those routes, not of the whole input).
    pub fn in_context(mut self, ctx: &str) -> Errors {
        for e in &mut self.0 {
            e.context = Some(match e.context.take() {
                Some(inner) => format!("{ctx} {inner}"),
                None => ctx.to_string(),
            });
        }
        self
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.full() {
            write!(f, "\n(stopped after {MAX_ERRORS} errors)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

impl From<ParseError> for Errors {
    fn from(e: ParseError) -> Errors {
        Errors(vec![e])
    }
}

#[cfg(test)]
mod tests {
    use super::ParseError;

    /// The place is said as far as it is known: none for an error of the
    /// whole text (a scenario's host defined twice), a line alone, or a
    /// line and column.
    #[test]
    fn an_error_says_as_much_of_its_place_as_it_knows() {
        for (line, column, said) in [
            (0, 0, "host \"node8\" is defined twice"),
            (3, 0, "line 3: host \"node8\" is defined twice"),
            (3, 7, "line 3, column 7: host \"node8\" is defined twice"),
        ] {
            let e = ParseError::new(line, column, "host \"node8\" is defined twice");
            assert_eq!(e.to_string(), said);
        }
    }

    /// What it quotes is shown, not obeyed: a control character escaped,
    /// a long token cut.
    #[test]
    fn an_error_quotes_control_characters_and_long_tokens_safely() {
        let e = ParseError::new(2, 5, "no chain named \"KUBE-\0SERVICES\"");
        assert_eq!(
            e.to_string(),
            "line 2, column 5: no chain named \"KUBE-\\u{0}SERVICES\""
        );
        let long = ParseError::new(
            1,
            1,
            format!("probability {} is not between 0 and 1", "9".repeat(100_000)),
        );
        let shown = long.to_string();
        assert!(
            shown.ends_with("… (99800 characters more) is not between 0 and 1"),
            "{}",
            &shown[shown.len() - 60..]
        );
        assert!(shown.len() < 300);
    }
}
