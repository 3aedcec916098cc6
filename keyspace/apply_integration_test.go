//go:build integration

package keyspace

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/redistest"
)

// cmdGen produces random write commands over a small keyspace so that keys
// collide across types (WRONGTYPE), values hit parsing edge cases and
// collections grow and empty again.
type cmdGen struct {
	r      *rand.Rand
	nextMs int
}

var (
	genKeys = []string{"k1", "k2", "k3", "k4"}
	genVals = []string{"0", "1", "-1", "7", "10", "-3", "2.5", "abc", "", "9223372036854775807",
		"-9223372036854775808", "+5", "007", "1e3", "inf", "-inf", " 1", "0x10", "3.0000000000000004", "x"}
	genMembers = []string{"a", "b", "c", "1", "2", "-3", "zz"}
	genNums    = []string{"0", "1", "2", "3", "-1", "-2", "5", "100", "-100", "x", "1.5"}
)

func (g *cmdGen) pick(l []string) string { return l[g.r.IntN(len(l))] }
func (g *cmdGen) key() string            { return g.pick(genKeys) }
func (g *cmdGen) val() string            { return g.pick(genVals) }
func (g *cmdGen) mem() string            { return g.pick(genMembers) }
func (g *cmdGen) num() string            { return g.pick(genNums) }

func (g *cmdGen) mems(n int) []string {
	out := make([]string, 1+g.r.IntN(n))
	for i := range out {
		out[i] = g.mem()
	}
	return out
}

func (g *cmdGen) id() string {
	if g.r.IntN(4) == 0 {
		return strconv.Itoa(g.r.IntN(g.nextMs+1)) + "-" + strconv.Itoa(g.r.IntN(3))
	}
	g.nextMs++
	return strconv.Itoa(g.nextMs) + "-" + strconv.Itoa(g.r.IntN(3))
}

func cat(a ...any) []string {
	var out []string
	for _, x := range a {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case []string:
			out = append(out, x...)
		}
	}
	return out
}

