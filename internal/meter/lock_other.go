//go:build !unix

package meter

import (
	"os"
	"path/filepath"
)

// lockDir only creates dir/LOCK: elsewhere than Unix, operators must not
// point two processes at one data directory.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
}
