//! iptables-save and route text: exact round trips of real dumps, single
//! iptables commands, and located errors for every kind of bad input.

use packetwalk::engine::iptables::command::apply_command;
use packetwalk::engine::iptables::save;
use packetwalk::engine::iptables::TableName;
use packetwalk::engine::scenario::{self, Text};
use packetwalk::engine::{Scenario, World};
use std::path::Path;

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

/// kube-proxy's expected dumps (from proxier_test.go, via ../shared/vectors)
/// and gen_kube_rules.py output print back byte for byte.
#[test]
fn real_dumps_round_trip_exactly() {
    let full = [
        "kube-proxy/overall.iptables-save",
        "kube-proxy/sync-01-initial-full-sync.iptables-save",
        "kube-proxy/sync-09-full-resync-after-failed-partial-sync.iptables-save",
        "gen-200x3.iptables-save",
        "gen-1500x1.iptables-save",
        // `ipset save; iptables-save` of Calico's set rules, from the kernel.
        "calico-ipset.iptables-save",
    ];
    for f in full {
        let text = data(f);
        let rs = save::parse(&text).unwrap_or_else(|e| panic!("{f}:\n{e}"));
        assert_eq!(save::emit(&rs), text, "{f}");
        assert!(rs.rule_count() > 0, "{f}");
    }
    // Partial syncs jump to chains the restore does not declare (they exist
    // in the kernel already), like `iptables-restore --noflush` input.
    let text = data("kube-proxy/sorted-basic-test-using-each-match-type.iptables-save");
    assert_eq!(save::emit(&save::parse_fragment(&text).unwrap()), text);
    for step in [
        "02-add-svc3",
        "03-delete-svc2",
        "04-add-svc4-without-endpoints",
        "05-add-svc4-endpoints",
        "06-change-svc3-endpoint",
        "07-add-svc3-endpoint",
        "08-sync-without-changes",
    ] {
        let f = format!("kube-proxy/sync-{step}.iptables-save");
        let text = data(&f);
        assert!(
            save::parse(&text).is_err()
                || step == "08-sync-without-changes"
                || step == "03-delete-svc2"
                || step == "04-add-svc4-without-endpoints",
            "{f} should need --noflush"
        );
        let rs = save::parse_fragment(&text).unwrap_or_else(|e| panic!("{f}:\n{e}"));
        assert_eq!(save::emit(&rs), text, "{f}");
    }
}

#[test]
fn generated_dump_has_the_expected_shape() {
    let rs = save::parse(&data("gen-200x3.iptables-save")).unwrap();
    let nat = rs.table(TableName::Nat).unwrap();
    let services = nat.chain("KUBE-SERVICES").unwrap();
    // 200 services + kubernetes + kube-dns' 3 ports, minus those without endpoints, plus the nodeports rule.
    assert!(services.rules.len() > 190, "{}", services.rules.len());
    assert!(
        services.index.is_some(),
        "KUBE-SERVICES is long enough to be indexed"
    );
    assert_eq!(
        rs.tables
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["mangle", "filter", "nat"]
    );
}

fn nat_chain<'a>(
    rs: &'a packetwalk::engine::iptables::Ruleset,
    name: &str,
) -> &'a packetwalk::engine::iptables::Chain {
    rs.table(TableName::Nat).unwrap().chain(name).unwrap()
}

#[test]
fn iptables_commands_edit_a_ruleset() {
    let mut rs = save::parse(&data("kube-proxy/overall.iptables-save")).unwrap();
    let before = nat_chain(&rs, "KUBE-SERVICES").rules.len();
    apply_command(
        &mut rs,
        "iptables -t nat -I KUBE-SERVICES 1 -d 172.30.0.41/32 -p tcp -m tcp --dport 80 -j DROP",
    )
    .unwrap_err();
    apply_command(&mut rs, "iptables -t nat -N KUBE-TEST").unwrap();
    apply_command(
        &mut rs,
        "iptables -t nat -A KUBE-TEST -m comment --comment \"learner's rule\" -j RETURN",
    )
    .unwrap();
    apply_command(
        &mut rs,
        "iptables -t nat -I KUBE-SERVICES 2 -d 172.30.0.41/32 -j KUBE-TEST",
    )
    .unwrap();
    let svc = nat_chain(&rs, "KUBE-SERVICES");
    assert_eq!(svc.rules.len(), before + 1);
    assert_eq!(svc.rules[1].args, "-d 172.30.0.41/32 -j KUBE-TEST");
    apply_command(
        &mut rs,
        "iptables -t nat -R KUBE-SERVICES 2 -d 172.30.0.42/32 -j KUBE-TEST",
    )
    .unwrap();
    let svc = nat_chain(&rs, "KUBE-SERVICES");
    assert_eq!(svc.rules[1].args, "-d 172.30.0.42/32 -j KUBE-TEST");
    let e =
        apply_command(&mut rs, "iptables -t nat -R KUBE-SERVICES 999 -j KUBE-TEST").unwrap_err();
    assert!(
        e.0[0].message.contains("index of replacement too big"),
        "{e}"
    );
    // Numbers iptables does not take (1.8.9: "Invalid rule number").
    for (cmd, said) in [
        (
            "iptables -t nat -I KUBE-SERVICES 0 -j KUBE-TEST",
            "rule numbers start at 1",
        ),
        (
            "iptables -t nat -I KUBE-SERVICES 99999999999 -j KUBE-TEST",
            "rule number 99999999999 is out of range",
        ),
        (
            "iptables -t nat -D KUBE-SERVICES 123456789012345678901234567890",
            "rule number 12345678901234567890… (30 digits) is out of range",
        ),
    ] {
        let e = apply_command(&mut rs, cmd).unwrap_err();
        assert!(e.0[0].message.contains(said), "{cmd}: {e}");
    }
    apply_command(&mut rs, "-t nat -D KUBE-SERVICES 2").unwrap();
    apply_command(&mut rs, "iptables -t nat -F KUBE-TEST").unwrap();
    apply_command(&mut rs, "iptables -t nat -X KUBE-TEST").unwrap();
    apply_command(&mut rs, "iptables -P FORWARD DROP").unwrap();
    apply_command(&mut rs, "iptables -t nat -A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES").unwrap();
    let text = save::emit(&rs);
    assert!(text.contains(":FORWARD DROP [0:0]"));
    assert!(
        text.contains("-X KUBE-TEST"),
        "a deleted chain prints as -X, as restore input does"
    );
    // A bad command leaves the ruleset as it was.
    let e =
        apply_command(&mut rs, "iptables -t nat -A KUBE-SERVICES -j KUBE-SERVICES").unwrap_err();
    assert!(
        e.0[0]
            .message
            .contains("chain KUBE-SERVICES jumps to itself, reachable from PREROUTING"),
        "{e}"
    );
    assert_eq!(save::emit(&rs), text);
    // A paste of 40,000 matches is refused before it is read (it froze
    // the page for 2 s).
    let huge = format!(
        "-t nat -A KUBE-SERVICES{} -j ACCEPT",
        " -m comment --comment x".repeat(40_000)
    );
    let e = apply_command(&mut rs, &huge).unwrap_err();
    assert!(
        e.0[0]
            .message
            .contains("more than the 16384 one rule may have here"),
        "{e}"
    );
    assert_eq!(save::emit(&rs), text);
}

