// ociVersion handling: SemVer 2.0.0 parsing and the range of spec versions
// this runtime implements.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sandbox::oci {

// The newest runtime-spec version implemented; `spec` writes it.
inline constexpr std::string_view kOciVersion = "1.3.0";
inline constexpr std::string_view kOciVersionMin = "1.0.0";

struct SemVer {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  std::string prerelease;  // after '-', empty when released
  std::string build;       // after '+'
};

std::optional<SemVer> ParseSemVer(std::string_view text);

// 1.0.0 <= version < 1.4.0. Pre-release and development builds of supported
// minors ("1.0.2-dev", "1.3.0-rc.1") are accepted as runc does; 1.0.0 release
// candidates predate the stable format and are not.
bool IsSupportedOciVersion(const SemVer& version);

// a < b by (major, minor, patch), ignoring pre-release.
bool VersionBefore(const SemVer& a, uint64_t major, uint64_t minor, uint64_t patch = 0);

}  // namespace sandbox::oci
