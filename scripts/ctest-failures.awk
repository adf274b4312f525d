# Prints, for each failed test in a ctest LastTest.log, its name, its FAIL
# lines and the last lines of its output (CI shows only a run's head and tail).
/^[0-9]+\/[0-9]+ Testing: / { name = $3; n = 0; fails = ""; in_output = 1; next }
/^<end of output>$/ { in_output = 0; next }
in_output {
  tail[n % 8] = $0; n++
  if ($0 ~ /(^|[ :])FAIL[ :]/ && length(fails) < 4000) fails = fails "  " $0 "\n"
  next
}
/^Test Failed\.$/ {
  printf "-- %s failed\n%s", name, fails
  for (i = (n > 8 ? n - 8 : 0); i < n; i++) print "  | " tail[i % 8]
}
