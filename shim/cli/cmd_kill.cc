#include "shim/cli/cli_context.h"
#include "shim/runtime/signals.h"

namespace sandbox::cli {

void AddKillCommand(CLI::App& app, CliContext& context) {
  struct Args {
    std::string id;
    std::string signal = "SIGTERM";
    bool all = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* command = app.add_subcommand("kill", "send a signal (name or number; default SIGTERM) to the init process");
  AddIdArgument(*command, args->id);
  command->add_option("signal", args->signal, "signal name or number")->capture_default_str();
  command->add_flag("-a,--all", args->all, "signal every process in the container");
  command->callback([&context, args] {
    context.action = [&context, args] {
      Result<int> signal = shim::ParseSignal(args->signal);
      if (!signal.ok()) return Fail(signal.status());
      Status status = context.runtime().Kill(args->id, *signal, args->all);
      return status.ok() ? 0 : Fail(status);
    };
  });
}

}  // namespace sandbox::cli
