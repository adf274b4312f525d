// The runtime-spec "features" document (features.md): what this runtime
// implements, built from the same tables validation uses.
#pragma once

#include <string>

namespace sandbox::oci {

struct FeaturesOptions {
  std::string runtime_version;  // reported as an annotation
};

std::string FeaturesJson(const FeaturesOptions& options, int indent = 2);

}  // namespace sandbox::oci
