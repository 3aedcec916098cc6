package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/format/resp"
)

// The parsers' built-in limits, captured before any flag changes them.
var (
	builtinRDBLimits  = rdb.DefaultLimits
	builtinRESPLimits = resp.DefaultLimits
)

// LimitsHelp documents the limit flags for --help texts.
const LimitsHelp = `Limits against hostile input (a value over a limit is invalid input, exit 3):
  --max-value-size  longest string, blob or RESP argument (default 512MiB)
  --max-elements    most elements in one collection or RESP command
                    (default 4294967296 for RDB, 16777216 for RESP)`

// AddLimitFlags adds --max-value-size and --max-elements to root as
// persistent flags. They set rdb.DefaultLimits and resp.DefaultLimits,
// which every decoder and reader created without explicit limits uses (a
// CLI runs one command per process). Building the root resets both to the
// built-in values, so in-process tests do not leak settings.
func AddLimitFlags(root *cobra.Command) {
	if rdb.DefaultLimits != builtinRDBLimits {
		rdb.DefaultLimits = builtinRDBLimits
	}
	if resp.DefaultLimits != builtinRESPLimits {
		resp.DefaultLimits = builtinRESPLimits
	}
	pf := root.PersistentFlags()
	pf.Var(&limitFlag{set: func(n uint64) error {
		if n > 1<<62 {
			return fmt.Errorf("at most 4EiB")
		}
		rdb.DefaultLimits.MaxStringLen = n
		rdb.DefaultLimits.MaxRawLen = n
		resp.DefaultLimits.MaxBulkLen = int64(n)
		return nil
	}, def: "512MiB"}, "max-value-size", "longest string or RESP argument (K/M/G suffixes)")
	pf.Var(&limitFlag{set: func(n uint64) error {
		if n > 1<<62 {
			return fmt.Errorf("at most 2^62")
		}
		rdb.DefaultLimits.MaxElements = n
		resp.DefaultLimits.MaxArgs = int64(n)
		return nil
	}, def: "2^32; RESP 2^24"}, "max-elements", "most elements per collection or RESP command")
}

// limitFlag is a positive size with an optional binary suffix.
type limitFlag struct {
	set func(uint64) error
	val string
	def string
}

func (f *limitFlag) String() string {
	if f == nil || f.val == "" {
		return f.defString()
	}
	return f.val
}

func (f *limitFlag) defString() string {
	if f == nil {
		return ""
	}
	return f.def
}

func (f *limitFlag) Type() string { return "size" }

func (f *limitFlag) Set(s string) error {
	n, err := ParseSize(s)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("must be positive")
	}
	if err := f.set(n); err != nil {
		return err
	}
	f.val = s
	return nil
}

// ParseSize parses "1048576", "64K", "512MiB", "2G" (binary multiples).
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	shift := 0
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		case 'T':
			shift = 40
		}
		if shift > 0 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	if n > (1<<64-1)>>shift {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return n << shift, nil
}
