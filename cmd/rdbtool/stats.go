package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
)

type statsOptions struct {
	env  *cli.Env
	g    *cli.Globals
	file string
}

func newStatsCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &statsOptions{env: env, g: g}
	return &cobra.Command{
		Use:   "stats FILE",
		Short: "Summarise an RDB file: keys per database, type and encoding, sizes",
		Long: `stats reads FILE once and prints: the RDB version and AUX fields, keys and
TTLs per database, and per type/encoding the number of keys, elements,
payload bytes (the values' own bytes) and bytes in the file. --json prints
one object.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			return runStats(cmd.Context(), o)
		},
	}
}

type typeStats struct {
	Keys, Elements, Payload, FileBytes int64
}

type fileStats struct {
	Version   int
	Aux       []*rdb.Aux
	DBKeys    map[uint64]int64
	DBExpires map[uint64]int64
	Types     map[string]*typeStats // "type/encoding"
	Functions int
	ModuleAux int
	Size      int64
}

func collectStats(ctx context.Context, in *input, p cli.Progress) (*fileStats, error) {
	st := &fileStats{DBKeys: map[uint64]int64{}, DBExpires: map[uint64]int64{}, Types: map[string]*typeStats{}}
	dec := rdb.NewDecoder(in, nil)
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			p.Update(in.count.N(), in.size)
		}
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch r := rec.(type) {
		case *rdb.Aux:
			st.Aux = append(st.Aux, r)
		case *rdb.Function:
			st.Functions++
		case *rdb.ModuleAux:
			st.ModuleAux++
		case *rdb.Entry:
			elems, payload, err := entrySize(dec, r)
			if err != nil {
				return nil, err
			}
			st.DBKeys[r.DB]++
			if r.ExpireAtMs != rdb.NoExpire {
				st.DBExpires[r.DB]++
			}
			k := r.Kind.String() + "/" + r.Encoding.String()
			ts := st.Types[k]
			if ts == nil {
				ts = &typeStats{}
				st.Types[k] = ts
			}
			ts.Keys++
			ts.Elements += elems
			ts.Payload += payload
			ts.FileBytes += dec.Offset() - r.Offset
		}
	}
	st.Version, _ = dec.Version()
	st.Size = dec.Offset()
	return st, nil
}

// entrySize reads the value of e and returns its element count and
// payload bytes (valueLen and valueSize). Collections are streamed element
// by element instead of built as a Value (7.5 s -> 2.6 s for the stats of
// the 1 GB mixed.rdb, most of it allocation and GC); streams and module
// values, which Elements does not stream, are still built.
func entrySize(dec *rdb.Decoder, e *rdb.Entry) (elems, payload int64, err error) {
	if e.Kind == rdb.KindStream || e.Kind == rdb.KindModule {
		v, err := dec.Value()
		if err != nil {
			return 0, 0, err
		}
		return valueLen(v), valueSize(v), nil
	}
	zset := e.Kind == rdb.KindZSet
	err = dec.Elements(func(el *rdb.Element) error {
		elems++
		payload += int64(len(el.Member) + len(el.Value))
		if zset {
			payload += 8
		}
		return nil
	})
	return elems, payload, err
}

func runStats(ctx context.Context, o *statsOptions) error {
	in, err := openInput(o.env, o.file)
	if err != nil {
		return err
	}
	defer in.Close()
	p := o.env.NewProgress(o.g, "reading")
	st, err := collectStats(ctx, in, p)
	p.Done()
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	w := bufio.NewWriter(o.env.Out)
	dbs := make([]uint64, 0, len(st.DBKeys))
	for d := range st.DBKeys {
		dbs = append(dbs, d)
	}
	sort.Slice(dbs, func(i, j int) bool { return dbs[i] < dbs[j] })
	types := make([]string, 0, len(st.Types))
	for t := range st.Types {
		types = append(types, t)
	}
	sort.Strings(types)
	if o.g.JSON {
		b := []byte(`{"file":`)
		b = cli.AppendString(b, o.file)
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(st.Version), 10)
		b = append(b, `,"size_bytes":`...)
		b = strconv.AppendInt(b, st.Size, 10)
		b = append(b, `,"aux":{`...)
		for i, a := range st.Aux {
			if i > 0 {
				b = append(b, ',')
			}
			b = cli.AppendString(b, cli.PrintableBytes(a.Key))
			b = append(b, ':')
			b = cli.AppendBytes(b, a.Value)
		}
		b = append(b, `},"dbs":[`...)
		for i, d := range dbs {
			if i > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"db":%d,"keys":%d,"expires":%d}`, d, st.DBKeys[d], st.DBExpires[d])
		}
		b = append(b, `],"types":[`...)
		for i, t := range types {
			if i > 0 {
				b = append(b, ',')
			}
			ts := st.Types[t]
			typ, enc := splitCount(t)
			b = fmt.Appendf(b, `{"type":%q,"encoding":%q,"keys":%d,"elements":%d,"payload_bytes":%d,"file_bytes":%d}`,
				typ, enc, ts.Keys, ts.Elements, ts.Payload, ts.FileBytes)
		}
		b = fmt.Appendf(b, `],"functions":%d,"module_aux":%d}`+"\n", st.Functions, st.ModuleAux)
		w.Write(b)
		return w.Flush()
	}
	tty := o.env.IsTTY.Out
	if tty {
		fmt.Fprintf(w, "%s: RDB version %d, %s\n", cli.Printable(o.file), st.Version, cli.HumanBytes(st.Size))
		for _, a := range st.Aux {
			fmt.Fprintf(w, "  %s = %s\n", cli.PrintableBytes(a.Key), cli.PrintableBytes(a.Value))
		}
		fmt.Fprintln(w)
	}
	t := cli.NewTable(w, tty, "DB", "KEYS", "EXPIRES")
	for _, d := range dbs {
		t.Append("db"+strconv.FormatUint(d, 10), strconv.FormatInt(st.DBKeys[d], 10), strconv.FormatInt(st.DBExpires[d], 10))
	}
	t.Render()
	if tty {
		fmt.Fprintln(w)
	}
	t = cli.NewTable(w, tty, "TYPE", "ENCODING", "KEYS", "ELEMENTS", "PAYLOAD BYTES", "FILE BYTES")
	for _, k := range types {
		ts := st.Types[k]
		typ, enc := splitCount(k)
		t.Append(typ, enc, strconv.FormatInt(ts.Keys, 10), strconv.FormatInt(ts.Elements, 10),
			strconv.FormatInt(ts.Payload, 10), strconv.FormatInt(ts.FileBytes, 10))
	}
	t.Render()
	if tty && (st.Functions > 0 || st.ModuleAux > 0) {
		fmt.Fprintf(w, "\n%d function libraries, %d module aux records\n", st.Functions, st.ModuleAux)
	}
	return w.Flush()
}
