#include "shim/cli/cli_context.h"

namespace sandbox::cli {

// pause and resume freeze and thaw the container's cgroup in the guest.
void AddPauseResumeCommands(CLI::App& app, CliContext& context) {
  auto pause_id = std::make_shared<std::string>();
  CLI::App* pause = app.add_subcommand("pause", "freeze every process of a running container");
  AddIdArgument(*pause, *pause_id);
  pause->callback([&context, pause_id] {
    context.action = [&context, pause_id] {
      Status status = context.runtime().Pause(*pause_id);
      return status.ok() ? 0 : Fail(status);
    };
  });
  auto resume_id = std::make_shared<std::string>();
  CLI::App* resume = app.add_subcommand("resume", "thaw a paused container");
  AddIdArgument(*resume, *resume_id);
  resume->callback([&context, resume_id] {
    context.action = [&context, resume_id] {
      Status status = context.runtime().Resume(*resume_id);
      return status.ok() ? 0 : Fail(status);
    };
  });
}

}  // namespace sandbox::cli
