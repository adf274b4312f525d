// libFuzzer target: the documents of an OCI image layout, which come from
// whoever built the image. The first byte picks the parser (index,
// manifest, image config, oci-layout, a digest, an image reference, a
// platform); the rest is its input. Each ends in field errors or a value:
// no exception escapes, no abort, no sanitizer report.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/image/digest.h"
#include "common/image/image_types.h"
#include "common/image/resolve.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sandbox::image;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0: {
      Index index;
      (void)ParseIndex(text, index);
      break;
    }
    case 1: {
      Manifest manifest;
      (void)ParseManifest(text, manifest);
      break;
    }
    case 2: {
      ImageConfig config;
      (void)ParseImageConfig(text, config);
      break;
    }
    case 3: {
      LayoutHeader header;
      (void)ParseLayoutHeader(text, header);
      break;
    }
    case 4:
      (void)ParseDigest(text);
      break;
    case 5:
      (void)ParseImageReference(std::string(text));
      break;
    default:
      (void)ParsePlatform(std::string(text));
      break;
  }
  return 0;
}
