package devices

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// ParseSeed is LoadSeed on bytes already read: data is decoded strictly and validated; every
// error is reported, each naming file, line, column and key (yamlx.Check).
func ParseSeed(file string, data []byte) (*SeedFile, error) {
	var f SeedFile
	if err := yamlx.Check(file, data, &f, f.validate); err != nil {
		return nil, err
	}
	return &f, nil
}

// validate checks every device of a decoded seed file, collecting every error (each starting
// with the key path it concerns).
func (f *SeedFile) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seen := map[string]bool{}
	for i, s := range f.Devices {
		d := s.device()
		if err := d.Validate(); err != nil {
			bad("devices[%d].%s", i, lanewatch.ErrorMessage(err))
		}
		if seen[s.ID] {
			bad("devices[%d].id: duplicate id %q", i, s.ID)
		}
		seen[s.ID] = true
		switch {
		case s.Password == "" && s.PasswordHash == "":
			bad("devices[%d] (%s): password or password_hash required", i, s.ID)
		case s.Password != "" && s.PasswordHash != "":
			bad("devices[%d] (%s).password_hash: give password or password_hash, not both", i, s.ID)
		case s.Password != "" && len(s.Password) < MinPasswordLen:
			bad("devices[%d] (%s).password: shorter than %d characters", i, s.ID, MinPasswordLen)
		case s.PasswordHash != "" && !strings.HasPrefix(s.PasswordHash, "$2"):
			bad("devices[%d] (%s).password_hash: not a bcrypt hash", i, s.ID)
		}
	}
	return errors.Join(errs...)
}
