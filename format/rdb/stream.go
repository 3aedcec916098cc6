package rdb

import (
	"encoding/binary"
	"strconv"
)

// Streams (types 15, 19, 21, and Redis 13's 26; rdb.md §9, rdb-next.md §1.3):
// listpack nodes keyed by their 16-byte big-endian master ID, then the
// metadata, then consumer groups with their PEL and consumers.

// readStream decodes a stream. Without keep the entries are not built (and,
// unless Deep, node listpacks are skipped unread); the rest is small.
func (d *Decoder) readStream(keep bool) (*Stream, error) {
	t := d.ent.Type
	st := &Stream{}
	d.ctx = "stream"
	nodes, err := d.readCount()
	if err != nil {
		return nil, err
	}
	parse := keep || d.opt.Deep
	var prev StreamID
	var live uint64
	havePrev := false
	var arena []byte
	for i := range nodes {
		d.ctx = "stream node " + strconv.FormatUint(i, 10)
		off := d.off
		nk, err := d.readString(d.sbuf[2])
		if err != nil {
			return nil, err
		}
		d.sbuf[2] = nk
		if len(nk) != 16 {
			return nil, d.fail(off, d.ctx, errCorrupt("stream node key of "+strconv.Itoa(len(nk))+" bytes, want 16"))
		}
		master := StreamID{binary.BigEndian.Uint64(nk), binary.BigEndian.Uint64(nk[8:])}
		if havePrev && !idLess(prev, master) && d.opt.Deep {
			return nil, d.fail(off, d.ctx, errCorrupt("stream node keys not increasing"))
		}
		if !parse {
			if err := d.skipString(); err != nil {
				return nil, err
			}
			continue
		}
		blob, err := d.readBlob(keep)
		if err != nil {
			return nil, err
		}
		n, err := d.streamNode(st, blob, master, keep, &arena, &prev, &havePrev)
		if err != nil {
			return nil, err
		}
		live += n
	}
	d.ctx = "stream metadata"
	if st.Length, err = d.readUint(); err != nil {
		return nil, err
	}
	if st.LastID, err = d.readID(); err != nil {
		return nil, err
	}
	if nodes == 0 && st.Length > 0 {
		return nil, d.fail(d.off, d.ctx, errCorrupt("stream length > 0 without nodes"))
	}
	if t != TypeStreamListpacks {
		if st.FirstID, err = d.readID(); err != nil {
			return nil, err
		}
		if st.MaxDeletedID, err = d.readID(); err != nil {
			return nil, err
		}
		if st.EntriesAdded, err = d.readUint(); err != nil {
			return nil, err
		}
		st.HasV2Meta = true
	} else {
		// v1 defaults, as Redis fills them when loading.
		st.EntriesAdded = st.Length
		if len(st.Entries) > 0 {
			st.FirstID = st.Entries[0].ID
		}
	}
	if d.opt.Deep {
		if live != st.Length {
			return nil, d.fail(d.off, d.ctx, errCorrupt("stream length "+strconv.FormatUint(st.Length, 10)+
				" but "+strconv.FormatUint(live, 10)+" live entries"))
		}
		if havePrev && idLess(st.LastID, prev) {
			return nil, d.fail(d.off, d.ctx, errCorrupt("stream last ID below its largest entry ID"))
		}
	}
	if err := d.readGroups(st, t); err != nil {
		return nil, err
	}
	if t == TypeStreamListpacks4 {
		d.ctx = "stream IDMP"
		d.recording, d.rec, d.recErr = true, nil, nil
		err := d.skipIDMP()
		d.recording = false
		st.IDMP, d.rec = d.rec, nil
		if err == nil {
			err = d.recErr
		}
		if err != nil {
			return nil, err
		}
	}
	return st, nil
}

func idLess(a, b StreamID) bool { return a.Ms < b.Ms || a.Ms == b.Ms && a.Seq < b.Seq }

func (d *Decoder) readID() (StreamID, error) {
	ms, err := d.readUint()
	if err != nil {
		return StreamID{}, err
	}
	seq, err := d.readUint()
	return StreamID{ms, seq}, err
}

func (d *Decoder) readRawID() (StreamID, error) {
	p, err := d.readFixed(16)
	if err != nil {
		return StreamID{}, err
	}
	return StreamID{binary.BigEndian.Uint64(p), binary.BigEndian.Uint64(p[8:])}, nil
}