/// What iptables reads that is not written out in full: `0/0`, `10/8`,
/// `10.1.2` (zeros at the end) and service names from /etc/services, as
/// iptables v1.8.9 saved them in a network namespace.
#[test]
fn short_addresses_and_service_names_read_as_iptables_reads_them() {
    use packetwalk::engine::iptables::{MatchKind, TableName};
    let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 0/0 -d 10/8 -p tcp --dport http -j ACCEPT\n-A INPUT -s 10.1.2 -d 127.1 -p udp -m multiport --dports domain,ntp:https -j ACCEPT\nCOMMIT\n";
    let rs = save::parse(text).unwrap_or_else(|e| panic!("{e}"));
    let filter = rs
        .tables
        .iter()
        .find(|t| t.name == TableName::Filter)
        .unwrap();
    let kinds: Vec<Vec<MatchKind>> = filter.chains[filter.chain_index("INPUT").unwrap()]
        .rules
        .iter()
        .map(|r| r.matches.iter().map(|m| m.kind.clone()).collect())
        .collect();
    let net = |s: &str| MatchKind::Src(s.parse().unwrap());
    assert_eq!(kinds[0][0], net("0.0.0.0/0"));
    assert_eq!(kinds[0][1], MatchKind::Dst("10.0.0.0/8".parse().unwrap()));
    assert!(
        kinds[0].contains(&MatchKind::Dport(80, 80)),
        "{:?}",
        kinds[0]
    );
    assert_eq!(kinds[1][0], net("10.1.2.0/32"));
    assert_eq!(kinds[1][1], MatchKind::Dst("127.1.0.0/32".parse().unwrap()));
    assert!(
        kinds[1].iter().any(
            |k| matches!(k, MatchKind::Multiport { ports, .. } if ports == &[(53, 53), (123, 443)])
        ),
        "{:?}",
        kinds[1]
    );
    // States and address types, in any case and cut short: the first name
    // the word begins (iptables-nft 1.8.9 saved `est,rel` as
    // RELATED,ESTABLISHED, `u` as UNSPEC, `loc` as LOCAL).
    let short = save::parse(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate est,rel -m state --state u -m addrtype --src-type u --dst-type loc -j ACCEPT\nCOMMIT\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let filter = short
        .tables
        .iter()
        .find(|t| t.name == TableName::Filter)
        .unwrap();
    let r = &filter.chains[filter.chain_index("INPUT").unwrap()].rules[0];
    let kinds: Vec<String> = r.matches.iter().map(|m| format!("{:?}", m.kind)).collect();
    assert_eq!(kinds[0], "CtState(12)", "ESTABLISHED | RELATED: {kinds:?}");
    assert_eq!(kinds[1], "CtState(16)", "UNTRACKED: {kinds:?}");
    assert!(kinds[2].contains("types: 1,"), "UNSPEC: {kinds:?}");
    assert!(kinds[3].contains("types: 4,"), "LOCAL: {kinds:?}");
    // Free text that begins with a dash, as iptables-save leaves it
    // unquoted (its characters are all [-_0-9A-Za-z]).
    save::parse("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment -x -j LOG --log-prefix -DROP-\nCOMMIT\n")
        .unwrap_or_else(|e| panic!("{e}"));
    // Parts read as C's strtoul with base 0 reads them.
    let octal = save::parse(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 010/8 -d 0x0a.1.2.3 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let filter = octal
        .tables
        .iter()
        .find(|t| t.name == TableName::Filter)
        .unwrap();
    let r = &filter.chains[filter.chain_index("INPUT").unwrap()].rules[0];
    assert_eq!(r.matches[0].kind, net("8.0.0.0/8"));
    assert_eq!(
        r.matches[1].kind,
        MatchKind::Dst("10.1.2.3/32".parse().unwrap())
    );
    // NAT ports as iptables v1.8.9 (nf_tables and legacy) takes them:
    // ICMP and a negated -p are enough; one port may be 0 or a service
    // name of any protocol, a range is numbers only. The tcp and sctp
    // matches take their protocol's names, udp any, multiport those of -p.
    for (body, want) in [
        (
            "-A POSTROUTING -p icmp -j MASQUERADE --to-ports 1000\n",
            Ok("Some((1000, 1000))"),
        ),
        (
            "-A PREROUTING ! -p udp -j DNAT --to-destination 1.2.3.4:80\n",
            Ok("Some((80, 80))"),
        ),
        (
            "-A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:http\n",
            Ok("Some((80, 80))"),
        ),
        (
            "-A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:ntp\n",
            Ok("Some((123, 123))"),
        ),
        (
            "-A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:0\n",
            Ok("Some((0, 0))"),
        ),
        (
            "-A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:0-80\n",
            Ok("Some((0, 80))"),
        ),
        (
            "-A POSTROUTING -p udp -j MASQUERADE --to-ports ntp\n",
            Ok("Some((123, 123))"),
        ),
        (
            "-A PREROUTING -p udp -m udp --dport http -j ACCEPT\n",
            Ok("Dport(80, 80)"),
        ),
        (
            "-A PREROUTING -p tcp -m tcp --dport https -j ACCEPT\n",
            Ok("Dport(443, 443)"),
        ),
        (
            "-A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:http-https\n",
            Err("Port `http-https' not valid"),
        ),
        (
            "-A POSTROUTING -p tcp -j MASQUERADE --to-ports 80-http\n",
            Err("Port `80-http' not valid"),
        ),
        ("-A PREROUTING -p udp -m udp --dport ssh -j ACCEPT\n", Ok("Dport(22, 22)")),
        ("-A PREROUTING -p udp -m multiport --dports domain -j ACCEPT\n", Ok("[(53, 53)]")),
        ("-A PREROUTING -p sctp -m sctp --dport amqp -j ACCEPT\n", Ok("Dport(5672, 5672)")),
        ("-A PREROUTING -p sctp -m multiport --dports amqp -j ACCEPT\n", Ok("[(5672, 5672)]")),
        ("-A PREROUTING -p dccp -m multiport --dports 80 -j ACCEPT\n", Ok("[(80, 80)]")),
        ("-A PREROUTING -p tcp -m tcp --dport ntp -j ACCEPT\n", Err("\"ntp\" is not listed for TCP in /etc/services (only for UDP): write its number, 123")),
        ("-A PREROUTING -p tcp -m multiport --dports http,ntp -j ACCEPT\n", Err("\"ntp\" is not listed for TCP")),
        ("-A PREROUTING -p udp -m multiport --dports ssh -j ACCEPT\n", Err("\"ssh\" is not listed for UDP")),
        ("-A PREROUTING -p dccp -m multiport --dports http -j ACCEPT\n", Err("\"http\" is not listed for DCCP")),
        ("-A PREROUTING -p sctp -m sctp --dport http -j ACCEPT\n", Err("\"http\" is not listed for SCTP in /etc/services (only for TCP)")),
    ] {
        let text =
            format!("*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{body}COMMIT\n");
        match (save::parse(&text), want) {
            (Ok(r), Ok(saved)) => {
                let nat = r.tables.iter().find(|t| t.name == TableName::Nat).unwrap();
                let rule = nat.chains.iter().flat_map(|c| &c.rules).next().unwrap();
                let got = format!("{:?} {:?}", rule.matches, rule.target);
                assert!(got.contains(saved), "{body}: {got}");
            }
            (Err(e), Err(msg)) => assert!(
                e.0[0].line == 4 && e.0[0].message.contains(msg),
                "{body}: {e}"
            ),
            (got, _) => panic!("{body}: {got:?}"),
        }
    }
    // A port with NAT needs a protocol that has ports; a user chain
    // declared with a policy is one error, not one per rule that uses it.
    for (body, line, msg) in [
        ("-A POSTROUTING -j MASQUERADE --to-ports 1000-2000\n", 4, "Need TCP, UDP, SCTP or DCCP with port specification"),
        ("-A POSTROUTING -p 47 -j SNAT --to-source 10.0.0.1:1000\n", 4, "Need TCP, UDP, SCTP or DCCP"),
        (":KUBE-MARK-MASQ DROP [0:0]\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n-A POSTROUTING -j KUBE-MARK-MASQ\n", 4, "KUBE-MARK-MASQ is not a built-in chain of table nat, so it cannot have a policy"),
    ] {
        let text = format!("*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{body}COMMIT\n");
        let errs = save::parse(&text).expect_err(body);
        assert_eq!(errs.0.len(), 1, "{body}: {errs}");
        assert!(errs.0[0].line == line && errs.0[0].message.contains(msg), "{body}: {errs}");
    }
}

/// (text, line, column, message fragment).
#[test]
fn malformed_rules_get_located_errors() {
    let head = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n";
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            "-A INPUT -m frobnicate -j ACCEPT\n",
            7,
            13,
            "unknown match \"frobnicate\"",
        ),
        (
            "-A INPUT -j FROBNICATE\n",
            7,
            13,
            "no chain or target named \"FROBNICATE\"",
        ),
        // A no-break space after a jump's chain is part of its name, as
        // iptables-restore reads it (it splits on spaces and tabs).
        (
            "-A INPUT -j A\u{a0}\n",
            7,
            13,
            "no chain or target named \"A\u{a0}\" in table filter: the name holds a non-breaking space",
        ),
        // A declaration's mistake is located at its own word, not at the
        // first place the same letters stand.
        (":AFO FO [0:0]\n", 7, 6, "bad policy \"FO\""),
        // So is a no-break space in a declaration: the policy is then the
        // counters.
        (
            ":A\u{a0}- [0:0]\n",
            7,
            6,
            "bad policy \"[0:0]\": the chain's name holds a non-breaking space",
        ),
        (":AB - AB\n", 7, 7, "bad counters \"AB\""),
        (
            "-A INPUT -s 10.0.0.300/8 -j ACCEPT\n",
            7,
            13,
            "\"10.0.0.300\" is not an IPv4 address",
        ),
        (
            "-A INPUT -s 10.0.0.0/33 -j ACCEPT\n",
            7,
            13,
            "prefix length /33 is larger than 32",
        ),
        (
            "-A INPUT -d 10.0.0.0/255.0.255.0 -j ACCEPT\n",
            7,
            13,
            "netmask 255.0.255.0 is not contiguous",
        ),
        (
            "-A INPUT -j A\n-A A -j A\n",
            8,
            9,
            "chain A jumps to itself, reachable from INPUT",
        ),
        (
            "-A INPUT -j A\n-A A -j B\n-A B -j A\n",
            9,
            9,
            "chain loop A → B → A, reachable from INPUT",
        ),
        (
            "-A INPUT -p tcp --dport 99999 -j ACCEPT\n",
            7,
            25,
            "\"99999\" is not a port number",
        ),
        (
            "-A INPUT --dport 80 -j ACCEPT\n",
            7,
            10,
            "unknown option --dport (is a -m match missing before it?)",
        ),
        (
            "-A INPUT -m comment --comment kubernetes service portals -j A\n",
            7,
            42,
            "unexpected word \"service\"",
        ),
        (
            "-A INPUT -m comment --comment \"unterminated -j A\n",
            7,
            31,
            "unterminated double quote",
        ),
        (
            "-A INPUT -j DNAT --to-destination 10.0.0.1\n",
            7,
            13,
            "DNAT is only valid in the nat table",
        ),
        (
            "-A INPUT -m statistic --mode random -j ACCEPT\n",
            7,
            13,
            "statistic --mode random needs --probability",
        ),
        (
            "-A INPUT -m statistic --mode random --probability 1.5 -j ACCEPT\n",
            7,
            51,
            "probability 1.5 is not between 0 and 1",
        ),
        (
            "-A INPUT -m conntrack --ctstate NEWISH -j ACCEPT\n",
            7,
            33,
            "Bad state \"NEWISH\": not a connection state of -m conntrack",
        ),
        // iptables' own words, checked with iptables-nft 1.8.9.
        ("-A INPUT -m state --state SNAT -j ACCEPT\n", 7, 27, "Bad state \"SNAT\""),
        // A value left out: the next option is named, not the word after it.
        (
            "-A INPUT -p tcp -m tcp --dport -j KUBE-SVC-X\n",
            7,
            32,
            "option --dport needs a value, but the next option, \"-j\", follows it",
        ),
        // (Free text may begin with a dash: `--comment -m` is a comment,
        // and the `tcp` after it a stray word.)
        ("-A INPUT -m comment --comment -m tcp -j A\n", 7, 34, "unexpected word \"tcp\" (a comment with spaces must be quoted)"),
        // -m state has no name that begins with S; an empty name begins none.
        ("-A INPUT -m state --state S -j ACCEPT\n", 7, 27, "Bad state \"S\""),
        ("-A INPUT -m conntrack --ctstate NEW, -j ACCEPT\n", 7, 33, "Bad state \"\""),
        ("-A INPUT -m conntrack -j ACCEPT\n", 7, 13, "conntrack: At least one option is required"),
        ("-A INPUT -m state -j ACCEPT\n", 7, 13, "state: option \"--state\" must be specified"),
        // What iptables has and the simulator does not model says so.
        ("-A INPUT -m conntrack --ctdir SIDEWAYS -j ACCEPT\n", 7, 31, "--ctdir takes ORIGINAL or REPLY, not \"SIDEWAYS\""),
        ("-A INPUT -j NFQUEUE --queue-num 1\n", 7, 13, "target NFQUEUE exists in iptables, but Packet Walk does not model it"),
        ("-A INPUT -j NFQUEUE\n", 7, 13, "target NFQUEUE exists in iptables, but Packet Walk does not model it"),
        ("-A INPUT -j CONNMARK\n", 7, 13, "CONNMARK needs one of --set-xmark"),
        (
            "-A INPUT -m addrtype --dst-type LOCALE -j ACCEPT\n",
            7,
            33,
            "unknown address type \"LOCALE\"",
        ),
        (
            "-A NOPE -j ACCEPT\n",
            7,
            4,
            "no chain \"NOPE\" in table filter",
        ),
        (
            "-A INPUT -j REJECT --reject-with icmp-bogus\n",
            7,
            34,
            "unknown --reject-with \"icmp-bogus\"",
        ),
        (
            "-A INPUT -j MARK\n",
            7,
            13,
            "MARK needs exactly one of its options",
        ),
        (
            "-A INPUT -m tcp --dport 80 -j ACCEPT\n",
            7,
            13,
            "-m tcp needs -p tcp before it",
        ),
        (
            "-A INPUT -j ACCEPT -j DROP\n",
            7,
            20,
            "a rule has only one target",
        ),
        ("-A INPUT ! -j ACCEPT\n", 7, 10, "-j cannot be negated"),
        ("-Q INPUT\n", 7, 1, "unknown command \"-Q\""),
        // What iptables v1.8.9 refuses in a network namespace.
        (
            "-A INPUT -p tcp -p udp -j ACCEPT\n",
            7,
            17,
            "multiple -p flags not allowed",
        ),
        (
            "-A INPUT -s 1.1.1.1 --source 2.2.2.2 -j ACCEPT\n",
            7,
            21,
            "multiple -s flags not allowed",
        ),
        (
            "-A INPUT -f ! --fragment -j ACCEPT\n",
            7,
            15,
            "multiple -f flags not allowed",
        ),
        // An option given twice in one match or target (two `-m tcp`
        // matches may each have one).
        (
            "-A INPUT -p tcp --dport 80 --destination-port 81 -j ACCEPT\n",
            7,
            28,
            "Only one `--destination-port' allowed",
        ),
        (
            "-A INPUT -p tcp --syn --tcp-flags SYN SYN -j ACCEPT\n",
            7,
            23,
            "Only one of `--syn' or `--tcp-flags' allowed",
        ),
        (
            "-A INPUT -p tcp -m multiport --dports 80 --dports 81 -j ACCEPT\n",
            7,
            42,
            "multiport: option \"--destination-ports\" can only be used once",
        ),
        (
            "-A INPUT -m comment --comment a --comment b -j ACCEPT\n",
            7,
            33,
            "comment: option \"--comment\" can only be used once",
        ),
        (
            "-A INPUT -j LOG --log-prefix a --log-prefix b\n",
            7,
            32,
            "LOG: option \"--log-prefix\" can only be used once",
        ),
        (
            "-A INPUT -o eth0 -j ACCEPT\n",
            7,
            10,
            "Can't use -o with INPUT",
        ),
        (
            "-A OUTPUT ! -i eth0 -j ACCEPT\n",
            7,
            11,
            "Can't use -i with OUTPUT",
        ),
        (
            "-A OUTPUT -m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT\n",
            7,
            40,
            "Can't use --limit-iface-in with OUTPUT",
        ),
        (
            ":AAAAAAAAAAAAAAAAAAAAAAAAAAAAA - [0:0]\n",
            7,
            1,
            "is 29 characters long; iptables allows at most 28",
        ),
        (
            ":A2 DROP [0:0]\n",
            7,
            1,
            "A2 is not a built-in chain of table filter, so it cannot have a policy",
        ),
        (
            "-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT\n",
            7,
            13,
            "match \"mac\" is an iptables module (iptables-extensions(8)) that Packet Walk does not model",
        ),
        (
            "-A INPUT -p tcp --dport gopher -j ACCEPT\n",
            7,
            25,
            "\"gopher\" is not a port number (0-65535) or a service name",
        ),
        // A set the text does not make: the dump needs ipset save's lines.
        (
            "-A INPUT -p ipencap -m set --match-set cali40all-hosts-net src -j ACCEPT\n",
            7,
            28,
            "there is no set cali40all-hosts-net (iptables: Set cali40all-hosts-net doesn't exist): iptables-save prints only a set's name, so put the node's ipset save output before the rules",
        ),
        (
            "-A INPUT -m set --match-set S source -j ACCEPT\n",
            7,
            31,
            "\"source\": each direction is src or dst",
        ),
        (
            "-A INPUT -m set --match-set S src --packets-gt 3 -j ACCEPT\n",
            7,
            35,
            "-m set --packets-gt (a test of the set entry's counters) exists in iptables, but Packet Walk does not model it",
        ),
    ];
    for (body, line, col, msg) in cases {
        let text = format!("{head}{body}COMMIT\n");
        let errs = save::parse(&text).expect_err(body);
        let e = &errs.0[0];
        assert!(e.message.contains(msg), "{body}: got \"{}\"", e.message);
        assert_eq!((e.line, e.column), (*line, *col), "{body}: {e}");
    }
    // A typo names the option meant; `-p tcp -m tcp` loads one match, so
    // its options are listed once.
    let e = &save::parse(&format!(
        "{head}-A INPUT -p tcp -m tcp --dprot 80 -j ACCEPT\nCOMMIT\n"
    ))
    .unwrap_err()
    .0[0];
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (
            7,
            24,
            "unknown option --dprot for the loaded matches: did you mean --dport?"
        )
    );
    assert_eq!(
        e.expected.as_deref(),
        Some("--sport, --source-port, --dport, --destination-port, --tcp-flags, --syn")
    );
    // Other listings of the rules say what they are.
    for (text, what) in [
        (
            "-P INPUT ACCEPT\n-A INPUT -j ACCEPT\n",
            "iptables -S output",
        ),
        (
            "Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\n",
            "iptables -L output",
        ),
        (
            "table ip filter {\n\tchain INPUT {\n",
            "nft list ruleset output",
        ),
        ("{\"name\": \"article\"}\n", "this is JSON"),
        (
            "default via 192.168.11.1 dev ens33 proto static metric 100\n",
            "this is an ip route or route -n listing (routes), not iptables-save",
        ),
        (
            "Kernel IP routing table\nDestination     Gateway         Genmask\n",
            "this is an ip route or route -n listing",
        ),
        (
            "172.16.225.64/26 via 192.168.11.59 dev tunl0 proto bird onlink\n",
            "(routes)",
        ),
    ] {
        let e = &save::parse(text).unwrap_err().0[0];
        assert!(
            e.line == 1 && e.message.contains(what) && e.message.contains("iptables-save"),
            "{e}"
        );
    }
    // A loop nothing jumps into is accepted, as by the kernel.
    save::parse(&format!("{head}-A A -j B\n-A B -j A\nCOMMIT\n")).unwrap();
    // Structural errors.
    let e = save::parse("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n").unwrap_err();
    assert_eq!(e.0[0].message, "table started at line 1 is never committed");
    let e = save::parse("*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:X - [0:0]\n-A PREROUTING -j X\n-A POSTROUTING -j X\n-A X -p tcp -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n").unwrap_err();
    assert!(e.0[0].message.contains("DNAT in chain X is reached from POSTROUTING, but DNAT is only valid from PREROUTING and OUTPUT"), "{e}");
    assert_eq!(e.0[0].line, 7);
    // A bad policy is one error: the chain is still declared for its rules.
    let e = save::parse("*nat\n:PREROUTING REJECT [0:0]\n-A PREROUTING -j ACCEPT\nCOMMIT\n")
        .unwrap_err();
    assert_eq!(
        e.0.iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect::<Vec<_>>(),
        [(2, "bad policy \"REJECT\"")],
        "{e}"
    );
    let e = save::parse("*nat\n:PREROUTING ACCEPT [0:0]\n:MINE REJECT [0:0]\n-A PREROUTING -j MINE\n-A MINE -j RETURN\nCOMMIT\n").unwrap_err();
    assert_eq!(
        e.0.iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect::<Vec<_>>(),
        [(3, "bad policy \"REJECT\"")],
        "{e}"
    );
    // Errors come in the order of their lines, whichever chain the
    // COMMIT's check reads first.
    let e = save::parse("*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j NOPE1\n-A PREROUTING -j NOPE2\nCOMMIT\n").unwrap_err();
    assert_eq!(
        e.0.iter().map(|e| e.line).collect::<Vec<_>>(),
        [4, 5],
        "{e}"
    );
    // A misspelt table is one error, not one per line of it; the next
    // table is read again, and a stray line after it is reported.
    // A mistake between its COMMIT and the next table is reported.
    let e = save::parse("*nats\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ACCEPT\nCOMMIT\n-A INPUT -j ACCEPT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n-A INPUT -j ACCEPT\n-A INPUT -j DROP\n").unwrap_err();
    let got: Vec<_> = e.0.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                1,
                "unknown table \"nats\": the lines up to its COMMIT are skipped"
            ),
            (5, "line outside a table"),
            (9, "line outside a table")
        ],
        "{e}"
    );
    // kube-proxy's test input with unquoted multi-word comments is not valid iptables-restore input.
    let e = save::parse(&data("kube-proxy/trace-packet-rules.iptables-save")).unwrap_err();
    assert!(
        e.0[0]
            .message
            .contains("a comment with spaces must be quoted"),
        "{e}"
    );
}

