package keyspace

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
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

// TestAppendScore checks the integer fast path of appendScore against
// strconv around every power of ten and the thresholds, for both
// precisions rewrites use.
func TestAppendScore(t *testing.T) {
	var vals []float64
	for p := 1.0; p < 1e19; p *= 10 {
		for _, d := range []float64{-2, -1, 0, 1, 2} {
			vals = append(vals, p+d, -(p + d), (p+d)*3, p+0.5)
		}
	}
	for i := range 20000 {
		vals = append(vals, float64(i*i*7919), -float64(i*13), float64(i)/4)
	}
	vals = append(vals, 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1<<53, -(1 << 53), 1<<63, math.MaxFloat64, 5e-324)
	for _, prec := range []int{0, 17} {
		for _, f := range vals {
			want := strconv.AppendFloat(nil, f, 'g', prec, 64)
			if prec == 0 {
				want = strconv.AppendFloat(nil, f, 'g', -1, 64)
			}
			switch {
			case math.IsInf(f, 1):
				want = []byte("inf")
			case math.IsInf(f, -1):
				want = []byte("-inf")
			}
			if got := appendScore(nil, f, prec); !bytes.Equal(got, want) {
				t.Errorf("appendScore(%v, %d) = %s, want %s", f, prec, got, want)
			}
		}
	}
}

// TestRewriterStream checks the commands of a stream: one XADD per entry
// (IDs built in the reused number buffer), XSETID with the v2 metadata,
// the group, its PEL and its consumers, then the TTL.
func TestRewriterStream(t *testing.T) {
	s := &rdb.Stream{
		Entries: []rdb.StreamEntry{
			{ID: rdb.StreamID{Ms: 1700000000000, Seq: 0}, Fields: []rdb.StreamField{{Field: []byte("f"), Value: []byte("v")}}},
			{ID: rdb.StreamID{Ms: 1700000000001, Seq: 12}, Fields: []rdb.StreamField{{Field: []byte("a"), Value: []byte("1")}, {Field: []byte("b"), Value: []byte("2")}}},
		},
		Length: 2, LastID: rdb.StreamID{Ms: 1700000000001, Seq: 12},
		HasV2Meta: true, EntriesAdded: 3, MaxDeletedID: rdb.StreamID{Ms: 5, Seq: 6},
		Groups: []rdb.StreamGroup{{
			Name: []byte("g"), LastID: rdb.StreamID{Ms: 1700000000000}, EntriesRead: 1,
			PEL:       []rdb.StreamPending{{ID: rdb.StreamID{Ms: 1700000000000}, Consumer: []byte("c"), DeliveryTimeMs: 7, DeliveryCount: 2}},
			Consumers: []rdb.StreamConsumer{{Name: []byte("c"), PEL: []rdb.StreamID{{Ms: 1700000000000}}}, {Name: []byte("idle")}},
		}},
	}
	got, err := rewriteText(t, RewriteOptions{}, s, 1800000000000)
	want := `XADD k 1700000000000-0 f v
XADD k 1700000000001-12 a 1 b 2
XSETID k 1700000000001-12 ENTRIESADDED 3 MAXDELETEDID 5-6
XGROUP CREATE k g 1700000000000-0 ENTRIESREAD 1
XCLAIM k g c 0 1700000000000-0 TIME 7 RETRYCOUNT 2 JUSTID FORCE
XGROUP CREATECONSUMER k g idle
PEXPIREAT k 1800000000000
`
	if err != nil || got != want {
		t.Errorf("stream: %v\n%s\nwant\n%s", err, got, want)
	}
}
