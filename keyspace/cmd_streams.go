package keyspace

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
)

var (
	errStreamID       = errors.New("Invalid stream ID specified as stream command argument")
	errXAddSmaller    = errors.New("The ID specified in XADD is equal or smaller than the target stream top item")
	errXAddZero       = errors.New("The ID specified in XADD must be greater than 0-0")
	errXSetIDSmaller  = errors.New("The ID specified in XSETID is smaller than the target stream top item")
	errXSetIDAdded    = errors.New("The entries_added specified in XSETID is smaller than the target stream length")
	errXSetIDDeleted  = errors.New("The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
	errBusyGroup      = errors.New("BUSYGROUP Consumer Group name already exists")
	errNoGroup        = errors.New("NOGROUP No such key or consumer group")
	errXGroupNoStream = errors.New("The XGROUP subcommand requires the key to exist")
	errStreamExhaust  = errors.New("The stream has exhausted the last possible ID, unable to add more items")
)

func init() {
	register("XADD", -5, cmdXAdd)
	register("XDEL", -3, cmdXDel)
	register("XTRIM", -4, cmdXTrim)
	register("XSETID", -3, cmdXSetID)
	register("XACK", -4, cmdXAck)
	register("XCLAIM", -6, cmdXClaim)
	register("XGROUP", -2, nil)
	registerSub("XGROUP", "CREATE", -5, cmdXGroupCreate)
	registerSub("XGROUP", "SETID", -5, cmdXGroupSetID)
	registerSub("XGROUP", "DESTROY", 4, cmdXGroupDestroy)
	registerSub("XGROUP", "CREATECONSUMER", 5, cmdXGroupCreateConsumer)
	registerSub("XGROUP", "DELCONSUMER", 5, cmdXGroupDelConsumer)
	registerSub("XGROUP", "HELP", 2, noop)
	unsupported := fmt.Errorf("%w: AOFs carry its effects as XCLAIM/XGROUP records", ErrUnsupported)
	register("XREADGROUP", -7, func(*Store, [][]byte) error { return unsupported })
	register("XAUTOCLAIM", -6, func(*Store, [][]byte) error { return unsupported })
	for _, n := range []string{"XRANGE", "XREVRANGE", "XLEN", "XREAD", "XPENDING", "XINFO"} {
		register(n, -2, noop)
	}
}

func cmpID(a, b rdb.StreamID) int {
	if c := cmp.Compare(a.Ms, b.Ms); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// parseID parses "ms-seq" or "ms" (seq = missingSeq); "-" and "+" when
// allowed mean the smallest and largest IDs.
func parseID(b []byte, missingSeq uint64) (rdb.StreamID, error) {
	if len(b) == 1 && b[0] == '-' {
		return rdb.StreamID{}, nil
	}
	if len(b) == 1 && b[0] == '+' {
		return rdb.StreamID{Ms: math.MaxUint64, Seq: math.MaxUint64}, nil
	}
	ms, seq, found := bytes.Cut(b, []byte("-"))
	id := rdb.StreamID{Seq: missingSeq}
	var err error
	if id.Ms, err = strconv.ParseUint(string(ms), 10, 64); err != nil {
		return id, errStreamID
	}
	if found {
		if id.Seq, err = strconv.ParseUint(string(seq), 10, 64); err != nil {
			return id, errStreamID
		}
	}
	return id, nil
}

func formatID(id rdb.StreamID) string {
	return strconv.FormatUint(id.Ms, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

func (s *Store) stream(key []byte) (*rdb.Stream, error) {
	o, err := s.lookupKind(key, rdb.KindStream)
	if err != nil || o == nil {
		return nil, err
	}
	return o.Stream, nil
}

// entryIndex finds id in the entries (sorted by ID).
func entryIndex(st *rdb.Stream, id rdb.StreamID) (int, bool) {
	return slices.BinarySearchFunc(st.Entries, id, func(e rdb.StreamEntry, id rdb.StreamID) int { return cmpID(e.ID, id) })
}

// syncMeta refreshes length and the recorded first ID after removals.
func syncMeta(st *rdb.Stream) {
	st.Length = uint64(len(st.Entries))
	if len(st.Entries) > 0 {
		st.FirstID = st.Entries[0].ID
	} else {
		st.FirstID = rdb.StreamID{}
	}
}

// trimSpec is a parsed MAXLEN/MINID option.
type trimSpec struct {
	set    bool
	maxLen bool
	n      int64
	minID  rdb.StreamID
}

// parseTrim reads MAXLEN|MINID [=|~] threshold [LIMIT n] at args[i] and
// returns the index after it. "~" is applied exactly: AOFs always carry
// "=" with the threshold Redis actually reached.
func parseTrim(args [][]byte, i int) (trimSpec, int, error) {
	var t trimSpec
	t.set = true
	t.maxLen = eq(args[i], "MAXLEN")
	i++
	if i < len(args) && (string(args[i]) == "=" || string(args[i]) == "~") {
		i++
	}
	if i >= len(args) {
		return t, i, ErrSyntax
	}
	if t.maxLen {
		n, err := parseInt(args[i])
		if err != nil {
			return t, i, err
		}
		if n < 0 {
			return t, i, errors.New("The MAXLEN argument must be >= 0.")
		}
		t.n = n
	} else {
		id, err := parseID(args[i], 0)
		if err != nil {
			return t, i, err
		}
		t.minID = id
	}
	i++
	if i+1 < len(args) && eq(args[i], "LIMIT") {
		if _, err := parseInt(args[i+1]); err != nil {
			return t, i, err
		}
		i += 2
	}
	return t, i, nil
}

func (t trimSpec) apply(st *rdb.Stream) {
	if !t.set {
		return
	}
	drop := 0
	if t.maxLen {
		if int64(len(st.Entries)) > t.n {
			drop = len(st.Entries) - int(t.n)
		}
	} else {
		for drop < len(st.Entries) && cmpID(st.Entries[drop].ID, t.minID) < 0 {
			drop++
		}
	}
	if drop > 0 {
		st.Entries = st.Entries[drop:]
		syncMeta(st)
	}
}

func cmdXAdd(s *Store, args [][]byte) error {
	i := 2
	noMk := false
	var trim trimSpec
	for ; i < len(args); i++ {
		switch {
		case eq(args[i], "NOMKSTREAM"):
			noMk = true
			continue
		case eq(args[i], "MAXLEN"), eq(args[i], "MINID"):
			t, next, err := parseTrim(args, i)
			if err != nil {
				return err
			}
			trim = t
			i = next - 1
			continue
		}
		break
	}
	if i >= len(args) {
		return ErrSyntax
	}
	idArg := args[i]
	fv := args[i+1:]
	if len(fv) == 0 || len(fv)%2 != 0 {
		return ErrArity
	}
	o, err := s.lookupKind(args[1], rdb.KindStream)
	if err != nil {
		return err
	}
	var last rdb.StreamID
	if o != nil {
		last = o.Stream.LastID
	}
	var id rdb.StreamID
	switch {
	case string(idArg) == "*":
		// Redis takes max(wall clock, last ms); NowMs stands in for the clock.
		id.Ms = max(uint64(max(s.NowMs, 0)), last.Ms)
		if id.Ms == last.Ms {
			if last.Seq == math.MaxUint64 {
				if last.Ms == math.MaxUint64 {
					return errStreamExhaust
				}
				id = rdb.StreamID{Ms: last.Ms + 1}
			} else {
				id.Seq = last.Seq + 1
			}
		}
	case bytes.HasSuffix(idArg, []byte("-*")):
		ms, err := strconv.ParseUint(string(idArg[:len(idArg)-2]), 10, 64)
		if err != nil {
			return errStreamID
		}
		id.Ms = ms
		if ms == last.Ms && o != nil {
			if last.Seq == math.MaxUint64 {
				return errXAddSmaller
			}
			id.Seq = last.Seq + 1
		}
		if cmpID(id, last) <= 0 && o != nil {
			return errXAddSmaller
		}
	default:
		id, err = parseID(idArg, 0)
		if err != nil {
			return err
		}
		if id == (rdb.StreamID{}) {
			return errXAddZero
		}
		if cmpID(id, last) <= 0 {
			return errXAddSmaller
		}
	}
	if o == nil {
		if noMk {
			return nil
		}
		o, _ = s.lookupOrCreate(args[1], rdb.KindStream)
	}
	st := o.Stream
	e := rdb.StreamEntry{ID: id, Fields: make([]rdb.StreamField, 0, len(fv)/2)}
	for j := 0; j < len(fv); j += 2 {
		e.Fields = append(e.Fields, rdb.StreamField{Field: clone(fv[j]), Value: clone(fv[j+1])})
	}
	st.Entries = append(st.Entries, e)
	st.LastID = id
	st.EntriesAdded++
	syncMeta(st)
	trim.apply(st)
	return nil
}

func cmdXDel(s *Store, args [][]byte) error {
	ids := make([]rdb.StreamID, 0, len(args)-2)
	for _, a := range args[2:] {
		id, err := parseID(a, 0)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	st, err := s.stream(args[1])
	if err != nil || st == nil {
		return err
	}
	for _, id := range ids {
		if i, ok := entryIndex(st, id); ok {
			st.Entries = slices.Delete(st.Entries, i, i+1)
			if cmpID(id, st.MaxDeletedID) > 0 {
				st.MaxDeletedID = id
			}
		}
	}
	syncMeta(st)
	return nil
}

func cmdXTrim(s *Store, args [][]byte) error {
	if !eq(args[2], "MAXLEN") && !eq(args[2], "MINID") {
		return ErrSyntax
	}
	t, next, err := parseTrim(args, 2)
	if err != nil {
		return err
	}
	if next != len(args) {
		return ErrSyntax
	}
	st, err := s.stream(args[1])
	if err != nil || st == nil {
		return err
	}
	t.apply(st)
	return nil
}

func cmdXSetID(s *Store, args [][]byte) error {
	id, err := parseID(args[2], 0)
	if err != nil {
		return err
	}
	added, maxDel := int64(-1), rdb.StreamID{}
	hasMaxDel := false
	for i := 3; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return ErrSyntax
		}
		switch {
		case eq(args[i], "ENTRIESADDED"):
			if added, err = parseInt(args[i+1]); err != nil {
				return err
			}
			if added < 0 {
				return errors.New("entries_added must be positive")
			}
		case eq(args[i], "MAXDELETEDID"):
			if maxDel, err = parseID(args[i+1], 0); err != nil {
				return err
			}
			if cmpID(id, maxDel) < 0 {
				return errXSetIDDeleted
			}
			hasMaxDel = true
		default:
			return ErrSyntax
		}
	}
	st, err := s.stream(args[1])
	if err != nil {
		return err
	}
	if st == nil {
		return ErrNoSuchKey
	}
	if len(st.Entries) > 0 && cmpID(id, st.Entries[len(st.Entries)-1].ID) < 0 {
		return errXSetIDSmaller
	}
	if added >= 0 && uint64(added) < uint64(len(st.Entries)) {
		return errXSetIDAdded
	}
	st.LastID = id
	if added >= 0 {
		st.EntriesAdded = uint64(added)
	}
	if hasMaxDel {
		st.MaxDeletedID = maxDel
	}
	return nil
}

func findGroup(st *rdb.Stream, name []byte) *rdb.StreamGroup {
	for i := range st.Groups {
		if bytes.Equal(st.Groups[i].Name, name) {
			return &st.Groups[i]
		}
	}
	return nil
}

// findConsumer returns the named consumer, creating it when create.
func findConsumer(g *rdb.StreamGroup, name []byte, create bool, now int64) *rdb.StreamConsumer {
	for i := range g.Consumers {
		if bytes.Equal(g.Consumers[i].Name, name) {
			return &g.Consumers[i]
		}
	}
	if !create {
		return nil
	}
	g.Consumers = append(g.Consumers, rdb.StreamConsumer{Name: clone(name), SeenTimeMs: now, ActiveTimeMs: -1})
	slices.SortFunc(g.Consumers, func(a, b rdb.StreamConsumer) int { return bytes.Compare(a.Name, b.Name) })
	return findConsumer(g, name, false, now)
}

// groupArgs returns the stream and group named by args[i], args[i+1].
func (s *Store) groupArgs(key, group []byte) (*rdb.Stream, *rdb.StreamGroup, error) {
	st, err := s.stream(key)
	if err != nil {
		return nil, nil, err
	}
	if st == nil {
		return nil, nil, errNoGroup
	}
	g := findGroup(st, group)
	if g == nil {
		return nil, nil, errNoGroup
	}
	return st, g, nil
}

// groupID parses a group's last ID argument ("$" = the stream's last ID)
// and an optional ENTRIESREAD n.
func groupID(st *rdb.Stream, args [][]byte, i int) (id rdb.StreamID, entriesRead int64, rest [][]byte, err error) {
	entriesRead = rdb.EntriesReadUnknown
	if string(args[i]) == "$" {
		// "$" only picks the last ID; entries_read stays unknown.
		if st != nil {
			id = st.LastID
		}
	} else if id, err = parseID(args[i], 0); err != nil {
		return
	}
	rest = args[i+1:]
	for j := 0; j < len(rest); j++ {
		if eq(rest[j], "ENTRIESREAD") && j+1 < len(rest) {
			if entriesRead, err = parseInt(rest[j+1]); err != nil {
				return
			}
			if entriesRead < 0 && entriesRead != rdb.EntriesReadUnknown {
				err = errors.New("value for ENTRIESREAD must be positive or -1")
				return
			}
			rest = append(rest[:j:j], rest[j+2:]...)
			j--
		}
	}
	return
}

func cmdXGroupCreate(s *Store, args [][]byte) error {
	st, err := s.stream(args[2])
	if err != nil {
		return err
	}
	id, read, rest, err := groupID(st, args, 4)
	if err != nil {
		return err
	}
	mk := false
	for _, a := range rest {
		if !eq(a, "MKSTREAM") {
			return ErrSyntax
		}
		mk = true
	}
	if st == nil {
		if !mk {
			return errXGroupNoStream
		}
		o, _ := s.lookupOrCreate(args[2], rdb.KindStream)
		st = o.Stream
	}
	if findGroup(st, args[3]) != nil {
		return errBusyGroup
	}
	st.Groups = append(st.Groups, rdb.StreamGroup{Name: clone(args[3]), LastID: id, EntriesRead: read})
	slices.SortFunc(st.Groups, func(a, b rdb.StreamGroup) int { return bytes.Compare(a.Name, b.Name) })
	return nil
}

func cmdXGroupSetID(s *Store, args [][]byte) error {
	st, g, err := s.groupArgs(args[2], args[3])
	if err != nil {
		return err
	}
	id, read, rest, err := groupID(st, args, 4)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return ErrSyntax
	}
	g.LastID, g.EntriesRead = id, read
	return nil
}

func cmdXGroupDestroy(s *Store, args [][]byte) error {
	st, err := s.stream(args[2])
	if err != nil {
		return err
	}
	if st == nil {
		return errNoGroup
	}
	st.Groups = slices.DeleteFunc(st.Groups, func(g rdb.StreamGroup) bool { return bytes.Equal(g.Name, args[3]) })
	return nil
}

func cmdXGroupCreateConsumer(s *Store, args [][]byte) error {
	_, g, err := s.groupArgs(args[2], args[3])
	if err != nil {
		return err
	}
	findConsumer(g, args[4], true, s.NowMs)
	return nil
}

func cmdXGroupDelConsumer(s *Store, args [][]byte) error {
	_, g, err := s.groupArgs(args[2], args[3])
	if err != nil {
		return err
	}
	g.PEL = slices.DeleteFunc(g.PEL, func(p rdb.StreamPending) bool { return bytes.Equal(p.Consumer, args[4]) })
	g.Consumers = slices.DeleteFunc(g.Consumers, func(c rdb.StreamConsumer) bool { return bytes.Equal(c.Name, args[4]) })
	return nil
}

// pendingIndex finds id in the group's PEL (kept sorted by ID).
func pendingIndex(g *rdb.StreamGroup, id rdb.StreamID) (int, bool) {
	return slices.BinarySearchFunc(g.PEL, id, func(p rdb.StreamPending, id rdb.StreamID) int { return cmpID(p.ID, id) })
}

// unlinkPending removes id from the PEL of the consumer owning it.
func unlinkPending(g *rdb.StreamGroup, p rdb.StreamPending) {
	if c := findConsumer(g, p.Consumer, false, 0); c != nil {
		c.PEL = slices.DeleteFunc(c.PEL, func(id rdb.StreamID) bool { return id == p.ID })
	}
}

func cmdXAck(s *Store, args [][]byte) error {
	ids := make([]rdb.StreamID, 0, len(args)-3)
	for _, a := range args[3:] {
		id, err := parseID(a, 0)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	st, err := s.stream(args[1])
	if err != nil || st == nil {
		return err
	}
	g := findGroup(st, args[2])
	if g == nil {
		return nil
	}
	for _, id := range ids {
		if i, ok := pendingIndex(g, id); ok {
			unlinkPending(g, g.PEL[i])
			g.PEL = slices.Delete(g.PEL, i, i+1)
		}
	}
	return nil
}

// cmdXClaim is XCLAIM key group consumer min-idle id... [IDLE ms]
// [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id], the form AOFs
// use for XREADGROUP deliveries and claims.
func cmdXClaim(s *Store, args [][]byte) error {
	if _, err := parseInt(args[4]); err != nil {
		return err
	}
	i := 5
	var ids []rdb.StreamID
	for ; i < len(args); i++ {
		id, err := parseID(args[i], 0)
		if err != nil {
			break
		}
		ids = append(ids, id)
	}
	deliveryMs := s.NowMs
	retry := int64(-1)
	var force, justID bool
	var lastID *rdb.StreamID
	for ; i < len(args); i++ {
		hasVal := i+1 < len(args)
		switch {
		case eq(args[i], "FORCE"):
			force = true
		case eq(args[i], "JUSTID"):
			justID = true
		case eq(args[i], "IDLE") && hasVal:
			v, err := parseInt(args[i+1])
			if err != nil {
				return err
			}
			deliveryMs = s.NowMs - v
			i++
		case eq(args[i], "TIME") && hasVal:
			v, err := parseInt(args[i+1])
			if err != nil {
				return err
			}
			deliveryMs = v
			i++
		case eq(args[i], "RETRYCOUNT") && hasVal:
			v, err := parseInt(args[i+1])
			if err != nil {
				return err
			}
			retry = v
			i++
		case eq(args[i], "LASTID") && hasVal:
			id, err := parseID(args[i+1], 0)
			if err != nil {
				return err
			}
			lastID = &id
			i++
		default:
			return fmt.Errorf("%w: unrecognized XCLAIM option %q", ErrSyntax, args[i])
		}
	}
	st, g, err := s.groupArgs(args[1], args[2])
	if err != nil {
		return err
	}
	if lastID != nil && cmpID(*lastID, g.LastID) > 0 {
		g.LastID = *lastID
	}
	for _, id := range ids {
		_, exists := entryIndex(st, id)
		pi, pending := pendingIndex(g, id)
		if !pending {
			if !force || !exists {
				continue
			}
			g.PEL = slices.Insert(g.PEL, pi, rdb.StreamPending{ID: id})
		}
		p := &g.PEL[pi]
		if !exists {
			// The entry was deleted: Redis drops it from the PEL.
			unlinkPending(g, *p)
			g.PEL = slices.Delete(g.PEL, pi, pi+1)
			continue
		}
		if p.Consumer != nil {
			unlinkPending(g, *p)
		}
		c := findConsumer(g, args[3], true, s.NowMs)
		c.PEL = append(c.PEL, id)
		slices.SortFunc(c.PEL, cmpID)
		p.Consumer = clone(args[3])
		p.DeliveryTimeMs = deliveryMs
		switch {
		case retry >= 0:
			p.DeliveryCount = uint64(retry)
		case !justID:
			p.DeliveryCount++
		}
	}
	return nil
}
