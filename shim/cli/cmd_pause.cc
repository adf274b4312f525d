#include "shim/cli/cli_context.h"

namespace sandbox::cli {

// pause and resume freeze and thaw the container's cgroup in the guest.
void AddPauseResumeCommands(CLI::App& app, CliContext& context) {
  AddIdVerb(app, context, "pause", "freeze every process of a running container",
            [](shim::Runtime& runtime, const std::string& id) { return runtime.Pause(id); });
  AddIdVerb(app, context, "resume", "thaw a paused container",
            [](shim::Runtime& runtime, const std::string& id) { return runtime.Resume(id); });
}

}  // namespace sandbox::cli
