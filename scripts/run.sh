#!/usr/bin/env bash
# `make run`: start a local InfluxDB 1.8 (installed into .tools/bin), lanewatch with configs/
# and a simulated fleet; print the console URL and admin token; stop everything on Ctrl-C.
#   MQTT_ADDR  MQTT TCP listen address (default 127.0.0.1:1883; use another port when a
#              Mosquitto already runs there, e.g. MQTT_ADDR=127.0.0.1:11883)
#   HTTP_ADDR  console/API address (default 127.0.0.1:8080)
#   INFLUX_PORT  local InfluxDB port (default 8086)
#   SIM_VEHICLES, SIM_CAMERAS, SIM_PLAQUES  simulated devices (default: all in configs/devices.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LANEWATCH_RUN_DIR=${LANEWATCH_RUN_DIR:-$ROOT/.run}
mkdir -p "$LANEWATCH_RUN_DIR"

MQTT_ADDR=${MQTT_ADDR:-127.0.0.1:1883}
HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
export INFLUX_PORT=${INFLUX_PORT:-8086}
WS_PORT=$(( ${MQTT_ADDR##*:} + 1 ))
WS_ADDR=${WS_ADDR:-${MQTT_ADDR%:*}:$WS_PORT}

port_busy() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
if port_busy "$MQTT_ADDR"; then
  echo "run: $MQTT_ADDR is already in use (a Mosquitto?). Choose another, e.g.:" >&2
  echo "     MQTT_ADDR=127.0.0.1:11883 make run" >&2
  exit 1
fi
if port_busy "$HTTP_ADDR"; then
  echo "run: $HTTP_ADDR is already in use. Choose another, e.g. HTTP_ADDR=127.0.0.1:18080 make run" >&2
  exit 1
fi

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
bin/lanewatch simulate --broker "tcp://$MQTT_ADDR" --config configs/lanewatch.yaml "${sim_args[@]}" \
  2>"$LANEWATCH_RUN_DIR/simulate.log" &
pids+=($!)

cat <<MSG

  lanewatch is running.
    console   http://$HTTP_ADDR/
    API       http://$HTTP_ADDR/api/v1/cases   (Authorization: Bearer \$LANEWATCH_ADMIN_TOKEN)
    metrics   http://$HTTP_ADDR/metrics
    MQTT      tcp://$MQTT_ADDR  ws://$WS_ADDR
    InfluxDB  http://127.0.0.1:$INFLUX_PORT  (database lanewatch)
    admin token: $LANEWATCH_ADMIN_TOKEN
  Logs in $LANEWATCH_RUN_DIR. Press Ctrl-C to stop everything.

MSG
wait "${pids[0]}"
