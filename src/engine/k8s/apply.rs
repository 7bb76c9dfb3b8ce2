//! A file of Kubernetes objects dropped on a cluster, as `kubectl apply`
//! takes it: an object with the kind, namespace and name of one already
//! there takes its place (keeping what the API server allocated and the
//! file leaves out: cluster IPs, node ports, the status), any other is
//! added, and every other object (and comment) stays as written. A file
//! that is another whole cluster (Nodes and Services, with a `Network`
//! document or with none of this cluster's Nodes) replaces the objects.
//!
//! Objects the learner wrote as YAML documents keep their text; objects
//! from a `kind: List` (`kubectl get -o yaml` of several), from JSON
//! (`kubectl get -o json`) or given kept fields are written out as YAML.

use super::yaml::{self, At};
use crate::engine::error::ParseError;
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, Yaml, YamlEmitter};
use serde::{Deserialize, Serialize};

/// What applying a file did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// The cluster's YAML after it.
    pub yaml: String,
    /// The file was a whole cluster and replaced the objects.
    pub whole: bool,
    /// `Service ms-test/flask-ui`, for each object replaced and added.
    pub replaced: Vec<String>,
    pub added: Vec<String>,
}

/// An object's identity: kind, namespace (empty for cluster-scoped kinds)
/// and name.
type Id = (String, String, String);

fn id_of(doc: At) -> Option<Id> {
    let kind = At::new(doc.get("kind").ok()??, "kind").text().ok()?;
    if kind == "Network" || kind == "List" {
        return Some((kind, String::new(), String::new()));
    }
    let meta = At::new(doc.get("metadata").ok()??, "metadata");
    let name = At::new(meta.get("name").ok()??, "name").text().ok()?;
    let namespace = match kind.as_str() {
        "Node" => String::new(),
        _ => match meta.get("namespace").ok().flatten() {
            Some(n) => At::new(n, "namespace").text().ok()?,
            None => "default".into(),
        },
    };
    Some((kind, namespace, name))
}

fn describe((kind, namespace, name): &Id) -> String {
    match (namespace.is_empty(), name.is_empty()) {
        (_, true) => kind.clone(),
        (true, false) => format!("{kind} {name}"),
        (false, false) => format!("{kind} {namespace}/{name}"),
    }
}

/// Whether `line` is a document marker `mark` (`---` or `...`), alone or
/// followed by a space.
fn is_marker(line: &str, mark: &str) -> bool {
    line.strip_prefix(mark)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// `text` with one document per `---` line: content after a `---` goes to
/// a line of its own, and a document end `...` becomes a `---` (so each
/// document is the lines between two of them).
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        if is_marker(line, "---") {
            let rest = line[3..].trim_start();
            out += "---\n";
            if !rest.is_empty() && !rest.starts_with('#') {
                out += rest;
                out.push('\n');
            }
        } else if is_marker(line, "...") {
            out += "---\n";
        } else {
            out += line;
            out.push('\n');
        }
    }
    out
}

/// The documents of `lines` as line ranges (0-based, end exclusive),
/// split at the `---` lines (which no range holds).
fn chunks(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, l) in lines.iter().enumerate() {
        if is_marker(l, "---") {
            out.push((start, i));
            start = i + 1;
        }
    }
    out.push((start, lines.len()));
    out
}

/// The chunk holding 1-based line `line`.
fn chunk_of(chunks: &[(usize, usize)], line: usize) -> Option<usize> {
    chunks.iter().position(|&(a, b)| line > a && line <= b)
}

fn text_of(lines: &[&str], (a, b): (usize, usize)) -> String {
    let mut t = lines[a..b].join("\n");
    t.push('\n');
    t
}

/// `node` as a YAML document's text (no `---`).
fn emit(node: &Yaml) -> String {
    let mut out = String::new();
    let mut e = YamlEmitter::new(&mut out);
    e.compact(true);
    e.multiline(true);
    if e.dump(node).is_err() {
        return String::new();
    }
    let body = out.strip_prefix("---\n").unwrap_or(&out).trim_end();
    format!("{body}\n")
}

