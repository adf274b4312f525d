#include "common/image/convert.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/image/in_root.h"
#include "common/oci/default_spec.h"

namespace sandbox::image {
namespace {

std::optional<uint32_t> ParseId(std::string_view text) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string> SplitFields(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, separator)) fields.push_back(field);
  if (!line.empty() && line.back() == separator) fields.push_back("");
  return fields;
}

// Lines of /etc/passwd or /etc/group as field vectors (comments and blanks skipped).
std::vector<std::vector<std::string>> Records(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::stringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) {
    if (line.empty() || line[0] == '#') continue;
    records.push_back(SplitFields(line, ':'));
  }
  return records;
}

std::string Join(const std::vector<std::string>& items, const char* separator) {
  std::string joined;
  for (const std::string& item : items) joined += (joined.empty() ? "" : separator) + item;
  return joined;
}

}  // namespace

Result<ResolvedUser> ResolveImageUser(const std::string& user, const std::string& passwd, const std::string& group) {
  ResolvedUser resolved;
  size_t colon = user.find(':');
  std::string user_part = user.substr(0, colon);
  std::optional<std::string> group_part;
  if (colon != std::string::npos) group_part = user.substr(colon + 1);
  auto users = Records(passwd);
  auto groups = Records(group);

  std::string user_name;
  if (std::optional<uint32_t> uid = ParseId(user_part)) {
    resolved.uid = *uid;
    for (const auto& record : users) {
      if (record.size() >= 4 && ParseId(record[2]) == *uid) {
        user_name = record[0];
        resolved.gid = ParseId(record[3]).value_or(0);
        break;
      }
    }
  } else {
    bool found = false;
    for (const auto& record : users) {
      if (record.size() >= 4 && record[0] == user_part) {
        std::optional<uint32_t> uid_value = ParseId(record[2]);
        std::optional<uint32_t> gid_value = ParseId(record[3]);
        if (!uid_value || !gid_value) return InvalidArgument("/etc/passwd: malformed entry for \"" + user_part + "\"");
        resolved.uid = *uid_value;
        resolved.gid = *gid_value;
        user_name = user_part;
        found = true;
        break;
      }
    }
    if (!found) return NotFound("Config.User: no user \"" + user_part + "\" in the image's /etc/passwd");
  }

  if (group_part) {
    if (std::optional<uint32_t> gid = ParseId(*group_part)) {
      resolved.gid = *gid;
    } else {
      bool found = false;
      for (const auto& record : groups) {
        if (record.size() >= 3 && record[0] == *group_part) {
          std::optional<uint32_t> gid_value = ParseId(record[2]);
          if (!gid_value) return InvalidArgument("/etc/group: malformed entry for \"" + *group_part + "\"");
          resolved.gid = *gid_value;
          found = true;
          break;
        }
      }
      if (!found) return NotFound("Config.User: no group \"" + *group_part + "\" in the image's /etc/group");
    }
  } else if (!ParseId(user_part) && !user_name.empty()) {
    // A named user without a group: its supplementary groups come from /etc/group.
    resolved.set_additional_gids = true;
    for (const auto& record : groups) {
      if (record.size() < 4) continue;
      std::vector<std::string> members = SplitFields(record[3], ',');
      if (std::find(members.begin(), members.end(), user_name) == members.end()) continue;
      if (std::optional<uint32_t> gid = ParseId(record[2]); gid && *gid != resolved.gid) {
        resolved.additional_gids.push_back(*gid);
      }
    }
  }
  return resolved;
}

Result<oci::Spec> ConvertImageConfig(const ImageConfig& image, const std::string& rootfs) {
  oci::Spec spec = oci::DefaultSpec({});
  oci::Process& process = *spec.process;
  process.terminal = false;
  const ContainerConfig config = image.config.value_or(ContainerConfig{});

  oci::StringList args = config.entrypoint.value_or(oci::StringList{});
  const oci::StringList cmd = config.cmd.value_or(oci::StringList{});
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) {
    // Implementation-defined (conversion.md); runc's template runs sh, and so do we.
    spdlog::warn("image config has neither Config.Entrypoint nor Config.Cmd; process.args defaults to {}",
                 process.args->front());
  } else {
    process.args = args;
  }

  if (config.env) {
    const std::string default_path = process.env->front();  // DefaultSpec's PATH=...
    process.env = *config.env;
    bool has_path = std::any_of(config.env->begin(), config.env->end(),
                                [](const std::string& entry) { return entry.starts_with("PATH="); });
    // Adding a variable the image does not name is allowed (conversion.md note 1).
    if (!has_path) process.env->insert(process.env->begin(), default_path);
  }
  process.cwd = config.working_dir && !config.working_dir->empty() ? *config.working_dir : "/";

  if (config.user && !config.user->empty()) {
    // The files may be absent when the user is numeric; names then fail below.
    std::string passwd = ReadFileInRoot(rootfs, "etc/passwd").value_or("");
    std::string group = ReadFileInRoot(rootfs, "etc/group").value_or("");
    SANDBOX_ASSIGN_OR_RETURN(ResolvedUser user, ResolveImageUser(*config.user, passwd, group));
    process.user.uid = user.uid;
    process.user.gid = user.gid;
    if (user.set_additional_gids && !user.additional_gids.empty()) process.user.additional_gids = user.additional_gids;
  }

  oci::StringMap annotations;
  auto set = [&](const char* key, const std::optional<std::string>& value) {
    if (value) annotations[key] = *value;
  };
  set("org.opencontainers.image.os", image.os);
  set("org.opencontainers.image.architecture", image.architecture);
  set("org.opencontainers.image.variant", image.variant);
  set("org.opencontainers.image.os.version", image.os_version);
  if (image.os_features) annotations["org.opencontainers.image.os.features"] = Join(*image.os_features, ",");
  set("org.opencontainers.image.author", image.author);
  set("org.opencontainers.image.created", image.created);
  set("org.opencontainers.image.stopSignal", config.stop_signal);
  if (config.exposed_ports && !config.exposed_ports->empty()) {
    std::vector<std::string> ports;
    for (const auto& [port, ignored] : *config.exposed_ports) ports.push_back(port);
    annotations["org.opencontainers.image.exposedPorts"] = Join(ports, ",");
  }
  if (config.volumes && !config.volumes->empty()) {
    std::vector<std::string> volumes;
    for (const auto& [volume, ignored] : *config.volumes) volumes.push_back(volume);
    annotations[kVolumesAnnotation] = Join(volumes, ",");
  }
  // Labels win over every implicit annotation.
  if (config.labels) {
    for (const auto& [key, value] : *config.labels) annotations[key] = value;
  }
  if (!annotations.empty()) spec.annotations = annotations;
  return spec;
}

}  // namespace sandbox::image
