// config.json mount options -> what mount(2), mount_setattr(2) and the
// propagation calls need, the way runc reads them. Pure: no system calls, so
// the whole table is unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sandbox::agent {

struct MountPlan {
  unsigned long flags = 0;        // MS_* for mount(2) (without bind and propagation)
  unsigned long propagation = 0;  // MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE, with MS_REC for r*
  bool bind = false;
  bool recursive_bind = false;     // rbind
  uint64_t recursive_set = 0;      // MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE): rro, rnosuid, ...
  uint64_t recursive_clear = 0;
  bool tmpcopyup = false;          // copy the underlying directory into a new tmpfs
  std::string data;                // everything else, comma-joined ("size=64k,mode=755")

  // A read-only (or nosuid, ...) bind mount needs a second, remounting call:
  // the kernel ignores those flags on MS_BIND.
  bool NeedsBindRemount() const;
};

// Fails on an empty option; unknown words become filesystem data, as in runc.
Result<MountPlan> ParseMountOptions(const std::vector<std::string>& options);

}  // namespace sandbox::agent
