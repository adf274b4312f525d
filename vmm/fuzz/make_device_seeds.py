#!/usr/bin/env python3
"""Writes vmm/fuzz/device_corpus: one well-formed program per device for
device_fuzzer.cc (a handshake, a request chain in guest memory, a notify),
so the fuzzer starts from requests each device accepts; and
vmm/fuzz/vhost_user_corpus: a back-end's well-formed answers for
vhost_user_fuzzer.cc (<mode 0><length><payload> per answer)."""
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "device_corpus")
os.makedirs(out, exist_ok=True)
WRITE, NEXT = 2, 1


def desc_table(queue):
    return 0x1000 + queue * 0x3000


def memory(address, data):
    steps = b""
    for start in range(0, len(data), 255):  # a step writes at most 255 bytes
        chunk = data[start:start + 255]
        steps += bytes([2]) + struct.pack("<HB", address + start, len(chunk)) + chunk
    return steps


def chain(queue, buffers, slot=0):
    """buffers: (address, length, flags) in order; returns the steps that
    write the descriptors and publish the chain's head in the avail ring."""
    table = b""
    for index, (address, length, flags) in enumerate(buffers):
        more = index + 1 < len(buffers)
        table += struct.pack("<QIHH", address, length, flags | (NEXT if more else 0), index + 1 if more else 0)
    avail = struct.pack("<HHH", 0, slot + 1, 0)
    return memory(desc_table(queue), table) + memory(desc_table(queue) + 0x1000, avail)


def handshake(queues, size=16):
    return bytes([4, queues, size])


def notify(queue):
    return bytes([3, queue])


def handshake_with_features(queues, features, size=16):
    return bytes([5, queues, size]) + struct.pack("<I", features)


def host_frame(frame):
    """net: the host network sends `frame` (virtio_net_hdr_v1 first) and rx is kicked."""
    return bytes([6]) + struct.pack("<H", len(frame)) + frame


NET_CSUM, NET_GUEST_CSUM, NET_MRG_RXBUF = 1 << 0, 1 << 1, 1 << 15
ethernet = bytes.fromhex("ffffffffffff020000000002") + b"\x08\x06" + bytes(46)  # an ARP-sized broadcast
net_header = bytes(12)  # virtio_net_hdr_v1: no offloads, num_buffers 0


seeds = {
    "rng-read": bytes([0]) + handshake(1) + chain(0, [(0xA000, 64, WRITE)]) + notify(0),
    "blk-read": bytes([1]) + handshake(1) + memory(0xA000, struct.pack("<IIQ", 0, 0, 0))
    + chain(0, [(0xA000, 16, 0), (0xB000, 512, WRITE), (0xC000, 1, WRITE)]) + notify(0),
    "blk-write": bytes([1]) + handshake(1) + memory(0xA000, struct.pack("<IIQ", 1, 0, 1)) + memory(0xB000, b"x" * 512)
    + chain(0, [(0xA000, 16, 0), (0xB000, 512, 0), (0xC000, 1, WRITE)]) + notify(0),
    "blk-id": bytes([1]) + handshake(1) + memory(0xA000, struct.pack("<IIQ", 8, 0, 0))
    + chain(0, [(0xA000, 16, 0), (0xB000, 20, WRITE), (0xC000, 1, WRITE)]) + notify(0),
    # vsock: rx buffers on queue 0, a connection request to host port 1024 on tx (queue 1).
    "vsock-request": bytes([2]) + handshake(3) + chain(0, [(0xA000, 4096, WRITE)])
    + memory(0xB000, struct.pack("<QQIIIHHIII", 3, 2, 1234, 1024, 0, 1, 1, 0, 65536, 0))
    + chain(1, [(0xB000, 44, 0)]) + notify(1) + notify(0),
    # net: tx of one frame; rx into one mergeable buffer, and into a header + frame chain without.
    "net-tx": bytes([3]) + handshake(3) + memory(0xA000, net_header + ethernet)
    + chain(1, [(0xA000, len(net_header + ethernet), 0)]) + notify(1),
    "net-rx-mergeable": bytes([3]) + handshake_with_features(3, NET_MRG_RXBUF | NET_CSUM | NET_GUEST_CSUM)
    + chain(0, [(0xA000, 2048, WRITE)]) + host_frame(net_header + ethernet) + notify(0),
    "net-rx": bytes([3]) + handshake(3) + chain(0, [(0xA000, 12, WRITE), (0xB000, 1514, WRITE)])
    + host_frame(net_header + ethernet),
    # balloon: a free page report on queue 2 (REPORTING), and two page numbers inflated on queue 0.
    "balloon-report": bytes([4]) + handshake_with_features(7, 1 << 5) + memory(0xA000, b"x" * 64)
    + chain(2, [(0xA000, 0x2000, WRITE)]) + notify(2),
    "balloon-inflate": bytes([4]) + handshake(7) + memory(0xA000, struct.pack("<II", 0xA, 0xFFFFFFFF))
    + chain(0, [(0xA000, 8, 0)]) + notify(0),
    "registers": bytes([0]) + b"".join(bytes([1]) + struct.pack("<HBI", offset, 2, 0) for offset in range(0, 0x100, 4)),
}
for name, program in seeds.items():
    with open(os.path.join(out, name), "wb") as seed:
        seed.write(program)

vhost_out = os.path.join(os.path.dirname(out), "vhost_user_corpus")
os.makedirs(vhost_out, exist_ok=True)


def vhost_answer(payload):
    return bytes([0, len(payload)]) + payload


features = struct.pack("<Q", (1 << 32) | (1 << 30))  # VERSION_1, PROTOCOL_FEATURES
answers = {
    # GET_FEATURES, GET_PROTOCOL_FEATURES (REPLY_ACK), then an ack (0) for every request after.
    "reply-ack": vhost_answer(features) + vhost_answer(struct.pack("<Q", 1 << 3))
    + vhost_answer(struct.pack("<Q", 0)) * 12 + vhost_answer(struct.pack("<II", 0, 7)),
    # No protocol features: only GET_FEATURES and GET_VRING_BASE are answered.
    "no-protocol-features": vhost_answer(struct.pack("<Q", 1 << 32)) + vhost_answer(struct.pack("<II", 0, 7)),
}
for name, program in answers.items():
    with open(os.path.join(vhost_out, name), "wb") as seed:
        seed.write(program)
