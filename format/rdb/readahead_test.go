package rdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// The three ways of reading input (source in readahead.go) must be
// indistinguishable: same records, values, offsets, errors and checksums,
// whatever sizes the underlying reader returns.

// readerModes wrap a file's bytes in each kind of reader the decoder treats
// differently. The first is the reference.
var readerModes = []struct {
	name string
	wrap func([]byte) io.Reader
}{
	{"bytes", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"stream", func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }},
	{"onebyte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"half", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
	{"dataerr", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
	{"empty-reads", func(b []byte) io.Reader { return &stutterReader{data: b} }},
	{"bufio16", func(b []byte) io.Reader { return bufio.NewReaderSize(bytes.NewReader(b), 16) }},
	{"bufio-onebyte", func(b []byte) io.Reader {
		return bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(b)), 4096)
	}},
}

// stutterReader returns its data in uneven pieces with (0, nil) reads in
// between, as a slow pipe may.
type stutterReader struct {
	data []byte
	n    int
}

func (r *stutterReader) Read(p []byte) (int, error) {
	r.n++
	if r.n%3 == 0 {
		return 0, nil
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), len(r.data), 1+r.n*37%5000)
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

// failAfter delivers data and then fails with err instead of io.EOF.
type failAfter struct {
	data []byte
	err  error
}

func (r *failAfter) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

var errInjected = errors.New("injected read error")

// transcript decodes r to the end and writes down everything a caller can
// observe. Entries alternate between skipping the value, Value and
// Elements, starting at the given phase.
func transcript(r io.Reader, opt *DecodeOptions, phase int) string {
	var sb strings.Builder
	d := NewDecoder(r, opt)
	defer d.Close()
	v, err := d.Version()
	fmt.Fprintf(&sb, "version %d %v\n", v, err)
	for i := phase; ; i++ {
		rec, err := d.Next()
		if err != nil {
			fmt.Fprintf(&sb, "end at %d: %s\n", d.Offset(), describeErr(err))
			break
		}
		fmt.Fprintf(&sb, "%d: %T %+v\n", d.Offset(), rec, rec)
		e, ok := rec.(*Entry)
		if !ok {
			continue
		}
		switch i % 3 {
		case 1:
			val, err := d.Value()
			s := show(val)
			if len(s) > 200 {
				s = fmt.Sprintf("%d bytes crc %x", len(s), CRC64(0, []byte(s)))
			}
			fmt.Fprintf(&sb, "  value %s %s\n", s, describeErr(err))
		case 2:
			if e.Kind == KindStream || e.Kind == KindModule {
				continue
			}
			err := d.Elements(func(el *Element) error {
				fmt.Fprintf(&sb, "  elem %s %s %v %d\n", short(el.Member), short(el.Value), el.Score, el.ExpireAtMs)
				return nil
			})
			fmt.Fprintf(&sb, "  elements %s\n", describeErr(err))
		}
	}
	stored, computed := d.Checksum()
	fmt.Fprintf(&sb, "crc %x %x offset %d\n", stored, computed, d.Offset())
	return sb.String()
}

// short quotes b, or sums it up when long.
func short(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%d bytes crc %x", len(b), CRC64(0, b))
	}
	return fmt.Sprintf("%q", b)
}

func describeErr(err error) string {
	if err == nil {
		return "ok"
	}
	s := err.Error()
	var fe *FormatError
	if errors.As(err, &fe) {
		s += fmt.Sprintf(" [offset %d]", fe.Offset)
	}
	for _, c := range []error{io.EOF, io.ErrUnexpectedEOF, io.ErrNoProgress, ErrCorrupt, ErrChecksum, ErrLimit, ErrUnsupported, errInjected, iotest.ErrTimeout} {
		if errors.Is(err, c) {
			s += " [is " + c.Error() + "]"
		}
	}
	return s
}

