//! The cluster generator as one call: a [`Request`] in, a [`Response`] out.
//!
//! Reading Kubernetes objects ([`k8s`]), kube-proxy's sync
//! ([`crate::engine::kubeproxy`]) and the CNI's routes ([`cni`]) are a third
//! of the page's code, and the default scenario uses none of it. So the page
//! runs them in a second wasm module (`packetwalk-cluster`), loaded when a
//! scenario made from a cluster is first opened, and talks to it with these
//! types as JSON ([`call_json`]). Natively the session calls [`handle`]
//! directly, and the binary `packetwalk-cluster` answers one request read
//! from stdin.

use crate::engine::cni::{self, NodeDiff, RuleOrigin};
use crate::engine::error::ParseError;
use crate::engine::k8s::apply::{self, Applied};
use crate::engine::k8s::edit::{self, EndpointState};
use crate::engine::k8s::{self, Cluster};
use crate::engine::scenario::{Host, Scenario, Text};
use serde::{Deserialize, Serialize};

/// kube-proxy's sync on one node, as the page names it.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct NodeSync {
    pub node: String,
    /// Each KUBE-SVC-/KUBE-SEP-/… chain and the Service port (and
    /// endpoint) it stands for.
    pub names: Vec<(String, String)>,
    /// Each rule kube-proxy wrote, and the object it is for.
    pub origins: Vec<RuleOrigin>,
    /// The text kube-proxy handed to iptables-restore.
    pub restore: String,
}

/// One endpoint as the form shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointForm {
    pub ip: String,
    pub node: String,
    /// Its line in the YAML (what the form's edits name it by).
    pub line: usize,
    pub state: EndpointState,
}

/// One Service (with a cluster IP) as the form shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceForm {
    /// `namespace/name`.
    pub key: String,
    /// `spec.type` as written (`ClusterIP`, `NodePort`, `LoadBalancer`).
    pub kind: String,
    /// `externalTrafficPolicy: Local`, `internalTrafficPolicy: Local`,
    /// `sessionAffinity: ClientIP`.
    pub external: bool,
    pub internal: bool,
    pub sticky: bool,
    /// Reachable from outside the cluster (a NodePort, a LoadBalancer, or
    /// external IPs): only such a Service may have an
    /// `externalTrafficPolicy`.
    #[serde(default)]
    pub exposed: bool,
    pub endpoints: Vec<EndpointForm>,
    /// The Service's ports (`name/protocol`) that no EndpointSlice of it
    /// lists: kube-proxy finds no endpoint for them, however many there are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unserved: Vec<String>,
    /// What the objects say that the generator does not act on, in words:
    /// an IPv6 cluster IP, a selector with no EndpointSlice, an endpoint
    /// on a node that does not exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The objects as the cluster form shows them.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterForm {
    /// The network mode (`calico-ipip`, …).
    pub mode: String,
    /// kube-proxy 1.18's layout rather than the current one.
    pub legacy: bool,
    /// Flannel's hairpin mode on cni0's ports (`hairpinMode`).
    pub hairpin: bool,
    pub services: Vec<ServiceForm>,
    pub nodes: Vec<String>,
}

/// What the objects of one YAML text make: the form's view of them and
/// kube-proxy's sync on each node.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterView {
    pub form: ClusterForm,
    pub nodes: Vec<NodeSync>,
    /// Why the YAML does not read, located in it (the view is then empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ParseError>,
}

/// A built-in scenario made from a cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Built {
    pub yaml: String,
    pub scenario: Scenario,
    pub view: ClusterView,
}

/// The world after the objects changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resynced {
    pub scenario: Scenario,
    /// What changed on each node.
    pub diffs: Vec<NodeDiff>,
    pub view: ClusterView,
    /// Per node, how many rules the learner had written (lines of its
    /// rules beyond what the old objects made on built-in scenario
    /// `base`) that the sync took away with the chains it rewrote.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hand_rules_lost: Vec<(String, usize)>,
}