// streamNode parses one node listpack: the master entry (count, deleted,
// field names, 0), then count+deleted entries of flags, ID deltas, fields
// or values, and lp_count. It returns the number of live entries.
func (d *Decoder) streamNode(st *Stream, blob []byte, master StreamID, keep bool, arena *[]byte, prev *StreamID, havePrev *bool) (uint64, error) {
	base := d.strOff
	ents := d.lpents[:0]
	if len(blob) >= lpHdrSize {
		// Size for the header's entry count up front; every entry takes
		// at least 2 bytes of the blob, which bounds a lying count.
		if n := min(int(binary.LittleEndian.Uint16(blob[4:])), len(blob)/2); cap(ents) < n {
			ents = make([]blobEntry, 0, n)
		}
	}
	_, err := walkListpack(blob, func(i int, be blobEntry) error {
		// Field by field: copying be whole reloads it from its spill
		// slot with 16-byte loads the CPU cannot forward.
		ents = append(ents, blobEntry{})
		x := &ents[len(ents)-1]
		x.Str, x.Int, x.IsInt = be.Str, be.Int, be.IsInt
		return nil
	})
	d.lpents = ents[:0]
	if err != nil {
		return 0, d.wrapInner(err, base, d.ctx+" listpack")
	}
	bad := func(msg string) error { return d.fail(base, d.ctx, errCorrupt(msg)) }
	if len(ents) == 0 {
		return 0, bad("empty listpack inside stream")
	}
	p := 0
	num := func() (int64, bool) {
		if p >= len(ents) || !ents[p].IsInt {
			return 0, false
		}
		p++
		return ents[p-1].Int, true
	}
	count, ok1 := num()
	deleted, ok2 := num()
	nf, ok3 := num()
	if !ok1 || !ok2 || !ok3 || count < 0 || deleted < 0 || nf < 0 || int64(len(ents)-p) < nf {
		return 0, bad("invalid stream master entry")
	}
	fields := ents[p : p+int(nf)]
	p += int(nf)
	if z, ok := num(); !ok || z != 0 {
		return 0, bad("stream master entry not terminated by 0")
	}
	total := uint64(count) + uint64(deleted)
	if total > uint64(len(ents)) {
		return 0, bad("stream node entry count exceeds its listpack")
	}
	var live uint64
	// The entries' fields share chunks of one allocation each rather than
	// one per entry; each chunk is sized for the live entries the master
	// entry announces, bounded by the listpack's entry count.
	var chunk []StreamField
	newFields := func(k int) []StreamField {
		if k == 0 {
			return []StreamField{} // not nil, as make gave before
		}
		if cap(chunk)-len(chunk) < k {
			left := max(int64(1), count-int64(live))
			chunk = make([]StreamField, 0, max(k, int(min(int64(len(ents)), left*int64(k)))))
		}
		n := len(chunk)
		chunk = chunk[:n+k]
		return chunk[n : n+k : n+k]
	}
	for j := uint64(0); j < total; j++ {
		flags, ok1 := num()
		msd, ok2 := num()
		seqd, ok3 := num()
		if !ok1 || !ok2 || !ok3 {
			return 0, bad("truncated stream entry " + strconv.FormatUint(j, 10))
		}
		id := StreamID{master.Ms + uint64(msd), master.Seq + uint64(seqd)}
		if d.opt.Deep && *havePrev && !idLess(*prev, id) {
			return 0, bad("stream IDs not increasing")
		}
		*prev, *havePrev = id, true
		var vals []blobEntry
		var fn []blobEntry
		var lpWant int64
		if flags&streamItemSameFields != 0 {
			if int64(len(ents)-p) < nf {
				return 0, bad("truncated stream entry " + strconv.FormatUint(j, 10))
			}
			fn, vals = fields, ents[p:p+int(nf)]
			p += int(nf)
			lpWant = nf + 3
		} else {
			n, ok := num()
			if !ok || n < 0 || int64(len(ents)-p)/2 < n {
				return 0, bad("invalid stream entry field count")
			}
			vals = ents[p : p+int(2*n)]
			p += int(2 * n)
			lpWant = 2*n + 4
		}
		lpc, ok := num()
		if !ok {
			return 0, bad("missing stream entry lp-count")
		}
		if d.opt.Deep && lpc != lpWant {
			return 0, bad("stream entry lp-count " + strconv.FormatInt(lpc, 10) + ", want " + strconv.FormatInt(lpWant, 10))
		}
		if flags&streamItemDeleted != 0 {
			continue
		}
		live++
		if !keep {
			continue
		}
		se := StreamEntry{ID: id}
		if fn != nil {
			se.Fields = newFields(len(fn))
			for k := range fn {
				f := &se.Fields[k]
				f.Field, f.Value = d.entryText(&fn[k], true, 0, arena), d.entryText(&vals[k], true, 0, arena)
			}
		} else {
			se.Fields = newFields(len(vals) / 2)
			for k := range se.Fields {
				f := &se.Fields[k]
				f.Field, f.Value = d.entryText(&vals[2*k], true, 0, arena), d.entryText(&vals[2*k+1], true, 0, arena)
			}
		}
		st.Entries = append(st.Entries, se)
	}
	if p != len(ents) {
		return 0, bad("trailing data after the last stream entry")
	}
	if d.opt.Deep && live != uint64(count) {
		return 0, bad("stream node live count mismatch")
	}
	return live, nil
}

