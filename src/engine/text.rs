//! Files as text: what the command line and the page's file picker both
//! read (a dump saved on Windows, or by an editor that marks its UTF-8).

/// Where a file stops being text: the byte (from 1) and its line and
/// column (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotText {
    pub byte: usize,
    pub line: usize,
    pub column: usize,
    /// What the file says it is (`UTF-8`, `UTF-16`).
    pub encoding: &'static str,
    /// What it is likely to be instead ([`not_text_hint`]).
    pub hint: &'static str,
}

impl std::fmt::Display for NotText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {} (byte {}) is not valid {}{}",
            self.line, self.column, self.byte, self.encoding, self.hint
        )
    }
}

/// What a file that is not text is likely to be, in words (empty when
/// nothing tells).
pub fn not_text_hint(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        ": the file is compressed with gzip (gunzip it first)"
    } else if bytes.starts_with(b"PK\x03\x04") {
        ": the file is a zip archive (unzip it first)"
    } else if bytes.iter().take(4096).any(|&b| b == 0) {
        ": the file is binary, not text (iptables-save and ip route print text)"
    } else {
        ""
    }
}

/// Whether text is iptables rules (iptables-save output, with ipset
/// save's lines before it, or another listing of rules pasted by
/// mistake) rather than routes: by its first lines that say.
pub fn looks_like_rules(text: &str) -> bool {
    text.lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty())
        .take(40)
        .any(|l| {
            (l.starts_with('#') && l.contains("tables"))
                || (!l.starts_with('#')
                    && (l.starts_with('*')
                        || is_chain_line(l)
                        || l.contains("iptables")
                        || [
                            "-A ", "-I ", "-P ", "-N ", "Chain ", "COMMIT", "create ", "add ",
                            "table ", "Name: ", "Members:",
                        ]
                        .iter()
                        .any(|p| l.starts_with(p))))
        })
}

/// A whole word read as C's `strtoul(word, &end, 0)` reads a number when
/// ip and iptables take one (with nothing after it): an optional `+`,
/// then `0x` hex, `0` octal or decimal (`0x10` and `020` are 16, `08` is
/// nothing). None: not such a number, or one over `u32::MAX` (a `-`
/// makes strtoul wrap to one).
pub fn strtoul(word: &str) -> Option<u32> {
    let s = word.strip_prefix('+').unwrap_or(word);
    let (digits, radix) = match s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None if s.len() > 1 && s.starts_with('0') => (&s[1..], 8),
        None => (s, 10),
    };
    (!digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)))
        .then(|| u32::from_str_radix(digits, radix).ok())
        .flatten()
}

/// A chain's line of iptables-save (`:KUBE-SERVICES - [0:0]`), not a
/// stray `:` (a typo in a route file).
fn is_chain_line(l: &str) -> bool {
    let mut words = l.split_whitespace();
    let name = words.next().and_then(|w| w.strip_prefix(':'));
    name.is_some_and(|n| n.starts_with(|c: char| c.is_ascii_alphanumeric()))
        && words.next().is_some()
}

