// The container's cgroup v2 directory: created with the controllers its
// limits need enabled along the path, limits written (cgroup_plan.h), the
// device filter attached (device_filter.h); the init is cloned straight into
// it (CLONE_INTO_CGROUP, so a new cgroup namespace is rooted there). Pause is
// cgroup.freeze; removal kills what is left (cgroup.kill) and rmdirs it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

struct CgroupStats {
  uint64_t cpu_usage_ns = 0;
  uint64_t memory_usage_bytes = 0;
  uint64_t memory_limit_bytes = 0;  // 0: no limit
  uint64_t pids_current = 0;
  uint64_t io_read_bytes = 0;
  uint64_t io_write_bytes = 0;
};

// Where the container's cgroup goes under `root`: linux.cgroupsPath
// ("/a/b", "a/b", or systemd's "slice:prefix:name" as
// /slice/prefix-name.scope), else sandbox/<id>.
Result<std::string> CgroupPathFor(const oci::Spec& spec, const std::string& container_id);

class Cgroup {
 public:
  // `root` is a cgroup2 mount; fails naming the field whose limit cannot be set.
  static Result<std::unique_ptr<Cgroup>> Create(const std::string& root, const std::string& relative_path,
                                                const oci::Spec& spec);
  ~Cgroup();
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  int fd() const { return directory_.get(); }
  const std::string& path() const { return path_; }
  Status Freeze(bool frozen);
  // Writes the limits `resources` sets (update -r: only those), with the
  // same conversions as at create; device rules cannot change.
  Status Update(const oci::Resources& resources);
  Result<CgroupStats> Stats();
  // Every process in this cgroup and the ones below it.
  Result<std::vector<pid_t>> Processes() const;

 private:
  explicit Cgroup(std::string path) : path_(std::move(path)) {}

  std::string path_;
  UniqueFd directory_;
};

}  // namespace sandbox::agent
