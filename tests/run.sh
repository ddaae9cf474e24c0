#!/bin/sh
# Runs every test binary given, from the repository root, and ends with one
# summary line "N passed, N failed" (tests counted from cmocka's report).
passed=0; failed=0; bad=""
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed before reporting
  passed=$((passed + p)); failed=$((failed + f))
  [ $rc -ne 0 ] && bad="$bad $(basename "$t")"
done
[ -n "$bad" ] && echo "failing test programs:$bad"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -z "$bad" ]
