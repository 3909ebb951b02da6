package devices

import (
	"context"
	"fmt"
	"strings"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// SeedFile is the format of configs/devices.yaml.
type SeedFile struct {
	Devices []SeedDevice `yaml:"devices"`
}

// SeedDevice is one device of the seed file. Give either Password (demo fleets and simulators,
// which need the clear password to connect) or PasswordHash (a bcrypt hash, for production).
type SeedDevice struct {
	ID           string            `yaml:"id"`
	Type         string            `yaml:"type"`
	District     string            `yaml:"district"`
	Contractor   string            `yaml:"contractor"`
	Plate        string            `yaml:"plate"`
	Tags         map[string]string `yaml:"tags"`
	Password     string            `yaml:"password"`
	PasswordHash string            `yaml:"password_hash"`
}

// LoadSeed reads and validates a seed file; errors name the file, line and device.
func LoadSeed(path string) (*SeedFile, error) {
	var f SeedFile
	if err := yamlx.ReadFile(path, &f); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, s := range f.Devices {
		d := s.device()
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("%s: devices[%d]: %s", path, i, lanewatch.ErrorMessage(err))
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("%s: devices[%d]: duplicate id %q", path, i, s.ID)
		}
		seen[s.ID] = true
		switch {
		case s.Password == "" && s.PasswordHash == "":
			return nil, fmt.Errorf("%s: devices[%d] (%s): password or password_hash required", path, i, s.ID)
		case s.Password != "" && s.PasswordHash != "":
			return nil, fmt.Errorf("%s: devices[%d] (%s): give password or password_hash, not both", path, i, s.ID)
		case s.Password != "" && len(s.Password) < MinPasswordLen:
			return nil, fmt.Errorf("%s: devices[%d] (%s): password shorter than %d characters", path, i, s.ID, MinPasswordLen)
		case s.PasswordHash != "" && !strings.HasPrefix(s.PasswordHash, "$2"):
			return nil, fmt.Errorf("%s: devices[%d] (%s): password_hash is not a bcrypt hash", path, i, s.ID)
		}
	}
	return &f, nil
}

func (s SeedDevice) device() *lanewatch.Device {
	return &lanewatch.Device{ID: s.ID, Type: lanewatch.DeviceType(s.Type), District: s.District,
		Contractor: s.Contractor, Plate: s.Plate, Tags: s.Tags}
}

// Seed creates every device of f that the registry does not have yet. Devices already present
// are left as they are: the API owns them once created. It returns how many were created.
func (r *Registry) Seed(ctx context.Context, f *SeedFile) (int, error) {
	n := 0
	for _, s := range f.Devices {
		if _, err := r.store.GetDevice(ctx, s.ID); err == nil {
			continue
		} else if lanewatch.ErrorCode(err) != lanewatch.ENotFound {
			return n, fmt.Errorf("seed device %q: %w", s.ID, err)
		}
		d := s.device()
		var err error
		if s.PasswordHash != "" {
			now := r.now().UTC()
			d.PasswordHash, d.CreatedAt, d.UpdatedAt = s.PasswordHash, now, now
			if d.Tags == nil {
				d.Tags = map[string]string{}
			}
			err = r.store.CreateDevice(ctx, d)
		} else {
			err = r.Create(ctx, d, s.Password)
		}
		if err != nil {
			return n, fmt.Errorf("seed device %q: %w", s.ID, err)
		}
		n++
	}
	return n, nil
}