func (g *cmdGen) next() []string {
	k, k2 := g.key(), g.key()
	far := "4102444800123"
	opt := func(opts ...string) []string {
		if g.r.IntN(2) == 0 {
			return nil
		}
		return []string{g.pick(opts)}
	}
	switch g.r.IntN(100) {
	// strings
	case 0:
		return cat("SET", k, g.val(), opt("NX", "XX", "GET", "KEEPTTL"))
	case 1:
		return cat("SET", k, g.val(), g.pick([]string{"EX", "PX"}), g.pick([]string{"100000", "0", "-5", "x"}))
	case 2:
		return cat("SET", k, g.val(), "PXAT", far, opt("NX", "XX", "KEEPTTL"))
	case 3:
		return cat("SETNX", k, g.val())
	case 4:
		return cat(g.pick([]string{"SETEX", "PSETEX"}), k, g.pick([]string{"100000", "0", "x"}), g.val())
	case 5:
		return cat("GETSET", k, g.val())
	case 6:
		return cat("GETDEL", k)
	case 7:
		return cat("MSET", k, g.val(), k2, g.val())
	case 8:
		return cat("MSETNX", k, g.val(), k2, g.val())
	case 9, 10:
		return cat("APPEND", k, g.val())
	case 11:
		return cat("SETRANGE", k, g.pick([]string{"0", "3", "10", "-1"}), g.val())
	case 12, 13:
		return cat(g.pick([]string{"INCR", "DECR"}), k)
	case 14:
		return cat(g.pick([]string{"INCRBY", "DECRBY"}), k, g.val())
	case 15:
		return cat("INCRBYFLOAT", k, g.val())
	case 16:
		return cat("GETEX", k, pickL(g, [][]string{{"PERSIST"}, {"EX", "100000"}, {"PXAT", far}, {"EX", "0"}}))
	// keys
	case 17:
		return cat(g.pick([]string{"DEL", "UNLINK"}), k, opt(k2))
	case 18:
		return cat(g.pick([]string{"EXPIRE", "PEXPIRE"}), k, g.pick([]string{"100000", "200000000", "x"}), opt("NX", "XX", "GT", "LT"))
	case 19:
		if g.r.IntN(2) == 0 {
			return cat("EXPIREAT", k, g.pick([]string{"4102444800", "5102444800"}), opt("NX", "XX", "GT", "LT"))
		}
		return cat("PEXPIREAT", k, g.pick([]string{far, "5102444800000"}), opt("NX", "XX", "GT", "LT"))
	case 20:
		return cat("PERSIST", k)
	case 21:
		return cat(g.pick([]string{"RENAME", "RENAMENX"}), k, k2)
	case 22:
		return cat("MOVE", k, g.pick([]string{"0", "1", "16"}))
	case 23:
		return cat("COPY", k, k2, opt("REPLACE"), pickL(g, [][]string{nil, {"DB", "1"}, {"DB", "0"}}))
	case 24:
		return cat("SELECT", g.pick([]string{"0", "0", "1"}))
	case 25:
		if g.r.IntN(4) == 0 {
			return cat("SWAPDB", "0", "1")
		}
		return cat("FLUSHDB")
	// lists
	case 26, 27, 28:
		return cat(g.pick([]string{"LPUSH", "RPUSH", "LPUSHX", "RPUSHX"}), k, g.mems(4))
	case 29, 30:
		return cat(g.pick([]string{"LPOP", "RPOP"}), k, opt("0", "1", "2", "5", "-1"))
	case 31:
		return cat("LINSERT", k, g.pick([]string{"BEFORE", "AFTER", "X"}), g.mem(), g.mem())
	case 32:
		return cat("LSET", k, g.num(), g.mem())
	case 33:
		return cat("LREM", k, g.num(), g.mem())
	case 34:
		return cat("LTRIM", k, g.num(), g.num())
	case 35:
		return cat("LMOVE", k, k2, g.pick([]string{"LEFT", "RIGHT"}), g.pick([]string{"LEFT", "RIGHT"}))
	case 36:
		return cat("RPOPLPUSH", k, k2)
	case 37:
		return cat("LMPOP", "2", k, k2, g.pick([]string{"LEFT", "RIGHT"}), "COUNT", g.pick([]string{"1", "3", "0"}))
	// sets
	case 38, 39, 40:
		return cat("SADD", k, g.mems(4))
	case 41:
		return cat("SREM", k, g.mems(3))
	case 42:
		return cat("SMOVE", k, k2, g.mem())
	case 43:
		return cat(g.pick([]string{"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"}), g.key(), k, k2)
	case 44:
		return cat("SPOP", k, "100")
	// zsets
	case 45, 46, 47:
		var pairs []string
		for range 1 + g.r.IntN(3) {
			pairs = append(pairs, g.pick([]string{"1", "2", "-1", "0.5", "inf", "-inf", "3", "x", "1e300"}), g.mem())
		}
		return cat("ZADD", k, opt("NX", "XX"), opt("GT", "LT"), opt("CH"), pairs)
	case 48:
		return cat("ZADD", k, opt("NX", "XX", "GT", "LT"), "INCR", g.pick([]string{"1", "-2.5", "inf", "-inf"}), g.mem())
	case 49:
		return cat("ZINCRBY", k, g.pick([]string{"1", "-2.5", "inf", "-inf", "x"}), g.mem())
	case 50:
		return cat("ZREM", k, g.mems(3))
	case 51:
		return cat("ZREMRANGEBYSCORE", k, g.pick([]string{"-inf", "(1", "0", "x"}), g.pick([]string{"+inf", "(2", "2"}))
	case 52:
		return cat("ZREMRANGEBYRANK", k, g.num(), g.num())
	case 53:
		return cat("ZREMRANGEBYLEX", k, g.pick([]string{"-", "[a", "(b", "x"}), g.pick([]string{"+", "[c", "(zz"}))
	case 54:
		return cat(g.pick([]string{"ZPOPMIN", "ZPOPMAX"}), k, opt("1", "2", "0", "-1"))
	case 55:
		return cat("ZMPOP", "2", k, k2, g.pick([]string{"MIN", "MAX"}), "COUNT", g.pick([]string{"1", "2"}))
	case 56, 57:
		return cat(g.pick([]string{"ZUNIONSTORE", "ZINTERSTORE"}), g.key(), "2", k, k2,
			pickL(g, [][]string{nil, {"WEIGHTS", "2", "0.5"}, {"WEIGHTS", "3", "-1"}}),
			pickL(g, [][]string{nil, {"AGGREGATE", "MIN"}, {"AGGREGATE", "MAX"}, {"AGGREGATE", "SUM"}}))
	case 58:
		return cat("ZDIFFSTORE", g.key(), "2", k, k2)
	case 59:
		return cat("ZRANGESTORE", g.key(), k, g.pick([]string{"0", "1", "-1", "(1", "[a", "-"}), g.pick([]string{"-1", "2", "+inf", "+", "[c"}),
			pickL(g, [][]string{nil, {"BYSCORE"}, {"BYLEX"}, {"REV"}, {"BYSCORE", "REV"}, {"BYLEX", "LIMIT", "1", "2"}, {"BYSCORE", "LIMIT", "0", "1"}}))
	// hashes
	case 60, 61, 62:
		return cat(g.pick([]string{"HSET", "HMSET"}), k, g.mem(), g.val(), opt(g.mem()), opt(g.val()))
	case 63:
		return cat("HSETNX", k, g.mem(), g.val())
	case 64:
		return cat("HDEL", k, g.mems(3))
	case 65:
		return cat("HINCRBY", k, g.mem(), g.val())
	case 66:
		return cat("HINCRBYFLOAT", k, g.mem(), g.val())
	// streams
	case 67, 68, 69:
		return cat("XADD", k, pickL(g, [][]string{nil, nil, {"MAXLEN", "3"}, {"MAXLEN", "=", "1"}, {"MINID", "5"}, {"NOMKSTREAM"}}), g.id(), "f", g.val())
	case 70:
		return cat("XDEL", k, g.id())
	case 71:
		return cat("XTRIM", k, g.pick([]string{"MAXLEN", "MINID"}), g.pick([]string{"2", "0", "7", "x"}))
	case 72:
		return cat("XGROUP", "CREATE", k, g.pick([]string{"g1", "g2"}), g.pick([]string{"0", "$", "3-0"}), opt("MKSTREAM"))
	case 73:
		return cat("XGROUP", g.pick([]string{"DESTROY", "SETID"}), k, g.pick([]string{"g1", "g2"}), g.pick([]string{"0", "$"}))
	case 74:
		return cat("XGROUP", g.pick([]string{"CREATECONSUMER", "DELCONSUMER"}), k, "g1", g.pick([]string{"alice", "bob"}))
	case 75:
		return cat("XCLAIM", k, "g1", g.pick([]string{"alice", "bob"}), "0", g.id(), "TIME", "1700000000000", "RETRYCOUNT", "2", "FORCE", "JUSTID")
	case 76:
		return cat("XACK", k, "g1", g.id())
	case 77:
		return cat("XSETID", k, g.id(), opt("ENTRIESADDED"), opt("100"))
	// bits
	case 78, 79:
		return cat("SETBIT", k, g.pick([]string{"0", "7", "100", "-1", "x"}), g.pick([]string{"0", "1", "2"}))
	case 80, 81:
		return cat("BITFIELD", k, opt("OVERFLOW"), g.pick([]string{"WRAP", "SAT", "FAIL"}),
			g.pick([]string{"SET", "INCRBY", "GET"}), g.pick([]string{"u8", "i5", "i64", "u63", "u64", "i8"}),
			g.pick([]string{"0", "#1", "13", "-1"}), g.pick([]string{"100", "-100", "255", "9223372036854775807", "1"}))
	case 82:
		return cat("BITOP", g.pick([]string{"AND", "OR", "XOR", "NOT"}), g.key(), k, opt(k2))
	// hyperloglog
	case 83, 84, 85, 86:
		var els []string
		for range g.r.IntN(40) {
			els = append(els, strconv.Itoa(g.r.IntN(3000)))
		}
		return cat("PFADD", k, els)
	case 87:
		return cat("PFMERGE", g.key(), k, k2)
	case 88:
		return cat("PFCOUNT", k)
	case 89:
		return cat("PFDEBUG", "TODENSE", k)
	// geo (STOREDIST distances can differ from glibc's in the last bit, so
	// only the geohash-score forms are compared)
	case 90, 91:
		var triples []string
		for range 1 + g.r.IntN(3) {
			triples = append(triples, strconv.FormatFloat(13+g.r.Float64(), 'f', 6, 64),
				strconv.FormatFloat(38+g.r.Float64(), 'f', 6, 64), g.mem())
		}
		if g.r.IntN(10) == 0 {
			triples = []string{"200", "10", "bad"}
		}
		return cat("GEOADD", k, opt("NX", "XX", "CH"), triples)
	case 92:
		return cat("GEORADIUS", k, "13.5", "38.5", g.pick([]string{"10", "50", "100"}), "km",
			pickL(g, [][]string{nil, {"COUNT", "2"}, {"COUNT", "1", "DESC"}, {"ASC"}}), "STORE", g.key())
	case 93:
		return cat("GEORADIUSBYMEMBER", k, g.mem(), g.pick([]string{"20", "80"}), g.pick([]string{"km", "mi"}), "STORE", g.key())
	case 94:
		return cat("GEOSEARCHSTORE", g.key(), k,
			pickL(g, [][]string{{"FROMMEMBER", g.mem()}, {"FROMLONLAT", "13.4", "38.6"}}),
			pickL(g, [][]string{{"BYRADIUS", "60", "km"}, {"BYBOX", "100", "60", "km"}, {"BYBOX", "40", "90", "mi"}}),
			pickL(g, [][]string{nil, {"COUNT", "2"}, {"DESC", "COUNT", "3"}}))
	case 95, 96:
		return cat("SORT", k, pickL(g, [][]string{nil, {"BY", "nosort"}, {"BY", "w_*"}, {"BY", "h->f"}, {"BY", "k*->a"}}),
			pickL(g, [][]string{nil, {"LIMIT", "1", "2"}, {"LIMIT", "0", "-1"}, {"LIMIT", "5", "1"}}),
			pickL(g, [][]string{nil, {"GET", "#"}, {"GET", "k*", "GET", "#"}}), opt("DESC"), opt("ALPHA"), "STORE", g.key())
	case 97:
		return cat("MSET", "w_a", g.val(), "w_1", g.val(), "w_b", "1.5")
	default:
		return cat("SET", k, g.val())
	}
}

