// containerd-shim-sandbox-rt-v2: the containerd shim v2 of sandbox-rt
// (runtime_type io.containerd.sandbox-rt.v2). See shim_process.h.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "shim/containerd/shim_args.h"
#include "shim/containerd/shim_process.h"

namespace {

// This binary's path, for the server it spawns and to find sandbox-vmm beside it.
std::string SelfBinary() {
  char path[4096];
  const ssize_t length = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  return length > 0 ? std::string(path, static_cast<size_t>(length)) : "containerd-shim-sandbox-rt-v2";
}

}  // namespace

int main(int argc, char** argv) {
  namespace shim = sandbox::shim::containerd;
  const sandbox::Result<shim::ShimArgs> args = shim::ParseShimArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!args.ok()) {
    std::fprintf(stderr, "containerd-shim-sandbox-rt-v2: %s\n", args.status().message().c_str());
    return 2;
  }
  if (args->action == "start") return shim::RunStart(*args, SelfBinary());
  if (args->action == "delete") return shim::RunDelete(*args);
  if (args->socket.empty()) {
    std::fprintf(stderr, "containerd-shim-sandbox-rt-v2: run by containerd with start or delete\n");
    return 2;
  }
  return shim::RunServe(*args, SelfBinary());
}
