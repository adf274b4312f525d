#!/usr/bin/env bash
# Builds shim/microvm/fuzz/agent_reply_fuzzer.cc (the host's agent client
# against a fake agent answering with the input) with clang's libFuzzer +
# ASan + UBSan, its protobuf code generated here by protoc, and runs it for a
# bounded number of inputs from the committed seeds. A crash, leak, hang or
# sanitizer report fails the test; the input is kept under the cache's
# fuzz-findings/ and belongs in agent_reply_corpus/ once fixed.
#   shim/microvm/fuzz/run.sh [RUNS]
set -euo pipefail
runs=${1:-5000}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d /tmp/agent-reply-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$repo/tests/lib/libfuzzer.sh"
proto=$(fuzz_protoc agent_reply)
net=$repo/common/net
fuzz_build agent_reply "$work/agent_reply_fuzzer" "$repo/shim/microvm/fuzz/agent_reply_fuzzer.cc" \
  "$repo/shim/microvm/agent_client.cc" "$repo"/common/ttrpc/{client,frame,status_code}.cc \
  "$repo/common/vsock/hybrid_vsock.cc" "$repo/proto/network_config_convert.cc" "$proto/agent.pb.cc" "$proto/ttrpc.pb.cc" \
  "$repo"/common/base/{status,unix_socket,file_util,temp_dir}.cc "$net"/{ip_address,mac_address}.cc -I"$proto" -lprotobuf
fuzz_run agent_reply "$work/agent_reply_fuzzer" "$runs" "$repo/shim/microvm/fuzz/agent_reply_corpus/." -- -max_len=4096
