package resp

import (
	"bufio"
	"bytes"
	"os"
	"testing"
)

func newBufio(data []byte) *bufio.Reader { return bufio.NewReaderSize(bytes.NewReader(data), 64<<10) }

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
