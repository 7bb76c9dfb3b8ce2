//! What the cluster form changes in the YAML: each edit rewrites the lines
//! of the object it touches and leaves every other line (comments,
//! ordering, style) as the learner wrote it.

use super::{Cluster, ClusterIp, Policy, Protocol, ServiceType, TargetPort};
use serde::{Deserialize, Serialize};

/// The YAML with the network mode set: the `mode:` line of the `Network`
/// document changed, or a `Network` document added in front.
pub fn set_mode(yaml: &str, mode: &str) -> String {
    let mut found = false;
    let lines: Vec<String> = yaml
        .lines()
        .map(|l| {
            if !found && l.starts_with("mode:") {
                found = true;
                format!("mode: {mode}")
            } else {
                l.to_string()
            }
        })
        .collect();
    if found {
        let mut s = lines.join("\n");
        s.push('\n');
        s
    } else {
        format!("apiVersion: packetwalk.dev/v1\nkind: Network\nmode: {mode}\n---\n{yaml}")
    }
}

/// The YAML with kube-proxy's layout set (`current` or `legacy`): the
/// `kubeProxy:` line of the `Network` document changed or added after its
/// `mode:` line (a `Network` document is added when there is none).
pub fn set_kube_proxy(yaml: &str, layout: &str) -> String {
    set_network_field(yaml, "kubeProxy", layout)
}

