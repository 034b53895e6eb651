#!/usr/bin/env bash
# Runs one fuzz target for MINUTES minutes, outside CI:
#
#   fuzz/run-long.sh TARGET MINUTES [extra libFuzzer flags...]
#
# e.g. `fuzz/run-long.sh differential 30`. It builds the target (stable, no sanitizer, as CI does),
# runs it at `nice -n 10` on its corpus fuzz/corpus/TARGET (created; git ignores what the fuzzer adds
# there; parse and execute also read the seeds in fuzz/corpus/parse, as in CI), and writes the log,
# each line prefixed by the seconds since the start, to fuzz/logs/TARGET-<UTC time>.log. At the end
# it prints the total inputs run, the average inputs/s, the rate over the first minute and over the
# last two, and the findings (crashes, timeouts, out-of-memory) that libFuzzer wrote to
# fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run-long.sh TARGET MINUTES [libFuzzer flags...]}
minutes=${2:?usage: fuzz/run-long.sh TARGET MINUTES [libFuzzer flags...]}
shift 2
mkdir -p "corpus/$target" "artifacts/$target" logs
log="logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log"
nice -n 10 cargo fuzz build --sanitizer none "$target"
# As CI: parse and execute also start from the statements in corpus/parse; differential has its own.
seeds=corpus/parse
[ "$target" = differential ] && seeds=
before=$(ls "artifacts/$target" | wc -l)
echo "fuzzing $target for $minutes min; log in fuzz/$log"
set +e
RECODB_FUZZ_RATE=1 nice -n 10 cargo fuzz run --sanitizer none "$target" "corpus/$target" $seeds -- \
  -max_total_time=$((minutes * 60)) -timeout=10 -print_final_stats=1 "$@" 2>&1 |
  perl -MTime::HiRes=time -ne 'BEGIN { $|=1; $t0 = time } printf "%7.1f %s", time - $t0, $_' >"$log"
status=${PIPESTATUS[0]}
set -e
# Status lines look like "#123456 NEW cov: ... exec/s: 450 rss: 80Mb" (libFuzzer's exec/s is the
# average since the start); the rate between two of them is the difference of their counts over the
# difference of their times. The targets that write databases also print "recodb-fuzz: N inputs" once
# a minute (RECODB_FUZZ_RATE, set below), so the late rate is measured even when no new coverage shows.
perl -ne '
  push @p, [$1, $2] if /^\s*([\d.]+) #(\d+)\s/;
  push @p, [$1, $2] if /^\s*([\d.]+) recodb-fuzz: (\d+) inputs/;
  END {
    exit 0 unless @p;
    @p = sort { $a->[0] <=> $b->[0] } @p;
    my ($t, $n) = @{$p[-1]};
    sub rate { my @in = grep { $_->[0] >= $_[0] && $_->[0] <= $_[1] } @p; return "n/a" if @in < 2;
               sprintf "%.0f", ($in[-1][1] - $in[0][1]) / (($in[-1][0] - $in[0][0]) || 1) }
    printf "total inputs: %d in %.0f s (%.0f/s on average)\n", $n, $t, $n / ($t || 1);
    printf "inputs/s over the first minute: %s; over the last two minutes: %s\n", rate(0, 60), rate($t - 120, $t);
  }' "$log"
grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" "$log" || true
after=$(ls "artifacts/$target" | wc -l)
echo "findings (new files in fuzz/artifacts/$target): $((after - before)); libFuzzer exit status $status"
exit "$status"
