package keyspace

// Each calls fn for every key, in db order and then key byte order,
// skipping keys already expired at s.NowMs (when not 0). It stops at the
// first error fn returns and returns it. fn must not add or delete keys.
func (s *Store) Each(fn func(db int, key []byte, o *Object) error) error {
	for dbi, db := range s.DBs {
		if db == nil || len(db.Keys) == 0 {
			continue
		}
		for _, k := range db.SortedKeys() {
			o := db.Keys[k]
			if s.expired(o) {
				continue
			}
			if err := fn(dbi, []byte(k), o); err != nil {
				return err
			}
		}
	}
	return nil
}

// FunctionNames returns the names of the loaded function libraries, sorted.
func (s *Store) FunctionNames() []string { return sortedKeys(s.Functions) }
