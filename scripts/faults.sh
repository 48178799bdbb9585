#!/usr/bin/env bash
# Fault injection against a served binary, on SQLite and on PostgreSQL (a throwaway cluster):
#   kill -9 of `serve` during a write load, ROUNDS times: every acknowledged write is present
#     after the restart, one audit event per stored write, `audit verify` passes;
#   the database stopped mid-load: 503s, no 500s, served again without a restart;
#   the audit store made unwritable: every read answers 503, disclosures counted (must be 0);
#   a revocation racing police reads, ROUNDS times: no read sent after the revoke response
#     is served.
# CI runs the same tests with 3 rounds (`cargo test`); this runs them longer.
#
#   scripts/faults.sh [ROUNDS]     (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-20}"
if ! command -v initdb >/dev/null 2>&1; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$pg_bin" ] && export PATH="$pg_bin:$PATH"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$(date +%s)
set +e
SIG_FAULT_ROUNDS="$rounds" cargo test --test it faults:: -- --nocapture --test-threads=2 >"$log" 2>&1
status=$?
set -e
grep -E '^(kill -9|revocation race|unwritable audit store|database outage):|^test faults::|^test result' "$log" || true
if [ "$status" -ne 0 ]; then
  grep -E 'panicked|assertion' -A4 "$log" | head -60
  echo "faults: FAILED (exit $status)"
  exit "$status"
fi
echo "faults: $rounds rounds each, passed in $(( $(date +%s) - started )) s"