// quick is set when the race detector (about 10x slower) or -short asks
// for a sample of the cases.
func quick() bool { return raceEnabled || testing.Short() }

// compareModes checks that every reader mode gives the reference's
// transcript of data.
func compareModes(t *testing.T, name string, data []byte, opt *DecodeOptions, phase int) {
	t.Helper()
	want := transcript(readerModes[0].wrap(data), opt, phase)
	for i, m := range readerModes[1:] {
		if m.name == "onebyte" && len(data) > 64<<10 {
			continue // a chunk per byte through the goroutine: slow
		}
		if quick() && len(data) > 4<<10 && (i+phase)%3 != 0 {
			continue
		}
		for _, crc := range []bool{false, true} {
			if got := transcript(m.wrap(data), withCRC(opt, crc), phase); got != want {
				t.Errorf("%s: %s reader (ConcurrentCRC %v) differs from %s:\n%s", name, m.name, crc, readerModes[0].name, firstDiff(want, got))
			}
		}
	}
}

// withCRC returns a copy of opt with ConcurrentCRC set to on.
func withCRC(opt *DecodeOptions, on bool) *DecodeOptions {
	var o DecodeOptions
	if opt != nil {
		o = *opt
	}
	o.ConcurrentCRC = on
	return &o
}

// parityFiles are the corpus (corrupt files included) and testdata files.
func parityFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{}
	for _, dir := range []string{decCorpusDir, "testdata"} {
		err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() || !strings.HasSuffix(path, ".rdb") {
				return err
			}
			b, err := os.ReadFile(path)
			files[path] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func TestReaderModesCorpus(t *testing.T) {
	files := parityFiles(t)
	i := 0
	for path, data := range files {
		i++
		if quick() && len(data) > 16<<10 && i%8 != 0 {
			continue
		}
		for _, deep := range []bool{false, true} {
			if quick() && deep == (i%2 == 0) {
				continue
			}
			compareModes(t, path, data, &DecodeOptions{Deep: deep}, i)
		}
	}
}

// Truncated files and read errors at sampled offsets: the error, its offset
// and the offset reached are the same in every mode.
func TestReaderModesTruncatedAndFailing(t *testing.T) {
	names := []string{"7.4.1/types-small/dump.rdb", "7.4.1/streams/dump.rdb", "7.0.15-debian/types-large/dump.rdb"}
	if quick() {
		names = names[:2]
	}
	for _, name := range names {
		data, err := os.ReadFile(decCorpusDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, uint64(len(data))))
		cuts := []int{0, 1, 5, 9, 10, len(data) - 9, len(data) - 8, len(data) - 4, len(data) - 1}
		samples := 12
		if quick() {
			samples = 2
			cuts = cuts[2:7]
		}
		for range samples {
			cuts = append(cuts, rng.IntN(len(data)))
		}
		for _, n := range cuts {
			cut := data[:n]
			opt := &DecodeOptions{Deep: n%2 == 0}
			compareModes(t, fmt.Sprintf("%s[:%d]", name, n), cut, opt, n)
			want := transcript(&failAfter{data: cut, err: errInjected}, opt, n)
			if !strings.Contains(want, "[is "+errInjected.Error()+"]") {
				t.Errorf("%s[:%d]: injected error not reported:\n%s", name, n, want)
			}
			wraps := []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return bufio.NewReaderSize(r, 16) },
				func(r io.Reader) io.Reader { return struct{ io.Reader }{r} },
			}
			if n <= 64<<10 {
				wraps = append(wraps, iotest.OneByteReader)
			}
			for _, wrap := range wraps {
				for _, crc := range []bool{false, true} {
					if got := transcript(wrap(&failAfter{data: cut, err: errInjected}), withCRC(opt, crc), n); got != want {
						t.Errorf("%s[:%d] failing with an error (ConcurrentCRC %v): modes differ:\n%s", name, n, crc, firstDiff(want, got))
					}
				}
			}
		}
	}
}

