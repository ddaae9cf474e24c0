#!/bin/sh
# tests/fuzz/run.sh SECONDS BUILD TARGET... — runs each libFuzzer target
# BUILD/fuzz_TARGET for SECONDS from a working corpus (BUILD/corpus/TARGET,
# seeded with tests/fuzz/corpus/TARGET and tests/fuzz/regress/TARGET), one
# after the other, and prints one line per target: executions, corpus size,
# result.  A crash, leak (LeakSanitizer), timeout (10 s per input), out-of-
# memory (2 GiB) or broken invariant (abort) fails the target; its input is
# kept as BUILD/crash-TARGET-* — copy it to tests/fuzz/regress/TARGET/ once
# fixed.  Exits non-zero if any target failed.
secs=$1; build=$2; shift 2
failed=""
summary=""
for t in "$@"; do
  work="$build/corpus/$t"
  mkdir -p "$work"
  seeds="tests/fuzz/corpus/$t"
  [ -d "tests/fuzz/regress/$t" ] && seeds="$seeds tests/fuzz/regress/$t"
  log="$build/fuzz_$t.log"
  echo "== fuzz_$t for $secs s (log $log)"
  LSAN_OPTIONS=suppressions=tests/lsan.supp:print_suppressions=0 \
    "$build/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
      -print_final_stats=1 -artifact_prefix="$build/crash-$t-" "$work" $seeds > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  files=$(ls "$work" | wc -l)
  if [ $rc -eq 0 ]; then res=ok; else res="FAILED (exit $rc)"; failed="$failed $t"; grep -E "^(==[0-9]+==ERROR|SUMMARY|.*fuzz invariant)" "$log" | head -5; fi
  line=$(printf '%-12s %12s executions  %6s corpus files  %s' "fuzz_$t" "${execs:-?}" "$files" "$res")
  echo "$line"
  summary="$summary
$line"
done
echo "== fuzz summary ($secs s each)$summary"
[ -z "$failed" ] || { echo "fuzz targets failed:$failed"; exit 1; }