/// A file's bytes as text: UTF-8 (a byte-order mark is dropped), or
/// UTF-16 with its byte-order mark (what Windows tools write).
pub fn decode(bytes: Vec<u8>) -> Result<String, NotText> {
    let hint = not_text_hint(&bytes);
    let utf16 = |le: bool| {
        let mut out = String::new();
        let (mut line, mut column) = (1, 1);
        let units = bytes[2..].chunks(2).map(|c| match (c, le) {
            ([a, b], true) => Ok(u16::from_le_bytes([*a, *b])),
            ([a, b], false) => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err(()),
        });
        let mut at = 2;
        // An odd byte at the end is half a unit.
        let whole = units.map_while(Result::ok);
        for c in char::decode_utf16(whole) {
            let Ok(c) = c else { break };
            out.push(c);
            at += c.len_utf16() * 2;
            (line, column) = if c == '\n' {
                (line + 1, 1)
            } else {
                (line, column + 1)
            };
        }
        if at == bytes.len() {
            Ok(out)
        } else {
            Err(NotText {
                byte: at + 1,
                line,
                column,
                encoding: "UTF-16",
                hint: "",
            })
        }
    };
    let utf8 = |from: usize| {
        std::str::from_utf8(&bytes[from..])
            .map(str::to_string)
            .map_err(|e| {
                let good = &bytes[from..from + e.valid_up_to()];
                let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
                NotText {
                    byte: from + e.valid_up_to() + 1,
                    line: good.iter().filter(|&&b| b == b'\n').count() + 1,
                    column,
                    encoding: "UTF-8",
                    hint,
                }
            })
    };
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        utf8(3)
    } else if bytes.starts_with(&[0xFF, 0xFE]) {
        utf16(true)
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        utf16(false)
    } else {
        utf8(0)
    }
}

/// Text as typed or pasted, without a byte-order mark at its start (a
/// paste from a file opened in some editors carries one).
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The first character of a line (as [`str::lines`] gives it) that looks
/// like a space or nothing but is not one to `ip` and `iptables-restore`,
/// which split words on spaces and tabs alone: a carriage return inside the
/// line (a file whose lines end in CR alone), a non-breaking or other
/// Unicode space (a paste from a web page), a zero-width character, or
/// another control character; with its column (from 1).
pub fn odd_char(line: &str) -> Option<(usize, char)> {
    let odd = |c: char| {
        c != ' '
            && c != '\t'
            && (c.is_whitespace()
                || c.is_control()
                || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}'))
    };
    let (col, c) = line.chars().enumerate().find(|&(_, c)| odd(c))?;
    Some((col + 1, c))
}

