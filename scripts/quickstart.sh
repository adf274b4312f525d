#!/usr/bin/env bash
# The main job: install dependencies, build, and show what sandbox-rt does on
# this host today. The microVM path (sandbox-vmm + guest) is not built yet, so
# this shows `sandbox-rt check` (host readiness) and `sandbox-rt spec` +
# `validate` on a fresh bundle instead of running a container.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
bin=build/release/shim/cli/sandbox-rt

echo
echo "== sandbox-rt check"
"$bin" check || echo "(not ready for microVM containers yet; see the remedies above)"

bundle=$(mktemp -d /tmp/sandbox-rt-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
mkdir "$bundle/rootfs"
echo
echo "== sandbox-rt spec -b $bundle"
"$bin" spec -b "$bundle"
head -n 20 "$bundle/config.json"
echo "  ..."
echo
echo "== sandbox-rt validate -b $bundle"
"$bin" validate -b "$bundle"
