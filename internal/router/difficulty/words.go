package difficulty

import "math"

// wordBuckets hashes the distinct words of text (runs of ASCII letters,
// lower-cased, as extract reads them) into n buckets and calls f once per
// distinct bucket with the value every present bucket gets: 1/sqrt(distinct
// buckets), so long prompts do not outweigh short ones. With bigrams, each
// pair of consecutive words (whatever separates them) is hashed into the
// same buckets too. It allocates nothing.
func wordBuckets(text string, n int, bigrams bool, f func(bucket int, v float64)) {
	if n <= 0 {
		return
	}
	var seen bitset
	var list [512]uint16
	k := 0
	prev := uint32(0) // hash of the previous word, 0 at the start
	for i := 0; i < len(text); {
		if !isLetter(text[i]) {
			i++
			continue
		}
		h := uint32(2166136261)
		for ; i < len(text) && isLetter(text[i]); i++ {
			h ^= uint32(text[i] | 0x20)
			h *= 16777619
		}
		b := int(h % uint32(n))
		if seen.add(uint32(b)) && k < len(list) {
			list[k] = uint16(b)
			k++
		}
		if bigrams && prev != 0 {
			p := (prev*16777619 ^ h) * 2654435761 // a pair hash unlike either word's
			if b := int(p % uint32(n)); seen.add(uint32(b)) && k < len(list) {
				list[k] = uint16(b)
				k++
			}
		}
		prev = h
	}
	if k == 0 {
		return
	}
	v := 1 / math.Sqrt(float64(k))
	for _, b := range list[:k] {
		f(int(b), v)
	}
}
