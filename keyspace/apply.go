package keyspace

// placeholder so store.go compiles; replaced below
type txQueue struct{ cmds [][][]byte }
