# Sourced by e2e test scripts (the parts that run in the test host):
# check NAME EXPECTED ACTUAL prints "ok"/"FAIL" and counts failures;
# wait_until SECONDS COMMAND... polls COMMAND until it succeeds or time is up;
# section NAME prints where a long script stands and since when (its seconds);
# wait_gone PID blocks until the process is gone (a pidfd: no polling), at most 60 s.
failures=0
check() {
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}
section() { echo "== $1 (at ${SECONDS} s)"; }
wait_until() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.2; done
}
wait_gone() {
  python3 -c 'import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    sys.exit(0)
sys.exit(0 if select.select([fd], [], [], 60)[0] else 1)' "$1"
}
