#!/usr/bin/env bash
# Renders docs/bench-results.json (written by scripts/bench.sh) as the Markdown table of
# docs/BENCHMARKS.md.   scripts/bench/table.sh docs/bench-results.json
set -euo pipefail
jq -r '
  def r(x): if x == null then "–" else (x * 10 | round / 10 | tostring) end;
  def i(x): if x == null or x == 0 then "–" else (x | round | tostring) end;
  def run(l): [.runs[] | select(.label == l)][0];
  def rate(x): if x == null then null else (x.processed_rate // x.ingest_rate) end;
  def ratio(a; b): if a == null or b == null or b == 0 then "–" else ((a / b * 100 | round) / 100 | tostring) + "×" end;
  . as $d |
  "Machine: \(.machine.nproc) cores, \(.machine.cpu), Linux \(.machine.kernel) (load average \(.machine.loadavg_at_end // "?") at the end: other work shared the machine), \(.machine.go), Mosquitto \(.machine.mosquitto); load generator, brokers and influxd share these cores.",
  "Command: `\(.command)` (\(.date), \(.seconds) s). Load: \(.clients) clients, \(.messages) realistic telemetry messages per run (avg \(run("mosquitto-qos0").payload_bytes_avg // 0 | round) bytes), subscriber sampling a tenth of the clients.",
  "",
  "| run | QoS | ingest msg/s | processed msg/s | delivery p50 / p99 ms | broker CPU s | influxd CPU s | loadgen CPU s | broker peak RSS MB | InfluxDB points / accepted / sent |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
  (.runs[] | select(.messages != null) |
    "| \(.label) | \(.qos) | \(i(.ingest_rate)) | \(i(.processed_rate)) | \(r(.delivery_latency.p50_ms)) / \(r(.delivery_latency.p99_ms)) | \(r(.broker_cpu_seconds)) | \(if .target == "full" then r(.influxd_cpu_seconds) else "–" end) | \(r(.loadgen_cpu_seconds)) | \(i(.broker_peak_rss_mb)) | \(if .target == "full" then "\(.influx_points) / \(.accepted) / \(.sent)\(if .lost == 0 and .influx_points == .accepted then " ✓" else " ✗" end)" else "–" end) |"),
  "",
  "Ratios (rate = processed msg/s for the full pipeline, ingest msg/s for the brokers):",
  "",
  "| QoS | (c) full / (a) Mosquitto | (c) full / (b) lanewatch broker only | (b) / (a) |",
  "|---|---:|---:|---:|",
  ([0, 1][] as $q |
    (rate(run("lanewatch-full-qos\($q)"))) as $c | (rate(run("mosquitto-qos\($q)"))) as $a | (rate(run("lanewatch-broker-qos\($q)"))) as $b |
    "| \($q) | \(ratio($c; $a)) | \(ratio($c; $b)) | \(ratio($b; $a)) |"),
  "",
  (run("lanewatch-full-qos1-half") as $h |
    "Publish → case opened at half load (\($h.target_rate // 0 | round) msg/s, QoS 1): p50 \(r($h.case_latency.p50_ms)) ms, p99 \(r($h.case_latency.p99_ms)) ms, max \(r($h.case_latency.max_ms)) ms over \($h.cases_found // 0) of \($h.markers // 0) markers; publish → delivery p50 \(r($h.delivery_latency.p50_ms)) ms, p99 \(r($h.delivery_latency.p99_ms)) ms."),
  "",
  "Idle connections:",
  "",
  "| broker | idle clients | RSS before MB | RSS after MB | KB per connection |",
  "|---|---:|---:|---:|---:|",
  (.runs[] | select(.idle_clients != null) |
    "| \(.target) | \(.idle_clients) | \(r(.rss_before_mb)) | \(r(.rss_after_mb)) | \(r(.kb_per_connection)) |")
' "$1"