/// What an [`odd_char`] is, in words, and what to do about it.
pub fn odd_char_words(c: char) -> String {
    let code = format!("U+{:04X}", u32::from(c));
    match c {
        '\r' => "a carriage return (CR) inside the line: the text's lines end in CR alone (classic Mac OS), so it is read as one line; save it with LF (or CRLF) line endings".to_string(),
        c if c.is_control() => format!("a control character ({code}): delete it"),
        '\u{a0}' => format!("a non-breaking space ({code}), which is no space to ip or iptables, pasted from a web page?: type an ordinary space"),
        c if c.is_whitespace() => format!("a Unicode space ({code}), which is no space to ip or iptables, pasted from a web page?: type an ordinary space"),
        _ => format!("an invisible zero-width character ({code}), pasted from a web page?: delete it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers as ip and iptables read them (measured with ip route's
    /// table and TCPMSS's --set-mss).
    #[test]
    fn numbers_are_read_as_strtoul_reads_them() {
        for (word, n) in [
            ("10", Some(10)),
            ("0x10", Some(16)),
            ("0X1f", Some(31)),
            ("010", Some(8)),
            ("00012", Some(10)),
            ("+5", Some(5)),
            ("0", Some(0)),
            ("0x0", Some(0)),
            ("4294967295", Some(u32::MAX)),
            ("4294967296", None),
            ("08", None),
            ("0x", None),
            ("1e", None),
            ("5abc", None),
            ("-1", None),
            ("+", None),
            ("", None),
        ] {
            assert_eq!(strtoul(word), n, "{word:?}");
        }
    }

    /// Which editor a pasted or loaded text is read by.
    #[test]
    fn rules_and_routes_are_told_apart() {
        for (text, rules) in [
            ("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n", true),
            (":KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\n", true),
            ("-A INPUT -j ACCEPT\n", true),
            ("create KUBE-CLUSTER-IP hash:ip,port family inet\n", true),
            ("# Generated by iptables-save v1.8.9\n", true),
            ("default via 10.0.0.1 dev eth0\n", false),
            // A stray colon in a route file (a typo) is no chain.
            (
                "default via 10.0.0.1 dev eth0\n:\n10.0.0.0/24 dev eth0\n",
                false,
            ),
            (": x\n10.0.0.0/24 dev eth0\n", false),
            (
                "Kernel IP routing table\nDestination Gateway Genmask Flags Metric Ref Use Iface\n",
                false,
            ),
        ] {
            assert_eq!(looks_like_rules(text), rules, "{text:?}");
        }
    }

    /// What ip and iptables split words on, and take as part of a word.
    #[test]
    fn odd_characters_are_found_and_ordinary_ones_left() {
        for (line, want) in [
            ("-A INPUT\t-j ACCEPT  ", None),
            ("10.0.0.0/24 dev eth0 scope link", None),
            ("-A X -m comment --comment \"café ☕\" -j ACCEPT", None),
            ("-A PREROUTING\u{a0}-d 10.1.1.1", Some((14, '\u{a0}'))),
            ("# one\r*filter\r", Some((6, '\r'))),
            ("dev eth0\u{200b}", Some((9, '\u{200b}'))),
            ("a\u{feff}b", Some((2, '\u{feff}'))),
            ("x\u{0c}y", Some((2, '\u{0c}'))),
            ("x\u{3000}y", Some((2, '\u{3000}'))),
        ] {
            assert_eq!(odd_char(line), want, "{line:?}");
        }
        // A form feed is a control character, not a space from a web page.
        assert!(odd_char_words('\u{0c}').starts_with("a control character (U+000C): delete it"));
        assert!(odd_char_words('\u{a0}').starts_with("a non-breaking space (U+00A0)"));
        assert!(odd_char_words('\u{2009}').starts_with("a Unicode space (U+2009)"));
    }

    #[test]
    fn files_decode_from_utf8_with_or_without_bom_and_utf16() {
        let text = "*nat\n-A X -j ACCEPT\n";
        let utf16 = |le: bool| {
            let mut v = if le {
                vec![0xFF, 0xFE]
            } else {
                vec![0xFE, 0xFF]
            };
            for u in text.encode_utf16() {
                v.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            v
        };
        let bad = |byte, line, column| {
            Err(NotText {
                byte,
                line,
                column,
                encoding: "UTF-8",
                hint: "",
            })
        };
        let bad16 = |byte, line, column| {
            Err(NotText {
                byte,
                line,
                column,
                encoding: "UTF-16",
                hint: "",
            })
        };
        // A lone high surrogate on line 2, and an odd last byte.
        let mut broken = utf16(true);
        broken.truncate(12);
        broken.extend([0x00, 0xD8, 0x41, 0x00]);
        let mut odd = utf16(true);
        odd.push(0x41);
        let cases: Vec<(Vec<u8>, Result<&str, NotText>)> = vec![
            (text.as_bytes().to_vec(), Ok(text)),
            (
                [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
                Ok(text),
            ),
            (utf16(true), Ok(text)),
            (utf16(false), Ok(text)),
            (b"ab\xFFcd".to_vec(), bad(3, 1, 3)),
            (broken, bad16(13, 2, 1)),
            (odd, bad16(43, 3, 1)),
            // A Latin-1 é in a comment on line 3.
            (b"*nat\n:X - [0:0]\n# caf\xE9\n".to_vec(), bad(22, 3, 6)),
            (vec![], Ok("")),
        ];
        // What a file that is no text is likely to be.
        let gz = decode(vec![0x1f, 0x8b, 0x08, 0x00, 0xff])
            .unwrap_err()
            .to_string();
        assert_eq!(gz, "line 1, column 2 (byte 2) is not valid UTF-8: the file is compressed with gzip (gunzip it first)");
        for (bytes, want) in cases {
            let got = decode(bytes.clone());
            assert_eq!(got.as_deref().map_err(|e| *e), want, "{bytes:?}");
        }
        assert_eq!(
            without_bom("\u{feff}default via 1.2.3.4"),
            "default via 1.2.3.4"
        );
    }
}
