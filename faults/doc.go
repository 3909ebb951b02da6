// Package faults holds lanewatch's fault-injection tests: real lanewatch processes, a real
// influxd and real MQTT clients, with processes killed (SIGKILL) and restarted in the middle of
// a run, checking that nothing acknowledged is lost or duplicated.
//
// It contains tests only and must not be imported.
package faults
