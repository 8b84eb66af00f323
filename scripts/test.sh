#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs (npm packages, Debian packages,
# the Kafka client build, the Kafka jars), starts real Kafka, NATS, Redis and RabbitMQ on loopback, checks
# generated code and types, runs every test, and stops the servers again.
#
# Usage: bash scripts/test.sh [bun test args...]   e.g. bash scripts/test.sh test/gateway
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

step() { echo "== $* ($(date +%T))"; }
source scripts/lib/progress.sh

apt_packages=()
command -v chromium >/dev/null || apt_packages+=(chromium)
command -v nats-server >/dev/null || apt_packages+=(nats-server)
command -v redis-server >/dev/null || apt_packages+=(redis-server)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || apt_packages+=(rabbitmq-server)
command -v flatc >/dev/null || apt_packages+=(flatbuffers-compiler)
command -v promtool >/dev/null || apt_packages+=(prometheus)
if [ ${#apt_packages[@]} -gt 0 ]; then
  step "apt-get install ${apt_packages[*]}"
  progress "apt-get update" apt-get update -q >/dev/null
  progress "apt-get install" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_packages[@]}" >/dev/null
fi

step "npm install"
bash scripts/install.sh
BUN="$ROOT/node_modules/.bin/bun"

step "build the Kafka client"
bash scripts/build-kafka.sh

step "generated code is fresh"
bash scripts/gen-schema.sh --check

step "typecheck"
progress "typecheck" "$BUN" x tsc --noEmit -p .

step "start Kafka, NATS, Redis, RabbitMQ"
bash scripts/services.sh start
trap 'bash scripts/services.sh stop >/dev/null 2>&1 || true' EXIT

step "bun test"
out="$(mktemp)"
set +e
"$BUN" test --timeout 60000 "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
pass=$(grep -Eo '^ *[0-9]+ pass$' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail$' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
rm -f "$out"
echo
echo "tests: ${pass} passed, ${fail} failed"
if [ "$pass" = 0 ]; then echo "no test ran" >&2; exit 1; fi
exit "$status"
