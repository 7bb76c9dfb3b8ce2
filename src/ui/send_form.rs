//! The send form: a source (any pod, node or LAN client, or another LAN
//! address), a destination (a Service by name, or an address and port), a
//! protocol and TCP flags; and the actions that follow a packet: reply,
//! the same connection again, and clearing conntrack.

use crate::engine::packet::{Proto, TcpFlags};
use crate::engine::scenario::HostKind;
use crate::engine::SendSpec;
use crate::ui::model::kind_name;
use std::net::Ipv4Addr;
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// A place a packet can come from or go to.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Host {
        name: String,
        kind: HostKind,
        addr: Option<Ipv4Addr>,
        ports: Vec<(Proto, u16)>,
        /// The host has iptables rules (a node where kube-proxy runs).
        rules: bool,
        /// Its rules test the sending program's uid (`-m owner`, as
        /// Istio's sidecar does): the form asks for one.
        owner: bool,
    },
    Service {
        name: String,
        port_name: String,
        cluster_ip: Ipv4Addr,
        port: u16,
        proto: Proto,
        node_port: Option<u16>,
        /// LoadBalancer addresses a node answers for on the LAN.
        ingress: Vec<Ipv4Addr>,
    },
}

#[derive(Properties, PartialEq)]
pub struct SendFormProps {
    pub targets: Rc<Vec<Target>>,
    /// The packet the form starts with (the last one sent, or the preset).
    pub initial: Option<SendSpec>,
    pub can_reply: bool,
    /// Again's TCP flags (empty for another protocol); none: Again is off.
    pub again_flags: Option<String>,
    /// In an exercise, before the packet's last step: Reply waits.
    #[prop_or_default]
    pub reply_hidden: bool,
    /// Which packet Again sends: `#3 client:192.168.11.200:40000 → flask-ui`.
    #[prop_or_default]
    pub again_what: Option<String>,
    pub onsend: Callback<SendSpec>,
    pub onreply: Callback<()>,
    pub onagain: Callback<()>,
    pub onclearct: Callback<()>,
    /// Let that many seconds pass before the next packet.
    pub onwait: Callback<u32>,
    /// Take back the wait asked for.
    pub onunwait: Callback<()>,
    /// The seconds the next packet waits, when a wait was asked for.
    #[prop_or_default]
    pub waiting: Option<u32>,
    /// The form as it is now, on every change (kept with the session, so
    /// a reload or a link shows what was typed and not sent yet).
    pub ondraft: Callback<SendSpec>,
    /// Why the last packet asked for could not be sent (the engine's
    /// word: no such Service, no port).
    pub failed: Option<String>,
}

const OTHER: &str = "client:";

/// What the form sends as the source: a host's name, or `client:IP` for
/// a LAN client (the engine finds the client by its address).
pub fn host_value(name: &str, kind: HostKind, addr: Option<Ipv4Addr>) -> String {
    match (kind, addr) {
        (HostKind::Client, Some(a)) => format!("{OTHER}{a}"),
        _ => name.to_string(),
    }
}
const FLAGS: [&str; 5] = ["SYN", "ACK", "FIN", "RST", "PSH"];

/// What the form's buttons do, under the packets sent (the form refers to
/// it by its id).
pub fn help() -> Html {
    html! {
        <p id="send-help" class="help send-help">{ "Each send is one trace. Conntrack remembers connections between sends: Reply answers the packet shown (SYN → SYN-ACK → ACK; a ping's echo-reply; a refused packet's reset or ICMP error, followed back), Again sends it once more on its connection, with its own TCP flags or the ones ticked since (RST or FIN closes it), or a ping's next echo." }</p>
    }
}

/// The TTL field: 1–255, `None` for Linux's default 64 (not repeated in
/// links).
fn parse_ttl(typed: &str) -> Result<Option<u8>, String> {
    match typed.trim().parse::<u8>() {
        Ok(64) => Ok(None),
        Ok(t @ 1..=255) => Ok(Some(t)),
        _ => Err(format!(
            "The TTL is a whole number from 1 to 255, not \"{}\" (64 is Linux's default).",
            typed.trim()
        )),
    }
}