fn key(k: &str) -> Yaml<'_> {
    Yaml::Value(Scalar::String(k.into()))
}

/// A Service port's identity for carrying its node port: number and
/// protocol.
fn port_id(p: &Yaml) -> (i64, String) {
    let number = p
        .as_mapping_get("port")
        .and_then(Yaml::as_integer)
        .unwrap_or(0);
    let proto = p
        .as_mapping_get("protocol")
        .and_then(Yaml::as_str)
        .unwrap_or("TCP");
    (number, proto.to_string())
}

/// Service `new` given what the API server keeps from `old` when an
/// update leaves it out: the cluster IPs, the node ports (by port number
/// and protocol, while the type still has node ports), the health check
/// node port, and the status. Whether anything was carried over.
fn carry_over<'a>(new: &mut Yaml<'a>, old: &Yaml<'a>) -> bool {
    let mut changed = false;
    if let (Some(m), Some(st)) = (new.as_mapping_mut(), old.as_mapping_get("status")) {
        if !m.contains_key(&key("status")) {
            m.insert(key("status"), st.clone());
            changed = true;
        }
    }
    let Some(old_spec) = old.as_mapping_get("spec") else {
        return changed;
    };
    let Some(spec) = new
        .as_mapping_get_mut("spec")
        .and_then(Yaml::as_mapping_mut)
    else {
        return changed;
    };
    let kind = spec
        .get(&key("type"))
        .and_then(Yaml::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let mut keep = vec!["clusterIP", "clusterIPs"];
    if kind == "LoadBalancer" {
        keep.push("healthCheckNodePort");
    }
    for f in keep {
        if let (false, Some(v)) = (spec.contains_key(&key(f)), old_spec.as_mapping_get(f)) {
            spec.insert(key(f), v.clone());
            changed = true;
        }
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        let old_ports = old_spec.as_mapping_get("ports").and_then(Yaml::as_sequence);
        let ports = spec.get_mut(&key("ports")).and_then(Yaml::as_sequence_mut);
        for p in ports.into_iter().flatten() {
            let was = old_ports
                .into_iter()
                .flatten()
                .find(|o| port_id(o) == port_id(p))
                .and_then(|o| o.as_mapping_get("nodePort"));
            if let (Some(np), Some(m)) = (was, p.as_mapping_mut()) {
                if !m.contains_key(&key("nodePort")) {
                    m.insert(key("nodePort"), np.clone());
                    changed = true;
                }
            }
        }
    }
    changed
}

/// One object of a file: its identity, its text as a YAML document, and
/// the object itself.
struct Object<'a> {
    id: Id,
    text: String,
    node: Yaml<'a>,
}

/// The objects of `file` (normalized), in order; Lists unpacked. An error
/// names the line of the file.
fn objects(file: &str) -> Result<Vec<Object<'_>>, ParseError> {
    let docs = yaml::documents(file)?;
    let plain = Yaml::load_from_str(file).unwrap_or_default();
    let lines: Vec<&str> = file.lines().collect();
    let parts = chunks(&lines);
    let mut out = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let doc = At::new(d, "");
        if doc.is_null() {
            continue;
        }
        let Some(id) = id_of(doc) else {
            return Err(doc.error(
                "an object needs kind and metadata.name (the file is read as Kubernetes objects)",
            ));
        };
        let bare = plain.get(i).cloned().unwrap_or(Yaml::Value(Scalar::Null));
        if id.0 == "List" {
            let items = match doc.get("items") {
                Ok(Some(items)) => At::new(items, "items").items()?,
                _ => Vec::new(),
            };
            let bare_items = bare.as_mapping_get("items").and_then(Yaml::as_sequence);
            for (j, it) in items.into_iter().enumerate() {
                let at = At::new(it, "items");
                let id =
                    id_of(at).ok_or_else(|| at.error("an item needs kind and metadata.name"))?;
                let node = (bare_items.and_then(|b| b.get(j)).cloned())
                    .unwrap_or(Yaml::Value(Scalar::Null));
                out.push(Object {
                    id,
                    text: emit(&node),
                    node,
                });
            }
            continue;
        }
        let line = d.span.start.line();
        let flow = lines
            .get(line.saturating_sub(1))
            .is_some_and(|l| l.trim_start().starts_with(['{', '[']));
        let text = match chunk_of(&parts, line) {
            Some(c) if !flow => text_of(&lines, parts[c]),
            _ => emit(&bare),
        };
        out.push(Object {
            id,
            text,
            node: bare,
        });
    }
    Ok(out)
}

