package jt808

import (
	"fmt"
	"sort"
)

// Config is the `jt808` section of lanewatch.yaml (SPEC 3.2); the listener is off while Addr
// is empty.
type Config struct {
	// Addr is the TCP listen address, e.g. 127.0.0.1:6808; "" disables JT/T 808.
	Addr string `yaml:"addr"`
	// OpenRegistration lets a terminal whose phone number is in the registry (device tag
	// jt808_phone) register (0x0100) and receive an auth code derived from AuthSecret and the
	// device id. Closed (default), registration is refused with result 4 and terminals
	// authenticate (0x0102) with their device password as the auth code.
	OpenRegistration bool   `yaml:"open_registration"`
	AuthSecret       string `yaml:"auth_secret"`
	// Models are the work flags per vehicle model (device tag vehicle_model; "default" for
	// devices without one or with an unlisted one).
	Models map[string]Model `yaml:"models"`
}

// Model says where a vehicle model's terminal reports its work flags.
type Model struct {
	Brush *Bit `yaml:"brush"`
	Water *Bit `yaml:"water"` // the water pump
}

// Bit is one bit of the location report: of the status word (status_bit 0..31), of the IO
// status item 0x2A (io_bit 0..15) or of the extended vehicle signal item 0x25 (signal_bit
// 0..31). Exactly one is set.
type Bit struct {
	StatusBit *int `yaml:"status_bit"`
	IOBit     *int `yaml:"io_bit"`
	SignalBit *int `yaml:"signal_bit"`
}

func (b *Bit) validate(where string) error {
	n := 0
	for _, f := range []struct {
		v   *int
		max int
		key string
	}{{b.StatusBit, 31, "status_bit"}, {b.IOBit, 15, "io_bit"}, {b.SignalBit, 31, "signal_bit"}} {
		if f.v == nil {
			continue
		}
		n++
		if *f.v < 0 || *f.v > f.max {
			return fmt.Errorf("%s.%s: %d is not in 0..%d", where, f.key, *f.v, f.max)
		}
	}
	if n != 1 {
		return fmt.Errorf("%s: give exactly one of status_bit, io_bit, signal_bit", where)
	}
	return nil
}

// Validate checks the section; errors name the key within it.
func (c *Config) Validate() error {
	if c.OpenRegistration && len(c.AuthSecret) < 16 {
		return fmt.Errorf("auth_secret: at least 16 characters are needed with open_registration")
	}
	names := make([]string, 0, len(c.Models))
	for n := range c.Models {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := c.Models[n]
		if m.Brush != nil {
			if err := m.Brush.validate("models." + n + ".brush"); err != nil {
				return err
			}
		}
		if m.Water != nil {
			if err := m.Water.validate("models." + n + ".water"); err != nil {
				return err
			}
		}
	}
	return nil
}

// flag reads bit b from a location report; ok is false when the report lacks the item.
func (b *Bit) flag(l *Location) (on, ok bool) {
	switch {
	case b.StatusBit != nil:
		return l.Status&(1<<uint(*b.StatusBit)) != 0, true
	case b.IOBit != nil:
		v := l.Item(0x2A)
		if len(v) != 2 {
			return false, false
		}
		return (uint16(v[0])<<8|uint16(v[1]))&(1<<uint(*b.IOBit)) != 0, true
	case b.SignalBit != nil:
		v := l.Item(0x25)
		if len(v) != 4 {
			return false, false
		}
		w := uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
		return w&(1<<uint(*b.SignalBit)) != 0, true
	}
	return false, false
}
