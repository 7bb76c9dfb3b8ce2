//! Splits a line into words the way `iptables-restore` does (whitespace
//! separates words, double quotes group a word, a backslash inside them
//! takes the next character whatever it is; a single quote is a character
//! like any other), or, for a single command typed as at a shell, as a
//! POSIX shell does (single quotes group literally too; inside double
//! quotes only `\"` and `\\` escape).
//!
//! Words borrow from the line unless quoting changed them: a 12 MB dump is
//! split without allocating a string per word.

use std::borrow::Cow;

/// One word of a line, with where it starts and whether it was quoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: Cow<'a, str>,
    /// Byte offset in the line where the word starts.
    pub start: usize,
    /// Byte offset in the line just past the word (past its closing
    /// quote when quoted).
    pub end: usize,
    pub quoted: bool,
}

/// Levenshtein distance, for "did you mean" (short words only).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// 1-based column (in characters) of byte offset `byte` in `line`.
pub fn column(line: &str, byte: usize) -> usize {
    line[..byte.min(line.len())].chars().count() + 1
}

/// Byte offset of `word` in `line` when `word` is a slice of `line` (as
/// `split_whitespace` gives), whatever other places spell it too; None
/// for another string (what the unstable `str::substr_range` answers).
pub fn offset_in(line: &str, word: &str) -> Option<usize> {
    let at = (word.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    (at + word.len() <= line.len()).then_some(at)
}

/// Splits `line` as `iptables-restore` does. An unterminated quote is an
/// error at its byte offset.
pub fn words(line: &str) -> Result<Vec<Word<'_>>, (usize, &'static str)> {
    let mut out = Vec::with_capacity(16);
    split(line, &mut out, false)?;
    Ok(out)
}

/// Splits `line` as a shell does (single quotes group too).
pub fn shell_words(line: &str) -> Result<Vec<Word<'_>>, (usize, &'static str)> {
    let mut out = Vec::with_capacity(16);
    split(line, &mut out, true)?;
    Ok(out)
}

/// Splits `line` as `iptables-restore` does into `out` (cleared first), so
/// a caller splitting many lines reuses one buffer.
pub fn words_into<'a>(line: &'a str, out: &mut Vec<Word<'a>>) -> Result<(), (usize, &'static str)> {
    split(line, out, false)
}

fn split<'a>(
    line: &'a str,
    out: &mut Vec<Word<'a>>,
    shell: bool,
) -> Result<(), (usize, &'static str)> {
    out.clear();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        // Fast path: a plain word with no quotes borrows the line.
        let mut j = i;
        while j < bytes.len()
            && !bytes[j].is_ascii_whitespace()
            && bytes[j] != b'"'
            && !(shell && bytes[j] == b'\'')
        {
            j += 1;
        }
        if j == bytes.len() || bytes[j].is_ascii_whitespace() {
            out.push(Word {
                text: Cow::Borrowed(&line[start..j]),
                start,
                end: j,
                quoted: false,
            });
            i = j;
            continue;
        }
        // A double-quoted word with no escapes borrows too.
        if j == start && bytes[j] == b'"' {
            if let Some(rel) = bytes[j + 1..].iter().position(|&c| c == b'"' || c == b'\\') {
                let end = j + 1 + rel;
                if bytes[end] == b'"'
                    && (end + 1 == bytes.len() || bytes[end + 1].is_ascii_whitespace())
                {
                    out.push(Word {
                        text: Cow::Borrowed(&line[j + 1..end]),
                        start,
                        end: end + 1,
                        quoted: true,
                    });
                    i = end + 1;
                    continue;
                }
            }
        }
        // General case: build the word.
        let mut text = String::from(&line[start..j]);
        let mut quoted = false;
        let mut k = j;
        let mut chars = line[j..].char_indices().peekable();
        while let Some(&(off, c)) = chars.peek() {
            k = j + off;
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '"' => {
                    quoted = true;
                    let mut closed = false;
                    while let Some((_, c)) = chars.next() {
                        match c {
                            // iptables-restore takes the next character
                            // whatever it is; a shell only `"` and `\`.
                            '\\' => match chars.peek() {
                                Some(&(_, n)) if !shell || n == '"' || n == '\\' => {
                                    text.push(n);
                                    chars.next();
                                }
                                _ => text.push('\\'),
                            },
                            '"' => {
                                closed = true;
                                break;
                            }
                            c => text.push(c),
                        }
                    }
                    if !closed {
                        return Err((k, "unterminated double quote"));
                    }
                }
                '\'' if shell => {
                    quoted = true;
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '\'' {
                            closed = true;
                            break;
                        }
                        text.push(c);
                    }
                    if !closed {
                        return Err((k, "unterminated single quote"));
                    }
                }
                c => text.push(c),
            }
            k = line.len();
        }
        let end = chars.peek().map(|&(off, _)| j + off).unwrap_or(line.len());
        let _ = k;
        out.push(Word {
            text: Cow::Owned(text),
            start,
            end,
            quoted,
        });
        i = end;
    }
    Ok(())
}

