package cli

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// A decoder reading ahead calls Read on its own goroutine while progress
// reads N on another: under -race this test fails if the count is not
// synchronized.
func TestCountingReaderConcurrent(t *testing.T) {
	const size = 1 << 16
	c := &CountingReader{R: iotest.HalfReader(strings.NewReader(strings.Repeat("x", size)))}
	done := make(chan error)
	go func() {
		_, err := io.Copy(io.Discard, c)
		done <- err
	}()
	last := int64(0)
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		n := c.N()
		if n < last || n > size {
			t.Fatalf("N went from %d to %d (size %d)", last, n, size)
		}
		last = n
	}
	if c.N() != size {
		t.Errorf("N = %d, want %d", c.N(), size)
	}
}
