package gateway

import (
	"net"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestConnectedUsernames(t *testing.T) {
	devs := fakeDevices{}
	b, err := NewBroker(Options{Auth: devs, Devices: devs, Journal: nopJournal{}, Registerer: prometheus.NewPedanticRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.ConnectedUsernames(); len(got) != 0 {
		t.Fatalf("no clients: got %v", got)
	}
	add := func(id, user string, inline bool) {
		c1, c2 := net.Pipe()
		t.Cleanup(func() { c1.Close(); c2.Close() })
		cl := b.srv.NewClient(c1, "t", id, inline)
		cl.Properties.Username = []byte(user)
		b.srv.Clients.Add(cl)
	}
	add("c2", "sw-2", false)
	add("c1", "sw-1", false)
	add("c1b", "sw-1", false) // a second session of the same user is listed once
	add("anon", "", false)
	add("inline", "inline", true)
	if got, want := b.ConnectedUsernames(), []string{"sw-1", "sw-2"}; !slices.Equal(got, want) {
		t.Errorf("ConnectedUsernames = %v, want %v", got, want)
	}
	cl, _ := b.srv.Clients.Get("c2")
	cl.Stop(nil)
	if got, want := b.ConnectedUsernames(), []string{"sw-1"}; !slices.Equal(got, want) {
		t.Errorf("after sw-2 closed: %v, want %v", got, want)
	}
}
