//! Speed of the engine on a realistic kube-proxy dump: 10,000 services × 3
//! endpoints (about 151k lines, 111k rules, 12 MB), as on a large node.
//!
//! - `parse`: `iptables-save` text to a validated, indexed ruleset; and
//!   the nat table's `COMMIT` alone (the longest chunk of the page's import).
//! - `trace/first-packet`: one new connection from a LAN client to a
//!   ClusterIP in the middle of KUBE-SERVICES, through PREROUTING, routing,
//!   FORWARD and POSTROUTING, building the whole trace.
//! - `trace/first-packet-linear`: the same walk with the chain indexes
//!   removed, as the kernel walks KUBE-SERVICES rule by rule.
//! - `trace/nodeport`: a NodePort packet (KUBE-NODEPORTS after the
//!   addrtype rule at the end of KUBE-SERVICES).
//!
//! - `kubeproxy`: a cluster of 1,000 Services × 3 endpoints on 3 nodes as
//!   Kubernetes YAML: reading it, one kube-proxy sync (the restore text),
//!   and the node's tables after it in `iptables-save` form.
//!
//! `cargo bench --bench engine`; the README quotes the medians.

mod kube_dump;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use packetwalk::engine::iptables::{command::apply_command, save};
use packetwalk::engine::packet::Proto;
use packetwalk::engine::scenario::Scenario;
use packetwalk::engine::{send, SendSpec, SimState, World};
use std::hint::black_box;

const SERVICES: usize = 10_000;
const ENDPOINTS: usize = 3;
const SEED: u64 = 1;

fn scenario(dump: &str) -> Scenario {
    serde_json::from_value(serde_json::json!({
        "name": "bench", "title": "10k services", "seed": 1,
        "hosts": [
            {"name": "node", "kind": "node",
             "devices": [
                {"name": "lo", "type": "loopback", "addrs": ["127.0.0.1/8"]},
                {"name": "eth0", "type": "ethernet", "lan": "lan", "addrs": ["192.168.0.10/24"]}],
             "routes": ["default via 192.168.0.1 dev eth0 proto static metric 100",
                        "10.0.0.0/14 via 192.168.0.1 dev eth0",
                        "192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.10"],
             "iptables": dump},
            {"name": "client", "kind": "client",
             "devices": [{"name": "eth0", "type": "ethernet", "lan": "lan", "addrs": ["192.168.0.200/24"]}],
             "routes": ["192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.200",
                        "10.96.0.0/12 via 192.168.0.10 dev eth0"]}
        ]
    }))
    .expect("valid scenario")
}

