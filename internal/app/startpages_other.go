//go:build !linux

package app

// releaseStartPages is a no-op outside Linux (see startpages_linux.go).
func releaseStartPages() int { return 0 }
