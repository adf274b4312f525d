// SHA-256 and SHA-512 digests over Nettle: these wrappers build with
// Nettle 3 (Debian 12 and 13 ship 3.8 and 3.10) and with Nettle 4, which
// dropped the length argument of its *_digest functions.
#pragma once

#include <nettle/sha2.h>
#include <nettle/version.h>

#include <cstdint>

namespace sandbox {

// Writes SHA256_DIGEST_SIZE bytes to `digest`; `context` starts over.
inline void Sha256Final(sha256_ctx* context, uint8_t* digest) {
#if NETTLE_VERSION_MAJOR >= 4
  sha256_digest(context, digest);
#else
  sha256_digest(context, SHA256_DIGEST_SIZE, digest);
#endif
}

// Writes SHA512_DIGEST_SIZE bytes to `digest`; `context` starts over.
inline void Sha512Final(sha512_ctx* context, uint8_t* digest) {
#if NETTLE_VERSION_MAJOR >= 4
  sha512_digest(context, digest);
#else
  sha512_digest(context, SHA512_DIGEST_SIZE, digest);
#endif
}

}  // namespace sandbox
