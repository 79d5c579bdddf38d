package cache

// index maps the first 8 bytes of a key (short) to its slot. It is an
// open-addressing table with linear probing, at most half full, so a
// look-up usually reads one cache line of one array: in a cache of tens of
// thousands of entries that line is rarely in the CPU's caches, and a Go
// map reads two or three such lines (directory, table, group) per look-up.
// The keys are SHA-256 prefixes, uniformly spread, so they index the table
// directly. It holds no pointers, so the garbage collector never scans it.
type index struct {
	tab []ientry
	n   int
}

// ientry is a table cell; slot is the slot index plus one (0: empty).
type ientry struct {
	h    uint64
	slot int32
}

func (x *index) len() int { return x.n }

func (x *index) get(h uint64) (int32, bool) {
	if x.tab == nil {
		return 0, false
	}
	mask := uint64(len(x.tab) - 1)
	for p := h & mask; ; p = (p + 1) & mask {
		e := &x.tab[p]
		if e.slot == 0 {
			return 0, false
		}
		if e.h == h {
			return e.slot - 1, true
		}
	}
}

// set maps h to slot, replacing any slot h had.
func (x *index) set(h uint64, slot int32) {
	if 2*(x.n+1) > len(x.tab) {
		x.grow()
	}
	mask := uint64(len(x.tab) - 1)
	for p := h & mask; ; p = (p + 1) & mask {
		e := &x.tab[p]
		if e.slot == 0 {
			*e = ientry{h: h, slot: slot + 1}
			x.n++
			return
		}
		if e.h == h {
			e.slot = slot + 1
			return
		}
	}
}

// del removes h, shifting back the cells after it that probed past it
// (Knuth, TAOCP vol. 3, 6.4, Algorithm R), so no tombstones are needed.
func (x *index) del(h uint64) {
	if x.tab == nil {
		return
	}
	mask := uint64(len(x.tab) - 1)
	i := h & mask
	for {
		e := &x.tab[i]
		if e.slot == 0 {
			return
		}
		if e.h == h {
			break
		}
		i = (i + 1) & mask
	}
	x.n--
	for j := i; ; {
		x.tab[i] = ientry{}
		for {
			j = (j + 1) & mask
			if x.tab[j].slot == 0 {
				return
			}
			// The cell at j may move to i unless its home k lies
			// cyclically in (i, j].
			k := x.tab[j].h & mask
			if (i < j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
				break
			}
		}
		x.tab[i] = x.tab[j]
		i = j
	}
}

func (x *index) grow() {
	old := x.tab
	size := 2 * len(old)
	if size < 1024 {
		size = 1024
	}
	x.tab, x.n = make([]ientry, size), 0
	for _, e := range old {
		if e.slot != 0 {
			x.set(e.h, e.slot-1)
		}
	}
}
