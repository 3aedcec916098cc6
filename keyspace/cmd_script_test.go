package keyspace

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

// eval runs EVAL body numkeys args... and returns Apply's error.
func eval(s *Store, body string, numkeys string, args ...string) error {
	cmd := [][]byte{[]byte("EVAL"), []byte(body), []byte(numkeys)}
	for _, a := range args {
		cmd = append(cmd, []byte(a))
	}
	return s.Apply(cmd)
}

func mustEval(t *testing.T, s *Store, body, numkeys string, args ...string) {
	t.Helper()
	if err := eval(s, body, numkeys, args...); err != nil {
		t.Fatalf("EVAL %q: %v", body, err)
	}
}

func TestEvalWrites(t *testing.T) {
	s := New(0)
	mustEval(t, s, `redis.call('SET', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[1], ARGV[2])
redis.call('LPUSH', KEYS[2], 'head')
redis.call('HSET', KEYS[3], 'f', ARGV[2], 'n', 3)
return 'done'`, "3", "s", "l", "h", "v1", "v2")
	if got := str(t, s, "s"); got != "v1" {
		t.Errorf("s = %q", got)
	}
	if got := s.lookup([]byte("l")).List; !slices.EqualFunc(got, argv("head v1 v2"), func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("l = %q", got)
	}
	h := s.lookup([]byte("h")).Hash
	if string(h["f"].Value) != "v2" || string(h["n"].Value) != "3" {
		t.Errorf("h = %v", h)
	}
}

func TestEvalLoop(t *testing.T) {
	s := New(0)
	mustEval(t, s, `for i = 1, tonumber(ARGV[1]) do
  redis.call('RPUSH', KEYS[1], i)
  redis.call('INCRBY', KEYS[2], i)
end`, "2", "l", "sum", "100")
	if n := len(s.lookup([]byte("l")).List); n != 100 {
		t.Errorf("len(l) = %d", n)
	}
	if got := str(t, s, "sum"); got != "5050" {
		t.Errorf("sum = %q", got)
	}
	// Numbers are sent as %.17g, like Redis.
	mustEval(t, s, `redis.call('SET', 'f', 0.1) redis.call('SET', 'i', 2^53)`, "0")
	if got := str(t, s, "f"); got != "0.10000000000000001" {
		t.Errorf("f = %q", got)
	}
	if got := str(t, s, "i"); got != "9007199254740992" {
		t.Errorf("i = %q", got)
	}
}

func TestEvalCallVersusPcall(t *testing.T) {
	s := New(0)
	mustApply(t, s, "SET str x")
	// redis.call raises: the script stops, earlier writes stay (no rollback).
	err := eval(s, `redis.call('SET', 'before', '1')
redis.call('LPUSH', 'str', 'a')
redis.call('SET', 'after', '1')`, "0")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Name != "EVAL" || !errors.Is(err, ErrScript) || !errors.Is(err, ErrWrongType) {
		t.Fatalf("call: err = %v, want *CommandError EVAL wrapping ErrScript and ErrWrongType", err)
	}
	if s.lookup([]byte("before")) == nil || s.lookup([]byte("after")) != nil {
		t.Errorf("call: before/after = %v/%v, want set/unset", s.lookup([]byte("before")), s.lookup([]byte("after")))
	}
	// redis.pcall returns {err=...}; the script goes on.
	mustEval(t, s, `local r = redis.pcall('LPUSH', 'str', 'a')
redis.call('SET', 'perr', r.err)
local u = redis.pcall('NOSUCH')
redis.call('SET', 'uerr', u.err)
redis.call('SET', 'after', '1')`, "0")
	if got := str(t, s, "perr"); got != "WRONGTYPE Operation against a key holding the wrong kind of value" {
		t.Errorf("perr = %q", got)
	}
	if got := str(t, s, "uerr"); got != "ERR Unknown Redis command called from Lua script" {
		t.Errorf("uerr = %q", got)
	}
	// Lua's pcall catches what redis.call raised: the error table.
	mustEval(t, s, `local ok, e = pcall(redis.call, 'INCR', 'str')
redis.call('SET', 'caught', e.err)`, "0")
	if got := str(t, s, "caught"); got != "ERR value is not an integer or out of range" {
		t.Errorf("caught = %q", got)
	}
	// Returning an error reply fails EVAL, but its writes stay.
	err = eval(s, `redis.call('SET', 'r', '1') return redis.pcall('INCR', 'str')`, "0")
	if !errors.Is(err, ErrScriptReply) || !errors.As(err, &ce) || ce.Name != "EVAL" {
		t.Errorf("error reply: err = %v", err)
	}
	if err := eval(s, `return redis.error_reply('MY fault')`, "0"); !errors.Is(err, ErrScriptReply) {
		t.Errorf("error_reply: err = %v", err)
	}
	if err := eval(s, `return redis.status_reply('FINE')`, "0"); err != nil {
		t.Errorf("status_reply: err = %v", err)
	}
}

