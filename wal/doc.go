// Package wal is lanewatch's durable path for device messages: an append-only, segmented,
// group-committed write-ahead log under the data directory (SPEC section 9).
//
// It owns:
//   - the on-disk format: segment files named after the sequence number of their first record
//     (%020d.wal), each a run of frames [length uint32 LE | CRC32C uint32 LE | payload], the CRC
//     covering the length bytes and the payload; and a small "commit" file holding the highest
//     sequence number the consumer has fully processed, replaced atomically;
//   - sequence numbers: consecutive from 1, continuing across restarts;
//   - group commit: one writer goroutine writes every record queued since the previous sync with a
//     single write and a single fsync, then wakes all their waiters, so durability costs one fsync
//     per batch, not per message;
//   - back-pressure: Append blocks while the bytes appended but not yet committed by the consumer
//     exceed Options.MaxLagBytes. It never drops a record;
//   - recovery: on Open the last segment is scanned and a torn or corrupt tail (a crash mid-write)
//     is truncated with a warning; corruption followed by intact records is an error naming the
//     file and offset. The consumer resumes after the committed sequence number.
//
// Typical use: the MQTT publish hook calls Append (durable for QoS 1, so the PUBACK is sent only
// once the record is on disk); the pipeline loops on Next and periodically calls Commit with the
// highest sequence number it has fully processed.
//
// It must not decode payloads or know about MQTT, topics, devices or the pipeline: a record is an
// opaque byte slice. It has one consumer; fan-out belongs to the caller.
package wal
