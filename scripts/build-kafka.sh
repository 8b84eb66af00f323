#!/usr/bin/env bash
# Builds @confluentinc/kafka-javascript (a NAN addon over librdkafka) for the gateway.
#
# Why a script: the package's own install step downloads a prebuilt binary (unreachable here) and
# would otherwise compile against the headers of whatever Node runs npm. We compile against the
# Node version Bun reports (process.versions.node), with headers from the npm package
# node-linux-<arch>@<that version> kept in a cache outside the project's dependencies.
# CKJS_LINKING=dynamic builds the bundled librdkafka as a shared library against Debian's -dev
# packages instead of downloading compression/TLS sources.
#
# Bun 1.4.5 loads the addon but lacks V8/node symbols it calls (node::Buffer::*,
# v8::Value::ToObject, ...), so the gateway runs the consumer in a child process of the very Node
# binary that package ships (same ABI as the build). This script records that binary's path in
# build/gateway-node-runtime.json for src/sources/kafka/kafka-source.ts.
#
# Idempotent: exits at once when the addon already works in that Node runtime.
# Install the project with:  npm ci --ignore-scripts && npm rebuild bun && scripts/build-kafka.sh
# Env: KAFKA_BUILD_CACHE (cache dir), KAFKA_BUILD_FORCE=1 (rebuild anyway).
set -euo pipefail
export npm_config_update_notifier=false

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/lib/progress.sh"
PKG="@confluentinc/kafka-javascript"
PKG_DIR="$ROOT/node_modules/$PKG"
RUNTIME_JSON="$PKG_DIR/build/gateway-node-runtime.json"
BUN="$ROOT/node_modules/.bin/bun"
CACHE="${KAFKA_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cex-ws-gateway}"
APT_DEPS=(g++ make python3 pkg-config libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev)

log() { echo "build-kafka: $*" >&2; }
die() { echo "build-kafka: ERROR: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Constructing a consumer exercises the addon's V8/node API use, which a bare require() does not.
works_in() { # works_in NODE_BINARY
  (cd "$ROOT" && "$1" -e "const k = require('$PKG');
    new k.KafkaConsumer({ 'group.id': 'build-check', 'bootstrap.servers': '127.0.0.1:1' }, {});
    console.log('librdkafka ' + k.librdkafkaVersion + ' on node ' + process.version)")
}

[ -x "$BUN" ] || die "node_modules/.bin/bun missing: run 'npm ci --ignore-scripts && npm rebuild bun' first"
# After `npm ci --ignore-scripts` bun is only a placeholder until its own postinstall runs.
"$BUN" --version >/dev/null 2>&1 || { log "running bun's postinstall (npm rebuild bun)"; (cd "$ROOT" && npm rebuild bun >/dev/null 2>&1) || die "npm rebuild bun failed"; }
if [ ! -f "$PKG_DIR/package.json" ]; then
  log "$PKG not in node_modules, installing it without its (failing) install script"
  (cd "$ROOT" && npm install --ignore-scripts --no-audit --no-fund >/dev/null)
fi

node_ver="$("$BUN" -e 'process.stdout.write(process.versions.node)')"
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) die "unsupported arch $(uname -m)" ;; esac
node_prefix="$CACHE/node-v$node_ver-linux-$arch"
nodedir="$node_prefix/node_modules/node-linux-$arch"
node_bin="$nodedir/bin/node"

if [ "${KAFKA_BUILD_FORCE:-0}" != 1 ] && [ -f "$RUNTIME_JSON" ] && grep -q "\"$node_bin\"" "$RUNTIME_JSON" &&
  out="$(works_in "$node_bin" 2>/dev/null)"; then
  log "already built ($out)"
  exit 0
fi
started=$SECONDS
mkdir -p "$CACHE"

# npm ci wipes node_modules, so keep a copy of the built addon (and the librdkafka it loads via
# RUNPATH $ORIGIN/../deps) outside it: a fresh clone on this machine restores it in a second
# instead of compiling for minutes.
pkg_ver="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$PKG_DIR/package.json" | head -1)"
stash="$CACHE/build-$pkg_ver-node$node_ver-linux-$arch"
write_runtime() { printf '{ "node": "%s", "nodeVersion": "%s" }\n' "$node_bin" "$node_ver" >"$RUNTIME_JSON"; }
if [ "${KAFKA_BUILD_FORCE:-0}" != 1 ] && [ -f "$stash/Release/confluent-kafka-javascript.node" ] && [ -x "$node_bin" ]; then
  rm -rf "$PKG_DIR/build" && mkdir -p "$PKG_DIR/build"
  cp -a "$stash/Release" "$stash/deps" "$PKG_DIR/build/"
  write_runtime
  if out="$(works_in "$node_bin" 2>/dev/null)"; then
    log "restored the build from $stash ($out)"
    exit 0
  fi
  log "cached build in $stash does not load here, rebuilding"
  rm -rf "$PKG_DIR/build" "$stash"
fi

# System libraries librdkafka links to; only ask apt when something is missing.
missing=()
for p in "${APT_DEPS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  progress "build-kafka: apt-get update" as_root apt-get update -q >/dev/null
  progress "build-kafka: apt-get install" as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

# Headers and binary of the Node version Bun reports, from the official package on npm.
if [ ! -f "$nodedir/include/node/node.h" ] || [ ! -x "$node_bin" ]; then
  log "fetching node-linux-$arch@$node_ver (headers + runtime) into $node_prefix"
  mkdir -p "$node_prefix"
  progress "build-kafka: fetching node headers" npm install --prefix "$node_prefix" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
    "node-linux-$arch@$node_ver" >/dev/null
  [ -f "$nodedir/include/node/node.h" ] || die "node-linux-$arch@$node_ver has no include/node/node.h"
fi

# npm ships node-gyp; fall back to the registry package if this npm layout differs.
npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
gyp=(node "$npm_dir/node_modules/node-gyp/bin/node-gyp.js")
[ -f "${gyp[1]}" ] || gyp=(npx --yes node-gyp@12)

log "compiling $PKG against Node $node_ver headers with dynamic librdkafka (2-3 min)"
cd "$PKG_DIR"
# A machine-wide nodedir/target (e.g. nodedir=/usr in ~/.npmrc, or npm run's env) must not win
# over the headers chosen above, so clear them and pass --nodedir explicitly. No -j: the package's
# gyp files race under parallel make, and librdkafka's own make already runs in parallel.
progress --out "$CACHE/build-kafka.log" "build-kafka: compiling (log: $CACHE/build-kafka.log)" \
  env -u npm_config_nodedir -u npm_config_target -u npm_config_runtime -u npm_config_disturl \
  -u npm_config_dist_url -u npm_config_build_from_source \
  CKJS_LINKING=dynamic BUILD_LIBRDKAFKA=1 \
  "${gyp[@]}" rebuild --nodedir="$nodedir" ||
  { tail -40 "$CACHE/build-kafka.log" >&2; die "node-gyp build failed (full log: $CACHE/build-kafka.log)"; }

out="$(works_in "$node_bin")" || die "built, but the addon does not work in $node_bin (log: $CACHE/build-kafka.log)"
write_runtime
rm -rf "$stash" && mkdir -p "$stash/Release" "$stash/deps"
cp -a build/Release/confluent-kafka-javascript.node "$stash/Release/"
cp -a build/deps/librdkafka*.so* "$stash/deps/"
log "done in $((SECONDS - started))s: $out"
