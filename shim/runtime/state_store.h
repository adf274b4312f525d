// The on-disk state of containers: <root>/<id>/state.json, written atomically
// (temp + rename) while holding <root>/<id>/lock. Thread- and process-safe
// through that lock; one StateStore object may be shared by threads.
#pragma once

#include <string>
#include <vector>

#include "common/base/file_util.h"
#include "common/base/status.h"
#include "common/oci/state.h"

namespace sandbox::shim {

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  // <root>/<id>; the id must already be valid.
  std::string ContainerDir(const std::string& id) const { return root_ + "/" + id; }

  // Makes <root>/<id> and writes the first state.json, holding the lock from
  // before that state is visible: whoever else gets the lock and finds the
  // container "creating" knows that its creator is gone (runtime.h). Fails
  // with kAlreadyExists when the id is taken, leaving the existing one untouched.
  Result<FileLock> Create(const oci::State& state);

  // Serialises writers of one container. Held across load-modify-save.
  Result<FileLock> Lock(const std::string& id) const;

  Result<oci::State> Load(const std::string& id) const;
  Status Save(const oci::State& state) const;  // caller holds Lock(state.id)
  Status Remove(const std::string& id) const;  // removes the whole container dir

  // All ids with a container dir, sorted.
  Result<std::vector<std::string>> ListIds() const;

 private:
  std::string root_;
};

}  // namespace sandbox::shim
