//go:build !unix

package wal

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir opens dir/LOCK; advisory locking is only implemented on unix.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("wal: lock dir: %w", err)
	}
	return f, nil
}

func unlockDir(f *os.File) error { return f.Close() }
