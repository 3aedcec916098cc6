package resp

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const (
		ping  = "*1\r\n$4\r\nPING\r\n"  // 14 bytes, 3 CRLFs
		multi = "*1\r\n$5\r\nMULTI\r\n" // 15 bytes
		exec  = "*1\r\n$4\r\nEXEC\r\n"  // 14 bytes
	)
	type want struct {
		okUpTo, line, diff, msgOff int64
		msg                        string
		formatErr, inMulti         bool
		commands                   int64
		truncateAt                 int64
		invalidTS                  bool
	}
	tests := []struct {
		name string
		in   string
		opt  CheckOptions
		want want
	}{
		{"valid", ping, CheckOptions{}, want{okUpTo: 14, line: 4, commands: 1, truncateAt: -1}},
		{"empty", "", CheckOptions{}, want{line: 1, truncateAt: -1}},
		{"only comments", "#x\r\n#y\r\n", CheckOptions{}, want{okUpTo: 8, line: 1, truncateAt: -1}},
		{"torn last record", ping + "*1\r\n$4\r\nPI", CheckOptions{},
			want{okUpTo: 14, line: 6, diff: 10, msgOff: 22, msg: "Expected to read 6 bytes, got 2 bytes", commands: 1, truncateAt: -1}},
		{"torn before dollar line", "*2\r\n$1\r\nx\r\n", CheckOptions{}, want{line: 4, diff: 11, truncateAt: -1}},
		{"bad byte mid-file", ping + "x" + ping, CheckOptions{}, want{okUpTo: 14, line: 4, diff: 15, formatErr: true, commands: 1, truncateAt: -1}},
		{"bad byte legacy", ping + "x" + ping, CheckOptions{Legacy: true},
			want{okUpTo: 14, line: 4, diff: 15, msgOff: 14, msg: "Expected prefix '*', got: 'x'", commands: 1, truncateAt: -1}},
		{"unterminated multi", multi + ping, CheckOptions{},
			want{okUpTo: 0, line: 7, diff: 29, msgOff: 23, msg: "Reached EOF before reading EXEC for MULTI", inMulti: true, commands: 2, truncateAt: -1}},
		{"unterminated multi legacy", multi + ping, CheckOptions{Legacy: true},
			want{okUpTo: 0, line: 7, diff: 29, msgOff: 29, msg: "Reached EOF before reading EXEC for MULTI", inMulti: true, commands: 2, truncateAt: -1}},
		{"nested multi", ping + multi + multi, CheckOptions{Name: "dir/x.aof"},
			want{okUpTo: 14, line: 10, diff: 30, msgOff: 37, msg: "Unexpected MULTI in AOF dir/x.aof", inMulti: true, commands: 2, truncateAt: -1}},
		{"nested multi legacy", multi + multi, CheckOptions{Legacy: true},
			want{okUpTo: 0, line: 7, diff: 30, msgOff: 23, msg: "Unexpected MULTI", inMulti: true, commands: 1, truncateAt: -1}},
		{"exec alone", exec, CheckOptions{Name: "a"},
			want{okUpTo: 0, line: 4, diff: 14, msgOff: 8, msg: "Unexpected EXEC in AOF a", inMulti: true, truncateAt: -1}},
		{"transaction", multi + ping + exec, CheckOptions{}, want{okUpTo: 43, line: 10, commands: 3, truncateAt: -1}},
		{"lowercase transaction", strings.Replace(multi, "MULTI", "multi", 1) + "*1\r\n$4\r\nexec\r\n", CheckOptions{},
			want{okUpTo: 29, line: 7, commands: 2, truncateAt: -1}},
		{"multi with nul suffix", "*1\r\n$7\r\nmulti\x00x\r\n" + ping, CheckOptions{},
			want{line: 7, diff: 31, msgOff: 25, msg: "Reached EOF before reading EXEC for MULTI", inMulti: true, commands: 2, truncateAt: -1}},
		{"crlf missing after bulk", "*1\r\n$4\r\nPINGxx", CheckOptions{},
			want{line: 3, diff: 14, msgOff: 8, msg: "Expected \\r\\n, got: 7878", truncateAt: -1}},
		{"huge length", "*1\r\n$9223372036854775807\r\n", CheckOptions{},
			want{line: 3, diff: 26, msgOff: 4, msg: "Expected to read string of 9223372036854775807 bytes, which is not in the suitable range", truncateAt: -1}},
		{"negative length", "*1\r\n$-1\r\n", CheckOptions{},
			want{line: 3, diff: 9, msgOff: 4, msg: "Expected to read string of -1 bytes, which is not in the suitable range", truncateAt: -1}},
		{"200-char count line", "*" + strings.Repeat("1", 200) + "\r\n", CheckOptions{},
			want{line: 1, diff: 203, msgOff: 0, msg: "Expected \\r\\n, got: 0000", truncateAt: -1}},
		{"bare star is a zero-arg record", "*\r\n" + ping, CheckOptions{}, want{okUpTo: 17, line: 5, commands: 2, truncateAt: -1}},
		{"negative count is a zero-arg record", "*-1\r\n", CheckOptions{}, want{okUpTo: 5, line: 2, commands: 1, truncateAt: -1}},
		{"blank and sign accepted", "* +1\r\n$ 4\r\nPING\r\n", CheckOptions{}, want{okUpTo: 17, line: 4, commands: 1, truncateAt: -1}},
		{"junk after count", "*3abc\r\n", CheckOptions{}, want{line: 1, diff: 7, msg: "Expected \\r\\n, got: 6162", truncateAt: -1}},
		{"lf only", "*1\n", CheckOptions{}, want{line: 1, diff: 3, msg: "Expected \\r\\n, got: 0a00", truncateAt: -1}},
		{"high byte is sign-extended", "*1\xff\r\n", CheckOptions{}, want{line: 1, diff: 5, msg: "Expected \\r\\n, got: ffffffff0d", truncateAt: -1}},
		{"high byte prefix is raw", "*1\r\n\xff\r\n", CheckOptions{}, want{line: 2, diff: 7, msgOff: 4, msg: "Expected prefix '$', got: '\xff'", truncateAt: -1}},
		{"nul prefix cuts message", "*1\r\n\x00\r\n", CheckOptions{}, want{line: 2, diff: 7, msgOff: 4, msg: "Expected prefix '$', got: '", truncateAt: -1}},
		{"annotation over 1023 bytes", "#" + strings.Repeat("x", 1100) + "\r\n" + ping, CheckOptions{},
			want{okUpTo: 1023, line: 1, formatErr: true, truncateAt: -1}}, // diff computed below
		{"start offset and line", ping, CheckOptions{StartOffset: 100, StartLine: 50}, want{okUpTo: 114, line: 53, commands: 1, truncateAt: -1}},
		{"ts cut", "#TS:10\r\n" + ping + "#TS:20\r\n" + ping, CheckOptions{TruncateToTimestamp: 15},
			want{okUpTo: 22, line: 4, diff: 22, msgOff: 0, commands: 1, truncateAt: 22}},
		{"ts nothing before", "#TS:10\r\n" + ping, CheckOptions{TruncateToTimestamp: 5}, want{line: 1, diff: 22, truncateAt: 0}},
		{"ts after all", "#TS:10\r\n" + ping, CheckOptions{TruncateToTimestamp: 10}, want{okUpTo: 22, line: 4, commands: 1, truncateAt: -1}},
		{"ts disabled", "#TS:x\r\n" + ping, CheckOptions{}, want{okUpTo: 21, line: 4, commands: 1, truncateAt: -1}},
		{"ts invalid", "#TS:x\r\n" + ping, CheckOptions{TruncateToTimestamp: 1}, want{line: 1, diff: 21, truncateAt: -1, invalidTS: true}},
		{"ts lf only invalid", "#TS:12\n" + ping, CheckOptions{TruncateToTimestamp: 1}, want{line: 1, diff: 21, truncateAt: -1, invalidTS: true}},
		{"ts empty is zero", "#TS:\r\n" + ping, CheckOptions{TruncateToTimestamp: 1}, want{okUpTo: 20, line: 4, commands: 1, truncateAt: -1}},
		{"ts inside multi", multi + "#TS:20\r\n" + ping + exec, CheckOptions{TruncateToTimestamp: 15},
			want{okUpTo: 0, line: 4, diff: 51, msgOff: 0, inMulti: true, commands: 1, truncateAt: 15}},
		{"annotation legacy", "#TS:1\r\n", CheckOptions{Legacy: true}, want{line: 1, diff: 7, msg: "Expected prefix '*', got: '#'", truncateAt: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check(strings.NewReader(tc.in), &tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			if res.Size != tc.opt.StartOffset+int64(len(tc.in)) {
				t.Errorf("size %d", res.Size)
			}
			if tc.name == "annotation over 1023 bytes" {
				w.diff = res.Size - 1023
			}
			got := want{res.OkUpTo, res.OkUpToLine, res.Diff, res.MessageOffset, res.Message, res.FormatError, res.InMulti,
				res.Commands, res.TruncateAt, res.InvalidTimestamp}
			if got != w {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			if res.Valid() != (w.diff == 0 && w.truncateAt < 0 && !w.invalidTS) {
				t.Errorf("Valid() = %v", res.Valid())
			}
		})
	}
}

func TestCheckMessageLine(t *testing.T) {
	r := &CheckResult{Message: "Expected to read 13 bytes, got 6 bytes", MessageOffset: 0x483}
	if got, want := r.MessageLine(), "0x             483: Expected to read 13 bytes, got 6 bytes"; got != want {
		t.Fatalf("%q", got)
	}
}
