// Running a helper program (mkfs.erofs, mkfs.ext4, ...) to completion.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sandbox {

struct CommandResult {
  int exit_code = -1;  // 128+n when killed by signal n
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (searched in PATH) and waits for it; its stdin is `input`
// (written whole, then closed; large inputs need a reader that keeps up) or
// /dev/null. Fails only when the program cannot be started; a non-zero exit
// is a result.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const std::optional<std::string>& input = std::nullopt);

}  // namespace sandbox
