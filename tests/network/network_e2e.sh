#!/usr/bin/env bash
# e2e test of pod networking on real microVMs (through the test host where
# the machine has no hardware KVM): a config.json whose
# linux.namespaces[network] has a path (/var/run/netns/NAME, as a CNI
# plugin leaves it) gets its veth mirrored into a TAP (sbxtap0, tc ingress
# redirects both ways), and the guest a NIC with the veth's name, MAC, MTU,
# addresses and routes. Asserted from inside the container (what it sees of
# its network, ping v4/v6, a fetch from a host server) and from the host (a
# fetch from a server in the container, v4 and v6), the probe again in two
# sandboxes restored from a VM template with a NIC; runc run of the same
# bundle in the same namespace as a peer; after delete no TAP, no ingress
# qdisc, no sandbox-vmm, no state; and the refusals (a missing namespace, an
# interface kind that cannot be mirrored, a TAP name taken) leave nothing.
#   network_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT
set -euo pipefail
rt=$(realpath "${1:?usage: network_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/network-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT

guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
# The probe: what the container sees of its network, then traffic out of it.
"$repo/rootfs-builder/busybox-bundle.sh" "$rt" "$work/probe" /bin/sh /probe.sh
rootfs=$work/probe/rootfs
cat > "$rootfs/probe.sh" <<'PROBE'
echo "== link"; ip -o link show eth0 2>&1
echo "== addr"; ip -o addr show dev eth0 2>&1
echo "== route"; ip route 2>&1
echo "== route6"; ip -6 route 2>&1
echo "== mtu"; cat /sys/class/net/eth0/mtu 2>&1
echo "== mac"; cat /sys/class/net/eth0/address 2>&1
echo "== ping4"; ping -c 3 -W 5 10.200.0.1 2>&1; echo "rc=$?"
echo "== ping6"; ping -6 -c 3 -W 5 fd00:200::1 2>&1; echo "rc=$?"
# The local port of the guest's first TCP connection (to the host's server),
# in hex: the kernel derives it from secrets it draws at their first use
# (later ports also from the CRNG's state).
# The connection stays open (the server waits for a request) until nc is killed.
echo "== sport"
sleep 60 | nc 10.200.0.1 8080 > /dev/null 2>&1 &
nc_pid=$!
for i in $(seq 100); do
  port=$(awk '$3 ~ /:1F90$/ { split($2, address, ":"); print address[2] }' /proc/net/tcp)
  [ -n "$port" ] && break
  sleep 0.1
done
echo "$port"
kill "$nc_pid"
echo "== wget"; timeout 60 wget -q -O - http://10.200.0.1:8080/hello.txt 2>&1; echo "rc=$?"
echo "== end"
PROBE
mkdir -p "$rootfs/www" "$work/host-www"
echo "served from the container" > "$rootfs/www/index.html"
echo "served from the host" > "$work/host-www/hello.txt"

. "$repo/tests/network/net_lib.sh"
netbundle() { local dir=$1; shift; net_bundle "$work/probe/config.json" "$dir" "$rootfs" "$@"; }
netbundle "$work/probe" /var/run/netns/sbx-e2e-a
netbundle "$work/web" /var/run/netns/sbx-e2e-a busybox httpd -f -p 9090 -h /www
netbundle "$work/nope" /var/run/netns/nope /bin/true
netbundle "$work/unmirrorable" /var/run/netns/sbx-e2e-b /bin/true
netbundle "$work/taken" /var/run/netns/sbx-e2e-c /bin/true

# Nested under TCG a guest can take more than the default 60 s to boot.
echo '{"boot_timeout_ms": 180000}' > "$work/runtime.json"
# Section 2b: sandboxes restored from a VM template with a NIC.
templates=/run/sandbox-rt-net-e2e-templates
echo "{\"boot_timeout_ms\": 180000, \"vm_templates\": true, \"template_dir\": \"$templates\"}" > "$work/runtime-template.json"
cat > "$work/inner.sh" <<INNER
set -u
export SANDBOX_RT_GUEST_DIR="$guest" SANDBOX_RT_VMM="$vmm" SANDBOX_RT_CONFIG="$work/runtime.json"
rt="$rt"
work="$work"
repo="$repo"
root=/run/sandbox-rt-net-e2e
runc_root=/run/runc-net-e2e
templates="$templates"
INNER
cat >> "$work/inner.sh" <<'INNER'
. "$repo/tests/lib/checks.sh"
. "$repo/tests/lib/sandbox-rt-calls.sh"
. "$repo/tests/network/net_lib.sh"
# A retried test host runs this again: nothing of the first run may count.
rm -f "$work"/*.out "$work"/*.err
mac=02:aa:bb:cc:dd:01
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  for id in $("$rt" --root "$root" list -q 2>/dev/null); do timeout -k 10 120 "$rt" --root "$root" delete --force "$id"; done
  timeout -k 10 60 runc --root "$runc_root" delete --force net-runc 2>/dev/null
  for ns in sbx-e2e-a sbx-e2e-b sbx-e2e-c; do ip netns del "$ns" 2>/dev/null; done
  ip link del veth-host 2>/dev/null
  ip link del veth-c 2>/dev/null
  rm -rf "$templates"
  return 0
}
trap cleanup EXIT
# logs ID FILE: what went wrong, for a FAIL line's reader.
logs() {
  sed "s/^/  [$1 stderr] /" "$2" 2>/dev/null
  local log
  for log in monitor.log vmm.log console.log; do tail -n 15 "$root/$1/$log" 2>/dev/null | sed "s/^/  [$1 $log] /"; done
}
# section FILE NAME: the lines the probe printed under "== NAME".
section() { awk -v name="== $2" '$0 == name {on = 1; next} /^== / {on = 0} on' "$1"; }
# The probe's facts that runc and sandbox-rt must agree on: no link-local
# addresses, interface indices, metrics or protocols.
addresses() { section "$1" addr | grep -o 'inet6\? [0-9a-f.:]*/[0-9]*' | grep -v ' fe80:' | sort; }
default_route() { section "$1" "$2" | grep '^default' | grep -o 'default via [^ ]* dev [^ ]*'; }
# (runc's veth shows as eth0@ifN: the peer's index, dropped.)
link_name() { section "$1" link | sed -n 's/^[0-9]*: \([^:@]*\)[@:].*/\1/p'; }
ping_result() { section "$1" "$2" | grep -o -e '^rc=[0-9]*' -e '[0-9.]*% packet loss' | tr '\n' ' ' | sed 's/ $//'; }
facts() {
  echo "name: $(link_name "$1")"
  echo "mac: $(section "$1" mac)"
  echo "mtu: $(section "$1" mtu)"
  addresses "$1" | sed 's/^/address: /'
  echo "route: $(default_route "$1" route)"
  echo "route6: $(default_route "$1" route6)"
  echo "ping4: $(ping_result "$1" ping4)"
  echo "ping6: $(ping_result "$1" ping6)"
  echo "wget: $(section "$1" wget | tr '\n' '|')"
}
# leftovers NETNS IFACE: the sbxtap links and ingress qdiscs on IFACE in NETNS.
taps_in() { ip -n "$1" -o link show 2>&1 | grep -o 'sbxtap[0-9]*' | sort | tr '\n' ' ' | sed 's/ $//'; }
ingress_on() { ip netns exec "$1" tc qdisc show dev "$2" 2>&1 | grep -c ingress; }
http_get() { curl -sS --noproxy '*' -g -m 10 "$1" 2>&1; }
stopped() { [ "$(state_of "$1")" = stopped ]; }

# 1. The pod's network namespace, as a CNI bridge/ptp plugin would leave it:
# a veth whose host end is the gateway, v4 and v6 with default routes.
for ns in sbx-e2e-a sbx-e2e-b sbx-e2e-c; do ip netns del "$ns" 2>/dev/null; done
make_pod_netns sbx-e2e-a "$mac" > "$work/setup.err" 2>&1
rc=$?  # (a $(...) in check's words would overwrite $?)
check "netns sbx-e2e-a with its veth $(tr '\n' ' ' < "$work/setup.err")" 0 $rc
busybox httpd -f -p 10.200.0.1:8080 -h "$work/host-www" &
server_pid=$!
wait_until 30 curl -sf --noproxy '*' -m 5 -o /dev/null http://10.200.0.1:8080/hello.txt
check "the host's HTTP server on 10.200.0.1:8080" 0 $?

# 2. run in that namespace: the guest's NIC, addresses, routes, and traffic out.
cd "$work/probe"
before=$failures
sb run net-probe < /dev/null > "$work/probe.out" 2> "$work/probe.err"; rc=$?
check "run in /var/run/netns/sbx-e2e-a: exit" 0 $rc
[ "$rc" -eq 0 ] || logs net-probe "$work/probe.err"
check "the NIC is named eth0 (the veth's name)" eth0 "$(link_name "$work/probe.out")"
check "the NIC has the veth's MAC" "$mac" "$(section "$work/probe.out" mac)"
check "the NIC has the veth's MTU" 1400 "$(section "$work/probe.out" mtu)"
check "the veth's v4 and v6 addresses" "inet 10.200.0.2/24
inet6 fd00:200::2/64" "$(addresses "$work/probe.out")"
check "the v4 default route" "default via 10.200.0.1 dev eth0" "$(default_route "$work/probe.out" route)"
check "the v6 default route" "default via fd00:200::1 dev eth0" "$(default_route "$work/probe.out" route6)"
check "ping 10.200.0.1 from the guest" "0% packet loss rc=0" "$(ping_result "$work/probe.out" ping4)"
check "ping -6 fd00:200::1 from the guest" "0% packet loss rc=0" "$(ping_result "$work/probe.out" ping6)"
check "wget from the host's server" "served from the host
rc=0" "$(section "$work/probe.out" wget)"
[ "$failures" -eq "$before" ] || sed 's/^/  [probe] /' "$work/probe.out"
check "no sbxtap left after run" "" "$(taps_in sbx-e2e-a)"
check "no ingress qdisc left on the veth after run" 0 "$(ingress_on sbx-e2e-a eth0)"

# 2b. The same probe in sandboxes restored from a VM template (runtime config
# vm_templates): the first create makes the template, whose VM has an
# unplugged NIC, then restores from it; the second restores from it at once.
# Each restored guest's NIC, which still has the template's MAC, gets the
# veth's MAC and the rest, and its traffic flows through the new TAP.
rm -rf "$templates" "$work/template-sports"
for id in net-tpl-1 net-tpl-2; do
  before=$failures
  SANDBOX_RT_CONFIG=$work/runtime-template.json sb create "$id" < /dev/null > "$work/$id.out" 2> "$work/$id.err"
  rc=$?
  check "$id: create from a template with a NIC" 0 $rc
  [ "$rc" -eq 0 ] || logs "$id" "$work/$id.err"
  sb start "$id"; check "$id: start" 0 $?
  wait_until 300 stopped "$id"; check "$id: the probe ran to its end" 0 $?
  grep -q "sandbox-agent: restored: RNG reseeded" "$root/$id/console.log"
  check "$id: its guest was restored, not booted" 0 $?
  check "$id: the same network, pings and fetch as the booted guest" "$(facts "$work/probe.out")" "$(facts "$work/$id.out")"
  sport=$(section "$work/$id.out" sport)
  check "$id: a connection to the host has a local port" 1 "$(grep -c '^[0-9A-F]\{4\}$' <<<"$sport")"
  echo "$sport" >> "$work/template-sports"
  [ "$failures" -eq "$before" ] || { sed "s/^/  [$id] /" "$work/$id.out"; logs "$id" "$work/$id.err"; }
  sb delete "$id"; check "$id: delete" 0 $?
done
# The kernel draws its network secrets (ISNs, ephemeral ports, syncookies,
# IP IDs) at their first use, which in a template's guest comes after the
# snapshot and the reseed: each clone picks its own ports. With one secret
# for all, both would pick the same port for the same connection.
check "the two restored guests picked different local ports" 2 "$(sort -u "$work/template-sports" | grep -c .)"
check "one template, with its NIC" 1 "$(ls "$templates" | grep -c -v -e '\.lock$' -e '\.new$')"
check "no sbxtap left after the restored sandboxes" "" "$(taps_in sbx-e2e-a)"
check "no ingress qdisc left after the restored sandboxes" 0 "$(ingress_on sbx-e2e-a eth0)"

# 3. Into the container: its server, fetched from the host end, v4 and v6;
# while it runs, the mirror is in the namespace.
cd "$work/web"
sb run -d net-web < /dev/null > /dev/null 2> "$work/web.err"; rc=$?
check "run -d a server in the netns" 0 $rc
[ "$rc" -eq 0 ] || logs net-web "$work/web.err"
check "state after run -d" running "$(state_of net-web)"
check "while it runs: sbxtap0 in the netns" sbxtap0 "$(taps_in sbx-e2e-a)"
check "while it runs: sbxtap0 has the veth's MTU" 1 "$(ip -n sbx-e2e-a -o link show sbxtap0 2>&1 | grep -c ' mtu 1400 ')"
check "while it runs: an ingress qdisc on the veth" 1 "$(ingress_on sbx-e2e-a eth0)"
wait_until 60 curl -sf --noproxy '*' -m 5 -o /dev/null http://10.200.0.2:9090/index.html
check "the container's server answers within 60 s" 0 $?
v4=$(http_get http://10.200.0.2:9090/index.html)
v6=$(http_get 'http://[fd00:200::2]:9090/')
check "host -> container over v4" "served from the container" "$v4"
check "host -> container over v6" "served from the container" "$v6"
if [ "$v4" != "served from the container" ] || [ "$v6" != "$v4" ]; then logs net-web "$work/web.err"; fi
sb kill net-web KILL; check "kill net-web" 0 $?
wait_until 60 stopped net-web; check "net-web stopped" 0 $?
sb delete net-web; check "delete net-web" 0 $?

# 4. After every delete: nothing of the mirror, the VMs or their state.
check "no sbxtap left in sbx-e2e-a" "" "$(taps_in sbx-e2e-a)"
check "no ingress qdisc left on sbx-e2e-a's eth0" 0 "$(ingress_on sbx-e2e-a eth0)"
check "no sandbox-vmm left" "" "$(pgrep -x sandbox-vmm)"
check "no state dir left" "" "$(ls -A "$root" 2>/dev/null)"

# 5. runc run of the same bundle joins the namespace itself: what the
# container sees and reaches must be the same.
cd "$work/probe"
timeout -k 10 300 runc --root "$runc_root" run net-runc < /dev/null > "$work/runc.out" 2> "$work/runc.err"
check "runc run in the netns: exit" 0 $?
check "runc: ping and wget worked there too" "ping4: 0% packet loss rc=0|ping6: 0% packet loss rc=0|wget: served from the host|rc=0||" \
  "$(facts "$work/runc.out" | grep -e '^ping' -e '^wget' | tr '\n' '|')"
check "runc sees the same network as sandbox-rt's guest" "$(facts "$work/runc.out")" "$(facts "$work/probe.out")"
if [ "$(facts "$work/runc.out")" != "$(facts "$work/probe.out")" ]; then
  sed 's/^/  [runc] /' "$work/runc.out"; sed 's/^/  [runc stderr] /' "$work/runc.err"
  sed 's/^/  [sandbox-rt] /' "$work/probe.out"
fi

# 6. Refusals: a clear error naming the cause, and nothing left behind.
# refused ID NAME NEEDLE: `create ID` (in the current bundle) failed with
# status 1, its error contains NEEDLE, and it left no state.
refused() {
  sb create "$1" < /dev/null > /dev/null 2> "$work/$1.err"
  check "$2: create fails" 1 $?
  grep -q -F -- "$3" "$work/$1.err"; check "$2: the error names $3" 0 $?
  grep -q -F -- "$3" "$work/$1.err" || sed "s/^/  [$1 stderr] /" "$work/$1.err"
  [ -e "$root/$1" ]; check "$2: no state dir" 1 $?
  check "$2: no sandbox-vmm" "" "$(pgrep -x sandbox-vmm)"
}
# 6a. a namespace path that does not exist.
cd "$work/nope"
refused net-nope "missing netns" /var/run/netns/nope

# 6b. an interface with an address whose kind cannot be mirrored: a bridge
# (the test host loads bridge), else a dummy.
ip netns add sbx-e2e-b && ip -n sbx-e2e-b link set lo up
kind=
for candidate in bridge dummy; do
  if ip -n sbx-e2e-b link add br-x type "$candidate" 2>> "$work/kind.err"; then kind=$candidate; break; fi
done
if [ -z "$kind" ]; then
  echo "skip unmirrorable kind: neither a bridge nor a dummy can be made here: $(tr '\n' ' ' < "$work/kind.err")"
else
  ip -n sbx-e2e-b addr add 10.201.0.1/24 dev br-x && ip -n sbx-e2e-b link set br-x up
  check "netns sbx-e2e-b with a $kind br-x" 0 $?
  cd "$work/unmirrorable"
  refused net-kind "an addressed $kind" br-x
  grep -q -w "$kind" "$work/net-kind.err"; check "an addressed $kind: the error names the kind" 0 $?
  check "an addressed $kind: no sbxtap in sbx-e2e-b" "" "$(taps_in sbx-e2e-b)"
  check "an addressed $kind: no ingress qdisc on br-x" 0 "$(ingress_on sbx-e2e-b br-x)"
fi

# 6c. sbxtap0 already there (another sandbox's, or anyone's): refused, and
# it is not ours to delete.
(
  set -e
  ip netns add sbx-e2e-c
  ip link add veth-c type veth peer name eth0 netns sbx-e2e-c
  ip link set veth-c up
  ip -n sbx-e2e-c addr add 10.202.0.2/24 dev eth0
  ip -n sbx-e2e-c link set eth0 up
  ip -n sbx-e2e-c tuntap add sbxtap0 mode tap
) > "$work/setup-c.err" 2>&1
rc=$?  # (a $(...) in check's words would overwrite $?)
check "netns sbx-e2e-c with a veth and a TAP sbxtap0 $(tr '\n' ' ' < "$work/setup-c.err")" 0 $rc
cd "$work/taken"
refused net-taken "sbxtap0 taken" sbxtap0
check "sbxtap0 taken: the TAP that was there is still there, alone" sbxtap0 "$(taps_in sbx-e2e-c)"
check "sbxtap0 taken: no ingress qdisc on the veth" 0 "$(ingress_on sbx-e2e-c eth0)"

# 7. nothing left at all.
check "no containers left" "" "$(ls -A "$root" 2>/dev/null)"
check "no sandbox-vmm left" "" "$(pgrep -x sandbox-vmm)"
check "no monitor left" "" "$(pgrep -f 'sandbox-rt __monitor')"
echo "failures: $failures"
[ "$failures" -eq 0 ]
INNER
"$repo/tests/testhost/run.sh" --timeout 1500 --mem 3072 -- bash "$work/inner.sh"
