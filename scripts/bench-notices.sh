#!/usr/bin/env bash
# Paired notice benchmark (issue 4's figure): BenchmarkBareHTTPLoop, then
# BenchmarkSendNotice, each in its own process after a CHECKPOINT and a
# pause, N times; prints each pair's sends/s and ratio, then the medians.
# One pair says little on a shared machine (the bare loop alone has
# ranged 30,000-50,000 sends/s here within minutes): compare medians.
#
#   bash scripts/bench-notices.sh [pairs, default 10] [members, default 100000]
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-10}
members=${2:-100000}
bash scripts/services.sh
export GRIDBOT_TEST_DATABASE_URL=${GRIDBOT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
bin=$(mktemp -d)/notices.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./bot/notices

# run BENCH prints the benchmark's sends/s.
run() {
  psql "$GRIDBOT_TEST_DATABASE_URL" -qc CHECKPOINT >/dev/null
  sleep 3
  (cd bot/notices && GRIDBOT_BENCH_MEMBERS=$members "$bin" -test.run '^$' -test.bench "^$1\$" -test.benchtime 1x) |
    grep -o '[0-9.]* sends/s' | tail -1 | cut -d' ' -f1
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

printf '%-6s %12s %12s %7s\n' pair bare/s notice/s ratio
bares=() notices=() ratios=()
for i in $(seq "$pairs"); do
  bare=$(run BenchmarkBareHTTPLoop)
  notice=$(run BenchmarkSendNotice)
  ratio=$(awk -v n="$notice" -v b="$bare" 'BEGIN {printf "%.3f", n / b}')
  printf '%-6s %12.0f %12.0f %7s\n' "$i" "$bare" "$notice" "$ratio"
  bares+=("$bare") notices+=("$notice") ratios+=("$ratio")
done
printf '%-6s %12.0f %12.0f %7s\n' median \
  "$(printf '%s\n' "${bares[@]}" | median)" \
  "$(printf '%s\n' "${notices[@]}" | median)" \
  "$(printf '%s\n' "${ratios[@]}" | median)"
