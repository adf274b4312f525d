// What the agent does as PID 1 of the microVM, before serving: mount the
// kernel filesystems, enable every cgroup v2 controller, bring up lo, and
// reap orphans. Host test mode skips all of it.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "common/base/status.h"

namespace sandbox::agent {

Status SetUpGuest();

// Seeds the kernel's RNG from the hardware RNG (sandbox-vmm's virtio-rng,
// which draws on the host's): up to `bytes` bytes from `source`, credited
// with RNDADDENTROPY, so getrandom() in containers that start right after
// boot never blocks. Returns the bytes credited; a missing or silent
// source is an error that names it (the kernel still seeds itself, later).
Result<size_t> SeedKernelRng(const std::string& source = "/dev/hwrng", size_t bytes = 64);

// Mixes `entropy` (credited in full) into the kernel's input pool and makes
// its CRNG reseed from it now (RNDRESEEDCRNG), so what getrandom() returns
// next depends on it: a VM restored from a template stops sharing its
// template's random state.
Status AddEntropyAndReseed(std::span<const uint8_t> entropy);

// sync, then reboot(2): with reboot=k the VMM sees the i8042 reset and ends
// the VM. Does not return on success.
Status PowerOff();

}  // namespace sandbox::agent
