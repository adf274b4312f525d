// Content digests ("sha256:<hex>") and a streaming hasher over Nettle.
#pragma once

#include <nettle/sha2.h>

#include <string>
#include <string_view>
#include <variant>

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

// Incremental hash of one algorithm, over Nettle: no library-wide
// initialisation on the first digest, which OpenSSL 3 does (openssl.cnf,
// its default provider), and VmTemplateKey hashes on every create
// (docs/measurements.md, stop 41).
class Hasher {
 public:
  static Result<Hasher> Create(const std::string& algorithm);
  void Update(const void* data, size_t size);
  // Returns the digest of everything fed so far; the hasher is spent after.
  Digest Finish();

 private:
  using Context = std::variant<sha256_ctx, sha512_ctx>;
  Hasher(std::string algorithm, Context context) : algorithm_(std::move(algorithm)), context_(context) {}
  std::string algorithm_;
  Context context_;
};

}  // namespace sandbox::image
