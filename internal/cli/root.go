package cli

import "github.com/spf13/cobra"

// SetupRoot connects a tool's root command to env's streams and registers
// into g the persistent flags every tool has: --json, --no-color and
// -q/--quiet.
func SetupRoot(root *cobra.Command, env *Env, g *Globals) {
	root.SetIn(env.In)
	root.SetOut(env.Out)
	root.SetErr(env.Err)
	pf := root.PersistentFlags()
	pf.BoolVar(&g.JSON, "json", false, "machine-readable JSON output on stdout (errors as JSON on stderr)")
	pf.BoolVar(&g.NoColor, "no-color", false, "never colour output (also: NO_COLOR=1)")
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "print only data and errors: no progress, no notes")
}
