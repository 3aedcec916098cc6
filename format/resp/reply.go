package resp

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// Reply is one RESP2 server reply (used to talk to a real redis-server in
// integration tests).
type Reply struct {
	Type  byte    // '+', '-', ':', '$' or '*'
	Str   []byte  // simple string, error text or bulk payload
	Int   int64   // integer reply, or the length for '$' / '*'
	Array []Reply // elements of an array reply
	Nil   bool    // "$-1" or "*-1"
}

// String renders the reply for test failure messages.
func (r Reply) String() string {
	switch {
	case r.Nil:
		return "(nil)"
	case r.Type == ':':
		return strconv.FormatInt(r.Int, 10)
	case r.Type == '*':
		return fmt.Sprint(r.Array)
	case r.Type == '-':
		return "(error) " + string(r.Str)
	}
	return strconv.Quote(string(r.Str))
}

// maxReplyNesting bounds array nesting so hostile replies cannot exhaust
// the stack.
const maxReplyNesting = 64

// ReadReply reads one RESP2 reply. Errors from the server ('-') are
// returned as a Reply of Type '-', not as a Go error.
func ReadReply(br *bufio.Reader) (Reply, error) { return readReply(br, 0) }

func readReply(br *bufio.Reader, depth int) (Reply, error) {
	if depth > maxReplyNesting {
		return Reply{}, fmt.Errorf("resp: reply nested deeper than %d: %w", maxReplyNesting, ErrLimit)
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Reply{}, fmt.Errorf("resp: reading reply: %w", err)
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return Reply{}, fmt.Errorf("resp: %w: bad reply line %q", ErrFormat, clip(line))
	}
	body := line[1 : len(line)-2]
	rep := Reply{Type: line[0]}
	switch rep.Type {
	case '+', '-':
		rep.Str = append([]byte(nil), body...)
		return rep, nil
	case ':', '$', '*':
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return Reply{}, fmt.Errorf("resp: %w: bad number in reply %q", ErrFormat, clip(line))
		}
		rep.Int = n
		if rep.Type == ':' {
			return rep, nil
		}
		if n < 0 {
			rep.Nil = true
			return rep, nil
		}
		if n > DefaultLimits.MaxBulkLen {
			return Reply{}, fmt.Errorf("resp: reply length %d: %w", n, ErrLimit)
		}
		if rep.Type == '$' {
			// io.ReadFull into a buffer that grows with the data, never
			// trusting n for an up-front allocation beyond 64 KiB.
			buf := make([]byte, 0, min(n+2, 64<<10))
			lr := io.LimitReader(br, n+2)
			for int64(len(buf)) < n+2 {
				if len(buf) == cap(buf) {
					buf = append(buf, 0)[:len(buf)]
				}
				k, err := lr.Read(buf[len(buf):min(int64(cap(buf)), n+2)])
				buf = buf[:len(buf)+k]
				if err != nil {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return Reply{}, fmt.Errorf("resp: reading bulk reply: %w", err)
				}
			}
			if buf[n] != '\r' || buf[n+1] != '\n' {
				return Reply{}, fmt.Errorf("resp: %w: bulk reply not followed by CRLF", ErrFormat)
			}
			rep.Str = buf[:n:n]
			return rep, nil
		}
		rep.Array = make([]Reply, 0, min(n, 1024))
		for i := int64(0); i < n; i++ {
			e, err := readReply(br, depth+1)
			if err != nil {
				return Reply{}, err
			}
			rep.Array = append(rep.Array, e)
		}
		return rep, nil
	}
	return Reply{}, fmt.Errorf("resp: %w: unknown reply type %s", ErrFormat, quoteByte(rep.Type))
}
