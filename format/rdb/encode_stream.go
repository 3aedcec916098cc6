package rdb

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
)

// Stream entry flags (t_stream.c).
const (
	streamItemDeleted    = 1
	streamItemSameFields = 2
)

func appendStreamIDRaw(b []byte, id StreamID) []byte {
	b = binary.BigEndian.AppendUint64(b, id.Ms)
	return binary.BigEndian.AppendUint64(b, id.Seq)
}

func appendStreamIDLen(b []byte, id StreamID) []byte {
	return appendLen(appendLen(b, id.Ms), id.Seq)
}

func idCmp(a, b StreamID) int {
	if c := cmp.Compare(a.Ms, b.Ms); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// streamNode is one listpack node being filled like streamAppendItem.
type streamNode struct {
	master  StreamID
	fields  [][]byte // master fields
	body    []byte   // listpack entries after the master entry
	count   int
	nelem   int // listpack elements in body
	lpBytes int // size of the listpack as Redis would have it
}

// appendStream appends a stream value of type t (rdb.md §9, rdb-next §1.3).
func (e *Encoder) appendStream(b []byte, s *Stream, t Type) ([]byte, error) {
	ver := 1
	switch t {
	case TypeStreamListpacks2:
		ver = 2
	case TypeStreamListpacks3:
		ver = 3
	case TypeStreamListpacks4:
		ver = 4
	}
	for i := 1; i < len(s.Entries); i++ {
		if idCmp(s.Entries[i-1].ID, s.Entries[i].ID) >= 0 {
			return b, &FormatError{Context: "stream entry " + fmt.Sprint(i), Err: fmt.Errorf("%w: entry IDs not increasing", ErrUnsupported)}
		}
	}
	nodes := e.streamNodes(s.Entries)
	b = appendLen(b, uint64(len(nodes)))
	var lp, key []byte
	for i := range nodes {
		n := &nodes[i]
		key = appendStreamIDRaw(key[:0], n.master)
		b = e.appendString(b, key)
		lp = n.finish(lp[:0])
		b = e.appendString(b, lp)
	}
	b = appendLen(b, s.Length)
	b = appendStreamIDLen(b, s.LastID)
	if ver >= 2 {
		first, maxDel, added := s.FirstID, s.MaxDeletedID, s.EntriesAdded
		if !s.HasV2Meta {
			first, maxDel, added = StreamID{}, StreamID{}, s.Length
			if len(s.Entries) > 0 {
				first = s.Entries[0].ID
			}
		}
		b = appendStreamIDLen(b, first)
		b = appendStreamIDLen(b, maxDel)
		b = appendLen(b, added)
	}
	groups := slices.Clone(s.Groups)
	slices.SortStableFunc(groups, func(a, b StreamGroup) int { return bytes.Compare(a.Name, b.Name) })
	b = appendLen(b, uint64(len(groups)))
	for _, g := range groups {
		b = e.appendString(b, g.Name)
		b = appendStreamIDLen(b, g.LastID)
		if ver >= 2 {
			b = appendLen(b, uint64(g.EntriesRead)) // -1 (unknown) becomes 0x81 FF*8
		}
		pel := slices.Clone(g.PEL)
		slices.SortStableFunc(pel, func(a, b StreamPending) int { return idCmp(a.ID, b.ID) })
		b = appendLen(b, uint64(len(pel)))
		for _, p := range pel {
			b = appendStreamIDRaw(b, p.ID)
			b = appendMs(b, p.DeliveryTimeMs)
			b = appendLen(b, p.DeliveryCount)
		}
		cons := slices.Clone(g.Consumers)
		slices.SortStableFunc(cons, func(a, b StreamConsumer) int { return bytes.Compare(a.Name, b.Name) })
		b = appendLen(b, uint64(len(cons)))
		for _, c := range cons {
			b = e.appendString(b, c.Name)
			b = appendMs(b, c.SeenTimeMs)
			if ver >= 3 {
				b = appendMs(b, c.ActiveTimeMs)
			}
			ids := slices.Clone(c.PEL)
			slices.SortFunc(ids, idCmp)
			b = appendLen(b, uint64(len(ids)))
			for _, id := range ids {
				b = appendStreamIDRaw(b, id)
			}
		}
	}
	if ver >= 4 {
		b = append(b, s.IDMP...)
	}
	return b, nil
}

// streamNodes groups entries into listpack nodes like XADD does: a new node
// when the tail's bytes plus the new entry's field and value lengths reach
// stream-node-max-bytes, or it holds stream-node-max-entries entries.
func (e *Encoder) streamNodes(entries []StreamEntry) []streamNode {
	th := &e.opt.Thresholds
	maxBytes := th.StreamNodeMaxBytes
	if maxBytes <= 0 || maxBytes > 1<<30 {
		maxBytes = 1 << 30 // STREAM_LISTPACK_MAX_SIZE
	}
	var nodes []streamNode
	var one []byte
	for _, ent := range entries {
		tot := 0
		for _, f := range ent.Fields {
			tot += len(f.Field) + len(f.Value)
		}
		var n *streamNode
		if len(nodes) > 0 {
			n = &nodes[len(nodes)-1]
			if n.lpBytes+tot >= maxBytes || (th.StreamNodeMaxEntries > 0 && n.count >= th.StreamNodeMaxEntries) {
				n = nil
			}
		}
		if n == nil {
			nodes = append(nodes, streamNode{master: ent.ID})
			n = &nodes[len(nodes)-1]
			for _, f := range ent.Fields {
				n.fields = append(n.fields, f.Field)
			}
			// Master entry: count, deleted, #fields, fields..., 0.
			one = lpAppendInt(one[:0], 1)
			one = lpAppendInt(one, 0)
			one = lpAppendInt(one, int64(len(n.fields)))
			for _, f := range n.fields {
				one = lpAppendEntry(one, f)
			}
			one = lpAppendInt(one, 0)
			n.lpBytes = 7 + len(one)
		}
		same := len(ent.Fields) == len(n.fields)
		for i := 0; same && i < len(ent.Fields); i++ {
			same = bytes.Equal(ent.Fields[i].Field, n.fields[i])
		}
		start := len(n.body)
		flags := int64(0)
		if same {
			flags = streamItemSameFields
		}
		n.body = lpAppendInt(n.body, flags)
		n.body = lpAppendInt(n.body, int64(ent.ID.Ms-n.master.Ms))
		n.body = lpAppendInt(n.body, int64(ent.ID.Seq-n.master.Seq))
		lpCount := int64(len(ent.Fields)) + 3
		if same {
			for _, f := range ent.Fields {
				n.body = lpAppendEntry(n.body, f.Value)
			}
		} else {
			n.body = lpAppendInt(n.body, int64(len(ent.Fields)))
			for _, f := range ent.Fields {
				n.body = lpAppendEntry(n.body, f.Field)
				n.body = lpAppendEntry(n.body, f.Value)
			}
			lpCount += int64(len(ent.Fields)) + 1
		}
		n.body = lpAppendInt(n.body, lpCount)
		n.nelem += int(lpCount) + 1
		n.count++
		n.lpBytes += len(n.body) - start
	}
	return nodes
}

// finish appends the node's complete listpack to dst.
func (n *streamNode) finish(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0)
	dst = lpAppendInt(dst, int64(n.count))
	dst = lpAppendInt(dst, 0)
	dst = lpAppendInt(dst, int64(len(n.fields)))
	for _, f := range n.fields {
		dst = lpAppendEntry(dst, f)
	}
	dst = lpAppendInt(dst, 0)
	nelem := 4 + len(n.fields) + n.nelem
	dst = append(dst, n.body...)
	dst = append(dst, 0xFF)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	binary.LittleEndian.PutUint16(dst[start+4:], uint16(min(nelem, 65535)))
	return dst
}
