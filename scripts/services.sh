#!/usr/bin/env bash
# Local real servers for development and integration tests, all on loopback:
#   kafka  single-node KRaft broker   127.0.0.1:19092 (controller 19093), jars from Maven Central
#   nats   nats-server -js            127.0.0.1:14222 (HTTP monitor 18222)
#   redis  redis-server               127.0.0.1:16379
#   rabbitmq rabbitmq-server          127.0.0.1:5672 AMQP (distribution 25672, its own epmd 4369)
# SERVICES_PORT_OFFSET=N adds N to every port, so several work trees (or a developer's own runs
# beside CI) each get servers of their own. Data and logs live in .services/ (gitignored). Servers run detached (setsid) so they outlive the
# test process that started them; `start` is idempotent and serialised per server with flock.
#
# Usage: scripts/services.sh install|start|stop|restart|status [kafka|nats|redis|rabbitmq ...]
#        (no names = all four)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC="${SERVICES_DIR:-$ROOT/.services}"
KAFKA_DIR="$SVC/kafka"
OFFSET="${SERVICES_PORT_OFFSET:-0}"
source "$ROOT/scripts/lib/progress.sh"
[[ "$OFFSET" =~ ^[0-9]+$ ]] && [ "$OFFSET" -lt 1000 ] || { echo "services: SERVICES_PORT_OFFSET must be 0..999" >&2; exit 2; }
KAFKA_PORT=$((19092 + OFFSET))
KAFKA_CONTROLLER_PORT=$((19093 + OFFSET))
NATS_PORT=$((14222 + OFFSET))
NATS_MONITOR_PORT=$((18222 + OFFSET))
REDIS_PORT=$((16379 + OFFSET))
RABBITMQ_PORT=$((5672 + OFFSET))
RABBITMQ_DIST_PORT=$((25672 + OFFSET))
RABBITMQ_EPMD_PORT=$((4369 + OFFSET))
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
START_TIMEOUT="${SERVICES_START_TIMEOUT:-90}"
ALL=(kafka nats redis rabbitmq)

log() { echo "services: $*" >&2; }
die() { echo "services: ERROR: $*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "apt-get install $*"
  progress "services: apt-get update" as_root apt-get update -q >/dev/null || die "apt-get update failed"
  progress "services: apt-get install $*" as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null ||
    die "apt-get install $* failed"
}

# Node runs the probe when present (it is on every dev machine); Bun from node_modules otherwise.
js() {
  if command -v node >/dev/null; then node "$@"
  elif [ -x "$ROOT/node_modules/.bin/bun" ]; then "$ROOT/node_modules/.bin/bun" "$@"
  else die "neither node nor node_modules/.bin/bun found (run npm install)"; fi
}

# The pid in $1 if that process is alive and its command line contains $2 (guards pid reuse).
live_pid() {
  local file="$1" pattern="$2" pid
  [ -s "$file" ] || return 1
  pid="$(cat "$file")"
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern" || return 1
  echo "$pid"
}

# Pid of whatever listens on loopback port $1, for servers whose pid file was lost.
port_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }

