package main

import (
	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
)

func newDumpCmd(env *cli.Env, g *cli.Globals) *cobra.Command { return &cobra.Command{Use: "dump"} }
func newConvertCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	return &cobra.Command{Use: "convert"}
}
func newRewriteCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	return &cobra.Command{Use: "rewrite"}
}
func newVerifyCmd(env *cli.Env, g *cli.Globals) *cobra.Command { return &cobra.Command{Use: "verify"} }
func quoteArg(b []byte) string                                 { return string(b) }
