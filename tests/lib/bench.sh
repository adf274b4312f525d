# Sourced by the benchmark scripts that compare two kinds of run.
# bench_size NAME FULL QUICK: how many runs (or sandboxes) a benchmark makes:
# FULL (the issues' sizes, scripts/test.sh's default), or QUICK with
# SANDBOX_RT_BENCH_QUICK=1; says which on stderr, so that the output shows
# what its medians are of.
bench_size() {
  if [ "${SANDBOX_RT_BENCH_QUICK:-0}" = 1 ] && [ "$3" -lt "$2" ]; then
    echo "$1: the quick size, $3 instead of $2 (SANDBOX_RT_BENCH_QUICK=1; without it, $2)" >&2
    echo "$3"
  else
    echo "$2"
  fi
}
# median: the median of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# compare_medians BENCH RESULTS OURS PEER COLUMN:WHAT...: RESULTS has one row
# per run, "KIND value...". For each COLUMN, prints the medians of kinds OURS
# and PEER and their ratio (OURS / PEER).
compare_medians() {
  local bench=$1 results=$2 ours=$3 peer=$4 spec column ours_median peer_median
  shift 4
  for spec in "$@"; do
    column=${spec%%:*}
    ours_median=$(awk -v c="$column" -v k="$ours" '$1 == k {print $c}' "$results" | median)
    peer_median=$(awk -v c="$column" -v k="$peer" '$1 == k {print $c}' "$results" | median)
    printf '%s: %-36s %s median %s, %s median %s, ratio %s\n' "$bench" "${spec#*:}" "$ours" "$ours_median" \
      "$peer" "$peer_median" "$(echo "scale=2; $ours_median / $peer_median" | bc)"
  done
}