/// The data bytes field: 0 to what one IPv4 packet holds after the
/// headers (65495 with TCP's 40 bytes; the engine checks the protocol's).
fn parse_len(typed: &str) -> Result<u16, String> {
    match typed.trim() {
        "" => Ok(0),
        t => t.parse::<u16>().ok().filter(|n| *n <= 65507).ok_or_else(|| {
            format!("Data bytes is a whole number from 0 to 65507 (what one IPv4 packet holds after its headers), not \"{t}\".")
        }),
    }
}

/// The source port field: empty for an ephemeral port (drawn from the
/// seed, as the kernel would pick one), else 1–65535.
fn parse_sport(typed: &str) -> Result<Option<u16>, String> {
    match typed.trim() {
        "" => Ok(None),
        t => t.parse::<u16>().ok().filter(|p| *p > 0).map(Some).ok_or_else(|| {
            format!("The source port is a whole number from 1 to 65535, or empty for an ephemeral port the kernel picks, not \"{t}\".")
        }),
    }
}

/// The hosts among the targets.
fn hosts_of(targets: &[Target]) -> impl Iterator<Item = &Target> {
    targets.iter().filter(|t| matches!(t, Target::Host { .. }))
}

/// The sending program's uid field, shown when the source's rules test
/// it (`-m owner`): empty for 0, root.
fn parse_uid(typed: &str) -> Result<Option<u32>, String> {
    match typed.trim() {
        "" => Ok(None),
        t => t.parse::<u32>().ok().filter(|n| *n < u32::MAX).map(Some).ok_or_else(|| {
            format!("The uid is a whole number from 0 to 4294967294 (empty: 0, root), not \"{t}\".")
        }),
    }
}

/// One of the form's short numeric fields (TTL, source port, data size).
struct NumberField {
    /// The input's id (`send-ttl`); its CSS class is `field-` and the rest.
    id: &'static str,
    label: &'static str,
    placeholder: Option<&'static str>,
    title: &'static str,
    /// Said to screen readers with the field.
    help: &'static str,
}

