package resp

import (
	"bufio"
	"errors"
)

// STUB: owned by the resp work (issue 4); replace wholesale.

// Reply is a server reply (used by tests that talk to a real redis-server).
type Reply struct {
	Type  byte   // '+', '-', ':', '$', '*', '_'(nil)
	Str   []byte // simple string, error text or bulk
	Int   int64
	Array []Reply
	Nil   bool
}

// ReadReply reads one RESP2 reply.
func ReadReply(r *bufio.Reader) (Reply, error) { return Reply{}, errors.New("resp: not implemented") }
