package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"
)

// Run executes root with args and returns the process exit code. It sets up
// Ctrl-C handling (commands see a cancelled context and stop at a record
// boundary), maps flag and argument errors to [ExitUsage], and prints the
// final error exactly once: "<tool>: error: <msg>", or one JSON object on
// stderr when --json is set.
func Run(ctx context.Context, root *cobra.Command, args []string) int {
	ctx, stop := withInterrupts(ctx)
	defer stop()
	defer startProfile()()
	Prepare(root)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := ExitCode(err)
	if err != nil && ctx.Err() != nil {
		code = ExitInterrupted
	}
	if err != nil && isUsageMessage(err) && code == ExitFailure {
		code = ExitUsage
	}
	if err != nil {
		printError(root, err, code)
	}
	return code
}

// Prepare makes root and its subcommands silent (Run prints errors) and
// turns flag and argument errors into usage errors. Run calls it; tests
// that execute a command tree directly may too.
func Prepare(root *cobra.Command) {
	root.SilenceUsage = true
	root.SilenceErrors = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: err, Hint: "see '" + c.CommandPath() + " --help'"}
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Args != nil {
			orig := c.Args
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := orig(cmd, args); err != nil {
					return &ExitError{Code: ExitUsage, Err: err, Hint: "see '" + cmd.CommandPath() + " --help'"}
				}
				return nil
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// isUsageMessage recognises cobra's own usage errors, which it returns as
// plain errors (unknown command, missing required flag).
func isUsageMessage(err error) bool {
	m := err.Error()
	return strings.HasPrefix(m, "unknown command") || strings.HasPrefix(m, "required flag") ||
		strings.HasPrefix(m, "unknown flag") || strings.HasPrefix(m, "unknown shorthand flag") ||
		strings.Contains(m, "flag needs an argument")
}

func printError(root *cobra.Command, err error, code int) {
	var ee *ExitError
	hint := ""
	if errors.As(err, &ee) {
		if ee.Silent {
			return
		}
		hint = ee.Hint
	}
	w := root.ErrOrStderr()
	name := root.Name()
	msg := err.Error()
	if code == ExitInterrupted {
		msg = "interrupted"
	}
	if f := root.PersistentFlags().Lookup("json"); f != nil && f.Value.String() == "true" {
		b := []byte(`{"error":`)
		b = AppendString(b, msg)
		b = append(b, `,"exit_code":`...)
		b = appendInt(b, int64(code))
		if hint != "" {
			b = append(b, `,"hint":`...)
			b = AppendString(b, hint)
		}
		b = append(b, "}\n"...)
		w.Write(b)
		return
	}
	w.Write([]byte(name + ": error: " + Printable(msg) + "\n"))
	if hint != "" {
		w.Write([]byte(name + ": hint: " + hint + "\n"))
	}
}
