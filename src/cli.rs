//! The command line: trace a packet, list scenarios, check a file.

use clap::{Parser, Subcommand};
use packetwalk::engine::cni;
use packetwalk::engine::iptables::save;
use packetwalk::engine::k8s::Cluster;
use packetwalk::engine::packet::{Proto, TcpFlags};
use packetwalk::engine::scenario::{self, HostKind, Scenario, Text};
use packetwalk::engine::{render, route_text, send, sim, Errors, SendSpec, SimState, World};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "packetwalk",
    version,
    about = "Follow one packet through a Kubernetes node: kube-proxy's iptables chains, conntrack, and the CNI's routes."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Trace one packet and print every step.
    Trace {
        /// A built-in scenario name (see `packetwalk scenarios`) or a scenario
        /// JSON file. Default: `article`, or, with --routes and no
        /// --scenario, a replay of that node alone.
        #[arg(long, conflicts_with = "cluster")]
        scenario: Option<String>,
        /// Kubernetes YAML (Services, EndpointSlices, Nodes, Pods and a
        /// `kind: Network` document): the nodes' rules and routes are
        /// generated from it, as kube-proxy and the CNI would write them.
        #[arg(long)]
        cluster: Option<PathBuf>,
        /// A pod or node name, or client:IP for a host on the LAN outside the cluster.
        #[arg(long)]
        from: String,
        /// IP:PORT, or a Service: flask-ui, ms-test/flask-ui, flask-ui:http.
        #[arg(long)]
        to: String,
        /// tcp, udp or icmp (default: a Service port's own protocol, else tcp).
        #[arg(long, value_parser = ["tcp", "udp", "icmp"])]
        proto: Option<String>,
        /// TCP flags, e.g. SYN or SYN,ACK (default SYN); SYN,ECE,CWR asks for ECN.
        #[arg(long)]
        flags: Option<String>,
        /// Replace this node's iptables rules with an `iptables-save` file.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Replace this node's routes with an `ip route` or `route -n` file.
        #[arg(long)]
        routes: Option<PathBuf>,
        /// With --scenario: the node --rules and --routes replace (default: the first node).
        #[arg(long)]
        node: Option<String>,
        /// Force a `statistic --mode random` rule: HOST/TABLE/CHAIN/RULE=yes|no.
        #[arg(long = "force")]
        force: Vec<String>,
        /// The first packet's source port (default: an ephemeral port from the seed).
        #[arg(long)]
        sport: Option<u16>,
        /// The first packet's source address, when it is not the sender's
        /// own (a spoofed source, as reverse path filtering and rpfilter
        /// refuse; default: the address the kernel picks).
        #[arg(long)]
        src: Option<std::net::Ipv4Addr>,
        /// The first packet's IP TTL (default 64): each router takes one, and
        /// the one that takes the last answers ICMP time exceeded.
        #[arg(long)]
        ttl: Option<u8>,
        /// The first packet's bytes of data after its TCP, UDP or ICMP
        /// header (default 0): a packet larger than an MTU on its way is
        /// refused by its sender or by the router that cannot forward it.
        #[arg(long = "len")]
        len: Option<u16>,
        /// The uid of the program that sends the first packet (default 0,
        /// root): what `-m owner --uid-owner` tests (Istio's sidecar lets
        /// uid 1337, its proxy, out unredirected).
        #[arg(long)]
        uid: Option<u32>,
        /// Its gid (default 0), for `-m owner --gid-owner`.
        #[arg(long)]
        gid: Option<u32>,
        /// Then another packet, on the state the ones before left
        /// (conntrack, counters): `reply` (the answer to the last packet,
        /// from where it was delivered; to a refused one, the kernel's reset
        /// or ICMP error, followed back), `again` or `again:FLAGS` (on the
        /// last packet's connection, e.g. again:RST or again:FIN,ACK),
        /// `flush` (conntrack -F before the next), or `wait:SECONDS` (that
        /// long before the next, instead of 1 s: conntrack's timeouts run,
        /// and an entry whose time is out is gone). Repeatable.
        #[arg(long = "then")]
        then: Vec<String>,
        /// Print the trace as JSON (the shape in docs/trace-format.md); with
        /// --then, a list of traces.
        #[arg(long)]
        json: bool,
    },
    /// Print a node's iptables (and routes) generated from Kubernetes objects.
    Generate {
        /// Kubernetes YAML: Services, EndpointSlices, Nodes (with spec.podCIDR
        /// and an InternalIP), Pods, and optionally a `kind: Network`
        /// document naming the mode (calico-ipip when absent). A built-in
        /// cluster's name works too (see `packetwalk scenarios`).
        #[arg(long)]
        cluster: String,
        /// The node whose rules to print.
        #[arg(long)]
        node: String,
        /// Print the node's `ip route` listing as well.
        #[arg(long)]
        routes: bool,
        /// Print the text kube-proxy hands to iptables-restore instead of what
        /// iptables-save shows on the node afterwards.
        #[arg(long)]
        restore_input: bool,
    },
    /// List the built-in scenarios.
    Scenarios,
    /// Check a scenario (JSON), an iptables-save dump, or an ip route / route -n listing.
    Check { file: PathBuf },
}

