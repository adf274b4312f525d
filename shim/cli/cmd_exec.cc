#include <charconv>

#include "common/base/file_util.h"
#include "common/oci/spec_json.h"
#include "shim/cli/cli_context.h"

namespace sandbox::cli {
namespace {

struct ExecArgs {
  std::string id;
  std::string process_file;
  std::vector<std::string> command;
  std::vector<std::string> env;
  std::vector<std::string> caps;
  std::vector<uint32_t> additional_gids;
  std::string cwd;
  std::string user;
  std::string console_socket;
  std::string pid_file;
  bool tty = false;
  bool detach = false;
  bool no_new_privs = false;
  int preserve_fds = 0;
};

Status ParseUser(const std::string& text, oci::User& user) {
  // uid[:gid], numeric as in runc.
  size_t colon = text.find(':');
  auto parse = [&](std::string_view part, uint32_t& out) {
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), out);
    return error == std::errc() && end == part.data() + part.size() && !part.empty();
  };
  std::string_view uid = std::string_view(text).substr(0, colon);
  if (!parse(uid, user.uid)) return InvalidArgument("--user: \"" + text + "\" is not uid[:gid]");
  if (colon != std::string::npos && !parse(std::string_view(text).substr(colon + 1), user.gid)) {
    return InvalidArgument("--user: \"" + text + "\" is not uid[:gid]");
  }
  return Status::Ok();
}

// The process to exec: process.json with -p, else the container's own
// config.json process with the flags applied on top (as runc does).
Result<oci::Process> BuildProcess(CliContext& context, const ExecArgs& args) {
  oci::Process process;
  if (!args.process_file.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(std::string text, ReadFile(args.process_file));
    oci::FieldErrors errors = oci::ParseProcess(text, process);
    if (!errors.empty()) return oci::FieldErrorsToStatus(args.process_file + " is invalid", errors);
    return process;
  }
  if (args.command.empty()) return InvalidArgument("exec needs a command or -p process.json");
  SANDBOX_ASSIGN_OR_RETURN(oci::State state, context.runtime().State(args.id));
  SANDBOX_ASSIGN_OR_RETURN(oci::Spec spec, shim::LoadBundleSpec(state.bundle));
  process = spec.process.value();
  process.args = args.command;
  process.terminal = args.tty;
  if (!args.env.empty()) {
    if (!process.env) process.env = oci::StringList{};
    process.env->insert(process.env->end(), args.env.begin(), args.env.end());
  }
  if (!args.cwd.empty()) process.cwd = args.cwd;
  if (!args.user.empty()) SANDBOX_RETURN_IF_ERROR(ParseUser(args.user, process.user));
  if (!args.additional_gids.empty()) process.user.additional_gids = args.additional_gids;
  if (args.no_new_privs) process.no_new_privileges = true;
  if (!args.caps.empty()) {
    if (!process.capabilities) process.capabilities = oci::Capabilities{};
    for (auto* set : {&process.capabilities->bounding, &process.capabilities->effective,
                      &process.capabilities->permitted}) {
      if (!*set) *set = oci::StringList{};
      (*set)->insert((*set)->end(), args.caps.begin(), args.caps.end());
    }
  }
  return process;
}

}  // namespace

void AddExecCommand(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<ExecArgs>();
  CLI::App* command = app.add_subcommand("exec", "run a new process inside a running container");
  // Flags come before the container id; everything after it is the command
  // (`exec c1 sh -c 'echo hi'`: the -c is sh's), as with runc.
  command->positionals_at_end();
  command->add_option("container-id", args->id, "the container's id")->required();
  command->add_option("command", args->command, "program and arguments");
  command->add_option("-p,--process", args->process_file, "process.json describing the process");
  command->add_flag("-t,--tty", args->tty, "allocate a pseudo-TTY");
  command->add_flag("-d,--detach", args->detach, "do not wait for the process");
  command->add_option("-e,--env", args->env, "add KEY=VALUE to the environment");
  command->add_option("--cwd", args->cwd, "working directory in the container");
  command->add_option("-u,--user", args->user, "uid[:gid]");
  command->add_option("-g,--additional-gids", args->additional_gids, "additional gids");
  command->add_option("-c,--cap", args->caps, "add a capability");
  command->add_flag("--no-new-privs", args->no_new_privs, "set no_new_privs");
  command->add_option("--console-socket", args->console_socket, "socket receiving the pty master");
  command->add_option("--pid-file", args->pid_file, "write the process's pid here");
  command->add_option("--preserve-fds", args->preserve_fds, "pass N extra fds")->check(CLI::NonNegativeNumber);
  command->callback([&context, args] {
    context.action = [&context, args] {
      Result<oci::Process> process = BuildProcess(context, *args);
      if (!process.ok()) return Fail(process.status());
      shim::ExecRequest request{.process = std::move(process).value(),
                                .detach = args->detach,
                                .console_socket = args->console_socket,
                                .preserve_fds = args->preserve_fds,
                                .on_started = nullptr};
      // Written as soon as the process runs, as runc does, not when it ends.
      if (!args->pid_file.empty()) {
        request.on_started = [pid_file = args->pid_file](int64_t pid) {
          return WriteFileAtomic(pid_file, std::to_string(pid));
        };
      }
      Result<shim::ExecResult> result = context.runtime().Exec(args->id, request);
      if (!result.ok()) return Fail(result.status());
      return result->exit_code.value_or(0);
    };
  });
}

}  // namespace sandbox::cli
