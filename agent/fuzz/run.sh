#!/usr/bin/env bash
# Builds agent/fuzz/request_fuzzer.cc (the agent's ttrpc server and request
# handlers against a byte stream from the input) with clang's libFuzzer +
# ASan + UBSan, the agent's library and its protobuf code (protoc's, under
# build/fuzz/) included, and runs it for a bounded number of inputs from the
# committed seeds. A crash, leak, hang or sanitizer report fails the test; the
# input is kept under the cache's fuzz-findings/ and belongs in
# request_corpus/ once fixed.
#   agent/fuzz/run.sh [RUNS]
set -euo pipefail
runs=${1:-5000}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/agent-request-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$repo/tests/lib/libfuzzer.sh"
proto=$(fuzz_protoc agent_request)
# The agent's library as agent/CMakeLists.txt builds it, and the common
# libraries it links: every source but tests, benches and main.
sources=()
for source in "$repo"/agent/{,container/,network/}*.cc \
    "$repo"/common/{base,io,ttrpc,oci,net,vsock}/*.cc; do
  case $source in
    *_test.cc | */agent_bench.cc | */agent/main.cc) ;;
    *) sources+=("$source") ;;
  esac
done
fuzz_build agent_request "$work/request_fuzzer" "$repo/agent/fuzz/request_fuzzer.cc" "${sources[@]}" \
  "$repo/proto/network_config_convert.cc" "$proto/agent.pb.cc" "$proto/ttrpc.pb.cc" -I"$proto" \
  -DSANDBOX_AGENT_VERSION='"fuzz"' -lprotobuf -lseccomp -lcap
fuzz_run agent_request "$work/request_fuzzer" "$runs" "$repo/agent/fuzz/request_corpus/." -- -max_len=8192
