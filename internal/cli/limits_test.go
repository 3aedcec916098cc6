package cli

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/format/resp"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{
		"1": 1, "64K": 64 << 10, "64k": 64 << 10, "64KB": 64 << 10, "512MiB": 512 << 20, "2G": 2 << 30, "1TiB": 1 << 40, "7B": 7,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "K", "-1", "1.5M", "99999999999999999999", "17179869184G", "1X"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		}
	}
}

func TestLimitFlags(t *testing.T) {
	root := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	AddLimitFlags(root)
	root.SetArgs([]string{"--max-value-size", "1MiB", "--max-elements", "1000"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if rdb.DefaultLimits.MaxStringLen != 1<<20 || resp.DefaultLimits.MaxBulkLen != 1<<20 ||
		rdb.DefaultLimits.MaxElements != 1000 || resp.DefaultLimits.MaxArgs != 1000 {
		t.Errorf("limits not applied: %+v %+v", rdb.DefaultLimits, resp.DefaultLimits)
	}
	// A new root (the next in-process run) starts from the built-in values.
	AddLimitFlags(&cobra.Command{Use: "y"})
	if rdb.DefaultLimits != builtinRDBLimits || resp.DefaultLimits != builtinRESPLimits {
		t.Errorf("limits not reset: %+v %+v", rdb.DefaultLimits, resp.DefaultLimits)
	}
	for _, bad := range []string{"0", "x", "-5"} {
		root := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		AddLimitFlags(root)
		root.SetArgs([]string{"--max-value-size", bad})
		root.SilenceErrors, root.SilenceUsage = true, true
		if err := root.Execute(); err == nil {
			t.Errorf("--max-value-size %s accepted", bad)
		}
	}
	AddLimitFlags(&cobra.Command{Use: "z"})
}