fn bench(c: &mut Criterion) {
    let dump = kube_dump::generate(SERVICES, ENDPOINTS, SEED);
    let lines = dump.lines().count();
    let parsed = save::parse(&dump).expect("the generated dump parses");
    eprintln!(
        "dump: {lines} lines, {} rules, {} bytes",
        parsed.rule_count(),
        dump.len()
    );

    let mut g = c.benchmark_group("parse");
    g.sample_size(20);
    g.bench_function("iptables-save 10k services", |b| {
        b.iter(|| save::parse(black_box(&dump)).unwrap())
    });
    // The nat table's COMMIT, which validates the whole table: the longest
    // single step of the page's chunked import (`ui::import`).
    let nat = dump.find("*nat\n").expect("a nat table");
    let commit = nat + dump[nat..].find("\nCOMMIT\n").expect("its COMMIT") + 1;
    g.bench_function("nat COMMIT of 10k services", |b| {
        b.iter_batched(
            || {
                let mut p = save::Parser::new(true);
                let mut at = 0;
                while at < commit {
                    at = p.feed(&dump[..commit], at, 8000);
                }
                p
            },
            |mut p| p.feed(black_box(&dump), commit, 1),
            BatchSize::LargeInput,
        )
    });
    // One `iptables` command typed under the dump's listing, as the page
    // applies it: a copy of the rules in use, the command, the text
    // printed with its line numbers (before: printed, then parsed again).
    let command = "-I FORWARD 1 -d 10.1.2.3/32 -j DROP";
    g.bench_function("command on 10k services", |b| {
        b.iter(|| {
            let mut rs = parsed.clone();
            apply_command(&mut rs, black_box(command)).unwrap();
            save::emit_numbered(&mut rs)
        })
    });
    g.bench_function("command on 10k services, parsed again", |b| {
        b.iter(|| {
            let mut rs = parsed.clone();
            apply_command(&mut rs, black_box(command)).unwrap();
            save::parse(&save::emit(&rs)).unwrap()
        })
    });
    g.finish();

    let world = World::build(&scenario(&dump)).expect("bench world builds");
    let mut linear = world.clone();
    for t in &mut std::rc::Rc::make_mut(linear.hosts[0].rules.as_mut().unwrap()).tables {
        for ch in &mut t.chains {
            ch.index = None;
        }
    }
    let (ip, port) = kube_dump::probe_service(SERVICES, ENDPOINTS, SEED);
    let to = format!("{ip}:{port}");
    let nodeport =
        kube_dump::probe_nodeport(SERVICES, ENDPOINTS, SEED).map(|p| format!("192.168.0.10:{p}"));
    let mut g = c.benchmark_group("trace");
    for (name, w, to) in [
        ("first-packet", &world, Some(to.clone())),
        ("first-packet-linear", &linear, Some(to)),
        ("nodeport", &world, nodeport),
    ] {
        let Some(to) = to else { continue };
        let spec = SendSpec::new("client", &to, Proto::Tcp);
        let mut w = w.clone();
        let fresh = SimState::new(&w);
        let steps = send(&mut w, &mut fresh.clone(), &spec).unwrap().steps.len();
        eprintln!("{name}: {steps} steps to {to}");
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || fresh.clone(),
                |state| send(&mut w, state, black_box(&spec)).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// 1,000 Services (ClusterIP, one port) with 3 ready endpoints each, on
/// three nodes, as the YAML `kubectl get -o yaml` would print.
fn cluster_yaml(services: usize) -> String {
    let mut s = String::from("kind: Network\nmode: calico-ipip\nclusterCIDR: 10.0.0.0/14\n");
    for (i, n) in ["n1", "n2", "n3"].iter().enumerate() {
        s += &format!("---\nkind: Node\nmetadata: {{name: {n}}}\nspec: {{podCIDR: 10.{i}.0.0/16}}\nstatus:\n  addresses: [{{type: InternalIP, address: 192.168.0.{}}}]\n", 10 + i);
    }
    for k in 0..services {
        s += &format!(
            "---\nkind: Service\nmetadata: {{name: svc{k}, namespace: ns{}}}\nspec:\n  clusterIP: 10.96.{}.{}\n  ports: [{{name: http, port: 80, protocol: TCP}}]\n",
            k % 50,
            k / 250,
            k % 250 + 1
        );
        s += &format!("---\nkind: EndpointSlice\nmetadata:\n  name: svc{k}-1\n  namespace: ns{}\n  labels: {{kubernetes.io/service-name: svc{k}}}\naddressType: IPv4\nports: [{{name: http, port: 8080, protocol: TCP}}]\nendpoints:\n", k % 50);
        for e in 0..3 {
            s += &format!(
                "- addresses: [10.{e}.{}.{}]\n  nodeName: n{}\n",
                k / 250,
                k % 250 + 1,
                e + 1
            );
        }
    }
    s
}

fn bench_kubeproxy(c: &mut Criterion) {
    use packetwalk::engine::cni;
    use packetwalk::engine::k8s::Cluster;
    use packetwalk::engine::kubeproxy::{self, save::Kernel};
    let yaml = cluster_yaml(1000);
    let cluster = Cluster::from_yaml(&yaml).unwrap();
    let config = cni::node_config(&cluster, "n1").unwrap();
    let restore = kubeproxy::generate(&cluster, &config);
    eprintln!(
        "kubeproxy: {} bytes of YAML, {} nat rules",
        yaml.len(),
        restore.nat_rules.len()
    );
    let mut g = c.benchmark_group("kubeproxy");
    g.sample_size(20);
    g.bench_function("read-yaml-1000", |b| {
        b.iter(|| Cluster::from_yaml(black_box(&yaml)).unwrap())
    });
    g.bench_function("sync-1000", |b| {
        b.iter(|| kubeproxy::generate(black_box(&cluster), &config))
    });
    // What a paste of 400 Services into calico-ipip's YAML asks of the
    // generator (the page's worker, or the page under 32 KB of YAML):
    // every node synced, the form's view, the change's diff.
    use packetwalk::engine::generator::{handle, Request, Response};
    let Response::Builtin(Some(ipip)) = handle(Request::Builtin {
        name: "calico-ipip".into(),
    }) else {
        panic!("calico-ipip is built in")
    };
    let pasted = ipip.yaml.clone()
        + &(0..400)
            .map(|i| {
                format!(
                    "---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: d}}\nspec:\n  clusterIP: 10.97.{}.{}\n  ports: [{{port: 80}}]\n",
                    i / 250,
                    i % 250 + 1
                )
            })
            .collect::<String>();
    g.bench_function(
        "cluster resync, 400 Services pasted into calico-ipip",
        |b| {
            b.iter(|| {
                let r = handle(Request::Resync {
                    old: Some(ipip.yaml.clone()),
                    yaml: pasted.clone(),
                    current: Box::new(ipip.scenario.clone()),
                    aside: Vec::new(),
                    base: None,
                });
                assert!(matches!(r, Response::Resync(Ok(_))));
                r
            })
        },
    );
    g.bench_function("iptables-save-form-1000", |b| {
        b.iter(|| {
            let mut k = Kernel::default();
            k.apply(black_box(&restore)).unwrap();
            k.save()
        })
    });
    g.finish();
}

/// Route lookups: the rules every namespace has, and an EKS node's 1,000
/// (a `to POD lookup main` and a `from POD lookup N` rule for each of 500
/// pods), the packet from the last pod.
fn bench_route(c: &mut Criterion) {
    use packetwalk::engine::policy::Flow;
    use packetwalk::engine::route_text::parse_routes;
    let mut text = String::from("default via 10.0.96.1 dev eth0\n10.0.96.0/19 dev eth0 proto kernel scope link src 10.0.97.10\n");
    for t in 2..=4 {
        text += &format!("default via 10.0.96.1 dev eth{} table {t}\n", t - 1);
    }
    let plain = parse_routes(&text).unwrap();
    for p in 0..500u32 {
        let pod = std::net::Ipv4Addr::from(0x0a00_6400 + p);
        text += &format!(
            "512:\tfrom all to {pod} lookup main\n1536:\tfrom {pod} lookup {}\n",
            2 + p % 3
        );
    }
    let eks = parse_routes(&text).unwrap();
    let last = std::net::Ipv4Addr::from(0x0a00_6400 + 499);
    let flow = Flow {
        src: last,
        iif: "eni1",
        proto: 6,
        ports: Some((40000, 443)),
        ..Flow::to("8.8.8.8".parse().unwrap())
    };
    let mut g = c.benchmark_group("route");
    g.bench_function("lookup, 3 rules", |b| {
        b.iter(|| plain.lookup_flow(black_box(&flow)))
    });
    g.bench_function("lookup, 1,000 rules", |b| {
        b.iter(|| eks.lookup_flow(black_box(&flow)))
    });
    g.finish();
}

criterion_group!(benches, bench, bench_kubeproxy, bench_route);
criterion_main!(benches);
