// config.json <-> Spec. Parsing collects every type error with its JSON path;
// semantic checks are in validate.h.
#pragma once

#include <string>
#include <string_view>

#include "common/oci/field_error.h"
#include "common/oci/spec.h"

namespace sandbox::oci {

// Parses config.json text. Returns every structural error found (malformed
// JSON, wrong types, missing required properties); empty means `out` is filled.
FieldErrors ParseSpec(std::string_view text, Spec& out);

// process.json for `exec -p` and resources.json for `update -r`: the same
// objects as in config.json, parsed with the same rules.
FieldErrors ParseProcess(std::string_view text, Process& out);
FieldErrors ParseResources(std::string_view text, Resources& out);
// config.json's hooks object (what the runtime keeps for poststart/poststop).
FieldErrors ParseHooks(std::string_view text, Hooks& out);

// Serialises a Spec, unknown properties included. indent < 0: one line.
std::string SpecToJson(const Spec& spec, int indent = 2);
// The process and resources objects alone, on one line (what exec -p and
// update -r take; what the shim sends the agent).
std::string ProcessToJson(const Process& process);
std::string ResourcesToJson(const Resources& resources);
std::string HooksToJson(const Hooks& hooks);

}  // namespace sandbox::oci
