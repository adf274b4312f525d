#include "common/image/digest.h"

#include <cstdint>

#include "common/base/sha2.h"

namespace sandbox::image {
namespace {

std::string Hex(const uint8_t* raw, size_t length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    hex.push_back(kHex[raw[i] >> 4]);
    hex.push_back(kHex[raw[i] & 15]);
  }
  return hex;
}

}  // namespace

Result<Digest> ParseDigest(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument("digest \"" + std::string(text) + "\" has no algorithm prefix");
  }
  Digest digest{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  size_t want = digest.algorithm == "sha256" ? 64 : digest.algorithm == "sha512" ? 128 : 0;
  if (want == 0) {
    return InvalidArgument("digest \"" + std::string(text) + "\": unsupported algorithm \"" +
                           digest.algorithm + "\" (want sha256 or sha512)");
  }
  if (digest.hex.size() != want || digest.hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return InvalidArgument("digest \"" + std::string(text) + "\": want " + std::to_string(want) +
                           " lowercase hex digits");
  }
  return digest;
}

Result<Hasher> Hasher::Create(const std::string& algorithm) {
  if (algorithm == "sha256") {
    sha256_ctx context;
    sha256_init(&context);
    return Hasher(algorithm, context);
  }
  if (algorithm == "sha512") {
    sha512_ctx context;
    sha512_init(&context);
    return Hasher(algorithm, context);
  }
  return InvalidArgument("unsupported digest algorithm \"" + algorithm + "\"");
}

void Hasher::Update(const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (auto* sha256 = std::get_if<sha256_ctx>(&context_)) {
    sha256_update(sha256, size, bytes);
  } else {
    sha512_update(&std::get<sha512_ctx>(context_), size, bytes);
  }
}

Digest Hasher::Finish() {
  uint8_t raw[SHA512_DIGEST_SIZE];
  if (auto* sha256 = std::get_if<sha256_ctx>(&context_)) {
    Sha256Final(sha256, raw);
    return Digest{algorithm_, Hex(raw, SHA256_DIGEST_SIZE)};
  }
  Sha512Final(&std::get<sha512_ctx>(context_), raw);
  return Digest{algorithm_, Hex(raw, SHA512_DIGEST_SIZE)};
}

}  // namespace sandbox::image
