// libFuzzer target: an image layer from a hostile registry. The input is the
// layer's tar stream (uncompressed, so the fuzzer shapes entries rather than
// gzip), applied onto an empty rootfs with the image spec's semantics:
// whiteouts, opaque directories, hard links, symlinks, modes, xattrs. Nothing
// may abort, leak, touch memory it should not (ASan) or write outside the
// rootfs: a sibling directory is checked after every input.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

#include "common/base/temp_dir.h"
#include "common/image/digest.h"
#include "common/image/layer_apply.h"

namespace {

struct Fixture {
  Fixture() {
    spdlog::set_level(spdlog::level::off);
    rootfs = work + "/rootfs";
    outside = work + "/outside";
    blob = work + "/blob";
    if (mkdir(outside.c_str(), 0755) != 0) std::abort();
  }
  // Removed with everything in it when the fuzzer exits.
  sandbox::TempDir scratch = sandbox::TempDir::CreateOrDie("/tmp/layer-fuzz.");
  std::string work = scratch.path(), rootfs, outside, blob;
};

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

size_t EntriesIn(const std::string& directory) {
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) return 0;
  size_t count = 0;
  while (dirent* entry = readdir(dir)) count += std::string(entry->d_name) != "." && std::string(entry->d_name) != "..";
  closedir(dir);
  return count;
}

std::string Sha256Digest(const uint8_t* data, size_t size) {
  sandbox::image::Hasher hasher = sandbox::image::Hasher::Create("sha256").value();
  hasher.Update(data, size);
  return hasher.Finish().ToString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  FILE* blob = std::fopen(fixture.blob.c_str(), "wb");
  if (blob == nullptr || std::fwrite(data, 1, size, blob) != size || std::fclose(blob) != 0) std::abort();
  if (mkdir(fixture.rootfs.c_str(), 0755) != 0) std::abort();
  const std::string digest = Sha256Digest(data, size);
  const sandbox::image::Descriptor descriptor{.media_type = "application/vnd.oci.image.layer.v1.tar",
                                             .digest = digest,
                                             .size = static_cast<int64_t>(size)};
  (void)sandbox::image::ApplyLayer(fixture.rootfs, fixture.blob, descriptor, digest,
                                   {.preserve_ownership = false, .create_devices = false});
  // The rootfs's neighbours are untouched, whatever the layer held.
  if (EntriesIn(fixture.outside) != 0 || EntriesIn(fixture.work) != 3) {
    std::fprintf(stderr, "layer fuzzer: a write landed outside the rootfs\n");
    std::abort();
  }
  if (nftw(fixture.rootfs.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS) != 0) std::abort();
  return 0;
}
