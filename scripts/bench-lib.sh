#!/usr/bin/env bash
# Shared by scripts/bench.sh and scripts/bench-cluster.sh (sourced): the lanewatch config of the
# benchmark runs. Needs RUN, ROOT and INFLUX set by the caller.
shipped() { # key default: the value of "key:" in configs/lanewatch.yaml, else default
  local v
  v=$(awk -v k="$1:" '$1 == k {print $2; exit}' configs/lanewatch.yaml)
  echo "${v:-$2}"
}
gen_config() { # file devices_file store_driver(sqlite|postgres; postgres takes its DSN from LANEWATCH_STORE_DSN)
  cat > "$1" <<CONF
time_zone: Asia/Shanghai
data_dir: $RUN/data
mqtt:
  addr: 127.0.0.1:1
  ws_addr: "off"
  max_client_writes_pending: $(shipped max_client_writes_pending 1024)
  receive_maximum: $(shipped receive_maximum 256)
  max_inflight: $(shipped max_inflight 1024)
  auth_failure_delay: 200ms
  bcrypt_cost: 4
  subscribers:
    - username: bench-sub
      password_hash: "\$2a\$04\$/LYOp7kHTMyoZM2371aa8O5g1b2AXrFO.Ik7m/lkM.kxjzCmDGYqu"
      allow: ["vehicles/+/telemetry"]
http:
  addr: 127.0.0.1:1
influx:
  url: $INFLUX
  bucket: lanewatch/autogen
  batch_points: ${BENCH_INFLUX_BATCH:-$(shipped batch_points 5000)}
  writers: ${BENCH_INFLUX_WRITERS:-$(shipped writers 2)}
  flush_interval: 1s
store:
  driver: ${3:-sqlite}
pipeline:
  workers: 4
  queue_size: 1024
devices_file: $2
categories_file: $ROOT/configs/categories.yaml
rules_dir: $RUN/rules
log:
  level: warn
CONF
}