/// Writes a word back in restore syntax, so that [`words`] reads it as
/// it was: quoted (with `\"` and `\\` escaped) when it was quoted or
/// must be. (`iptables-save`'s own quoting is `canonical`'s.)
pub fn quote(text: &str, quoted: bool) -> String {
    if quoted
        || text.is_empty()
        || text
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'')
    {
        let mut s = String::with_capacity(text.len() + 2);
        s.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
        s
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quotes_and_escapes() {
        let line = r#"-A X -m comment --comment "a \"b\" c" -j 'Y Z' --x "plain""#;
        // iptables-restore takes a single quote for a character: 'Y and Z'
        // are two words (measured: iptables-restore 1.8.9 refuses
        // `--comment 'a -p tcp'` for its second -p).
        let restored: Vec<_> = (words(line).unwrap().into_iter())
            .map(|w| w.text.into_owned())
            .collect();
        assert_eq!(restored[6..9], ["-j", "'Y", "Z'"]);
        let w = shell_words(line).unwrap();
        let texts: Vec<_> = w.iter().map(|w| w.text.as_ref()).collect();
        assert_eq!(
            texts,
            [
                "-A",
                "X",
                "-m",
                "comment",
                "--comment",
                "a \"b\" c",
                "-j",
                "Y Z",
                "--x",
                "plain"
            ]
        );
        assert!(w[5].quoted && w[7].quoted && w[9].quoted && !w[4].quoted);
        assert_eq!(column(line, w[5].start), 27);
        // Where each word ends in the line: past its closing quote.
        let ends: Vec<&str> = w.iter().map(|w| &line[w.start..w.end]).collect();
        assert_eq!(
            ends[5..],
            [r#""a \"b\" c""#, "-j", "'Y Z'", "--x", r#""plain""#]
        );
        assert_eq!(quote(&w[5].text, true), r#""a \"b\" c""#);
        assert!(matches!(w[9].text, Cow::Borrowed(_)));
    }

    /// A word that is partly quoted ends where its last character does,
    /// as iptables-restore reads it.
    #[test]
    fn partly_quoted_words_end_at_their_last_character() {
        let line = r#"ab"c d" "a"b "e\"f" g"#;
        let w = words(line).unwrap();
        let read: Vec<(&str, &str)> = (w.iter())
            .map(|w| (w.text.as_ref(), &line[w.start..w.end]))
            .collect();
        assert_eq!(
            read,
            [
                ("abc d", r#"ab"c d""#),
                ("ab", r#""a"b"#),
                ("e\"f", r#""e\"f""#),
                ("g", "g")
            ]
        );
    }

    #[test]
    fn unterminated_quote_is_located() {
        let line = r#"-A X --comment "oops"#;
        let (at, msg) = words(line).unwrap_err();
        assert_eq!(column(line, at), 16);
        assert_eq!(msg, "unterminated double quote");
    }
}
