package cli

import (
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// Progress receives how far a long operation got. Implementations throttle
// themselves; callers may call Update per record.
type Progress interface {
	Update(done, total int64)
	Done()
}

type nopProgress struct{}

func (nopProgress) Update(int64, int64) {}
func (nopProgress) Done()               {}

// NewProgress returns a text progress line on stderr when stderr is a
// terminal and neither --json nor -q is set; otherwise a no-op.
func (e *Env) NewProgress(g *Globals, label string) Progress {
	if !e.IsTTY.Err || g.JSON || g.Quiet {
		return nopProgress{}
	}
	return &textProgress{w: e.Err, label: label, now: e.now, every: 200 * time.Millisecond, start: e.now()}
}

func (e *Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

type textProgress struct {
	w      io.Writer
	label  string
	now    func() time.Time
	every  time.Duration
	start  time.Time // nothing is shown for quick operations
	last   time.Time
	shown  bool
	closed bool
}

func (p *textProgress) Update(done, total int64) {
	t := p.now()
	if p.closed || t.Sub(p.start) < 500*time.Millisecond || (!p.last.IsZero() && t.Sub(p.last) < p.every) {
		return
	}
	p.last = t
	p.shown = true
	if total > 0 {
		fmt.Fprintf(p.w, "\r%s %5.1f%% (%s / %s)\x1b[K", p.label, 100*float64(done)/float64(total), humanBytes(done), humanBytes(total))
	} else {
		fmt.Fprintf(p.w, "\r%s %s\x1b[K", p.label, humanBytes(done))
	}
}

// Done clears the line.
func (p *textProgress) Done() {
	if p.shown && !p.closed {
		io.WriteString(p.w, "\r\x1b[K")
	}
	p.closed = true
}

// NewJSONProgress returns a progress printer writing NDJSON lines
// {"progress":{"done":N,"total":T}} to w at most every interval.
func NewJSONProgress(w io.Writer, now func() time.Time, every time.Duration) Progress {
	return &jsonProgress{w: w, now: now, every: every}
}

type jsonProgress struct {
	w     io.Writer
	now   func() time.Time
	every time.Duration
	last  time.Time
}

func (p *jsonProgress) Update(done, total int64) {
	t := p.now()
	if !p.last.IsZero() && t.Sub(p.last) < p.every {
		return
	}
	p.last = t
	b := []byte(`{"progress":{"done":`)
	b = strconv.AppendInt(b, done, 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, total, 10)
	b = append(b, "}}\n"...)
	p.w.Write(b)
}

func (p *jsonProgress) Done() {}

// CountingReader counts bytes read, for progress. The count is atomic:
// a decoder reading ahead (rdb.DecodeOptions.ConcurrentCRC) calls Read on
// its own goroutine while the progress is read on the caller's.
type CountingReader struct {
	R io.Reader
	n atomic.Int64
}

// Read reads from R and counts the bytes.
func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	if n > 0 {
		c.n.Add(int64(n))
	}
	return n, err
}

// N is the number of bytes read so far; it may be called from any
// goroutine.
func (c *CountingReader) N() int64 { return c.n.Load() }

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// HumanBytes formats a byte count with binary units.
func HumanBytes(n int64) string { return humanBytes(n) }