// digestMismatch explains a digest difference key by key.
func digestMismatch(t *testing.T, srv *redistest.Server, s *Store, opt DigestOptions) string {
	var b strings.Builder
	orig := s.CurDB
	defer srv.Do("SELECT", strconv.Itoa(orig))
	for db := 0; db < 2; db++ {
		srv.Do("SELECT", strconv.Itoa(db))
		r, _ := srv.Do("KEYS", "*")
		for _, k := range r.Array {
			typ, _ := srv.Do("TYPE", string(k.Str))
			if string(typ.Str) == "hash" {
				v, _ := srv.Do("HGETALL", string(k.Str))
				fmt.Fprintf(&b, "\n  db%d hash %q: %v", db, k.Str, v)
			}
		}
		keys := map[string]bool{}
		for _, k := range r.Array {
			keys[string(k.Str)] = true
		}
		for k := range s.DBs[db].Keys {
			keys[k] = true
		}
		for k := range keys {
			dv, _ := srv.Do("DEBUG", "DIGEST-VALUE", k)
			want := ""
			if len(dv.Array) == 1 {
				want = string(dv.Array[0].Str)
			}
			got := DigestValue([]byte(k), s.DBs[db].Keys[k], opt)
			if hex.EncodeToString(got[:]) != want {
				typ, _ := srv.Do("TYPE", k)
				dump := ""
				if o := s.DBs[db].Keys[k]; o != nil {
					dump = fmt.Sprintf("%s str=%q list=%q set=%v zset=%v", o.Kind, o.Str, o.List, o.Set, o.ZSet)
					if o.Hash != nil {
						for f, v := range o.Hash {
							dump += fmt.Sprintf(" %s=%q", f, v.Value)
						}
					}
				}
				fmt.Fprintf(&b, "\n  db%d %q: server type %s digest %s, ours %x (%s)", db, k, typ.Str, want, got, dump)
				if string(typ.Str) == "zset" {
					v, _ := srv.Do("ZRANGE", k, "0", "-1", "WITHSCORES")
					fmt.Fprintf(&b, "\n    server zset %v", v)
				}
				if string(typ.Str) == "list" {
					v, _ := srv.Do("LRANGE", k, "0", "-1")
					fmt.Fprintf(&b, "\n    server list %v", v)
				}
				if string(typ.Str) == "string" {
					v, _ := srv.Do("GET", k)
					fmt.Fprintf(&b, "\n    server value %q", v.Str)
				}
			}
		}
	}
	return b.String()
}

