#!/usr/bin/env python3
"""Writes shim/microvm/fuzz/agent_reply_corpus for agent_reply_fuzzer.cc:
answers to its calls in order (Check, CreateContainer, Wait, ListProcesses,
Stats, ExecProcess, Wait, NextOomEvent), each as <mode><length, 2 bytes LE>
<bytes>; mode 0 wraps the bytes as the reply payload, 1 sends them as the
ttrpc Response, 2 writes them raw and hangs up. Protobuf is encoded by hand
(field numbers from proto/agent.proto and proto/ttrpc.proto)."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "lib"))
from protowire import field_bytes, field_varint  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "agent_reply_corpus")
os.makedirs(out, exist_ok=True)


def answer(mode, data):
    return bytes([mode]) + struct.pack("<H", len(data)) + data


check = field_varint(1, 1)
created = field_varint(1, 42)
exited = field_varint(1, 3)
processes = field_bytes(1, field_varint(1, 1) + field_varint(2, 0) + field_bytes(3, b"sh"))
stats = b"".join(field_varint(number, 1000 * number) for number in range(1, 7))
oom = field_bytes(1, b"c1")
happy = [check, created, exited, processes, stats, b"", exited, oom]
seeds = {
    "every-call-answered": b"".join(answer(0, reply) for reply in happy),
    # A ttrpc status instead of a payload: code 5 (NOT_FOUND), a message.
    "error-status": answer(1, field_bytes(2, field_varint(1, 5) + field_bytes(2, b"no such container"))) * 8,
    "garbage-frame": answer(0, check) + answer(2, b"\x00\x00\x00\x05\x00\x00\x00\x01\x02\x00abc"),
    "oversized-frame": answer(2, b"\x7f\xff\xff\xff\x00\x00\x00\x01\x02\x00"),
    "wrong-types": b"".join(answer(0, field_bytes(1, b"x" * 40)) for _ in happy),
}
for name, program in seeds.items():
    with open(os.path.join(out, name), "wb") as seed:
        seed.write(program)
