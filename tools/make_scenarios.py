#!/usr/bin/env python3
"""Writes the built-in scenarios (src/engine/scenarios/*.json).

The JSON files are the source of truth the engine embeds; this script is how
they were written, kept so a change to the shared parts (node8's rules, the
other nodes) stays consistent across scenarios. Run it from the repo root.
"""
import json

LAN = "lan"
CLUSTER_CIDR = "172.16.0.0/16"
NODE8 = "192.168.11.58"
NODES = {  # name: (LAN address, pod block) -- from the article's route -n
    "node51": ("192.168.11.51", "172.16.166.128/26"),
    "node52": ("192.168.11.52", "172.16.104.0/26"),
    "node53": ("192.168.11.53", "172.16.135.0/26"),
    "node54": ("192.168.11.54", "172.16.3.64/26"),
    "node8": (NODE8, "172.16.225.64/26"),
}
FLASK_IP = "10.96.100.10"
API_IP = "10.96.45.12"


def block_first(block):
    net, _ = block.split("/")
    return net


def node_routes(name, pods):
    addr, block = NODES[name]
    lines = ["default via 192.168.11.1 dev ens33 proto static metric 100"]
    for other, (oaddr, oblock) in sorted(NODES.items(), key=lambda kv: [int(x) for x in kv[1][1].split("/")[0].split(".")]):
        if other != name:
            lines.append(f"{oblock} via {oaddr} dev tunl0 proto bird onlink")
        else:
            lines.append(f"blackhole {block} proto bird")
            for pod_ip, veth in pods:
                lines.append(f"{pod_ip} dev {veth} scope link")
    lines.append("172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown")
    lines.append(f"192.168.11.0/24 dev ens33 proto kernel scope link src {addr} metric 100")
    return lines


FILTER = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":KUBE-EXTERNAL-SERVICES - [0:0]",
    ":KUBE-FIREWALL - [0:0]",
    ":KUBE-FORWARD - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-PROXY-FIREWALL - [0:0]",
    ":KUBE-SERVICES - [0:0]",
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    "-A INPUT -j KUBE-FIREWALL",
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    "-A OUTPUT -j KUBE-FIREWALL",
    '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    f'-A KUBE-SERVICES -d {API_IP}/32 -p tcp -m comment --comment "ms-test/flask-api:http has no endpoints" -m tcp --dport 5000 -j REJECT --reject-with icmp-port-unreachable',
    "COMMIT",
]


def nat(flask_sep, flask_ep):
    svc = "KUBE-SVC-7RUAH544RSSBQYKK"
    ext = "KUBE-EXT-7RUAH544RSSBQYKK"
    api_svc, api_sep = "KUBE-SVC-NPX46M4PTMTKRN6Y", "KUBE-SEP-NU5CYT6P4YW6BXWC"
    chains = sorted(["KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-SERVICES", svc, ext, flask_sep, api_svc, api_sep])
    ep_ip = flask_ep.split(":")[0]
    rules = {
        "KUBE-MARK-MASQ": ["-j MARK --set-xmark 0x4000/0x4000"],
        "KUBE-NODEPORTS": [f'-p tcp -m comment --comment "ms-test/flask-ui:http" -m tcp --dport 30080 -j {ext}'],
        "KUBE-POSTROUTING": [
            "-m mark ! --mark 0x4000/0x4000 -j RETURN",
            "-j MARK --set-xmark 0x4000/0x0",
            '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
        ],
        flask_sep: [
            f'-s {ep_ip}/32 -m comment --comment "ms-test/flask-ui:http" -j KUBE-MARK-MASQ',
            f'-p tcp -m comment --comment "ms-test/flask-ui:http" -m tcp -j DNAT --to-destination {flask_ep}',
        ],
        api_sep: [
            '-s 192.168.11.51/32 -m comment --comment "default/kubernetes:https" -j KUBE-MARK-MASQ',
            '-p tcp -m comment --comment "default/kubernetes:https" -m tcp -j DNAT --to-destination 192.168.11.51:6443',
        ],
        "KUBE-SERVICES": [
            f'-d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j {api_svc}',
            f'-d {FLASK_IP}/32 -p tcp -m comment --comment "ms-test/flask-ui:http cluster IP" -m tcp --dport 80 -j {svc}',
            '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
        ],
        svc: [
            f'! -s {CLUSTER_CIDR} -d {FLASK_IP}/32 -p tcp -m comment --comment "ms-test/flask-ui:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
            f'-m comment --comment "ms-test/flask-ui:http -> {flask_ep}" -j {flask_sep}',
        ],
        ext: [
            '-m comment --comment "masquerade traffic for ms-test/flask-ui:http external destinations" -j KUBE-MARK-MASQ',
            f"-j {svc}",
        ],
        api_svc: [
            f'! -s {CLUSTER_CIDR} -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-MARK-MASQ',
            f'-m comment --comment "default/kubernetes:https -> 192.168.11.51:6443" -j {api_sep}',
        ],
    }
    out = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]"]
    out += [f":{c} - [0:0]" for c in chains]
    out += [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ]
    for c in chains:
        out += [f"-A {c} {r}" for r in rules.get(c, [])]
    out.append("COMMIT")
    return out


