package openai

// TokenSlices returns empty slices with room for each array of token ids
// in raw (the arrays at the given depth, 1 for raw itself, counted by
// their commas), which json.Unmarshal then fills in place: left to itself
// encoding/json grows a slice a quarter at a time, 40 bytes allocated for
// each 5-byte id (5 million ids in a 15 MB body peaked at 229 MB as
// embeddings input, 535 MB as a completions prompt). The counts are only
// capacities: what is not arrays of numbers is refused by the decoding
// that follows.
func TokenSlices(raw []byte, depth int) [][]int {
	var caps []int
	d := 0
	for _, c := range raw {
		switch c {
		case '[':
			if d++; d == depth {
				caps = append(caps, 1)
			}
		case ']':
			d--
		case ',':
			if d == depth {
				caps[len(caps)-1]++
			}
		}
	}
	out := make([][]int, len(caps))
	for i, n := range caps {
		out[i] = make([]int, 0, n)
	}
	return out
}
