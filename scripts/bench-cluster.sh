#!/usr/bin/env bash
# Multi-node benchmark (`make bench-cluster`): the throughput of 1, 2 and 3 lanewatch nodes
# sharing one PostgreSQL and one InfluxDB on this machine (ARCHITECTURE.md "Multi-node").
# For every node count N (BENCH_NODES) and QoS 1 and 0 it starts N nodes (store.driver postgres
# on a fresh database, own data_dir and ports, LANEWATCH_NODE_ID=node-i) on the full pipeline of
# scripts/bench.sh (shipped rules, InfluxDB writes), runs `lanewatch simulate --load` with the
# clients spread round-robin over the nodes (--broker a,b,c), waits until the nodes' summed
# lanewatch_influx_points_written_total reaches the message count, and records accepted and
# processed msg/s, publish -> delivery p99, CPU seconds per process, and whether InfluxDB holds
# exactly as many points as the nodes accepted and the generator sent.
# On a 2-core machine the nodes, PostgreSQL, influxd and the load generator share the same two
# cores: more nodes show the overhead of a cluster, not a speed-up.
# Results: a Markdown table on stdout and in docs/BENCHMARKS.md between the CLUSTER-TABLE
# markers ("## Multi-node"). Nothing listens on 1883/8080; files live in a temp run dir; the
# PostgreSQL databases it creates (lw_bench_*) are dropped at the end.
#   BENCH_CLIENTS (60, divisible by every node count)  BENCH_MESSAGES (300000 per run)
#   BENCH_NODES ("1 2 3")  BENCH_QOS ("1 0")  BENCH_KEEP=1 (keep the run dir's data)
#   BENCH_NO_DOCS=1 (leave docs/ alone)  BENCH_BIN (use this lanewatch binary)
#   BENCH_PG_HOST (127.0.0.1) BENCH_PG_PORT (5432) BENCH_PG_USER (postgres; trust auth, may CREATE DATABASE)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CLIENTS=${BENCH_CLIENTS:-60}
MESSAGES=${BENCH_MESSAGES:-300000}
NODE_COUNTS=${BENCH_NODES:-1 2 3}
QOS_LIST=${BENCH_QOS:-1 0}
PG_HOST=${BENCH_PG_HOST:-127.0.0.1}
PG_PORT=${BENCH_PG_PORT:-5432}
PG_USER=${BENCH_PG_USER:-postgres}
LOG=/dev/null # until the run dir exists
say() { printf 'bench-cluster: %s\n' "$*" | tee -a "$LOG" >&2; }

for n in $NODE_COUNTS; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { say "BENCH_NODES: '$n' is not a node count"; exit 2; }
  (( CLIENTS % n == 0 )) || say "warning: $CLIENTS clients do not divide over $n nodes; the spread is uneven"
done
(( MESSAGES >= CLIENTS )) || { say "BENCH_MESSAGES ($MESSAGES) must be at least BENCH_CLIENTS ($CLIENTS)"; exit 2; }
for t in curl jq psql pg_isready; do
  command -v "$t" >/dev/null || { say "$t not found (scripts/ensure-tools.sh installs what is missing)"; exit 1; }
done
[ -x .tools/bin/influxd ] || scripts/ensure-tools.sh
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || {
  say "PostgreSQL does not answer on $PG_HOST:$PG_PORT (scripts/ensure-tools.sh installs and starts it)"; exit 1; }
PSQL=(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAt)
"${PSQL[@]}" -c 'select 1' >/dev/null || { say "cannot connect to PostgreSQL as $PG_USER on $PG_HOST:$PG_PORT"; exit 1; }