def rules(flask_sep, flask_ep):
    head = "# Generated by iptables-save v1.8.7 on Tue Mar 12 10:21:07 2024"
    tail = "# Completed on Tue Mar 12 10:21:07 2024"
    return [head] + FILTER + [tail, head] + nat(flask_sep, flask_ep) + [tail]


def node(name, pods, with_rules=None, listeners=()):
    addr, block = NODES[name]
    devices = [
        {"name": "lo", "type": "loopback", "addrs": ["127.0.0.1/8"]},
        {"name": "ens33", "type": "ethernet", "lan": LAN, "addrs": [f"{addr}/24"]},
        {"name": "tunl0", "type": "ipip", "addrs": [f"{block_first(block)}/32"]},
        {"name": "docker0", "type": "bridge", "addrs": ["172.17.0.1/16"]},
    ]
    for pod_name, pod_ip, veth in pods:
        devices.append({"name": veth, "type": "veth", "peer": f"{pod_name}/eth0", "proxy_arp": True})
    h = {
        "name": name,
        "kind": "node",
        "devices": devices,
        "routes": node_routes(name, [(ip, veth) for _, ip, veth in pods]),
        "listeners": [{"proto": "tcp", "port": 22, "process": "sshd"}] + list(listeners),
    }
    if with_rules:
        h["iptables"] = with_rules
    return h


def pod(name, namespace, node_name, ip, veth, listeners):
    return {
        "name": name,
        "kind": "pod",
        "node": node_name,
        "namespace": namespace,
        "devices": [
            {"name": "lo", "type": "loopback", "addrs": ["127.0.0.1/8"]},
            {"name": "eth0", "type": "veth", "peer": f"{node_name}/{veth}", "addrs": [f"{ip}/32"]},
        ],
        "routes": ["default via 169.254.1.1 dev eth0", "169.254.1.1 dev eth0 scope link"],
        "listeners": listeners,
    }


CLIENT = {
    "name": "client",
    "kind": "client",
    "devices": [
        {"name": "lo", "type": "loopback", "addrs": ["127.0.0.1/8"]},
        {"name": "eth0", "type": "ethernet", "lan": LAN, "addrs": ["192.168.11.200/24"]},
    ],
    "routes": [
        "default via 192.168.11.1 dev eth0 proto dhcp metric 100",
        f"10.96.0.0/12 via {NODE8} dev eth0",
        "192.168.11.0/24 dev eth0 proto kernel scope link src 192.168.11.200 metric 100",
    ],
    "listeners": [],
}

SERVICES = [
    {"namespace": "ms-test", "name": "flask-ui", "cluster_ip": FLASK_IP,
     "ports": [{"name": "http", "protocol": "tcp", "port": 80, "node_port": 30080}]},
    {"namespace": "ms-test", "name": "flask-api", "cluster_ip": API_IP,
     "ports": [{"name": "http", "protocol": "tcp", "port": 5000}]},
    {"namespace": "default", "name": "kubernetes", "cluster_ip": "10.96.0.1",
     "ports": [{"name": "https", "protocol": "tcp", "port": 443}]},
]

