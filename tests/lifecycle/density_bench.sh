#!/usr/bin/env bash
# Benchmark (label bench): how many sandboxes fit side by side, and what each
# costs the host. In one test-host session it starts N sandboxes (`sandbox-rt
# run -d` of a sleeping busybox bundle, the default VM size) one after the
# other, stops early if one fails to start (and says so), then measures for
# each sandbox the PSS of every host process that belongs to it (its monitor,
# sandbox-vmm, virtiofsd: the processes whose command line names its state
# dir), and the host's MemAvailable drop divided by the count. PSS shares a
# page between the processes that map it (guest RAM is mapped by sandbox-vmm
# and virtiofsd), so the per-sandbox sums add up to the whole. Prints the
# median and the range, with RunD's published figure (< 20 MB) as the peer.
# Twice: sandboxes that boot, then sandboxes restored from a VM template
# (runtime config vm_templates; the template is made by the first start).
# Asserts nothing about size; fails only when not even one sandbox started.
#   density_bench.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [N]
set -euo pipefail
rt=$(realpath "${1:?usage: density_bench.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [N]}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}")
source "$(dirname "$0")/../lib/bench.sh"
count=$(bench_size density_bench "${4:-20}" 10)
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/density-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
"$repo/rootfs-builder/busybox-bundle.sh" "$rt" "$work/bundle" /bin/sleep 100000
# Templates on the test host's tmpfs, as sandbox-rt's default template_dir is.
echo '{"vm_templates": true, "template_dir": "/run/sandbox-rt-bench-templates"}' > "$work/runtime-template.json"

cat > "$work/bench.py" <<'PY'
import concurrent.futures, json, os, statistics, subprocess, sys, tempfile, time
rt, work, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
root = "/run/sandbox-rt-density"
modes = {"cold boots": None, "from a template": dict(os.environ, SANDBOX_RT_CONFIG=f"{work}/runtime-template.json")}

def mem_available_kib():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])

def pss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

def processes_of(state_dir):
    """Host processes whose command line names the sandbox's state dir."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        # The dir itself or a path under it ("dense-1" must not match "dense-10").
        if any(arg == state_dir.encode() or (state_dir + "/").encode() in arg for arg in argv):
            found[int(entry)] = os.path.basename(argv[0].decode(errors="replace"))
    return found

def run(argv, env=None):
    """(exit status, stderr's last 300 characters). stderr goes to a file, not
    a pipe: a detached container (its monitor) keeps the caller's stdio."""
    with tempfile.TemporaryFile("w+", dir=work) as errors:
        done = subprocess.run(argv, cwd=work + "/bundle", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=errors, timeout=600, env=env)
        errors.seek(0)
        return done.returncode, errors.read().strip()[-300:]

def measure(started, mode, env):
    subprocess.run(["sync"])
    before = mem_available_kib()
    # Two starts at a time, as a containerd starting pods side by side
    # would (it halved the bench's time on a test host of two vCPUs).
    def start(i):
        begin = time.monotonic()
        status, errors = run([rt, "--root", root, "run", "-d", f"dense-{i}"], env)
        return i, status, errors, time.monotonic() - begin
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for i, status, errors, took in pool.map(start, range(count)):
            if status != 0:
                print(f"density: sandbox {i + 1} did not start ({status}): {errors}")
                continue
            started.append(f"dense-{i}")
            print(f"density: sandbox {i + 1} running after {took:.1f} s ({len(started)} so far), "
                  f"host MemAvailable {mem_available_kib() // 1024} MiB")
    if not started:
        sys.exit(f"density ({mode}): not even one sandbox started")
    time.sleep(5)  # let the last guests settle (their boot's page cache, the agent)
    after = mem_available_kib()
    per_sandbox = []
    kinds = {}
    for name in started:
        processes = processes_of(f"{root}/{name}")
        total = 0
        for pid, kind in processes.items():
            pss = pss_kib(pid)
            total += pss
            kinds.setdefault(kind, []).append(pss)
        per_sandbox.append(total)
    mib = lambda kib: kib / 1024
    vm = json.load(open(f"{root}/{started[0]}/vmm.json"))
    print(f"density: {mode}: {len(started)} of {count} sandboxes running side by side (each VM {vm['vcpus']} vCPU, "
          f"{vm['memory_mib']} MiB)")
    print(f"density: PSS per sandbox (monitor + sandbox-vmm + virtiofsd): median {mib(statistics.median(per_sandbox)):.1f} MiB, "
          f"min {mib(min(per_sandbox)):.1f}, max {mib(max(per_sandbox)):.1f}")
    for kind, values in sorted(kinds.items()):
        print(f"density:   {kind:12s} {len(values):3d} processes, PSS median {mib(statistics.median(values)):.1f} MiB")
    # Also guest RAM that no process maps yet (a template's pages copied into
    # a restored VM's memfd, untouched since): PSS misses it, this does not.
    print(f"density: host MemAvailable drop per sandbox: {mib((before - after) / len(started)):.1f} MiB")
    print(f"density: ratio of the PSS median to RunD's published < 20 MB per sandbox: "
          f"{statistics.median(per_sandbox) * 1024 / 20e6:.2f}")


def remove(started):
    # delete --force kills what still runs (runc's), four at a time.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for name, (status, errors) in zip(started, pool.map(lambda name: run([rt, "--root", root, "delete", "--force", name]), started)):
            if status != 0:
                print(f"density: delete --force {name} failed ({status}): {errors}")

# Whatever fails (a start's timeout, a missing file), the sandboxes started go.
for mode, env in modes.items():
    started = []
    try:
        measure(started, mode, env)
    finally:
        remove(started)
PY
cat > "$work/inner.sh" <<INNER
export SANDBOX_RT_GUEST_DIR="$guest" SANDBOX_RT_VMM="$vmm"
exec python3 -u "$work/bench.py" "$rt" "$work" "$count"
INNER
"$repo/tests/testhost/run.sh" --timeout 1500 --mem 6144 -- bash "$work/inner.sh"