# wait_ready NAME PIDFILE CMD...: polls CMD until it succeeds; fails at once if the server we
# launched died (port taken, bad config) instead of waiting out the whole timeout.
wait_ready() {
  local name="$1" pidfile="$2"; shift 2
  local deadline=$((SECONDS + START_TIMEOUT)) started=$SECONDS note=$((SECONDS + PROGRESS_EVERY)) pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then log "$name (pid $pid) exited during startup"; return 1; fi
    [ $SECONDS -lt $deadline ] || { log "$name not ready after ${START_TIMEOUT}s"; return 1; }
    if [ $SECONDS -ge $note ]; then log "waiting for $name to answer ($((SECONDS - started))s of ${START_TIMEOUT}s)"; note=$((SECONDS + PROGRESS_EVERY)); fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------- kafka
kafka_version() { grep -o '<kafka.version>[^<]*' "$ROOT/scripts/kafka/pom.xml" | cut -d'>' -f2; }

install_kafka() {
  local v; v="$(kafka_version)"
  [ -f "$KAFKA_DIR/libs/.installed-$v" ] && return 0
  if ! java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then apt_install openjdk-17-jre-headless; fi
  command -v mvn >/dev/null || apt_install maven
  log "fetching Kafka $v jars with Maven into $KAFKA_DIR/libs"
  rm -rf "$KAFKA_DIR/libs" && mkdir -p "$KAFKA_DIR/libs"
  progress --out "$KAFKA_DIR/mvn.log" "services: mvn (Kafka jars)" mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_DIR/libs" ||
    { cat "$KAFKA_DIR/mvn.log" >&2; die "mvn could not fetch the Kafka jars"; }
  touch "$KAFKA_DIR/libs/.installed-$v"
}

kafka_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=134217728
# Tests create and delete many topics; remove deleted logs promptly (default 60 s).
file.delete.delay.ms=1000
num.network.threads=2
num.io.threads=4
EOF
  # Kafka 4 logs through log4j2; INFO to a file is what you want when a test fails.
  cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
}

kafka_ready() { js "$ROOT/scripts/kafka/probe.mjs" "127.0.0.1:$KAFKA_PORT"; }
kafka_pid() { live_pid "$KAFKA_DIR/kafka.pid" kafka.Kafka; }

kafka_java() { # kafka_java MAINCLASS ARGS... in the foreground
  java -Xms128m -Xmx256m -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -cp "$KAFKA_DIR/libs/*" "$@"
}

start_kafka() {
  install_kafka
  if kafka_pid >/dev/null; then wait_kafka_ready; return; fi
  if [ -n "$(port_pid $KAFKA_PORT)" ] && kafka_ready; then log "kafka already answers on $KAFKA_PORT"; return; fi
  kafka_config
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    # A cluster id is 16 random bytes in URL-safe base64 (what `kafka-storage random-uuid` prints);
    # making it here saves a JVM start. `--cluster-id=` keeps an id that starts with "-" an argument.
    local id; id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    kafka_java kafka.tools.StorageTool format --cluster-id="$id" -c "$KAFKA_DIR/server.properties" \
      >"$KAFKA_DIR/format.log" 2>&1 || { cat "$KAFKA_DIR/format.log" >&2; die "kafka storage format failed"; }
  fi
  [ -f "$KAFKA_DIR/kafka.log" ] && mv -f "$KAFKA_DIR/kafka.log" "$KAFKA_DIR/kafka.log.prev"
  # Small heap and tuned GC keep a 2-core machine responsive while tests run beside the broker.
  setsid java -Xms256m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -cp "$KAFKA_DIR/libs/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
    </dev/null >"$KAFKA_DIR/kafka.log" 2>&1 9>&- &
  echo $! >"$KAFKA_DIR/kafka.pid"
  wait_kafka_ready
}

wait_kafka_ready() {
  if ! wait_ready kafka "$KAFKA_DIR/kafka.pid" kafka_ready; then
    { grep -E "ERROR|FATAL|Exception" "$KAFKA_DIR/kafka.log" || tail -15 "$KAFKA_DIR/kafka.log"; } | tail -15 >&2 || true
    die "kafka did not become ready on 127.0.0.1:$KAFKA_PORT (log: $KAFKA_DIR/kafka.log)"
  fi
  log "kafka ready on 127.0.0.1:$KAFKA_PORT"
}

stop_kafka() { stop_pid kafka "$(kafka_pid || port_pid_matching $KAFKA_PORT kafka.Kafka)"; rm -f "$KAFKA_DIR/kafka.pid"; }
status_kafka() { kafka_ready; }

