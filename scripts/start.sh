#!/usr/bin/env bash
# One command from a fresh clone to a running gateway on the embedded source with the market
# simulator (no broker needed). Extra arguments and env vars go to the gateway, e.g. PORT=9000.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/install.sh"
cd "$ROOT"
exec node_modules/.bin/bun src/main.ts "$@"
