# Shared by the libFuzzer scripts (vmm/fuzz, common/oci/fuzz,
# common/image/fuzz); source it, then:
#   fuzz_build NAME BINARY SOURCE... [-lLIB...]   clang++ with libFuzzer + ASan + UBSan
#   fuzz_protoc NAME   proto/agent.proto and ttrpc.proto's C++ into build/fuzz/NAME-proto
#   fuzz_run NAME BINARY RUNS SEED_DIR_OR_FILE... [-- LIBFUZZER_FLAG...]
# fuzz_run copies the seeds (they stay as committed), runs RUNS inputs, and on
# a finding prints the report and keeps the input under the cache's
# fuzz-findings/ (libFuzzer prints it only when short) before failing.
# Needs $repo (the checkout) and $work (a scratch dir the caller removes).

# The generated code goes to a fixed place under the checkout, not $work:
# ccache hashes include paths, and a fresh one each run missed every object.
fuzz_protoc() {
  local out=$repo/build/fuzz/$1-proto
  mkdir -p "$out"
  protoc --proto_path="$repo/proto" --cpp_out="$out" "$repo/proto/agent.proto" "$repo/proto/ttrpc.proto"
  echo "$out"
}

fuzz_build() {
  local name=$1 binary=$2 sources=() compile_flags=() link_flags=() objects=()
  shift 2
  command -v clang++ >/dev/null || { echo "$name fuzzer: clang++ missing; run scripts/setup.sh" >&2; exit 1; }
  for argument in "$@"; do
    case $argument in
      *.cc) sources+=("$argument") ;;
      -l*) link_flags+=("$argument") ;;
      *) compile_flags+=("$argument") ;;
    esac
  done
  # One object per source, compiled in parallel and through ccache when it is
  # installed (keyed like scripts/build.sh's, so CI's fresh clone hits it).
  local launcher=() objects_dir=$binary.objects
  command -v ccache >/dev/null && launcher=(env CCACHE_DIR="${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}"
    CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=1 ccache)
  mkdir -p "$objects_dir"
  local flags=(-std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -I"$repo"
    "${compile_flags[@]+"${compile_flags[@]}"}")
  local running=() index failed=0
  for index in "${!sources[@]}"; do
    objects+=("$objects_dir/$index.o")
    "${launcher[@]+"${launcher[@]}"}" clang++ "${flags[@]}" -c "${sources[$index]}" -o "$objects_dir/$index.o" \
      2> "$objects_dir/$index.log" &
    running+=($!)
    if [ "${#running[@]}" -ge "$(nproc)" ]; then
      wait "${running[0]}" || failed=1
      running=("${running[@]:1}")
    fi
  done
  for pid in "${running[@]+"${running[@]}"}"; do wait "$pid" || failed=1; done
  if [ "$failed" -ne 0 ]; then
    cat "$objects_dir"/*.log >&2
    echo "$name fuzzer: the build failed" >&2
    exit 1
  fi
  clang++ -fsanitize=fuzzer,address,undefined "${objects[@]}" "${link_flags[@]+"${link_flags[@]}"}" -o "$binary"
}

fuzz_run() {
  local name=$1 binary=$2 runs=$3 flags=() seeds=()
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do seeds+=("$1"); shift; done
  [ $# -gt 0 ] && shift && flags=("$@")
  mkdir -p "$work/corpus"
  for seed in "${seeds[@]+"${seeds[@]}"}"; do cp -r "$seed" "$work/corpus/"; done
  if ! "$binary" -runs="$runs" -max_len=16384 -timeout=10 -seed=1 -artifact_prefix="$work/" \
      "${flags[@]+"${flags[@]}"}" "$work/corpus" > "$work/log" 2>&1; then
    { grep -v "^#[0-9]\|NEW_FUNC\|Uses: " "$work/log" || true; } | tail -n 80
    local kept
    kept=${SANDBOX_RT_CACHE:-${HOME:-/root}/.cache/sandbox-rt}/fuzz-findings/$name-$(date +%Y%m%d-%H%M%S)
    mkdir -p "$kept" && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$kept/" 2>/dev/null || true
    echo "$name fuzzer: FAILED; the input is kept in $kept (it belongs in the seed corpus once fixed)"
    exit 1
  fi
  tail -n 1 "$work/log"
  echo "$name fuzzer: $runs inputs, no findings"
}