// TestApplyDifferential runs random commands against a real redis-server
// and through Apply, and requires the same accept/reject decision for every
// command and the same DEBUG DIGEST after it.
func TestApplyDifferential(t *testing.T) {
	srv := redistest.Start(t, nil)
	ver := srv.Version()
	opt := DigestOptions{RedisVersion: ver}
	okCount := map[string]int{}
	defer func() {
		t.Logf("RESTORE ok %d, FUNCTION RESTORE ok %d", okCount["RESTORE "+"k1"]+okCount["RESTORE k2"]+okCount["RESTORE k3"]+okCount["RESTORE k4"], okCount["FUNCTION RESTORE"])
	}()
	seeds := uint64(6)
	if n, err := strconv.ParseUint(os.Getenv("KEYSPACE_DIFF_SEEDS"), 10, 64); err == nil {
		seeds = n // e.g. KEYSPACE_DIFF_SEEDS=100 for a longer hunt
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		srv.Do("FLUSHALL")
		srv.Do("FUNCTION", "FLUSH")
		srv.Do("SELECT", "0")
		s := New(time.Now().UnixMilli())
		g := &cmdGen{r: rand.New(rand.NewPCG(seed, 42))}
		for i := 0; i < 1500; i++ {
			cmd := g.next()
			args := make([][]byte, len(cmd))
			for j, a := range cmd {
				args[j] = []byte(a)
			}
			switch g.r.IntN(40) {
			case 0: // RESTORE a DUMP made by the server
				d, err := srv.Do("DUMP", g.key())
				if err == nil && !d.Nil {
					args = [][]byte{[]byte("RESTORE"), []byte(g.key()), []byte(g.pick([]string{"0", "100000"})), d.Str}
					if g.r.IntN(2) == 0 {
						args = append(args, []byte("REPLACE"))
					}
					cmd = []string{"RESTORE", string(args[1]), string(args[2]), "<payload>"}
				}
			case 1: // functions: LOAD, then DUMP/FLUSH/RESTORE round trips
				lib := g.pick([]string{"l1", "l2"})
				code := "#!lua name=" + lib + "\nredis.register_function('f" + lib + "', function() return 1 end)"
				args = [][]byte{[]byte("FUNCTION"), []byte("LOAD"), []byte(code)}
				if g.r.IntN(2) == 0 {
					args = [][]byte{[]byte("FUNCTION"), []byte("LOAD"), []byte("REPLACE"), []byte(code)}
				}
				if g.r.IntN(3) == 0 {
					d, err := srv.Do("FUNCTION", "DUMP")
					if err != nil {
						t.Fatal(err)
					}
					args = [][]byte{[]byte("FUNCTION"), []byte("RESTORE"), d.Str, []byte(g.pick([]string{"APPEND", "REPLACE", "FLUSH"}))}
				}
				if g.r.IntN(5) == 0 {
					args = [][]byte{[]byte("FUNCTION"), []byte(g.pick([]string{"FLUSH", "DELETE"})), []byte(lib)}
					if string(args[1]) == "FLUSH" {
						args = args[:2]
					}
				}
				cmd = []string{string(args[0]), string(args[1])}
			}
			if cmd[0] == "SORT" {
				// Ties keep a set's or zset's hash-table iteration order:
				// not reproducible.
				if typ, _ := srv.Do("TYPE", cmd[1]); string(typ.Str) == "set" || string(typ.Str) == "zset" {
					continue
				}
			}
			_, srvErr := srv.DoBytes(args...)
			var re *redistest.ReplyError
			if srvErr != nil && !errors.As(srvErr, &re) {
				t.Fatalf("server: %v", srvErr)
			}
			ourErr := s.Apply(args)
			if srvErr == nil && len(cmd) > 1 {
				okCount[cmd[0]+" "+cmd[1]]++
			}
			if (srvErr != nil) != (ourErr != nil) {
				t.Errorf("seed %d #%d %q: server err %v, ours %v", seed, i, cmd, srvErr, ourErr)
			}
			want, err := srv.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if fl, err := srv.Do("FUNCTION", "LIST"); err == nil && len(fl.Array) != len(s.Functions) {
				t.Fatalf("seed %d #%d after %q: %d libraries, server %d", seed, i, cmd, len(s.Functions), len(fl.Array))
			}
			got := s.Digest(opt)
			if hex.EncodeToString(got[:]) != want {
				t.Fatalf("seed %d #%d after %q: digest %x, server %s%s", seed, i, cmd, got, want, digestMismatch(t, srv, s, opt))
			}
			if i%500 == 499 {
				compareStreams(t, srv, s, fmt.Sprintf("seed %d #%d", seed, i))
			}
		}
	}
}

