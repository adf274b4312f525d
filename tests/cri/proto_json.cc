#include "tests/cri/proto_json.h"

#include <google/protobuf/util/json_util.h>

#include "common/base/file_util.h"

namespace sandbox::cri {

Status ReadJsonFile(const std::string& path, google::protobuf::Message& message) {
  SANDBOX_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  message.Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(text, &message, options);
  if (!status.ok()) {
    return InvalidArgument(path + ": not a valid " + message.GetTypeName() +
                           " in JSON: " + status.ToString());
  }
  return Status::Ok();
}

Result<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok())
    return Internal("printing " + message.GetTypeName() + " as JSON: " + status.ToString());
  if (json.empty() || json.back() != '\n') json += '\n';
  return json;
}

}  // namespace sandbox::cri