#[test]
fn every_error_is_reported_and_a_huge_paste_stops() {
    let mut text = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
    for i in 0..50_000 {
        text.push_str(&format!(
            "-A INPUT -s 10.0.{}.0/24 -m nosuch -j ACCEPT\n",
            i % 250
        ));
    }
    text.push_str("COMMIT\n");
    let e = save::parse(&text).unwrap_err();
    assert_eq!(e.0.len(), 200, "reporting stops at 200 errors");
    assert_eq!(e.0[1].line, 4);
    assert!(e.to_string().ends_with("(stopped after 200 errors)"));
    // Binary junk is errors, not a panic.
    let junk: String = (0..100_000u32)
        .map(|i| char::from_u32(i % 0xD000 + 1).unwrap_or('x'))
        .collect();
    assert!(save::parse(&junk).is_err());
}

#[test]
fn scenario_errors_name_the_host_and_line() {
    let mut sc: Scenario = scenario::builtin("article").unwrap();
    let node8 = sc.host_mut("node8").unwrap();
    let mut routes = node8.routes.to_text();
    routes.push_str("10.0.0.0/8 via 192.168.99.1 dev ens33\n172.20.0.0/16 dev eth9\nblackhole 172.16.225.112\n172.16.225.112 dev cali71ca141a178 metric 5\n10.9.0.0/16 dev ens33 src 1.1.1.1\n192.168.11.0/24 dev ens33 proto kernel scope link src 192.168.11.58 metric 100\n");
    node8.routes = Text::One(routes);
    let rules = node8
        .iptables
        .as_ref()
        .unwrap()
        .to_text()
        .replace("-j KUBE-MARK-MASQ\n", "-j KUBE-MARK-MASQUERADE\n");
    node8.iptables = Some(Text::One(rules));
    let e = World::build(&sc).unwrap_err().to_string();
    assert!(e.contains("host node8 routes, line 11, column 16: gateway 192.168.99.1 is not directly reachable on ens33"), "{e}");
    assert!(
        e.contains("host node8 routes, line 12, column 19: Cannot find device \"eth9\""),
        "{e}"
    );
    // The pod's /32 route is line 7; a second one with its metric is refused,
    // one with another metric is not.
    assert!(
        e.contains("host node8 routes, line 13, column 1: a route to 172.16.225.112/32 with metric 0 is already at line 7 (ip route add says \"File exists\")"),
        "{e}"
    );
    assert!(!e.contains("line 14"), "{e}");
    // As ip route add: a src that is not the host's ("Invalid prefsrc
    // address"), and the connected route listed twice ("File exists").
    assert!(
        e.contains(
            "host node8 routes, line 15, column 27: src 1.1.1.1 is not an address of this host"
        ),
        "{e}"
    );
    assert!(
        e.contains("host node8 routes, line 16, column 1: a route to 192.168.11.0/24 with metric 100 is already at line"),
        "{e}"
    );
    assert!(
        e.contains("host node8 rules, line 48, column 123: no chain or target named \"KUBE-MARK-MASQUERADE\""),
        "{e}"
    );
    let e = Scenario::from_json("{\n  \"name\": \"x\",\n  \"title\": 5\n}").unwrap_err();
    assert_eq!((e.0[0].line, e.0[0].column), (3, 12));
    // A misspelt field is named, not left out (the host would lose its
    // rules without a word), in the scenario or in one of its packets (a
    // link's or an exported file's): the last "from" is the packet's.
    let mut sent = scenario::builtin("article").unwrap();
    sent.sends.push(packetwalk::engine::sim::SendSpec::new(
        "client:192.168.11.200",
        "flask-ui",
        packetwalk::engine::packet::Proto::Tcp,
    ));
    let json = sent.to_json();
    for (field, typo, says) in [
        (
            "\"iptables\"",
            "\"iptabels\"",
            "unknown field `iptabels`, expected one of `name`",
        ),
        (
            "\"from\"",
            "\"form\"",
            "unknown field `form`, expected one of `from`, `to`, `proto`, `flags`",
        ),
    ] {
        let at = json.rfind(field).unwrap();
        let text = format!("{}{typo}{}", &json[..at], &json[at + field.len()..]);
        let e = Scenario::from_json(&text).unwrap_err();
        // (Its place said once, as the error's line and column.)
        let m = &e.0[0].message;
        assert!(
            m.contains(says) && e.0[0].line > 1 && !m.contains(" at line "),
            "{e}"
        );
    }
    // Two devices of one name on a host.
    let mut sc: Scenario = scenario::builtin("article").unwrap();
    let node8 = sc.host_mut("node8").unwrap();
    let twin = node8.devices[1].clone();
    node8.devices.push(twin.clone());
    let e = World::build(&sc).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "host node8 has two devices named \"{}\"",
            twin.name
        )),
        "{e}"
    );
    // A host's name Kubernetes would not take (65,536 characters: it once
    // overflowed the CLI's table), a device's Linux would not.
    let mut sc: Scenario = scenario::builtin("article").unwrap();
    let node8 = sc.host_mut("node8").unwrap();
    node8.name = "n".repeat(65_536);
    node8.devices[0].name = "ens 33".into();
    let e = World::build(&sc).unwrap_err().to_string();
    assert!(
        e.contains("is 65536 characters long: a host's name (a node's, a pod's) is 1 to 253")
            && e.contains("device name \"ens 33\" holds a '/', ':' or a space"),
        "{e}"
    );
    // A bridge port must be a veth of the host (by its name, or by its far
    // end's host/device): docker0 given node8's NIC and a pod's eth0 whose
    // near end is on node8, not node51.
    let mut sc: Scenario = scenario::builtin("article-remote").unwrap();
    let node51 = sc.host_mut("node51").unwrap();
    let docker0 = node51
        .devices
        .iter_mut()
        .find(|d| d.name == "docker0")
        .unwrap();
    docker0.kind = scenario::DeviceKind::Bridge {
        ports: vec![
            "ens33".into(),
            "flask-ui-6c9f7d8b5d-x2k4p/eth0".into(),
            "nope".into(),
        ],
    };
    let e = World::build(&sc).unwrap_err().to_string();
    for p in ["ens33", "flask-ui-6c9f7d8b5d-x2k4p/eth0", "nope"] {
        assert!(e.contains(&format!("host node51: bridge docker0 has port \"{p}\", which is neither a veth of node51 nor the far end (host/device) of one")), "{p}: {e}");
    }
    // Every built-in scenario builds.
    for n in scenario::BUILTIN {
        World::build(&scenario::builtin(n).unwrap()).unwrap();
    }
}

