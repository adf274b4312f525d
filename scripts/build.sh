#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release).
set -euo pipefail
preset=${1:-release}
cd "$(dirname "$0")/.."
generator=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "build/$preset/CMakeCache.txt" ]; then
  generator=(-G Ninja)
fi
cmake --preset "$preset" "${generator[@]}" >/dev/null
cmake --build "build/$preset" -j "$(nproc)"
