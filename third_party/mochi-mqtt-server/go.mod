// lanewatch's fork of github.com/mochi-mqtt/server/v2 v2.7.9 (see PATCHES.md). Only the packages
// lanewatch builds are kept; the storage backends, auth/debug hooks, examples and cmd are not.
module github.com/mochi-mqtt/server/v2

go 1.21

require (
	github.com/gorilla/websocket v1.5.3
	github.com/rs/xid v1.4.0
)
