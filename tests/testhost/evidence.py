#!/usr/bin/env python3
"""evidence.py MONITOR_SOCKET QEMU_PID VIRTIOFSD_PID OUT_DIR [KALLSYMS]
   evidence.py --nudge MONITOR_SOCKET QEMU_PID

What a wedged or crashed test host was doing, written to OUT_DIR: each
QEMU and virtiofsd thread's state, kernel wait channel and CPU time used
over 5 s (a TCG vCPU spinning vs everything asleep), then QEMU's monitor
answers to `info cpus` and `info registers -a` (where each test-host vCPU
is: its RIP, and whether it is halted), each vCPU's local APIC (`info
lapic`: its timer's mode and counts, and the interrupts pending in IRR or
in service in ISR; both vCPUs halted with interrupts on and the timer's
vector pending would be an interrupt TCG never delivered), ten samples of every vCPU's RIP
0.2 s apart, named from the test host's /proc/kallsyms of this boot when
given (a loop shows as a few nearby addresses in one function), and each
vCPU's interrupt gates that the monitor does not show (cpu-flags.txt: TCG's
hflags and hflags2, read from QEMU's memory: GIF, V_INTR_MASKING and the IF
saved at VMRUN decide whether a halted vCPU can take a pending interrupt).
Used by run.sh; prints a short summary on stdout. With --nudge, sets GIF
again on a halted vCPU left with it clear (restore_gif), then sends an NMI
through the monitor, and says what it did.
"""
import bisect
import os
import re
import socket
import struct
import sys
import time


def threads(pid):
    rows = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return rows
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/stat") as stat_file:
                stat = stat_file.read()
            with open(f"{base}/comm") as comm_file:
                comm = comm_file.read().strip()
            with open(f"{base}/wchan") as wchan_file:
                wchan = wchan_file.read().strip() or "-"
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, ticks = fields[0], int(fields[11]) + int(fields[12])
        rows[tid] = (comm, state, wchan, ticks)
    return rows


def thread_report(name, pid):
    before = threads(pid)
    time.sleep(5)
    after = threads(pid)
    hz = os.sysconf("SC_CLK_TCK")
    lines = [f"{name} (pid {pid}): thread, state, wait channel, CPU % over 5 s"]
    busy = []
    for tid, (comm, state, wchan, ticks) in sorted(after.items(), key=lambda item: int(item[0])):
        used = ticks - before.get(tid, (comm, state, wchan, ticks))[3]
        percent = 100.0 * used / hz / 5
        lines.append(f"  {tid:>7} {comm:<16} {state} {wchan:<28} {percent:5.1f}%")
        if percent >= 20:
            busy.append(f"{comm}({percent:.0f}%)")
    return lines, busy


def monitor(path, commands):
    out = []
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(path)

            def until_prompt():
                data = b""
                while not data.endswith(b"(qemu) "):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                return data.decode(errors="replace")

            until_prompt()
            for command in commands:
                sock.sendall(command.encode() + b"\n")
                answer = until_prompt().replace("(qemu) ", "")
                # The readline monitor echoes the command with cursor moves.
                answer = "\n".join(l for l in answer.splitlines() if "\x1b" not in l)
                out.append(f"(qemu) {command}\n" + answer)
    except OSError as error:
        out.append(f"monitor {path}: {error}")
    return "\n".join(out)


def load_symbols(path):
    symbols = []
    try:
        with open(path) as kallsyms:
            for line in kallsyms:
                fields = line.split()
                if len(fields) >= 3 and fields[1] in "tTwW":
                    module = f" {fields[3]}" if len(fields) > 3 else ""
                    symbols.append((int(fields[0], 16), fields[2] + module))
    except (OSError, ValueError):
        return []
    symbols.sort()
    return symbols


def name(symbols, address):
    at = bisect.bisect_right(symbols, (address, "\uffff")) - 1
    if at < 0 or not symbols:
        return "?"
    base, symbol = symbols[at]
    return f"{symbol}+{address - base:#x}"


def rip_samples(path, symbols):
    lines = []
    for sample in range(10):
        answer = monitor(path, ["info registers -a"])
        rips = [line.split()[0][4:] for line in answer.splitlines() if line.startswith("RIP=")]
        named = [f"{rip} {name(symbols, int(rip, 16))}" for rip in rips]
        lines.append(f"sample {sample}: " + " | ".join(named))
        time.sleep(0.2)
    return lines


