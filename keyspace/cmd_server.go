package keyspace

func init() {
	register("SELECT", 2, cmdSelect)
	register("SWAPDB", 3, cmdSwapDB)
	register("FLUSHDB", -1, cmdFlushDB)
	register("FLUSHALL", -1, cmdFlushAll)
	// Commands without keyspace effect that can show up in hand-made or old
	// AOFs; a loading Redis runs and ignores them.
	for _, n := range []string{"PING", "ECHO", "INFO", "TIME", "LASTSAVE", "SAVE", "BGSAVE",
		"BGREWRITEAOF", "PUBLISH", "SPUBLISH", "WAIT", "WAITAOF", "READONLY", "READWRITE"} {
		register(n, -1, noop)
	}
}

func cmdSelect(s *Store, args [][]byte) error {
	n, err := parseDB(args[1])
	if err != nil {
		return err
	}
	s.CurDB = n
	return nil
}

func cmdSwapDB(s *Store, args [][]byte) error {
	a, err := parseDB(args[1])
	if err != nil {
		return err
	}
	b, err := parseDB(args[2])
	if err != nil {
		return err
	}
	s.DBs[a], s.DBs[b] = s.DBs[b], s.DBs[a]
	return nil
}

// flushMode checks the optional ASYNC/SYNC argument.
func flushMode(args [][]byte) error {
	if len(args) > 2 || (len(args) == 2 && !eq(args[1], "ASYNC") && !eq(args[1], "SYNC")) {
		return ErrSyntax
	}
	return nil
}

func cmdFlushDB(s *Store, args [][]byte) error {
	if err := flushMode(args); err != nil {
		return err
	}
	s.DBs[s.CurDB] = &DB{Keys: map[string]*Object{}}
	return nil
}

// cmdFlushAll empties every database; function libraries survive, as in
// Redis.
func cmdFlushAll(s *Store, args [][]byte) error {
	if err := flushMode(args); err != nil {
		return err
	}
	for i := range s.DBs {
		s.DBs[i] = &DB{Keys: map[string]*Object{}}
	}
	return nil
}
