package bgwrite

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// failAfter accepts n writes, then fails every one.
type failAfter struct {
	n      int
	writes int
	got    bytes.Buffer
}

var errDisk = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	f.writes++
	if f.writes > f.n {
		return 0, errDisk
	}
	return f.got.Write(p)
}

// TestWriterKeepsOrder: writes of every size, through small buffers and a
// short queue, arrive whole and in order.
func TestWriterKeepsOrder(t *testing.T) {
	var want bytes.Buffer
	dst := &failAfter{n: 1 << 30}
	w := NewWriter(dst, 64, 2)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		p := bytes.Repeat([]byte{byte(i)}, r.IntN(200))
		want.Write(p)
		if n, err := w.Write(p); n != len(p) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst.got.Bytes(), want.Bytes()) {
		t.Fatalf("wrote %d bytes, want %d, or out of order", dst.got.Len(), want.Len())
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestWriterStickyError: after a write fails, nothing more is written,
// later writes report it (once the goroutine got there), and so does Close.
func TestWriterStickyError(t *testing.T) {
	dst := &failAfter{n: 3}
	w := NewWriter(dst, 16, 1)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = w.Write(make([]byte, 16))
	}
	if cerr := w.Close(); !errors.Is(cerr, errDisk) {
		t.Fatalf("Close: %v, want %v", cerr, errDisk)
	}
	if err != nil && !errors.Is(err, errDisk) {
		t.Errorf("Write: %v, want %v", err, errDisk)
	}
	if dst.writes != 4 || dst.got.Len() != 3*16 {
		t.Errorf("%d writes tried, %d bytes written: want 4 and 48 (none after the failure)", dst.writes, dst.got.Len())
	}
}

// TestQueueRecyclesSmallBuffers: written buffers come back from Submit
// for reuse, up to keep bytes of capacity; larger ones do not.
func TestQueueRecyclesSmallBuffers(t *testing.T) {
	dst := &failAfter{n: 1 << 30}
	q := NewQueue(1, 4, 32)
	small, big := 0, 0
	for range 50 {
		if b := q.Submit(dst, make([]byte, 8, 32)); b != nil {
			if len(b) != 0 || cap(b) > 32 {
				t.Fatalf("recycled buffer len %d cap %d", len(b), cap(b))
			}
			small++
		}
	}
	q.Close()
	q = NewQueue(1, 4, 32)
	for range 50 {
		if b := q.Submit(dst, make([]byte, 8, 64)); b != nil {
			big++
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if small == 0 || big != 0 {
		t.Errorf("%d small and %d large buffers recycled: want some and none", small, big)
	}
	if dst.got.Len() != 100*8 {
		t.Errorf("%d bytes written, want %d", dst.got.Len(), 100*8)
	}
}
