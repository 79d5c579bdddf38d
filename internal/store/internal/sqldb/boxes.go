package sqldb

// boxes keeps, per column of a batch being inserted, the interface value
// of the last row's string. database/sql takes arguments as `any`, and
// boxing a non-empty string into one allocates; a batch's rows mostly
// repeat theirs (key, team, model, provider, hosting, policy action,
// outcome; an audit row's prev_hash is the row before's hash), and a
// repeated value reuses the box. Not safe for concurrent use: one per
// batch.
type boxes []any

// str returns s boxed, reusing col's last box when it holds s.
func (b boxes) str(col int, s string) any {
	if v, ok := b[col].(string); ok && v == s {
		return b[col]
	}
	b[col] = s
	return b[col]
}
