#include "common/oci/state.h"

#include "common/oci/json_mapping.h"

namespace sandbox::oci {

std::string_view ContainerStatusName(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::kCreating: return "creating";
    case ContainerStatus::kCreated: return "created";
    case ContainerStatus::kRunning: return "running";
    case ContainerStatus::kPaused: return "paused";
    case ContainerStatus::kStopped: return "stopped";
  }
  return "unknown";
}

std::optional<ContainerStatus> ParseContainerStatus(std::string_view name) {
  for (ContainerStatus status : {ContainerStatus::kCreating, ContainerStatus::kCreated,
                                 ContainerStatus::kRunning, ContainerStatus::kPaused,
                                 ContainerStatus::kStopped}) {
    if (ContainerStatusName(status) == name) return status;
  }
  return std::nullopt;
}

namespace json_detail {

template <class V, class S>
  requires std::same_as<std::remove_const_t<S>, State>
void Describe(V& v, S& s) {
  v.Required("ociVersion", s.oci_version);
  v.Required("id", s.id);
  v.Required("status", s.status);
  v.Optional("pid", s.pid);
  v.Required("bundle", s.bundle);
  v.Optional("annotations", s.annotations);
  v.Optional("rootfs", s.rootfs);
  v.Optional("created", s.created);
  v.Optional("owner", s.owner);
}

}  // namespace json_detail

FieldErrors ParseState(std::string_view text, State& out) {
  out = State();
  FieldErrors errors = json_detail::ParseDocument(text, out);
  if (errors.empty() && !ParseContainerStatus(out.status)) {
    errors.push_back({"status", "unknown status \"" + out.status + "\""});
  }
  return errors;
}

std::string StateToJson(const State& state, int indent) {
  return json_detail::Encode(state).dump(indent);
}

}  // namespace sandbox::oci
