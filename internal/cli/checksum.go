package cli

// ChecksumStatus words the footer of an RDB that decoded to its end, as
// both CLIs' check reports do: "none" before RDB 5 (no CRC-64 footer),
// "disabled" when the stored CRC is 0 (rdbchecksum no), else "ok" (a
// mismatch is an error, reported as such).
func ChecksumStatus(version int, stored uint64) string {
	switch {
	case version < 5:
		return "none"
	case stored == 0:
		return "disabled"
	}
	return "ok"
}
