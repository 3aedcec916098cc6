package main

import (
	"bufio"
	"container/heap"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
)

type memoryOptions struct {
	env  *cli.Env
	g    *cli.Globals
	file string
	top  int
}

func newMemoryCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &memoryOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "memory FILE",
		Short: "Report the size of every key (CSV, or NDJSON with --json)",
		Long: `memory prints one row per key: db, key, type, encoding, rdb_bytes (the
key's record in the file, prefix opcodes included), payload_bytes (the
value's own bytes), elements, expire_at_ms, mem_bytes (estimated memory
in RAM, as MEMORY USAGE key SAMPLES 0 reports it on Redis 7.0 with default
settings: jemalloc size classes, key sds, dictEntry, robj, and the
in-memory encoding the value loads to). --top N keeps the N largest by
rdb_bytes (not mem_bytes), largest first. Output is CSV, or NDJSON with --json. Keys that
are not valid UTF-8 are written as base64:<...> in CSV.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			if o.top < 0 {
				return cli.Usagef("--top must not be negative")
			}
			return runMemory(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.top, "top", 0, "only the N largest keys (0: all, in file order)")
	return cmd
}

type keySize struct {
	db       uint64
	key      []byte
	kind     rdb.Kind
	enc      rdb.Encoding
	rdbBytes int64
	payload  int64
	elements int64
	expire   int64
	mem      int64
	seq      int // file order, for stable ties
}

// sizeHeap is a min-heap on rdbBytes for --top.
type sizeHeap []keySize

func (h sizeHeap) Len() int { return len(h) }
func (h sizeHeap) Less(i, j int) bool {
	if h[i].rdbBytes != h[j].rdbBytes {
		return h[i].rdbBytes < h[j].rdbBytes
	}
	return h[i].seq > h[j].seq
}
func (h sizeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *sizeHeap) Push(x any)   { *h = append(*h, x.(keySize)) }
func (h *sizeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// appendCSVField appends field as encoding/csv's Writer writes it: quoted
// (quotes doubled) when it holds a comma, quote, CR or LF, starts with a
// space, or is \. (TestAppendCSVField compares the two).
func appendCSVField(dst []byte, field string) []byte {
	quote := field == `\.`
	for i := 0; i < len(field) && !quote; i++ {
		switch field[i] {
		case ',', '"', '\r', '\n':
			quote = true
		}
	}
	if !quote {
		if r, _ := utf8.DecodeRuneInString(field); field != "" && unicode.IsSpace(r) {
			quote = true
		}
	}
	if !quote {
		return append(dst, field...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(field); i++ {
		if field[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, field[i])
	}
	return append(dst, '"')
}

func runMemory(ctx context.Context, o *memoryOptions) error {
	in, err := openInput(o.env, o.file)
	if err != nil {
		return err
	}
	defer in.Close()
	w := bufio.NewWriterSize(o.env.Out, 256<<10)
	if !o.g.JSON {
		w.WriteString("db,key,type,encoding,rdb_bytes,payload_bytes,elements,expire_at_ms,mem_bytes\n")
	}
	var buf []byte
	emit := func(k *keySize) {
		exp := ""
		if k.expire != rdb.NoExpire {
			exp = strconv.FormatInt(k.expire, 10)
		}
		if !o.g.JSON {
			// The CSV line as encoding/csv wrote it, without a string
			// per field (that was a third of the command's time).
			buf = strconv.AppendUint(buf[:0], k.db, 10)
			buf = append(buf, ',')
			buf = appendCSVField(buf, textKey(k.key))
			buf = append(buf, ',')
			buf = append(buf, k.kind.String()...)
			buf = append(buf, ',')
			buf = append(buf, k.enc.String()...)
			for _, n := range [...]int64{k.rdbBytes, k.payload, k.elements} {
				buf = append(buf, ',')
				buf = strconv.AppendInt(buf, n, 10)
			}
			buf = append(buf, ',')
			buf = append(buf, exp...)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, k.mem, 10)
			buf = append(buf, '\n')
			w.Write(buf)
			return
		}
		buf = append(buf[:0], `{"db":`...)
		buf = strconv.AppendUint(buf, k.db, 10)
		buf = append(buf, `,"key":`...)
		buf = cli.AppendBytes(buf, k.key)
		buf = fmt.Appendf(buf, `,"type":%q,"encoding":%q,"rdb_bytes":%d,"payload_bytes":%d,"elements":%d`,
			k.kind.String(), k.enc.String(), k.rdbBytes, k.payload, k.elements)
		if exp != "" {
			buf = append(buf, `,"expire_at_ms":`...)
			buf = append(buf, exp...)
		}
		buf = append(buf, `,"mem_bytes":`...)
		buf = strconv.AppendInt(buf, k.mem, 10)
		buf = append(buf, "}\n"...)
		w.Write(buf)
	}
	var top sizeHeap
	p := o.env.NewProgress(o.g, "reading")
	dec := rdb.NewDecoder(in, nil)
	derr := func() error {
		for n := 0; ; n++ {
			if n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				p.Update(in.count.N(), in.size)
			}
			rec, err := dec.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			e, ok := rec.(*rdb.Entry)
			if !ok {
				continue
			}
			payload, elems, mem, err := entryMem(dec, e)
			if err != nil {
				return err
			}
			k := keySize{db: e.DB, key: e.Key, kind: e.Kind, enc: e.Encoding, rdbBytes: dec.Offset() - e.Offset,
				payload: payload, elements: elems, expire: e.ExpireAtMs,
				mem: keyMem(e.Key, mem), seq: n}
			if o.top == 0 {
				emit(&k)
				continue
			}
			if top.Len() < o.top {
				k.key = append([]byte(nil), k.key...)
				heap.Push(&top, k)
			} else if k.rdbBytes > top[0].rdbBytes {
				k.key = append([]byte(nil), k.key...)
				top[0] = k
				heap.Fix(&top, 0)
			}
		}
	}()
	p.Done()
	if derr == nil && o.top > 0 {
		sort.Slice(top, func(i, j int) bool { return top.Less(j, i) })
		for i := range top {
			emit(&top[i])
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if derr != nil {
		return fmt.Errorf("%s: %w", o.file, derr)
	}
	return nil
}