/// Damaged real input never panics: every damaged dump either parses or
/// reports errors that point into the text.
#[test]
fn damaged_input_never_panics() {
    damage_and_parse(&data("gen-200x3.iptables-save"), 120);
    // IP sets and today's matches and targets, damaged the same way.
    let sets = "create S hash:net family inet\nadd S 10.0.0.0/8\nadd S 10.1.0.0-10.1.0.255 nomatch\n\
create P hash:ip,port\nadd P 10.5.0.1,tcp:80\nadd P 10.5.0.2,icmp:echo-request\n\
create B bitmap:port range 1-1000\nadd B 80\ncreate L list:set\nadd L P\ncreate I hash:ip netmask 24\nadd I 10.7.0.9\n\
*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -m rpfilter --invert --loose -j DROP\n-A PREROUTING -p tcp -j TRACE\nCOMMIT\n\
*mangle\n:PREROUTING ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n-A PREROUTING -m connmark --mark 0x80/0x80 -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80\n\
-A PREROUTING -j CONNMARK --set-xmark 0x80/0x80\n-A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\nCOMMIT\n\
*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -m set --match-set S src,dst --return-nomatch -m limit --limit 3/min --limit-burst 10 -j NFLOG --nflog-group 5\n\
-A INPUT -m set ! --match-set L dst,dst -j DROP\n-A OUTPUT -m set --match-set B dst -j ACCEPT\nCOMMIT\n";
    assert!(save::parse(sets).is_ok(), "{:?}", save::parse(sets).err());
    damage_and_parse(sets, 400);
    // Routes with ip rules, damaged and looked up (a goto, a suppressed
    // route, a throw and every action among them).
    let routes = "default via 10.0.95.1 dev eth3\n10.0.95.0/24 dev eth3 proto kernel scope link src 10.0.95.2\n\
default via 10.0.95.9 dev eth3 table 2\nthrow 10.5.0.0/16 table 2\nunreachable 10.7.0.0/16 table 2\n\
0:\tfrom all lookup local\n99:\tnot from all fwmark 0x100000/0x100000 lookup 1\n200:\tfrom 10.0.97.40 goto 32766\n\
202:\tfrom all nop\n300:\tfrom all to 10.9.0.0/16 blackhole\n301:\tfrom all to 10.9.1.0/24 unreachable\n\
302:\tfrom all iif eth1 ipproto tcp dport 80-90 prohibit\n400:\tfrom all lookup main suppress_prefixlength 0\n\
1536:\tfrom 10.0.97.30 lookup 2\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n";
    assert!(packetwalk::engine::route_text::parse_routes(routes).is_ok());
    damage_and_parse(routes, 400);
}

