package rdb

// Deferred decoding. A value in one of Redis' compact encodings (listpack,
// ziplist, zipmap, intset: every small hash, set and sorted set) is a
// single string in the file. Decoder.Defer reads that string and nothing
// else; a BlobWalker walks it later, on any goroutine, with the elements
// and errors Elements would have given. A pipeline that decodes on one
// core and formats on another can so move the walking, the larger part of
// decoding such a value, to the formatting side.

// Blob is the body of a value read by Decoder.Defer.
type Blob struct {
	ent  Entry // Type, Kind and Encoding (Key is not kept)
	data []byte
	base int64 // file offset of data, or of its compressed payload
	lzf  bool  // data was LZF-compressed in the file
	// noKey: the decoder named no key in its errors (an empty raw key),
	// so Walk names none either
	noKey bool
}

// Defer reads the value of the *Entry last returned by Next when it is a
// single blob, into memory from alloc (as ElementsIn does), and reports
// true; b then holds it until walked. For a value in any other encoding,
// or with DecodeOptions.Deep (whose checks span the walk), it reports
// false and leaves the value unread.
func (d *Decoder) Defer(alloc func(n int) []byte, b *Blob) (bool, error) {
	if d.err != nil {
		return false, d.err
	}
	if !d.pending {
		return false, errNoEntry
	}
	e := d.ent
	if d.opt.Deep || !singleBlob(e.Type) {
		return false, nil
	}
	d.pending = false
	err := d.deferBlob(alloc, b)
	if err != nil {
		d.stick(err)
	}
	return true, err
}

func (d *Decoder) deferBlob(alloc func(n int) []byte, b *Blob) error {
	e := d.ent
	if e.Type == TypeHashListpackEx {
		d.ctx = "listpackex min expire"
		if _, err := d.readUint64LE(); err != nil {
			return err
		}
	}
	d.ctx = e.Encoding.String()
	d.alloc = alloc
	data, err := d.readBlob(true)
	d.alloc = nil
	if err != nil {
		return err
	}
	// Field by field, as *b = Blob{...} built the struct on the stack and
	// copied it out with loads that stall on the stores just made.
	b.ent = Entry{}
	b.ent.Type, b.ent.Kind, b.ent.Encoding = e.Type, e.Kind, e.Encoding
	b.data, b.base, b.lzf, b.noKey = data, d.strOff, d.strLZF, d.curKey == nil
	return nil
}

// singleBlob reports whether a value of type t is one string in the file.
func singleBlob(t Type) bool {
	switch t {
	case TypeSetIntset, TypeSetListpack, TypeListZiplist, TypeHashZipmap, TypeHashZiplist,
		TypeZSetZiplist, TypeHashListpack, TypeZSetListpack, TypeHashListpackEx:
		return true
	}
	return false
}

// BlobWalker walks deferred values. Its zero value is ready to use; reuse
// one to save allocations. Not safe for concurrent use.
type BlobWalker struct {
	d Decoder // the walking state of a decoder, without its input
}

// Walk passes the elements of b to fn, as ElementsIn would have: strings
// alias b's memory, integers rendered as text go to memory from alloc,
// and every slice stays valid as long as both do. key names the value in
// errors, which carry the file offsets of the blob's contents.
func (w *BlobWalker) Walk(b *Blob, key []byte, alloc func(n int) []byte, fn func(*Element) error) error {
	d := &w.d
	if b.noKey {
		key = nil
	}
	ent := b.ent
	ent.Key = key
	d.ent, d.curKey = &ent, key
	d.strOff, d.strLZF = b.base, b.lzf
	d.ctx = b.ent.Encoding.String()
	d.alloc = alloc
	d.elem = Element{}
	err := d.walkBlob(b.data, b.base, true, &d.elem, fn)
	d.alloc, d.ent, d.curKey = nil, nil, nil
	return err
}
