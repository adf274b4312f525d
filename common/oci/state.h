// The runtime-spec state of a container (what `state` prints and hooks read on
// stdin), plus the extra properties runc also reports (rootfs, created, owner).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/oci/field_error.h"
#include "common/oci/spec.h"

namespace sandbox::oci {

enum class ContainerStatus { kCreating, kCreated, kRunning, kPaused, kStopped };

std::string_view ContainerStatusName(ContainerStatus status);
std::optional<ContainerStatus> ParseContainerStatus(std::string_view name);

struct State {
  std::string oci_version;
  std::string id;
  std::string status;  // creating | created | running | paused | stopped
  std::optional<int64_t> pid;
  std::string bundle;
  std::optional<StringMap> annotations;
  std::optional<std::string> rootfs;
  std::optional<std::string> created;  // RFC 3339
  std::optional<std::string> owner;
  UnknownFields unknown;
};

FieldErrors ParseState(std::string_view text, State& out);
std::string StateToJson(const State& state, int indent = 2);

}  // namespace sandbox::oci