/// A change the cluster form makes to the YAML.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FormEdit {
    /// The `Network` document's `mode:`.
    Mode(String),
    /// kube-proxy's layout: `current` or `legacy`.
    Layout(String),
    /// Flannel's `hairpinMode`.
    Hairpin(bool),
    /// `spec.<field>` of Service `namespace/name` (`type` completes the
    /// Service as the API server would).
    Service {
        service: String,
        field: String,
        value: String,
    },
    /// The endpoint written at `line`: a new state, or `None` to remove it.
    Endpoint {
        line: usize,
        state: Option<EndpointState>,
    },
    /// One more endpoint of `service` on `node`.
    AddEndpoint { service: String, node: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Built-in cluster scenario `name`: its YAML, scenario and view.
    Builtin { name: String },
    /// Only the scenario of built-in cluster scenario `name`.
    Scenario { name: String },
    /// What `yaml`'s objects make (an empty view when they do not read).
    Read { yaml: String },
    /// The nodes of `current` synced to `yaml`'s objects
    /// ([`cni::resync`]); `old` is the YAML `current` was made from.
    Resync {
        old: Option<String>,
        yaml: String,
        current: Box<Scenario>,
        /// Hosts of `current` whose rules text travels beside the request
        /// ([`call_json_with`]), in the order of those texts.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        aside: Vec<usize>,
        /// The built-in cluster scenario `current` was made from, if any:
        /// the rules the sync takes from the learner are counted against
        /// what it makes ([`Resynced::hand_rules_lost`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base: Option<String>,
    },
    /// Built-in scenario `name` after its objects became `yaml` (what a
    /// saved session's host edits are counted from).
    Rebase { name: String, yaml: String },
    /// `yaml` changed by the form.
    Edit { yaml: String, edit: FormEdit },
    /// `yaml` with a file's objects applied ([`apply::apply`]).
    Apply { yaml: String, file: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Builtin(Option<Box<Built>>),
    Scenario(Option<Scenario>),
    Read(ClusterView),
    Resync(Result<Box<Resynced>, Vec<ParseError>>),
    Rebase(Option<Scenario>),
    /// The new YAML, or why the form could not make the change.
    Edit(Result<String, String>),
    Apply(Result<Applied, ParseError>),
    /// The generator could not be reached or misunderstood the request.
    Failed(String),
}

/// Answers one request.
pub fn handle(req: Request) -> Response {
    match req {
        Request::Builtin { name } => Response::Builtin(builtin(&name).map(Box::new)),
        Request::Scenario { name } => Response::Scenario(cni::builtin(&name)),
        Request::Read { yaml } => Response::Read(read(&yaml)),
        Request::Resync {
            old,
            yaml,
            current,
            base,
            ..
        } => {
            let objects = old.as_deref().and_then(|o| Cluster::from_yaml(o).ok());
            Response::Resync(
                resync(objects.as_ref(), &yaml, &current)
                    .map(|mut r| {
                        if let (Some(base), Some(old)) = (&base, old.filter(|o| *o != yaml)) {
                            r.hand_rules_lost = hand_rules_lost(base, &old, &current, &r.scenario);
                        }
                        Box::new(r)
                    })
                    .map_err(|e| e.0),
            )
        }
        Request::Rebase { name, yaml } => Response::Rebase(rebase(&name, &yaml)),
        Request::Edit { yaml, edit } => Response::Edit(form_edit(&yaml, edit)),
        Request::Apply { yaml, file } => Response::Apply(apply::apply(&yaml, &file)),
    }
}

/// [`handle`] on a request as JSON, the response as JSON: the cluster
/// module's export `call`.
pub fn call_json(req: &str) -> String {
    call_json_with(req, Vec::new())
}

/// [`call_json`] with the large rules texts of a [`Request::Resync`]'s
/// hosts given beside the request rather than in it (see
/// [`Request::set_aside`]): a 12 MB dump is not escaped into JSON on the
/// page's thread and read back in the worker. The module's export
/// `call_with`.
pub fn call_json_with(req: &str, texts: Vec<String>) -> String {
    let resp = match serde_json::from_str::<Request>(req) {
        Ok(mut r) => match r.put_back(texts) {
            Ok(()) => handle(r),
            Err(why) => Response::Failed(why),
        },
        Err(e) => Response::Failed(format!(
            "the cluster generator could not read the request: {e}"
        )),
    };
    serde_json::to_string(&resp).expect("a response always serialises")
}

impl Request {
    /// A [`Request::Resync`] of `current` with its rules texts of more
    /// than `limit` bytes beside it, as [`Request::set_aside`] leaves
    /// them, without copying them: they are lent out of `current` while
    /// it is copied, and `f` reads each (the page makes a JS string of a
    /// 12 MB dump, where a copy of it took 10 ms more).
    pub fn resync_apart<T>(
        old: Option<String>,
        yaml: String,
        current: &mut Scenario,
        base: Option<String>,
        limit: usize,
        f: impl Fn(&str) -> T,
    ) -> (Request, Vec<T>) {
        let mut lent = Vec::new();
        for (i, h) in current.hosts.iter_mut().enumerate() {
            if matches!(&h.iptables, Some(Text::One(t)) if t.len() > limit) {
                lent.push((i, h.iptables.take()));
            }
        }
        let copy = current.clone();
        let mut aside = Vec::new();
        let mut texts = Vec::new();
        for (i, t) in lent {
            if let Some(Text::One(text)) = &t {
                aside.push(i);
                texts.push(f(text));
            }
            current.hosts[i].iptables = t;
        }
        let req = Request::Resync {
            old,
            yaml,
            current: Box::new(copy),
            aside,
            base,
        };
        (req, texts)
    }

    /// Takes the rules texts of more than `limit` bytes out of a
    /// [`Request::Resync`]'s hosts, to be sent beside it; the request
    /// names their hosts.
    pub fn set_aside(&mut self, limit: usize) -> Vec<String> {
        let Request::Resync { current, aside, .. } = self else {
            return Vec::new();
        };
        let mut texts = Vec::new();
        for (i, h) in current.hosts.iter_mut().enumerate() {
            if matches!(&h.iptables, Some(Text::One(t)) if t.len() > limit) {
                if let Some(Text::One(t)) = h.iptables.take() {
                    aside.push(i);
                    texts.push(t);
                }
            }
        }
        texts
    }

    /// The texts [`Request::set_aside`] took, back in their hosts. Texts
    /// that do not match the hosts the request names are refused: a host
    /// left without its rules would be synced as if it had none.
    fn put_back(&mut self, texts: Vec<String>) -> Result<(), String> {
        let refused = |hosts: usize| {
            Err(format!(
                "the cluster generator got {} rules texts beside the request for {hosts} hosts",
                texts.len()
            ))
        };
        let Request::Resync { current, aside, .. } = self else {
            return if texts.is_empty() { Ok(()) } else { refused(0) };
        };
        let fits = aside.len() == texts.len()
            && (aside.iter()).all(|&i| current.hosts.get(i).is_some_and(|h| h.iptables.is_none()));
        if !fits {
            return refused(aside.len());
        }
        for (&i, t) in aside.iter().zip(texts) {
            current.hosts[i].iptables = Some(Text::One(t));
        }
        aside.clear();
        Ok(())
    }
}

fn builtin(name: &str) -> Option<Built> {
    let (objects, scenario) = cni::builtin_with_objects(name)?;
    Some(Built {
        yaml: cni::cluster_yaml(name)?.to_string(),
        scenario,
        view: view(&objects),
    })
}

/// The form's view and each node's sync, for `yaml` (an empty view when it
/// does not read).
fn read(yaml: &str) -> ClusterView {
    match Cluster::from_yaml(yaml) {
        Ok(c) => view(&c),
        Err(e) => ClusterView {
            errors: e.0,
            ..view(&Cluster::default())
        },
    }
}

fn view(c: &Cluster) -> ClusterView {
    let nodes = c
        .nodes
        .iter()
        .filter_map(|n| {
            let r = cni::node_sync(c, &n.name)?;
            Some(NodeSync {
                node: n.name.clone(),
                names: [cni::chain_names_in(&r), cni::cni_chain_names(c, &n.name)].concat(),
                origins: cni::rule_origins_in(c, &r),
                restore: r.text(),
            })
        })
        .collect();
    ClusterView {
        form: form(c),
        nodes,
        errors: Vec::new(),
    }
}

/// What the form says of Service `s` beyond its fields (see
/// [`ServiceForm::notes`]).
fn notes(c: &Cluster, s: &k8s::Service) -> Vec<String> {
    let mut out = Vec::new();
    if let k8s::ClusterIp::Ip(ip @ std::net::IpAddr::V6(_)) = s.cluster_ip {
        out.push(format!(
            "Its cluster IP {ip} is IPv6: Packet Walk follows IPv4 packets, so kube-proxy's ip6tables rules for it are not made, and no packet can be sent to it."
        ));
    }
    let slices: Vec<_> = (c.slices.iter())
        .filter(|sl| sl.service == s.name && sl.namespace == s.namespace)
        .collect();
    if s.has_selector && slices.is_empty() {
        out.push("It has a selector but no EndpointSlice: in a cluster the EndpointSlice controller makes its slices from the Pods it selects; here they are written out (\"+ endpoint\" below adds one).".to_string());
    }
    for e in slices.iter().flat_map(|sl| &sl.endpoints) {
        if let Some(n) = e
            .node_name
            .as_deref()
            .filter(|n| !c.nodes.iter().any(|x| x.name == *n))
        {
            let ip = e
                .addresses
                .first()
                .map(|a| a.to_string())
                .unwrap_or_default();
            out.push(format!(
                "Endpoint {ip} (line {}) is on node \"{n}\", which is no Node here: no node has a pod at that address, and a packet sent to it goes where the routes to its address lead.",
                e.line
            ));
        }
    }
    out
}

fn form(c: &Cluster) -> ClusterForm {
    let services = c
        .services
        .iter()
        .filter(|s| matches!(s.cluster_ip, k8s::ClusterIp::Ip(_)))
        .map(|s| ServiceForm {
            key: s.key(),
            kind: match s.kind {
                k8s::ServiceType::NodePort => "NodePort",
                k8s::ServiceType::LoadBalancer => "LoadBalancer",
                _ => "ClusterIP",
            }
            .into(),
            external: s.external_policy == k8s::Policy::Local,
            internal: s.internal_policy == k8s::Policy::Local,
            sticky: s.affinity_timeout.is_some(),
            exposed: s.externally_accessible(),
            endpoints: c
                .slices
                .iter()
                .filter(|sl| sl.service == s.name && sl.namespace == s.namespace)
                .flat_map(|sl| sl.endpoints.iter())
                .filter_map(|e| {
                    let state = match (e.conditions.ready, e.conditions.terminating) {
                        (Some(false), Some(true)) => EndpointState::Terminating,
                        (Some(false), _) => EndpointState::NotReady,
                        _ => EndpointState::Ready,
                    };
                    Some(EndpointForm {
                        ip: e.addresses.first()?.to_string(),
                        node: e.node_name.clone().unwrap_or_default(),
                        line: e.line,
                        state,
                    })
                })
                .collect(),
            unserved: {
                let slices: Vec<_> = (c.slices.iter())
                    .filter(|sl| sl.service == s.name && sl.namespace == s.namespace)
                    .collect();
                (s.ports.iter())
                    .filter(|p| {
                        !slices.is_empty()
                            && !slices.iter().flat_map(|sl| &sl.ports).any(|q| {
                                q.name.as_deref() == Some(p.name.as_str())
                                    && q.protocol == p.protocol
                                    && q.port.is_some()
                            })
                    })
                    .map(|p| {
                        let name = if p.name.is_empty() {
                            "(unnamed)"
                        } else {
                            p.name.as_str()
                        };
                        format!("{name}/{}", p.protocol.lower().to_ascii_uppercase())
                    })
                    .collect()
            },
            notes: notes(c, s),
        })
        .collect();
    let network = c.network.as_ref();
    ClusterForm {
        mode: network.map_or_else(|| k8s::MODES[0].into(), |n| n.mode.clone()),
        legacy: network.and_then(|n| n.kube_proxy.as_deref()) == Some("legacy"),
        hairpin: network.and_then(|n| n.hairpin_mode).unwrap_or(true),
        services,
        nodes: c.nodes.iter().map(|n| n.name.clone()).collect(),
    }
}

fn resync(
    old: Option<&Cluster>,
    yaml: &str,
    current: &Scenario,
) -> Result<Resynced, crate::engine::Errors> {
    let new = Cluster::from_yaml(yaml)?;
    let (scenario, diffs) = cni::resync(old, &new, current)?;
    Ok(Resynced {
        scenario,
        diffs,
        view: view(&new),
        hand_rules_lost: Vec::new(),
    })
}

/// The rules the learner wrote on each node of `current` (lines of its
/// rules that built-in scenario `base` with objects `yaml` does not make)
/// that `next`, a sync of other objects, no longer has, counted per node.
fn hand_rules_lost(
    base: &str,
    yaml: &str,
    current: &Scenario,
    next: &Scenario,
) -> Vec<(String, usize)> {
    let Some(made) = rebase(base, yaml) else {
        return Vec::new();
    };
    fn rules(h: &Host) -> std::borrow::Cow<'_, str> {
        h.iptables.as_ref().map(Text::as_text).unwrap_or_default()
    }
    let mut out = Vec::new();
    for h in &current.hosts {
        let (Some(generated), Some(now)) =
            (made.host(&h.name).map(rules), next.host(&h.name).map(rules))
        else {
            continue;
        };
        let generated: std::collections::HashSet<&str> = generated.lines().collect();
        let now: std::collections::HashSet<&str> = now.lines().collect();
        let lost = (rules(h).lines())
            .filter(|l| l.starts_with("-A ") && !generated.contains(l) && !now.contains(l))
            .count();
        if lost > 0 {
            out.push((h.name.clone(), lost));
        }
    }
    out
}

