#!/usr/bin/env bash
# Generates the TypeScript FlatBuffers code of schema/frames.fbs into protocol/generated/.
#
#   scripts/gen-schema.sh           regenerate protocol/generated/ (commit the result)
#   scripts/gen-schema.sh --check   regenerate into a temp dir and fail (exit 1) when the committed
#                                   code differs from it: CI runs this
#
# The compiler is Debian's flatbuffers-compiler, pinned to flatc 2.0.8 (Debian 12 bookworm,
# 2.0.8+dfsg1-2) so that every machine generates byte-identical code. Its TypeScript output is
# runtime-compatible with the pinned `flatbuffers` 25.9.23 npm package (test/codec/ proves it).
# When flatc is missing and we are root with apt-get (a fresh dev/CI machine), that exact Debian
# package version is installed.
# Set FLATC=/path/to/flatc to use another binary (it must still report version 2.0.8).
set -euo pipefail

FLATC_VERSION="2.0.8"
DEB_VERSION="2.0.8+dfsg1-2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/protocol/generated"

mode="write"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "gen-schema: unknown argument: $1 (use --check or nothing)" >&2; exit 2 ;;
esac

FLATC="${FLATC:-}"
auto_install=0
if [ -z "$FLATC" ]; then FLATC="flatc"; auto_install=1; fi
if ! command -v "$FLATC" >/dev/null 2>&1; then
  if [ "$auto_install" = "1" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "gen-schema: flatc not found; installing Debian's flatbuffers-compiler=$DEB_VERSION" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "flatbuffers-compiler=$DEB_VERSION" >/dev/null
  else
    echo "gen-schema: flatc not found: apt-get install flatbuffers-compiler=$DEB_VERSION" >&2
    exit 2
  fi
fi
have="$("$FLATC" --version 2>/dev/null | head -n 1 | awk '{print $NF}')"
if [ "$have" != "$FLATC_VERSION" ]; then
  echo "gen-schema: need flatc $FLATC_VERSION (Debian flatbuffers-compiler $DEB_VERSION), found '$have' at $(command -v "$FLATC")" >&2
  exit 2
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gen-schema.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
gen="$tmp/generated"
mkdir -p "$gen"
# Run from the schema's folder so no absolute path ends up in the output.
(cd "$ROOT/schema" && "$FLATC" --ts -o "$gen" frames.fbs)

if [ "$mode" = "check" ]; then
  if [ ! -d "$OUT" ]; then
    echo "gen-schema --check: $OUT is missing; run scripts/gen-schema.sh and commit it" >&2
    exit 1
  fi
  if ! diff -r -u "$OUT" "$gen" >"$tmp/diff.txt"; then
    sed -e "s#$gen#<fresh>#g" "$tmp/diff.txt" | head -n 80 >&2
    echo "gen-schema --check: protocol/generated/ is stale against schema/frames.fbs; run scripts/gen-schema.sh and commit it" >&2
    exit 1
  fi
  echo "gen-schema --check: protocol/generated/ is up to date (flatc $FLATC_VERSION)"
  exit 0
fi

rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
cp -R "$gen" "$OUT"
echo "gen-schema: wrote $(find "$OUT" -type f | wc -l) files to protocol/generated/ (flatc $FLATC_VERSION)"