NOTES = [
    f"node8's address is not in the article: {NODE8} is chosen (no other node uses it).",
    f"The ClusterIP of ms-test/flask-ui is not in the article: {FLASK_IP} (in 10.96.0.0/12) is chosen; its NodePort is 30080.",
    "The chain names KUBE-SVC-7RUAH544RSSBQYKK and KUBE-SEP-IWORYNCAYHBSQHXU are the article's; current kube-proxy would hash ms-test/flask-ui:http to other names.",
    "Calico's own policy chains (cali-*) and Docker's chains are left out; the kube-proxy chains are as kube-proxy writes them (iptables-save form, Kubernetes 1.28+ layout).",
    "The other nodes' names (node51-node54) follow their addresses; the article names only node8.",
    "Only node8 (and node54, where the remote endpoint runs) carries iptables rules; the other nodes have their routes only, so a packet to their NodePort is refused. In a real cluster kube-proxy writes the same chains on every node: the scenarios made from Kubernetes objects (Calico IPIP and the others) show that.",
    "The article's simplification that routing happens 'at the transport layer' is corrected here: routing steps are labelled network layer.",
]

FLASK_LISTEN = [{"proto": "tcp", "port": 80, "process": "flask (gunicorn)"}]
CURL = ("curl-7d4b9c6f5-qm2lx", "172.16.225.101", "cali3f1d2a7c9e0")


def article():
    flask = ("flask-ui-6c9f7d8b5d-x2k4p", "172.16.225.112", "cali71ca141a178")
    hosts = [
        node("node8", [flask, CURL], rules("KUBE-SEP-IWORYNCAYHBSQHXU", "172.16.225.112:80")),
        pod(flask[0], "ms-test", "node8", flask[1], flask[2], FLASK_LISTEN),
        pod(CURL[0], "ms-test", "node8", CURL[1], CURL[2], []),
        node("node51", [], listeners=[{"proto": "tcp", "port": 6443, "process": "kube-apiserver"}]),
        node("node52", []),
        node("node53", []),
        node("node54", []),
        CLIENT,
    ]
    return {
        "name": "article",
        "title": "The article's node: flask-ui served by a pod on node8",
        "description": "A client on the LAN (192.168.11.200) opens a TCP connection to the flask-ui Service. node8's nat PREROUTING sends it through KUBE-SERVICES, KUBE-SVC-7RUAH544RSSBQYKK and KUBE-SEP-IWORYNCAYHBSQHXU to DNAT 172.16.225.112:80; Calico's /32 route hands it to the veth cali71ca141a178 and the pod's eth0.",
        "notes": NOTES,
        "seed": 2024,
        "hosts": hosts,
        "services": SERVICES,
        "preset": {"from": "client:192.168.11.200", "to": "ms-test/flask-ui", "proto": "tcp"},
    }


def article_remote():
    flask = ("flask-ui-6c9f7d8b5d-r8w2n", "172.16.3.70", "cali5e8a41c7b62")
    sep = "KUBE-SEP-RYRWZACDTG7E36MG"
    ep = "172.16.3.70:80"
    hosts = [
        node("node8", [CURL], rules(sep, ep)),
        pod(CURL[0], "ms-test", "node8", CURL[1], CURL[2], []),
        node("node51", [], listeners=[{"proto": "tcp", "port": 6443, "process": "kube-apiserver"}]),
        node("node52", []),
        node("node53", []),
        node("node54", [flask], rules(sep, ep)),
        pod(flask[0], "ms-test", "node54", flask[1], flask[2], FLASK_LISTEN),
        CLIENT,
    ]
    notes = NOTES[:3] + [
        f"Here the only flask-ui endpoint runs on node54 ({flask[1]}, in node54's block 172.16.3.64/26), so node8 DNATs to it and its route 172.16.3.64/26 via 192.168.11.54 dev tunl0 onlink encapsulates the packet in IPIP.",
        f"The endpoint's chain is named as current kube-proxy hashes it ({sep}); the service chain keeps the article's name.",
    ] + NOTES[3:]
    return {
        "name": "article-remote",
        "title": "The endpoint on another node: IPIP through tunl0",
        "description": "The same Service, but its pod runs on node54. After DNAT on node8 the longest prefix is 172.16.3.64/26 via 192.168.11.54 dev tunl0 onlink: tunl0 wraps the packet in an outer IPv4 header (192.168.11.58 -> 192.168.11.54, protocol 4), node54 unwraps it on its tunl0 and delivers it through its own cali veth.",
        "notes": notes,
        "seed": 2024,
        "hosts": hosts,
        "services": SERVICES,
        "preset": {"from": "client:192.168.11.200", "to": "ms-test/flask-ui", "proto": "tcp"},
    }


for s in (article(), article_remote()):
    with open(f"src/engine/scenarios/{s['name']}.json", "w") as f:
        json.dump(s, f, indent=2)
        f.write("\n")