/// The YAML with the `Network` document's field `key` set to `value`: its
/// line changed, or added after the `mode:` line (a `Network` document is
/// added when there is none).
pub fn set_network_field(yaml: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key}:");
    if yaml.lines().any(|l| l.starts_with(&prefix)) {
        let mut out: Vec<String> = yaml
            .lines()
            .map(|l| {
                if l.starts_with(&prefix) {
                    format!("{key}: {value}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        out.push(String::new());
        return out.join("\n");
    }
    let with_mode = if yaml.lines().any(|l| l.starts_with("mode:")) {
        yaml.to_string()
    } else {
        set_mode(yaml, super::MODES[0])
    };
    let mut done = false;
    let mut out = String::new();
    for l in with_mode.lines() {
        out += l;
        out.push('\n');
        if !done && l.starts_with("mode:") {
            out += &format!("{key}: {value}\n");
            done = true;
        }
    }
    out
}

/// The lines (0-based, end exclusive) of the YAML document holding line
/// `line` (1-based): between the `---` separators around it.
fn document_of(lines: &[&str], line: usize) -> (usize, usize) {
    let at = line.saturating_sub(1).min(lines.len());
    let start = lines[..at]
        .iter()
        .rposition(|l| l.starts_with("---"))
        .map_or(0, |i| i + 1);
    let end = lines[at..]
        .iter()
        .position(|l| l.starts_with("---"))
        .map_or(lines.len(), |i| at + i);
    (start, end)
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start().len()
}

fn join(lines: Vec<String>) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

/// The YAML with `spec.<field>` of Service `namespace/name` set to `value`
/// (the line replaced, or added under `spec:`). `None` when there is no
/// such Service.
pub fn set_service_field(
    yaml: &str,
    cluster: &Cluster,
    service: &str,
    field: &str,
    value: &str,
) -> Option<String> {
    let svc = cluster.services.iter().find(|s| s.key() == service)?;
    let lines: Vec<&str> = yaml.lines().collect();
    let (start, end) = document_of(&lines, svc.line);
    let spec = (start..end).find(|&i| lines[i].trim_end() == "spec:")?;
    let body_end = (spec + 1..end)
        .find(|&i| !lines[i].trim().is_empty() && indent(lines[i]) == 0)
        .unwrap_or(end);
    let child = (spec + 1..body_end)
        .map(|i| indent(lines[i]))
        .find(|&n| n > 0)
        .unwrap_or(2);
    let pad = " ".repeat(child);
    let key = format!("{pad}{field}:");
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match (spec + 1..body_end).find(|&i| lines[i].starts_with(&key)) {
        Some(i) => out[i] = format!("{pad}{field}: {value}"),
        None => out.insert(spec + 1, format!("{pad}{field}: {value}")),
    }
    Some(join(out))
}

/// The node ports the cluster's Services hold (their ports' and health
/// checks').
pub(crate) fn node_ports_taken(cluster: &Cluster) -> NodePorts {
    NodePorts {
        used: (cluster.services.iter())
            .flat_map(|s| (s.ports.iter().map(|p| p.node_port)).chain([s.health_check_node_port]))
            .filter(|&p| p != 0)
            .collect(),
        next: 0,
    }
}

/// The node ports taken, and where the search for a free one goes on
/// from (ports are only ever taken, so the first free one only moves up).
pub(crate) struct NodePorts {
    used: std::collections::HashSet<u16>,
    next: u16,
}

/// The first node port of the API server's range (the Network document's
/// `serviceNodePortRange`, 30000-32767 without one) not in `used`, which
/// then holds it too. The API server picks one at random; the first free
/// one keeps a scenario the same each time it is made.
pub(crate) fn free_node_port(cluster: &Cluster, taken: &mut NodePorts) -> Option<u16> {
    let (lo, hi) = node_port_range(cluster);
    // 0 is "none" in a nodePort field.
    let from = lo.max(1).max(taken.next);
    let port = (from..=hi).find(|p| !taken.used.contains(p));
    taken.next = port.unwrap_or(hi).saturating_add(1).max(from);
    let port = port?;
    taken.used.insert(port);
    Some(port)
}

fn node_port_range(cluster: &Cluster) -> (u16, u16) {
    (cluster.network.as_ref())
        .and_then(|n| n.node_port_range)
        .unwrap_or((30000, 32767))
}

/// What the form says when a Service needs a node port and the API
/// server's range has none left; `None` while one is free.
pub fn no_free_node_port(cluster: &Cluster) -> Option<String> {
    let (lo, hi) = node_port_range(cluster);
    free_node_port(cluster, &mut node_ports_taken(cluster)).is_none().then(|| {
        format!("Every node port of {lo}-{hi} (the Network document's serviceNodePortRange) is taken: widen the range, or free a port in the YAML.")
    })
}

/// The YAML with Service `namespace/name`'s `healthCheckNodePort` as the
/// API server keeps it: a LoadBalancer with `externalTrafficPolicy: Local`
/// gets one (the first free node port, `free_node_port`) when it has none, and
/// any other Service loses the one it has. The YAML as it was when there
/// is nothing to change, or the spec is not written in block style;
/// `None` when no node port is free.
pub fn complete_health_check_port(yaml: &str, service: &str) -> Option<String> {
    let Ok(cluster) = Cluster::from_yaml(yaml) else {
        return Some(yaml.to_string());
    };
    let Some(svc) = cluster.services.iter().find(|s| s.key() == service) else {
        return Some(yaml.to_string());
    };
    let wants = svc.kind == ServiceType::LoadBalancer && svc.external_policy == Policy::Local;
    if wants && svc.health_check_node_port == 0 {
        let port = free_node_port(&cluster, &mut node_ports_taken(&cluster))?;
        return Some(
            set_service_field(
                yaml,
                &cluster,
                service,
                "healthCheckNodePort",
                &port.to_string(),
            )
            .unwrap_or_else(|| yaml.to_string()),
        );
    }
    if !wants && svc.health_check_node_port != 0 {
        let lines: Vec<&str> = yaml.lines().collect();
        let (start, end) = document_of(&lines, svc.line);
        let out: Vec<String> = (lines.iter().enumerate())
            .filter(|(i, l)| {
                !(*i >= start && *i < end && l.trim_start().starts_with("healthCheckNodePort:"))
            })
            .map(|(_, l)| l.to_string())
            .collect();
        return Some(join(out));
    }
    Some(yaml.to_string())
}

/// The YAML with Service `namespace/name` made of `kind` (`ClusterIP`,
/// `NodePort` or `LoadBalancer`), as the API server would complete it: a
/// NodePort or LoadBalancer gets a `nodePort` (the first free one,
/// `free_node_port`) on each port without one, and a LoadBalancer gets an ingress IP
/// in `status` (the first free address from .240 of the nodes' LAN) when it
/// has none. Going the other way, what the new type cannot have is dropped,
/// as the API server and the load balancer controller do: a ClusterIP
/// loses its `nodePort`s, `healthCheckNodePort` and
/// `externalTrafficPolicy`; anything but a LoadBalancer loses its
/// `status.loadBalancer`. `None` when the Service is not written in block
/// style.
pub fn set_service_type(
    yaml: &str,
    cluster: &Cluster,
    service: &str,
    kind: &str,
) -> Option<String> {
    let svc = cluster.services.iter().find(|s| s.key() == service)?;
    let mut text = set_service_field(yaml, cluster, service, "type", kind)?;
    if kind != "LoadBalancer" {
        text = drop_type_fields(&text, svc.line, kind == "ClusterIP")?;
    }
    if kind == "ClusterIP" {
        return Some(text);
    }
    let mut used = node_ports_taken(cluster);
    // Each port item of this Service without a nodePort gets one.
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (start, end) = document_of(&refs, svc.line);
    let ports = (start..end).find(|&i| refs[i].trim_start() == "ports:" && indent(refs[i]) > 0)?;
    let mut out: Vec<String> = refs[..=ports].iter().map(|l| l.to_string()).collect();
    let mut i = ports + 1;
    while i < end {
        let l = refs[i];
        if !l.trim().is_empty()
            && indent(l) <= indent(refs[ports])
            && !l.trim_start().starts_with("- ")
        {
            break; // past the ports list
        }
        if l.trim_start().starts_with("- ") {
            if l.contains('{') {
                return None; // a port in flow style: left to the YAML
            }
            let dash = indent(l);
            let item_end = (i + 1..end)
                .find(|&k| !refs[k].trim().is_empty() && indent(refs[k]) <= dash)
                .unwrap_or(end);
            let has = refs[i..item_end].iter().any(|x| {
                x.trim_start()
                    .trim_start_matches("- ")
                    .starts_with("nodePort:")
            });
            out.extend(refs[i..item_end].iter().map(|x| x.to_string()));
            if !has {
                let port = free_node_port(cluster, &mut used)?;
                out.push(format!("{}nodePort: {port}", " ".repeat(dash + 2)));
            }
            i = item_end;
            continue;
        }
        out.push(l.to_string());
        i += 1;
    }
    out.extend(refs[i..].iter().map(|l| l.to_string()));
    text = join(out);
    if kind == "LoadBalancer" && svc.ingress.is_empty() {
        let lan = cluster.nodes.first()?.internal_ip?;
        let taken: Vec<std::net::IpAddr> = cluster
            .services
            .iter()
            .flat_map(|s| s.ingress.iter().map(|i| i.ip))
            .chain(
                cluster
                    .nodes
                    .iter()
                    .filter_map(|n| n.internal_ip.map(Into::into)),
            )
            .collect();
        let o = lan.octets();
        let ip = (240..=254u8)
            .map(|h| std::net::Ipv4Addr::new(o[0], o[1], o[2], h))
            .find(|a| !taken.contains(&std::net::IpAddr::V4(*a)))?;
        let lines: Vec<&str> = text.lines().collect();
        let (start, end) = document_of(&lines, svc.line);
        if lines[start..end].iter().any(|l| l.starts_with("status:")) {
            return None; // a status already there: the ingress is the YAML's business
        }
        let mut out: Vec<String> = lines[..end].iter().map(|l| l.to_string()).collect();
        out.push(format!(
            "status:\n  loadBalancer:\n    ingress:\n    - ip: {ip}"
        ));
        out.extend(lines[end..].iter().map(|l| l.to_string()));
        text = join(out);
    }
    Some(text)
}

/// The Service document at `line` without its `status:` block and, for a
/// ClusterIP (`cluster_ip`), without the `nodePort`, `healthCheckNodePort`
/// and `externalTrafficPolicy` lines. `None` when a `nodePort` opens its
/// port item (`- nodePort: …`): that is left to the YAML.
fn drop_type_fields(yaml: &str, line: usize, cluster_ip: bool) -> Option<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let (start, end) = document_of(&lines, line);
    let status = (start..end).find(|&i| lines[i].trim_end() == "status:");
    let mut out: Vec<String> = lines[..start].iter().map(|l| l.to_string()).collect();
    let mut i = start;
    while i < end {
        let l = lines[i];
        if Some(i) == status {
            // The block: this line and the indented ones under it.
            i += 1;
            while i < end && (lines[i].trim().is_empty() || indent(lines[i]) > 0) {
                i += 1;
            }
            continue;
        }
        let key = l.trim_start();
        if cluster_ip && indent(l) > 0 {
            // A node port the form cannot take out on its own line.
            if key.starts_with("- nodePort:") || (l.contains('{') && l.contains("nodePort:")) {
                return None;
            }
            if [
                "nodePort:",
                "healthCheckNodePort:",
                "externalTrafficPolicy:",
            ]
            .iter()
            .any(|k| key.starts_with(k))
            {
                i += 1;
                continue;
            }
        }
        out.push(l.to_string());
        i += 1;
    }
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    Some(join(out))
}

/// What an endpoint's `conditions` say, as the form offers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointState {
    Ready,
    /// Shutting down but still serving (`ready: false, serving: true,
    /// terminating: true`): used only when nothing ready is left.
    Terminating,
    NotReady,
}

/// The endpoint item of an EndpointSlice whose first line is `line`
/// (1-based): its lines, 0-based, end exclusive.
fn endpoint_item(lines: &[&str], line: usize) -> Option<(usize, usize)> {
    let first = line.checked_sub(1)?;
    // Only a block item (`- addresses: …` on its own line); an endpoint in
    // flow style (`[{addresses: …}]`) is left to the YAML editor.
    let l = lines.get(first)?;
    if !l.trim_start().starts_with("- ") {
        return None;
    }
    let dash = indent(l);
    let end = (first + 1..lines.len())
        .find(|&i| {
            let l = lines[i];
            !l.trim().is_empty()
                && (indent(l) < dash
                    || (indent(l) == dash && l.trim_start().starts_with('-'))
                    || l.starts_with("---"))
        })
        .unwrap_or(lines.len());
    Some((first, end))
}

/// The YAML with the endpoint written at `line` set to `state`: its
/// `conditions` replaced by one line.
pub fn set_endpoint_state(yaml: &str, line: usize, state: EndpointState) -> Option<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let (first, end) = endpoint_item(&lines, line)?;
    let dash = indent(lines[first]);
    let pad = " ".repeat(dash + 2);
    let cond = match state {
        EndpointState::Ready => "{ready: true}",
        EndpointState::Terminating => "{ready: false, serving: true, terminating: true}",
        EndpointState::NotReady => "{ready: false, serving: false}",
    };
    let mut out: Vec<String> = Vec::new();
    let mut skip_block: Option<usize> = None;
    for (i, l) in lines.iter().enumerate() {
        if i > first && i < end {
            if let Some(n) = skip_block {
                if indent(l) > n {
                    continue;
                }
                skip_block = None;
            }
            if l.trim_start().starts_with("conditions:") && indent(l) == dash + 2 {
                if l.trim_end().ends_with("conditions:") {
                    skip_block = Some(indent(l));
                }
                continue;
            }
        }
        out.push(l.to_string());
        if i == first {
            out.push(format!("{pad}conditions: {cond}"));
        }
    }
    Some(join(out))
}

