//go:build integration

package keyspace

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/persistkit/persistkit/format/resp"
	"github.com/persistkit/persistkit/internal/redistest"
)

// TestEvalAOFLive sends testdata/issue-5-eval.aof to a live redis-server
// and compares its DEBUG DIGEST with our replay (and with the digest
// recorded in cmd_script_test.go). Redis 7 runs scripts in effects mode
// but, for these scripts, to the same result: they avoid the replies whose
// order changed (SMEMBERS is sorted only in verbatim mode) and call
// math.randomseed themselves (only verbatim mode re-seeds every call).
func TestEvalAOFLive(t *testing.T) {
	srv := redistest.Start(t, nil)
	f, err := os.Open("testdata/issue-5-eval.aof")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr := resp.NewReader(f, nil)
	for {
		cmd, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r, err := srv.DoBytes(cmd.Args...); err != nil {
			t.Fatalf("%s: %v (reply %v)", cmd.Args[0], err, r)
		}
	}
	want, err := srv.Digest()
	if err != nil {
		t.Fatal(err)
	}
	s := New(0)
	if _, err := ReplayAOF(context.Background(), "testdata/issue-5-eval.aof", s, &ReplayOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	d := s.Digest(DigestOptions{RedisVersion: srv.Version()})
	if got := hex.EncodeToString(d[:]); got != want {
		t.Errorf("digest = %s, server %s", got, want)
	}
	if want != evalAOFDigest {
		t.Logf("server %s digest %s differs from the recorded %s", srv.Version(), want, evalAOFDigest)
	}
}

// scriptTemplates are script bodies whose outcome does not depend on what
// differs between verbatim (<= 6.2) and effects (7.0+) mode.
var scriptTemplates = []string{
	`local n = redis.call('INCR', KEYS[1]) redis.call('RPUSH', KEYS[2], n) return n`,
	`local r = redis.pcall('LPUSH', KEYS[1], ARGV[1])
if type(r) == 'table' then redis.call('SET', KEYS[2], r.err) else redis.call('SET', KEYS[2], r) end`,
	`redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return redis.call('HINCRBY', KEYS[1], 'cnt', 1)`,
	`local v = redis.call('GET', KEYS[1]) if v then redis.call('APPEND', KEYS[2], v) else redis.call('SET', KEYS[2], 'nil') end`,
	`redis.call('SADD', KEYS[1], ARGV[1], ARGV[2]) redis.call('SET', KEYS[2], redis.call('SCARD', KEYS[1]))`,
	`local s = redis.call('ZINCRBY', KEYS[1], ARGV[1], ARGV[2]) redis.call('SET', KEYS[2], s)`,
	`redis.call('SET', KEYS[2], redis.call('ZADD', KEYS[1], 'CH', ARGV[1], 'a', 2, ARGV[2]))`,
	`local x = redis.call('LPOP', KEYS[1]) if x then redis.call('RPUSH', KEYS[2], x) end`,
	`redis.call('SET', KEYS[1], redis.call('TYPE', KEYS[2]).ok)`,
	`redis.call('SET', KEYS[1], redis.call('EXISTS', KEYS[2], KEYS[1], 'nokey'))`,
	`for i = 1, 3 do redis.call('ZADD', KEYS[1], i, ARGV[1] .. i) end
redis.call('SET', KEYS[2], table.concat(redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES'), ','))`,
	`redis.call('SET', KEYS[1], redis.call('LLEN', KEYS[2]) .. ':' .. table.concat(redis.call('LRANGE', KEYS[2], 0, 1), ','))`,
	`math.randomseed(tonumber(ARGV[1]) or 7) redis.call('RPUSH', KEYS[1], math.random(10), math.random(3, 9), tostring(math.random()))`,
	`redis.call('SET', KEYS[2], redis.call('SETNX', KEYS[1], ARGV[1]))`,
	`redis.call('SET', 'delcount', redis.call('DEL', KEYS[1], KEYS[2]))`,
	`redis.call('INCR', KEYS[1]) redis.call('SET', KEYS[2], 'after')`,
	`local v = redis.call('HGET', KEYS[1], ARGV[1]) if v then redis.call('SET', KEYS[2], v) end`,
	`local a = redis.call('SET', KEYS[1], ARGV[1], 'NX') redis.call('SET', KEYS[2], type(a) == 'table' and a.ok or 'nil')`,
	`redis.call('SET', KEYS[2], redis.call('SREM', KEYS[1], ARGV[1], ARGV[2]) .. '/' .. redis.call('SISMEMBER', KEYS[1], ARGV[2]))`,
	`redis.call('SET', KEYS[2], redis.call('LREM', KEYS[1], 0, ARGV[1]) + redis.call('RPUSH', KEYS[1], ARGV[2]))`,
	`redis.call('SET', KEYS[2], redis.call('HDEL', KEYS[1], ARGV[1], 'cnt') .. '/' .. redis.call('HLEN', KEYS[1]))`,
	`return redis.call('EXPIRE', KEYS[1], 100000) + redis.call('PERSIST', KEYS[1])`,
	`redis.call('SET', KEYS[2], tostring(redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])))`,
	`redis.call('SET', KEYS[2], bit.tohex(bit.bxor(tonumber(ARGV[1]) or 0, 0x5a5a)) .. redis.sha1hex(ARGV[2]))`,
	`error('stop')`,
	`return redis.error_reply('no')`,
}

// TestEvalDifferential runs random scripts on a live server and on a Store
// and compares each accept/reject decision and the final digest.
func TestEvalDifferential(t *testing.T) {
	srv := redistest.Start(t, nil)
	s := New(0)
	g := &cmdGen{r: rand.New(rand.NewPCG(5, 5))}
	var failed int
	for i := 0; i < 3000; i++ {
		var cmd []string
		switch g.r.IntN(6) {
		case 0:
			k := g.key()
			cmd = g.pick2([][]string{{"SET", k, g.val()}, {"RPUSH", k, g.mem()}, {"SADD", k, g.mem()},
				{"HSET", k, g.mem(), g.val()}, {"ZADD", k, g.num(), g.mem()}})
		default:
			body := scriptTemplates[g.r.IntN(len(scriptTemplates))]
			cmd = cat("EVAL", body, "2", g.key(), g.key(), g.pick(genNums), g.mem())
		}
		args := make([][]byte, len(cmd))
		for j, a := range cmd {
			args[j] = []byte(a)
		}
		_, srvErr := srv.DoBytes(args...)
		ourErr := s.Apply(args)
		var re *redistest.ReplyError
		if srvErr != nil && !errors.As(srvErr, &re) {
			t.Fatal(srvErr)
		}
		if (srvErr == nil) != (ourErr == nil) {
			t.Fatalf("command %d %q: server err %v, ours %v", i, cmd, srvErr, ourErr)
		}
		if ourErr != nil {
			failed++
		}
	}
	t.Logf("%d commands rejected by both", failed)
	want, _ := srv.Digest()
	d := s.Digest(DigestOptions{RedisVersion: srv.Version()})
	if got := hex.EncodeToString(d[:]); got != want {
		t.Fatalf("digest %s, server %s%s", got, want, digestMismatch(t, srv, s, DigestOptions{RedisVersion: srv.Version()}))
	}
}

func (g *cmdGen) pick2(l [][]string) []string { return l[g.r.IntN(len(l))] }