/// Parses `text` damaged `times` times over (words taken out, put in or
/// replaced by junk, lines removed): never a panic, and every error at a
/// line and column of the text.
fn damage_and_parse(text: &str, times: usize) {
    let lines: Vec<&str> = text.lines().collect();
    let mut seed = 0x5eed_u64;
    let mut next = move || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as usize
    };
    let junk = [
        "!",
        "\"",
        "-j",
        "-m",
        "--dport",
        "/99",
        ":",
        "[",
        "ü",
        "-A",
        "*nat",
        "COMMIT",
        "",
        "10.0.0.0/8",
        "KUBE-SERVICES",
        "create",
        "add",
        "hash:net",
        "list:set",
        "10.0.0.0-9.0.0.0",
        "tcp:",
        "nomatch",
        "-exist",
        "--match-set",
        "--limit",
        "0/day",
        "--restore-mark",
        "CONNMARK",
        "L",
        "goto",
        "0:",
        "lookup",
        "table",
        "0x80/0x80",
        "suppress_prefixlength",
        "throw",
        "not",
    ];
    for _ in 0..times {
        let mut damaged: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for _ in 0..3 {
            let i = next() % damaged.len();
            let mut words: Vec<String> = damaged[i].split(' ').map(str::to_string).collect();
            let k = next() % words.len().max(1);
            match next() % 4 {
                0 if !words.is_empty() => {
                    words.remove(k);
                }
                1 => words.insert(k.min(words.len()), junk[next() % junk.len()].to_string()),
                2 if !words.is_empty() => words[k] = junk[next() % junk.len()].to_string(),
                _ => {
                    damaged.remove(i);
                    continue;
                }
            }
            damaged[i] = words.join(" ");
        }
        let d = damaged.join("\n");
        if let Err(e) = save::parse(&d) {
            let n = d.lines().count().max(1);
            for x in &e.0 {
                assert!(x.line >= 1 && x.line <= n && x.column >= 1, "{x}");
            }
        }
        let routes: String = d.lines().take(5).collect::<Vec<_>>().join("\n");
        let _ = packetwalk::engine::route_text::parse_routes(&routes);
        // The whole text as routes: errors in it, or lookups that end.
        match packetwalk::engine::route_text::parse_routes(&d) {
            Err(e) => {
                let n = d.lines().count().max(1);
                for x in &e.0 {
                    assert!(x.line >= 1 && x.line <= n && x.column >= 1, "{x}");
                }
            }
            Ok(t) => {
                for dst in ["10.5.1.1", "10.9.1.1", "8.8.8.8", "10.0.95.7"] {
                    let _ = t.lookup(dst.parse().unwrap());
                }
            }
        }
        let _ = Scenario::from_json(&d[..d.len().min(500)]);
    }
}

