package web

// SetSampleSize sets how many raw attempts the pages read, until the
// returned func restores it.
func SetSampleSize(n int) (restore func()) {
	old := sampleSize
	sampleSize = n
	return func() { sampleSize = old }
}
