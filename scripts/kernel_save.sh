#!/usr/bin/env bash
# Asks the kernel what a node's iptables-save shows after a kube-proxy sync:
# in a network namespace made for it, creates kube-proxy's canary chains,
# prepends kube-proxy's jump rules (in kube-proxy's order), loads the
# restore text given on stdin with --noflush, and prints iptables-save
# without its date lines. Needs root and iptables.
#   packetwalk generate ... --restore-input | scripts/kernel_save.sh
set -euo pipefail
ns="pw-save-$$"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
run() { ip netns exec "$ns" "$@"; }
for t in mangle nat filter; do run iptables -t "$t" -N KUBE-PROXY-CANARY; done
while IFS='|' read -r table chain rule; do
  run iptables -t "$table" -N "${rule##* }" 2>/dev/null || true
  eval "run iptables -t $table -I $chain $rule"
done <<'JUMPS'
filter|INPUT|-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
filter|FORWARD|-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
filter|INPUT|-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
filter|FORWARD|-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
filter|OUTPUT|-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
filter|FORWARD|-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
filter|INPUT|-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
filter|OUTPUT|-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
filter|FORWARD|-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
nat|OUTPUT|-m comment --comment "kubernetes service portals" -j KUBE-SERVICES
nat|PREROUTING|-m comment --comment "kubernetes service portals" -j KUBE-SERVICES
nat|POSTROUTING|-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
filter|INPUT|-j KUBE-FIREWALL
filter|OUTPUT|-j KUBE-FIREWALL
JUMPS
run iptables-restore --noflush
run iptables-save | grep -v '^#'
