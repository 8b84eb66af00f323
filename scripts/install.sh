#!/usr/bin/env bash
# Installs the npm dependencies without running their install scripts (the Kafka client's would
# try to download a prebuilt binary; scripts/build-kafka.sh builds it when Kafka is needed), then
# runs Bun's own postinstall so node_modules/.bin/bun is the real binary. Quiet when up to date.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/lib/progress.sh
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
stamp=node_modules/.install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || ! node_modules/.bin/bun --version >/dev/null 2>&1; then
  echo "install: npm ci (about a minute on a fresh machine)" >&2
  progress "install: npm ci" npm ci --ignore-scripts --no-audit --no-fund >/dev/null
  progress "install: npm rebuild bun" npm rebuild bun >/dev/null
  touch "$stamp"
fi
node_modules/.bin/bun --version >/dev/null
