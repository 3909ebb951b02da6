#!/usr/bin/env bash
# `make bench`, part 2: the end-to-end benchmark (docs/BENCHMARKS.md, "End-to-end").
# On the same load (BENCH_CLIENTS clients publishing BENCH_MESSAGES realistic telemetry
# messages, `lanewatch simulate --load`) it measures, at QoS 0 and QoS 1:
#   (a) Mosquitto (Debian package) on a free port with a temporary config: the raw broker ceiling
#   (b) lanewatch with pipeline.disabled (broker + journal only)
#   (c) lanewatch full pipeline (decode, shipped rules, InfluxDB writes to a local influxd)
# then publish -> case-opened latency at half of (c)'s QoS 1 rate, CPU per process, peak RSS
# (VmHWM), and memory per idle connection with BENCH_IDLE clients. Every lanewatch full run
# checks that InfluxDB holds exactly as many points as messages were accepted.
# Results: docs/bench-results.json and the table in docs/BENCHMARKS.md (between the
# BENCH-TABLE markers). Nothing listens on 1883/8080; everything runs under a temp dir.
#   BENCH_CLIENTS (50)  BENCH_MESSAGES (500000)  BENCH_IDLE (10000)  BENCH_PROFILE=1 (pprof CPU
#   profiles of the lanewatch runs into the run dir)  BENCH_KEEP=1 (keep the run dir)
#   BENCH_BIN (use this lanewatch binary instead of building one)
#   BENCH_INFLUX_BATCH / BENCH_INFLUX_WRITERS (influx.batch_points / influx.writers; default: shipped)
#   BENCH_ONLY (space-separated subset of: qos0 qos1 half idle; default all — partial runs are for
#   tuning and do not rewrite docs/)  BENCH_TARGETS (subset of: mosquitto broker full; with BENCH_ONLY)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CLIENTS=${BENCH_CLIENTS:-50}
MESSAGES=${BENCH_MESSAGES:-500000}
IDLE=${BENCH_IDLE:-10000}
RUN=$(mktemp -d /tmp/lanewatch-bench.XXXXXX)
LOG=$RUN/bench.log
RESULTS=$RUN/results.jsonl
: > "$RESULTS"
say() { printf 'bench: %s\n' "$*" | tee -a "$LOG" >&2; }

# File descriptors for the idle-connection run (each process inherits this).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE + 1000)) ]; then
  IDLE=$(( $(ulimit -n) - 1000 ))
  say "ulimit -n is $(ulimit -n): idle clients lowered to $IDLE"
fi

command -v mosquitto >/dev/null || { say "mosquitto not found (apt-get install mosquitto)"; exit 1; }
[ -x .tools/bin/influxd ] || scripts/ensure-tools.sh
if [ -n "${BENCH_BIN:-}" ]; then # a prebuilt binary (e.g. to compare versions)
  cp "$BENCH_BIN" "$RUN/lanewatch"
else
  go build -o "$RUN/lanewatch" ./cmd/lanewatch
fi
LW=$RUN/lanewatch

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # a free port, never 1883/8080, skipping ports already handed out
  local p
  while :; do
    p=$(( 20000 + RANDOM % 12000 )) # below the ephemeral range (32768+)
    case " ${USED_PORTS:-} " in *" $p "*) continue ;; esac
    port_busy "$p" || port_busy $((p + 2)) || { USED_PORTS="${USED_PORTS:-} $p $((p+2))"; echo "$p"; return; }
  done
}

PIDS=()
INFLUX_PORT=$(free_port)
cleanup() {
  trap - INT TERM EXIT
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  INFLUX_PORT=$INFLUX_PORT LANEWATCH_RUN_DIR=$RUN scripts/influxd.sh stop >/dev/null 2>&1 || true
  if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$RUN/data-"* "$RUN/influxdb"; fi
  say "run dir: $RUN"
}
trap cleanup INT TERM EXIT

INFLUX=http://127.0.0.1:$INFLUX_PORT
INFLUX_PORT=$INFLUX_PORT LANEWATCH_RUN_DIR=$RUN scripts/influxd.sh start 2>>"$LOG"
INFLUX_PID=$(cat "$RUN/influxdb/influxd.pid")
iq() { curl -fsS -G "$INFLUX/query" --data-urlencode "db=lanewatch" --data-urlencode "q=$1"; }
influx_reset() { iq "DROP DATABASE lanewatch" >/dev/null; iq "CREATE DATABASE lanewatch" >/dev/null; }
influx_count() { iq "SELECT count(lat) FROM vehicle_telemetry" | jq '[.results[0].series[0].values[0][1] // 0] | .[0]'; }

