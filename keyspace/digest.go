package keyspace

import (
	"crypto/sha1"
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/persistkit/persistkit/format/rdb"
)

// DigestOptions select which server version's DEBUG DIGEST rules apply.
type DigestOptions struct {
	// RedisVersion is "major.minor" (e.g. "7.0", "7.4", "8.0"); Valkey 8
	// follows "7.2". Empty means the newest rules.
	RedisVersion string
}

// digestRules are the version-dependent parts of the digest (digest.md §7).
type digestRules struct {
	lpIntZero bool // listpack zsets store -0.0 as the integer 0 (>= 7.0)
	fpconv    bool // zset scores via fpconv_dtoa (>= 7.2) instead of %.17g
	hexpire   bool // hash fields with a TTL add "!!hexpire!!" (>= 7.4)
}

func (opt DigestOptions) rules() digestRules {
	major, minor, ok := parseVersion(opt.RedisVersion)
	if !ok {
		return digestRules{lpIntZero: true, fpconv: true, hexpire: true}
	}
	v := major*100 + minor
	return digestRules{lpIntZero: v >= 700, fpconv: v >= 702, hexpire: v >= 704}
}

// parseVersion reads "X.Y" or "X.Y.Z" (an optional "redis-"/"valkey-"
// prefix is ignored).
func parseVersion(s string) (major, minor int, ok bool) {
	if i := strings.LastIndexByte(s, '-'); i >= 0 && !strings.ContainsAny(s[:i], "0123456789") {
		s = s[i+1:]
	}
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return 0, 0, false
	}
	return major, minor, true
}

// digest is the 20-byte running state of debug.c's mixDigest/xorDigest.
type digest [sha1.Size]byte

// xor does D ^= SHA1(data).
func (d *digest) xor(data []byte) {
	h := sha1.Sum(data)
	d.xorSum(&h)
}

// xorSum does D ^= sum, where sum is SHA1 of some data.
func (d *digest) xorSum(sum *[sha1.Size]byte) {
	a := binary.LittleEndian.Uint64(d[0:]) ^ binary.LittleEndian.Uint64(sum[0:])
	b := binary.LittleEndian.Uint64(d[8:]) ^ binary.LittleEndian.Uint64(sum[8:])
	c := binary.LittleEndian.Uint32(d[16:]) ^ binary.LittleEndian.Uint32(sum[16:])
	binary.LittleEndian.PutUint64(d[0:], a)
	binary.LittleEndian.PutUint64(d[8:], b)
	binary.LittleEndian.PutUint32(d[16:], c)
}

// mix does D = SHA1(D ^ SHA1(data)); order-sensitive.
func (d *digest) mix(data []byte) {
	d.xor(data)
	*d = sha1.Sum(d[:])
}

// mixSum is mix with SHA1(data) already computed.
func (d *digest) mixSum(sum *[sha1.Size]byte) {
	d.xorSum(sum)
	*d = sha1.Sum(d[:])
}

// Every value digest starts with its type and may end with the TTL
// markers, so their SHA-1s are computed once.
var (
	kindSums = func() (s [rdb.KindStream + 1][sha1.Size]byte) {
		for k := range s {
			var typ [4]byte
			binary.BigEndian.PutUint32(typ[:], rdb.Kind(k).DigestType())
			s[k] = sha1.Sum(typ[:])
		}
		return s
	}()
	expireSum  = sha1.Sum([]byte("!!expire!!"))
	hexpireSum = sha1.Sum([]byte("!!hexpire!!"))
)

func (d *digest) mixString(s string) { d.mix([]byte(s)) }

// Digest computes DEBUG DIGEST of the store: per non-empty db its index is
// mixed in, then SHA1 of each key's digest is xored in. Keys already expired
// at s.NowMs (when not 0) are left out, as a server that loaded the data at
// that time would have dropped them.
func (s *Store) Digest(opt DigestOptions) [20]byte {
	p := s.DigestParts(opt)
	return p.Sum()
}

// DigestParts is [Store.Digest] before its dbs are put together: per db,
// whether it has live keys and the xor of their digests. Parts of stores
// holding disjoint keys of one keyspace (the partitions of
// [PartitionAOF]) combine with Add into the parts of the whole.
type DigestParts struct {
	XOR     [NumDBs][20]byte
	Present [NumDBs]bool
	Keys    int // live keys
}

// DigestParts computes s's digest parts (see [Store.Digest]).
func (s *Store) DigestParts(opt DigestOptions) DigestParts {
	r := opt.rules()
	var p DigestParts
	for dbi, db := range s.DBs {
		if db == nil {
			continue
		}
		f := (*digest)(&p.XOR[dbi])
		for k, o := range db.Keys {
			if s.expired(o) {
				continue
			}
			p.Present[dbi] = true
			p.Keys++
			var kd digest
			kd.mixString(k)
			valueDigest(&kd, o, r)
			f.xor(kd[:])
		}
	}
	return p
}

// Add adds the parts of another store's keys.
func (p *DigestParts) Add(q *DigestParts) {
	p.Keys += q.Keys
	for i := range p.XOR {
		p.Present[i] = p.Present[i] || q.Present[i]
		sum := q.XOR[i]
		(*digest)(&p.XOR[i]).xorSum(&sum)
	}
}