/// `yaml` (the cluster's objects) with `file`'s objects applied.
pub fn apply(yaml: &str, file: &str) -> Result<Applied, ParseError> {
    let (yaml, file) = (normalize(yaml), normalize(file));
    let incoming = objects(&file)?;
    if incoming.is_empty() {
        return Err(ParseError::new(
            1,
            1,
            "the file holds no Kubernetes objects",
        ));
    }
    let current = yaml::documents(&yaml);
    let has = |k: &str| incoming.iter().any(|o| o.id.0 == k);
    let ours = |o: &Object| match &current {
        Ok(docs) => docs
            .iter()
            .any(|d| id_of(At::new(d, "")).as_ref() == Some(&o.id)),
        Err(_) => false,
    };
    let nodes_here = incoming.iter().filter(|o| o.id.0 == "Node").any(ours);
    if has("Node") && has("Service") && (has("Network") || !nodes_here) {
        return Ok(Applied {
            yaml: file.clone(),
            whole: true,
            replaced: Vec::new(),
            added: Vec::new(),
        });
    }
    let current = current.map_err(|e| {
        ParseError::new(
            e.line,
            e.column,
            format!(
                "the cluster's own YAML does not read, so nothing can be added to it: {}",
                e.message
            ),
        )
    })?;
    let lines: Vec<&str> = yaml.lines().collect();
    let parts = chunks(&lines);
    let plain = Yaml::load_from_str(&yaml).unwrap_or_default();
    // Which document each chunk holds.
    let mut doc_at: Vec<Option<usize>> = vec![None; parts.len()];
    for (i, d) in current.iter().enumerate() {
        if At::new(d, "").is_null() {
            continue;
        }
        if let Some(c) = chunk_of(&parts, d.span.start.line()) {
            doc_at[c] = Some(i);
        }
    }
    let mut used = vec![false; incoming.len()];
    let mut replaced = Vec::new();
    let mut docs: Vec<String> = Vec::new();
    // The file's object in place of `old`, when the file has one.
    let mut take = |id: &Id, old: Option<&Yaml>, docs: &mut Vec<String>| -> bool {
        // The last object of the file with this identity wins, as with
        // kubectl apply of a file that names one twice.
        let Some(at) = incoming.iter().rposition(|o| &o.id == id) else {
            return false;
        };
        for (k, o) in incoming.iter().enumerate() {
            used[k] |= &o.id == id;
        }
        replaced.push(describe(id));
        let new = &incoming[at];
        let mut node = new.node.clone();
        match old {
            Some(old) if id.0 == "Service" && carry_over(&mut node, old) => docs.push(emit(&node)),
            _ => docs.push(new.text.clone()),
        }
        true
    };
    for (c, part) in parts.iter().enumerate() {
        let own = text_of(&lines, *part);
        let Some(i) = doc_at[c] else {
            // Comments alone, or nothing.
            if own.trim().is_empty() {
                continue;
            }
            docs.push(own);
            continue;
        };
        let doc = At::new(&current[i], "");
        match id_of(doc) {
            Some(id) if id.0 == "List" => {
                let marked: Vec<&MarkedYaml> = doc
                    .get("items")
                    .ok()
                    .flatten()
                    .and_then(|n| At::new(n, "items").items().ok())
                    .unwrap_or_default();
                let ids: Vec<Option<Id>> = marked.iter().map(|m| id_of(At::new(m, ""))).collect();
                if !ids
                    .iter()
                    .flatten()
                    .any(|id| incoming.iter().any(|o| &o.id == id))
                {
                    docs.push(own);
                    continue;
                }
                // A List holding an object the file replaces is written
                // out as one document per item.
                let items = plain
                    .get(i)
                    .and_then(|p| p.as_mapping_get("items"))
                    .and_then(Yaml::as_sequence)
                    .cloned()
                    .unwrap_or_default();
                for (j, item) in items.iter().enumerate() {
                    let id = ids.get(j).cloned().flatten();
                    if !id.is_some_and(|id| take(&id, Some(item), &mut docs)) {
                        docs.push(emit(item));
                    }
                }
            }
            Some(id) => {
                if !take(&id, plain.get(i), &mut docs) {
                    docs.push(own);
                }
            }
            None => docs.push(own),
        }
    }
    let mut added = Vec::new();
    for (k, o) in incoming.iter().enumerate() {
        if !used[k] {
            // The same identity twice among the new ones: the last wins.
            if incoming[k + 1..].iter().any(|later| later.id == o.id) {
                continue;
            }
            added.push(describe(&o.id));
            docs.push(o.text.clone());
        }
    }
    let mut out = String::new();
    for (n, d) in docs.iter().enumerate() {
        if n > 0 {
            out += "---\n";
        }
        out += d;
    }
    Ok(Applied {
        yaml: out,
        whole: false,
        replaced,
        added,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cni;
    use crate::engine::k8s::{Cluster, ServiceType};

    const SERVICE: &str = "# flask-ui as a ClusterIP only\napiVersion: v1\nkind: Service\nmetadata:\n  name: flask-ui\n  namespace: ms-test\nspec:\n  clusterIP: 10.96.100.10\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 80\n";

    /// A new Service with its one endpoint on node54.
    const NEW: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: echo\nspec:\n  clusterIP: 10.96.7.7\n  ports:\n  - port: 8080\n    protocol: UDP\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: echo-1\n  labels:\n    kubernetes.io/service-name: echo\naddressType: IPv4\nports:\n- port: 8080\n  protocol: UDP\nendpoints:\n- addresses: [172.16.3.99]\n  nodeName: node54\n";

    /// The same Service as `SERVICE`, as `kubectl get -o json` prints a List.
    const JSON: &str = r#"{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "flask-ui", "namespace": "ms-test", "resourceVersion": "4711"},
            "spec": {
                "clusterIP": "10.96.100.10",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}],
                "type": "ClusterIP"
            },
            "status": {"loadBalancer": {}}
        }
    ],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
}"#;

    fn flask_ui(c: &Cluster) -> ServiceType {
        let s = c.services.iter().find(|s| s.key() == "ms-test/flask-ui");
        s.unwrap().kind
    }

    /// Each kind of file on calico-ipip's objects: what it replaced and
    /// added, and what the cluster then holds.
    #[test]
    fn a_file_is_applied_like_kubectl_apply() {
        let yaml = cni::cluster_yaml("calico-ipip").unwrap();
        let before = Cluster::from_yaml(yaml).unwrap();
        assert_eq!(flask_ui(&before), ServiceType::NodePort);
        // What, the file, replaced, added, Services added, flask-ui's type.
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a [&'a str],
            &'a [&'a str],
            usize,
            ServiceType,
        );
        let cases: [Case; 4] = [
            (
                "one Service",
                SERVICE,
                &["Service ms-test/flask-ui"],
                &[],
                0,
                ServiceType::ClusterIp,
            ),
            (
                "new objects",
                NEW,
                &[],
                &["Service default/echo", "EndpointSlice default/echo-1"],
                1,
                ServiceType::NodePort,
            ),
            (
                "kubectl JSON",
                JSON,
                &["Service ms-test/flask-ui"],
                &[],
                0,
                ServiceType::ClusterIp,
            ),
            (
                "kubectl YAML List",
                &emit_list(SERVICE),
                &["Service ms-test/flask-ui"],
                &[],
                0,
                ServiceType::ClusterIp,
            ),
        ];
        for (what, file, replaced, added, more, kind) in cases {
            let a = apply(yaml, file).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(!a.whole, "{what}");
            assert_eq!(a.replaced, replaced, "{what}");
            assert_eq!(a.added, added, "{what}");
            let c =
                Cluster::from_yaml(&a.yaml).unwrap_or_else(|e| panic!("{what}: {e}\n{}", a.yaml));
            assert_eq!(c.nodes.len(), before.nodes.len(), "{what}: the nodes stay");
            assert_eq!(c.services.len(), before.services.len() + more, "{what}");
            assert_eq!(flask_ui(&c), kind, "{what}");
            // Every document the file did not name keeps its text.
            let slice = &yaml[yaml.find("apiVersion: discovery.k8s.io/v1").unwrap()..];
            assert!(
                a.yaml.contains(slice.split("\n---").next().unwrap()),
                "{what}"
            );
            assert!(cni::build(&c, "t", "t").is_ok(), "{what}: the nodes sync");
        }
        // The learner's comment comes with the Service; JSON becomes YAML.
        assert!(apply(yaml, SERVICE)
            .unwrap()
            .yaml
            .contains("# flask-ui as a ClusterIP only\n"));
        let from_json = apply(yaml, JSON).unwrap().yaml;
        assert!(
            from_json.contains("kind: Service\nmetadata:\n  name: flask-ui\n"),
            "{from_json}"
        );
    }

    fn emit_list(doc: &str) -> String {
        let body: String = doc
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("  {l}\n"))
            .collect();
        format!("apiVersion: v1\nkind: List\nitems:\n-{}", &body[1..])
    }

    #[test]
    fn a_whole_cluster_replaces_and_a_list_on_the_cluster_side_is_split() {
        let yaml = cni::cluster_yaml("calico-ipip").unwrap();
        let other = cni::cluster_yaml("flannel-vxlan").unwrap();
        let a = apply(yaml, other).unwrap();
        assert!(a.whole && a.yaml == other);

        // The cluster's objects as one List (what importing `kubectl get
        // nodes,svc -o yaml` leaves), then one Service applied to it.
        let c = Cluster::from_yaml(yaml).unwrap();
        let listed = apply(yaml, &emit_list(SERVICE)).unwrap();
        assert_eq!(
            flask_ui(&Cluster::from_yaml(&listed.yaml).unwrap()),
            ServiceType::ClusterIp
        );
        let mut as_list = String::from("apiVersion: v1\nkind: List\nitems:\n");
        for doc in yaml
            .split("\n---\n")
            .filter(|d| d.contains("kind: Service") || d.contains("kind: Node\n"))
        {
            let body: String = doc
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| format!("  {l}\n"))
                .collect();
            as_list += &format!("-{}", &body[1..]);
        }
        let a = apply(&as_list, SERVICE).unwrap();
        assert_eq!(a.replaced, ["Service ms-test/flask-ui"]);
        let after = Cluster::from_yaml(&a.yaml).unwrap_or_else(|e| panic!("{e}\n{}", a.yaml));
        assert_eq!(after.nodes.len(), c.nodes.len());
        assert_eq!(flask_ui(&after), ServiceType::ClusterIp);
    }

    /// What the API server keeps on an update, and documents written in
    /// YAML's other ways (`--- {…}`, `...`).
    #[test]
    fn an_update_keeps_what_was_allocated_and_every_document_counts_once() {
        let yaml = cni::cluster_yaml("calico-ipip").unwrap();
        // A manifest as written by hand: no cluster IP, no node port.
        let manifest = "apiVersion: v1\nkind: Service\nmetadata: {name: flask-ui, namespace: ms-test}\nspec:\n  type: NodePort\n  ports: [{name: http, port: 80, targetPort: 80}]\n";
        let a = apply(yaml, manifest).unwrap();
        let c = Cluster::from_yaml(&a.yaml).unwrap_or_else(|e| panic!("{e}\n{}", a.yaml));
        let s = c
            .services
            .iter()
            .find(|s| s.key() == "ms-test/flask-ui")
            .unwrap();
        assert_eq!(
            s.cluster_ip,
            crate::engine::k8s::ClusterIp::Ip("10.96.100.10".parse().unwrap())
        );
        assert_eq!(s.ports[0].node_port, 30080);
        // As a ClusterIP the node port is not carried over.
        let a = apply(yaml, &manifest.replace("NodePort", "ClusterIP")).unwrap();
        let c = Cluster::from_yaml(&a.yaml).unwrap_or_else(|e| panic!("{e}\n{}", a.yaml));
        assert_eq!(flask_ui(&c), ServiceType::ClusterIp);

        // `--- {…}` on the cluster's side, `...` on the file's.
        let flow = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.0.5, ports: [{port: 80}]}\n--- {kind: Service, metadata: {name: b},\n  spec: {clusterIP: 10.96.0.6, ports: [{port: 80}]}}\n";
        let two = "kind: Service\nmetadata: {name: c}\nspec: {clusterIP: 10.96.0.7, ports: [{port: 80}]}\n...\nkind: Service\nmetadata: {name: b}\nspec: {clusterIP: 10.96.0.8, ports: [{port: 80}]}\n";
        let a = apply(flow, two).unwrap();
        assert_eq!(
            (a.replaced.clone(), a.added.clone()),
            (
                vec!["Service default/b".to_string()],
                vec!["Service default/c".to_string()]
            )
        );
        let c = Cluster::from_yaml(&a.yaml).unwrap_or_else(|e| panic!("{e}\n{}", a.yaml));
        let names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"], "{}", a.yaml);
        let a = apply(two, flow).unwrap();
        let c = Cluster::from_yaml(&a.yaml).unwrap_or_else(|e| panic!("{e}\n{}", a.yaml));
        assert_eq!(c.services.len(), 3, "{}", a.yaml);

        // A Network document alone, or a Node of this cluster with a
        // Service, is merged: nothing else goes.
        let before = Cluster::from_yaml(yaml).unwrap();
        for file in [
            "apiVersion: packetwalk.dev/v1\nkind: Network\nmode: calico-vxlan\n".to_string(),
            format!(
                "{}\n---\n{manifest}",
                &yaml[yaml.find("apiVersion: v1\nkind: Node").unwrap()..]
                    .split("\n---")
                    .next()
                    .unwrap()
                    .to_string()
            ),
        ] {
            let a = apply(yaml, &file).unwrap();
            assert!(!a.whole, "{file}");
            let c = Cluster::from_yaml(&a.yaml).unwrap_or_else(|e| panic!("{e}\n{}", a.yaml));
            assert_eq!(
                (c.nodes.len(), c.services.len()),
                (before.nodes.len(), before.services.len()),
                "{file}"
            );
        }
    }

    #[test]
    fn a_file_that_is_not_objects_is_refused_at_its_line() {
        let yaml = cni::cluster_yaml("calico-ipip").unwrap();
        for (file, line, says) in [
            (
                "kind: Service\nspec: {}\n",
                1,
                "needs kind and metadata.name",
            ),
            (
                "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nfoo: [1,\n",
                6,
                "YAML",
            ),
            ("# only a comment\n", 1, "no Kubernetes objects"),
        ] {
            let e = apply(yaml, file).unwrap_err();
            assert_eq!(e.line, line, "{file}: {e}");
            assert!(e.message.contains(says), "{file}: {e}");
        }
    }
}
