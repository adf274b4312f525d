# Sourced by the benchmark scripts that compare two kinds of run.
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
