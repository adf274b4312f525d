#!/usr/bin/env python3
"""Unit tests of evidence.py's reading and repair of a vCPU's interrupt gates,
run against this process's own memory in place of QEMU's."""
import ctypes
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evidence  # noqa: E402

REGISTERS = """(qemu) info registers -a

CPU#0
RAX=0000000000000000 RBX=0000000000000001 RCX=0000000000000002 RDX=0000000000000003
RSI=0000000000000004 RDI=0000000000000005 RBP=0000000000000006 RSP=0000000000000007
R8 =0000000000000008 R9 =0000000000000009 R10=000000000000000a R11=000000000000000b
R12=000000000000000c R13=000000000000000d R14=000000000000000e R15=000000000000000f
RIP=ffffffff81000010 RFL=00000216 [----AP-] CPL=0 II=0 A20=1 SMM=0 HLT=1

CPU#1
RAX=0000000000000000 RBX=0000000000000000
RIP=ffffffff81000020 RFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
"""
LONG_MODE_KERNEL = 0x10D0C2B0  # CPL 0, PE, LMA, CS64, SVME: what the test host's kernel runs with


class FakeEnv:
    """A CPUX86State's head (registers, then hflags and hflags2) in this
    process's memory."""

    def __init__(self, hflags2):
        self.buffer = ctypes.create_string_buffer(evidence.HFLAGS_OFFSET + 8)
        self.address = ctypes.addressof(self.buffer)
        struct.pack_into("<II", self.buffer, evidence.HFLAGS_OFFSET, LONG_MODE_KERNEL, hflags2)

    def hflags2(self):
        return struct.unpack_from("<I", self.buffer, evidence.HFLAGS_OFFSET + 4)[0]


class EvidenceTest(unittest.TestCase):
    def setUp(self):
        self.real_cpu_states = evidence.cpu_states

    def tearDown(self):
        evidence.cpu_states = self.real_cpu_states

    def fake_states(self, env, hflags=LONG_MODE_KERNEL, halted=True):
        evidence.cpu_states = lambda pid, monitor_path, attempts=5: (
            {0: (env.address, hflags, env.hflags2(), halted)}, 1)

    def test_register_images_follow_qemus_order_and_halt_state(self):
        images = evidence.register_images(REGISTERS)
        self.assertEqual(len(images), 2)
        image, halted = images[0]
        self.assertTrue(halted)
        # RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15, RIP.
        self.assertEqual(struct.unpack("<17Q", image),
                         (0, 2, 3, 1, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 0xffffffff81000010))
        self.assertEqual(images[1], (None, False))

    def test_scan_memory_finds_a_needle_in_anonymous_memory(self):
        env = FakeEnv(0x1)
        needle = struct.pack("<4Q", 0x5EED, os.getpid(), env.address, 0xD06)
        ctypes.memmove(env.address, needle, len(needle))
        hits = evidence.scan_memory(os.getpid(), [needle])[0]
        self.assertIn(env.address, [address for address, _ in hits])

    def test_a_halted_vcpu_with_gif_clear_gets_it_back(self):
        env = FakeEnv(0x0100)
        self.fake_states(env)
        lines = evidence.restore_gif(os.getpid(), "unused")
        self.assertEqual(env.hflags2(), 0x0101)
        self.assertIn("set GIF: hflags2 now 0x0101", lines[0])

    def test_v_intr_masking_left_on_outside_a_guest_is_cleared(self):
        env = FakeEnv(0x000A)  # VINTR with HIF clear: deaf to external interrupts
        self.fake_states(env)
        evidence.restore_gif(os.getpid(), "unused")
        self.assertEqual(env.hflags2(), 0x0001)

    def test_healthy_running_or_nested_vcpus_are_left_alone(self):
        for hflags2, hflags, halted in ((0x0001, LONG_MODE_KERNEL, True),
                                        (0x0000, LONG_MODE_KERNEL, False),
                                        (0x0000, LONG_MODE_KERNEL | evidence.GUEST, True)):
            env = FakeEnv(hflags2)
            self.fake_states(env, hflags, halted)
            lines = evidence.restore_gif(os.getpid(), "unused")
            self.assertEqual(env.hflags2(), hflags2)
            self.assertIn("no halted vCPU with GIF=0 or VINTR=1", lines[0])

    def test_gates_are_named(self):
        env = FakeEnv(0x0000)
        self.fake_states(env)
        self.assertIn("GIF=0: no interrupt or NMI is taken (halted outside a nested guest",
                      evidence.cpu_flags(os.getpid(), "unused")[0])
        env = FakeEnv(0x000B)
        self.fake_states(env, halted=False)
        self.assertIn("gated by HIF=1, not RFLAGS.IF (outside a nested guest",
                      evidence.cpu_flags(os.getpid(), "unused")[0])


if __name__ == "__main__":
    unittest.main()
