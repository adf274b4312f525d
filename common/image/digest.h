// Content digests ("sha256:<hex>") and a streaming hasher over OpenSSL.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace sandbox::image {

struct Digest {
  std::string algorithm;  // "sha256" or "sha512"
  std::string hex;        // lowercase
  std::string ToString() const { return algorithm + ":" + hex; }
  bool operator==(const Digest&) const = default;
};

// Accepts the registered algorithms the image spec requires us to verify:
// sha256 (64 hex digits) and sha512 (128). Anything else is an error.
Result<Digest> ParseDigest(std::string_view text);

// Incremental hash of one algorithm. Move-only; owns its EVP context.
class Hasher {
 public:
  static Result<Hasher> Create(const std::string& algorithm);
  void Update(const void* data, size_t size);
  // Returns the digest of everything fed so far; the hasher is spent after.
  Digest Finish();

 private:
  struct ContextDeleter {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  Hasher(std::string algorithm, std::unique_ptr<EVP_MD_CTX, ContextDeleter> context)
      : algorithm_(std::move(algorithm)), context_(std::move(context)) {}
  std::string algorithm_;
  std::unique_ptr<EVP_MD_CTX, ContextDeleter> context_;
};

}  // namespace sandbox::image
