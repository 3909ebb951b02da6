package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
)

type fakeDevices struct {
	types map[string]lanewatch.DeviceType
}

func (f fakeDevices) Lookup(_ context.Context, id string) (*lanewatch.Device, error) {
	t, ok := f.types[id]
	if !ok {
		return nil, lanewatch.ErrNotFound
	}
	return &lanewatch.Device{ID: id, Type: t}, nil
}
func (fakeDevices) Touch(string, time.Time)           {}
func (fakeDevices) SetOnline(string, bool, time.Time) {}
func (fakeDevices) Authenticate(context.Context, string, string) (*lanewatch.Device, error) {
	return nil, lanewatch.Errorf(lanewatch.EUnauthorized, "no")
}

type nopJournal struct{}

func (nopJournal) Append(context.Context, []byte, bool) (uint64, error) { return 1, nil }

var (
	_ DeviceLookup  = fakeDevices{}
	_ Authenticator = fakeDevices{}
	_ Journal       = nopJournal{}
)

func TestDeviceACL(t *testing.T) {
	devs := fakeDevices{types: map[string]lanewatch.DeviceType{"sw-1": lanewatch.DeviceSweeper, "cam-1": lanewatch.DeviceCamera}}
	b, err := NewBroker(Options{Auth: devs, Devices: devs, Journal: nopJournal{}, Registerer: prometheus.NewPedanticRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id, topic string
		write     bool
		want      bool
	}{
		{"sw-1", "vehicles/sw-1/telemetry", true, true},
		{"sw-1", "devices/sw-1/status", true, true},
		{"sw-1", "vehicles/sw-2/telemetry", true, false},
		{"sw-1", "cameras/sw-1/events", true, false}, // wrong kind for a sweeper
		{"sw-1", "vehicles/+/telemetry", true, false},
		{"sw-1", "devices/sw-1/commands/#", false, true},
		{"sw-1", "devices/sw-1/commands/route", false, true},
		{"sw-1", "devices/sw-2/commands/#", false, false},
		{"sw-1", "vehicles/#", false, false},
		{"cam-1", "cameras/cam-1/events", true, true},
		{"ghost", "vehicles/ghost/telemetry", true, false},
	}
	for _, tt := range tests {
		if got := deviceAllows(b, tt.id, tt.topic, tt.write); got != tt.want {
			t.Errorf("deviceAllows(%s, %s, write=%v) = %v, want %v", tt.id, tt.topic, tt.write, got, tt.want)
		}
	}
}
