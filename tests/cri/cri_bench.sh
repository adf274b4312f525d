#!/usr/bin/env bash
# Benchmark (label bench; prints, asserts no speed): the time kubelet waits
# for a pod's first container through containerd's CRI plugin —
# RunPodSandbox + CreateContainer + StartContainer, until StartContainer
# returns with the process running — for the sandbox-rt runtime handler
# (a microVM per pod) against containerd's runc handler (io.containerd.runc.v2),
# same test host, same images, N pods each (default 5, CRI_BENCH_N), and the
# ratio of the medians.
#   cri_bench.sh SHIM SANDBOX_VMM SANDBOX_AGENT CRI_CLIENT
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shim=$(realpath "${1:?usage: cri_bench.sh SHIM SANDBOX_VMM SANDBOX_AGENT CRI_CLIENT}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}") cri_client=$(realpath "${4:?}")
source "$repo/tests/lib/bench.sh"
runs=$(bench_size cri_bench "${CRI_BENCH_N:-5}" 3)
. "$repo/tests/lib/containerd-e2e.sh"
containerd_e2e_workdir cri-bench
cri_e2e_prepare "$work" "$shim" "$agent"

containerd_e2e_inner_header cri_client="$cri_client" runs="$runs"
cat >> "$work/inner.sh" <<'INNER'
. "$repo/tests/cri/cri_lib.sh"
trap cri_cleanup EXIT
cri_start
container_config sleeper '["/bin/sleep", "1000"]'
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for handler in runc sandbox-rt; do
  : > "$work/$handler.ms"
  for i in $(seq "$runs"); do
    pod_config "$handler-$i"
    started=$(date +%s%N)
    pod=$(runp "$handler-$i" "$handler") &&
      id=$(cri create "$pod" "$work/sleeper.json" "$work/$handler-$i.pod.json") && cri start "$id" > /dev/null
    rc=$?
    ms=$(( ($(date +%s%N) - started) / 1000000 ))
    [ "$rc" -eq 0 ] && [ "$(state_of "$id")" = CONTAINER_RUNNING ]
    check "$handler pod $i: its container runs (${ms} ms)" 0 $?
    echo "$ms" >> "$work/$handler.ms"
    cri stopp "$pod" > /dev/null 2>&1; cri rmp "$pod" > /dev/null 2>&1
  done
done
ours=$(median < "$work/sandbox-rt.ms") theirs=$(median < "$work/runc.ms")
echo "cri_bench: RunPodSandbox+CreateContainer+StartContainer, median of $runs:" \
     "sandbox-rt $ours ms, runc $theirs ms, ratio $(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
cri_cleanup
trap - EXIT
[ "$failures" -eq 0 ] || { echo "--- containerd log"; grep -v 'level=info msg="loading plugin' "$work/containerd.log" | tail -n 40; }
exit $(( failures > 0 ))
INNER
"$repo/tests/testhost/run.sh" --timeout 900 --mem 3072 -- bash "$work/inner.sh"
