#!/usr/bin/env bash
# Schemathesis against the served OpenAPI document (/api/v1/openapi.json), once per role with
# a real token: no 5xx at all (503 would mean the store failed), every status, content type,
# header and body as documented, and bodies that break the schema refused with 4xx.
#
#   scripts/fuzz.sh [EXAMPLES] [SEED]     EXAMPLES per operation and phase (default 100);
#                                          SEED fixes the generated cases (default: random)
# CI runs `scripts/fuzz.sh 15 1`. Installs schemathesis (pinned) into target/fuzz-venv;
# `scripts/fuzz.sh --install` only installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
install_only=false
if [ "${1:-}" = "--install" ]; then install_only=true; shift; fi
examples=${1:-100}
seed=${2:-}
version=4.32.5
venv=${SIG_FUZZ_VENV:-$PWD/target/fuzz-venv}
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
if $install_only; then exit 0; fi
# The binary as `cargo test` builds it (for the integration tests): after `cargo test` this
# builds nothing, where `cargo build` would build it once more, without the dev-dependencies'
# features.
cargo test --no-run --quiet --test it
bin=$PWD/target/debug/sig-register
work=$(mktemp -d /tmp/sig-fuzz-XXXXXX)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export SIG_DATABASE_URL="sqlite://$work/fuzz.db" SIG_BIND=127.0.0.1:$port SIG_DATA_DIR=$work/data \
  SIG_POLICIES_DIR=$PWD/policies SIG_LOG=warn
# The fuzzer is one user per role sending as fast as it can: the per-user limit would turn
# most of its cases into 429s.
export SIG_RATE_LIMIT_PER_SECOND=1000000 SIG_RATE_LIMIT_BURST=1000000
# Likewise the limit before authentication: its `missing_required_header` check sends
# thousands of token-less requests from one address within a minute, which that limit exists
# to turn into 429s (tested on its own: `throttle::*`).
export SIG_AUTH_FAILURES_PER_MINUTE=1000000 SIG_AUTH_FAILURES_BURST=1000000
"$bin" serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -fs "http://$SIG_BIND/readyz" >/dev/null && break; sleep 0.1; done

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method
total=0
failed=0
for entry in social_secretary:socialtjanst-orebro police_officer:polisen-orebro partner:skola-orebro \
             auditor:socialtjanst-orebro admin:socialtjanst-orebro; do
  role=${entry%%:*}
  agency=${entry#*:}
  token=$("$bin" token --sub "fuzz-$role" --name "Fuzz $role" --agency "$agency" --role "$role" --ttl 86400)
  args=(run "http://$SIG_BIND/api/v1/openapi.json" -H "Authorization: Bearer $token"
        --checks "$checks" --max-examples "$examples" --workers 2 --no-color
        --suppress-health-check all --warnings off)
  [ -n "$seed" ] && args+=(--seed "$seed")
  echo "== $role ($agency)"
  set +e
  "$venv/bin/st" "${args[@]}" >"$work/st-$role.log" 2>&1
  status=$?
  set -e
  cases=$(grep -Eo '[0-9]+ generated' "$work/st-$role.log" | grep -Eo '[0-9]+' | tail -n 1 || echo 0)
  total=$(( total + ${cases:-0} ))
  if [ "$status" -ne 0 ]; then
    failed=$(( failed + 1 ))
    sed -n '/FAILURES/,$p' "$work/st-$role.log" | head -150
  fi
  tail -n 1 "$work/st-$role.log"
done
if grep -q "panicked" "$work/serve.log"; then
  echo "the server panicked:"; grep -A5 panicked "$work/serve.log" | head -40; failed=$(( failed + 1 ))
fi
echo "schemathesis: $total cases over 5 roles, $failed role runs failed"
[ "$failed" -eq 0 ]
