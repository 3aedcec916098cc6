package keyspace

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/persistkit/persistkit/format/rdb"
)

var (
	errZAddFlags    = errors.New("GT, LT, and/or NX options at the same time are not compatible")
	errZAddXXNX     = errors.New("XX and NX options at the same time are not compatible")
	errZAddIncr     = errors.New("INCR option supports a single increment-element pair")
	errScoreNaN     = errors.New("resulting score is not a number (NaN)")
	errMinMax       = errors.New("min or max is not a float")
	errLexRange     = errors.New("min or max not valid string range item")
	errWeights      = errors.New("weight value is not a float")
	errZRangeOption = errors.New("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
)

func init() {
	register("ZADD", -4, cmdZAdd)
	register("ZINCRBY", 4, cmdZIncrBy)
	register("ZREM", -3, cmdZRem)
	register("ZREMRANGEBYSCORE", 4, cmdZRemRange)
	register("ZREMRANGEBYRANK", 4, cmdZRemRange)
	register("ZREMRANGEBYLEX", 4, cmdZRemRange)
	register("ZPOPMIN", -2, zsetPops.single)
	register("ZPOPMAX", -2, zsetPops.single)
	register("BZPOPMIN", -3, zsetPops.blocking)
	register("BZPOPMAX", -3, zsetPops.blocking)
	register("ZMPOP", -4, zsetPops.multi)
	register("BZMPOP", -5, zsetPops.multi)
	register("ZUNIONSTORE", -4, cmdZStore)
	register("ZINTERSTORE", -4, cmdZStore)
	register("ZDIFFSTORE", -4, cmdZStore)
	register("ZRANGESTORE", -5, cmdZRangeStore)
	for _, n := range []string{"ZRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX",
		"ZREVRANGEBYLEX", "ZREVRANGE", "ZCARD", "ZSCORE", "ZMSCORE", "ZRANK", "ZREVRANK", "ZCOUNT",
		"ZLEXCOUNT", "ZSCAN", "ZRANDMEMBER", "ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD"} {
		register(n, -2, noop)
	}
}

// zEntry is a member with its score, in skiplist order.
type zEntry struct {
	member string
	score  float64
}

// sortedZ returns the members in Redis' order: score, then member bytes.
func sortedZ(z map[string]float64) []zEntry {
	out := make([]zEntry, 0, len(z))
	for m, sc := range z {
		out = append(out, zEntry{m, sc})
	}
	slices.SortFunc(out, func(a, b zEntry) int {
		if c := cmp.Compare(a.score, b.score); c != 0 {
			return c
		}
		return strings.Compare(a.member, b.member)
	})
	return out
}

func cmdZAdd(s *Store, args [][]byte) error {
	var nx, xx, gt, lt, incr bool
	i := 2
flags:
	for ; i < len(args); i++ {
		switch {
		case eq(args[i], "NX"):
			nx = true
		case eq(args[i], "XX"):
			xx = true
		case eq(args[i], "GT"):
			gt = true
		case eq(args[i], "LT"):
			lt = true
		case eq(args[i], "CH"):
		case eq(args[i], "INCR"):
			incr = true
		default:
			break flags
		}
	}
	pairs := args[i:]
	if len(pairs) == 0 || len(pairs)%2 != 0 {
		return ErrSyntax
	}
	if nx && xx {
		return errZAddXXNX
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		return errZAddFlags
	}
	if incr && len(pairs) > 2 {
		return errZAddIncr
	}
	scores := make([]float64, len(pairs)/2)
	for j := range scores {
		v, err := parseFloat(pairs[2*j])
		if err != nil {
			return err
		}
		scores[j] = v
	}
	o, err := s.lookupKind(args[1], rdb.KindZSet)
	if err != nil {
		return err
	}
	if o == nil {
		if xx {
			return nil
		}
		o, _ = s.lookupOrCreate(args[1], rdb.KindZSet)
	}
	defer s.deleteIfEmpty(args[1], o)
	for j, sc := range scores {
		m := string(pairs[2*j+1])
		cur, exists := o.ZSet[m]
		if exists {
			if nx {
				continue
			}
			if incr {
				sc += cur
				if math.IsNaN(sc) {
					return errScoreNaN
				}
			}
			if (gt && sc <= cur) || (lt && sc >= cur) {
				continue
			}
			o.ZSet[m] = sc
		} else if !xx {
			o.ZSet[m] = sc
		}
	}
	return nil
}

func cmdZIncrBy(s *Store, args [][]byte) error {
	return cmdZAdd(s, [][]byte{[]byte("ZADD"), args[1], []byte("INCR"), args[2], args[3]})
}

func cmdZRem(s *Store, args [][]byte) error {
	o, err := s.lookupKind(args[1], rdb.KindZSet)
	if err != nil || o == nil {
		return err
	}
	for _, m := range args[2:] {
		delete(o.ZSet, string(m))
	}
	s.deleteIfEmpty(args[1], o)
	return nil
}

// scoreRange is a parsed "min max" score interval ("(" = exclusive).
type scoreRange struct {
	min, max     float64
	minex, maxex bool
}

func parseScoreBound(b []byte) (float64, bool, error) {
	ex := len(b) > 0 && b[0] == '('
	if ex {
		b = b[1:]
	}
	v, err := parseFloat(b)
	if err != nil {
		return 0, false, errMinMax
	}
	return v, ex, nil
}

func parseScoreRange(lo, hi []byte) (r scoreRange, err error) {
	if r.min, r.minex, err = parseScoreBound(lo); err != nil {
		return r, err
	}
	r.max, r.maxex, err = parseScoreBound(hi)
	return r, err
}

func (r scoreRange) contains(v float64) bool {
	aboveMin := v > r.min || (!r.minex && v == r.min)
	belowMax := v < r.max || (!r.maxex && v == r.max)
	return aboveMin && belowMax
}

// lexRange is a parsed "[a (b - +" interval.
type lexRange struct {
	min, max       []byte
	minex, maxex   bool
	minInf, maxInf int // -1 for "-", +1 for "+", 0 otherwise
}

func parseLexBound(b []byte) (v []byte, ex bool, inf int, err error) {
	if len(b) == 0 {
		return nil, false, 0, errLexRange
	}
	switch b[0] {
	case '+':
		if len(b) == 1 {
			return nil, false, 1, nil
		}
	case '-':
		if len(b) == 1 {
			return nil, false, -1, nil
		}
	case '(':
		return b[1:], true, 0, nil
	case '[':
		return b[1:], false, 0, nil
	}
	return nil, false, 0, errLexRange
}

func parseLexRange(lo, hi []byte) (r lexRange, err error) {
	if r.min, r.minex, r.minInf, err = parseLexBound(lo); err != nil {
		return r, err
	}
	r.max, r.maxex, r.maxInf, err = parseLexBound(hi)
	return r, err
}

func (r lexRange) gteMin(m []byte) bool {
	switch r.minInf {
	case -1:
		return true
	case 1:
		return false
	}
	c := bytes.Compare(m, r.min)
	return c > 0 || (c == 0 && !r.minex)
}

func (r lexRange) lteMax(m []byte) bool {
	switch r.maxInf {
	case 1:
		return true
	case -1:
		return false
	}
	c := bytes.Compare(m, r.max)
	return c < 0 || (c == 0 && !r.maxex)
}

// empty is zslIsInLexRange's first test: min above max.
func (r lexRange) empty() bool {
	if r.minInf == 1 || r.maxInf == -1 {
		return true
	}
	if r.minInf == -1 || r.maxInf == 1 {
		return false
	}
	c := bytes.Compare(r.min, r.max)
	return c > 0 || (c == 0 && (r.minex || r.maxex))
}

// lexRun is how Redis selects a lex range (zzlFirstInLexRange and a walk
// while in range): it assumes equal scores, so with mixed scores it takes
// the consecutive run, in score order, that starts at the first member
// >= min (rev: ends at the last member <= max).
func (r lexRange) lexRun(z []zEntry, rev bool) []zEntry {
	if len(z) == 0 || r.empty() || !r.gteMin([]byte(z[len(z)-1].member)) || !r.lteMax([]byte(z[0].member)) {
		return nil
	}
	if !rev {
		for i, e := range z {
			if !r.gteMin([]byte(e.member)) {
				continue
			}
			j := i
			for j < len(z) && r.lteMax([]byte(z[j].member)) {
				j++
			}
			return z[i:j]
		}
		return nil
	}
	for i := len(z) - 1; i >= 0; i-- {
		if !r.lteMax([]byte(z[i].member)) {
			continue
		}
		j := i
		for j >= 0 && r.gteMin([]byte(z[j].member)) {
			j--
		}
		run := slices.Clone(z[j+1 : i+1])
		slices.Reverse(run)
		return run
	}
	return nil
}

func cmdZRemRange(s *Store, args [][]byte) error {
	var pick func(i int, e zEntry) bool
	switch {
	case eq(args[0], "ZREMRANGEBYSCORE"):
		r, err := parseScoreRange(args[2], args[3])
		if err != nil {
			return err
		}
		pick = func(_ int, e zEntry) bool { return r.contains(e.score) }
	case eq(args[0], "ZREMRANGEBYLEX"):
		r, err := parseLexRange(args[2], args[3])
		if err != nil {
			return err
		}
		o, err := s.lookupKind(args[1], rdb.KindZSet)
		if err != nil || o == nil {
			return err
		}
		for _, e := range r.lexRun(sortedZ(o.ZSet), false) {
			delete(o.ZSet, e.member)
		}
		s.deleteIfEmpty(args[1], o)
		return nil
	default:
		start, err := parseInt(args[2])
		if err != nil {
			return err
		}
		end, err := parseInt(args[3])
		if err != nil {
			return err
		}
		o, err := s.lookupKind(args[1], rdb.KindZSet)
		if err != nil || o == nil {
			return err
		}
		lo, hi, empty := rangeBounds(len(o.ZSet), start, end)
		pick = func(i int, _ zEntry) bool { return !empty && int64(i) >= lo && int64(i) <= hi }
	}
	o, err := s.lookupKind(args[1], rdb.KindZSet)
	if err != nil || o == nil {
		return err
	}
	for i, e := range sortedZ(o.ZSet) {
		if pick(i, e) {
			delete(o.ZSet, e.member)
		}
	}
	s.deleteIfEmpty(args[1], o)
	return nil
}

// popZ removes up to n members from the low (min) or high end.
func (s *Store) popZ(key []byte, o *Object, min bool, n int64) {
	z := sortedZ(o.ZSet)
	if !min {
		slices.Reverse(z)
	}
	for i := int64(0); i < n && i < int64(len(z)); i++ {
		delete(o.ZSet, z[i].member)
	}
	s.deleteIfEmpty(key, o)
}

// zSource is an input of ZUNIONSTORE & co: a zset, or a set (scores 1).
type zSource struct {
	z      map[string]float64
	set    map[string]struct{}
	weight float64
}

func (z zSource) len() int { return len(z.z) + len(z.set) }

func (z zSource) get(m string) (float64, bool) {
	if z.set != nil {
		_, ok := z.set[m]
		return 1, ok
	}
	v, ok := z.z[m]
	return v, ok
}

func (z zSource) each(fn func(m string, score float64)) {
	for m := range z.set {
		fn(m, 1)
	}
	for m, v := range z.z {
		fn(m, v)
	}
}

// aggregate is zunionInterAggregate; a NaN sum (inf + -inf) becomes 0.
func aggregate(mode string, target, val float64) float64 {
	switch mode {
	case "MIN": // C comparisons, not math.Min: keeps target on -0 vs 0
		if val < target {
			return val
		}
		return target
	case "MAX":
		if val > target {
			return val
		}
		return target
	}
	t := target + val
	if math.IsNaN(t) {
		return 0
	}
	return t
}

func weighted(v, w float64) float64 {
	r := v * w
	if math.IsNaN(r) {
		return 0
	}
	return r
}

// cmdZStore is ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE dst numkeys key...
// [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX].
func cmdZStore(s *Store, args [][]byte) error {
	keys, rest, err := numKeys(args, 2)
	if err != nil {
		return err
	}
	srcs := make([]zSource, len(keys))
	for i := range srcs {
		srcs[i].weight = 1
	}
	mode := "SUM"
	isDiff := eq(args[0], "ZDIFFSTORE")
	for j := 0; j < len(rest); j++ {
		switch {
		case !isDiff && eq(rest[j], "WEIGHTS") && j+len(keys) < len(rest):
			for i := range srcs {
				w, err := parseFloat(rest[j+1+i])
				if err != nil {
					return errWeights
				}
				srcs[i].weight = w
			}
			j += len(keys)
		case !isDiff && eq(rest[j], "AGGREGATE") && j+1 < len(rest):
			mode = strings.ToUpper(string(rest[j+1]))
			if mode != "SUM" && mode != "MIN" && mode != "MAX" {
				return ErrSyntax
			}
			j++
		default:
			return ErrSyntax
		}
	}
	for i, k := range keys {
		o := s.lookup(k)
		switch {
		case o == nil:
		case o.Kind == rdb.KindZSet:
			srcs[i].z = o.ZSet
		case o.Kind == rdb.KindSet:
			srcs[i].set = o.Set
		default:
			return ErrWrongType
		}
	}
	res := map[string]float64{}
	switch {
	case isDiff:
		srcs[0].each(func(m string, v float64) {
			for _, o := range srcs[1:] {
				if _, ok := o.get(m); ok {
					return
				}
			}
			res[m] = v
		})
	case eq(args[0], "ZINTERSTORE"):
		// Redis walks the smallest input and adds the others in size order.
		slices.SortStableFunc(srcs, func(a, b zSource) int { return cmp.Compare(a.len(), b.len()) })
		if srcs[0].len() > 0 {
			srcs[0].each(func(m string, v float64) {
				score := weighted(v, srcs[0].weight)
				for _, o := range srcs[1:] {
					ov, ok := o.get(m)
					if !ok {
						return
					}
					score = aggregate(mode, score, weighted(ov, o.weight))
				}
				res[m] = score
			})
		}
	default:
		slices.SortStableFunc(srcs, func(a, b zSource) int { return cmp.Compare(a.len(), b.len()) })
		for _, src := range srcs {
			src.each(func(m string, v float64) {
				v = weighted(v, src.weight)
				if cur, ok := res[m]; ok {
					res[m] = aggregate(mode, cur, v)
				} else {
					res[m] = v
				}
			})
		}
	}
	s.storeZ(args[1], res)
	return nil
}

// storeZ replaces dst with the result, or deletes it when empty.
func (s *Store) storeZ(dst []byte, res map[string]float64) {
	if len(res) == 0 {
		delete(s.db().Keys, string(dst))
		return
	}
	o := NewObject(rdb.KindZSet)
	o.ZSet = res
	s.setKey(dst, o, false)
}

// cmdZRangeStore is ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV]
// [LIMIT offset count].
func cmdZRangeStore(s *Store, args [][]byte) error {
	var byScore, byLex, rev, limit bool
	var offset, count int64 = 0, -1
	for i := 5; i < len(args); i++ {
		switch {
		case eq(args[i], "BYSCORE"):
			byScore = true
		case eq(args[i], "BYLEX"):
			byLex = true
		case eq(args[i], "REV"):
			rev = true
		case eq(args[i], "LIMIT") && i+2 < len(args):
			var err error
			if offset, err = parseInt(args[i+1]); err != nil {
				return err
			}
			if count, err = parseInt(args[i+2]); err != nil {
				return err
			}
			limit = true
			i += 2
		default:
			return ErrSyntax
		}
	}
	if byScore && byLex {
		return ErrSyntax
	}
	if limit && !byScore && !byLex {
		return errZRangeOption
	}
	lo, hi := args[3], args[4]
	if rev && (byScore || byLex) {
		lo, hi = hi, lo
	}
	var pick func(e zEntry) bool
	var lex *lexRange
	var start, end int64
	switch {
	case byScore:
		r, err := parseScoreRange(lo, hi)
		if err != nil {
			return err
		}
		pick = func(e zEntry) bool { return r.contains(e.score) }
	case byLex:
		r, err := parseLexRange(lo, hi)
		if err != nil {
			return err
		}
		lex = &r
		pick = func(zEntry) bool { return true }
	default:
		var err error
		if start, err = parseInt(lo); err != nil {
			return err
		}
		if end, err = parseInt(hi); err != nil {
			return err
		}
	}
	o, err := s.lookupKind(args[2], rdb.KindZSet)
	if err != nil {
		return err
	}
	res := map[string]float64{}
	if o != nil {
		z := sortedZ(o.ZSet)
		switch {
		case lex != nil:
			z = lex.lexRun(z, rev)
		case rev:
			slices.Reverse(z)
		}
		if pick == nil {
			a, b, empty := rangeBounds(len(z), start, end)
			if !empty {
				for _, e := range z[a : b+1] {
					res[e.member] = e.score
				}
			}
		} else {
			skipped := int64(0)
			for _, e := range z {
				if count >= 0 && int64(len(res)) >= count {
					break
				}
				if !pick(e) {
					continue
				}
				if skipped < offset {
					skipped++
					continue
				}
				res[e.member] = e.score
			}
		}
	}
	s.storeZ(args[1], res)
	return nil
}
