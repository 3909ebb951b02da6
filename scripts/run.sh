#!/usr/bin/env bash
# `make run`: start a local InfluxDB 1.8 (installed into .tools/bin), lanewatch with configs/
# and a simulated fleet; print the console URL and admin token; stop everything on Ctrl-C.
# Unset addresses default to 127.0.0.1:1883 (MQTT), :1884 (WebSocket), :8080 (HTTP) and 8086
# (InfluxDB, RPC 8088); a default port that is taken (a Mosquitto on 1883...) is replaced by a
# free one, and the addresses in use are printed. Set explicitly, an address is used as is:
#   MQTT_ADDR  MQTT TCP listen address      WS_ADDR  MQTT WebSocket address
#   HTTP_ADDR  console/API address          INFLUX_PORT, INFLUX_RPC_PORT  local InfluxDB ports
#   JT808_ADDR JT/T 808 listen address (default 127.0.0.1:6808)
#   SIM_JT808  vehicles driven as JT/T 808 terminals (default sp-005,sp-006; "" for none)
#   SIM_VEHICLES, SIM_CAMERAS, SIM_PLAQUES  simulated devices (default: all in configs/devices.yaml)
#   SIM_CITIZEN_RATE (20s), SIM_STAFF_EVERY (10s)  citizen reports; staff working cases (0 = off)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LANEWATCH_RUN_DIR=${LANEWATCH_RUN_DIR:-$ROOT/.run}
mkdir -p "$LANEWATCH_RUN_DIR"

port_busy() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
picked=" "
# pick NAME HOST PORT: sets REPLY to HOST:PORT when nothing listens there, else to a free port
# on HOST (and says so); ports already picked by this script are skipped.
pick() {
  local name=$1 host=$2 port=$3 p
  if ! port_busy "$host:$port" && [[ $picked != *" $port "* ]]; then
    picked+="$port "; REPLY=$host:$port; return
  fi
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! port_busy "$host:$p" && [[ $picked != *" $p "* ]]; then
      echo "run: $host:$port ($name) is in use; using $host:$p instead" >&2
      picked+="$p "; REPLY=$host:$p; return
    fi
  done
  echo "run: no free port found for $name on $host" >&2; exit 1
}
# An address given by the caller is used as is: it must be free.
must_be_free() {
  if port_busy "$2"; then echo "run: $1=$2 is already in use; choose another or leave $1 unset to get a free port" >&2; exit 1; fi
  picked+="${2##*:} "
}

