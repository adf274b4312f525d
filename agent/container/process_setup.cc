#include "agent/container/process_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/base/file_util.h"
#include "common/base/unique_fd.h"
#include "common/oci/names.h"

namespace sandbox::agent {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Result<int> RlimitResource(const std::string& type) {
  static const std::pair<const char*, int> kResources[] = {
      {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},     {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK}};
  for (const auto& [name, resource] : kResources) {
    if (type == name) return resource;
  }
  return InvalidArgument("unknown rlimit " + type);
}

Result<std::vector<cap_value_t>> CapabilityValues(const std::optional<oci::StringList>& names, const std::string& field) {
  std::vector<cap_value_t> values;
  const auto& known = oci::CapabilityNames();
  for (const std::string& name : names.value_or(oci::StringList{})) {
    auto it = std::find(known.begin(), known.end(), name);
    if (it == known.end()) return InvalidArgument(field + ": unknown capability " + name);
    const auto value = static_cast<cap_value_t>(it - known.begin());
    // Capabilities this kernel does not know cannot be held; runc skips them too.
    if (value <= static_cast<cap_value_t>(cap_max_bits() - 1)) values.push_back(value);
  }
  return values;
}

Status DropBoundingSet(const oci::Capabilities& capabilities) {
  SANDBOX_ASSIGN_OR_RETURN(auto bounding, CapabilityValues(capabilities.bounding, "process.capabilities.bounding"));
  for (cap_value_t value = 0; value < static_cast<cap_value_t>(cap_max_bits()); ++value) {
    if (std::find(bounding.begin(), bounding.end(), value) != bounding.end()) continue;
    if (::prctl(PR_CAPBSET_DROP, value, 0, 0, 0) != 0 && errno != EINVAL) {
      return ErrnoStatus("prctl PR_CAPBSET_DROP", "process.capabilities.bounding");
    }
  }
  return Status::Ok();
}

Status SetCapabilitySets(const oci::Capabilities& capabilities) {
  cap_t state = cap_init();
  if (state == nullptr) return ErrnoStatus("cap_init", "process.capabilities");
  struct Set {
    cap_flag_t flag;
    const std::optional<oci::StringList>& names;
    const char* field;
  };
  const Set sets[] = {{CAP_EFFECTIVE, capabilities.effective, "process.capabilities.effective"},
                      {CAP_PERMITTED, capabilities.permitted, "process.capabilities.permitted"},
                      {CAP_INHERITABLE, capabilities.inheritable, "process.capabilities.inheritable"}};
  for (const Set& set : sets) {
    auto values = CapabilityValues(set.names, set.field);
    if (!values.ok()) {
      cap_free(state);
      return values.status();
    }
    if (!values->empty() &&
        cap_set_flag(state, set.flag, static_cast<int>(values->size()), values->data(), CAP_SET) != 0) {
      cap_free(state);
      return ErrnoStatus("cap_set_flag", set.field);
    }
  }
  const int applied = cap_set_proc(state);
  cap_free(state);
  if (applied != 0) return ErrnoStatus("capset", "process.capabilities");
  SANDBOX_ASSIGN_OR_RETURN(auto ambient, CapabilityValues(capabilities.ambient, "process.capabilities.ambient"));
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl PR_CAP_AMBIENT_CLEAR_ALL", "process.capabilities.ambient");
  }
  for (cap_value_t value : ambient) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, value, 0, 0) != 0) {
      return ErrnoStatus("prctl PR_CAP_AMBIENT_RAISE " + std::string(cap_to_name(value)), "process.capabilities.ambient");
    }
  }
  return Status::Ok();
}

std::string EnvValue(const oci::Process& process, const std::string& key) {
  for (const std::string& entry : process.env.value_or(oci::StringList{})) {
    if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 && entry[key.size()] == '=') {
      return entry.substr(key.size() + 1);
    }
  }
  return "";
}

}  // namespace