RUN=$(mktemp -d /tmp/lanewatch-bench-cluster.XXXXXX)
LOG=$RUN/bench.log
RESULTS=$RUN/results.jsonl
: > "$RESULTS"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # a free port, never 1883/8080, skipping ports already handed out
  local p
  while :; do
    p=$(( 20000 + RANDOM % 12000 )) # below the ephemeral range (32768+); never 1883 or 8080
    case " ${USED_PORTS:-} " in *" $p "*) continue ;; esac
    port_busy "$p" || port_busy $((p + 2)) || { USED_PORTS="${USED_PORTS:-} $p $((p+2))"; echo "$p"; return; }
  done
}

NODE_PIDS=()  # the nodes of the current run
NODE_MQTT=()
NODE_HTTP=()
DBS=()        # PostgreSQL databases created and not yet dropped
INFLUX_PORT=$(free_port)
drop_db() { "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>>"$LOG" || say "could not drop database $1"; }
stop_nodes() {
  local p
  for p in "${NODE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  NODE_PIDS=(); NODE_MQTT=(); NODE_HTTP=()
}
cleanup() {
  trap - INT TERM EXIT
  stop_nodes
  INFLUX_PORT=$INFLUX_PORT LANEWATCH_RUN_DIR=$RUN scripts/influxd.sh stop >/dev/null 2>&1 || true
  local db
  for db in "${DBS[@]}"; do drop_db "$db"; done
  if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$RUN/data-"* "$RUN/influxdb" "$RUN/lanewatch"; fi
  say "run dir: $RUN"
}
trap cleanup EXIT
trap 'say interrupted; cleanup; exit 130' INT TERM

if [ -n "${BENCH_BIN:-}" ]; then
  cp "$BENCH_BIN" "$RUN/lanewatch"
else
  say "building lanewatch"
  go build -o "$RUN/lanewatch" ./cmd/lanewatch
fi
LW=$RUN/lanewatch

INFLUX=http://127.0.0.1:$INFLUX_PORT
say "starting influxd on $INFLUX"
INFLUX_PORT=$INFLUX_PORT LANEWATCH_RUN_DIR=$RUN scripts/influxd.sh start 2>>"$LOG"
INFLUX_PID=$(cat "$RUN/influxdb/influxd.pid")
iq() { curl -fsS -G "$INFLUX/query" --data-urlencode "db=lanewatch" --data-urlencode "q=$1"; }
influx_reset() { iq "DROP DATABASE lanewatch" >/dev/null; iq "CREATE DATABASE lanewatch" >/dev/null; }
influx_count() { iq "SELECT count(lat) FROM vehicle_telemetry" | jq '[.results[0].series[0].values[0][1] // 0] | .[0]'; }

# Devices, rules and config as in scripts/bench.sh's full-pipeline run, with the store on
# PostgreSQL (the DSN comes per run from LANEWATCH_STORE_DSN).
{
  echo "devices:"
  types=(sweeper washer sprinkler) dists=(xiqu dongqu shiqi nanqu)
  for i in $(seq 1 $((CLIENTS + 10))); do
    printf '  - {id: bv-%05d, type: %s, district: %s, contractor: lvcheng, password: "bench-secret-%05d"}\n' \
      "$i" "${types[$((i % 3))]}" "${dists[$((i % 4))]}" "$i"
  done
} > "$RUN/devices.yaml"
mkdir -p "$RUN/rules"
cp configs/rules/*.yaml scripts/bench/marker.yaml "$RUN/rules/"
export LANEWATCH_BENCH_SUB_PASSWORD=bench-subscriber-secret # bcrypt (cost 4) below
export LANEWATCH_ADMIN_TOKEN=bench-admin-token-$RANDOM$RANDOM
. "$ROOT/scripts/bench-lib.sh" # shipped, gen_config
gen_config "$RUN/lanewatch.yaml" "$RUN/devices.yaml" postgres

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime+stime
# PostgreSQL CPU: the backends serving the run's database (the nodes' connections), not the
# server's background processes nor other users' sessions.
declare -A PG_T0
pg_backends() { "${PSQL[@]}" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$1'"; }
pg_mark() { # db: remember the CPU ticks of its backends
  local p
  PG_T0=()
  for p in $(pg_backends "$1"); do PG_T0[$p]=$(cpu_ticks "$p"); done
}
pg_ticks_since() { # db: CPU ticks of its backends since pg_mark (new ones count in full)
  local p s=0
  for p in $(pg_backends "$1"); do s=$(( s + $(cpu_ticks "$p") - ${PG_T0[$p]:-0} )); done
  echo "$s"
}

# start_nodes n dsn label: n nodes on one PostgreSQL database, started one after another.
start_nodes() {
  local n=$1 dsn=$2 label=$3 i mp hp pid
  for i in $(seq 1 "$n"); do
    mp=$(free_port); hp=$(free_port)
    LANEWATCH_NODE_ID=node-$i LANEWATCH_STORE_DSN=$dsn \
      "$LW" serve --config "$RUN/lanewatch.yaml" --mqtt-addr "127.0.0.1:$mp" --http-addr "127.0.0.1:$hp" \
      --data-dir "$RUN/data-$label-node$i" --influx-url "$INFLUX" 2>>"$RUN/$label-node$i.log" &
    pid=$!
    NODE_PIDS+=("$pid"); NODE_MQTT+=("127.0.0.1:$mp"); NODE_HTTP+=("http://127.0.0.1:$hp")
    local ok=
    for _ in $(seq 1 600); do
      if curl -fsS -o /dev/null "http://127.0.0.1:$hp/healthz" 2>/dev/null && port_busy "$mp"; then ok=1; break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if [ -z "$ok" ]; then
      say "$label: node-$i did not start; last lines of $RUN/$label-node$i.log:"
      tail -n 10 "$RUN/$label-node$i.log" >&2
      exit 1
    fi
  done
}
metric_sum() { # name: sum over every series and every node's /metrics
  local u s=0 v
  for u in "${NODE_HTTP[@]}"; do
    v=$(curl -fsS "$u/metrics" | awk -v m="$1" '$1 == m || index($1, m"{") == 1 {s += $2} END {printf "%d\n", s}')
    s=$(( s + v ))
  done
  echo "$s"
}
join() { local IFS=$1; shift; echo "$*"; }

MISMATCH=0
FAILED=0
# run_cluster n qos: one measured run; appends a JSON line to $RESULTS.
run_cluster() {
  local n=$1 qos=$2 label="cluster-n$1-qos$2"
  local db
  db=lw_bench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')_n${n}q${qos}
  "${PSQL[@]}" -c "CREATE DATABASE $db" >/dev/null
  DBS+=("$db")
  influx_reset
  local dsn="postgres://$PG_USER@$PG_HOST:$PG_PORT/$db?sslmode=disable"
  start_nodes "$n" "$dsn" "$label"
  sleep 1
  local brokers metrics
  brokers=$(join , "${NODE_MQTT[@]}")
  metrics=$(join , "${NODE_HTTP[@]/%//metrics}")
  local t0 t1 i0 i1 p k c0=() c1=()
  for p in "${NODE_PIDS[@]}"; do c0+=("$(cpu_ticks "$p")"); done
  i0=$(cpu_ticks "$INFLUX_PID"); pg_mark "$db"; t0=$(date +%s.%N)
  say "$label: $MESSAGES messages, $CLIENTS clients over $n node(s) ($brokers), QoS $qos"
  # (the generator reads the same config for the devices file, so it needs the DSN too)
  if ! LANEWATCH_STORE_DSN=$dsn "$LW" simulate --load --config "$RUN/lanewatch.yaml" --clients "$CLIENTS" --messages "$MESSAGES" --qos "$qos" \
      --label "$label" --broker "$brokers" --metrics-url "$metrics" --sub-user bench-sub \
      --out "$RUN/$label.json" 2>>"$LOG"; then
    say "$label: load generator failed (see $LOG)"
    FAILED=1
  fi
  t1=$(date +%s.%N)
  for k in "${!NODE_PIDS[@]}"; do # a node that died (or Ctrl-C) ends the benchmark
    kill -0 "${NODE_PIDS[k]}" 2>/dev/null || {
      say "$label: node-$((k + 1)) is not running any more (see $RUN/$label-node$((k + 1)).log)"; exit 1; }
  done
  for p in "${NODE_PIDS[@]}"; do c1+=("$(cpu_ticks "$p")"); done
  i1=$(cpu_ticks "$INFLUX_PID")
  local pgt accepted points sent cpus=()
  pgt=$(pg_ticks_since "$db")
  for k in "${!c0[@]}"; do cpus+=("$(( c1[k] - c0[k] ))"); done
  accepted=$(metric_sum lanewatch_ingest_telemetry_points_total)
  points=$(influx_count)
  [ -s "$RUN/$label.json" ] || echo '{}' > "$RUN/$label.json"
  sent=$(jq '.sent // 0' "$RUN/$label.json")
  if [ "$points" -eq "$accepted" ] && [ "$points" -eq "$sent" ]; then
    say "$label: InfluxDB holds $points points = $accepted accepted = $sent sent"
  else
    say "$label: MISMATCH: InfluxDB holds $points points, $accepted accepted, $sent sent"
    if [ "$qos" = 1 ]; then MISMATCH=1; fi
  fi
  stop_nodes
  drop_db "$db"
  local keep=() d
  for d in "${DBS[@]}"; do [ "$d" = "$db" ] || keep+=("$d"); done
  DBS=("${keep[@]}")
  jq -c --arg lbl "$label" --argjson qos "$qos" --argjson nodes "$n" --argjson tck "$CLK_TCK" --argjson cpus "[$(join , "${cpus[@]}")]" \
    --argjson icpu "$(( i1 - i0 ))" --argjson pgcpu "$pgt" --argjson points "$points" --argjson accepted "$accepted" \
    --argjson wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')" \
    '. + {"label": $lbl, qos: $qos, nodes: $nodes, wall_seconds: $wall, node_cpu_seconds: [$cpus[] / $tck], influxd_cpu_seconds: ($icpu / $tck),
          postgres_cpu_seconds: ($pgcpu / $tck), influx_points: $points, accepted: $accepted}' \
    "$RUN/$label.json" >> "$RESULTS"
  jq -r 'select(.label == "'"$label"'") | "bench-cluster: \(.label): accepted \(.ingest_rate // 0 | floor) msg/s, processed \(.processed_rate // 0 | floor) msg/s, delivery p99 \(.delivery_latency.p99_ms // null | if . == null then "-" else (. * 10 | round / 10) end) ms, node CPU \(.node_cpu_seconds | map(. * 100 | round / 100 | tostring) | join(" + ")) s"' "$RESULTS" | tee -a "$LOG" >&2
}

START=$(date +%s)
for n in $NODE_COUNTS; do
  for qos in $QOS_LIST; do
    run_cluster "$n" "$qos"
  done
done
END=$(date +%s)

# The table.
SMOKE=
if (( MESSAGES < 60000 )); then
  SMOKE="**Smoke run** (BENCH_MESSAGES=$MESSAGES BENCH_CLIENTS=$CLIENTS): it only shows that the script works end to end (every run: points = accepted = sent). Runs this short are **not** a measurement: a few thousand messages fit in one InfluxDB batch, so processed msg/s is set by the 1 s flush interval, and accepted msg/s by a fraction of a second of publishing."
fi
CMD="make bench-cluster"
[ "$CLIENTS $MESSAGES $NODE_COUNTS" = "60 60000 1 2 3" ] || CMD="BENCH_CLIENTS=$CLIENTS BENCH_MESSAGES=$MESSAGES BENCH_NODES=\"$NODE_COUNTS\" make bench-cluster"
jq -rs --arg smoke "$SMOKE" --arg cmd "$CMD" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson secs "$((END - START))" \
  --arg nproc "$(nproc)" --arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" --arg kernel "$(uname -r)" \
  --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg go "$(go env GOVERSION 2>/dev/null || echo go)" \
  --arg pg "$("${PSQL[@]}" -c 'show server_version' | cut -d' ' -f1)" \
  --argjson clients "$CLIENTS" --argjson messages "$MESSAGES" '
  def r(x): if x == null then "–" else (x * 10 | round / 10 | tostring) end;
  def c(x): if x == null then "–" else (x * 100 | round / 100 | tostring) end;
  def i(x): if x == null or x == 0 then "–" else (x | round | tostring) end;
  . as $runs |
  (if $smoke != "" then $smoke, "" else empty end),
  "Machine: \($nproc) cores (\($cpu)), Linux \($kernel), load average \($load) at the end, \($go), PostgreSQL \($pg). The nodes, PostgreSQL, influxd and the load generator all share these cores.",
  "Command: `\($cmd)` (\($date), \($secs) s). Load per run: \($clients) clients, \($messages) telemetry messages, clients spread round-robin over the nodes; nodes, PostgreSQL database and InfluxDB database fresh for every run.",
  "",
  "| nodes | QoS | accepted msg/s | processed msg/s | processed vs 1 node | delivery p99 ms | CPU s per node | influxd CPU s | PostgreSQL backends CPU s | loadgen CPU s | CPU µs per msg (all) | InfluxDB points / accepted / sent |",
  "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
  ($runs | sort_by(-.qos, .nodes) | .[] | . as $x |
    ([$runs[] | select(.qos == $x.qos and .nodes == 1)][0].processed_rate) as $one |
    (([.node_cpu_seconds[]] | add) + .influxd_cpu_seconds + .postgres_cpu_seconds + (.loadgen_cpu_seconds // 0)) as $all |
    "| \(.nodes) | \(.qos) | \(i(.ingest_rate)) | \(i(.processed_rate)) | \(if $one == null or $one == 0 or .processed_rate == null then "–" else ((.processed_rate / $one * 100 | round) / 100 | tostring) + "×" end) | \(r(.delivery_latency.p99_ms)) | \([.node_cpu_seconds[] | c(.)] | join(" + ")) | \(c(.influxd_cpu_seconds)) | \(c(.postgres_cpu_seconds)) | \(c(.loadgen_cpu_seconds)) | \(if (.sent // 0) > 0 then r($all / .sent * 1e6) else "–" end) | \(.influx_points) / \(.accepted) / \(.sent // 0)\(if .influx_points == .accepted and .accepted == .sent then " ✓" else " ✗" end) |")
' "$RESULTS" > "$RUN/table.md"
cat "$RUN/table.md"

if [ -z "${BENCH_NO_DOCS:-}" ]; then
  DOC=docs/BENCHMARKS.md
  if grep -q '^<!-- CLUSTER-TABLE -->$' "$DOC" && grep -q '^<!-- /CLUSTER-TABLE -->$' "$DOC"; then
    awk -v t="$RUN/table.md" '
      $0 == "<!-- CLUSTER-TABLE -->" { print; while ((getline l < t) > 0) print l; skip = 1; next }
      $0 == "<!-- /CLUSTER-TABLE -->" { skip = 0 }
      !skip { print }
    ' "$DOC" > "$RUN/BENCHMARKS.md" && cat "$RUN/BENCHMARKS.md" > "$DOC"
    say "table written to $DOC (Multi-node)"
  else
    say "$DOC has no CLUSTER-TABLE markers; table left in $RUN/table.md"
  fi
fi
say "done in $((END - START))s"
if [ "$FAILED" = 1 ]; then say "a load generator run failed (see $LOG)"; exit 1; fi
if [ "$MISMATCH" = 1 ]; then say "a QoS 1 run lost or duplicated points (see MISMATCH above)"; exit 1; fi