func (d *Decoder) readGroups(st *Stream, t Type) error {
	d.ctx = "stream groups"
	ng, err := d.readCount()
	if err != nil {
		return err
	}
	st.Groups = make([]StreamGroup, 0, capHint(ng))
	names := make(map[string]bool)
	for range ng {
		d.ctx = "stream group"
		off := d.off
		name, err := d.readString(nil)
		if err != nil {
			return err
		}
		if names[string(name)] {
			return d.fail(off, d.ctx, errCorrupt("duplicate consumer group "+strconv.Quote(string(name))))
		}
		names[string(name)] = true
		d.ctx = "stream group " + strconv.Quote(string(name))
		g := StreamGroup{Name: name, EntriesRead: EntriesReadUnknown}
		if g.LastID, err = d.readID(); err != nil {
			return err
		}
		if t != TypeStreamListpacks {
			// SCG_INVALID_ENTRIES_READ is -1 stored as a 64-bit length.
			er, err := d.readUint()
			if err != nil {
				return err
			}
			g.EntriesRead = int64(er)
		}
		np, err := d.readCount()
		if err != nil {
			return err
		}
		g.PEL = make([]StreamPending, 0, capHint(np))
		pel := make(map[StreamID]int, capHint(np))
		for range np {
			off := d.off
			id, err := d.readRawID()
			if err != nil {
				return err
			}
			dt, err := d.readUint64LE()
			if err != nil {
				return err
			}
			dc, err := d.readUint()
			if err != nil {
				return err
			}
			if _, dup := pel[id]; dup {
				return d.fail(off, d.ctx, errCorrupt("duplicate PEL entry"))
			}
			pel[id] = len(g.PEL)
			g.PEL = append(g.PEL, StreamPending{ID: id, DeliveryTimeMs: int64(dt), DeliveryCount: dc})
		}
		nc, err := d.readCount()
		if err != nil {
			return err
		}
		g.Consumers = make([]StreamConsumer, 0, capHint(nc))
		cnames := make(map[string]bool)
		for range nc {
			off := d.off
			cname, err := d.readString(nil)
			if err != nil {
				return err
			}
			if cnames[string(cname)] {
				return d.fail(off, d.ctx, errCorrupt("duplicate consumer "+strconv.Quote(string(cname))))
			}
			cnames[string(cname)] = true
			c := StreamConsumer{Name: cname}
			seen, err := d.readUint64LE()
			if err != nil {
				return err
			}
			c.SeenTimeMs, c.ActiveTimeMs = int64(seen), int64(seen)
			if t == TypeStreamListpacks3 || t == TypeStreamListpacks4 {
				act, err := d.readUint64LE()
				if err != nil {
					return err
				}
				c.ActiveTimeMs = int64(act)
			}
			nk, err := d.readCount()
			if err != nil {
				return err
			}
			c.PEL = make([]StreamID, 0, capHint(nk))
			for range nk {
				off := d.off
				id, err := d.readRawID()
				if err != nil {
					return err
				}
				i, ok := pel[id]
				if !ok {
					return d.fail(off, d.ctx, errCorrupt("consumer PEL entry missing from the group PEL"))
				}
				if g.PEL[i].Consumer != nil {
					return d.fail(off, d.ctx, errCorrupt("PEL entry owned by two consumers"))
				}
				g.PEL[i].Consumer = cname
				c.PEL = append(c.PEL, id)
			}
			g.Consumers = append(g.Consumers, c)
		}
		if d.opt.Deep {
			for _, p := range g.PEL {
				if p.Consumer == nil {
					return d.fail(d.off, d.ctx, errCorrupt("PEL entry without a consumer"))
				}
			}
		}
		st.Groups = append(st.Groups, g)
	}
	return nil
}

// skipIDMP consumes Redis 13's stream IDMP tail (kept raw by the caller).
func (d *Decoder) skipIDMP() error {
	off := d.off
	dur, err := d.readUint()
	if err != nil {
		return err
	}
	maxEnt, err := d.readUint()
	if err != nil {
		return err
	}
	if d.opt.Deep && (dur < 1 || dur > 86400 || maxEnt < 1 || maxEnt > 10000) {
		return d.fail(off, d.ctx, errCorrupt("IDMP duration or max entries out of range"))
	}
	np, err := d.readCount()
	if err != nil {
		return err
	}
	for range np {
		if err := d.skipString(); err != nil {
			return err
		}
		n, err := d.readCount()
		if err != nil {
			return err
		}
		for range n {
			if err := d.skipString(); err != nil {
				return err
			}
			if _, err := d.readID(); err != nil {
				return err
			}
		}
	}
	if _, err := d.readUint(); err != nil {
		return err
	}
	_, err = d.readUint()
	return err
}