# Devices: CLIENTS+10 publishing vehicles, then IDLE idle devices (clear passwords; the bench
# config hashes them with bcrypt cost 4 so that seeding and 10,000 CONNECTs stay quick).
gen_devices() { # file vehicles idle
  local types=(sweeper washer sprinkler) dists=(xiqu dongqu shiqi nanqu)
  {
    echo "devices:"
    for i in $(seq 1 "$2"); do
      printf '  - {id: bv-%05d, type: %s, district: %s, contractor: lvcheng, password: "bench-secret-%05d"}\n' \
        "$i" "${types[$((i % 3))]}" "${dists[$((i % 4))]}" "$i"
    done
    for i in $(seq 1 "$3"); do
      printf '  - {id: bi-%05d, type: camera, district: %s, contractor: lvcheng, password: "bench-secret-i%05d"}\n' \
        "$i" "${dists[$((i % 4))]}" "$i"
    done
  } > "$1"
}
gen_devices "$RUN/devices.yaml" $((CLIENTS + 10)) 0
gen_devices "$RUN/devices-idle.yaml" $((CLIENTS + 10)) "$IDLE"
mkdir -p "$RUN/rules"
cp configs/rules/*.yaml scripts/bench/marker.yaml "$RUN/rules/"

SUB_PASSWORD=bench-subscriber-secret # bcrypt (cost 4) below
export LANEWATCH_BENCH_SUB_PASSWORD=$SUB_PASSWORD
export LANEWATCH_ADMIN_TOKEN=bench-admin-token-$RANDOM$RANDOM
# The per-client MQTT limits and the InfluxDB batching are the shipped ones (configs/lanewatch.yaml),
# so that the figures describe what a deployment gets; BENCH_INFLUX_BATCH / BENCH_INFLUX_WRITERS
# override the latter for tuning.
. "$ROOT/scripts/bench-lib.sh" # shipped, gen_config
gen_config "$RUN/lanewatch.yaml" "$RUN/devices.yaml"
gen_config "$RUN/lanewatch-idle.yaml" "$RUN/devices-idle.yaml"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime+stime, clock ticks
CLK_TCK=$(getconf CLK_TCK)
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

BROKER_PID=
MQTT_PORT=
HTTP_PORT=
DEBUG_PORT=
start_mosquitto() {
  MQTT_PORT=$(free_port)
  cat > "$RUN/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
log_dest file $RUN/mosquitto.log
log_type error
log_type warning
max_queued_messages 100000
CONF
  mosquitto -c "$RUN/mosquitto.conf" >>"$LOG" 2>&1 &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  for _ in $(seq 1 100); do port_busy "$MQTT_PORT" && return 0; sleep 0.1; done
  say "mosquitto did not start; see $RUN/mosquitto.log"; exit 1
}
start_lanewatch() { # config pipeline_disabled(true|false)
  MQTT_PORT=$(free_port); HTTP_PORT=$(free_port); DEBUG_PORT=$(free_port)
  local data=$RUN/data-$RANDOM
  LANEWATCH_PIPELINE_DISABLED=$2 LANEWATCH_DEBUG_ADDR=127.0.0.1:$DEBUG_PORT \
    "$LW" serve --config "$1" --mqtt-addr "127.0.0.1:$MQTT_PORT" --http-addr "127.0.0.1:$HTTP_PORT" \
    --data-dir "$data" --influx-url "$INFLUX" 2>>"$RUN/lanewatch.log" &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" 2>/dev/null && port_busy "$MQTT_PORT" && return 0
    kill -0 "$BROKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  say "lanewatch did not start; see $RUN/lanewatch.log"; tail -5 "$RUN/lanewatch.log" >&2; exit 1
}
stop_broker() {
  kill -TERM "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=
}
metric() { # name: sum over series from lanewatch /metrics
  curl -fsS "http://127.0.0.1:$HTTP_PORT/metrics" | awk -v m="$1" '$1 == m || index($1, m"{") == 1 {s += $2} END {printf "%d\n", s}'
}

# run_load target qos messages label [extra loadgen args...]: one measured run; appends a
# JSON line to $RESULTS.
run_load() {
  local target=$1 qos=$2 msgs=$3 label=$4; shift 4
  local args=(--load --config "$RUN/lanewatch.yaml" --clients "$CLIENTS" --messages "$msgs" --qos "$qos" --label "$label")
  case $target in
    mosquitto) start_mosquitto; args+=(--sub-user bench-sub) ;;
    broker) start_lanewatch "$RUN/lanewatch.yaml" true; args+=(--sub-user bench-sub) ;;
    full) influx_reset; start_lanewatch "$RUN/lanewatch.yaml" false
          args+=(--sub-user bench-sub --metrics-url "http://127.0.0.1:$HTTP_PORT/metrics" --api-url "http://127.0.0.1:$HTTP_PORT") ;;
  esac
  sleep 1
  local b0 i0 t0 t1 prof_pid=
  b0=$(cpu_ticks "$BROKER_PID"); i0=$(cpu_ticks "$INFLUX_PID"); t0=$(date +%s.%N)
  if [ -n "${BENCH_PROFILE:-}" ] && [ "$target" != mosquitto ]; then
    curl -fsS -o "$RUN/$label.cpu.pprof" "http://127.0.0.1:$DEBUG_PORT/debug/pprof/profile?seconds=8" &
    prof_pid=$!
  fi
  say "$label: $msgs messages, $CLIENTS clients, QoS $qos"
  if ! "$LW" simulate "${args[@]}" --broker "tcp://127.0.0.1:$MQTT_PORT" "$@" --out "$RUN/$label.json" 2>>"$LOG"; then
    say "$label: load generator failed (see $LOG)"
  fi
  [ -n "$prof_pid" ] && wait "$prof_pid" || true
  t1=$(date +%s.%N)
  local b1 i1 hwm points=null accepted=null lost=null
  b1=$(cpu_ticks "$BROKER_PID"); i1=$(cpu_ticks "$INFLUX_PID"); hwm=$(hwm_kb "$BROKER_PID")
  if [ "$target" = full ]; then
    accepted=$(metric lanewatch_ingest_telemetry_points_total)
    points=$(influx_count)
    local sent
    sent=$(jq .sent "$RUN/$label.json" 2>/dev/null || echo 0)
    lost=$(( sent - points ))
    if [ "$points" -eq "$accepted" ] && [ "$lost" -eq 0 ]; then
      say "$label: InfluxDB holds $points points = $accepted accepted = $sent sent"
    else
      say "$label: MISMATCH: InfluxDB holds $points points, $accepted accepted, $sent sent"
    fi
  fi
  stop_broker
  [ -s "$RUN/$label.json" ] || echo '{}' > "$RUN/$label.json"
  jq -c --arg target "$target" --argjson bcpu "$(( b1 - b0 ))" --argjson icpu "$(( i1 - i0 ))" --argjson tck "$CLK_TCK" \
    --argjson wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')" --argjson hwm "$hwm" --argjson points "$points" \
    --argjson accepted "$accepted" --argjson lost "$lost" \
    '. + {target: $target, wall_seconds: $wall, broker_cpu_seconds: ($bcpu / $tck), influxd_cpu_seconds: ($icpu / $tck),
          broker_peak_rss_mb: ($hwm / 1024), influx_points: $points, accepted: $accepted, lost: $lost}' \
    "$RUN/$label.json" >> "$RESULTS"
  jq -r 'select(.label == "'"$label"'") | "bench: \(.label): ingest \(.ingest_rate|floor) msg/s, processed \(.processed_rate // 0 | floor) msg/s, delivery p99 \(.delivery_latency.p99_ms // "-") ms, broker cpu \(.broker_cpu_seconds)s"' "$RESULTS" | tee -a "$LOG" >&2
}

# idle_mem target: memory per idle connection.
idle_mem() {
  local target=$1
  case $target in
    mosquitto) start_mosquitto ;;
    lanewatch) start_lanewatch "$RUN/lanewatch-idle.yaml" false ;;
  esac
  sleep 2
  local before after n
  before=$(rss_kb "$BROKER_PID")
  mkfifo "$RUN/idle.fifo"
  "$LW" simulate --load --config "$RUN/lanewatch-idle.yaml" --clients "$((CLIENTS + 10))" --idle "$IDLE" \
    --broker "tcp://127.0.0.1:$MQTT_PORT" >"$RUN/idle.fifo" 2>>"$LOG" &
  local gen=$!
  PIDS+=("$gen")
  local line=
  read -r line < "$RUN/idle.fifo" || true
  rm -f "$RUN/idle.fifo"
  say "idle $target: $line"
  n=$(awk '{print $2}' <<<"$line")
  sleep 3
  after=$(rss_kb "$BROKER_PID")
  if [ -n "${BENCH_PROFILE:-}" ] && [ "$target" = lanewatch ]; then
    # gc=1: a GC first, so that the profile includes every connection (it reflects the last GC).
    curl -fsS -o "$RUN/idle.heap.pprof" "http://127.0.0.1:$DEBUG_PORT/debug/pprof/heap?gc=1" || true
    curl -fsS -o "$RUN/idle.memstats.txt" "http://127.0.0.1:$DEBUG_PORT/debug/pprof/heap?debug=1" || true
    curl -fsS -o "$RUN/idle.goroutine.txt" "http://127.0.0.1:$DEBUG_PORT/debug/pprof/goroutine?debug=1" || true
  fi
  kill -TERM "$gen" 2>/dev/null || true; wait "$gen" 2>/dev/null || true
  stop_broker
  jq -nc --arg target "$target" --argjson n "${n:-0}" --argjson before "$before" --argjson after "$after" \
    '{label: ("idle-" + $target), target: $target, idle_clients: $n, rss_before_mb: ($before/1024), rss_after_mb: ($after/1024),
      kb_per_connection: (if $n > 0 then (($after - $before) / $n) else null end)}' >> "$RESULTS"
  say "idle $target: RSS $((before / 1024)) MB -> $((after / 1024)) MB for ${n:-0} connections"
}

ONLY=${BENCH_ONLY:-}
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
START=$(date +%s)
for qos in 0 1; do
  want "qos$qos" || continue
  for target in ${BENCH_TARGETS:-mosquitto broker full}; do
    case $target in
      mosquitto) run_load mosquitto "$qos" "$MESSAGES" "mosquitto-qos$qos" ;;
      *) run_load "$target" "$qos" "$MESSAGES" "lanewatch-$target-qos$qos" ;;
    esac
  done
done

# Publish -> case at half of the full pipeline's QoS 1 rate, for about 20 seconds.
if want half; then
  MAX1=$(jq -s '[.[] | select(.label == "lanewatch-full-qos1") | (.processed_rate // .ingest_rate // 0)][0] // 0' "$RESULTS")
  [ "$MAX1" = 0 ] && MAX1=${BENCH_HALF_OF:-10000} # without a qos1 run: twice the rate to use
  HALF=$(jq -n --argjson m "$MAX1" '[($m / 2 | floor), 100] | max')
  run_load full 1 "$(( HALF * 20 ))" "lanewatch-full-qos1-half" --msg-rate "$HALF" --mark-every 200ms
fi

if want idle; then
  idle_mem mosquitto
  idle_mem lanewatch
fi
END=$(date +%s)
if [ -n "$ONLY" ]; then
  jq -c . "$RESULTS"
  say "partial run ($ONLY) done in $((END - START))s; docs/ left unchanged; results in $RESULTS"
  exit 0
fi

# Results.
jq -s --arg cmd "make bench" --arg nproc "$(nproc)" --arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
  --arg kernel "$(uname -r)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg go "$(go env GOVERSION)" --arg mosq "$(mosquitto -h 2>/dev/null | awk 'NR==1 {print $3}')" \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson secs "$((END - START))" --argjson clients "$CLIENTS" --argjson messages "$MESSAGES" \
  '{command: $cmd, date: $date, machine: {nproc: ($nproc|tonumber), cpu: $cpu, kernel: $kernel, loadavg_at_end: $load, go: $go, mosquitto: $mosq},
    clients: $clients, messages: $messages, seconds: $secs, runs: .}' "$RESULTS" > docs/bench-results.json
scripts/bench/table.sh docs/bench-results.json > "$RUN/table.md"
scripts/bench/splice.sh docs/BENCHMARKS.md "$RUN/table.md" BENCH-TABLE
if [ -s "${BENCH_GO_FILE:-}" ]; then # the Go micro-benchmarks `make bench` ran just before
  { echo '```'; grep -E '^(Benchmark|pkg:|goos|cpu:)' "$BENCH_GO_FILE"; echo '```'; } > "$RUN/go.md"
  scripts/bench/splice.sh docs/BENCHMARKS.md "$RUN/go.md" BENCH-GO
fi
cat "$RUN/table.md"
say "done in $((END - START))s; results in docs/bench-results.json and docs/BENCHMARKS.md"
