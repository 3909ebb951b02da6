// Package payload decodes and validates the JSON payloads that devices publish over MQTT:
// vehicle telemetry (one point or a backlog batch), AI camera events, plaque scans and device
// status messages. It turns raw bytes into the root domain types of package lanewatch, or into
// an *Error whose Reason is one of a small fixed set, suitable as the `reason` label of
// lanewatch_ingest_rejected_total.
//
// It owns payload syntax and validation: which fields are required, their JSON types, their
// ranges, timestamp formats and freshness, and size limits. It must not know topics, devices
// or storage: callers pick the decoding method from the topic, stamp the device id, and decide
// what to do with a rejected payload (count it, dead-letter it).
//
// # Choices
//
//   - Timestamps are RFC 3339 strings (with or without fractional seconds, "Z" or a numeric
//     offset) or unix milliseconds as a JSON number. Decoded times are always in UTC. A time more
//     than Decoder.MaxFuture ahead of now is rejected as "future_timestamp", one older than
//     Decoder.MaxPast as "stale_timestamp".
//   - A position of exactly (0, 0), "null island", is rejected as "out_of_range": it is what GPS
//     modules report before they have a fix, and no lanewatch city lies in the Gulf of Guinea.
//   - Telemetry extra fields: any field that is not a standard one and holds a JSON number or
//     boolean is kept in Telemetry.Extra, in the order sent (a repeated name keeps its first
//     position and its last value). Extra fields holding strings, objects, arrays or null are
//     ignored: rules and the time-series store only deal with numbers and booleans, and
//     ignoring them keeps vendor firmware that adds descriptive fields working. More than
//     Decoder.MaxExtra extra fields in one point is "too_large".
//   - null for an optional field means the field is absent; null for a required field is
//     "missing_field". Any other wrong JSON type for a known field is "bad_type". A repeated
//     standard field takes its last value.
//   - A telemetry batch (JSON array) is all or nothing: if any element is invalid the whole
//     batch is rejected and the error names the element index, e.g.
//     "telemetry[3].lat: 95.2 out of range -90..90". Devices resend backlogs, so a partial
//     accept would make retries ambiguous; the dead-letter store keeps the batch for operators.
//     An empty batch is "missing_field".
//   - Unknown fields of camera events and plaque scans are ignored (forward compatibility);
//     unknown fields of status messages are kept in Status.Fields, at most Decoder.MaxFields.
//   - Strings that are kept must be valid UTF-8 without NUL bytes; identifiers must also be
//     free of control characters. An empty optional string counts as absent.
//   - Non-finite numbers (NaN, Infinity), which are not JSON, are "bad_json".
//
// A Decoder is safe for concurrent use; its zero value uses the defaults.
package payload
