#include "common/image/digest.h"

namespace sandbox::image {
namespace {

const EVP_MD* Algorithm(const std::string& name) {
  if (name == "sha256") return EVP_sha256();
  if (name == "sha512") return EVP_sha512();
  return nullptr;
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
  const EVP_MD* md = Algorithm(algorithm);
  if (md == nullptr) return InvalidArgument("unsupported digest algorithm \"" + algorithm + "\"");
  std::unique_ptr<EVP_MD_CTX, ContextDeleter> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestInit_ex(context.get(), md, nullptr) != 1) {
    return Internal("EVP_DigestInit_ex failed for " + algorithm);
  }
  return Hasher(algorithm, std::move(context));
}

void Hasher::Update(const void* data, size_t size) { EVP_DigestUpdate(context_.get(), data, size); }

Digest Hasher::Finish() {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_.get(), raw, &length);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[raw[i] >> 4]);
    hex.push_back(kHex[raw[i] & 15]);
  }
  return Digest{algorithm_, hex};
}

}  // namespace sandbox::image
