//! The resumable parser (`save::Parser`): feeding a dump a few lines at a
//! time gives the same ruleset and the same errors as `save::parse`, so the
//! web page can import a 12 MB dump in chunks between frames.

#[allow(dead_code)]
#[path = "../benches/kube_dump.rs"]
mod kube_dump;

use packetwalk::engine::error::{Errors, MAX_ERRORS};
use packetwalk::engine::iptables::save::{self, Parser};
use packetwalk::engine::iptables::Ruleset;
use std::path::Path;

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

/// Parses `text` `chunk` lines at a time, checking that every stop is the
/// start of a line and that the parser always moves forward.
fn chunked(text: &str, resolve_jumps: bool, chunk: usize) -> Result<Ruleset, Errors> {
    let mut p = Parser::new(resolve_jumps);
    let mut at = 0;
    while at < text.len() {
        let next = p.feed(text, at, chunk);
        assert!(next > at, "feed({at}, {chunk}) did not move forward");
        assert!(
            next == text.len() || text.as_bytes()[next - 1] == b'\n',
            "feed stopped at {next}, not at a line start"
        );
        at = next;
    }
    p.finish(text)
}

/// The same outcome: equal emitted text, or equal errors.
fn assert_same(text: &str, resolve_jumps: bool, what: &str) {
    let whole = if resolve_jumps {
        save::parse(text)
    } else {
        save::parse_fragment(text)
    };
    for chunk in [1, 7, 1000] {
        let part = chunked(text, resolve_jumps, chunk);
        match (&whole, &part) {
            (Ok(a), Ok(b)) => assert_eq!(save::emit(a), save::emit(b), "{what}, chunk {chunk}"),
            (Err(a), Err(b)) => assert_eq!(a, b, "{what}, chunk {chunk}"),
            (a, b) => panic!(
                "{what}, chunk {chunk}: parse gave {}, chunked {}",
                a.as_ref().map(|_| "a ruleset").unwrap_or("errors"),
                b.as_ref().map(|_| "a ruleset").unwrap_or("errors"),
            ),
        }
    }
}

#[test]
fn chunked_dumps_parse_like_whole_ones() {
    for f in [
        "gen-200x3.iptables-save",
        "gen-1500x1.iptables-save",
        "kube-proxy/overall.iptables-save",
        "kube-proxy/sync-01-initial-full-sync.iptables-save",
    ] {
        let text = data(f);
        assert!(save::parse(&text).is_ok(), "{f}");
        assert_same(&text, true, f);
        // Emitted byte for byte, like the whole parse.
        assert_eq!(save::emit(&chunked(&text, true, 7).unwrap()), text, "{f}");
    }
    let fragment = data("kube-proxy/sorted-basic-test-using-each-match-type.iptables-save");
    assert_same(&fragment, false, "fragment");
}

#[test]
fn chunked_errors_match_whole_parse() {
    let gen = data("gen-200x3.iptables-save");
    let cases: Vec<(&str, String)> = vec![
        (
            "bad rules and declarations",
            "# Generated\n*filter\n:INPUT ACCEPT [0:0]\n:X DROP [0:0]\n-A INPUT -m nosuch -j ACCEPT\n\
             :LATE - [0:0]\n-A INPUT -j NOWHERE\n-A INPUT -s 10.0.0.0/33 -j ACCEPT\nCOMMIT\n\
             junk outside\n*nat\n:PREROUTING DROP [0:0]\n-A PREROUTING -j DROP\nCOMMIT\n*bogus\n"
                .to_string(),
        ),
        (
            "table never committed, no final newline",
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n\n# end".to_string(),
        ),
        (
            "table started inside a table, CRLF",
            "*filter\r\n:INPUT ACCEPT [0:0]\r\n*nat\r\n-A PREROUTING -j A\r\nCOMMIT\r\n*nat\r\nCOMMIT\r\r\n"
                .to_string(),
        ),
        (
            "loop found at COMMIT",
            "*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n"
                .to_string(),
        ),
        (
            "unterminated quote, bad counters",
            "*filter\n:INPUT ACCEPT [x:0]\n[1:2 -A INPUT -j ACCEPT\n-A INPUT -m comment --comment \"open\n"
                .to_string(),
        ),
        ("damaged generated dump", gen.replacen("-j KUBE-MARK-MASQ", "-j KUBE-MARK-MASQUERADE", 5)),
        ("generated dump cut short", gen[..gen.len() / 2].to_string()),
    ];
    for (what, text) in &cases {
        assert!(save::parse(text).is_err(), "{what} should not parse");
        assert_same(text, true, what);
        assert_same(text, false, what);
    }
    // Past MAX_ERRORS the parser stops reading, but the error for the open
    // table still names the last line of the whole text.
    let mut text = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
    for _ in 0..MAX_ERRORS + 50 {
        text.push_str("-A INPUT -m nosuch -j ACCEPT\n");
    }
    text.push_str("-A INPUT -j ACCEPT\n");
    assert_same(&text, true, "too many errors");
    let e = chunked(&text, true, 7).unwrap_err();
    assert_eq!(e.0.len(), MAX_ERRORS);
    let mut p = Parser::new(true);
    assert_eq!(p.feed(&text, 0, usize::MAX), text.len());
    assert!(p.finish(&text).is_err());
}

#[test]
fn feed_takes_odd_arguments_without_panicking() {
    let text =
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"ü\" -j ACCEPT\nCOMMIT\n";
    // max_lines 0 still reads a line, so a loop always ends.
    let mut p = Parser::new(true);
    assert_eq!(p.feed(text, 0, 0), "*filter\n".len());
    // Past the end: nothing to read.
    assert_eq!(p.feed(text, text.len() + 10, 5), text.len());
    // Inside a multi-byte character: no panic.
    let mid = text.find('ü').unwrap() + 1;
    let mut q = Parser::new(true);
    assert!(q.feed(text, mid, 1) > mid);
    let _ = q.finish(text);
    // Empty input.
    let p = Parser::new(true);
    assert_eq!(
        save::emit(&p.finish("").unwrap()),
        save::emit(&save::parse("").unwrap())
    );
}

/// A table's `COMMIT` (which validates the whole table) is read in a feed
/// call of its own, so that no chunk adds thousands of rules to it.
#[test]
fn commit_lines_get_a_feed_call_of_their_own() {
    let text = data("gen-1500x1.iptables-save");
    let mut p = Parser::new(true);
    let mut at = 0;
    let mut commits = 0;
    while at < text.len() {
        let next = p.feed(&text, at, 1000);
        let chunk = &text[at..next];
        if chunk.lines().any(|l| l == "COMMIT") {
            assert_eq!(chunk, "COMMIT\n");
            commits += 1;
        }
        at = next;
    }
    assert_eq!(commits, text.lines().filter(|l| *l == "COMMIT").count());
    assert!(commits >= 3);
    assert_eq!(save::emit(&p.finish(&text).unwrap()), text);
}