/// A built-in chain need not be declared: iptables-restore 1.8.9 takes
/// `-A PREROUTING` in a `*raw` without a `:PREROUTING` line; the chain
/// it filled is declared when the text is printed, as iptables-save
/// declares it.
#[test]
fn undeclared_builtin_chains_take_rules() {
    let text = "*raw\n-A PREROUTING -p tcp -m tcp --dport 80 -j NOTRACK\nCOMMIT\n";
    let rs = save::parse(text).unwrap_or_else(|e| panic!("{e}"));
    let pre = rs
        .table(TableName::Raw)
        .unwrap()
        .chain("PREROUTING")
        .unwrap();
    assert_eq!(pre.rules.len(), 1);
    assert_eq!(
        save::emit(&rs),
        "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 80 -j NOTRACK\nCOMMIT\n"
    );
    // Declared after its rules (iptables-restore 1.8.9 takes it, measured
    // on Linux 6.18): the line gives it its policy; a second one is an
    // error.
    let text = "*filter\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n:INPUT DROP [3:180]\nCOMMIT\n";
    let rs = save::parse(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        save::emit(&rs),
        "*filter\n:INPUT DROP [3:180]\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\nCOMMIT\n"
    );
    // A built-in chain declared twice: the last line's policy holds; a
    // user chain declared twice is an error.
    let rs = save::parse(
        "*filter\n-A INPUT -j ACCEPT\n:INPUT DROP [0:0]\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        save::emit(&rs).starts_with("*filter\n:INPUT ACCEPT [0:0]\n"),
        "{}",
        save::emit(&rs)
    );
    let e = save::parse("*filter\n:FOO - [0:0]\n:FOO - [0:0]\nCOMMIT\n").unwrap_err();
    assert!(
        e.0.len() == 1
            && e.0[0].line == 3
            && e.0[0].message == "chain FOO declared twice (first at line 2)",
        "{e}"
    );
    // A jump to a chain declared further down is refused, as
    // iptables-restore refuses it.
    let e = save::parse("*filter\n-A INPUT -j FOO\n:FOO - [0:0]\n-A FOO -j ACCEPT\nCOMMIT\n")
        .unwrap_err();
    assert!(
        e.0.len() == 1
            && (e.0[0].line, e.0[0].column) == (2, 13)
            && e.0[0]
                .message
                .starts_with("chain FOO is declared on line 3, after this rule"),
        "{e}"
    );
    // A user chain may be declared after rules too.
    let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n:FOO - [0:0]\n-A FOO -j ACCEPT\n-A INPUT -j FOO\nCOMMIT\n";
    save::parse(text).unwrap_or_else(|e| panic!("{e}"));
    // A user chain still needs its declaration.
    let e = save::parse("*raw\n-A MINE -j ACCEPT\nCOMMIT\n").unwrap_err();
    assert!(e.0[0].message.contains("no chain \"MINE\""), "{e}");
}

/// Checks iptables and the kernel make, found by review and checked against
/// iptables 1.8.9: each is refused with its reason.
#[test]
fn placement_and_range_errors() {
    let cases: &[(&str, &str)] = &[
        ("*nat\n:INPUT ACCEPT [0:0]\n-A INPUT -j MASQUERADE\nCOMMIT\n", "MASQUERADE in chain INPUT is reached from INPUT, but MASQUERADE is only valid from POSTROUTING"),
        ("*mangle\n:INPUT ACCEPT [0:0]\n-A INPUT -j REJECT\nCOMMIT\n", "REJECT is only valid in the filter table, not in mangle"),
        ("*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -p tcp -j MASQUERADE --to-ports 2000-1000\nCOMMIT\n", "port range 2000-1000 is inverted"),
        ("*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j SNAT --to-source 10.0.0.9-10.0.0.1\nCOMMIT\n", "address range 10.0.0.9-10.0.0.1 is inverted"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16 -j ACCEPT\nCOMMIT\n", "a range counts as two"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent --name X --rcheck --reap -j DROP\nCOMMIT\n", "recent --reap needs --seconds"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent --name X --rcheck --seconds 5 --hitcount 65536 -j DROP\nCOMMIT\n", "--hitcount is at most 65535"),
        // iptables 1.8.9: "RULE_APPEND failed (Invalid argument)" outside raw.
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j NOTRACK\nCOMMIT\n", "NOTRACK is only valid in the raw table, not in filter"),
        ("*mangle\n:INPUT ACCEPT [0:0]\n-A INPUT -j CT --notrack\nCOMMIT\n", "CT is only valid in the raw table, not in mangle"),
        ("*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j CT --zone 1\nCOMMIT\n", "CT --zone is not modelled by Packet Walk: only CT --notrack is"),
        // iptables 1.8.9's own refusals.
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ! -p all -j ACCEPT\nCOMMIT\n", "rule would never match protocol"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i abcdefghijklmnop -j ACCEPT\nCOMMIT\n", "must be shorter than IFNAMSIZ (15)"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m statistic --mode random --probability 0.5 --every 2 -j ACCEPT\nCOMMIT\n", "cannot be used together with \"--every\""),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --dports 80 --sports 80 -j ACCEPT\nCOMMIT\n", "option \"--source-ports\" cannot be used together with \"--destination-ports\""),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --dports 100:100 -j ACCEPT\nCOMMIT\n", "invalid portrange specified"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --dports 80: -j ACCEPT\nCOMMIT\n", "multiport wants both ends of a range"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent --name Z --set --seconds 10 -j ACCEPT\nCOMMIT\n", "not --set or --remove"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j LOG --log-level warn\nCOMMIT\n", "log level \"warn\" unknown"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ! -s 0/0 -j ACCEPT\nCOMMIT\n", "would match no address"),
    ];
    for (text, msg) in cases {
        let e = save::parse(text).expect_err(text);
        assert!(e.0[0].message.contains(msg), "{text}: {e}");
    }
    // …and what it takes: 15-character names, ICMP types by any of its
    // names, in any case.
    for rule in [
        "-i abcdefghijklmno",
        "-p icmp --icmp-type redirect",
        "-p icmp --icmp-type ECHO-REQUEST",
        "-p icmp --icmp-type host-redirect",
        "-p icmp --icmp-type parameter-problem",
    ] {
        let text = format!("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT {rule} -j ACCEPT\nCOMMIT\n");
        save::parse(&text).unwrap_or_else(|e| panic!("{rule}: {e}"));
    }
    // `iptables -P` refuses a nat chain's DROP policy, iptables-restore
    // takes it (iptables 1.8.9), and the kernel drops by it.
    let rs = save::parse("*nat\n:PREROUTING DROP [0:0]\nCOMMIT\n").unwrap();
    assert_eq!(
        rs.table(packetwalk::engine::iptables::TableName::Nat)
            .unwrap()
            .chain("PREROUTING")
            .unwrap()
            .policy,
        Some(packetwalk::engine::iptables::Policy::Drop)
    );
    let mut rs = save::parse("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n").unwrap();
    let e = apply_command(&mut rs, "iptables -t nat -P PREROUTING DROP").unwrap_err();
    assert!(
        e.to_string()
            .contains("policies other than ACCEPT are not allowed"),
        "{e}"
    );
    // -D by specification finds the rule wherever its options stand, and
    // tells comments apart.
    let mut rs = save::parse("*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -m comment --comment \"aaa\" -j A\n-A INPUT -m comment --comment \"bbb\" -j A\nCOMMIT\n").unwrap();
    apply_command(&mut rs, "iptables -D INPUT -m comment --comment bbb -j A").unwrap();
    let input = rs.table(TableName::Filter).unwrap().chain("INPUT").unwrap();
    assert_eq!(input.rules.len(), 1);
    assert_eq!(input.rules[0].comment().as_deref(), Some("aaa"));
    // Options given after the chain (-t, -w) do not end up in the rule's text.
    apply_command(&mut rs, "iptables -A INPUT -s 10.0.0.1 -t filter -w -j A").unwrap();
    let text = save::emit(&rs);
    assert!(text.contains("-A INPUT -s 10.0.0.1 -j A\n"), "{text}");
    assert!(save::parse(&text).is_ok());
}