/// `f` holding the text typed in `value`: marked invalid when that text
/// does not read (`bad`), and then tied to the form's message once one is
/// shown.
fn number_field(f: &NumberField, value: &UseStateHandle<String>, bad: bool, shown: bool) -> Html {
    let oninput = {
        let value = value.clone();
        Callback::from(move |e: InputEvent| value.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let help = format!("{}-help", f.id);
    let described = if bad && shown { format!("{help} send-error") } else { help.clone() };
    let class = format!("field field-{}", f.id.trim_start_matches("send-"));
    html! {
        <div {class}>
            <label for={f.id}>{ f.label }</label>
            <input id={f.id} type="text" inputmode="numeric" value={(**value).clone()} {oninput}
                placeholder={f.placeholder} title={f.title}
                aria-invalid={bad.to_string()} aria-describedby={described} />
            <span id={help} class="visually-hidden">{ f.help }</span>
        </div>
    }
}

#[function_component(SendForm)]
pub fn send_form(props: &SendFormProps) -> Html {
    let init = props.initial.clone();
    // A host named as the source (a preset's `client`) shows as the
    // option the form gives that host (`client:IP` for a LAN client).
    let from = use_state(|| {
        let f = init.as_ref().map(|s| s.from.clone()).unwrap_or_default();
        (props.targets.iter())
            .find_map(|t| match t {
                Target::Host {
                    name, kind, addr, ..
                } if *name == f => Some(host_value(name, *kind, *addr)),
                _ => None,
            })
            .unwrap_or(f)
    });
    let to = use_state(|| init.as_ref().map(|s| s.to.clone()).unwrap_or_default());
    let proto = use_state(|| init.as_ref().map_or(Proto::Tcp, |s| s.proto));
    // The IP TTL the packet leaves with, as typed (64, Linux's default).
    let ttl = use_state(|| init.as_ref().and_then(|s| s.ttl).unwrap_or(64).to_string());
    // The bytes of data after the transport header (0: headers alone).
    let len = use_state(|| init.as_ref().map_or(0, |s| s.payload_len).to_string());
    // The source port, as typed (empty: an ephemeral one).
    let sport = use_state(|| init.as_ref().and_then(|s| s.src_port).map(|p| p.to_string()).unwrap_or_default());
    // The sending program's uid, as typed (empty: 0).
    let uid = use_state(|| init.as_ref().and_then(|s| s.uid).map(|u| u.to_string()).unwrap_or_default());
    let flags = use_state(|| {
        init.as_ref().and_then(|s| s.flags).unwrap_or(TcpFlags {
            syn: true,
            ..Default::default()
        })
    });
    let error = use_state(|| None::<String>);
    // Wait's seconds, as typed (30: UDP's timeout in conntrack).
    let wait = use_state(|| "30".to_string());
    let bad_wait = use_state(|| false);

    let hosts: Vec<&Target> = hosts_of(&props.targets).collect();
    let known_host = hosts.iter().any(|t| {
        matches!(t, Target::Host { name, kind, addr, .. } if host_value(name, *kind, *addr) == *from)
    });
    // A LAN client the scenario does not have (`client:IP`) is typed.
    let other = !known_host && from.starts_with(OTHER);

    let onfrom = {
        let from = from.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            from.set(if v == OTHER {
                "client:192.168.11.201".into()
            } else {
                v
            });
        })
    };
    let onother = {
        let from = from.clone();
        Callback::from(move |e: InputEvent| {
            let v = e.target_unchecked_into::<HtmlInputElement>().value();
            from.set(format!("{OTHER}{}", v.trim()));
        })
    };
    // What a destination of a Service port is sent as: that port's
    // protocol (picking a UDP DNS port switches to UDP).
    let port_protos: Vec<(String, Proto)> = (props.targets.iter())
        .flat_map(|t| match t {
            Target::Service { name, port_name, cluster_ip, port, proto, .. } => {
                let short = name.rsplit('/').next().unwrap_or(name);
                let mut v = vec![format!("{cluster_ip}:{port}")];
                if port_name.is_empty() {
                    v.extend([short.to_string(), name.clone()]);
                } else {
                    v.extend([format!("{short}:{port_name}"), format!("{name}:{port_name}")]);
                }
                v.into_iter().map(|x| (x, *proto)).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    let onto = {
        let (to, proto) = (to.clone(), proto.clone());
        Callback::from(move |e: InputEvent| {
            let v = e.target_unchecked_into::<HtmlInputElement>().value();
            // (Not a ping: the learner chose ICMP, and hears why a port
            // does not go with it.)
            if let Some((_, p)) = port_protos.iter().find(|(x, _)| *x == v.trim()) {
                if *p != *proto && *proto != Proto::Icmp && matches!(p, Proto::Tcp | Proto::Udp) {
                    proto.set(*p);
                }
            }
            to.set(v)
        })
    };
    let onproto = {
        let (proto, to) = (proto.clone(), to.clone());
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            let p = Proto::parse(&v).unwrap_or(Proto::Tcp);
            // A ping goes to an address: an address's port is let go.
            if let (Proto::Icmp, Some((ip, _))) = (p, to.trim().rsplit_once(':')) {
                if ip.parse::<Ipv4Addr>().is_ok() {
                    to.set(ip.to_string());
                }
            }
            proto.set(p);
        })
    };
    // The source's rules test the sending program's uid.
    let asks_uid = hosts_of(&props.targets).any(|t| {
        matches!(t, Target::Host { name, kind, addr, owner: true, .. } if host_value(name, *kind, *addr) == *from)
    });
    {
        let ondraft = props.ondraft.clone();
        // (The uid only where the form asks for it, as Send takes it.)
        let uid_typed = if asks_uid { (*uid).clone() } else { String::new() };
        use_effect_with(((*from).clone(), (*to).clone(), *proto, *flags, (*ttl).clone(), (*len).clone(), (*sport).clone(), uid_typed), move |(f, t, p, fl, ttl, len, sport, uid)| {
            let mut spec = SendSpec::new(f, t.trim(), *p);
            if *p == Proto::Tcp {
                spec.flags = Some(*fl);
            }
            spec.ttl = parse_ttl(ttl).ok().flatten();
            spec.payload_len = parse_len(len).unwrap_or(0);
            spec.src_port = parse_sport(sport).ok().flatten().filter(|_| *p != Proto::Icmp);
            spec.uid = parse_uid(uid).ok().flatten();
            ondraft.emit(spec);
        });
    }
    let onsubmit = {
        let sport_typed = sport.clone();
        let uid_typed = uid.clone();
        let (from, to, proto, flags, error, ttl, len) = (
            from.clone(),
            to.clone(),
            proto.clone(),
            flags.clone(),
            error.clone(),
            ttl.clone(),
            len.clone(),
        );
        let onsend = props.onsend.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let t = to.trim();
            if t.is_empty() {
                error.set(Some(match *proto {
                    Proto::Icmp => "Say where the ping goes: an address (172.16.225.112).",
                    _ => "Say where the packet goes: a Service name (flask-ui) or an address with a port (172.16.225.112:80).",
                }.into()));
                return;
            }
            if let Some(ip) = from.strip_prefix(OTHER) {
                if ip.parse::<Ipv4Addr>().is_err() {
                    error.set(Some(format!(
                        "\"{ip}\" is not an IPv4 address for the LAN client."
                    )));
                    return;
                }
            }
            // Every field's mistake at once, not one per Send.
            let sport = match *proto {
                Proto::Icmp => Ok(None),
                _ => parse_sport(&sport_typed),
            };
            let uid = if asks_uid { parse_uid(&uid_typed) } else { Ok(None) };
            let (ttl, len, sport, uid) = match (parse_ttl(&ttl), parse_len(&len), sport, uid) {
                (Ok(ttl), Ok(len), Ok(sport), Ok(uid)) => (ttl, len, sport, uid),
                (ttl, len, sport, uid) => {
                    let said: Vec<String> = [ttl.err(), len.err(), sport.err(), uid.err()].into_iter().flatten().collect();
                    error.set(Some(said.join(" ")));
                    return;
                }
            };
            error.set(None);
            let mut spec = SendSpec::new(&from, t, *proto);
            if *proto == Proto::Tcp {
                spec.flags = Some(*flags);
            }
            spec.ttl = ttl;
            spec.payload_len = len;
            spec.src_port = sport;
            spec.uid = uid;
            onsend.emit(spec);
        })
    };

    let flag_boxes = FLAGS.iter().map(|name| {
        let bit = TcpFlags::parse_list(name).unwrap_or(0);
        let on = flags.bits() & bit != 0;
        let flags = flags.clone();
        let onchange = Callback::from(move |_| flags.set(TcpFlags::from_bits(flags.bits() ^ bit)));
        html! {
            <label class="flag" key={*name}>
                <input type="checkbox" checked={on} {onchange} />
                { *name }
            </label>
        }
    });

    let group = |kind: HostKind, label: &str| {
        let items: Vec<Html> = hosts
            .iter()
            .filter_map(|t| match t {
                Target::Host { name, kind: k, addr, .. } if *k == kind => {
                    let value = host_value(name, *k, *addr);
                    Some(html! {
                        <option key={name.clone()} value={value.clone()} selected={value == *from}>
                            { match addr { Some(a) => format!("{name} ({a})"), None => name.clone() } }
                        </option>
                    })
                }
                _ => None,
            })
            .collect();
        if items.is_empty() {
            html! {}
        } else {
            html! { <optgroup label={label.to_string()}>{ for items }</optgroup> }
        }
    };

    // NodePorts are offered on the address of every node where kube-proxy
    // wrote rules (it opens them on each).
    let nodes: Vec<(String, Ipv4Addr)> = (props.targets.iter())
        .filter_map(|t| match t {
            Target::Host {
                name,
                kind: HostKind::Node,
                addr: Some(a),
                rules: true,
                ..
            } => Some((name.clone(), *a)),
            _ => None,
        })
        .collect();
    let ping = *proto == Proto::Icmp;
    // Examples from this scenario: a pod's address, a Service's name.
    let pod_addr = (props.targets.iter())
        .find_map(|t| match t {
            Target::Host { kind: HostKind::Pod, addr: Some(a), .. } => Some(a.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "10.244.1.7".into());
    let service = (props.targets.iter()).find_map(|t| match t {
        Target::Service { name, port, .. } => Some((name.rsplit('/').next().unwrap_or(name).to_string(), *port)),
        _ => None,
    });
    let placeholder = match (&service, ping) {
        (_, true) => pod_addr.clone(),
        (Some((name, port)), false) => format!("{name} or {pod_addr}:{port}"),
        (None, false) => format!("{pod_addr}:80"),
    };
    let suggestions = props.targets.iter().flat_map(|t| match t {
        // A ping goes to an address, a host's own (an echo has no port).
        Target::Host { name, kind, addr: Some(a), .. } if ping => vec![html! {
            <option value={a.to_string()}>{ format!("{} {name} ({a})", kind_name(*kind)) }</option>
        }],
        _ if ping => Vec::new(),
        Target::Service { name, port_name, cluster_ip, port, proto, node_port, ingress } => {
            let short = name.rsplit('/').next().unwrap_or(name).to_string();
            let mut v = vec![html! {
                <option value={if port_name.is_empty() { short.clone() } else { format!("{short}:{port_name}") }}>
                    { format!("Service {name}: {cluster_ip}:{port}/{proto}") }
                </option>
            }];
            for (node, addr) in nodes.iter().filter(|_| node_port.is_some()) {
                let np = node_port.unwrap_or_default();
                v.push(html! { <option value={format!("{addr}:{np}")}>{ format!("NodePort {np} of {name} on {node}") }</option> });
            }
            for ip in ingress {
                v.push(html! { <option value={format!("{ip}:{port}")}>{ format!("LoadBalancer {ip}:{port} of {name}") }</option> });
            }
            v
        }
        Target::Host { name, kind, addr: Some(a), ports, .. } => ports
            .iter()
            .map(|(p, port)| html! {
                <option value={format!("{a}:{port}")}>{ format!("{} {name} ({}) {p}/{port}", kind_name(*kind), a) }</option>
            })
            .collect(),
        _ => Vec::new(),
    });

    // The form's own check, else why the engine could not send it (the
    // engine's words say which part of the request is at fault).
    let problem = (*error).clone().or_else(|| props.failed.clone().map(|e| format!("Not sent: {e}.")));
    // A refusal is said under the form, which may end below the window.
    use_effect_with(problem.clone(), |p| {
        if p.is_some() {
            crate::ui::browser::reveal("send-error");
        }
    });
    let no_to = error.is_some() && to.trim().is_empty();
    // A send refused for its destination (no such Service, no port).
    // (The engine's refusals are about the destination, except those
    // about the source: no such host, a bad LAN client address.)
    let bad_to = no_to
        || props.failed.as_ref().is_some_and(|e| {
            let source = ["no host named", "LAN", "client host", "is not an IPv4 address", "already belongs", "load balancer", "no data on its SYN", "one IPv4 packet"];
            !source.iter().any(|w| e.contains(w))
        });
    // A field whose text does not read is marked so, and tied to the
    // message under the form once a Send has said it.
    let (bad_ttl, bad_len, bad_sport, bad_uid) = (
        parse_ttl(&ttl).is_err(),
        parse_len(&len).is_err(),
        parse_sport(&sport).is_err(),
        parse_uid(&uid).is_err(),
    );
    let shown = problem.is_some();
    html! {
        <form class="send-form" {onsubmit} aria-describedby="send-help">
            <div class="field">
                <label for="send-from">{ "From" }</label>
                <select id="send-from" onchange={onfrom}>
                    { group(HostKind::Client, "Clients on the LAN") }
                    { group(HostKind::Pod, "Pods") }
                    { group(HostKind::Node, "Nodes") }
                    <option value={OTHER} selected={other}>{ "Another address on the LAN…" }</option>
                </select>
                if other {
                    <input id="send-from-ip" type="text" inputmode="decimal" aria-label="LAN client address"
                        value={from.strip_prefix(OTHER).unwrap_or("").to_string()} oninput={onother} />
                }
            </div>
            <div class="field">
                <label for="send-to">{ "To" }</label>
                <input id="send-to" type="text" list="send-to-list" value={(*to).clone()} oninput={onto}
                    {placeholder} autocomplete="off" spellcheck="false"
                    aria-invalid={bad_to.to_string()}
                    aria-describedby={problem.is_some().then_some("send-error")} />
                <datalist id="send-to-list">{ for suggestions }</datalist>
            </div>
            <div class="field-pair">
            <div class="field field-proto">
                <label for="send-proto">{ "Protocol" }</label>
                <select id="send-proto" onchange={onproto}>
                    { for [Proto::Tcp, Proto::Udp, Proto::Icmp].iter().map(|p| html! {
                        <option value={p.to_string()} selected={*p == *proto}>{ p.to_string().to_ascii_uppercase() }</option>
                    }) }
                </select>
            </div>
            { number_field(&NumberField { id: "send-ttl", label: "TTL", placeholder: None,
                title: "The IP time to live the packet leaves with: each router takes one, and the one that takes the last answers ICMP time exceeded (64, Linux's default; lower it hop by hop to trace the route)",
                help: "Each router takes one; at 0 the router answers ICMP time exceeded." }, &ttl, bad_ttl, shown) }
            if *proto != Proto::Icmp {
                { number_field(&NumberField { id: "send-sport", label: "Src port", placeholder: Some("auto"),
                    title: "The source port the packet leaves from: empty for an ephemeral port the kernel picks (a new one each Send); the same port twice is the same connection to conntrack",
                    help: "Empty for an ephemeral port; the same port twice is the same connection." }, &sport, bad_sport, shown) }
            }
            { number_field(&NumberField { id: "send-len", label: "Data", placeholder: None,
                title: "Bytes of data after the TCP, UDP or ICMP header (0: the headers alone). A packet larger than an MTU on its way stops there: its socket refuses it, or a router answers ICMP fragmentation needed",
                help: "Bytes of data after the header; a packet larger than an MTU on its way stops there." }, &len, bad_len, shown) }
            if asks_uid {
                { number_field(&NumberField { id: "send-uid", label: "UID", placeholder: Some("0"),
                    title: "The uid of the program that sends the packet, which this host's rules test (-m owner --uid-owner; Istio's sidecar lets its proxy, uid 1337, out as sent and redirects every other program): empty for 0, root",
                    help: "The sending program's uid, which -m owner tests; empty for 0." }, &uid, bad_uid, shown) }
            }
            </div>
            if *proto == Proto::Tcp {
                <fieldset class="field flags">
                    <legend>{ "TCP flags" }</legend>
                    { for flag_boxes }
                </fieldset>
            }
            <div class="actions">
                <button id="send-button" type="submit" class="primary">{ "Send" }<span aria-hidden="true">{ " ▶" }</span></button>
                <button id="reply-button" type="button" disabled={!props.can_reply}
                    onclick={props.onreply.reform(|_| ())}
                    title={if props.can_reply {
                        "The answer from where the packet was delivered (SYN → SYN-ACK; a ping's echo-reply), or the kernel's answer to a refused packet (its reset or ICMP error), followed back to the sender"
                    } else if props.reply_hidden {
                        "An exercise: Reply waits for the packet's last step (whether anything answers would tell how it went)"
                    } else {
                        "Nothing to answer: no packet is selected, or it was not delivered to a socket that answers (a bare ACK, a reset and an ICMP error get none) nor refused with an answer, or its answer was sent already"
                    }}>{ "Reply" }<span aria-hidden="true">{ " ↩" }</span></button>
                <button id="again-button" type="button" disabled={props.again_flags.is_none()}
                    onclick={props.onagain.reform(|_| ())}
                    title={match (&props.again_flags, &props.again_what) {
                        (Some(_), what) => format!("The selected packet{} once more, on its connection (same source port, so conntrack finds it): with its own TCP flags and data size, or the flags ticked and the data size typed here since the last packet went (RST or FIN closes it); a ping's next echo-request", what.as_ref().map(|w| format!(" ({w})")).unwrap_or_default()),
                        (None, _) => "Nothing to send again: no packet is selected, or it is the kernel's answer (a reset or an ICMP error), which it sends once".to_string(),
                    }}>
                    { "Again" }
                    // The flags it will send, in sight: they may differ
                    // from the boxes (the selected packet's own).
                    if let Some(f) = props.again_flags.as_ref().filter(|f| !f.is_empty()) {
                        <span class="again-flags">{ format!(" {f}") }</span>
                    }
                </button>
                <span class="row-break" aria-hidden="true"></span>
                <button id="clear-ct" type="button" onclick={props.onclearct.reform(|_| ())}
                    title="conntrack -F on every host">{ "Clear conntrack" }</button>
                <span class="row-break" aria-hidden="true"></span>
                <span class="wait-group">
                    <button id="wait-button" type="button" onclick={{
                        let (wait, bad, cb) = (wait.clone(), bad_wait.clone(), props.onwait.clone());
                        Callback::from(move |_| match wait.trim().parse::<u32>() {
                            Ok(n) if (1..=crate::engine::sim::MAX_WAIT).contains(&n) => {
                                bad.set(false);
                                cb.emit(n);
                            }
                            _ => bad.set(true),
                        })
                    }}
                        title="Let time pass before the next packet (packets otherwise go a second apart): conntrack's timeouts run (an unanswered UDP connection goes after 30 s, a SYN's after 120 s), and so do the ARP caches' states and the ICMP rate limit">{ "Wait" }</button>
                    <input id="wait-secs" type="number" inputmode="numeric" min="1" max={crate::engine::sim::MAX_WAIT.to_string()}
                        aria-label="Seconds to wait" aria-invalid={bad_wait.then_some("true")}
                        aria-describedby={bad_wait.then_some("wait-error")}
                        value={(*wait).clone()}
                        oninput={{
                            let (wait, bad) = (wait.clone(), bad_wait.clone());
                            Callback::from(move |e: InputEvent| {
                                wait.set(e.target_unchecked_into::<HtmlInputElement>().value());
                                bad.set(false);
                            })
                        }} />
                    <span aria-hidden="true">{ "s" }</span>
                </span>
            </div>
            if *bad_wait {
                <p id="wait-error" class="form-error" role="alert">{ format!("Wait takes a number of seconds from 1 to {} (10 days).", crate::engine::sim::MAX_WAIT) }</p>
            }
            if let Some(n) = props.waiting {
                <p id="waiting" class="hint waiting" role="status">
                    { format!("The next packet goes {} after the last: conntrack's timeouts run meanwhile. ", crate::ui::model::duration(n)) }
                    <button type="button" class="link-button" id="unwait" onclick={props.onunwait.reform(|_| ())}>{ "Take the wait back" }</button>
                </p>
            }
            if let Some(e) = &problem {
                <p id="send-error" class="form-error" role="alert">{ e.clone() }</p>
            }
        </form>
    }
}