fn rebase(name: &str, yaml: &str) -> Option<Scenario> {
    let (old, base) = cni::builtin_with_objects(name)?;
    let new = Cluster::from_yaml(yaml).ok()?;
    cni::resync(Some(&old), &new, &base).ok().map(|r| r.0)
}

fn form_edit(yaml: &str, e: FormEdit) -> Result<String, String> {
    let objects = || Cluster::from_yaml(yaml).unwrap_or_default();
    match e {
        FormEdit::Mode(m) => Ok(edit::set_mode(yaml, &m)),
        FormEdit::Layout(l) => Ok(edit::set_kube_proxy(yaml, &l)),
        FormEdit::Hairpin(on) => Ok(edit::set_network_field(yaml, "hairpinMode", if on { "true" } else { "false" })),
        FormEdit::Service {
            service,
            field,
            value,
        } => {
            let c = objects();
            let typed = match field.as_str() {
                "type" => edit::set_service_type(yaml, &c, &service, &value),
                _ => edit::set_service_field(yaml, &c, &service, &field, &value),
            }
            .ok_or_else(|| {
                // A type with node ports, and none left to give.
                (field == "type" && value != "ClusterIP")
                    .then(|| edit::no_free_node_port(&c))
                    .flatten()
                    .unwrap_or_else(|| format!("The form cannot set {field} of {service} here: its spec or its ports are not written as blocks (each key on its own line, each port a \"- port: …\" item, nodePort not first). Set {field} in the YAML."))
            })?;
            // The health check port, when the Service now needs one.
            edit::complete_health_check_port(&typed, &service).ok_or_else(|| {
                edit::no_free_node_port(&Cluster::from_yaml(&typed).unwrap_or_default())
                    .unwrap_or_default()
            })
        }
        FormEdit::Endpoint { line, state } => match state {
            Some(s) => edit::set_endpoint_state(yaml, line, s),
            None => edit::remove_endpoint(yaml, line),
        }
        .ok_or_else(|| {
            format!("The endpoint at line {line} is written in flow style ({{…}}): change it in the YAML.")
        }),
        FormEdit::AddEndpoint { service, node } => edit::add_endpoint(yaml, &objects(), &service, &node)
            .ok_or_else(|| {
                format!("No endpoint could be added for {service} on {node}: its pod CIDR may be full.")
            }),
    }
}
