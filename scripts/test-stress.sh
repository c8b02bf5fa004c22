#!/usr/bin/env bash
# `make test-stress`: run tests/e2e three times in a row while stress-ng
# keeps every core busy. It passes only if all three runs pass: a test that
# fails under load is a failing test. Extra arguments go to pytest.
set -euo pipefail
runs="${OGI_STRESS_RUNS:-3}"
bin=".venv/bin"
command -v stress-ng >/dev/null || { echo "stress-ng is not installed (make install installs it)" >&2; exit 1; }

# The servers once for all runs (each run would otherwise start and stop them);
# stopped at the end only if this script started them.
started_servers=0
if ! "$bin/ogi" servers status >/dev/null 2>&1; then
  "$bin/ogi" servers up
  started_servers=1
fi

# one CPU hog per core, in its own process group; the timeout is a safety net
setsid stress-ng --cpu 0 --cpu-method matrixprod --timeout 6h --quiet &
stress=$!
cleanup() {
  kill -TERM -- "-$stress" 2>/dev/null || true
  wait "$stress" 2>/dev/null || true
  if [[ $started_servers -eq 1 ]]; then "$bin/ogi" servers down || true; fi
}
trap cleanup EXIT

passed=0
for i in $(seq 1 "$runs"); do
  echo "== tests/e2e under stress-ng, run $i of $runs ($(date -u +%H:%M:%S))"
  if "$bin/python" -m pytest tests/e2e -q "$@"; then
    passed=$((passed + 1))
  fi
done
echo "== test-stress: $passed of $runs runs passed"
[[ $passed -eq $runs ]]
