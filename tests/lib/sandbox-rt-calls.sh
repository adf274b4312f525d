# Sourced by e2e test scripts (the parts that run in the test host) that
# drive sandbox-rt: they set $rt (the binary) and $root (its --root).
# state_of ID: the container's status from `state`, or nothing.
state_of() { "$rt" --root "$root" state "$1" 2>&1 | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
# sb ARGS...: sandbox-rt --root $root ARGS with a time limit, so a hang fails
# its check with the containers' logs and the test host's kernel warnings
# instead of eating the run.
sb() {
  timeout -k 10 300 "$rt" --root "$root" "$@"
  local rc=$?
  [ "$rc" -eq 124 ] && diagnose_hang "$*"
  return "$rc"
}
diagnose_hang() {
  echo "HUNG: sandbox-rt $1 (killed after 300 s)" >&2
  local dir file
  for dir in "$root"/*/; do
    for file in monitor.log vmm.log console.log; do
      [ -f "$dir$file" ] && tail -n 15 "$dir$file" | sed "s|^|[$(basename "$dir")/$file] |" >&2
    done
  done
  ps -eo pid,stat,etime,args | grep -E 'sandbox|mkfs' | grep -v grep >&2
  dmesg | grep -i -E 'lockup|stall|hung|BUG|Oops|kvm' | tail -n 20 >&2
}
