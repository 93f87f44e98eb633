package elfx

import (
	"bytes"
	"cmp"
	"slices"
	"sync"
)

// Searching read-only data for many marker strings at once.
//
// The naive way, one bytes.Index pass per needle, costs a pass over every
// library's read-only data for each needle, and the callers keep adding
// needles (the C crypto scan has a dozen). Instead the needles are
// grouped by an anchor byte each of them contains: one
// bytes.IndexByte pass per group finds the candidate positions, and each
// member of the group is compared there. The anchors are chosen greedily
// so that few groups cover all needles ("/" covers every source path,
// "L" covers "OpenSSL ", "BoringSSL", "AWS-LC", "GnuTLS "), preferring
// bytes that are rare in read-only data: IndexByte is fast until its
// byte is common, then the per-hit work dominates. A scan of the
// read-only data of Debian's /usr with the C scan's needles takes a third
// of the time of the per-needle passes (BenchmarkScanStrings).

// anchorMember is one needle of an anchor group: its index in the
// caller's list and where the anchor byte sits in it.
type anchorMember struct {
	needle, off int
}

// anchorGroup is the needles found through one anchor byte.
type anchorGroup struct {
	c       byte
	members []anchorMember
	maxOff  int
}

// anchorCost estimates how common a byte is in the read-only data of
// ELF files (measured on Debian's /usr: NUL, 0xff and a few letters
// dominate; upper-case letters and most punctuation are rare, '/' about
// 0.2% of bytes). Lower is rarer.
func anchorCost(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return 1
	case c > ' ' && c < 0x7f && !isAlnum(c) && c != '.' && c != '_' && c != '%':
		return 1
	case bytes.IndexByte([]byte("etaoinsrhldcu"), c) >= 0, c == '.', c == '_', c == '%', c == ' ':
		return 4
	case isAlnum(c):
		return 2
	}
	return 8
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// plans caches the anchor groups of the needle lists the callers use
// (a handful, each asked for every file of a scan), keyed by their
// contents.
var plans struct {
	sync.Mutex
	m map[string][]anchorGroup
}

// maxPlans caps the cache; needle lists come from code, not input.
const maxPlans = 64

// cachedPlan returns planAnchors(needles), computed once per list.
func cachedPlan(needles [][]byte) []anchorGroup {
	var kb [1024]byte
	key := kb[:0]
	for _, n := range needles {
		if len(n) > 0xffff {
			return planAnchors(needles)
		}
		key = append(key, byte(len(n)>>8), byte(len(n)))
		key = append(key, n...)
	}
	plans.Lock()
	g, ok := plans.m[string(key)]
	plans.Unlock()
	if ok {
		return g
	}
	g = planAnchors(needles)
	plans.Lock()
	if plans.m == nil {
		plans.m = map[string][]anchorGroup{}
	}
	if len(plans.m) < maxPlans {
		plans.m[string(key)] = g
	}
	plans.Unlock()
	return g
}

// planAnchors groups the needles by anchor byte (greedy set cover: the
// byte that covers the most needles not yet covered per unit of cost,
// ties to the lower byte). Empty needles are left out: they match
// nowhere useful.
func planAnchors(needles [][]byte) []anchorGroup {
	covered := make([]bool, len(needles))
	left := 0
	for i, n := range needles {
		if len(n) == 0 {
			covered[i] = true
		} else {
			left++
		}
	}
	var groups []anchorGroup
	for left > 0 {
		best, bestGain, bestCost := -1, 0, 1
		for c := range 256 {
			gain := 0
			for i, n := range needles {
				if !covered[i] && bytes.IndexByte(n, byte(c)) >= 0 {
					gain++
				}
			}
			// gain/cost > bestGain/bestCost, without division.
			if cost := anchorCost(byte(c)); gain > 0 && gain*bestCost > bestGain*cost {
				best, bestGain, bestCost = c, gain, cost
			}
		}
		g := anchorGroup{c: byte(best)}
		for i, n := range needles {
			if j := bytes.IndexByte(n, byte(best)); !covered[i] && j >= 0 {
				covered[i] = true
				left--
				g.members = append(g.members, anchorMember{i, j})
				g.maxOff = max(g.maxOff, j)
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// needleHit is a match of needle at position pos of a chunk.
type needleHit struct {
	needle, pos int
}

// findNeedles appends to hits the matches in b of the needles that
// start before end (end <= len(b); a needle must lie wholly in b), the
// way repeated bytes.Index calls would find them: for each needle, its
// non-overlapping matches from the left. The hits come sorted by needle,
// then position.
func findNeedles(b []byte, end int, needles [][]byte, groups []anchorGroup, next []int, hits []needleHit) []needleHit {
	start := len(hits)
	for i := range next {
		next[i] = 0
	}
	for _, g := range groups {
		// A match starting before end has its anchor before end+maxOff.
		lim := min(len(b), end+g.maxOff)
		for q := 0; q < lim; q++ {
			j := bytes.IndexByte(b[q:lim], g.c)
			if j < 0 {
				break
			}
			q += j
			for _, m := range g.members {
				p, nd := q-m.off, needles[m.needle]
				if p < next[m.needle] || p >= end || p+len(nd) > len(b) || b[p] != nd[0] || string(b[p:p+len(nd)]) != string(nd) {
					continue
				}
				hits = append(hits, needleHit{m.needle, p})
				next[m.needle] = p + len(nd)
			}
		}
	}
	if len(needles) > 1 {
		slices.SortFunc(hits[start:], func(x, y needleHit) int {
			return cmp.Or(cmp.Compare(x.needle, y.needle), cmp.Compare(x.pos, y.pos))
		})
	}
	return hits
}
