#!/usr/bin/env bash
# Starts or stops the local InfluxDB 1.8 that `make run` uses.
#   scripts/influxd.sh start|stop|status
# Binary: .tools/bin/influxd (scripts/ensure-tools.sh installs it). Data, config, log and pid
# file: ${LANEWATCH_RUN_DIR:-.run}/influxdb. HTTP port: INFLUX_PORT (default 8086); the RPC
# (backup) port is INFLUX_RPC_PORT (default INFLUX_PORT+2, 8088). InfluxDB's default config
# (Flux off: lanewatch reads with InfluxQL); database `lanewatch` is created (bucket
# "lanewatch/autogen" for the v2 API; lanewatch would create it too). Idempotent: starting a
# running server, or stopping a stopped one, says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_DIR=${LANEWATCH_RUN_DIR:-$ROOT/.run}
DIR=$RUN_DIR/influxdb
PORT=${INFLUX_PORT:-8086}
RPC_PORT=${INFLUX_RPC_PORT:-$((PORT + 2))}
BIN=$ROOT/.tools/bin/influxd
PIDFILE=$DIR/influxd.pid
LOG=$DIR/influxd.log
CONF=$DIR/influxdb.conf
URL=http://127.0.0.1:$PORT

say() { printf 'influxd: %s\n' "$*" >&2; }

running_pid() { # prints the pid of our influxd if it runs
  [ -s "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null || return 1
  # the pid must still be an influxd (not a recycled pid)
  if [ -r "/proc/$pid/comm" ] && ! grep -q influxd "/proc/$pid/comm"; then return 1; fi
  echo "$pid"
}

ping_ok() { curl -fsS -o /dev/null --max-time 1 "$URL/ping" 2>/dev/null; }

create_db() {
  if ! curl -fsS -o /dev/null --max-time 10 -XPOST "$URL/query" --data-urlencode "q=CREATE DATABASE lanewatch"; then
    say "could not create database lanewatch on $URL (see $LOG)"
    exit 1
  fi
}

start() {
  command -v curl >/dev/null 2>&1 || { say "curl is needed (apt-get install curl)"; exit 1; }
  local pid
  if pid=$(running_pid); then
    say "already running (pid $pid) on $URL"
    create_db
    exit 0
  fi
  if ping_ok; then
    say "an InfluxDB not started by this script already answers on $URL; using it"
    create_db
    exit 0
  fi
  if [ ! -x "$BIN" ]; then
    say "$BIN not found; run scripts/ensure-tools.sh first"
    exit 1
  fi
  mkdir -p "$DIR/meta" "$DIR/data" "$DIR/wal"
  cat > "$CONF" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$RPC_PORT"

[meta]
  dir = "$DIR/meta"

[data]
  dir = "$DIR/data"
  wal-dir = "$DIR/wal"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$PORT"
  auth-enabled = false
  log-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[monitor]
  store-enabled = false
CONF
  say "starting on $URL (data in $DIR, log $LOG)"
  nohup "$BIN" run -config "$CONF" >>"$LOG" 2>&1 &
  pid=$!
  echo "$pid" > "$PIDFILE"
  for _ in $(seq 1 300); do
    if ping_ok; then
      create_db
      say "ready (pid $pid) on $URL, database lanewatch, bucket lanewatch/autogen"
      exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      say "influxd exited during start-up; last lines of $LOG:"
      tail -n 20 "$LOG" >&2
      exit 1
    fi
    sleep 0.1
  done
  say "influxd did not answer $URL/ping within 30s; see $LOG"
  exit 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$PIDFILE"
    say "not running"
    exit 0
  fi
  say "stopping (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; say "stopped"; exit 0; }
    sleep 0.1
  done
  say "still running after 30s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

status() {
  local pid
  if pid=$(running_pid); then
    say "running (pid $pid) on $URL"
  else
    say "not running"
    exit 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
