package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

type diffOptions struct {
	env  *cli.Env
	g    *cli.Globals
	a, b string
	max  int
	now  string
}

func newDiffCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &diffOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare the keyspaces of two RDB files, AOF files or appendonlydirs",
		Long: `diff loads A and B (each an RDB file, a single AOF file, a manifest or an
appendonlydir) and lists the keys that are missing, extra, of another
type, with another value or another TTL, and differing function
libraries. Encodings and LRU/LFU data are not compared.

With --now MS keys expired before MS are ignored on both sides.
Exit status 0 when equal, 3 when they differ.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.a, o.b = args[0], args[1]
			return runDiff(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.max, "max", 100, "stop after N differences (0: all)")
	cmd.Flags().StringVar(&o.now, "now", "", "ignore keys expired before this Unix ms time")
	return cmd
}

// isAOF tells an AOF (file, manifest or directory) from an RDB file: by
// kind and name, then by content (RDB files start with REDIS or VALKEY; a
// hybrid AOF does too, so a .aof name wins).
func isAOF(path string) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if st.IsDir() || strings.HasSuffix(path, ".aof") || strings.HasSuffix(path, ".manifest") {
		return true, nil
	}
	if !st.Mode().IsRegular() {
		// A FIFO (<(zcat dump.rdb.gz)) is read once: sniffing would eat
		// its magic. Like "-", it is taken as an RDB stream.
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [6]byte
	n, _ := f.Read(magic[:])
	s := string(magic[:n])
	return !(strings.HasPrefix(s, "REDIS") || strings.HasPrefix(s, "VALKEY")), nil
}

func loadAny(ctx context.Context, o *diffOptions, path string, now int64) (*keyspace.Store, error) {
	if path == "-" {
		return loadStore(ctx, o.env, o.g, path, now)
	}
	aof, err := isAOF(path)
	if err != nil {
		return nil, err
	}
	if !aof {
		return loadStore(ctx, o.env, o.g, path, now)
	}
	s := keyspace.New(now)
	p := o.env.NewProgress(o.g, "replaying")
	defer p.Done()
	if _, err := keyspace.ReplayAOF(ctx, path, s, &keyspace.ReplayOptions{
		Progress: func(_ string, off int64) { p.Update(off, 0) },
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func runDiff(ctx context.Context, o *diffOptions) error {
	now, err := parseNow(o.now)
	if err != nil {
		return err
	}
	if o.max < 0 {
		return cli.Usagef("--max must not be negative")
	}
	a, err := loadAny(ctx, o, o.a, now)
	if err != nil {
		return err
	}
	b, err := loadAny(ctx, o, o.b, now)
	if err != nil {
		return err
	}
	diffs := keyspace.Diff(a, b, o.max)
	w := bufio.NewWriter(o.env.Out)
	outPal, _ := o.env.Palettes(o.g)
	for _, d := range diffs {
		if o.g.JSON {
			buf := []byte(`{"kind":"`)
			buf = append(buf, d.Kind.String()...)
			buf = append(buf, `","db":`...)
			buf = strconv.AppendInt(buf, int64(d.DB), 10)
			buf = append(buf, `,"key":`...)
			buf = cli.AppendBytes(buf, d.Key)
			buf = append(buf, `,"detail":`...)
			buf = cli.AppendString(buf, d.Detail)
			buf = append(buf, "}\n"...)
			w.Write(buf)
			continue
		}
		mark := outPal.Warn.Sprint("~")
		switch d.Kind {
		case keyspace.DiffMissing:
			mark = outPal.Bad.Sprint("-")
		case keyspace.DiffExtra:
			mark = outPal.OK.Sprint("+")
		}
		fmt.Fprintf(w, "%s %s\n", mark, cli.Printable(d.String()))
	}
	if !o.g.JSON && !o.g.Quiet {
		if len(diffs) == 0 {
			fmt.Fprintf(o.env.Err, "rdbtool: keyspaces are equal (%d keys)\n", a.Len())
		} else if o.max > 0 && len(diffs) >= o.max {
			fmt.Fprintf(o.env.Err, "rdbtool: stopped after %d differences (--max)\n", o.max)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(diffs) > 0 {
		return cli.Silent(cli.ExitInvalid)
	}
	return nil
}