func TestEvalErrors(t *testing.T) {
	s := New(0)
	cases := []struct {
		name string
		args []string
		want error
	}{
		{"compile", []string{"return (", "0"}, ErrScript},
		{"runtime", []string{"error('boom')", "0"}, ErrScript},
		{"new global", []string{"x = 1", "0"}, ErrScript},
		{"undefined global", []string{"return cjson.encode({})", "0"}, ErrScript},
		{"no os", []string{"return os.time()", "0"}, ErrScript},
		{"forbidden", []string{"redis.call('EVAL', 'return 1', 0)", "0"}, ErrScript},
		{"arity", []string{"redis.call('GET')", "0"}, ErrScript},
		{"arg type", []string{"redis.call('SET', 'k', {})", "0"}, ErrScript},
		{"unmodelled read", []string{"redis.call('GETRANGE', 'k', 0, 1)", "0"}, ErrUnsupported},
		{"stack overflow", []string{"local function f() return 1 + f() end return f()", "0"}, ErrScript},
		{"huge string", []string{"return string.rep('x', 2^40)", "0"}, ErrScript},
		{"numkeys", []string{"return 1", "x"}, ErrNotInteger},
		{"numkeys negative", []string{"return 1", "-1"}, errNumKeysNegative},
		{"numkeys too many", []string{"return 1", "2", "k"}, errNumKeysTooMany},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := eval(s, c.args[0], c.args[1], c.args[2:]...)
			var ce *CommandError
			if !errors.Is(err, c.want) || !errors.As(err, &ce) || ce.Name != "EVAL" {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if n := s.Len(); n != 0 {
		t.Errorf("%d keys after failing scripts", n)
	}
}

func TestEvalSHA(t *testing.T) {
	s := New(0)
	body := "return redis.call('INCR', KEYS[1])"
	sha := sha1Hex([]byte(body))
	evalsha := func(sha string, args ...string) error {
		return s.Apply(argv("EVALSHA " + sha + " " + strings.Join(args, " ")))
	}
	var ce *CommandError
	if err := evalsha(sha, "1", "n"); !errors.Is(err, ErrNoScript) || !errors.As(err, &ce) || ce.Name != "EVALSHA" {
		t.Fatalf("before EVAL: err = %v, want NOSCRIPT", err)
	}
	mustEval(t, s, body, "1", "n")
	if err := evalsha(strings.ToUpper(sha), "1", "n"); err != nil {
		t.Fatalf("after EVAL: %v", err)
	}
	loaded := "redis.call('RPUSH', KEYS[1], ARGV[1])"
	if err := s.Apply([][]byte{[]byte("SCRIPT"), []byte("LOAD"), []byte(loaded)}); err != nil {
		t.Fatal(err)
	}
	if err := evalsha(sha1Hex([]byte(loaded)), "1", "l", "x"); err != nil {
		t.Fatalf("after SCRIPT LOAD: %v", err)
	}
	if got := str(t, s, "n"); got != "2" {
		t.Errorf("n = %q", got)
	}
	if err := s.Apply([][]byte{[]byte("SCRIPT"), []byte("LOAD"), []byte("return (")}); !errors.Is(err, ErrScript) {
		t.Errorf("SCRIPT LOAD of bad code: err = %v", err)
	}
	mustApply(t, s, "SCRIPT FLUSH")
	if err := evalsha(sha, "1", "n"); !errors.Is(err, ErrNoScript) {
		t.Errorf("after SCRIPT FLUSH: err = %v", err)
	}
	// Inside MULTI/EXEC too.
	mustApply(t, s, "MULTI")
	mustEval(t, s, body, "1", "m")
	mustApply(t, s, "EVALSHA "+sha+" 1 m", "EXEC")
	if got := str(t, s, "m"); got != "2" {
		t.Errorf("m = %q", got)
	}
}

// TestEvalReplies checks the Redis -> Lua conversion of the modelled
// replies by having scripts write what they saw.
func TestEvalReplies(t *testing.T) {
	s := New(0)
	mustApply(t, s, "SET s 10", "RPUSH l a b c", "HSET h f2 v2 f1 v1", "SADD st c a b",
		"ZADD z 2 b 1 a 1.5 c", "PEXPIREAT s 5000")
	s.NowMs = 1000
	body := `
local out = {}
local function put(v) out[#out+1] = v end
local function show(v)
  if type(v) == 'table' then
    if v.ok then return '+' .. v.ok end
    if v.err then return '-' .. v.err end
    return '[' .. table.concat(v, ',') .. ']'
  end
  return type(v) .. ':' .. tostring(v)
end
put(show(redis.call('INCR', 's')))
put(show(redis.call('INCRBYFLOAT', 'fl', '1.5')))
put(show(redis.call('GET', 'nokey')))
put(show(redis.call('GET', 's')))
put(show(redis.call('SET', 'k', 'v')))
put(show(redis.call('SET', 'k', 'v', 'NX')))
put(show(redis.call('SET', 'k', 'w', 'GET')))
put(show(redis.call('EXISTS', 's', 'nokey', 'l')))
put(show(redis.call('TYPE', 'h')))
put(show(redis.call('TTL', 's')))
put(show(redis.call('PTTL', 's')))
put(show(redis.call('TTL', 'k')))
put(show(redis.call('HGET', 'h', 'f1')))
put(show(redis.call('HGETALL', 'h')))
put(show(redis.call('HLEN', 'h')))
put(show(redis.call('LRANGE', 'l', 0, -2)))
put(show(redis.call('LLEN', 'l')))
put(show(redis.call('SMEMBERS', 'st')))
put(show(redis.call('SCARD', 'st')))
put(show(redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES')))
put(show(redis.call('ZSCORE', 'z', 'c')))
put(show(redis.call('ZCARD', 'z')))
put(show(redis.call('RPUSH', 'l', 'd')))
put(show(redis.call('LPOP', 'l')))
put(show(redis.call('SADD', 'st', 'a', 'd', 'e')))
put(show(redis.call('HSET', 'h', 'f1', 'x', 'f3', 'y')))
put(show(redis.call('HINCRBY', 'h', 'n', 5)))
put(show(redis.call('ZADD', 'z', 3, 'a', 4, 'd')))
put(show(redis.call('ZINCRBY', 'z', 0.5, 'a')))
put(show(redis.call('DEL', 'k', 'k', 'nokey')))
put(show(redis.call('EXPIRE', 'l', 100)))
put(show(redis.call('EXPIRE', 'nokey', 100)))
put(show(redis.call('SREM', 'st', 'a', 'zz')))
redis.call('SET', 'out', table.concat(out, ' '))
`
	mustEval(t, s, body, "0")
	want := "number:11 string:1.5 boolean:false string:11 +OK boolean:false string:v number:2 +hash " +
		"number:4 number:4000 number:-1 string:v1 [f1,v1,f2,v2] number:2 [a,b] number:3 [a,b,c] number:3 " +
		"[a,1,c,1.5,b,2] string:1.5 number:3 number:4 string:a number:2 number:1 number:5 number:1 string:3.5 " +
		"number:1 number:1 number:0 number:1"
	if got := str(t, s, "out"); got != want {
		t.Errorf("replies:\n got %s\nwant %s", got, want)
	}
}

func TestEvalSandbox(t *testing.T) {
	s := New(0)
	// math.random restarts from redisSrand48(0) on every call; the values
	// are rand48's (math.randomseed(42) matches a live Redis 7.0).
	for range 2 {
		mustEval(t, s, `redis.call('SET', 'r', tostring(math.random()) .. ' ' .. math.random(100) .. ' ' .. math.random(5, 10))
math.randomseed(42)
redis.call('SET', 'r42', tostring(math.random()))`, "0")
		if got := str(t, s, "r"); got != "0.17082803611217 75 5" {
			t.Errorf("r = %q", got)
		}
		if got := str(t, s, "r42"); got != "0.74452500033403" {
			t.Errorf("r42 = %q", got)
		}
	}
	mustEval(t, s, `redis.call('SET', 'bit', bit.tohex(bit.bnot(5)) .. ' ' .. bit.band(12, 10) .. ' ' .. bit.bor(1, 2, 4) ..
  ' ' .. bit.lshift(1, 31) .. ' ' .. bit.tohex(0x1234, -2) .. ' ' .. bit.tobit(2^32 + 3))
redis.call('SET', 'sha', redis.sha1hex(''))
redis.call('SET', 'num', tostring(1/3))
redis.log(redis.LOG_WARNING, 'ignored')`, "0")
	if got := str(t, s, "bit"); got != "fffffffa 8 7 -2147483648 34 3" {
		t.Errorf("bit = %q", got)
	}
	if got := str(t, s, "sha"); got != "da39a3ee5e6b4b0d3255bfef95601890afd80709" {
		t.Errorf("sha = %q", got)
	}
	if got := str(t, s, "num"); got != "0.33333333333333" {
		t.Errorf("num = %q", got)
	}
	// SELECT inside a script does not change the caller's database.
	mustEval(t, s, `redis.call('SELECT', 3) redis.call('SET', 'in3', 'x')`, "0")
	if s.CurDB != 0 || s.DBs[3].Keys["in3"] == nil {
		t.Errorf("CurDB = %d, db3 = %v", s.CurDB, s.DBs[3].Keys)
	}
}

// TestReplayEvalAOF replays testdata/issue-5-eval.aof, a hand-made AOF in
// the style of Redis <= 4.0 (verbatim script replication: EVAL records,
// SCRIPT LOAD + EVALSHA, SELECT). The digest was computed by sending the
// same commands to redis-server 7.0.15 (DEBUG DIGEST); the integration
// test TestEvalAOFLive recomputes it against a live server.
func TestReplayEvalAOF(t *testing.T) {
	s := New(0)
	res, err := ReplayAOF(context.Background(), "testdata/issue-5-eval.aof", s, &ReplayOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Commands == 0 {
		t.Fatal("no commands replayed")
	}
	d := s.Digest(DigestOptions{RedisVersion: "7.0"})
	if got := hex.EncodeToString(d[:]); got != evalAOFDigest {
		t.Errorf("digest = %s, want %s", got, evalAOFDigest)
	}
}

// evalAOFDigest is DEBUG DIGEST of redis-server 7.0.15 after
// `redis-cli --pipe < testdata/issue-5-eval.aof` on an empty server.
const evalAOFDigest = "bb75fffaa38d51eb41a14d761b20c1ebb9227adf"

// HEXISTS and SISMEMBER share memberReply: present, absent, missing key and
// wrong type.
func TestEvalMemberReplies(t *testing.T) {
	s := New(0)
	mustEval(t, s, `redis.call('HSET', 'h', 'f', 'v')
redis.call('SADD', 's', 'm')
redis.call('SET', 'r', redis.call('HEXISTS', 'h', 'f') .. redis.call('HEXISTS', 'h', 'x') ..
  redis.call('HEXISTS', 'nokey', 'f') .. redis.call('SISMEMBER', 's', 'm') ..
  redis.call('SISMEMBER', 's', 'x') .. redis.call('SISMEMBER', 'nokey', 'm'))`, "0")
	if got := str(t, s, "r"); got != "100100" {
		t.Errorf("replies = %q, want 100100", got)
	}
	for _, body := range []string{`redis.call('HEXISTS', 's', 'm')`, `redis.call('SISMEMBER', 'h', 'f')`} {
		if err := eval(s, body, "0"); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
			t.Errorf("%s: err = %v, want WRONGTYPE", body, err)
		}
	}
}
