#include "agent/container/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <chrono>
#include <set>
#include <sstream>

#include "agent/container/cgroup_plan.h"
#include "agent/container/device_filter.h"
#include "common/base/file_util.h"
#include "common/oci/cgroups_path.h"

namespace sandbox::agent {
namespace {

Status WriteCgroupFile(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", path);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return ErrnoStatus("write \"" + value + "\" to", path);
  }
  return Status::Ok();
}

// The value of `key` in a flat-keyed file such as cpu.stat ("key value" lines).
uint64_t KeyedValue(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  for (std::string name, value; lines >> name >> value;) {
    if (name == key) return std::strtoull(value.c_str(), nullptr, 10);
  }
  return 0;
}

uint64_t NumberIn(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok() || text->starts_with("max")) return 0;
  return std::strtoull(text->c_str(), nullptr, 10);
}

}  // namespace

Result<std::string> CgroupPathFor(const oci::Spec& spec, const std::string& container_id) {
  return oci::CgroupRelativePath(spec.linux ? spec.linux->cgroups_path : std::nullopt, "sandbox/" + container_id);
}

Result<std::unique_ptr<Cgroup>> Cgroup::Create(const std::string& root, const std::string& relative_path,
                                               const oci::Spec& spec) {
  struct statfs fs {};
  if (::statfs(root.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    return FailedPrecondition("cgroup v2 is not mounted at " + root);
  }
  std::vector<CgroupWrite> writes;
  const oci::Resources* resources = spec.linux && spec.linux->resources ? &*spec.linux->resources : nullptr;
  if (resources != nullptr) {
    SANDBOX_ASSIGN_OR_RETURN(writes, PlanCgroupWrites(*resources));
  }
  std::vector<bpf_insn> device_program;
  if (resources != nullptr && resources->devices) {
    SANDBOX_ASSIGN_OR_RETURN(device_program, CompileDeviceFilter(EffectiveDeviceRules(spec)));
  }
  const std::vector<std::string> controllers = ControllersFor(writes);
  const std::string available = ReadFile(root + "/cgroup.controllers").value_or("");
  std::set<std::string> offered;
  std::istringstream names(available);
  for (std::string name; names >> name;) offered.insert(name);
  for (const std::string& controller : controllers) {
    if (!offered.contains(controller)) {
      return FailedPrecondition("linux.resources: the " + controller + " controller is not available in " + root);
    }
  }
  const std::set<std::string> needed(controllers.begin(), controllers.end());

  // Each level down enables the controllers for the next one.
  std::string current = root;
  std::istringstream parts(relative_path);
  std::vector<std::string> components;
  for (std::string part; std::getline(parts, part, '/');) {
    if (!part.empty()) components.push_back(part);
  }
  for (size_t level = 0; level < components.size(); ++level) {
    // Below the root, every controller the level has, as runc does
    // (statistics and later updates need them); at the root only what the
    // limits need (the guest's init enabled everything there already).
    std::set<std::string> enable = needed;
    if (level > 0) {
      std::istringstream available(ReadFile(current + "/cgroup.controllers").value_or(""));
      for (std::string name; available >> name;) enable.insert(name);
    }
    for (const std::string& controller : enable) {
      Status enabled = WriteCgroupFile(current + "/cgroup.subtree_control", "+" + controller);
      if (!enabled.ok() && needed.contains(controller)) return enabled.Wrap("linux.resources");
    }
    current += "/" + components[level];
    if (::mkdir(current.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", current);
  }
  std::unique_ptr<Cgroup> cgroup(new Cgroup(current));
  cgroup->directory_.Reset(::open(current.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup->directory_.valid()) return ErrnoStatus("open", current);
  for (const CgroupWrite& write : writes) {
    Status written = WriteCgroupFile(current + "/" + write.file, write.value);
    if (!written.ok()) return InvalidArgument("linux.resources: " + written.message());
  }
  if (!device_program.empty()) SANDBOX_RETURN_IF_ERROR(AttachDeviceFilter(cgroup->fd(), device_program));
  return cgroup;
}

namespace {

// Waits until cgroup.events holds `want` or `limit` passes. kernfs wakes
// poll() with POLLPRI on a change once the file was read through the same fd.
bool WaitForEvent(const std::string& events_path, const std::string& want, std::chrono::milliseconds limit) {
  UniqueFd events(::open(events_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!events.valid()) return false;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    char buffer[512];
    const ssize_t got = ::pread(events.get(), buffer, sizeof(buffer) - 1, 0);
    if (got < 0) return false;
    if (std::string(buffer, static_cast<size_t>(got)).find(want) != std::string::npos) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd change{events.get(), POLLPRI, 0};
    if (::poll(&change, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) return false;
  }
}

}  // namespace

Cgroup::~Cgroup() {
  // Whatever is left (a process that escaped the pid namespace's end) goes first.
  (void)WriteCgroupFile(path_ + "/cgroup.kill", "1");
  (void)WaitForEvent(path_ + "/cgroup.events", "populated 0", std::chrono::seconds(5));
  (void)::rmdir(path_.c_str());
}

Status Cgroup::Freeze(bool frozen) {
  SANDBOX_RETURN_IF_ERROR(WriteCgroupFile(path_ + "/cgroup.freeze", frozen ? "1" : "0"));
  // The write returns at once; cgroup.events says when every task got there.
  const std::string want = frozen ? "frozen 1" : "frozen 0";
  if (WaitForEvent(path_ + "/cgroup.events", want, std::chrono::seconds(10))) return Status::Ok();
  return Unavailable("cgroup " + path_ + " did not reach \"" + want + "\" within 10 s");
}

Status Cgroup::Update(const oci::Resources& resources) {
  if (resources.devices) {
    return InvalidArgument("linux.resources.devices: device rules are set at create and cannot be updated");
  }
  SANDBOX_ASSIGN_OR_RETURN(std::vector<CgroupWrite> writes, PlanCgroupWrites(resources));
  std::set<std::string> enabled;
  std::istringstream names(ReadFile(path_ + "/cgroup.controllers").value_or(""));
  for (std::string name; names >> name;) enabled.insert(name);
  for (const std::string& controller : ControllersFor(writes)) {
    if (!enabled.contains(controller)) {
      return FailedPrecondition("linux.resources: the " + controller + " controller is not enabled for " + path_);
    }
  }
  if (resources.memory && resources.memory->check_before_update.value_or(false)) {
    SANDBOX_RETURN_IF_ERROR(CheckMemoryBeforeUpdate(*resources.memory, NumberIn(path_ + "/memory.current"),
                                                    NumberIn(path_ + "/memory.swap.current")));
  }
  for (const CgroupWrite& write : writes) {
    Status written = WriteCgroupFile(path_ + "/" + write.file, write.value);
    if (!written.ok()) return InvalidArgument("linux.resources: " + written.message());
  }
  return Status::Ok();
}

Result<CgroupStats> Cgroup::Stats() {
  CgroupStats stats;
  stats.cpu_usage_ns = KeyedValue(ReadFile(path_ + "/cpu.stat").value_or(""), "usage_usec") * 1000;
  stats.memory_usage_bytes = NumberIn(path_ + "/memory.current");
  stats.memory_limit_bytes = NumberIn(path_ + "/memory.max");
  stats.pids_current = NumberIn(path_ + "/pids.current");
  std::istringstream io(ReadFile(path_ + "/io.stat").value_or(""));
  for (std::string token; io >> token;) {
    if (token.starts_with("rbytes=")) stats.io_read_bytes += std::strtoull(token.c_str() + 7, nullptr, 10);
    if (token.starts_with("wbytes=")) stats.io_write_bytes += std::strtoull(token.c_str() + 7, nullptr, 10);
  }
  return stats;
}

namespace {

Status CollectProcesses(const std::string& directory, std::vector<pid_t>& pids) {
  Result<std::string> procs = ReadFile(directory + "/cgroup.procs");
  if (!procs.ok()) return procs.status();
  std::istringstream lines(*procs);
  for (long pid; lines >> pid;) pids.push_back(static_cast<pid_t>(pid));
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) return ErrnoStatus("opendir", directory);
  Status status = Status::Ok();
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
    status = CollectProcesses(directory + "/" + entry->d_name, pids);
    if (!status.ok()) break;
  }
  ::closedir(dir);
  return status;
}

}  // namespace

Result<std::vector<pid_t>> Cgroup::Processes() const {
  std::vector<pid_t> pids;
  SANDBOX_RETURN_IF_ERROR(CollectProcesses(path_, pids));
  return pids;
}

}  // namespace sandbox::agent