// onceFail fails once, with errInjected, when a Read starts at offset at;
// reads before stop there.
type onceFail struct {
	data   []byte
	off    int
	at     int
	failed bool
}

func (r *onceFail) Read(p []byte) (int, error) {
	if r.off == r.at && !r.failed {
		r.failed = true
		return 0, errInjected
	}
	if r.off == len(r.data) {
		return 0, io.EOF
	}
	end := len(r.data)
	if r.off < r.at {
		end = r.at
	}
	n := copy(p, r.data[r.off:end])
	r.off += n
	return n, nil
}

// A reader error is returned once, as bufio does. Peeking at a string
// value's encoding swallows an error (the value is then read again), so a
// reader failing once right there does not stop the decoding; elsewhere the
// error stops it. Every mode must agree with the caller's-bufio one.
func TestReaderModesTransientError(t *testing.T) {
	data, err := os.ReadFile(decCorpusDir + "/7.4.1/types-small/dump.rdb")
	if err != nil {
		t.Fatal(err)
	}
	// Where values start, and a few other places.
	var ats []int
	d := NewDecoder(bytes.NewReader(data), nil)
	for {
		rec, err := d.Next()
		if err != nil {
			break
		}
		if e, ok := rec.(*Entry); ok && e.Kind == KindString && len(ats) < 5 {
			ats = append(ats, int(d.Offset()))
		}
	}
	ats = append(ats, 0, 3, 9, 100, len(data)-8, len(data)-3)
	swallowed := 0
	for _, at := range ats {
		want := transcript(bufio.NewReaderSize(&onceFail{data: data, at: at}, 16), nil, 0)
		if !strings.Contains(want, errInjected.Error()) {
			swallowed++
		}
		for _, crc := range []bool{false, true} {
			for name, r := range map[string]io.Reader{
				"stream":  &onceFail{data: data, at: at},
				"onebyte": iotest.OneByteReader(&onceFail{data: data, at: at}),
			} {
				if got := transcript(r, &DecodeOptions{ConcurrentCRC: crc}, 0); got != want {
					t.Errorf("fail once at %d, %s (ConcurrentCRC %v): %s", at, name, crc, firstDiff(want, got))
				}
			}
		}
	}
	if swallowed == 0 {
		t.Error("no case where the error was swallowed: the test does not test that")
	}
}

// bigFile builds a valid RDB of about size bytes: many small keys, values
// that straddle the 1 MiB chunks, and one string larger than
// maxChunk.
func bigFile(size int) []byte {
	r := newRB(9).raw(OpSelectDB).len(0)
	rng := rand.New(rand.NewPCG(7, 7))
	val := make([]byte, 3<<20)
	for i := range val {
		val[i] = byte('a' + rng.IntN(26))
	}
	for i := 0; len(r.b) < size; i++ {
		n := rng.IntN(200)
		switch {
		case i%5000 == 4999:
			n = 100000 + rng.IntN(900000)
		case i == 7000:
			n = len(val)
		}
		if i%7 == 0 {
			r.raw(OpExpireTimeMs).u64(uint64(1e12 + i))
		}
		r.raw(byte(TypeString)).str(fmt.Sprintf("key:%08d", i)).blob(val[:n])
		if i%11 == 0 {
			r.raw(byte(TypeList)).str(fmt.Sprintf("list:%08d", i)).len(3).str("a").str("bb").raw(0xC0, 7)
		}
	}
	return r.end()
}

