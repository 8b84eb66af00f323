# Sourced by the scripts whose steps can take minutes (npm install, the Kafka client build, apt,
# Maven, waiting for brokers), so a person or a CI log sees what is happening and that it is alive.
#
#   progress [--out FILE] LABEL CMD...
#       runs CMD, printing "LABEL: still working (Ns)" every PROGRESS_EVERY seconds (default 10)
#       on stderr until it ends; returns CMD's status. --out sends CMD's stdout and stderr to FILE
#       (redirecting the whole call instead would send the progress lines there too).

PROGRESS_EVERY="${PROGRESS_EVERY:-10}"

progress() {
  local out=""
  if [ "$1" = --out ]; then out="$2"; shift 2; fi
  local label="$1"; shift
  local started=$SECONDS rc=0
  if [ -n "$out" ]; then "$@" >"$out" 2>&1 & else "$@" & fi
  local pid=$!
  # The ticker is a child of this shell; it stops when the command ends (or this shell dies).
  (
    while sleep "$PROGRESS_EVERY"; do
      kill -0 "$pid" 2>/dev/null || exit 0
      kill -0 $$ 2>/dev/null || exit 0
      echo "$label: still working ($((SECONDS - started))s)" >&2
    done
  ) 9>&- &
  local ticker=$!
  wait "$pid" || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  [ $((SECONDS - started)) -lt "$PROGRESS_EVERY" ] || echo "$label: done in $((SECONDS - started))s (exit $rc)" >&2
  return $rc
}
