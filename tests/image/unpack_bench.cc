// Benchmark (ctest label bench): unpack time of the same 3-layer image with
// `sandbox-rt image unpack` and with Debian's `umoci unpack`, run alternately
// N times each as separate processes. Prints both medians and the ratio
// (ours / umoci; the goal is <= 1.0). It asserts nothing about speed.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "common/base/file_util.h"
#include "common/base/subprocess.h"
#include "common/image/test_layout_builder.h"

using namespace sandbox;
using namespace sandbox::image::testing;

namespace {

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double TimeCommand(const std::vector<std::string>& argv) {
  auto start = std::chrono::steady_clock::now();
  Result<CommandResult> result = RunCommand(argv);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok() || result->exit_code != 0) {
    std::fprintf(stderr, "%s failed: %s\n", argv[0].c_str(),
                 result.ok() ? result->output.c_str() : result.status().ToString().c_str());
    std::exit(1);
  }
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  char pattern[] = "/tmp/sandbox-unpack-bench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return 1;
  std::string dir = pattern;
  LayoutBuilder builder(dir + "/layout");
  std::vector<LayoutBuilder::Layer> layers;
  for (int layer = 0; layer < 3; ++layer) {
    std::vector<TarEntry> entries;
    for (int d = 0; d < 30; ++d) {
      // Appended rather than "l" + to_string(...): GCC 12 -O3 warns falsely
      // (-Wrestrict, GCC bug 105651) on a literal + a temporary string.
      std::string top = std::string("l").append(std::to_string(layer));
      std::string sub = top + "/d" + std::to_string(d);
      entries.push_back(Dir(top));
      entries.push_back(Dir(sub));
      for (int f = 0; f < 50; ++f) {
        entries.push_back(File(sub + "/f" + std::to_string(f), std::string(2000 + f * 40, 'a' + (f % 26))));
      }
    }
    if (layer > 0) entries.push_back(File("l0/d" + std::to_string(layer) + "/.wh.f1", ""));
    layers.push_back(builder.AddLayer(entries, image::LayerCompression::kGzip));
  }
  builder.Finish({LayoutBuilder::WithTag(builder.AddImage(layers), "bench")});

  std::vector<double> ours, umoci;
  for (int run = 0; run < runs; ++run) {
    std::string our_bundle = dir + "/ours" + std::to_string(run);
    std::string umoci_bundle = dir + "/umoci" + std::to_string(run);
    ours.push_back(TimeCommand({SANDBOX_RT_BINARY, "image", "unpack", builder.dir() + ":bench", our_bundle}));
    umoci.push_back(TimeCommand({"umoci", "unpack", "--image", builder.dir() + ":bench", umoci_bundle}));
    (void)RemoveTree(our_bundle);
    (void)RemoveTree(umoci_bundle);
  }
  double our_median = Median(ours), umoci_median = Median(umoci);
  std::printf("image unpack, 3 layers x 1500 files, %d runs each\n", runs);
  std::printf("  sandbox-rt image unpack  median %.3f s\n", our_median);
  std::printf("  umoci unpack             median %.3f s\n", umoci_median);
  std::printf("  ratio sandbox-rt/umoci   %.2f (goal <= 1.0)\n", our_median / umoci_median);
  (void)RemoveTree(dir);
  return 0;
}
