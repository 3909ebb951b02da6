package gateway

import (
	"slices"
)

// ConnectedUsernames returns the usernames of the clients connected to this broker now,
// sorted and unique (devices and subscribers; the broker's inline client is left out).
func (b *Broker) ConnectedUsernames() []string {
	var out []string
	for _, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Inline || cl.Closed() {
			continue
		}
		if u := string(cl.Properties.Username); u != "" {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
