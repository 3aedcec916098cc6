package resp

import (
	"bufio"
	"bytes"
)

func newBufio(data []byte) *bufio.Reader { return bufio.NewReaderSize(bytes.NewReader(data), 64<<10) }
