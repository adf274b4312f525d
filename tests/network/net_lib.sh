# Shared by the network tests (sourced): a pod network namespace as a CNI
# bridge/ptp plugin leaves it, and bundles that join it.

# net_bundle SOURCE_CONFIG DIR ROOTFS NETNS_PATH [ARG...]: DIR/config.json is
# SOURCE_CONFIG with root.path ROOTFS, its network namespace at NETNS_PATH
# and, given ARGs, that process. ping gets CAP_NET_RAW: a new namespace's
# ping_group_range allows no ICMP datagram sockets, so busybox ping needs a
# raw one (runc's and ours alike).
net_bundle() {
  local source=$1 dir=$2 rootfs=$3 netns=$4
  shift 4
  mkdir -p "$dir"
  python3 - "$source" "$dir/config.json" "$rootfs" "$netns" "$@" <<'PY'
import json, sys
source, target, rootfs, netns = sys.argv[1:5]
args = sys.argv[5:]
c = json.load(open(source))
c["root"]["path"] = rootfs
if args:
    c["process"]["args"] = args
namespaces = c["linux"]["namespaces"]
network = [ns for ns in namespaces if ns["type"] == "network"]
if not network:
    network = [{"type": "network"}]
    namespaces.append(network[0])
network[0]["path"] = netns
for kind in ("bounding", "effective", "permitted"):
    if "CAP_NET_RAW" not in c["process"]["capabilities"][kind]:
        c["process"]["capabilities"][kind].append("CAP_NET_RAW")
json.dump(c, open(target, "w"), indent=2)
PY
}

# make_pod_netns NAME MAC: netns NAME with eth0 (MAC, MTU 1400,
# 10.200.0.2/24, fd00:200::2/64, default routes via the host end) and the
# host end veth-host (10.200.0.1/24, fd00:200::1/64). Run inside the test host.
make_pod_netns() {
  local name=$1 mac=$2
  (
    set -e
    ip link set lo up  # the host end's own address is reached through it
    ip netns add "$name"
    ip link add veth-host mtu 1400 type veth peer name eth0 netns "$name"
    ip addr add 10.200.0.1/24 dev veth-host
    ip addr add fd00:200::1/64 dev veth-host nodad
    ip link set veth-host up
    ip -n "$name" link set lo up
    ip -n "$name" link set eth0 address "$mac" mtu 1400
    ip -n "$name" addr add 10.200.0.2/24 dev eth0
    ip -n "$name" addr add fd00:200::2/64 dev eth0 nodad
    ip -n "$name" link set eth0 up
    ip -n "$name" route add default via 10.200.0.1
    ip -n "$name" -6 route add default via fd00:200::1
  )
}
