// The template config.json `sandbox-rt spec` writes, as runc's does.
#pragma once

#include <sys/types.h>

#include "common/oci/spec.h"

namespace sandbox::oci {

struct DefaultSpecOptions {
  bool rootless = false;
  uid_t host_uid = 0;  // mapped to root with rootless
  gid_t host_gid = 0;
};

Spec DefaultSpec(const DefaultSpecOptions& options);

}  // namespace sandbox::oci
