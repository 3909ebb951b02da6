package devices

import (
	"context"
	"fmt"

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
	if err := yamlx.ReadCheck(path, &f, f.validate); err != nil {
		return nil, err
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
			err = r.create(ctx, d, s.Password)
		}
		if err != nil {
			return n, fmt.Errorf("seed device %q: %w", s.ID, err)
		}
		n++
	}
	return n, nil
}
