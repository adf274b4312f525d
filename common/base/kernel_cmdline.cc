#include "common/base/kernel_cmdline.h"

#include <vector>

namespace sandbox {
namespace {

std::vector<std::string> Words(std::string_view cmdline) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false;
  bool open = false;  // a word has begun (it may be "" quoted)
  for (const char c : cmdline) {
    if (c == '"') {
      quoted = !quoted;
      open = true;
    } else if (c == ' ' && !quoted) {
      if (open) words.push_back(std::move(word));
      word.clear();
      open = false;
    } else {
      word += c;
      open = true;
    }
  }
  if (open) words.push_back(std::move(word));
  return words;
}

}  // namespace

std::optional<std::string> LastKernelParameter(std::string_view cmdline, std::string_view name) {
  std::optional<std::string> value;
  for (const std::string& word : Words(cmdline)) {
    if (word == name) {
      value = "";
    } else if (word.size() > name.size() && word.starts_with(name) && word[name.size()] == '=') {
      value = word.substr(name.size() + 1);
    }
  }
  return value;
}

}  // namespace sandbox
