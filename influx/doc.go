// Package influx is lanewatch's only door to InfluxDB (and the only importer of
// influxdb-client-go). It owns:
//
//   - encoding: append-style line-protocol encoders (AppendTelemetry, AppendCamera,
//     AppendPlaqueScan, AppendCaseEvent, AppendPoint) that write into a caller's []byte without
//     allocating; the client's point API costs about 9x more (SPEC section 4);
//   - batching: Sink collects encoded lines into batches of Options.BatchPoints and sends them
//     from its own writer goroutines with the client's blocking write API, applying
//     back-pressure to Write when too much is buffered;
//   - spooling: while InfluxDB is unreachable (connection errors, timeouts, 5xx, 401/403/404/429)
//     batches go to append-only, fsynced segment files under Options.SpoolDir and are written
//     later in order; the spool survives restarts, is bounded by Options.MaxSpoolBytes (Write
//     blocks when it is full; nothing is dropped) and its size is the metric
//     lanewatch_influx_spool_bytes. Batches InfluxDB refuses for good (400, 413, 422) are moved
//     to SpoolDir/rejected/ and counted, so they never block the spool;
//   - provisioning: at start, and again when a write finds it missing, the database is created
//     (1.x: CREATE DATABASE over /query, and the retention policy when the bucket names one
//     that is absent; 2.x: the bucket through /api/v2/buckets when the token may; 3.x creates
//     databases on the first write). A refusal is logged once per reason and is not fatal;
//   - readiness: Ready writes a lanewatch_probe point and reads with InfluxQL (cached 5 s);
//   - reading back: QueryTelemetry (device history API) and History (backtest replay, coverage
//     handoffs) query with InfluxQL over the v1 /query API, never Flux: InfluxDB 1.8 serves
//     InfluxQL with its default configuration (Flux is off by default), 2.x through its v1
//     compatibility API (DBRP mapping) and 3.x natively. Identifiers are double-quoted and
//     string literals single-quoted with \, ", ' and \n escaped, so no id can inject.
//
// Sink.Flush is exact: when it returns nil, every line written before the call is in InfluxDB,
// in the fsynced spool or in rejected/. The pipeline checkpoints its durable log on it.
//
// It must not know about rules, cases' lifecycle, MQTT or devices' credentials: callers hand
// it domain values (root package lanewatch) or ready tags and fields.
//
// # Schema
//
// All timestamps are nanosecond precision; tags only hold bounded sets. With InfluxDB 1.8 the
// bucket is "lanewatch/autogen" (database lanewatch, retention policy autogen).
//
//	measurement         tags                                   fields
//	vehicle_telemetry   device, type, district, contractor     lat, lon (float, always);
//	                                                           speed_kmh, heading, water_level_pct,
//	                                                           fuel_pct, odometer_km (float);
//	                                                           brush_on, water_on (bool), each when sent;
//	                                                           vendor extras (float or bool, their own names);
//	                                                           segment (string: matched road segment id)
//	camera_event        device, type (event type), district    event_id (string), confidence (float),
//	                                                           bbox_x, bbox_y, bbox_w, bbox_h (float, 0..1,
//	                                                           when sent), lat, lon (float, when sent)
//	plaque_scan         device, action (view|report),          scan_id (string), count (integer, always 1i)
//	                    category, district
//	case_event          category, source, district, action     case_id (string), status (string: status
//	                                                           after the action)
//	segment_coverage    written with AppendPoint by the coverage package (see there)
//	mechanization_rate  written with AppendPoint by the coverage package (see there)
//	lanewatch_probe     (none)                                 ok (bool): one point per readiness probe
//
// Device tags: device = device id, type = sweeper|washer|sprinkler|camera|plaque, district and
// contractor from the device registry. Empty tags are left out. A float field that is NaN or
// infinite is left out; the field key "time" is refused by InfluxDB and never written.
//
// Escaping follows the line protocol: ',' and ' ' in measurements; ',', '=' and ' ' in tag
// keys, tag values and field keys; '"' and '\' in string fields. Newline, carriage return and
// tab cannot appear raw anywhere (a line ends at '\n') and are written as the two characters
// \n, \r and \t, which InfluxDB stores literally.
package influx