/// The YAML without the endpoint written at `line`.
pub fn remove_endpoint(yaml: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let (first, end) = endpoint_item(&lines, line)?;
    let out = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < first || *i >= end)
        .map(|(_, l)| l.to_string())
        .collect();
    Some(join(out))
}

/// The YAML with one more endpoint for Service `ns/name` on `node`: a new
/// EndpointSlice document (kube-proxy merges a Service's slices) holding
/// a pod at the first free address of the node's pod CIDR. `None` when the
/// Service or the node is unknown or the CIDR is full.
pub fn add_endpoint(yaml: &str, cluster: &Cluster, service: &str, node: &str) -> Option<String> {
    let svc = cluster.services.iter().find(|s| s.key() == service)?;
    if !matches!(svc.cluster_ip, ClusterIp::Ip(_)) {
        return None;
    }
    let n = cluster.nodes.iter().find(|n| n.name == node)?;
    let block = *n.pod_cidrs.first()?;
    let used: Vec<std::net::IpAddr> = cluster
        .slices
        .iter()
        .flat_map(|s| {
            s.endpoints
                .iter()
                .filter_map(|e| e.addresses.first().copied())
        })
        .chain(cluster.pods.iter().filter_map(|p| p.ip.map(Into::into)))
        .collect();
    let ip = block
        .hosts()
        .skip(1)
        .find(|a| !used.contains(&std::net::IpAddr::V4(*a)))?;
    let k = cluster.slices.len() + 1;
    let mut doc = format!(
        "---\n# Added by \"Add an endpoint\": one more pod of {service} on {node}.\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: {}-{k}\n  namespace: {}\n  labels:\n    kubernetes.io/service-name: {}\naddressType: IPv4\nports:\n",
        svc.name, svc.namespace, svc.name
    );
    for p in &svc.ports {
        let port = match &p.target_port {
            Some(TargetPort::Number(n)) => *n,
            _ => p.port,
        };
        let proto = match p.protocol {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        };
        doc += &format!(
            "- name: \"{}\"\n  port: {port}\n  protocol: {proto}\n",
            p.name
        );
    }
    doc += &format!(
        "endpoints:\n- addresses: [{ip}]\n  conditions: {{ready: true}}\n  nodeName: {node}\n  targetRef: {{kind: Pod, namespace: {}, name: {}-{}}}\n",
        svc.namespace,
        svc.name,
        ip.to_string().replace('.', "-")
    );
    let mut out = yaml.trim_end().to_string();
    out.push('\n');
    out += &doc;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cni;

    /// node8's rules after `cluster` is built, as `iptables-save` prints them.
    fn node8_rules(cluster: &Cluster) -> String {
        let sc = cni::build(cluster, "t", "t").unwrap();
        sc.host("node8")
            .unwrap()
            .iptables
            .as_ref()
            .unwrap()
            .to_text()
    }

    /// The form's two levers: the mode select and "Add an endpoint".
    #[test]
    fn the_form_writes_yaml_that_regenerates_the_nodes() {
        let yaml = cni::cluster_yaml("calico-ipip").unwrap();
        let flannel = set_mode(yaml, "flannel-vxlan");
        assert!(
            flannel.contains("\nmode: flannel-vxlan\n") && !flannel.contains("mode: calico-ipip")
        );
        assert!(set_mode("kind: Node\n", "calico-vxlan").starts_with(
            "apiVersion: packetwalk.dev/v1\nkind: Network\nmode: calico-vxlan\n---\n"
        ));

        // One endpoint only, then one more on node54 through the form.
        let cut = yaml.find("- addresses: [172.16.3.70]").unwrap();
        let one = &yaml[..cut];
        let c = Cluster::from_yaml(one).unwrap();
        let two = add_endpoint(one, &c, "ms-test/flask-ui", "node54").unwrap();
        let c2 = Cluster::from_yaml(&two).unwrap_or_else(|e| panic!("{e}\n{two}"));
        let eps: Vec<String> = c2
            .slices
            .iter()
            .flat_map(|s| s.endpoints.iter().map(|e| e.addresses[0].to_string()))
            .collect();
        assert_eq!(eps, vec!["172.16.225.112", "172.16.3.66"]);
        assert!(add_endpoint(one, &c, "ms-test/nope", "node54").is_none());
        assert!(node8_rules(&c2).contains("--probability 0.50000000000"));
    }

    #[test]
    fn the_layout_switch_writes_the_kube_proxy_line() {
        let yaml = cni::cluster_yaml("calico-ipip").unwrap();
        let legacy = set_kube_proxy(yaml, "legacy");
        assert!(
            legacy.contains("mode: calico-ipip\nkubeProxy: legacy\n"),
            "{legacy}"
        );
        let back = set_kube_proxy(&legacy, "current");
        assert!(back.contains("kubeProxy: current\n") && !back.contains("legacy"));
        let c = Cluster::from_yaml(&legacy).unwrap();
        assert!(cni::legacy(&c));
        assert!(set_kube_proxy("kind: Node\n", "legacy").starts_with("apiVersion: packetwalk.dev/v1\nkind: Network\nmode: calico-ipip\nkubeProxy: legacy\n---\n"));
    }

    /// The form's Service and endpoint levers write YAML that reads back
    /// as intended, and the nodes follow.
    #[test]
    fn service_and_endpoint_levers_rewrite_only_their_lines() {
        use crate::engine::k8s::Policy;
        let yaml = cni::cluster_yaml("calico-ipip").unwrap();
        let c = Cluster::from_yaml(yaml).unwrap();
        let local = set_service_field(
            yaml,
            &c,
            "ms-test/flask-ui",
            "externalTrafficPolicy",
            "Local",
        )
        .unwrap();
        let c2 = Cluster::from_yaml(&local).unwrap();
        assert_eq!(c2.services[0].external_policy, Policy::Local);
        assert_eq!(local.lines().count(), yaml.lines().count() + 1);
        let back = set_service_field(
            &local,
            &c2,
            "ms-test/flask-ui",
            "externalTrafficPolicy",
            "Cluster",
        )
        .unwrap();
        assert_eq!(
            Cluster::from_yaml(&back).unwrap().services[0].external_policy,
            Policy::Cluster
        );
        assert_eq!(
            back.lines().count(),
            local.lines().count(),
            "the line is replaced, not added again"
        );
        let sticky =
            set_service_field(yaml, &c, "ms-test/flask-ui", "sessionAffinity", "ClientIP").unwrap();
        assert_eq!(
            Cluster::from_yaml(&sticky).unwrap().services[0].affinity_timeout,
            Some(10800)
        );

        // Endpoints: the one on node54 terminating, then removed.
        let ep = &c.slices[0].endpoints[1];
        assert_eq!(ep.addresses[0].to_string(), "172.16.3.70");
        let t = set_endpoint_state(yaml, ep.line, EndpointState::Terminating).unwrap();
        let c3 = Cluster::from_yaml(&t).unwrap_or_else(|e| panic!("{e}\n{t}"));
        let e3 = &c3.slices[0].endpoints[1];
        assert_eq!(
            (
                e3.conditions.ready,
                e3.conditions.serving,
                e3.conditions.terminating
            ),
            (Some(false), Some(true), Some(true))
        );
        assert_eq!(
            c3.slices[0].endpoints[0].conditions.ready,
            Some(true),
            "the others untouched"
        );
        let gone = remove_endpoint(&t, e3.line).unwrap();
        let c4 = Cluster::from_yaml(&gone).unwrap_or_else(|e| panic!("{e}\n{gone}"));
        let ips: Vec<String> = c4.slices[0]
            .endpoints
            .iter()
            .map(|e| e.addresses[0].to_string())
            .collect();
        assert_eq!(ips, vec!["172.16.225.112", "172.16.166.140"]);
        assert!(node8_rules(&c4).contains("--probability 0.50000000000"));
    }

    /// An endpoint written in flow style is not touched by the form (the
    /// whole line holds other endpoints too).
    #[test]
    fn flow_style_endpoints_are_left_to_the_yaml() {
        let yaml = "kind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: web}}\nendpoints: [{addresses: [10.0.0.1], nodeName: node-1}, {addresses: [10.0.0.2]}]\n";
        let c = Cluster::from_yaml(yaml).unwrap();
        let line = c.slices[0].endpoints[0].line;
        assert_eq!(remove_endpoint(yaml, line), None);
        assert_eq!(
            set_endpoint_state(yaml, line, EndpointState::NotReady),
            None
        );
    }

    /// A LoadBalancer with externalTrafficPolicy: Local gets a health
    /// check node port, as the API server allocates one, and kube-proxy
    /// opens it in the filter table; back to Cluster, it is gone.
    #[test]
    fn a_local_load_balancer_gets_a_health_check_node_port() {
        let svc = "ms-test/flask-ui";
        let yaml = cni::cluster_yaml("calico-ipip").unwrap();
        let c = Cluster::from_yaml(yaml).unwrap();
        let lb = set_service_type(yaml, &c, svc, "LoadBalancer").unwrap();
        let lb = complete_health_check_port(&lb, svc).unwrap();
        assert!(
            !lb.contains("healthCheckNodePort"),
            "Cluster policy: none\n{lb}"
        );
        let c = Cluster::from_yaml(&lb).unwrap();
        let local = set_service_field(&lb, &c, svc, "externalTrafficPolicy", "Local").unwrap();
        let local = complete_health_check_port(&local, svc).unwrap();
        let c = Cluster::from_yaml(&local).unwrap_or_else(|e| panic!("{e}\n{local}"));
        assert_eq!(c.services[0].health_check_node_port, 30000, "{local}");
        let rules = node8_rules(&c);
        assert!(
            rules.contains(
                "\"ms-test/flask-ui:http health check node port\" -m tcp --dport 30000 -j ACCEPT"
            ),
            "{rules}"
        );
        let back = set_service_field(&local, &c, svc, "externalTrafficPolicy", "Cluster").unwrap();
        let back = complete_health_check_port(&back, svc).unwrap();
        assert!(!back.contains("healthCheckNodePort"), "{back}");
    }

    /// The type select completes the Service as the API server would.
    #[test]
    fn the_type_select_adds_node_ports_and_an_ingress_ip() {
        use crate::engine::k8s::ServiceType;
        let yaml = cni::cluster_yaml("session-affinity").unwrap();
        let c = Cluster::from_yaml(yaml).unwrap();
        assert_eq!(c.services[0].kind, ServiceType::ClusterIp);
        let lb = set_service_type(yaml, &c, "ms-test/flask-ui", "LoadBalancer").unwrap();
        let c2 = Cluster::from_yaml(&lb).unwrap_or_else(|e| panic!("{e}\n{lb}"));
        let s = &c2.services[0];
        assert_eq!(s.kind, ServiceType::LoadBalancer);
        assert_eq!(s.ports[0].node_port, 30000);
        assert_eq!(s.ingress[0].ip.to_string(), "192.168.11.240");
        let rules = node8_rules(&c2);
        assert!(
            rules.contains("-d 192.168.11.240/32") && rules.contains("--dport 30000"),
            "{rules}"
        );
        // With the Network document's serviceNodePortRange, from its start.
        let ranged = yaml.replacen(
            "mode: calico-ipip\n",
            "mode: calico-ipip\nserviceNodePortRange: 31000-31005\n",
            1,
        );
        let cr = Cluster::from_yaml(&ranged).unwrap();
        let lb_ranged = set_service_type(&ranged, &cr, "ms-test/flask-ui", "LoadBalancer").unwrap();
        let cr = Cluster::from_yaml(&lb_ranged).unwrap_or_else(|e| panic!("{e}\n{lb_ranged}"));
        assert_eq!(cr.services[0].ports[0].node_port, 31000, "{lb_ranged}");
        // A range with no port left: the form says so.
        let full = yaml.replacen(
            "mode: calico-ipip\n",
            "mode: calico-ipip\nserviceNodePortRange: 31000-31000\n",
            1,
        );
        let lb_full = set_service_type(
            &full,
            &Cluster::from_yaml(&full).unwrap(),
            "ms-test/flask-ui",
            "LoadBalancer",
        )
        .unwrap();
        let cf = Cluster::from_yaml(&lb_full).unwrap();
        assert_eq!(no_free_node_port(&cf).as_deref(), Some("Every node port of 31000-31000 (the Network document's serviceNodePortRange) is taken: widen the range, or free a port in the YAML."));
        assert!(
            set_service_type(&lb_full, &cf, "ms-test/flask-ui", "NodePort").is_some(),
            "its own port stays"
        );
        // Back to ClusterIP: no node port, no ingress, no rules for them.
        let back = set_service_type(&lb, &c2, "ms-test/flask-ui", "ClusterIP").unwrap();
        let c3 = Cluster::from_yaml(&back).unwrap_or_else(|e| panic!("{e}\n{back}"));
        let s = &c3.services[0];
        assert_eq!(s.kind, ServiceType::ClusterIp);
        assert_eq!((s.ports[0].node_port, s.ingress.len()), (0, 0), "{back}");
        let rules = node8_rules(&c3);
        assert!(
            !rules.contains("KUBE-NODEPORTS -p tcp") && !rules.contains("192.168.11.240"),
            "{rules}"
        );
        // The article's NodePort Service (nodePort 30080, externalTrafficPolicy
        // Local in the nodeport-local scenario) too.
        for name in ["calico-ipip", "nodeport-local"] {
            let yaml = cni::cluster_yaml(name).unwrap();
            let c = Cluster::from_yaml(yaml).unwrap();
            let cip = set_service_type(yaml, &c, "ms-test/flask-ui", "ClusterIP").unwrap();
            let c = Cluster::from_yaml(&cip).unwrap_or_else(|e| panic!("{name}: {e}\n{cip}"));
            let s = &c.services[0];
            assert_eq!(s.kind, ServiceType::ClusterIp, "{name}");
            assert_eq!(s.ports[0].node_port, 0, "{name}");
            assert_eq!(
                s.external_policy,
                crate::engine::k8s::Policy::Cluster,
                "{name}"
            );
            assert!(!cip.contains("nodePort: 30080"), "{name}: {cip}");
        }
        // A node port the form cannot take out alone (flow style, or first
        // in its item) is left to the YAML: no half-made ClusterIP.
        for ports in [
            "  ports: [{port: 80, nodePort: 30080}]\n",
            "  ports:\n  - nodePort: 30080\n    port: 80\n",
        ] {
            let yaml =
                format!("kind: Service\nmetadata: {{name: web}}\nspec:\n  type: NodePort\n{ports}");
            let c = Cluster::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
            assert_eq!(
                set_service_type(&yaml, &c, "default/web", "ClusterIP"),
                None,
                "{yaml}"
            );
        }
    }
}
