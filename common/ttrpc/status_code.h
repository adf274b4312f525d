// gRPC status codes, as ttrpc carries them, mapped to and from ours.
#pragma once

#include <cstdint>

#include "common/base/status.h"

namespace sandbox::ttrpc {

int32_t ToRpcCode(StatusCode code);
StatusCode FromRpcCode(int32_t code);

}  // namespace sandbox::ttrpc
