#include "shim/runtime/state_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "shim/runtime/container_id.h"

namespace sandbox::shim {

Result<FileLock> StateStore::Create(const oci::State& state) {
  SANDBOX_RETURN_IF_ERROR(ValidateContainerId(state.id));
  SANDBOX_RETURN_IF_ERROR(MakeDirs(root_, 0700).Wrap("creating state root"));
  std::string dir = ContainerDir(state.id);
  if (::mkdir(dir.c_str(), 0711) != 0) {
    if (errno == EEXIST) return AlreadyExists("container \"" + state.id + "\" already exists");
    return ErrnoStatus("mkdir", dir);
  }
  Result<FileLock> lock = Lock(state.id);
  Status saved = lock.ok() ? WriteFileAtomic(dir + "/state.json", oci::StateToJson(state), 0600) : lock.status();
  if (!saved.ok()) {
    (void)RemoveTree(dir);
    return saved;
  }
  return lock;
}

Result<FileLock> StateStore::Lock(const std::string& id) const {
  SANDBOX_RETURN_IF_ERROR(ValidateContainerId(id));
  if (!IsDirectory(ContainerDir(id))) return NotFound("container \"" + id + "\" does not exist");
  return FileLock::Acquire(ContainerDir(id) + "/lock");
}

Result<oci::State> StateStore::Load(const std::string& id) const {
  SANDBOX_RETURN_IF_ERROR(ValidateContainerId(id));
  std::string path = ContainerDir(id) + "/state.json";
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return NotFound("container \"" + id + "\" does not exist");
    }
    return text.status();
  }
  oci::State state;
  oci::FieldErrors errors = oci::ParseState(*text, state);
  if (!errors.empty()) return oci::FieldErrorsToStatus(path + " is corrupt", errors);
  if (state.id != id) return Internal(path + " names container \"" + state.id + "\"");
  return state;
}

Status StateStore::Save(const oci::State& state) const {
  SANDBOX_RETURN_IF_ERROR(ValidateContainerId(state.id));
  return WriteFileAtomic(ContainerDir(state.id) + "/state.json", oci::StateToJson(state), 0600);
}

Status StateStore::Remove(const std::string& id) const {
  SANDBOX_RETURN_IF_ERROR(ValidateContainerId(id));
  return RemoveTree(ContainerDir(id));
}

Result<std::vector<std::string>> StateStore::ListIds() const {
  std::vector<std::string> ids;
  std::error_code error;
  if (!IsDirectory(root_)) return ids;
  for (const auto& entry : std::filesystem::directory_iterator(root_, error)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && ValidateContainerId(name).ok()) ids.push_back(name);
  }
  if (error) return Internal("listing " + root_ + ": " + error.message());
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace sandbox::shim
