package digestcmd

import (
	"strings"
	"testing"

	"github.com/persistkit/persistkit/keyspace"
)

func TestKey(t *testing.T) {
	for k, want := range map[string]string{
		"plain": "plain", "a b": "base64:YSBi", "a\nb": "base64:YQpi", "\x1b[31m": "base64:G1szMW0=", "\xff": "base64:/w==",
	} {
		if got := Key([]byte(k)); got != want {
			t.Errorf("Key(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestWriteEmpty(t *testing.T) {
	zero := strings.Repeat("0", 40)
	for _, tc := range []struct {
		json bool
		want string
	}{
		{false, zero + "\n"},
		{true, `{"digest":"` + zero + `","keys":0,"per_key":[]}` + "\n"},
	} {
		var out strings.Builder
		if err := Write(&out, keyspace.New(0), &Options{PerKey: true}, tc.json); err != nil || out.String() != tc.want {
			t.Errorf("json=%v: %q, %v", tc.json, out.String(), err)
		}
	}
}
