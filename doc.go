// Package lanewatch holds the domain types shared by every part of lanewatch: devices, decoded
// device messages, cases and their lifecycle vocabulary, dead letters and typed errors.
//
// It owns vocabulary only. It must not import any other lanewatch package nor any third-party
// module, and it must not do I/O: storage, transport and policy live in the subpackages.
package lanewatch
