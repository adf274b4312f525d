#include "common/ttrpc/status_code.h"

namespace sandbox::ttrpc {

// google.rpc.Code values.
namespace rpc {
constexpr int32_t kOk = 0, kInvalidArgument = 3, kDeadlineExceeded = 4, kNotFound = 5, kAlreadyExists = 6,
                  kFailedPrecondition = 9, kUnimplemented = 12, kInternal = 13, kUnavailable = 14;
}

int32_t ToRpcCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return rpc::kOk;
    case StatusCode::kInvalidArgument: return rpc::kInvalidArgument;
    case StatusCode::kNotFound: return rpc::kNotFound;
    case StatusCode::kAlreadyExists: return rpc::kAlreadyExists;
    case StatusCode::kFailedPrecondition: return rpc::kFailedPrecondition;
    case StatusCode::kUnavailable: return rpc::kUnavailable;
    case StatusCode::kDeadlineExceeded: return rpc::kDeadlineExceeded;
    case StatusCode::kUnimplemented: return rpc::kUnimplemented;
    case StatusCode::kInternal: return rpc::kInternal;
  }
  return rpc::kInternal;
}

StatusCode FromRpcCode(int32_t code) {
  switch (code) {
    case rpc::kOk: return StatusCode::kOk;
    case rpc::kInvalidArgument: return StatusCode::kInvalidArgument;
    case rpc::kNotFound: return StatusCode::kNotFound;
    case rpc::kAlreadyExists: return StatusCode::kAlreadyExists;
    case rpc::kFailedPrecondition: return StatusCode::kFailedPrecondition;
    case rpc::kUnavailable: return StatusCode::kUnavailable;
    case rpc::kDeadlineExceeded: return StatusCode::kDeadlineExceeded;
    case rpc::kUnimplemented: return StatusCode::kUnimplemented;
    default: return StatusCode::kInternal;
  }
}

}  // namespace sandbox::ttrpc
