// Package resp reads and writes Redis append-only files (AOF): streams of
// RESP arrays of bulk strings ("*<argc>\r\n" then "$<len>\r\n<bytes>\r\n"
// per argument), optionally preceded by "#TS:<unix seconds>" annotation
// lines (Redis 7.0+, aof-timestamp-enabled).
//
// [Reader] is a strict streaming parser for replaying commands; [Check]
// replicates redis-check-aof's scanner byte for byte (ok_up_to,
// ok_up_to_line, messages) so a CLI can reproduce and improve on it;
// [Writer] emits commands as Redis does; [ReadReply] reads RESP2 server
// replies for tests that talk to a real redis-server.
//
// An AOF may start with an RDB preamble ("REDIS..."). This package does not
// decode RDB: [Reader.Next] returns [ErrRDBPreamble] and the caller, which
// owns the *bufio.Reader, hands it to the RDB decoder and then resumes with
// [Reader.SetOffset].
//
// Follows Redis aof.c (loadSingleAppendOnlyFile) and redis-check-aof.c
// (6.2 and 7.x).
package resp
