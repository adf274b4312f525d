#!/usr/bin/env bash
# Benchmark (label bench): `sandbox-rt run` of a /bin/true bundle against
# `runc run` and `crun run` of the same bundle, N runs each, side by side in
# one test-host session, cold (a guest boot per run) and from a VM template
# (issue 18, item 3: runtime config vm_templates, the template made by an
# untimed run first); prints the medians and the ratios, and the breakdown
# of sandbox-rt's time (image build, VMM start, guest boot to agent ready
# split into the VMM's setup, the kernel and the agent's start,
# container create, start, run to exit, teardown, delete), then the two
# rootfs modes side by side (issue 18, item 2): `create` time and a
# file-heavy workload (busybox's tree untarred 20 times onto the rootfs)
# with rootfs_mode virtiofs and image. Asserts nothing about speed; fails
# only when a run fails.
#   run_bench.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [N]
set -euo pipefail
rt=$(realpath "${1:?usage: run_bench.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [N]}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}")
source "$(dirname "$0")/../lib/bench.sh"
runs=$(bench_size run_bench "${4:-5}" 3)
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/lifecycle-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
# Debian 12's crun 1.8 refuses newer ociVersions.
"$repo/rootfs-builder/busybox-bundle.sh" --oci-version 1.0.2 "$rt" "$work/bundle" /bin/true
# The file-heavy workload: the guest's uptime before and after untarring the
# busybox tree (one 2 MB binary, about 400 links) 20 times onto the rootfs.
"$repo/rootfs-builder/busybox-bundle.sh" "$rt" "$work/files" /bin/sh -c \
  'a=$(cut -d" " -f1 /proc/uptime); mkdir -p /scratch; for i in $(seq 20); do mkdir /scratch/$i;
   tar -xf /tree.tar -C /scratch/$i; done; sync; b=$(cut -d" " -f1 /proc/uptime); rm -rf /scratch; echo "$a $b"'
tar -cf "$work/files/rootfs/tree.tar" -C "$work/files/rootfs" bin
echo '{"rootfs_mode": "virtiofs"}' > "$work/runtime-virtiofs.json"
echo '{"rootfs_mode": "image"}' > "$work/runtime-image.json"
# Templates on the test host's tmpfs, as sandbox-rt's default template_dir is.
echo '{"vm_templates": true, "template_dir": "/run/sandbox-rt-bench-templates"}' > "$work/runtime-template.json"

cat > "$work/bench.py" <<'PY'
import os, re, select, statistics, subprocess, sys, time
rt, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
bundle = work + "/bundle"
root = "/run/sandbox-rt-bench"

def timed(argv, cwd=bundle, env=None, stdout=subprocess.DEVNULL):
    # stderr goes to a file, not a pipe: after create the container (its
    # monitor) holds the caller's stdio, as runc's container init does.
    with open(work + "/stderr", "w+") as errors:
        start = time.monotonic()
        done = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=errors, env=env)
        elapsed = (time.monotonic() - start) * 1000
        if done.returncode != 0:
            errors.seek(0)
            sys.exit(f"bench: {' '.join(argv)} failed ({done.returncode}): {errors.read()}")
    return elapsed

template_env = dict(os.environ, SANDBOX_RT_CONFIG=f"{work}/runtime-template.json")
# name: (argv of run i, environment)
peers = {
    "sandbox-rt": (lambda i: [rt, "--root", root, "run", f"bench-{i}"], None),
    "template": (lambda i: [rt, "--root", root, "run", f"tpl-{i}"], template_env),
    "runc": (lambda i: ["runc", "--root", "/run/runc-bench", "run", f"bench-{i}"], None),
    "crun": (lambda i: ["crun", "--root", "/run/crun-bench", "run", f"bench-{i}"], None),
}
made = timed(peers["template"][0]("make"), env=template_env)
print(f"template: made by the first run in {made:.0f} ms (a cold boot, then the snapshot)")
medians = {}
for name, (argv, env) in peers.items():
    times = [timed(argv(i), env=env) for i in range(runs)]
    medians[name] = statistics.median(times)
    print(f"{name:10s} run /bin/true: median {medians[name]:8.1f} ms  (N={runs}: " +
          ", ".join(f"{t:.0f}" for t in times) + ")")
print(f"ratio sandbox-rt/runc: {medians['sandbox-rt'] / medians['runc']:.1f}")
print(f"ratio sandbox-rt/crun: {medians['sandbox-rt'] / medians['crun']:.1f}")
print(f"ratio template/runc: {medians['template'] / medians['runc']:.2f}")
print(f"ratio template/crun: {medians['template'] / medians['crun']:.1f}")
print(f"ratio template/sandbox-rt (cold): {medians['template'] / medians['sandbox-rt']:.2f}")

