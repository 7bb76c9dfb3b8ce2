//! The cluster generator as the page reaches it: requests and responses as
//! JSON, through the `packetwalk-cluster` binary (natively, the same code
//! the second wasm module runs). What crosses must come back equal to what
//! the engine made, or the page would show a world the engine did not build.

use packetwalk::engine::cni;
use packetwalk::engine::generator::{
    call_json, call_json_with, handle, FormEdit, Request, Response,
};
use packetwalk::engine::k8s::edit::EndpointState;
use std::io::Write;
use std::process::{Command, Stdio};

/// `req` answered through JSON, as the page's transport does.
fn through_json(req: &Request) -> Response {
    let text = serde_json::to_string(req).unwrap();
    serde_json::from_str(&call_json(&text)).unwrap()
}

#[test]
fn every_answer_survives_the_trip_through_json() {
    for (name, _) in cni::CLUSTERS {
        let builtin = Request::Builtin { name: name.into() };
        let direct = handle(builtin.clone());
        assert_eq!(through_json(&builtin), direct, "{name}");
        let Response::Builtin(Some(b)) = direct else {
            panic!("{name}: no built-in scenario");
        };
        assert!(
            !b.view.nodes.is_empty(),
            "{name}: every node's sync is named"
        );
        assert_eq!(
            through_json(&Request::Scenario { name: name.into() }),
            Response::Scenario(Some(b.scenario.clone())),
            "{name}"
        );

        // One endpoint less, then the sync: same world either way.
        let ep = &b.view.form.services[0].endpoints[0];
        let edit = Request::Edit {
            yaml: b.yaml.clone(),
            edit: FormEdit::Endpoint {
                line: ep.line,
                state: Some(EndpointState::NotReady),
            },
        };
        let Response::Edit(Ok(yaml)) = through_json(&edit) else {
            panic!("{name}: the endpoint's state could not be set");
        };
        assert_ne!(yaml, b.yaml, "{name}");
        // The learner's rule in one of kube-proxy's chains on the first
        // node, which the sync rewrites: the answer counts it.
        let mut current = b.scenario.clone();
        let node = &mut current.hosts[0];
        let text = node.iptables.as_ref().unwrap().to_text();
        let at = text.find("-A KUBE-SERVICES ").unwrap();
        let mine = format!(
            "{}-A KUBE-SERVICES -s 10.9.9.9/32 -j RETURN\n{}",
            &text[..at],
            &text[at..]
        );
        node.iptables = Some(packetwalk::engine::scenario::Text::One(mine));
        let node = node.name.clone();
        let resync = Request::Resync {
            old: Some(b.yaml.clone()),
            yaml: yaml.clone(),
            current: Box::new(current.clone()),
            aside: Vec::new(),
            base: Some(name.to_string()),
        };
        let direct = handle(resync.clone());
        assert_eq!(through_json(&resync), direct, "{name}");
        // The same with every host's rules text sent beside the request,
        // as the page sends a large dump to the worker.
        let mut slim = resync.clone();
        let texts = slim.set_aside(0);
        assert!(!texts.is_empty(), "{name}: no rules were set aside");
        // As the page makes it, from the scenario in use, whose texts are
        // lent rather than copied: the same request and texts, and the
        // scenario as it was; with a limit that lends some texts only, too.
        let mut sizes: Vec<usize> = (current.hosts.iter())
            .filter_map(|h| Some(h.iptables.as_ref()?.len()))
            .collect();
        sizes.sort();
        for limit in [0, sizes[sizes.len() / 2]] {
            let mut set = resync.clone();
            let texts = set.set_aside(limit);
            let mut in_use = current.clone();
            let (apart, lent) = Request::resync_apart(
                Some(b.yaml.clone()),
                yaml.clone(),
                &mut in_use,
                Some(name.to_string()),
                limit,
                str::to_string,
            );
            assert_eq!((apart, &lent), (set, &texts), "{name}, limit {limit}");
            assert!(
                limit == 0 || lent.len() < sizes.len(),
                "{name}: every text lent over {limit} bytes"
            );
            assert_eq!(in_use, current, "{name}: the texts lent went back");
        }
        let slim_json = serde_json::to_string(&slim).unwrap();
        assert!(slim_json.len() < serde_json::to_string(&resync).unwrap().len());
        // Texts that do not match the hosts named are refused, not taken
        // for hosts without rules.
        let short = texts[1..].to_vec();
        let refused: Response = serde_json::from_str(&call_json_with(&slim_json, short)).unwrap();
        assert!(
            matches!(&refused, Response::Failed(why) if why.contains("rules texts beside the request")),
            "{name}: {refused:?}"
        );
        let beside: Response = serde_json::from_str(&call_json_with(&slim_json, texts)).unwrap();
        assert_eq!(beside, direct, "{name}: texts sent beside the request");
        let Response::Resync(Ok(r)) = direct else {
            panic!("{name}: the sync failed");
        };
        assert_eq!(
            r.hand_rules_lost,
            [(node, 1)],
            "{name}: the learner's rule counted"
        );
        assert!(
            r.diffs.iter().any(|d| d.rules.removed_total > 0),
            "{name}: a rule went"
        );
        let rebase = Request::Rebase {
            name: name.into(),
            yaml,
        };
        assert_eq!(
            through_json(&rebase),
            Response::Rebase(Some(r.scenario)),
            "{name}"
        );
    }
}

