// The protobuf JSON mapping at cri-client's edges: JSON config files in (as
// crictl's), one JSON document per command out.
#pragma once

#include <google/protobuf/message.h>

#include <string>

#include "common/base/status.h"

namespace sandbox::cri {

// Parses the JSON file at `path` into `message` (cleared first). Field names
// may be lowerCamelCase ("logDirectory") or the .proto's ("log_directory");
// unknown fields are errors. Errors name the file.
Status ReadJsonFile(const std::string& path, google::protobuf::Message& message);

// `message` as one indented JSON document ending in a newline: lowerCamelCase
// field names, enums by name, 64-bit integers as strings (the protobuf JSON
// mapping, as crictl prints), and every scalar field even when it holds its
// default, so CONTAINER_CREATED, SANDBOX_READY and exitCode 0 are printed
// rather than left out. Unset message fields are left out.
Result<std::string> ToJson(const google::protobuf::Message& message);

}  // namespace sandbox::cri
