package keyspace

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

// rewriteText runs Rewriter.Key and returns one line per command.
func rewriteText(t *testing.T, opt RewriteOptions, v rdb.Value, exp int64) (string, error) {
	t.Helper()
	var out strings.Builder
	r := NewRewriter(func(args ...[]byte) error {
		fmt.Fprintf(&out, "%s\n", bytes.Join(args, []byte(" ")))
		return nil
	}, opt)
	err := r.Key([]byte("k"), v, exp)
	return out.String(), err
}

func TestRewriterKey(t *testing.T) {
	var elems [][]byte
	for i := range 65 {
		elems = append(elems, fmt.Appendf(nil, "%d", i))
	}
	got, err := rewriteText(t, RewriteOptions{}, &rdb.List{Elems: elems}, 1700000000000)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if err != nil || len(lines) != 3 || !strings.HasSuffix(lines[0], " 63") || lines[1] != "RPUSH k 64" || lines[2] != "PEXPIREAT k 1700000000000" {
		t.Errorf("list: %v\n%s", err, got)
	}

	z := &rdb.ZSet{Members: []rdb.ZMember{{Member: []byte("a"), Score: 0.1}}}
	for _, tc := range []struct {
		prec int
		want string
	}{{0, "ZADD k 0.1 a\n"}, {17, "ZADD k 0.10000000000000001 a\n"}} {
		if got, err := rewriteText(t, RewriteOptions{ScorePrecision: tc.prec}, z, rdb.NoExpire); err != nil || got != tc.want {
			t.Errorf("zset prec %d: %q, %v", tc.prec, got, err)
		}
	}

	m := &rdb.Module{Name: "modtypeAA"}
	if got, err := rewriteText(t, RewriteOptions{}, m, 5); !errors.Is(err, ErrNoCommandForm) || got != "" {
		t.Errorf("module without DUMP version: %q, %v", got, err)
	}
}
