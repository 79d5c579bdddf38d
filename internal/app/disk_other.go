//go:build !unix

package app

import "errors"

func freeBytes(string) (int64, error) {
	return 0, errors.New("free space is not measured on this system")
}
