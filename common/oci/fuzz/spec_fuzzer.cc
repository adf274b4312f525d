// libFuzzer target: config.json as the CLI reads it (sandbox-rt validate,
// create, run). Whatever the bytes, parsing and validation end in field
// errors or a valid spec: no exception escapes, no abort, no sanitizer
// report. Found so far: a CPU list past unsigned long long aborted the CLI
// with std::out_of_range (corpus/huge-cpu-list.json keeps it).
#include <cstdint>
#include <string_view>

#include "common/oci/spec_json.h"
#include "common/oci/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sandbox::oci;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Spec spec;
  if (!ParseSpec(text, spec).empty()) return 0;
  (void)ValidateSpec(spec, ValidateOptions{.bundle_dir = "/nonexistent-bundle"});
  (void)UnenforcedFieldNotes(spec);
  (void)SpecToJson(spec);
  return 0;
}
