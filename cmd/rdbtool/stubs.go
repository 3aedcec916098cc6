package main

import (
	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
)

func newStatsCmd(env *cli.Env, g *cli.Globals) *cobra.Command  { return &cobra.Command{Use: "stats"} }
func newMemoryCmd(env *cli.Env, g *cli.Globals) *cobra.Command { return &cobra.Command{Use: "memory"} }
func newDiffCmd(env *cli.Env, g *cli.Globals) *cobra.Command   { return &cobra.Command{Use: "diff"} }