# QEMU's CPUX86State starts with regs[16], eip, eflags, cc_dst, cc_src,
# cc_src2 (8 bytes each), cc_op and df (4 each), then hflags and hflags2:
# a layout kept for many releases, checked on 10.0.2. The registers and RIP
# that `info registers` printed find a halted vCPU's state in QEMU's heap.
REGISTER_ORDER = ("RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                  "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "RIP")
HFLAGS_OFFSET = 17 * 8 + 8 + 3 * 8 + 2 * 4
HFLAGS_BITS = {3: "INHIBIT_IRQ", 19: "SMM", 20: "SVME", 21: "GUEST"}
HFLAGS2_BITS = {0: "GIF", 1: "HIF", 2: "NMI", 3: "VINTR", 6: "NPT", 8: "VGIF"}


def register_images(registers):
    """Per vCPU of `info registers -a`: its GPRs and RIP as QEMU stores them
    (None where the block is incomplete), and whether it is halted."""
    images = []
    for block in registers.split("CPU#")[1:]:
        values = dict(re.findall(r"\b(R[A-Z0-9]+) ?=([0-9a-f]{16})", block))
        image = None
        if all(name in values for name in REGISTER_ORDER):
            image = struct.pack("<17Q", *(int(values[name], 16) for name in REGISTER_ORDER))
        images.append((image, "HLT=1" in block))
    return images


def scan_memory(pid, needles):
    """Where each needle lies in the process's private writable anonymous
    mappings (QEMU's heap: guest RAM, a shared memfd, and the executable
    code buffer are skipped)."""
    found = {index: [] for index in range(len(needles))}
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(part, 16) for part in fields[0].split("-"))
            path = fields[5] if len(fields) > 5 else ""
            if fields[1] != "rw-p" or (path and path != "[heap]") or end - start > (512 << 20):
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue
            for index, needle in enumerate(needles):
                at = data.find(needle) if needle else -1
                while at >= 0:
                    found[index].append((start + at, data[at + HFLAGS_OFFSET:at + HFLAGS_OFFSET + 8]))
                    at = data.find(needle, at + 1)
    return found


def named_bits(value, names):
    return " ".join(name + "=" + str(value >> bit & 1) for bit, name in sorted(names.items()))


GIF, HIF, VINTR, GUEST = 1 << 0, 1 << 1, 1 << 3, 1 << 21


def cpu_states(pid, monitor_path, attempts=5):
    """Each vCPU's (env address, hflags, hflags2, halted), found in QEMU's
    memory, and the vCPU count. A vCPU found running is looked for again (a
    halted one stays put). Raises OSError when the memory cannot be read."""
    found, count = {}, 0
    for _ in range(attempts):
        images = register_images(monitor(monitor_path, ["info registers -a"]))
        count = len(images)
        matches = scan_memory(pid, [image if cpu not in found else None for cpu, (image, _) in enumerate(images)])
        for cpu, hits in matches.items():
            if len(hits) == 1:
                address, raw = hits[0]
                found[cpu] = (address, *struct.unpack("<II", raw), images[cpu][1])
        if len(found) == count:
            break
    return found, count


def cpu_flags(pid, monitor_path):
    """Each vCPU's hflags/hflags2 and what they mean for a pending interrupt."""
    try:
        states, count = cpu_states(pid, monitor_path)
    except OSError as error:
        return [f"QEMU's memory (pid {pid}) could not be read: {error}"]
    lines = []
    for cpu in range(count):
        if cpu not in states:
            lines.append(f"CPU#{cpu}: state not found in QEMU's memory (the vCPU kept running)")
            continue
        address, hflags, hflags2, halted = states[cpu]
        gates = ("GIF=0: no interrupt or NMI is taken" if not hflags2 & GIF else
                 f"V_INTR_MASKING: external interrupts gated by HIF={int(bool(hflags2 & HIF))}, not RFLAGS.IF"
                 if hflags2 & VINTR else "interrupts gated by RFLAGS.IF alone")
        if not hflags & GUEST and hflags2 & VINTR:
            gates += " (outside a nested guest, where KVM never has V_INTR_MASKING)"
        elif not hflags & GUEST and not hflags2 & GIF and halted:
            gates += " (halted outside a nested guest: KVM never halts with GIF clear)"
        lines.append(f"CPU#{cpu}: env at {address:#x} hflags={hflags:#010x} ({named_bits(hflags, HFLAGS_BITS)} "
                     f"CPL={hflags & 3}) hflags2={hflags2:#06x} ({named_bits(hflags2, HFLAGS2_BITS)}) "
                     f"HLT={int(halted)}: {gates}")
    return lines


