package devices

import (
	"fmt"
	"strings"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// ParseSeed is LoadSeed on bytes already read: data is decoded strictly and validated; errors
// name file, the line and the device.
func ParseSeed(file string, data []byte) (*SeedFile, error) {
	var f SeedFile
	if err := yamlx.Decode(file, data, &f); err != nil {
		return nil, err
	}
	if err := f.validate(file); err != nil {
		return nil, err
	}
	return &f, nil
}

// validate checks every device of a decoded seed file (file names it in errors).
func (f *SeedFile) validate(file string) error {
	seen := map[string]bool{}
	for i, s := range f.Devices {
		d := s.device()
		if err := d.Validate(); err != nil {
			return fmt.Errorf("%s: devices[%d]: %s", file, i, lanewatch.ErrorMessage(err))
		}
		if seen[s.ID] {
			return fmt.Errorf("%s: devices[%d]: duplicate id %q", file, i, s.ID)
		}
		seen[s.ID] = true
		switch {
		case s.Password == "" && s.PasswordHash == "":
			return fmt.Errorf("%s: devices[%d] (%s): password or password_hash required", file, i, s.ID)
		case s.Password != "" && s.PasswordHash != "":
			return fmt.Errorf("%s: devices[%d] (%s): give password or password_hash, not both", file, i, s.ID)
		case s.Password != "" && len(s.Password) < MinPasswordLen:
			return fmt.Errorf("%s: devices[%d] (%s): password shorter than %d characters", file, i, s.ID, MinPasswordLen)
		case s.PasswordHash != "" && !strings.HasPrefix(s.PasswordHash, "$2"):
			return fmt.Errorf("%s: devices[%d] (%s): password_hash is not a bcrypt hash", file, i, s.ID)
		}
	}
	return nil
}