# ---------------------------------------------------------------- nats
install_nats() { command -v nats-server >/dev/null || apt_install nats-server; }
nats_ready() { curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/healthz?js-enabled-only=true" | grep -q ok; }
nats_pid() { live_pid "$SVC/nats/nats.pid" nats-server; }

start_nats() {
  install_nats
  if ! nats_pid >/dev/null && ! { [ -n "$(port_pid $NATS_PORT)" ] && nats_ready; }; then
    mkdir -p "$SVC/nats/jetstream"
    setsid nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" \
      -sd "$SVC/nats/jetstream" -l "$SVC/nats/nats.log" </dev/null >/dev/null 2>&1 9>&- &
    echo $! >"$SVC/nats/nats.pid"
  fi
  wait_ready nats "$SVC/nats/nats.pid" nats_ready ||
    { tail -5 "$SVC/nats/nats.log" >&2 2>/dev/null; die "nats did not become ready on 127.0.0.1:$NATS_PORT (log: $SVC/nats/nats.log)"; }
  log "nats ready on 127.0.0.1:$NATS_PORT"
}
stop_nats() { stop_pid nats "$(nats_pid || port_pid_matching $NATS_PORT nats-server)"; rm -f "$SVC/nats/nats.pid"; }
status_nats() { nats_ready; }

# ---------------------------------------------------------------- redis
install_redis() { command -v redis-server >/dev/null || apt_install redis-server; }
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_pid() { live_pid "$SVC/redis/redis.pid" redis-server; }

start_redis() {
  install_redis
  if ! redis_pid >/dev/null && ! redis_ready; then
    mkdir -p "$SVC/redis"
    # AOF keeps stream entries across the stop/start that tests do mid-stream.
    setsid redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$SVC/redis" \
      --pidfile "$SVC/redis/redis.pid" --logfile "$SVC/redis/redis.log" \
      --appendonly yes --appendfsync everysec --save "" --daemonize no \
      </dev/null >/dev/null 2>&1 9>&- &
    echo $! >"$SVC/redis/redis.pid"
  fi
  wait_ready redis "$SVC/redis/redis.pid" redis_ready ||
    { tail -5 "$SVC/redis/redis.log" >&2 2>/dev/null; die "redis did not become ready on 127.0.0.1:$REDIS_PORT (log: $SVC/redis/redis.log)"; }
  log "redis ready on 127.0.0.1:$REDIS_PORT"
}
stop_redis() { stop_pid redis "$(redis_pid || port_pid_matching $REDIS_PORT redis-server)"; rm -f "$SVC/redis/redis.pid"; }
status_redis() { redis_ready; }

# ---------------------------------------------------------------- rabbitmq
# One node per offset: its own node name, AMQP/distribution/epmd ports, data dir and cookie, so
# several work trees run side by side. Started as root with the package's own scripts (not the
# /usr/sbin wrapper, which switches to the rabbitmq user and the system-wide /var/lib dirs).
RMQ_DIR="$SVC/rabbitmq"
RMQ_BIN=/usr/lib/rabbitmq/bin
RMQ_NODE="cexws$OFFSET@localhost"
RMQ_ENV=(HOME="$RMQ_DIR" RABBITMQ_CONF_ENV_FILE=/dev/null
  RABBITMQ_NODENAME="$RMQ_NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  RABBITMQ_NODE_PORT="$RABBITMQ_PORT" RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT"
  ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT"
  RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia" RABBITMQ_LOG_BASE="$RMQ_DIR/log"
  RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  RABBITMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
install_rabbitmq() { [ -x "$RMQ_BIN/rabbitmq-server" ] || apt_install rabbitmq-server; }

# The broker answers the AMQP 0-9-1 protocol header with connection.start (a method frame, type 1).
rabbitmq_ready() {
  local first
  first="$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "AMQP\x00\x00\x09\x01" >&3 && head -c 1 <&3' _ "$RABBITMQ_PORT" 2>/dev/null | od -An -tx1 | tr -d ' \n')"
  [ "$first" = 01 ]
}
# The node writes rabbitmq.pid itself (beam's pid; its command line names our data dir).
rabbitmq_pid() { live_pid "$RMQ_DIR/rabbitmq.pid" "-home $RMQ_DIR"; }

start_rabbitmq() {
  install_rabbitmq
  if ! rabbitmq_pid >/dev/null && ! { [ -n "$(port_pid $RABBITMQ_PORT)" ] && rabbitmq_ready; }; then
    mkdir -p "$RMQ_DIR/log" "$RMQ_DIR/mnesia"
    if [ ! -s "$RMQ_DIR/.erlang.cookie" ]; then
      head -c 30 /dev/urandom | base64 | tr -dc A-Za-z0-9 >"$RMQ_DIR/.erlang.cookie"
      chmod 400 "$RMQ_DIR/.erlang.cookie"
    fi
    echo '[].' >"$RMQ_DIR/enabled_plugins"
    cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
loopback_users = none
disk_free_limit.absolute = 100MB
vm_memory_high_watermark.absolute = 1GB
log.console = false
log.file.level = warning
EOF
    # server.pid is the start script, alive as long as the node: wait_ready watches it.
    setsid env "${RMQ_ENV[@]}" "$RMQ_BIN/rabbitmq-server" </dev/null >"$RMQ_DIR/rabbitmq.out" 2>&1 9>&- &
    echo $! >"$RMQ_DIR/server.pid"
  fi
  wait_ready rabbitmq "$RMQ_DIR/server.pid" rabbitmq_ready ||
    { tail -15 "$RMQ_DIR/rabbitmq.out" >&2 2>/dev/null; die "rabbitmq did not become ready on 127.0.0.1:$RABBITMQ_PORT (log: $RMQ_DIR/log)"; }
  log "rabbitmq ready on 127.0.0.1:$RABBITMQ_PORT"
}
stop_rabbitmq() {
  # SIGTERM is a clean shutdown for the node (queues and stream segments are flushed).
  stop_pid rabbitmq "$(rabbitmq_pid || port_pid_matching $RABBITMQ_PORT "-home $RMQ_DIR" || true)"
  rm -f "$RMQ_DIR/server.pid" "$RMQ_DIR/rabbitmq.pid"
  # This instance's epmd goes with it, unless another Erlang node registered with it meanwhile.
  if ! env "${RMQ_ENV[@]}" epmd -names 2>/dev/null | grep -q '^name '; then
    env "${RMQ_ENV[@]}" epmd -kill >/dev/null 2>&1 || true
  fi
}
status_rabbitmq() { rabbitmq_ready; }

# ---------------------------------------------------------------- common
port_pid_matching() { # a listener's pid only if it is the expected server, never a stranger
  local pid; pid="$(port_pid "$1")"
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2" && echo "$pid"
}

stop_pid() { # stop_pid NAME PID: SIGTERM for a clean shutdown (Kafka flushes, Redis writes AOF)
  local name="$1" pid="$2"
  if [ -z "$pid" ]; then log "$name not running"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then log "$name ($pid) ignored SIGTERM, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.1
  done
  log "$name stopped"
}

with_lock() { # serialise start/stop of one server across concurrent callers
  local name="$1"; shift
  mkdir -p "$SVC/$name"
  exec 9>"$SVC/$name/.lock"
  flock -w 300 9 || die "timed out waiting for the $name lock"
  "$@"
  exec 9>&-
}

cmd="${1:-}"; shift || true
names=("$@"); [ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
for n in "${names[@]}"; do
  case "$n" in kafka|nats|redis|rabbitmq) ;; *) die "unknown service '$n' (kafka, nats, redis, rabbitmq)";; esac
done

case "$cmd" in
  install) for n in "${names[@]}"; do with_lock "$n" "install_$n"; done ;;
  start) for n in "${names[@]}"; do with_lock "$n" "start_$n"; done ;;
  stop) for n in "${names[@]}"; do with_lock "$n" "stop_$n"; done ;;
  restart) for n in "${names[@]}"; do with_lock "$n" "stop_$n"; with_lock "$n" "start_$n"; done ;;
  status)
    rc=0
    for n in "${names[@]}"; do
      if "status_$n" >/dev/null 2>&1; then echo "$n: running"; else echo "$n: stopped"; rc=1; fi
    done
    exit $rc ;;
  *) echo "usage: $0 install|start|stop|restart|status [kafka|nats|redis|rabbitmq ...]" >&2; exit 2 ;;
esac
