package main

import (
	"bufio"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/attestcmd"
	"github.com/persistkit/persistkit/internal/cli"
)

// newRootCmd builds the command tree on env; tests call it with buffers.
func newRootCmd(env *cli.Env) *cobra.Command {
	g := &cli.Globals{}
	root := &cobra.Command{
		Use:   "rdbtool",
		Short: "Inspect, check, dump and convert Redis RDB files",
		Long: `rdbtool reads Redis RDB files (versions 1-12, Redis 2.x to 8.x, Valkey)
without a server: it checks them, dumps them as JSON, computes Redis'
DEBUG DIGEST, converts them to AOF and back, and compares keyspaces.

A FILE argument of "-" reads standard input.

` + cli.ExitCodesHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cli.SetupRoot(root, env, g)
	cli.AddLimitFlags(root)
	root.AddCommand(
		newDigestCmd(env, g),
		newDumpCmd(env, g),
		newCheckCmd(env, g),
		newConvertCmd(env, g),
		newStatsCmd(env, g),
		newMemoryCmd(env, g),
		newDiffCmd(env, g),
		newKeygenCmd(env, g), attestcmd.NewAttestCmd(env, g), attestcmd.NewValidateCmd(env, g),
	)
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

// input is an opened FILE argument with its size (0 when unknown).
type input struct {
	io.Reader
	size  int64
	close func() error
	count *cli.CountingReader
}

// openInput opens path ("-" is stdin) buffered for the decoder; Offset of
// the counting reader drives progress.
func openInput(env *cli.Env, path string) (*input, error) {
	var r io.Reader
	var size int64
	closeFn := func() error { return nil }
	if path == "-" {
		r = env.In
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				f.Close()
				return nil, cli.Usagef("%s is a directory", path)
			}
			size = st.Size()
		}
		r = f
		closeFn = f.Close
	}
	cr := &cli.CountingReader{R: r}
	return &input{Reader: bufio.NewReaderSize(cr, 1<<20), size: size, close: closeFn, count: cr}, nil
}

func (in *input) Close() error { return in.close() }

// parseNow parses --now: Unix milliseconds, or 0 for "nothing expires".
func parseNow(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, cli.Usagef("--now: want Unix milliseconds, got %q", s)
	}
	return n, nil
}
