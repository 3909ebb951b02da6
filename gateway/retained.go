package gateway

import "sync"

// retainedLimits bounds the retained messages each device keeps in the broker (SPEC 3.3): at
// most count topics and bytes payload bytes per device. A retained publish beyond them is still
// delivered, only not retained; an empty retained payload clears the topic.
type retainedLimits struct {
	count int
	bytes int

	mu  sync.Mutex
	per map[string]map[string]int // device -> topic -> payload bytes
}

func newRetainedLimits(count, bytes int) *retainedLimits {
	return &retainedLimits{count: count, bytes: bytes, per: map[string]map[string]int{}}
}

// admit records a retained publish of n bytes by device on topic and reports whether it may be
// retained.
func (r *retainedLimits) admit(device, topic string, n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	topics := r.per[device]
	if n == 0 {
		delete(topics, topic)
		if len(topics) == 0 {
			delete(r.per, device)
		}
		return true
	}
	total := n
	for t, size := range topics {
		if t != topic {
			total += size
		}
	}
	_, had := topics[topic]
	if total > r.bytes || (!had && len(topics)+1 > r.count) {
		return false
	}
	if topics == nil {
		topics = map[string]int{}
		r.per[device] = topics
	}
	topics[topic] = n
	return true
}
