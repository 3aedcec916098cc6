package keyspace

import (
	"errors"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

// argv splits a command line on spaces; a token of two single quotes
// stands for an empty argument.
func argv(line string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(line) {
		if f == "''" {
			f = ""
		}
		out = append(out, []byte(f))
	}
	return out
}

// mustApply runs each line and fails on any error.
func mustApply(t *testing.T, s *Store, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := s.Apply(argv(l)); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
}

func str(t *testing.T, s *Store, key string) string {
	t.Helper()
	o := s.db().Keys[key]
	if o == nil {
		return "<nil>"
	}
	if o.Kind != rdb.KindString {
		t.Fatalf("%s is a %s", key, o.Kind)
	}
	return string(o.Str)
}

func list(s *Store, key string) string {
	o := s.db().Keys[key]
	if o == nil {
		return "<nil>"
	}
	parts := make([]string, len(o.List))
	for i, e := range o.List {
		parts[i] = string(e)
	}
	return strings.Join(parts, ",")
}

func zset(s *Store, key string) string {
	o := s.db().Keys[key]
	if o == nil {
		return "<nil>"
	}
	var parts []string
	for _, e := range sortedZ(o.ZSet) {
		parts = append(parts, e.member+"="+string(scoreText(nil, e.score, digestRules{fpconv: true})))
	}
	return strings.Join(parts, ",")
}

func members(s *Store, key string) string {
	o := s.db().Keys[key]
	if o == nil {
		return "<nil>"
	}
	return strings.Join(sortedKeys(o.Set), ",")
}

func TestApplyErrors(t *testing.T) {
	s := New(1000)
	mustApply(t, s, "SET s 1", "RPUSH l a", "SADD st a", "ZADD z 1 a", "HSET h f v", "XADD x 1-1 f v", "SET n 007")
	cases := []struct {
		line string
		want error
	}{
		{"NOSUCH a", ErrUnknownCommand},
		{"SET a", ErrArity},
		{"GET", ErrArity},
		{"SET a b NX XX", ErrSyntax},
		{"SET a b EX 10 PX 10", ErrSyntax},
		{"SET a b KEEPTTL EX 10", ErrSyntax},
		{"SET a b EX 0", errInvalidExpire},
		{"SET a b EX x", ErrNotInteger},
		{"SET l v GET", ErrWrongType},
		{"INCR l", ErrWrongType},
		{"INCR n", ErrNotInteger},
		{"INCRBY s 9223372036854775807", ErrOverflow},
		{"INCRBY s +1", ErrNotInteger},
		{"DECRBY s -9223372036854775808", ErrOverflow},
		{"INCRBYFLOAT s inf", ErrNotFloat},
		{"APPEND l x", ErrWrongType},
		{"SETRANGE s -1 x", ErrOutOfRange},
		{"SETRANGE s 536870912 x", errStringTooLong},
		{"LPUSH s a", ErrWrongType},
		{"LSET l 5 x", ErrOutOfRange},
		{"LSET nokey 0 x", ErrNoSuchKey},
		{"LINSERT l MIDDLE a b", ErrSyntax},
		{"LPOP l -1", ErrOutOfRange},
		{"LMOVE l s LEFT RIGHT", ErrWrongType},
		{"LMOVE l l2 UP DOWN", ErrSyntax},
		{"SADD l a", ErrWrongType},
		{"SINTERSTORE d st l", ErrWrongType},
		{"ZADD z NX XX 1 a", errZAddXXNX},
		{"ZADD z GT LT 1 a", errZAddFlags},
		{"ZADD z INCR 1 a 2 b", errZAddIncr},
		{"ZADD z x a", ErrNotFloat},
		{"ZADD z 1", ErrArity},
		{"ZADD z INCR inf a", nil},
		{"ZADD z INCR -inf a", errScoreNaN},
		{"ZINCRBY s 1 a", ErrWrongType},
		{"ZREMRANGEBYSCORE z x 1", errMinMax},
		{"ZREMRANGEBYLEX z a b", errLexRange},
		{"ZUNIONSTORE d 2 z s", ErrWrongType},
		{"ZUNIONSTORE d 0 z", ErrSyntax},
		{"ZUNIONSTORE d 1 z WEIGHTS x", errWeights},
		{"ZUNIONSTORE d 1 z AGGREGATE AVG", ErrSyntax},
		{"HSET h f", ErrArity},
		{"HSET s f v", ErrWrongType},
		{"HINCRBY h f 1", errHashNotInteger},
		{"HPERSIST h FIELDS 2 f", errNumFields},
		{"HPERSIST h f", ErrArity},
		{"HPERSIST h NOTFIELDS 1 f", errFieldsKeyword},
		{"XADD x 1-1 f v", errXAddSmaller},
		{"XADD y 0-0 f v", errXAddZero},
		{"XADD x 2-1 f", ErrArity},
		{"XADD x abc f v", errStreamID},
		{"XADD s 5-1 f v", ErrWrongType},
		{"XGROUP CREATE nokey g 0", errXGroupNoStream},
		{"XGROUP CREATE x g 0", nil},
		{"XGROUP CREATE x g 0", errBusyGroup},
		{"XGROUP NOPE x g", ErrUnknownCommand},
		{"XCLAIM x nog c 0 1-1", errNoGroup},
		{"XSETID nokey 5-0", ErrNoSuchKey},
		{"XSETID x 0-5", errXSetIDSmaller},
		{"SETBIT s -1 1", errBitOffset},
		{"SETBIT s 1 2", errBitValue},
		{"BITFIELD s GET u64 0", errBitType},
		{"BITFIELD s SET i8", ErrSyntax},
		{"BITOP NOT d s s", errBitOpNot},
		{"BITOP NAND d s", ErrSyntax},
		{"PFADD s a", errInvalidHLL},
		{"PFADD l a", ErrWrongType},
		{"RENAME nokey x", ErrNoSuchKey},
		{"MOVE s 0", errSameObject},
		{"MOVE s 16", ErrDBIndex},
		{"COPY s s", errSameObject},
		{"SELECT 16", ErrDBIndex},
		{"SELECT x", ErrNotInteger},
		{"EXPIRE s 10 NX XX", errExpireOptions},
		{"EXPIRE s 9223372036854775807", errInvalidExpire},
		{"FLUSHALL NOW", ErrSyntax},
		{"FUNCTION DELETE nolib", errNoSuchLibrary},
		{"FUNCTION LOAD code", ErrFunctionHeader},
		{"FCALL f 0", ErrUnsupported},
		{"EXEC", ErrExecWithout},
		{"SPOP st 0", nil},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			err := s.Apply(argv(c.line))
			if c.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Name != strings.ToUpper(strings.Fields(c.line)[0]) || ce.Offset != -1 {
				t.Fatalf("error %#v is not a *CommandError for this command", err)
			}
		})
	}
	// Nothing above may have changed the original keys' types.
	for k, kind := range map[string]rdb.Kind{"s": rdb.KindString, "l": rdb.KindList, "st": rdb.KindSet, "z": rdb.KindZSet, "h": rdb.KindHash, "x": rdb.KindStream} {
		if o := s.DBs[0].Keys[k]; o == nil || o.Kind != kind {
			t.Errorf("key %s changed: %+v", k, o)
		}
	}
}

