// sandbox-vmm's control API from the shim: one JSON request line, one JSON
// answer line (vmm/README.md, "Control API").
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "shim/microvm/guest_memory_range.h"

namespace sandbox::shim {

// Sends {"op": op} and returns the whole answer (a JSON object with "ok":
// true); an answer with "ok": false becomes an error with its message, and
// a VMM that does not answer within 10 s an error too.
Result<nlohmann::json> CallVmmApiAnswer(const std::string& socket_path, const std::string& op);

// The "snapshot" op: the VM, paused, is saved into the two files (created,
// empty, by the caller), which go to the VMM with the request. It stays
// paused; a refused snapshot (a busy vsock device, ...) is an error and the
// VM runs on. `timeout`: writing guest RAM takes a while.
// `shared_ranges`: guest RAM its clones map copy-on-write (the agent's
// GetSharedRanges; vmm/README.md).
Status SnapshotVm(const std::string& socket_path, int state_fd, int memory_fd,
                  const std::vector<GuestMemoryRange>& shared_ranges, std::chrono::seconds timeout);

// The answer's "state" ("running", "paused", "stopping").
Result<std::string> CallVmmApi(const std::string& socket_path, const std::string& op);

// Where the guest's vCPUs stand (the "vcpus" op), one line each, for an
// error about a guest that stopped answering; the reason when unavailable.
std::string DescribeGuestVcpus(const std::string& socket_path);

}  // namespace sandbox::shim