#[test]
fn bad_yaml_and_bad_requests_are_answered_with_why() {
    let Response::Resync(Err(errors)) = through_json(&Request::Resync {
        old: None,
        yaml: "kind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: eighty}]\n".into(),
        current: Box::new(cni::builtin("calico-ipip").unwrap()),
        aside: Vec::new(),
        base: None,
    }) else {
        panic!("bad YAML must not sync");
    };
    let port = errors.iter().find(|e| e.message.contains("eighty"));
    assert_eq!(port.map(|e| e.line), Some(4), "{errors:?}");

    let Response::Failed(why) = serde_json::from_str(&call_json("{\"Builtin\": 7}")).unwrap()
    else {
        panic!("a malformed request must fail");
    };
    assert!(why.contains("could not read the request"), "{why}");
    assert_eq!(
        through_json(&Request::Builtin {
            name: "nope".into()
        }),
        Response::Builtin(None)
    );
    // The type select with no node port left in the Network document's
    // range: the form says so, rather than blaming the YAML's style.
    let full = cni::cluster_yaml("session-affinity").unwrap().replacen(
        "mode: calico-ipip\n",
        "mode: calico-ipip\nserviceNodePortRange: 30080-30080\n",
        1,
    );
    let full = full + "---\nkind: Service\nmetadata: {name: other, namespace: x}\nspec:\n  type: NodePort\n  ports:\n  - port: 81\n    nodePort: 30080\n";
    let answer = through_json(&Request::Edit {
        yaml: full,
        edit: FormEdit::Service {
            service: "ms-test/flask-ui".into(),
            field: "type".into(),
            value: "NodePort".into(),
        },
    });
    assert_eq!(
        answer,
        Response::Edit(Err("Every node port of 30080-30080 (the Network document's serviceNodePortRange) is taken: widen the range, or free a port in the YAML.".into()))
    );
}

/// The binary answers one request from stdin, as the wasm module does.
#[test]
fn the_binary_answers_a_request_on_stdin() {
    let req = serde_json::to_string(&Request::Edit {
        yaml: "kind: Node\n".into(),
        edit: FormEdit::Mode("flannel-vxlan".into()),
    })
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_packetwalk-cluster"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let resp: Response = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        resp,
        Response::Edit(Ok(
            "apiVersion: packetwalk.dev/v1\nkind: Network\nmode: flannel-vxlan\n---\nkind: Node\n"
                .into()
        ))
    );
}

/// A slice whose port is not named as the Service's serves nothing: the
/// form says which port has no endpoint, beside the endpoints it lists.
#[test]
fn the_form_names_a_service_port_no_slice_serves() {
    let yaml = cni::cluster_yaml("flannel-vxlan").unwrap();
    // The EndpointSlice's port (after "addressType") renamed.
    let at = yaml.find("addressType").unwrap();
    let renamed = format!(
        "{}{}",
        &yaml[..at],
        yaml[at..].replacen("- name: http", "- name: web", 1)
    );
    let unserved = |yaml: &str| match through_json(&Request::Resync {
        old: None,
        yaml: yaml.into(),
        current: Box::new(cni::builtin("flannel-vxlan").unwrap()),
        aside: Vec::new(),
        base: None,
    }) {
        Response::Resync(Ok(r)) => r.view.form.services[0].unserved.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(unserved(&renamed), ["http/TCP"]);
    assert!(unserved(yaml).is_empty());
}

/// What the objects say that the generator does not act on is told on the
/// Service's card: a selector with no slice (no EndpointSlice controller
/// runs here), an endpoint on a node that does not exist, an IPv6 cluster
/// IP (no ip6tables rules are made).
#[test]
fn the_form_tells_what_the_objects_say_and_nothing_acts_on() {
    let yaml = cni::cluster_yaml("flannel-vxlan").unwrap();
    let notes = |yaml: &str| match through_json(&Request::Resync {
        old: None,
        yaml: yaml.into(),
        current: Box::new(cni::builtin("flannel-vxlan").unwrap()),
        aside: Vec::new(),
        base: None,
    }) {
        Response::Resync(Ok(r)) => (r.view.form.services.iter())
            .map(|s| (s.key.clone(), s.notes.join(" | ")))
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert!(
        notes(yaml).iter().all(|(_, n)| n.is_empty()),
        "{:?}",
        notes(yaml)
    );
    let extra = format!(
        "{yaml}\n---\nkind: Service\nmetadata: {{name: foo, namespace: default}}\nspec:\n  clusterIP: 10.96.7.7\n  selector: {{app: foo}}\n  ports: [{{name: http, port: 80}}]\n---\nkind: Service\nmetadata: {{name: v6, namespace: default}}\nspec:\n  clusterIP: \"fd00:172:30::41\"\n  ports: [{{name: http, port: 80}}]\n"
    );
    let got = notes(&extra);
    let of = |k: &str| {
        got.iter()
            .find(|(key, _)| key == k)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    assert!(
        of("default/foo").contains("It has a selector but no EndpointSlice"),
        "{got:?}"
    );
    assert!(of("default/v6").contains("is IPv6"), "{got:?}");
    // An endpoint's node renamed to one that does not exist.
    let at = yaml.find("kind: EndpointSlice").unwrap();
    let node = yaml[at..]
        .find("nodeName: ")
        .map(|i| at + i + "nodeName: ".len())
        .unwrap();
    let end = node + yaml[node..].find('\n').unwrap();
    let moved = format!("{}node99{}", &yaml[..node], &yaml[end..]);
    let got = notes(&moved);
    assert!(
        got[0]
            .1
            .contains("is on node \"node99\", which is no Node here"),
        "{got:?}"
    );
}