/// A file as text (a byte-order mark dropped, UTF-16 read); where it is
/// not text, the line and column that is not.
fn read(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    packetwalk::engine::text::decode(bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn load_scenario(name: &str) -> Result<Scenario, String> {
    if let Some(s) = scenario::builtin(name) {
        return Ok(s);
    }
    let p = Path::new(name);
    if !p.exists() {
        return Err(format!(
            "no built-in scenario \"{name}\" and no such file (built-in: {})",
            scenario::BUILTIN.join(", ")
        ));
    }
    Scenario::from_json(&read(p)?).map_err(|e| format!("{}:\n{}", p.display(), located(&e, p)))
}

fn load_cluster(name: &str) -> Result<(Cluster, String), String> {
    if let Some(y) = cni::cluster_yaml(name) {
        return Ok((
            Cluster::from_yaml(y).map_err(|e| e.to_string())?,
            name.to_string(),
        ));
    }
    let p = Path::new(name);
    let text = read(p)?;
    let c = Cluster::from_yaml(&text).map_err(|e| located(&e, p))?;
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((c, stem))
}

fn cluster_scenario(name: &str) -> Result<Scenario, String> {
    let (c, stem) = load_cluster(name)?;
    cni::build(&c, &stem, &stem).map_err(|e| located(&e, Path::new(name)))
}

fn generate(
    cluster: &str,
    node: &str,
    routes: bool,
    restore_input: bool,
) -> Result<String, String> {
    let sc = cluster_scenario(cluster)?;
    let h = sc
        .hosts
        .iter()
        .find(|h| h.name == node && h.kind == HostKind::Node)
        .ok_or_else(|| {
            let nodes: Vec<&str> = sc
                .hosts
                .iter()
                .filter(|h| h.kind == HostKind::Node)
                .map(|h| h.name.as_str())
                .collect();
            format!(
                "no node \"{node}\" in the cluster (nodes: {})",
                nodes.join(", ")
            )
        })?;
    let mut out = if restore_input {
        let (c, _) = load_cluster(cluster)?;
        cni::node_restore(
            &c,
            cni::node_config(&c, node).ok_or("the node has no address")?,
        )
    } else {
        h.iptables.as_ref().map(Text::to_text).unwrap_or_default()
    };
    if routes {
        out.push('\n');
        out.push_str(&h.routes.to_text());
    }
    Ok(out)
}

fn located(e: &Errors, path: &Path) -> String {
    e.0.iter()
        .map(|x| {
            // A line in one host's text is not a line of the file.
            let at = match (&x.context, x.line) {
                (Some(c), 0) => format!(" {c}:"),
                (Some(c), _) => format!(" {c}, {}:", x.place().unwrap_or_default()),
                (None, 0) => String::new(),
                (None, l) if x.column == 0 => format!("{l}:"),
                (None, l) => format!("{l}:{}:", x.column),
            };
            let expected = x
                .expected
                .as_ref()
                .map(|w| format!(" (expected {w})"))
                .unwrap_or_default();
            format!("{}:{at} {}{expected}", path.display(), x.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why `--then again` has nothing to send.
fn no_again(last: &SendSpec, step: &str) -> String {
    if last.kernel || last.is_icmp_error() {
        format!("--then {step}: the packet before is the kernel's answer (a reset or an ICMP error), which it sends once; no program sends it again")
    } else {
        format!("--then {step}: the packet before has no trace")
    }
}

fn parse_force(s: &str) -> Result<packetwalk::engine::sim::Force, String> {
    let bad = || {
        format!(
            "--force {s}: expected HOST/TABLE/CHAIN/RULE=yes|no, e.g. node8/nat/KUBE-SVC-X/1=no"
        )
    };
    let (path, val) = s.split_once('=').ok_or_else(bad)?;
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() != 4 {
        return Err(bad());
    }
    Ok(packetwalk::engine::sim::Force {
        host: parts[0].into(),
        table: packetwalk::engine::iptables::TableName::parse(parts[1]).ok_or_else(bad)?,
        chain: parts[2].into(),
        rule: parts[3].parse().map_err(|_| bad())?,
        matched: match val {
            "yes" | "true" | "1" => true,
            "no" | "false" | "0" => false,
            _ => return Err(bad()),
        },
    })
}

#[allow(clippy::too_many_arguments)]
/// What `trace` sends: the first packet, and the ones after it.
struct Send<'a> {
    from: &'a str,
    to: &'a str,
    proto: Option<&'a str>,
    flags: Option<&'a str>,
    sport: Option<u16>,
    src: Option<std::net::Ipv4Addr>,
    ttl: Option<u8>,
    len: Option<u16>,
    uid: Option<u32>,
    gid: Option<u32>,
    force: &'a [String],
    then: &'a [String],
    json: bool,
}

fn trace(
    scenario: Option<&str>,
    cluster: Option<&Path>,
    send_what: Send,
    rules: Option<&Path>,
    routes: Option<&Path>,
    node: Option<&str>,
) -> Result<String, String> {
    let from = send_what.from;
    let mut sc = match (scenario, routes) {
        _ if cluster.is_some() => cluster_scenario(&cluster.expect("checked").to_string_lossy())?,
        (None, Some(routes_path)) => {
            // Replay: the node alone, its devices inferred from its routes.
            let rules_text = rules.map(read).transpose()?;
            if let (Some(t), Some(p)) = (&rules_text, rules) {
                save::parse(t).map_err(|e| located(&e, p))?;
            }
            let client = from.strip_prefix("client:").and_then(|ip| ip.parse().ok());
            let text = read(routes_path)?;
            let to_port = send_what
                .to
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse().ok());
            let sc = Scenario::replay(rules_text.as_deref(), &text, client, to_port)
                .map_err(|e| located(&e, routes_path))?;
            let mut world = World::build(&sc).map_err(|e| e.to_string())?;
            // What the listing leaves out, before the trace (the first
            // note only says what a replay is).
            let left_out = route_text::notes(&text);
            let said: String = (sc.notes.iter().skip(1))
                .chain((!left_out.is_empty()).then_some(&left_out))
                .map(|n| format!("note: {n}\n"))
                .collect();
            return run_trace(&mut world, &send_what).map(|t| with_notes(&said, t, send_what.json));
        }
        (s, _) => load_scenario(s.unwrap_or("article"))?,
    };
    let mut said = String::new();
    if rules.is_some() || routes.is_some() {
        let name = match node {
            Some(n) => n.to_string(),
            None => sc
                .hosts
                .iter()
                .find(|h| h.kind == HostKind::Node)
                .map(|h| h.name.clone())
                .ok_or("the scenario has no node")?,
        };
        let h = sc
            .host_mut(&name)
            .ok_or_else(|| format!("no host named {name}"))?;
        if let Some(p) = rules {
            let text = read(p)?;
            let rs = save::parse(&text).map_err(|e| located(&e, p))?;
            // A real node's rules on another host: what never matches here.
            let devs: Vec<&str> = h.devices.iter().map(|d| d.name.as_str()).collect();
            for note in [rs.interfaces_note(&name, &devs), save::notes(&text)] {
                if !note.is_empty() {
                    said += &format!("note: {note}\n");
                }
            }
            h.iptables = Some(Text::One(text));
        }
        if let Some(p) = routes {
            let text = read(p)?;
            route_text::parse_routes(&text).map_err(|e| located(&e, p))?;
            let left_out = route_text::notes(&text);
            if !left_out.is_empty() {
                said += &format!("note: {left_out}\n");
            }
            h.routes = Text::One(text);
        }
    }
    let mut world = World::build(&sc).map_err(|e| e.to_string())?;
    run_trace(&mut world, &send_what).map(|t| with_notes(&said, t, send_what.json))
}

/// A trace with the notes on its input before it; with --json, the notes
/// go to stderr, so that stdout stays one JSON document.
fn with_notes(notes: &str, trace: String, json: bool) -> String {
    if json {
        eprint!("{notes}");
        trace
    } else {
        format!("{notes}{trace}")
    }
}

fn parse_flags(f: &str) -> Result<TcpFlags, String> {
    TcpFlags::parse_list(f)
        .map(TcpFlags::from_bits)
        .ok_or_else(|| format!("bad TCP flags {f}: use names like SYN,ACK"))
}

fn run_trace(world: &mut World, what: &Send) -> Result<String, String> {
    let Send {
        from,
        to,
        proto,
        flags,
        force,
        json,
        ..
    } = *what;
    let mut state = SimState::new(world);
    // A Service port's protocol (by name, or its cluster IP and port),
    // when none is asked for.
    let by_address = || {
        let (ip, port) = to.rsplit_once(':')?;
        let (ip, port): (std::net::Ipv4Addr, u16) = (ip.parse().ok()?, port.parse().ok()?);
        (world.scenario.services.iter())
            .filter(|s| s.cluster_ip == ip)
            .find_map(|s| s.ports.iter().find(|p| p.port == port))
            .map(|p| p.protocol)
    };
    let proto = match proto {
        Some(p) => Proto::parse(p).expect("clap checked"),
        None => (world
            .find_service(to)
            .ok()
            .flatten()
            .map(|(_, p)| p.protocol))
        .or_else(by_address)
        .unwrap_or(Proto::Tcp),
    };
    let mut spec = SendSpec::new(from, to, proto);
    if let Some(f) = flags {
        spec.flags = Some(parse_flags(f).map_err(|e| format!("--flags: {e}"))?);
    }
    spec.src_port = what.sport;
    spec.src = what.src;
    spec.ttl = what.ttl;
    spec.uid = what.uid;
    spec.gid = what.gid;
    spec.payload_len = what.len.unwrap_or(0);
    spec.force = force
        .iter()
        .map(|f| parse_force(f))
        .collect::<Result<_, _>>()?;
    for (f, text) in spec.force.iter().zip(force) {
        f.check(world).map_err(|e| format!("--force {text}: {e}"))?;
    }
    let mut traces = vec![(format!("{from} → {to}"), send(world, &mut state, &spec)?)];
    // The packets after it, each on the state the ones before left. One
    // that cannot be sent ends them: the ones before are printed, then
    // why.
    let mut flush = false;
    let mut wait: Option<u32> = None;
    let mut failed = None;
    for (k, step) in what.then.iter().enumerate() {
        if step == "flush" {
            flush = true;
            continue;
        }
        if let Some(secs) = step.strip_prefix("wait:") {
            match secs.parse::<u32>() {
                Ok(n) if (1..=sim::MAX_WAIT).contains(&n) => {
                    wait = Some(wait.unwrap_or(0).saturating_add(n).min(sim::MAX_WAIT));
                    continue;
                }
                _ => {
                    failed = Some(format!("--then {step}: wait takes a number of seconds from 1 to {} (10 days), e.g. wait:31", sim::MAX_WAIT));
                    break;
                }
            }
        }
        let (last_spec, last) = (&spec, &traces[traces.len() - 1].1);
        let next: Result<SendSpec, String> = (|| {
            Ok(match step.split_once(':') {
            _ if step == "reply" => sim::reply_spec(last).ok_or_else(|| {
                let first = last.steps.first().map(|st| &st.packet);
                let tcp = |f: fn(&packetwalk::engine::packet::TcpFlags) -> bool| {
                    first.is_some_and(|p| matches!(&p.transport, packetwalk::engine::packet::Transport::Tcp { flags, .. } if f(flags)) && p.payload_len == 0)
                };
                let why = if tcp(|f| f.rst) { "the packet before is a RST, which TCP never answers" } else if tcp(|f| !f.syn && !f.fin) && matches!(last.verdict, packetwalk::engine::trace::Verdict::Delivered { .. }) { "the packet before is a bare ACK, which TCP does not answer (only a SYN, a FIN or data is acknowledged)" } else if let packetwalk::engine::trace::Verdict::Left { dev, next_hop, .. } = &last.verdict { &format!("the packet before left the scenario on {dev} toward {next_hop}, which no host of it holds, so nothing here answers it (in a replay, a device the routes name is a network card to a LAN of its own)") } else { "the packet before was neither delivered to a socket that answers nor refused with an answer (a reset or an ICMP error), so nothing answers it" };
                format!("--then {step} (number {}): {why}", k + 1)
            })?,
            None if step == "again" => sim::again_spec(last_spec, last).ok_or_else(|| no_again(last_spec, step))?,
            Some(("again", f)) => {
                let mut s = sim::again_spec(last_spec, last).ok_or_else(|| no_again(last_spec, step))?;
                let flags = parse_flags(f).map_err(|e| format!("--then {step}: {e}"))?;
                // Other flags: the connection's next segment, numbered on
                // from what each side sent (as the page's Again does).
                let had = s.flags.unwrap_or(packetwalk::engine::packet::TcpFlags::SYN);
                if had != flags && s.proto == packetwalk::engine::packet::Proto::Tcp {
                    if let Some(first) = last.steps.first() {
                        let (seq, ack) = sim::next_segment_numbers(&first.packet, traces.iter().map(|(_, t)| t));
                        s.seq = seq.or(s.seq);
                        s.ack = ack.or(s.ack);
                    }
                }
                s.flags = Some(flags);
                s
            }
            _ => return Err(format!("--then {step}: use reply, again, again:FLAGS (again:RST), flush or wait:SECONDS")),
        })
        })();
        let mut next = match next {
            Ok(n) => n,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        next.after = wait.take();
        if std::mem::take(&mut flush) {
            state.clear_conntrack();
        }
        let t = match send(world, &mut state, &next) {
            Ok(t) => t,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let label = if step == "reply" {
            "reply".to_string()
        } else {
            format!("{step} ({} → {})", next.from, next.to)
        };
        spec = next;
        traces.push((label, t));
    }
    if let (Some(e), true) = (&failed, json) {
        return Err(e.clone());
    }
    if json {
        let out = if what.then.is_empty() {
            serde_json::to_string_pretty(&traces[0].1)
        } else {
            serde_json::to_string_pretty(&traces.iter().map(|(_, t)| t).collect::<Vec<_>>())
        };
        return Ok(out.expect("traces serialise") + "\n");
    }
    let mut out = if traces.len() == 1 {
        render::table(&traces[0].1)
    } else {
        traces
            .iter()
            .enumerate()
            .map(|(i, (label, t))| format!("== packet {}: {label}\n{}", i + 1, render::table(t)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // A wait after the last packet: the listing is of its end.
    if let (None, Some(w)) = (&failed, wait) {
        state.wait(w);
    }
    // What the packets left in each host's table, as `conntrack -L` there.
    out += "\n== conntrack -L after the last packet (the seconds each connection has left)\n";
    for (h, table) in world.hosts.iter().zip(&state.conntrack) {
        let lines = table.list(state.clock);
        if !lines.is_empty() {
            out += &format!("{}:\n", h.name());
            lines.iter().for_each(|l| out += &format!("  {l}\n"));
        }
    }
    match failed {
        Some(e) => {
            print!("{out}");
            Err(e)
        }
        None => Ok(out),
    }
}

fn check(path: &Path) -> Result<String, String> {
    let text = read(path)?;
    let trimmed = text.trim_start();
    // (What iptables-save prints for a host without rules, and ip route
    // for one without routes.)
    if trimmed.is_empty() {
        return Ok("the file is empty: as iptables-save output, a host without rules; as ip route output, a host without routes".to_string());
    }
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let lines = || text.lines().map(str::trim_start);
    let result: Result<String, Errors> = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        Scenario::from_json(&text).and_then(|s| {
            World::build(&s).map(|w| {
                format!(
                    "scenario \"{}\": {}, valid",
                    s.name,
                    plural(w.hosts.len(), "host")
                )
            })
        })
    } else if lines().any(|l| l.starts_with("apiVersion:") || l.starts_with("kind:")) {
        return Err(format!(
            "{}: this is Kubernetes YAML: give it to `packetwalk generate --cluster` or `packetwalk trace --cluster`",
            path.display()
        ));
    } else if packetwalk::engine::text::looks_like_rules(&text) {
        save::parse(&text).map(|r| {
            let note = save::notes(&text);
            format!(
                "iptables-save dump: {}, {}{}, valid{}",
                plural(r.tables.len(), "table"),
                plural(r.rule_count(), "rule"),
                match r.ipsets.sets.len() {
                    0 => String::new(),
                    n => format!(", {}", plural(n, "IP set")),
                },
                if note.is_empty() {
                    String::new()
                } else {
                    format!("; {note}")
                }
            )
        })
    } else {
        route_text::parse_routes(&text).map(|t| {
            // Tables known by name only and IPv6 are read past.
            let note = route_text::notes(&text);
            let mut out = match t.rules.len() {
                0 => format!("routes: {}, valid", plural(t.routes.len(), "route")),
                n => format!(
                    "routes: {} and {}, valid",
                    plural(t.routes.len(), "route"),
                    plural(n, "ip rule")
                ),
            };
            if !note.is_empty() {
                out += &format!("; {note}");
            }
            out
        })
    };
    result.map_err(|e| {
        let mut s = located(&e, path);
        if e.full() {
            s.push_str("\n(stopped after 200 errors)");
        }
        s
    })
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    let out = match &cli.command {
        Command::Trace {
            scenario,
            cluster,
            from,
            to,
            proto,
            flags,
            rules,
            routes,
            node,
            force,
            sport,
            src,
            ttl,
            len,
            uid,
            gid,
            then,
            json,
        } => trace(
            scenario.as_deref(),
            cluster.as_deref(),
            Send {
                from,
                to,
                proto: proto.as_deref(),
                flags: flags.as_deref(),
                sport: *sport,
                src: *src,
                ttl: *ttl,
                len: *len,
                uid: *uid,
                gid: *gid,
                force,
                then,
                json: *json,
            },
            rules.as_deref(),
            routes.as_deref(),
            node.as_deref(),
        ),
        Command::Scenarios => Ok(scenario::BUILTIN
            .iter()
            .map(|n| {
                let s = scenario::builtin(n).expect("listed");
                format!(
                    "{:<16} {}{}\n",
                    n,
                    s.title,
                    if *n == "article" { " (default)" } else { "" }
                )
            })
            .collect()),
        Command::Check { file } => check(file),
        Command::Generate {
            cluster,
            node,
            routes,
            restore_input,
        } => generate(cluster, node, *routes, *restore_input),
    };
    match out {
        Ok(mut s) => {
            if matches!(cli.command, Command::Check { .. }) {
                s.push('\n');
            }
            // A reader that stops early (`| head`) is no error: the rest
            // is not wanted (print! would panic on the closed pipe).
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(s.as_bytes()).and_then(|_| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("packetwalk: cannot write the output: {e}");
                    2
                }
                _ => 0,
            }
        }
        Err(e) => {
            eprintln!("{e}");
            if matches!(cli.command, Command::Check { .. }) {
                1
            } else {
                2
            }
        }
    }
}