// Sum is the digest: per db with live keys its index is mixed in, then
// the xor of its keys' SHA-1s.
func (p *DigestParts) Sum() [20]byte {
	var f digest
	for dbi := range p.XOR {
		if !p.Present[dbi] {
			continue
		}
		var idx [4]byte
		binary.BigEndian.PutUint32(idx[:], uint32(dbi))
		f.mix(idx[:])
		f.xorSum(&p.XOR[dbi])
	}
	return f
}

// DigestValue computes DEBUG DIGEST-VALUE for one key: unlike [Store.Digest]
// the key name is not mixed in. A nil o (missing key) gives 20 zero bytes.
// The key is unused by the built-in types; it is kept for module callbacks.
func DigestValue(key []byte, o *Object, opt DigestOptions) [20]byte {
	var d digest
	if o == nil {
		return d
	}
	valueDigest(&d, o, opt.rules())
	return d
}

// expired says whether o's TTL passed before s.NowMs.
func (s *Store) expired(o *Object) bool {
	return s.NowMs != 0 && o.HasTTL() && o.ExpireAtMs < s.NowMs
}

// valueDigest is debug.c's xorObjectDigest: type, content, expire marker.
// The element digests are shared with the streaming path (digest_stream.go),
// which hashes rdb.Values directly.
func valueDigest(d *digest, o *Object, r digestRules) {
	digestType(d, o.Kind)
	switch o.Kind {
	case rdb.KindString:
		d.mix(o.Str)
	case rdb.KindList:
		for _, e := range o.List {
			d.mix(e)
		}
	case rdb.KindSet:
		for m := range o.Set {
			d.xor([]byte(m))
		}
	case rdb.KindZSet:
		var buf []byte
		maxLen := 0
		for m := range o.ZSet {
			maxLen = max(maxLen, len(m))
		}
		zeroNeg := zsetZeroNeg(o.Encoding, len(o.ZSet), maxLen, r)
		for m, score := range o.ZSet {
			buf = digestZSetMember(d, []byte(m), score, zeroNeg, buf, r)
		}
	case rdb.KindHash:
		for f, hv := range o.Hash {
			digestHashField(d, []byte(f), hv.Value, hv.ExpireAtMs != 0, r)
		}
	case rdb.KindStream:
		if o.Stream != nil {
			digestStreamEntries(d, o.Stream.Entries)
		}
	case rdb.KindModule:
		// Only the type and expire parts: module digest callbacks cannot be
		// run offline, and the corpus' test modules (datatype, testrdb)
		// contribute nothing either.
	}
	digestExpire(d, o.HasTTL())
}

// digestType starts a value digest: D = mix(D, uint32_be(objtype)).
func digestType(d *digest, k rdb.Kind) {
	if int(k) < len(kindSums) {
		d.mixSum(&kindSums[k])
		return
	}
	var typ [4]byte
	binary.BigEndian.PutUint32(typ[:], k.DigestType())
	d.mix(typ[:])
}

// digestExpire ends a value digest with the TTL marker.
func digestExpire(d *digest, hasTTL bool) {
	if hasTTL {
		d.xorSum(&expireSum)
	}
}

// digestZSetMember xors one (member, score) element digest into d; buf is
// scratch for the score text and is returned for reuse.
func digestZSetMember(d *digest, m []byte, score float64, zeroNeg bool, buf []byte, r digestRules) []byte {
	var e digest
	e.mix(m)
	if zeroNeg && score == 0 {
		score = 0 // -0.0 became the listpack integer 0
	}
	buf = scoreText(buf[:0], score, r)
	e.mix(buf)
	d.xor(e[:])
	return buf
}

// digestHashField xors one (field, value) element digest into d.
func digestHashField(d *digest, f, v []byte, hasTTL bool, r digestRules) {
	var e digest
	e.mix(f)
	e.mix(v)
	if r.hexpire && hasTTL {
		e.xorSum(&hexpireSum)
	}
	d.xor(e[:])
}

// digestStreamEntries mixes stream entries in order: "<ms>.<seq>", then
// each field and value.
func digestStreamEntries(d *digest, entries []rdb.StreamEntry) {
	var buf []byte
	for _, ent := range entries {
		buf = strconv.AppendUint(buf[:0], ent.ID.Ms, 10)
		buf = append(buf, '.')
		buf = strconv.AppendUint(buf, ent.ID.Seq, 10)
		d.mix(buf)
		for _, fv := range ent.Fields {
			d.mix(fv.Field)
			d.mix(fv.Value)
		}
	}
}

// zsetZeroNeg says whether -0.0 scores hash as 0. A server with default
// thresholds (zset-max-listpack-entries 128, -value 64) converts a skiplist
// zset to a listpack when loading it, and since 7.0 a listpack stores
// integral scores as integers (zzlInsertAt, double2ll), so -0.0 turns into 0
// on the way. n is the number of distinct members, maxLen the longest.
func zsetZeroNeg(enc rdb.Encoding, n, maxLen int, r digestRules) bool {
	return r.lpIntZero && enc == rdb.EncSkiplist && n <= 128 && maxLen <= 64
}

// scoreText is the zset score as the digest hashes it.
func scoreText(dst []byte, score float64, r digestRules) []byte {
	if r.fpconv {
		return rdb.AppendFpconv(dst, score)
	}
	return rdb.AppendG17(dst, score)
}