func TestReaderModesBigFile(t *testing.T) {
	size, modes, deeps := 4<<20, []int{1, 3, 5, 6}, []bool{false, true}
	if quick() {
		size, modes, deeps = 1<<20+1<<19, []int{1}, []bool{true}
	}
	data := bigFile(size)
	for _, deep := range deeps {
		opt := &DecodeOptions{Deep: deep}
		want := transcript(bytes.NewReader(data), opt, 0)
		if !strings.Contains(want, "[is EOF]") {
			t.Fatalf("big file does not decode: %s", want[max(0, len(want)-300):])
		}
		for _, m := range modes {
			for _, crc := range []bool{false, true} {
				if got := transcript(readerModes[m].wrap(data), withCRC(opt, crc), 0); got != want {
					t.Errorf("deep %v: %s reader (ConcurrentCRC %v) differs:\n%s", deep, readerModes[m].name, crc, firstDiff(want, got))
				}
			}
		}
		// A checksum mismatch past the first chunk is found in every mode.
		bad := bytes.Clone(data)
		bad[len(bad)/2] ^= 1
		if !quick() {
			compareModes(t, "big file with a flipped byte", bad, opt, 1)
		} else if got := transcript(readerModes[1].wrap(bad), withCRC(opt, true), 1); !strings.Contains(got, "[is "+ErrChecksum.Error()+"]") {
			t.Errorf("flipped byte not found by the checksum: %s", got[max(0, len(got)-300):])
		}
	}
}

// With a *bufio.Reader the decoder leaves exactly what follows the footer,
// whatever the buffer size and however much of a big file it read.
func TestPreambleLeavesRestBig(t *testing.T) {
	data := bigFile(2 << 20)
	sizes := []int{16, 4096, 1 << 20, 4 << 20}
	if quick() {
		sizes = sizes[1:]
	}
	for _, size := range sizes {
		br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(data), strings.NewReader("*1\r\n$4\r\nPING\r\n")), size)
		d := NewDecoder(br, &DecodeOptions{Deep: true})
		var err error
		for err == nil {
			_, err = d.Next()
		}
		if err != io.EOF {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(br)
		if string(rest) != "*1\r\n$4\r\nPING\r\n" || d.Offset() != int64(len(data)) {
			t.Errorf("size %d: rest %q, offset %d of %d", size, rest, d.Offset(), len(data))
		}
	}
}

// blockingReader delivers data, then blocks until release is closed.
type blockingReader struct {
	data    []byte
	blocked chan struct{} // closed when the first blocking read starts
	release chan struct{}
	calls   atomic.Int32 // read after the goroutine ended
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if r.calls.Add(1) == 2 {
		close(r.blocked)
	}
	if len(r.data) == 0 {
		<-r.release
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want <= %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// The read-ahead goroutine ends at the footer, on error, on Close, and
// when an abandoned Decoder is collected.
func TestReadAheadGoroutineEnds(t *testing.T) {
	data := bigFile(3 << 20)
	if quick() {
		data = bigFile(1<<20 + 1<<19)
	}
	base := runtime.NumGoroutine()

	// Read to the end: stopped without Close.
	d := NewDecoder(struct{ io.Reader }{bytes.NewReader(data)}, &DecodeOptions{ConcurrentCRC: true})
	for {
		if _, err := d.Next(); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
	}
	waitGoroutines(t, base)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Errorf("Next after EOF and Close: %v, want io.EOF", err)
	}

	// Close in the middle: sticky error, idempotent.
	d = NewDecoder(struct{ io.Reader }{bytes.NewReader(data)}, &DecodeOptions{ConcurrentCRC: true})
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); err == nil || err == io.EOF {
		t.Errorf("Next after Close: %v, want an error", err)
	}
	waitGoroutines(t, base)

	// Abandoned decoders, their goroutine blocked on a full pipeline.
	for range 20 {
		d := NewDecoder(struct{ io.Reader }{bytes.NewReader(data)}, &DecodeOptions{ConcurrentCRC: true})
		if _, err := d.Next(); err != nil {
			t.Fatal(err)
		}
	}
	waitGoroutines(t, base)

	// A read error: the goroutine stops with the decoder's sticky error.
	d = NewDecoder(&failAfter{data: data[:len(data)/2], err: errInjected}, &DecodeOptions{ConcurrentCRC: true})
	for {
		if _, err := d.Next(); err != nil {
			if !errors.Is(err, errInjected) {
				t.Fatalf("got %v, want the injected error", err)
			}
			break
		}
	}
	waitGoroutines(t, base)

	// Close while the reader would block: the read in progress ends in
	// the background, and no read starts after it.
	br := &blockingReader{data: data[:100], blocked: make(chan struct{}), release: make(chan struct{})}
	d = NewDecoder(br, &DecodeOptions{ConcurrentCRC: true})
	if _, err := d.Version(); err != nil {
		t.Fatal(err)
	}
	// Close only once the second read is in progress; closing earlier
	// lets the goroutine stop before it, which is also correct.
	<-br.blocked
	d.Close()
	close(br.release)
	waitGoroutines(t, base)
	if n := br.calls.Load(); n != 2 {
		t.Errorf("%d reads, want 2 (the data, then the one blocked at Close)", n)
	}
}

