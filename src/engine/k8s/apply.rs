//! A file of Kubernetes objects dropped on a cluster, as `kubectl apply`
//! takes it: an object with the kind, namespace and name of one already
//! there takes its place, any other is added, and every other object (and
//! comment) stays as written. A file that is a whole cluster (Nodes and
//! Services, or a `Network` document) replaces the objects instead.
//!
//! Objects the learner wrote as YAML documents keep their text; objects
//! from a `kind: List` (`kubectl get -o yaml` of several) or from JSON
//! (`kubectl get -o json`) are written out as YAML documents.

use super::yaml::{self, At};
use crate::engine::error::ParseError;
use saphyr::{LoadableYamlNode, MarkedYaml, Yaml, YamlEmitter};
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

/// The documents of `lines` as line ranges (0-based, end exclusive),
/// split at the `---` lines (which no range holds).
fn chunks(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("---") {
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

/// One object of a file: its identity and its text as a YAML document.
struct Object {
    id: Id,
    text: String,
}

/// The objects of `file`, in order; Lists unpacked. An error names the
/// line of the file.
fn objects(file: &str) -> Result<Vec<Object>, ParseError> {
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
        let bare = plain.get(i);
        if id.0 == "List" {
            let items = match doc.get("items") {
                Ok(Some(items)) => At::new(items, "items").items()?,
                _ => Vec::new(),
            };
            let bare_items = match bare.map(|b| &b["items"]) {
                Some(Yaml::Sequence(s)) => s.as_slice(),
                _ => &[],
            };
            for (j, it) in items.into_iter().enumerate() {
                let at = At::new(it, "items");
                let id =
                    id_of(at).ok_or_else(|| at.error("an item needs kind and metadata.name"))?;
                let text = bare_items.get(j).map(emit).unwrap_or_default();
                out.push(Object { id, text });
            }
            continue;
        }
        let line = d.span.start.line();
        let flow = lines
            .get(line.saturating_sub(1))
            .is_some_and(|l| l.trim_start().starts_with('{'));
        let text = match chunk_of(&parts, line) {
            Some(c) if !flow => text_of(&lines, parts[c]),
            _ => bare.map(emit).unwrap_or_default(),
        };
        out.push(Object { id, text });
    }
    Ok(out)
}

/// `yaml` (the cluster's objects) with `file`'s objects applied.
pub fn apply(yaml: &str, file: &str) -> Result<Applied, ParseError> {
    let incoming = objects(file)?;
    if incoming.is_empty() {
        return Err(ParseError::new(
            1,
            1,
            "the file holds no Kubernetes objects",
        ));
    }
    let has = |k: &str| incoming.iter().any(|o| o.id.0 == k);
    if has("Network") || (has("Node") && has("Service")) {
        return Ok(Applied {
            yaml: file.to_string(),
            whole: true,
            replaced: Vec::new(),
            added: Vec::new(),
        });
    }
    let current = yaml::documents(yaml).map_err(|e| {
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
    let plain = Yaml::load_from_str(yaml).unwrap_or_default();
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
    let mut take = |id: &Id, docs: &mut Vec<String>| -> bool {
        // The last object of the file with this identity wins, as with
        // kubectl apply of a file that names one twice.
        let Some(at) = incoming.iter().rposition(|o| &o.id == id) else {
            return false;
        };
        for (k, o) in incoming.iter().enumerate() {
            used[k] |= &o.id == id;
        }
        replaced.push(describe(id));
        docs.push(incoming[at].text.clone());
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
                    .and_then(|p| p["items"].as_sequence())
                    .cloned()
                    .unwrap_or_default();
                for (j, item) in items.iter().enumerate() {
                    let id = ids.get(j).cloned().flatten();
                    if !id.is_some_and(|id| take(&id, &mut docs)) {
                        docs.push(emit(item));
                    }
                }
            }
            Some(id) => {
                if !take(&id, &mut docs) {
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