# Breakdown: create, start, the monitor's phases, delete.
image = timed(["mkfs.erofs", "--quiet", work + "/probe.img", bundle + "/rootfs"])
os.unlink(work + "/probe.img")
create = timed([rt, "--root", root, "create", "--pid-file", work + "/pid", "parts"])
monitor = int(open(work + "/pid").read())
start = timed([rt, "--root", root, "start", "parts"])
try:
    fd = os.pidfd_open(monitor)
    select.select([fd], [], [], 120)
except ProcessLookupError:
    pass
log = open(f"{root}/parts/monitor.log").read()
phase = {m.group(1): int(m.group(2)) for m in re.finditer(r"phase (\S+) \+(\d+) ms", log)}
# Inside the guest's boot: the VMM's own setup (its log), the kernel until
# /init and the agent until ready (the guest's uptime, on its console).
vmm_log = open(f"{root}/parts/vmm.log", errors="replace").read()
console = open(f"{root}/parts/console.log", errors="replace").read()
guest_entry = int(re.search(r"entering the guest (\d+) ms after start", vmm_log).group(1))
init_at = float(re.search(r"sandbox-agent: started \(uptime ([0-9.]+) s\)", console).group(1))
ready_at = float(re.search(r"sandbox-agent: ready \(.*uptime ([0-9.]+) s\)", console).group(1))
delete = timed([rt, "--root", root, "delete", "parts"])
print("sandbox-rt breakdown (ms):")
print(f"  rootfs image (mkfs.erofs)       {image:8.1f}")
print(f"  create (CLI, total)             {create:8.1f}")
print(f"    VMM started                   {phase['vmm-started']:8d}")
print(f"    guest boot to agent ready     {phase['agent-ready'] - phase['vmm-started']:8d}")
print(f"      sandbox-vmm exec to guest   {guest_entry:8d}")
print(f"      kernel, to /init (uptime)   {init_at * 1000:8.0f}")
print(f"      agent, /init to ready       {(ready_at - init_at) * 1000:8.0f}")
print(f"    container created in guest    {phase['container-created'] - phase['agent-ready']:8d}")
print(f"  start (CLI)                     {start:8.1f}")
print(f"  teardown (DestroySandbox->exit) {phase['vm-ended'] - phase['container-exited']:8d}")
print(f"  delete (CLI)                    {delete:8.1f}")
# A sandbox restored from the template: its monitor's phases up to the
# container's creation (written before create returns).
create = timed([rt, "--root", root, "create", "parts-tpl"], env=template_env)
log = open(f"{root}/parts-tpl/monitor.log").read()
phase = {m.group(1): int(m.group(2)) for m in re.finditer(r"phase (\S+) \+(\d+) ms", log)}
timed([rt, "--root", root, "delete", "--force", "parts-tpl"], env=template_env)
print("sandbox-rt from a template, breakdown (ms):")
print(f"  create (CLI, total)             {create:8.1f}")
print(f"    VMM started                   {phase['vmm-started']:8d}")
print(f"    restore to agent ready        {phase['agent-ready'] - phase['vmm-started']:8d}")
print(f"    AfterRestore (reseed, clock)  {phase['agent-restored'] - phase['agent-ready']:8d}")
print(f"    container created in guest    {phase['container-created'] - phase['agent-restored']:8d}")

# Rootfs modes: create time (N runs, create + delete) and the workload's time
# inside the guest (one run each, `run` of the files bundle).
print("rootfs modes (runtime config rootfs_mode), same bundle:")
# The default was chosen from these (docs/measurements.md); three creates
# each keep an eye on it at a third less of the suite's time.
mode_runs = min(runs, 3)
for mode in ("virtiofs", "image"):
    env = dict(os.environ, SANDBOX_RT_CONFIG=f"{work}/runtime-{mode}.json")
    creates = []
    for i in range(mode_runs):
        creates.append(timed([rt, "--root", root, "create", f"mode-{mode}-{i}"], env=env))
        timed([rt, "--root", root, "delete", "--force", f"mode-{mode}-{i}"], env=env)
    with open(work + "/files.out", "w+") as out:
        timed([rt, "--root", root, "run", f"files-{mode}"], cwd=work + "/files", env=env, stdout=out)
        out.seek(0)
        begin, end = (float(x) for x in out.read().split()[-2:])
    print(f"  {mode:8s}: create median {statistics.median(creates):8.1f} ms (N={mode_runs}: " +
          ", ".join(f"{t:.0f}" for t in creates) + f"); busybox tree untarred 20 times: {end - begin:.2f} s")
PY
cat > "$work/inner.sh" <<INNER
export SANDBOX_RT_GUEST_DIR="$guest" SANDBOX_RT_VMM="$vmm"
exec python3 -u "$work/bench.py" "$rt" "$work" "$runs"
INNER
"$repo/tests/testhost/run.sh" --timeout 1500 --mem 3072 -- bash "$work/inner.sh"