if [ -n "${MQTT_ADDR:-}" ]; then must_be_free MQTT_ADDR "$MQTT_ADDR"; else pick MQTT 127.0.0.1 1883; MQTT_ADDR=$REPLY; fi
if [ -n "${WS_ADDR:-}" ]; then must_be_free WS_ADDR "$WS_ADDR"; else pick "MQTT WebSocket" "${MQTT_ADDR%:*}" $(( ${MQTT_ADDR##*:} + 1 )); WS_ADDR=$REPLY; fi
if [ -n "${JT808_ADDR:-}" ]; then must_be_free JT808_ADDR "$JT808_ADDR"; else pick "JT/T 808" 127.0.0.1 6808; JT808_ADDR=$REPLY; fi
export LANEWATCH_JT808_ADDR=$JT808_ADDR
if [ -n "${HTTP_ADDR:-}" ]; then must_be_free HTTP_ADDR "$HTTP_ADDR"; else pick HTTP 127.0.0.1 8080; HTTP_ADDR=$REPLY; fi
influx_ping() { curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1/ping" 2>/dev/null; }
if [ -z "${INFLUX_PORT:-}" ]; then
  # 8086 busy with an InfluxDB (ours from an earlier run, or the machine's): use it, as before.
  if port_busy 127.0.0.1:8086 && influx_ping 8086; then INFLUX_PORT=8086; picked+="8086 "
  else pick InfluxDB 127.0.0.1 8086; INFLUX_PORT=${REPLY##*:}; fi
fi
export INFLUX_PORT
if [ -z "${INFLUX_RPC_PORT:-}" ]; then
  if influx_ping "$INFLUX_PORT"; then INFLUX_RPC_PORT=$((INFLUX_PORT + 2))
  else pick "InfluxDB RPC" 127.0.0.1 $((INFLUX_PORT + 2)); INFLUX_RPC_PORT=${REPLY##*:}; fi
fi
export INFLUX_RPC_PORT

if [ ! -x .tools/bin/influxd ]; then
  echo "run: installing influxd 1.8.10 into .tools/bin (first run only, a few minutes)..."
  GOBIN=$ROOT/.tools/bin go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10
fi
scripts/influxd.sh start

if [ -z "${LANEWATCH_ADMIN_TOKEN:-}" ]; then
  tokfile=$LANEWATCH_RUN_DIR/admin-token
  [ -s "$tokfile" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tokfile"
  LANEWATCH_ADMIN_TOKEN=$(cat "$tokfile")
fi
export LANEWATCH_ADMIN_TOKEN
# Demo desks (configs/lanewatch.yaml http.tokens, optional) and an Open311 key, so the simulated
# staff and citizens can work: random per checkout, kept in $LANEWATCH_RUN_DIR.
demo_token() {
  local f=$LANEWATCH_RUN_DIR/$1
  [ -s "$f" ] || head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$f"
  cat "$f"
}
for d in OPERATOR XIQU DONGQU SHIQI NANQU TRAFFIC LVCHENG JIEYUAN; do
  v=LANEWATCH_DEMO_${d}_TOKEN
  [ -n "${!v:-}" ] || export "$v=$(demo_token "demo-token-${d,,}")"
done
export LANEWATCH_OPEN311_API_KEY=${LANEWATCH_OPEN311_API_KEY:-$(demo_token open311-key)}
export LANEWATCH_MQTT_WS_ADDR=$WS_ADDR

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "run: stopping..."
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/influxd.sh stop || true
}
trap cleanup INT TERM EXIT

bin/lanewatch serve --config configs/lanewatch.yaml --mqtt-addr "$MQTT_ADDR" --http-addr "$HTTP_ADDR" \
  --data-dir "$LANEWATCH_RUN_DIR/data" --influx-url "http://127.0.0.1:$INFLUX_PORT" \
  2> >(tee "$LANEWATCH_RUN_DIR/lanewatch.log" >&2) &
pids+=($!)

for _ in $(seq 1 60); do
  curl -fsS "http://$HTTP_ADDR/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://$HTTP_ADDR/healthz" >/dev/null || { echo "run: lanewatch did not start; see $LANEWATCH_RUN_DIR/lanewatch.log" >&2; exit 1; }

sim_args=()
[ -n "${SIM_VEHICLES:-}" ] && sim_args+=(--vehicles "$SIM_VEHICLES")
[ -n "${SIM_CAMERAS:-}" ] && sim_args+=(--cameras "$SIM_CAMERAS")
[ -n "${SIM_PLAQUES:-}" ] && sim_args+=(--plaques "$SIM_PLAQUES")
# The city lives: vehicles, cameras and plaques over MQTT; a citizen report every 20 s over
# Open311; the operator desk and the offices work open cases every 10 s (SIM_STAFF_EVERY=0 stops it).
sim_args+=(--warm-start --http-url "http://$HTTP_ADDR" --citizen-rate "${SIM_CITIZEN_RATE:-20s}" --staff-every "${SIM_STAFF_EVERY:-10s}")
# Vehicles in SIM_JT808 (default the two sprinklers sp-005, sp-006; "" for none) drive as JT/T 808
# terminals over TCP instead of MQTT.
SIM_JT808=${SIM_JT808-sp-005,sp-006}
bin/lanewatch simulate --broker "tcp://$MQTT_ADDR" --config configs/lanewatch.yaml "${sim_args[@]}" \
  ${SIM_JT808:+--except "$SIM_JT808"} 2>"$LANEWATCH_RUN_DIR/simulate.log" &
pids+=($!)
if [ -n "$SIM_JT808" ]; then
  bin/lanewatch simulate --protocol jt808 --broker "$JT808_ADDR" --config configs/lanewatch.yaml \
    --only "$SIM_JT808" --cameras 0 --plaques 0 2>"$LANEWATCH_RUN_DIR/simulate-jt808.log" &
  pids+=($!)
fi

cat <<MSG

  lanewatch is running.
    console   http://$HTTP_ADDR/
    API       http://$HTTP_ADDR/api/v1/cases   (Authorization: Bearer \$LANEWATCH_ADMIN_TOKEN)
    metrics   http://$HTTP_ADDR/metrics
    MQTT      tcp://$MQTT_ADDR  ws://$WS_ADDR
    JT/T 808  $JT808_ADDR   (${SIM_JT808:-no vehicles} as JT/T 808 terminals)
    InfluxDB  http://127.0.0.1:$INFLUX_PORT  (database lanewatch)
    admin token: $LANEWATCH_ADMIN_TOKEN
  Logs in $LANEWATCH_RUN_DIR. Press Ctrl-C to stop everything.

MSG
wait "${pids[0]}"
