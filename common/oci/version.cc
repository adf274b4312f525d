#include "common/oci/version.h"

#include <charconv>
#include <tuple>

namespace sandbox::oci {
namespace {

bool ParseNumber(std::string_view text, uint64_t& out) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;  // no leading zeros
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

bool ValidIdentifiers(std::string_view text) {
  if (text.empty()) return false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    std::string_view part = text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
    if (part.empty()) return false;
    for (char c : part) {
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

}  // namespace

std::optional<SemVer> ParseSemVer(std::string_view text) {
  SemVer version;
  size_t plus = text.find('+');
  if (plus != std::string_view::npos) {
    version.build = std::string(text.substr(plus + 1));
    if (!ValidIdentifiers(version.build)) return std::nullopt;
    text = text.substr(0, plus);
  }
  size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    version.prerelease = std::string(text.substr(dash + 1));
    if (!ValidIdentifiers(version.prerelease)) return std::nullopt;
    text = text.substr(0, dash);
  }
  size_t first = text.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = text.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (!ParseNumber(text.substr(0, first), version.major) ||
      !ParseNumber(text.substr(first + 1, second - first - 1), version.minor) ||
      !ParseNumber(text.substr(second + 1), version.patch)) {
    return std::nullopt;
  }
  return version;
}

bool VersionBefore(const SemVer& a, uint64_t major, uint64_t minor, uint64_t patch) {
  return std::tie(a.major, a.minor, a.patch) < std::tie(major, minor, patch);
}

bool IsSupportedOciVersion(const SemVer& version) {
  if (version.major != 1 || version.minor > 3) return false;
  bool pre_one = version.minor == 0 && version.patch == 0 && !version.prerelease.empty();
  return !pre_one;
}

}  // namespace sandbox::oci
