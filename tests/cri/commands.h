// The cri-client commands, one function each, named after the verb. Each sends
// its request through `client` and writes exactly one JSON document
// (proto_json.h) or one id, newline-terminated, to `out`; the verbs that act on
// one object (stopp, rmp, start, stop, rm) print its id, as crictl does.
// Errors name their cause: the file, or the method and gRPC code (cri_client.h).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "tests/cri/cri_client.h"

namespace sandbox::cri::commands {

// The API version cri-client speaks, sent in VersionRequest.
inline constexpr char kCriApiVersion[] = "v1";

// VersionResponse.
Status Version(const CriClient& client, std::ostream& out);

// Runs the pod whose PodSandboxConfig is the JSON file `config_path` with the
// runtime handler `handler` (empty: containerd's default); prints its id.
Status Runp(const CriClient& client, const std::string& config_path, const std::string& handler,
            std::ostream& out);
Status Stopp(const CriClient& client, const std::string& pod_id, std::ostream& out);
Status Rmp(const CriClient& client, const std::string& pod_id, std::ostream& out);
// PodSandboxStatusResponse; `verbose` asks the runtime for its info map.
Status Inspectp(const CriClient& client, const std::string& pod_id, bool verbose,
                std::ostream& out);
// ListPodSandboxResponse: every pod, in any state.
Status Pods(const CriClient& client, std::ostream& out);

// Creates a container from the JSON files of its ContainerConfig and of the
// PodSandboxConfig the pod was run with; prints its id.
Status Create(const CriClient& client, const std::string& pod_id,
              const std::string& container_config_path, const std::string& pod_config_path,
              std::ostream& out);
Status Start(const CriClient& client, const std::string& container_id, std::ostream& out);
// `timeout_seconds`: the grace period before the container is killed (0: at once).
Status Stop(const CriClient& client, const std::string& container_id, int64_t timeout_seconds,
            std::ostream& out);
Status Rm(const CriClient& client, const std::string& container_id, std::ostream& out);
// ContainerStatusResponse; `verbose` asks the runtime for its info map.
Status Inspect(const CriClient& client, const std::string& container_id, bool verbose,
               std::ostream& out);
// ListContainersResponse: every container in any state (crictl ps -a), only
// those of `pod_id` unless it is empty.
Status Ps(const CriClient& client, const std::string& pod_id, std::ostream& out);
// ContainerStatsResponse.
Status Stats(const CriClient& client, const std::string& container_id, std::ostream& out);

// Runs `cmd` in the container and waits (crictl exec -s): its stdout and stderr
// bytes go verbatim to `out` and `err`; returns its exit code.
// `timeout_seconds` bounds the command (0: no bound).
Result<int> ExecSync(const CriClient& client, const std::string& container_id,
                     const std::vector<std::string>& cmd, int64_t timeout_seconds,
                     std::ostream& out, std::ostream& err);

// ListImagesResponse.
Status Images(const CriClient& client, std::ostream& out);
// ImageStatusResponse for the image reference `image` (name, id or digest);
// its image field is unset when there is no such image.
Status ImageStatus(const CriClient& client, const std::string& image, bool verbose,
                   std::ostream& out);

}  // namespace sandbox::cri::commands