// TestAOFDifferential writes random commands (including the ones AOFs
// translate: SPOP, XADD *, INCRBYFLOAT, GETEX ...) to a server with
// appendonly yes, then replays its appendonlydir and compares digests.
func TestAOFDifferential(t *testing.T) {
	for _, preamble := range []string{"no", "yes", "no-timestamps"} {
		t.Run("preamble="+preamble, func(t *testing.T) {
			args := []string{"--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble}
			if preamble == "no-timestamps" {
				args = []string{"--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "no", "--aof-timestamp-enabled", "yes"}
			}
			srv := redistest.Start(t, &redistest.Options{Args: args})
			ver := srv.Version()
			seed := uint64(7)
			if n, err := strconv.ParseUint(os.Getenv("KEYSPACE_AOF_SEED"), 10, 64); err == nil {
				seed = n
			}
			g := &cmdGen{r: rand.New(rand.NewPCG(seed, 7))}
			for i := 0; i < 10000; i++ {
				cmd := g.next()
				if i == 5000 {
					srv.Do("EXEC")
					srv.RewriteAOF()
				}
				switch g.r.IntN(80) {
				case 5:
					cmd = cat("EVAL", "redis.call('INCR', KEYS[1]); redis.call('RPUSH', KEYS[2], 'x'); return 1", "2", g.key(), g.key())
				case 6:
					cmd = cat("XAUTOCLAIM", g.key(), "g1", "bob", "0", "0-0", "COUNT", "2")
				case 7:
					cmd = cat(g.pick([]string{"BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"}), g.key(), "0.01")
				case 8:
					cmd = cat("BLMOVE", g.key(), g.key(), "LEFT", "RIGHT", "0.01")
				case 9:
					cmd = cat("BLMPOP", "0.01", "2", g.key(), g.key(), "RIGHT", "COUNT", "2")
				case 10:
					cmd = cat(g.pick([]string{"EXPIRE", "PEXPIRE"}), g.key(), "-5")
				case 11:
					cmd = cat("GETEX", g.key(), "EXAT", "1")
				case 12:
					cmd = cat("SET", g.key(), g.val(), "EX", "100000", "GET")
				case 13:
					cmd = cat("BZMPOP", "0.01", "1", g.key(), "MAX", "COUNT", "3")
				case 0:
					cmd = cat("SPOP", g.key(), opt1(g, "1", "2"))
				case 1:
					cmd = cat("XADD", g.key(), "*", "f", "v")
				case 2:
					cmd = cat("MULTI")
				case 3:
					cmd = cat("EXEC")
				case 4:
					cmd = cat("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", g.key(), ">")
				}
				if cmd[0] == "BITFIELD" && slices.Contains(cmd, "FAIL") {
					// A failed OVERFLOW FAIL write still creates or grows
					// the string but is not propagated: the server's AOF
					// then lacks what its keyspace has.
					continue
				}
				if cmd[0] == "SORT" {
					// Redis itself replicates SORT ties over sets and zsets
					// nondeterministically (hash-table order).
					if typ, _ := srv.Do("TYPE", cmd[1]); string(typ.Str) == "set" || string(typ.Str) == "zset" {
						continue
					}
				}
				srv.Do(cmd...)
				if i%1000 == 999 {
					check(t, srv, ver, fmt.Sprintf("after %d commands", i+1))
				}
			}
			check(t, srv, ver, "end")
		})
	}
}

func pickL(g *cmdGen, l [][]string) []string { return l[g.r.IntN(len(l))] }

func opt1(g *cmdGen, opts ...string) []string {
	if g.r.IntN(2) == 0 {
		return nil
	}
	return []string{g.pick(opts)}
}

// check closes any open MULTI, replays the server's appendonlydir and
// compares digests.
func check(t *testing.T, srv *redistest.Server, ver, when string) {
	t.Helper()
	srv.Do("EXEC")
	want, err := srv.Digest()
	if err != nil {
		t.Fatal(err)
	}
	s := New(0)
	res, err := ReplayAOF(context.Background(), filepath.Join(srv.Dir(), "appendonlydir"), s, &ReplayOptions{Strict: true})
	if err != nil {
		t.Fatalf("%s: replay: %v", when, err)
	}
	if res.Truncated {
		t.Fatalf("%s: truncated at %d", when, res.TruncatedAt)
	}
	s.NowMs = time.Now().UnixMilli()
	got := s.Digest(DigestOptions{RedisVersion: ver})
	if hex.EncodeToString(got[:]) != want {
		t.Fatalf("%s: digest %x, server %s (%d commands)%s", when, got, want, res.Commands, digestMismatch(t, srv, s, DigestOptions{RedisVersion: ver}))
	}
	compareStreams(t, srv, s, when)
	if when == "end" {
		t.Logf("%d files, %d commands replayed, %d keys", len(res.Files), res.Commands, s.Len())
	}
}

// compareStreams checks stream metadata and consumer groups, which the
// digest skips, against the server's own SAVE.
func compareStreams(t *testing.T, srv *redistest.Server, s *Store, when string) {
	t.Helper()
	f, err := os.Open(srv.Save())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := New(0)
	if err := LoadRDB(context.Background(), f, r, nil); err != nil {
		t.Fatalf("%s: SAVE: %v", when, err)
	}
	for db, d := range r.DBs {
		for k, o := range d.Keys {
			if o.Kind == rdb.KindStream {
				if diff := streamMetaDiff(o.Stream, s.DBs[db].Keys[k]); diff != "" {
					t.Fatalf("%s: db%d %q: %s", when, db, k, diff)
				}
			}
		}
	}
}