/// The single chains kube-proxy's tests expect (`expected_chains.json` in
/// ../shared/vectors, IPv4 cases): each parses as restore input and prints
/// back unchanged.
#[test]
fn kube_proxy_expected_chains_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kube-proxy/chains");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let cases: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for c in cases.as_array().unwrap() {
            let (table, chain) = (c["table"].as_str().unwrap(), c["chain"].as_str().unwrap());
            let rules: Vec<&str> = c["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            let body: String = rules.iter().map(|r| format!("{r}\n")).collect();
            let text = format!("*{table}\n:{chain} - [0:0]\n{body}COMMIT\n");
            let rs =
                save::parse_fragment(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(save::emit(&rs), text, "{}", path.display());
            n += rules.len();
        }
    }
    assert!(n >= 9, "{n} rules");
}

/// The scenario format's flexible fields (text as a string or as lines, a
/// device's `"type"` beside its other fields, protocols by name or number)
/// read as documented, and wrong values are refused with a message.
#[test]
fn scenario_json_fields_read_in_all_their_forms() {
    let host = |devices: &str, routes: &str, listeners: &str| {
        format!(
            r#"{{"name":"t","title":"t","hosts":[{{"name":"h","kind":"node","devices":[{devices}],"routes":{routes},"listeners":[{listeners}]}}]}}"#
        )
    };
    let lo = r#"{"name":"lo","type":"loopback","addrs":["127.0.0.1/8"]}"#;
    let eth =
        r#"{"name":"eth0","type":"ethernet","lan":"lan","addrs":["10.0.0.1/24"],"proxy_arp":true}"#;
    let ok: &[(String, &str)] = &[
        (host(lo, r#""""#, ""), ""),
        (
            host(
                &format!("{lo},{eth}"),
                r#"["10.1.0.0/16 via 10.0.0.2 dev eth0"]"#,
                "",
            ),
            "10.1.0.0/16 via 10.0.0.2 dev eth0\n",
        ),
        (
            host(
                eth,
                r#""10.1.0.0/16 dev eth0""#,
                r#"{"proto":"udp","port":53},{"proto":132,"port":9}"#,
            ),
            "10.1.0.0/16 dev eth0",
        ),
    ];
    for (json, routes) in ok {
        let sc = Scenario::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(sc.hosts[0].routes.to_text(), *routes);
        // What is written reads back the same.
        assert_eq!(Scenario::from_json(&sc.to_json()).unwrap(), sc);
    }
    let sc = Scenario::from_json(&ok[2].0).unwrap();
    assert!(sc.hosts[0].devices[0].proxy_arp);
    assert_eq!(sc.hosts[0].listeners[1].proto.number(), 132);
    let bad: &[(String, &str)] = &[
        (
            host(r#"{"name":"x","type":"wifi"}"#, r#""""#, ""),
            "unknown type \"wifi\"",
        ),
        (
            host(r#"{"name":"x","type":"ethernet"}"#, r#""""#, ""),
            "needs \"lan\"",
        ),
        (host(lo, "42", ""), "a string or a list of lines"),
        (
            host(lo, r#""""#, r#"{"proto":"sctp","port":1}"#),
            "tcp, udp, icmp, ipip or a protocol number",
        ),
        (
            host(lo, r#""""#, r#"{"proto":300,"port":1}"#),
            "tcp, udp, icmp, ipip or a protocol number",
        ),
    ];
    for (json, want) in bad {
        let e = Scenario::from_json(json).expect_err(json).to_string();
        assert!(e.contains(want), "{json}: {e}");
    }
}

/// After a command, the page numbers the rules by the text it prints
/// instead of parsing that text again: each chain and rule must carry the
/// line that parsing the printed text gives it (the line the editor
/// highlights), and the text must read back as itself.
#[test]
fn commands_number_rules_as_parsing_the_printed_text_would() {
    let generated = "# Generated by iptables-save v1.8.9 on Thu Nov 26 06:00:00 2026\n*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [3:180]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n# Completed on Thu Nov 26 06:00:00 2026\n";
    let cases: &[(&str, &[&str])] = &[
        (
            &data("kube-proxy/overall.iptables-save"),
            &[
                "-t nat -N KUBE-TEST",
                "-t nat -A KUBE-TEST -j RETURN",
                "-t nat -I KUBE-SERVICES 2 -d 172.30.0.41/32 -j KUBE-TEST",
                "-I FORWARD 1 -d 172.16.225.112/32 -j DROP",
                "-t nat -D KUBE-SERVICES 2",
                "-t nat -F KUBE-TEST",
                "-t nat -X KUBE-TEST",
            ],
        ),
        (
            generated,
            &[
                // FORWARD was not declared: the table has it implicitly.
                "-A FORWARD -p tcp --dport 22 -j DROP",
                "-N LEARNER",
                "-I INPUT 1 -j LEARNER",
                // A table the text did not have.
                "-t raw -A PREROUTING -p udp --dport 53 -j ACCEPT",
                "-t mangle -A OUTPUT -j MARK --set-mark 0x1",
                "-P INPUT DROP",
            ],
        ),
    ];
    for (start, commands) in cases {
        let mut rs = save::parse(start).unwrap();
        for cmd in *commands {
            apply_command(&mut rs, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"));
            let text = save::emit_numbered(&mut rs);
            let again = save::parse(&text).unwrap_or_else(|e| panic!("{cmd}: {e}\n{text}"));
            assert_eq!(save::emit(&again), text, "{cmd}");
            let lines = |rs: &packetwalk::engine::iptables::Ruleset| {
                let mut out = Vec::new();
                for t in &rs.tables {
                    for c in t.chains.iter().filter(|c| !c.implicit) {
                        out.push((t.name, c.name.clone(), None, c.line));
                    }
                    for c in &t.chains {
                        for (i, r) in c.rules.iter().enumerate() {
                            out.push((t.name, c.name.clone(), Some(i), r.line));
                        }
                    }
                }
                out.sort();
                out
            };
            assert_eq!(lines(&rs), lines(&again), "after {cmd}");
            // Every numbered rule's line is that rule in the text.
            let text_lines: Vec<&str> = text.lines().collect();
            for t in &rs.tables {
                for c in &t.chains {
                    for r in &c.rules {
                        assert!(
                            text_lines[r.line - 1].starts_with(&format!("-A {} ", c.name)),
                            "{cmd}: line {} is {:?}",
                            r.line,
                            text_lines[r.line - 1]
                        );
                    }
                }
            }
        }
    }
}

/// nf_tables lets jumps nest 15 user chains below a built-in chain
/// (measured with iptables-nft 1.8.9 on Linux 6.18): 16 are refused at the
/// rule that jumps one too deep; chains nothing reaches may nest deeper.
#[test]
fn jumps_nest_at_most_fifteen_chains_deep() {
    let nested = |n: usize, reached: bool| {
        let mut t = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
        t.extend((0..n).map(|i| format!(":C{i} - [0:0]\n")));
        if reached {
            t.push_str("-A INPUT -j C0\n");
        }
        t.extend((0..n - 1).map(|i| format!("-A C{i} -g C{}\n", i + 1)));
        t + "COMMIT\n"
    };
    assert!(save::parse(&nested(15, true)).is_ok());
    assert!(save::parse(&nested(40, false)).is_ok());
    // iptables-legacy's dump (its header says so) nests as deep as it likes.
    let legacy = format!(
        "# Generated by iptables-save v1.8.9 (legacy) on Thu Nov 26 10:00:00 2026\n{}",
        nested(40, true)
    );
    assert!(save::parse(&legacy).is_ok());
    let errs = save::parse(&nested(16, true)).expect_err("16 deep");
    // Lines 1-2, 16 declarations, the INPUT rule, then C0…C14's rules.
    assert_eq!(errs.0.len(), 1, "{errs}");
    assert_eq!((errs.0[0].line, errs.0[0].column), (34, 11), "{errs}");
    assert!(
        errs.0[0]
            .message
            .contains("this jump to C15 nests 16 chains deep (INPUT → C0 → C1 → …)"),
        "{errs}"
    );
    assert!(
        errs.0[0]
            .message
            .contains("RULE_APPEND failed (Too many links): rule in chain C14"),
        "{errs}"
    );
}

/// iptables takes matches after the target (`-j ACCEPT -m mark --mark 1`,
/// checked with iptables-nft 1.8.9); the target's own options stay its.
#[test]
fn matches_may_follow_the_target() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A FORWARD -j ACCEPT -m mark --mark 0x1\n-A FORWARD -j DROP -p tcp --dport 80\n\
        -A FORWARD -j REJECT -s 10.0.0.0/8 --reject-with tcp-reset -p tcp\nCOMMIT\n";
    let r = save::parse(text).unwrap_or_else(|e| panic!("{e}"));
    let rules = &r.tables[0]
        .chains
        .iter()
        .find(|c| c.name == "FORWARD")
        .unwrap()
        .rules;
    let got: Vec<String> = rules
        .iter()
        .map(|r| {
            format!(
                "{:?} {:?}",
                r.matches.iter().map(|m| &m.kind).collect::<Vec<_>>(),
                r.target
            )
        })
        .collect();
    assert!(
        got[0].contains("Mark") && got[0].ends_with("Accept"),
        "{}",
        got[0]
    );
    assert!(
        got[1].contains("80") && got[1].ends_with("Drop"),
        "{}",
        got[1]
    );
    assert!(got[2].contains("TcpReset"), "{}", got[2]);
}

/// What iptables-save prints around the rules on a real node, and what a
/// terminal copy adds: each is named for what it is, at its line.
#[test]
fn what_iptables_save_says_besides_rules_is_named() {
    let table = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n";
    for (text, line, msg) in [
        (
            format!("# Generated by ip6tables-save v1.8.9 (nf_tables) on Fri Nov 27 09:10:00 2026\n{table}"),
            1,
            "this is ip6tables-save output (IPv6 rules)",
        ),
        (
            "# Table `filter' is incompatible, use 'nft' tool.\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n".to_string(),
            1,
            "iptables-save could not print table filter: it holds rules made with nft",
        ),
        (
            format!("root@node8:~# iptables-save\n{table}"),
            1,
            "this looks like a shell prompt and the command typed at it",
        ),
        (
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent -# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n-rcheck --name x -j ACCEPT\nCOMMIT\n".to_string(),
            3,
            "iptables-save's warning about iptables-legacy tables (which it prints on stderr) landed in the middle of this rule",
        ),
    ] {
        let e = save::parse(&text).expect_err(&text);
        assert_eq!(e.0[0].line, line, "{text}: {e}");
        assert!(e.0[0].message.contains(msg), "{text}: {e}");
    }
    // The cut rule's rest is named as such, not as a command of its own.
    let cut = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent -# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n-rcheck --name x -j ACCEPT\nCOMMIT\n";
    let e = save::parse(cut).unwrap_err();
    assert_eq!(e.0.len(), 2, "{e}");
    assert!(
        e.0[1].message.starts_with("this is the rest of line 3"),
        "{e}"
    );
    // A set missing is explained once, at its first rule.
    let e = save::parse("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set X src -j ACCEPT\n-A INPUT -m set ! --match-set X dst -j DROP\nCOMMIT\n").unwrap_err();
    assert!(
        e.0[0]
            .message
            .contains("put the node's ipset save output before the rules"),
        "{e}"
    );
    assert_eq!(
        (e.0[1].line, e.0[1].message.as_str()),
        (4, "there is no set X (see line 3)")
    );
    // The warning on a line of its own is a note: the dump is read.
    let warned = format!(
        "{table}# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n"
    );
    assert!(save::parse(&warned).is_ok());
    assert!(save::notes(&warned).contains("also has iptables-legacy tables"));
    assert_eq!(save::notes(table), "");
    // nft's own base chains in a table (measured: iptables-nft 1.8.9
    // prints this line in the table): read, with a note naming the table.
    let hidden = "*filter\n# Table `filter' contains incompatible base-chains, use 'nft' tool to list them.\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    assert!(save::parse(hidden).is_ok());
    assert!(
        save::notes(hidden).contains("table filter also holds base chains made with nft"),
        "{}",
        save::notes(hidden)
    );
    // Protocol 4 as RHEL's /etc/protocols names it (Calico's IPIP rules
    // on a RHEL or Amazon Linux node): the same rule as -p 4. And -p ip,
    // Debian's 0, with a note that another host may mean another.
    let proto = |p: &str| {
        let text = format!("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p {p} -j DROP\nCOMMIT\n");
        let rs = save::parse(&text).unwrap_or_else(|e| panic!("{p}: {e}"));
        format!(
            "{:?}",
            rs.tables[0].chain("INPUT").unwrap().rules[0]
                .matches
                .iter()
                .map(|m| &m.kind)
                .collect::<Vec<_>>()
        )
    };
    assert_eq!(proto("ipv4"), proto("4"));
    assert_eq!(proto("ipv4"), "[Proto(Ipip)]");
    assert_eq!(proto("ip"), "[]");
    let ip = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p ip -j DROP\nCOMMIT\n";
    assert!(save::notes(ip).contains("Rules here use -p ip, read as all protocols"));
    assert_eq!(save::notes(&ip.replace("-p ip ", "-p ipv4 ")), "");
}

/// Addresses as iptables and ip read them: each part as strtoul reads it
/// (octal, hex, a `+`), short forms completed by zeros (measured with
/// iptables 1.8.9).
#[test]
fn short_and_octal_addresses_are_read_as_iptables_reads_them() {
    use packetwalk::engine::iptables::rule::parse_net;
    for (written, read) in [
        ("010.0.0.1/32", Some("8.0.0.1/32")),
        ("0x0a.1/16", Some("10.1.0.0/16")),
        ("10/8", Some("10.0.0.0/8")),
        ("10.1.2", Some("10.1.2.0/32")),
        ("+10.0.0.1", Some("10.0.0.1/32")),
        ("10.0.0.256", None),
        ("08.0.0.1", None),
    ] {
        let got = parse_net(written).ok().map(|n| n.to_string());
        assert_eq!(got.as_deref(), read, "{written}");
    }
}
