// Package jt808 owns JT/T 808 vehicle terminals (SPEC 3.2), the 2013 and 2019 versions: the
// codec (framing with 0x7e, escaping with 0x7d 0x01/0x02, the XOR checksum, both header
// layouts, sub-packages, GBK strings, BCD times; the messages lanewatch uses), and the TCP
// listener: registration (0x0100/0x8100) and authentication (0x0102) against the device
// registry, heartbeats, location reports (0x0200) and batch uploads (0x0704) turned into the
// telemetry JSON of MQTT devices and appended to the same journal (the platform general
// response 0x8001 is sent only once the record is durable; the packages of a split message
// are answered only once the whole message is, and missing ones are asked for with 0x8003),
// work flags read from status or IO
// bits per vehicle model, commands mapped to 0x8103, 0x8300 and 0x8201, and bad frames counted
// and dead-lettered.
//
// It reaches the journal, the registry and the command service only through the small
// interfaces it declares; it must not import the gateway, the store drivers or the API, and
// never panics on input.
package jt808