func TestApplyStrings(t *testing.T) {
	s := New(1_000_000)
	mustApply(t, s,
		"set a v1", "SET a v2 GET", "SET nx n NX", "SET nx n2 NX", "SET xx x XX",
		"SET ex v EX 100", "SET ex v2 KEEPTTL", "SET pxat v PXAT 4102444800123",
		"INCR c", "INCRBY c 10", "DECR c", "DECRBY c 3",
		"INCRBYFLOAT f 1.5", "INCRBYFLOAT f -0.25", "INCRBYFLOAT g 0.1", "INCRBYFLOAT g 0.2",
		"APPEND app hello", "APPEND app _world", "SETRANGE app 6 WORLD", "SETRANGE rng 3 pad", "SETRANGE none 3 ''",
		"MSET m1 1 m2 2", "MSETNX m2 x m3 3", "SETEX se 100 v", "PSETEX pse 100 v", "SETNX a no",
		"GETSET gs old", "GETSET gs new", "SET gd v", "GETDEL gd", "GETEX ex PERSIST", "GETEX pse PXAT 5000000",
	)
	for k, want := range map[string]string{
		"a": "v2", "nx": "n", "xx": "<nil>", "ex": "v2", "c": "7", "f": "1.25", "g": "0.3",
		"app": "hello_WORLD", "rng": "\x00\x00\x00pad", "none": "<nil>", "m2": "2", "m3": "<nil>",
		"gs": "new", "gd": "<nil>",
	} {
		if got := str(t, s, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	db := s.DBs[0].Keys
	for k, want := range map[string]int64{
		"a": rdb.NoExpire, "ex": rdb.NoExpire, "pxat": 4102444800123, "se": 1_000_000 + 100_000,
		"pse": 5000000,
	} {
		if got := db[k].ExpireAtMs; got != want {
			t.Errorf("%s expire %d, want %d", k, got, want)
		}
	}
	// SET without KEEPTTL drops the TTL; APPEND and INCR keep it.
	mustApply(t, s, "SET t 1 PX 50", "INCR t", "APPEND t 0")
	if db["t"].ExpireAtMs != 1_000_050 || str(t, s, "t") != "20" {
		t.Errorf("t = %q exp %d", db["t"].Str, db["t"].ExpireAtMs)
	}
	mustApply(t, s, "SET t x")
	if db["t"].HasTTL() {
		t.Errorf("SET kept the TTL")
	}
}

func TestApplyKeys(t *testing.T) {
	s := New(5000)
	mustApply(t, s,
		"SET a 1", "SET b 2", "SET c 3", "DEL a nokey", "UNLINK b",
		"SET e 1", "EXPIRE e 10", "PEXPIRE e 20 GT", "PEXPIRE e 5 GT", "EXPIRE e 100 NX",
		"SET p 1", "PEXPIREAT p 1", "SET q 1", "EXPIRE q 10", "PERSIST q",
		"SET r 1", "EXPIRE r 10", "RENAME r r2", "SET n1 1", "SET n2 2", "RENAMENX n1 n2",
		"SET mv 1", "MOVE mv 3", "RPUSH cp a b", "COPY cp cp2", "RPUSH cp c", "COPY cp cp3 DB 2",
	)
	db := s.DBs[0].Keys
	if db["a"] != nil || db["b"] != nil || db["c"] == nil {
		t.Errorf("DEL/UNLINK wrong")
	}
	if db["e"].ExpireAtMs != 15000 { // GT and NX skipped
		t.Errorf("e expire %d", db["e"].ExpireAtMs)
	}
	// A loading server keeps keys whose PEXPIREAT is in the past.
	if db["p"] == nil || db["p"].ExpireAtMs != 1 {
		t.Errorf("p = %+v", db["p"])
	}
	if db["q"].HasTTL() {
		t.Errorf("PERSIST failed")
	}
	if db["r"] != nil || db["r2"].ExpireAtMs != 15000 {
		t.Errorf("RENAME must carry the TTL")
	}
	if str(t, s, "n1") != "1" || str(t, s, "n2") != "2" {
		t.Errorf("RENAMENX overwrote")
	}
	if db["mv"] != nil || s.DBs[3].Keys["mv"] == nil {
		t.Errorf("MOVE failed")
	}
	if list(s, "cp2") != "a,b" || list(s, "cp") != "a,b,c" || s.DBs[2].Keys["cp3"] == nil {
		t.Errorf("COPY must deep-copy: cp2=%s", list(s, "cp2"))
	}
	mustApply(t, s, "SELECT 3", "SET x 1", "SWAPDB 0 3", "FLUSHDB")
	if len(s.DBs[3].Keys) != 0 || s.DBs[0].Keys["mv"] == nil || s.CurDB != 3 {
		t.Errorf("SWAPDB/FLUSHDB wrong")
	}
	if err := s.Apply([][]byte{[]byte("FUNCTION"), []byte("LOAD"), []byte("#!lua name=x\n")}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, "FLUSHALL")
	if s.Len() != 0 || len(s.Functions) != 1 {
		t.Errorf("FLUSHALL must empty every db and keep functions")
	}
}

func TestApplyLists(t *testing.T) {
	s := New(0)
	mustApply(t, s,
		"LPUSH l c b a", "RPUSH l d e f g", "RPOP l", "LPOP l", "LINSERT l BEFORE d cc",
		"LSET l 0 B", "LSET l -1 F", "LMOVE l l2 LEFT RIGHT", "RPOPLPUSH l l2", "LPUSHX nokey a",
		"RPUSH r 1 2 1 3 1", "LREM r -1 1", "LREM r 0 2", "RPUSH t 1 2 3 4 5", "LTRIM t 1 -2",
		"RPUSH p 1 2 3", "LPOP p 2", "RPOP p 5", "RPUSH rot a b c", "LMOVE rot rot RIGHT LEFT",
		"LMPOP 2 none rot LEFT COUNT 2",
	)
	for k, want := range map[string]string{
		"l": "c,cc,d,e", "l2": "F,B", "nokey": "<nil>", "r": "1,1,3", "t": "2,3,4", "p": "<nil>", "rot": "b",
	} {
		if got := list(s, k); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
}

// TestApplyPops: the blocking and multi-key pops, which a server writes to
// its AOF as plain pops, but a hand-made AOF may hold: each pops from the
// side its name says, from the first non-empty key, and never blocks.
func TestApplyPops(t *testing.T) {
	s := New(0)
	mustApply(t, s,
		"RPUSH a 1 2 3 4 5 6 7", "BLPOP none a 0", "BLPOP a 0", "BRPOP a none 0", "BLMPOP 0.5 2 none a LEFT COUNT 2",
		"LMPOP 1 a RIGHT", "RPUSH b x", "BLPOP none2 0", "RPUSH c 1 2 3 4", "LPOP c", "LPOP c", "RPOP c",
		"ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g", "BZPOPMIN none z 0", "BZPOPMIN z 0", "BZPOPMAX z 0", "BZMPOP 0 1 z MIN COUNT 2",
		"ZMPOP 2 none z MAX", "ZADD y 1 a 2 b 3 c 4 d", "ZPOPMIN y", "ZPOPMIN y", "ZPOPMAX y",
	)
	if got := list(s, "a"); got != "5" {
		t.Errorf("a = %s, want 5", got)
	}
	if got := zset(s, "z"); got != "e=5" {
		t.Errorf("z = %s, want e=5", got)
	}
	if got, gotY := list(s, "c"), zset(s, "y"); got != "3" || gotY != "c=3" {
		t.Errorf("c = %s, y = %s, want 3 and c=3", got, gotY)
	}
	for _, c := range []struct {
		cmd  string
		want error
	}{
		{"BLPOP b x", ErrNotFloat}, {"BLMPOP 0 1 b UP", ErrSyntax}, {"BZMPOP 0 1 z MIN COUNT 0", ErrOutOfRange},
		{"BZPOPMIN b 0", ErrWrongType},
	} {
		if err := s.Apply(argv(c.cmd)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.cmd, err, c.want)
		}
	}
}

func TestApplySets(t *testing.T) {
	s := New(0)
	mustApply(t, s,
		"SADD a 1 2 3 x", "SADD b 2 3 y", "SREM a 1", "SMOVE a b x", "SINTERSTORE i a b",
		"SUNIONSTORE u a b", "SDIFFSTORE d b a", "SINTERSTORE e a none", "SADD one m", "SPOP one",
		"SADD big 1 2 3", "SPOP big 10",
	)
	for k, want := range map[string]string{
		"a": "2,3", "b": "2,3,x,y", "i": "2,3", "u": "2,3,x,y", "d": "x,y", "e": "<nil>", "one": "<nil>", "big": "<nil>",
	} {
		if got := members(s, k); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	mustApply(t, s, "SADD r 1 2 3")
	if err := s.Apply(argv("SPOP r")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("random SPOP: %v", err)
	}
}

func TestApplyZSets(t *testing.T) {
	s := New(0)
	mustApply(t, s,
		"ZADD z 1 one 2 two 3 three", "ZADD z NX 10 one 4 four", "ZADD z XX 20 two 5 five",
		"ZADD z GT 1 three", "ZADD z LT 0.5 three", "ZADD z INCR 2.5 four", "ZINCRBY z -1 one",
		"ZADD z2 1 one 7 seven", "ZUNIONSTORE zu 2 z z2 WEIGHTS 1 2 AGGREGATE MAX", "ZINTERSTORE zi 2 z z2",
		"ZREMRANGEBYSCORE z -inf (1", "ZPOPMIN z2", "SADD s one x", "ZUNIONSTORE mix 2 z2 s",
		"ZADD r 1 a 2 b 3 c 4 d", "ZREMRANGEBYRANK r 0 1", "ZADD lx 0 a 0 b 0 c 0 d", "ZREMRANGEBYLEX lx [b (d",
		"ZADD p 1 a 2 b 3 c", "ZPOPMAX p 2", "ZRANGESTORE rs r 0 0", "ZDIFFSTORE zd 2 z r",
		"ZADD w 1 a 2 b", "ZADD w2 3 b", "ZINTERSTORE wi 2 w w2 WEIGHTS 2 0.5 AGGREGATE SUM",
	)
	for k, want := range map[string]string{
		"z":  "four=6.5,two=20",
		"zu": "three=0.5,one=2,four=6.5,seven=14,two=20",
		"zi": "one=1",
		"z2": "seven=7", "mix": "one=1,x=1,seven=7", "r": "c=3,d=4", "lx": "a=0,d=0", "p": "a=1", "rs": "c=3",
		"zd": "four=6.5,two=20", "wi": "b=5.5",
	} {
		if got := zset(s, k); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
}

func TestApplyHashes(t *testing.T) {
	s := New(1000)
	mustApply(t, s,
		"HSET h f1 v1 f2 v2 n 1 fl 1.5", "HDEL h f2", "HINCRBY h n 41", "HINCRBYFLOAT h fl 0.1",
		"HSETNX h f1 no", "HMSET h a 1 b 2", "HPEXPIREAT h 4102444800123 FIELDS 2 a nofield",
		"HEXPIRE h 100 NX FIELDS 1 b", "HEXPIRE h 200 NX FIELDS 1 b", "HSET d only x", "HDEL d only",
	)
	h := s.DBs[0].Keys["h"].Hash
	for f, want := range map[string]string{"f1": "v1", "n": "42", "fl": "1.6", "a": "1"} {
		if got := string(h[f].Value); got != want {
			t.Errorf("%s = %s, want %s", f, got, want)
		}
	}
	if h["f2"] != nil || s.DBs[0].Keys["d"] != nil {
		t.Errorf("HDEL failed")
	}
	if h["a"].ExpireAtMs != 4102444800123 || h["b"].ExpireAtMs != 101000 {
		t.Errorf("field TTLs %d %d", h["a"].ExpireAtMs, h["b"].ExpireAtMs)
	}
	mustApply(t, s, "HPERSIST h FIELDS 1 a", "HSET h b new")
	if h["a"].ExpireAtMs != 0 || h["b"].ExpireAtMs != 0 {
		t.Errorf("HPERSIST/HSET must clear field TTLs")
	}
}

func TestApplyStreams(t *testing.T) {
	s := New(0)
	mustApply(t, s,
		"XADD x 1-1 f v", "XADD x 2-1 f v2", "XADD x 2-2 f v3", "XADD x * f auto", "XDEL x 2-1",
		"XGROUP CREATE x grp 0", "XCLAIM x grp cons 0 1-1 TIME 1700000000000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
		"XCLAIM x grp cons 0 2-2 TIME 1700000000001 RETRYCOUNT 1 FORCE JUSTID LASTID 2-2",
		"XACK x grp 1-1", "XTRIM x MAXLEN 2", "XADD x MAXLEN = 2 3-* g w",
		"XGROUP CREATE e g2 $ MKSTREAM", "XSETID e 5-5 ENTRIESADDED 3 MAXDELETEDID 5-5",
		"XGROUP CREATECONSUMER x grp bob", "XGROUP SETID x grp $ ENTRIESREAD 4",
	)
	st := s.DBs[0].Keys["x"].Stream
	var ids []string
	for _, e := range st.Entries {
		ids = append(ids, formatID(e.ID))
	}
	if got := strings.Join(ids, ","); got != "2-3,3-0" {
		t.Errorf("entries %s", got)
	}
	if st.LastID != (rdb.StreamID{Ms: 3}) || st.EntriesAdded != 5 || st.MaxDeletedID != (rdb.StreamID{Ms: 2, Seq: 1}) || st.FirstID != (rdb.StreamID{Ms: 2, Seq: 3}) {
		t.Errorf("meta %+v", st)
	}
	g := st.Groups[0]
	if len(g.PEL) != 1 || formatID(g.PEL[0].ID) != "2-2" || string(g.PEL[0].Consumer) != "cons" || g.PEL[0].DeliveryTimeMs != 1700000000001 {
		t.Errorf("PEL %+v", g.PEL)
	}
	if len(g.Consumers) != 2 || g.LastID != st.LastID || g.EntriesRead != 4 {
		t.Errorf("group %+v", g)
	}
	e := s.DBs[0].Keys["e"].Stream
	if len(e.Entries) != 0 || e.LastID != (rdb.StreamID{Ms: 5, Seq: 5}) || e.EntriesAdded != 3 || len(e.Groups) != 1 {
		t.Errorf("empty stream %+v", e)
	}
	// The deleted entry's claim drops it from the PEL, as Redis does.
	mustApply(t, s, "XDEL x 2-2", "XCLAIM x grp bob 0 2-2 FORCE JUSTID")
	if len(st.Groups[0].PEL) != 0 {
		t.Errorf("PEL after claiming a deleted entry: %+v", st.Groups[0].PEL)
	}
}

func TestApplyBits(t *testing.T) {
	s := New(0)
	mustApply(t, s,
		"SETBIT b 7 1", "SETBIT b 100 1", "SETBIT b 7 0", "SETBIT b 0 1",
		"BITFIELD bf SET u8 0 255 INCRBY i5 100 1 GET u4 0", "BITOP OR o b bf", "BITOP NOT n bf",
		"BITFIELD sat OVERFLOW SAT INCRBY u4 0 100", "BITFIELD fail OVERFLOW FAIL INCRBY i4 0 100",
		"BITFIELD wrap INCRBY i8 0 200", "BITOP AND none x y",
	)
	if got := str(t, s, "b"); got != "\x80"+strings.Repeat("\x00", 11)+"\x08" {
		t.Errorf("b = %q", got)
	}
	if got := str(t, s, "bf"); got != "\xff"+strings.Repeat("\x00", 12)+"\x80" {
		t.Errorf("bf = %q", got)
	}
	if got := str(t, s, "n"); got != "\x00"+strings.Repeat("\xff", 12)+"\x7f" {
		t.Errorf("n = %q", got)
	}
	if got := str(t, s, "sat"); got != "\xf0" {
		t.Errorf("sat = %q", got)
	}
	if got := str(t, s, "fail"); got != "\x00" {
		t.Errorf("fail = %q (the string grows even when the write fails)", got)
	}
	if got := str(t, s, "wrap"); got != "\xc8" {
		t.Errorf("wrap = %q", got)
	}
	if s.DBs[0].Keys["none"] != nil {
		t.Errorf("BITOP on missing keys must not create the key")
	}
}

func TestApplyMulti(t *testing.T) {
	s := New(0)
	mustApply(t, s, "MULTI", "SET a 1", "INCR a", "LPUSH l x")
	if !s.InMulti() || s.DBs[0].Keys["a"] != nil {
		t.Fatal("commands inside MULTI must be queued")
	}
	if err := s.Apply(argv("MULTI")); !errors.Is(err, ErrNested) {
		t.Errorf("nested MULTI: %v", err)
	}
	if err := s.Apply(argv("BOGUS")); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("unknown command queued: %v", err)
	}
	mustApply(t, s, "EXEC")
	if str(t, s, "a") != "2" || list(s, "l") != "x" {
		t.Errorf("EXEC did not apply the queue")
	}
	// A failing command inside EXEC does not stop the others.
	err := s.Apply(argv("MULTI"))
	if err == nil {
		mustApply(t, s, "INCR l", "SET b 1")
		err = s.Apply(argv("EXEC"))
	}
	if !errors.Is(err, ErrWrongType) || str(t, s, "b") != "1" {
		t.Errorf("EXEC error %v, b=%q", err, str(t, s, "b"))
	}
	mustApply(t, s, "MULTI", "SET c 1")
	if !s.DiscardMulti() || s.InMulti() || s.DBs[0].Keys["c"] != nil {
		t.Errorf("DiscardMulti")
	}
}

func TestParseInt(t *testing.T) {
	for in, ok := range map[string]bool{
		"0": true, "-1": true, "9223372036854775807": true, "-9223372036854775808": true,
		"9223372036854775808": false, "-0": false, "+1": false, "01": false, " 1": false, "": false, "1a": false, "-": false,
	} {
		if _, err := parseInt([]byte(in)); (err == nil) != ok {
			t.Errorf("parseInt(%q) err %v", in, err)
		}
	}
	for in, ok := range map[string]bool{
		"1.5": true, "inf": true, "-inf": true, "+inf": true, "1e3": true, "0x10": true,
		"nan": false, " 1": false, "1 ": false, "": false, "abc": false, "1_0": false,
	} {
		if _, err := parseFloat([]byte(in)); (err == nil) != ok {
			t.Errorf("parseFloat(%q) err %v", in, err)
		}
	}
}

func TestApplyHashFieldTTL8(t *testing.T) {
	s := New(1000)
	mustApply(t, s,
		"HSETEX h PX 500 FIELDS 2 a 1 b 2", "HSETEX h FNX FIELDS 1 a x", "HSETEX h FXX KEEPTTL FIELDS 1 a 9",
		"HSETEX h FIELDS 1 b 3", "HGETEX h PXAT 4102444800123 FIELDS 1 b", "HGETEX h PERSIST FIELDS 1 a",
		"HSET g f v", "HGETDEL g FIELDS 1 f",
	)
	h := s.DBs[0].Keys["h"].Hash
	if string(h["a"].Value) != "9" || h["a"].ExpireAtMs != 0 || string(h["b"].Value) != "3" || h["b"].ExpireAtMs != 4102444800123 {
		t.Errorf("a=%+v b=%+v", h["a"], h["b"])
	}
	if s.DBs[0].Keys["g"] != nil {
		t.Errorf("HGETDEL must delete the emptied key")
	}
	for _, line := range []string{"HSETEX h FIELDS 2 a 1", "HSETEX h EX 10 KEEPTTL FIELDS 1 a 1", "HGETEX h FIELDS 0"} {
		if err := s.Apply(argv(line)); err == nil {
			t.Errorf("%s: no error", line)
		}
	}
}
