package main

import (
	"errors"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/manifest"
	"github.com/persistkit/persistkit/format/resp"
	"github.com/persistkit/persistkit/internal/attestcmd"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

func init() {
	// Damaged AOF data and manifests are invalid input (exit 3), like
	// rdb.FormatError is for rdbtool; so is a command no Redis knows (a
	// damaged name: the server refuses to load such a file too). A command
	// this engine cannot replay (keyspace.ErrUnsupported) stays exit 1.
	cli.InvalidInput = append(cli.InvalidInput, func(err error) bool {
		var fe *resp.FormatError
		var pe *manifest.ParseError
		return errors.As(err, &fe) || errors.As(err, &pe) ||
			errors.Is(err, keyspace.ErrTruncatedNotLast) || errors.Is(err, keyspace.ErrMissingFile) ||
			errors.Is(err, keyspace.ErrUnknownCommand) ||
			errors.Is(err, manifest.ErrNoManifest) || errors.Is(err, manifest.ErrManyManifests)
	})
}

// newRootCmd builds the command tree on env; tests call it with buffers.
func newRootCmd(env *cli.Env) *cobra.Command {
	g := &cli.Globals{}
	root := &cobra.Command{
		Use:   "aoftool",
		Short: "Check, fix, dump, convert and rewrite Redis AOF files",
		Long: `aoftool reads Redis append-only files without a server. AOF is always
one of: a single file (plain RESP, or with an RDB preamble), a Redis 7
manifest, or an appendonlydir holding one. Files are read in load order:
the BASE file (RDB or RESP), then the INCR files. A single-file AOF may
also come through a pipe: "-" reads standard input, and a FIFO such as
<(zstdcat backup.aof.zst) works too; it is copied to $TMPDIR first.

Inputs are never modified unless a command says so (check --fix,
check --truncate-to-timestamp); outputs appear only when complete.

` + cli.ExitCodesHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cli.SetupRoot(root, env, g)
	cli.AddLimitFlags(root)
	root.AddCommand(
		readsPipedInput(env, g, newDigestCmd(env, g)),
		readsPipedInput(env, g, newCheckCmd(env, g), "fix", "truncate-to-timestamp"),
		readsPipedInput(env, g, newDumpCmd(env, g)),
		readsPipedInput(env, g, newConvertCmd(env, g)),
		readsPipedInput(env, g, newRewriteCmd(env, g)),
		readsPipedInput(env, g, newVerifyCmd(env, g)),
		attestcmd.NewAttestCmd(env, g), attestcmd.NewValidateCmd(env, g),
	)
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

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