Status ApplySystemSettings(const oci::Spec& spec, bool own_uts_namespace) {
  if (spec.hostname && !spec.hostname->empty()) {
    if (!own_uts_namespace) return InvalidArgument("hostname: needs a uts namespace");
    if (::sethostname(spec.hostname->c_str(), spec.hostname->size()) != 0) return ErrnoStatus("sethostname", "hostname");
  }
  if (spec.domainname && !spec.domainname->empty()) {
    if (!own_uts_namespace) return InvalidArgument("domainname: needs a uts namespace");
    if (::setdomainname(spec.domainname->c_str(), spec.domainname->size()) != 0) {
      return ErrnoStatus("setdomainname", "domainname");
    }
  }
  for (const auto& [key, value] : spec.linux->sysctl.value_or(oci::StringMap{})) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    if (key.find("..") != std::string::npos || key.find('/') != std::string::npos) {
      return InvalidArgument("linux.sysctl[\"" + key + "\"]: not a sysctl name");
    }
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
      return ErrnoStatus("write", "linux.sysctl[\"" + key + "\"]");
    }
  }
  return Status::Ok();
}

Status ApplyProcessSettings(const oci::Process& process) {
  const auto& rlimits = process.rlimits.value_or(std::vector<oci::Rlimit>{});
  for (size_t i = 0; i < rlimits.size(); ++i) {
    auto resource = RlimitResource(rlimits[i].type);
    if (!resource.ok()) return resource.status().Wrap("process.rlimits[" + std::to_string(i) + "]");
    const rlimit limit{rlimits[i].soft, rlimits[i].hard};
    if (::setrlimit(static_cast<__rlimit_resource_t>(*resource), &limit) != 0) {
      return ErrnoStatus("setrlimit", "process.rlimits[" + std::to_string(i) + "]");
    }
  }
  if (process.oom_score_adj) {
    const std::string value = std::to_string(*process.oom_score_adj);
    UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
      return ErrnoStatus("write", "process.oomScoreAdj");
    }
  }
  if (process.capabilities) SANDBOX_RETURN_IF_ERROR(DropBoundingSet(*process.capabilities));
  // Keep the permitted set across the uid change; the config decides it below.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return ErrnoStatus("prctl PR_SET_KEEPCAPS", "process.user");
  const oci::User& user = process.user;
  const auto& groups = user.additional_gids.value_or(std::vector<uint32_t>{});
  std::vector<gid_t> gids(groups.begin(), groups.end());
  if (::setgroups(gids.size(), gids.data()) != 0) return ErrnoStatus("setgroups", "process.user.additionalGids");
  if (::setresgid(user.gid, user.gid, user.gid) != 0) return ErrnoStatus("setresgid", "process.user.gid");
  if (::setresuid(user.uid, user.uid, user.uid) != 0) return ErrnoStatus("setresuid", "process.user.uid");
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return ErrnoStatus("prctl PR_SET_KEEPCAPS", "process.user");
  if (process.capabilities) SANDBOX_RETURN_IF_ERROR(SetCapabilitySets(*process.capabilities));
  ::umask(user.umask.value_or(022));
  const std::string cwd = process.cwd.empty() ? "/" : process.cwd;
  if (::chdir(cwd.c_str()) != 0) return ErrnoStatus("chdir", "process.cwd " + cwd);
  if (process.no_new_privileges.value_or(false) && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl PR_SET_NO_NEW_PRIVS", "process.noNewPrivileges");
  }
  return Status::Ok();
}

Result<std::string> ResolveExecutable(const oci::Process& process) {
  const std::string& command = process.args->front();
  if (command.find('/') != std::string::npos) return command;
  std::string path = EnvValue(process, "PATH");
  if (path.empty()) path = kDefaultPath;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string directory = path.substr(start, end - start);
    const std::string candidate = (directory.empty() ? "." : directory) + "/" + command;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return NotFound("process.args[0]: \"" + command + "\" not found in PATH " + path);
}

Status ExecProcess(const oci::Process& process, const std::string& executable) {
  std::vector<char*> argv;
  for (const std::string& arg : *process.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  const oci::StringList env = process.env.value_or(oci::StringList{});
  for (const std::string& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  // The agent blocks SIGCHLD/SIGINT in every thread; the container starts clean.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int signal = 1; signal < NSIG; ++signal) ::signal(signal, SIG_DFL);
  ::execve(executable.c_str(), argv.data(), envp.data());
  return ErrnoStatus("exec", "process.args[0] " + executable);
}

}  // namespace sandbox::agent
