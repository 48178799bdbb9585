#!/usr/bin/env bash
# Browser tests of the web interface (UI.md §6): Python Playwright driving Debian's chromium
# (Playwright's own browser download cannot work here), axe-core from npm for the WCAG rules.
# Installs what it needs on a fresh machine, builds the binary, and writes screenshots of each
# page at 1280 and 320 px to target/ui-screenshots/.
#
#   bash tests/ui/run.sh            # every browser test
#   bash tests/ui/run.sh -k login   # pytest's own options
#   bash tests/ui/run.sh --install  # only install what they need (CI does it while it compiles)
set -euo pipefail
cd "$(dirname "$0")/../.."
install_only=false
if [ "${1:-}" = "--install" ]; then install_only=true; shift; fi
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
venv=target/ui-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r tests/ui/requirements.txt
(cd tests/ui && npm ci --no-audit --no-fund --silent)
if $install_only; then exit 0; fi
# The binary as `cargo test` builds it (for the integration tests): after `cargo test` this
# builds nothing, where `cargo build` would build it once more, without the dev-dependencies'
# features.
cargo test --no-run --quiet --test it
mkdir -p target/ui-screenshots
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/ui "$@"