// guardedReader checks the read-ahead contract on the reader: one call at
// a time, at most raBuffers distinct buffers of raChunkSize bytes (bounded
// memory), and a read that failed is repeated only when the decoder asks,
// as often as without read-ahead (which may read up to the first failure
// where the decoder alone stopped at the footer).
type guardedReader struct {
	t        *testing.T
	r        io.Reader
	busy     atomic.Bool
	mu       sync.Mutex // the goroutine may still read after the decoder's end
	bufs     map[*byte]bool
	failures int
}

func (g *guardedReader) Read(p []byte) (int, error) {
	if !g.busy.CompareAndSwap(false, true) {
		g.t.Error("reader called concurrently")
	}
	defer g.busy.Store(false)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(p) > 0 {
		g.bufs[&p[:1][0]] = true
	}
	n, err := g.r.Read(p)
	if err != nil {
		g.failures++
	}
	return n, err
}

func TestReadAheadReaderContract(t *testing.T) {
	base := runtime.NumGoroutine()
	data := bigFile(6 << 20)
	if quick() {
		data = bigFile(3 << 20)
	}
	cuts := []int{len(data), len(data) / 3, len(data) - 3, 100}
	for _, n := range cuts {
		for _, errAt := range []error{io.EOF, errInjected} {
			var want string
			wantFailures := -1
			for _, crc := range []bool{false, true} {
				g := &guardedReader{t: t, r: &failAfter{data: data[:n], err: errAt}, bufs: map[*byte]bool{}}
				got := transcript(struct{ io.Reader }{g}, &DecodeOptions{ConcurrentCRC: crc}, n)
				waitGoroutines(t, base) // a read ahead may still run
				g.mu.Lock()
				defer g.mu.Unlock()
				if !crc {
					want, wantFailures = got, g.failures
					continue
				}
				if got != want {
					t.Errorf("[:%d] %v: transcripts differ:\n%s", n, errAt, firstDiff(want, got))
				}
				if max(g.failures, 1) != max(wantFailures, 1) {
					t.Errorf("[:%d] %v: %d failing reads with read-ahead, %d without", n, errAt, g.failures, wantFailures)
				}
				if len(g.bufs) > raBuffers || len(g.bufs) == 0 {
					t.Errorf("[:%d] %v: reads into %d buffers, want 1..%d", n, errAt, len(g.bufs), raBuffers)
				}
			}
		}
	}
}

// Without ConcurrentCRC the package starts no goroutine, whatever the reader.
func TestNoGoroutineByDefault(t *testing.T) {
	data := bigFile(1<<20 + 1<<19)
	base := runtime.NumGoroutine()
	d := NewDecoder(struct{ io.Reader }{bytes.NewReader(data)}, &DecodeOptions{Deep: true})
	for {
		_, err := d.Next()
		if n := runtime.NumGoroutine(); n > base {
			t.Fatalf("%d goroutines while decoding, want %d", n, base)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
