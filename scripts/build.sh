#!/usr/bin/env bash
# scripts/build.sh [PRESET [TARGET...]]: configures and builds one CMake preset
# (default: release), all targets or the ones named.
set -euo pipefail
preset=${1:-release}
shift || true
cd "$(dirname "$0")/.."
generator=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "build/$preset/CMakeCache.txt" ]; then
  generator=(-G Ninja)
fi
# ccache (CMakeLists.txt uses it when installed): paths under the checkout are
# hashed relative to it and the working directory not at all, so a fresh
# clone elsewhere (CI's) hits the cache of an earlier build of the same code.
export CCACHE_DIR=${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
cmake --preset "$preset" "${generator[@]}" >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "build/$preset" -j "$(nproc)" "${targets[@]+"${targets[@]}"}"
