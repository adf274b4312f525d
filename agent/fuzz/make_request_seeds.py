#!/usr/bin/env python3
"""Writes agent/fuzz/request_corpus for request_fuzzer.cc: byte streams a
host writes to the agent, one or more ttrpc request frames each (10-byte
header, then a Request envelope carrying the method's protobuf payload).
Protobuf is encoded by hand (field numbers from proto/agent.proto and
proto/ttrpc.proto), so no Python protobuf module is needed."""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "lib"))
from protowire import field_bytes, field_varint  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "request_corpus")
os.makedirs(out, exist_ok=True)


def frame(payload, stream_id=1, kind=1):
    return struct.pack(">IIBB", len(payload), stream_id, kind, 0) + payload


def call(method, payload=b"", stream_id=1, timeout_nano=0):
    request = field_bytes(1, "sandbox.agent.v1.Agent") + field_bytes(2, method) + field_bytes(3, payload)
    if timeout_nano:
        request += field_varint(4, timeout_nano)
    return frame(request, stream_id)


config = {
    "ociVersion": "1.2.0",
    "process": {"args": ["/bin/sh", "-c", "true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                "env": ["PATH=/bin"], "capabilities": {"bounding": ["CAP_KILL"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]},
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "fuzz",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/data", "type": "bind", "source": "/shared/data", "options": ["rbind", "ro"]}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"}],
              "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
              "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                          "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}},
}
config_json = json.dumps(config)
state_json = json.dumps({"ociVersion": "1.2.0", "id": "c1", "status": "created", "pid": 1, "bundle": "/b"})
io = field_varint(2, 1026) + field_varint(3, 1027) + field_bytes(5, field_varint(1, 1030) + field_varint(2, 1))
create = (field_bytes(1, "c1") + field_bytes(2, config_json) + field_bytes(3, "/run/shared/c1/rootfs")
          + field_bytes(4, "dir") + field_bytes(7, field_bytes(1, "sandbox") + field_bytes(2, "/run/shared"))
          + field_bytes(8, state_json))
container = field_bytes(1, "c1")
process = field_bytes(1, "c1") + field_bytes(2, "e1")
network = field_bytes(1, field_bytes(1, field_bytes(1, "eth0") + field_bytes(2, "02:42:ac:11:00:02")
                                     + field_varint(3, 1500) + field_bytes(4, "10.88.0.2/16")
                                     + field_bytes(4, "fd00::2/64"))
                      + field_bytes(2, field_bytes(1, "0.0.0.0/0") + field_bytes(2, "10.88.0.1")
                                    + field_bytes(3, "eth0"))
                      + field_bytes(3, field_bytes(1, "10.88.0.1") + field_bytes(2, "02:42:ac:11:00:01")
                                    + field_bytes(3, "eth0")))
resources = json.dumps({"memory": {"limit": 268435456}, "cpu": {"shares": 512, "cpus": "0-1"}, "pids": {"limit": 64}})
seeds = {
    "check": call("Check") + call("GetGuestDetails", stream_id=3),
    "create-dir-rootfs": call("CreateContainer", create),
    "create-with-stdio": call("CreateContainer", create + field_bytes(6, io)),
    "create-erofs": call("CreateContainer", field_bytes(1, "c2") + field_bytes(2, config_json)
                         + field_bytes(3, "/dev/vdb") + field_bytes(4, "erofs")),
    "container-calls": b"".join(call(method, container, stream_id=2 * index + 1) for index, method in enumerate(
        ["StartContainer", "PauseContainer", "ResumeContainer", "StatsContainer", "ListProcesses",
         "RemoveContainer"])),
    "process-calls": call("ExecProcess", process + field_bytes(3, json.dumps(config["process"])) + field_bytes(4, io))
    + call("SignalProcess", process + field_varint(3, 9) + field_varint(4, 1), stream_id=3)
    + call("WaitProcess", process, stream_id=5)
    + call("ResizeTty", process + field_varint(3, 24) + field_varint(4, 80), stream_id=7)
    + call("CloseStdin", process, stream_id=9),
    "update": call("UpdateContainer", container + field_bytes(2, resources)),
    "update-network": call("UpdateNetwork", network),
    "oom-and-destroy": call("GetOomEvent", timeout_nano=10**10) + call("DestroySandbox", stream_id=3),
    "after-restore": call("AfterRestore", field_bytes(1, bytes(range(64))) + field_varint(2, 1764928000 * 10**9)),
    "bad-frames": frame(b"\x0a\x01x", stream_id=2) + frame(b"", kind=3) + call("NoSuchMethod", stream_id=5)
    + struct.pack(">IIBB", 0x7FFFFFFF, 7, 1, 0),
}
for name, stream in seeds.items():
    with open(os.path.join(out, name), "wb") as seed:
        seed.write(stream)
