#include "common/oci/cpu_list.h"

#include <algorithm>
#include <bitset>
#include <charconv>
#include <string>

namespace sandbox::oci {
namespace {

// One decimal number of a list, all of `text`, at most kMaxCpuListNumber.
Result<uint32_t> ParseNumber(std::string_view text) {
  uint32_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  // Appended piece by piece: GCC 12's -Wrestrict misfires on "lit" + string
  // (bug 105651).
  std::string message(text);
  if (text.empty() || error == std::errc::invalid_argument || end != text.data() + text.size()) {
    message.insert(0, 1, '"');
    return InvalidArgument(message.append("\" is not a number"));
  }
  if (error == std::errc::result_out_of_range || value > kMaxCpuListNumber) {
    return InvalidArgument(message.append(" is above ").append(std::to_string(kMaxCpuListNumber)));
  }
  return value;
}

}  // namespace

Result<CpuList> ParseCpuList(std::string_view text) {
  if (text.empty()) return InvalidArgument("the list is empty");
  CpuList list;
  std::bitset<kMaxCpuListNumber + 1> named;  // "0-3,2" names four CPUs, not five
  uint64_t spanned = 0;
  size_t start = 0;
  while (true) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    const size_t dash = item.find('-');
    SANDBOX_ASSIGN_OR_RETURN(uint32_t first, ParseNumber(item.substr(0, dash)));
    uint32_t last = first;
    if (dash != std::string_view::npos) {
      SANDBOX_ASSIGN_OR_RETURN(last, ParseNumber(item.substr(dash + 1)));
      if (last < first) return InvalidArgument(std::string("the range ").append(item).append(" runs backwards"));
    }
    // Bounds the work a hostile list can ask for (a megabyte of "0-65535,").
    spanned += last - first + 1;
    if (spanned > 16 * (kMaxCpuListNumber + 1)) return InvalidArgument("the list spans too many CPUs");
    for (uint32_t cpu = first; cpu <= last; ++cpu) named.set(cpu);
    list.highest = std::max(list.highest, last);
    if (comma == text.size()) {
      list.count = static_cast<uint32_t>(named.count());
      return list;
    }
    start = comma + 1;
  }
}

}  // namespace sandbox::oci