def restore_gif(pid, monitor_path):
    """Gives each vCPU halted in the test host's own context (no nested
    guest running, HF_GUEST clear) the interrupt gates it has there on
    hardware: GIF set, V_INTR_MASKING and the IF saved at VMRUN clear. KVM
    clears GIF only around its VMRUN and sets it again before anything else
    runs, and V_INTR_MASKING applies in a guest only; under QEMU TCG a vCPU
    was seen halted in the idle loop with GIF clear, deaf to every interrupt
    and NMI for good (issue 21). Writes hflags2 only."""
    try:
        states, count = cpu_states(pid, monitor_path)
    except OSError as error:
        return [f"QEMU's memory (pid {pid}) could not be read: {error}"]
    lines = []
    for cpu, (address, hflags, hflags2, halted) in sorted(states.items()):
        if not halted or hflags & GUEST or (hflags2 & GIF and not hflags2 & VINTR):
            continue
        at = address + HFLAGS_OFFSET + 4
        try:
            with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
                mem.seek(at)
                mem.write(struct.pack("<I", (hflags2 | GIF) & ~(VINTR | HIF)))
                mem.seek(at)
                now = struct.unpack("<I", mem.read(4))[0]
        except OSError as error:
            lines.append(f"CPU#{cpu}: halted with hflags2 {hflags2:#06x}; setting GIF failed: {error}")
            continue
        lines.append(f"CPU#{cpu}: halted in the test host's own context with GIF={hflags2 & GIF} "
                     f"VINTR={int(bool(hflags2 & VINTR))} (hflags2 {hflags2:#06x}); set GIF: hflags2 now {now:#06x}")
    if not lines:
        lines.append(f"no halted vCPU with GIF=0 or VINTR=1 ({len(states)} of {count} vCPUs' state found)")
    return lines


def cpu_count(registers):
    """How many vCPUs `info cpus` listed (at least one)."""
    return max(1, sum(1 for line in registers.splitlines() if "CPU #" in line and "thread_id" in line))


def main():
    if sys.argv[1] == "--nudge":
        print("\n".join(restore_gif(sys.argv[3], sys.argv[2])))
        print(monitor(sys.argv[2], ["nmi"]))
        return
    monitor_path, qemu_pid, virtiofsd_pid, out_dir = sys.argv[1:5]
    symbols = load_symbols(sys.argv[5]) if len(sys.argv) > 5 else []
    os.makedirs(out_dir, exist_ok=True)
    qemu_lines, qemu_busy = thread_report("qemu", qemu_pid)
    fs_lines, fs_busy = thread_report("virtiofsd", virtiofsd_pid) if virtiofsd_pid else ([], [])
    with open(f"{out_dir}/threads.txt", "w") as out:
        out.write("\n".join(qemu_lines + fs_lines) + "\n")
    registers = monitor(monitor_path, ["info cpus", "info registers -a"])
    with open(f"{out_dir}/registers.txt", "w") as out:
        out.write(registers + "\n")
    apics = monitor(monitor_path, [f"info lapic {apic_id}" for apic_id in range(cpu_count(registers))])
    with open(f"{out_dir}/lapic.txt", "w") as out:
        out.write(apics + "\n")
    # Before the samples below, while the vCPUs are as the registers show.
    flags = cpu_flags(qemu_pid, monitor_path)
    with open(f"{out_dir}/cpu-flags.txt", "w") as out:
        out.write("\n".join(flags) + "\n")
    samples = rip_samples(monitor_path, symbols)
    with open(f"{out_dir}/rip-samples.txt", "w") as out:
        out.write("\n".join(samples) + "\n")
    rips = [line.split()[0] for line in registers.splitlines() if line.startswith("RIP=")]
    print(f"busy threads: {', '.join(qemu_busy + fs_busy) or 'none (all asleep)'}")
    print(f"vCPU RIPs: {' '.join(rips) or 'unknown'}")
    for line in samples[:3]:
        print(line)
    for line in flags:
        print(line)


if __name__ == "__main__":
    main()
