package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/persistkit/persistkit/format/rdb"
)

// Exit codes, the one table shared by every tool (documented in --help).
const (
	ExitOK          = 0   // success; for verifying commands: the input is sound
	ExitFailure     = 1   // operational failure: I/O error, internal bug
	ExitUsage       = 2   // bad flag or argument
	ExitInvalid     = 3   // invalid input: corrupt data, checksum mismatch, limit exceeded, differences found
	ExitInterrupted = 130 // interrupted by a signal
)

// ExitCodesHelp is the exit-code table for --help texts.
const ExitCodesHelp = `Exit codes:
  0    success (verifying commands: input is sound / equal)
  1    operational failure (I/O error, internal error)
  2    usage error (bad flag or argument)
  3    invalid input (corrupt data, checksum mismatch, limit exceeded,
       verification found problems, inputs differ)
  130  interrupted (Ctrl-C)`

// ExitError carries an explicit exit code, an optional hint, and whether
// the command already reported the problem itself (Silent: Run prints
// nothing more).
type ExitError struct {
	Code   int
	Err    error
	Hint   string
	Silent bool
}

// Error returns the wrapped error's message.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// Usagef returns a usage error (exit 2).
func Usagef(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Invalid marks err as an invalid-input error (exit 3).
func Invalid(err error) error { return &ExitError{Code: ExitInvalid, Err: err} }

// WithHint attaches a hint printed after the error.
func WithHint(err error, hint string) error {
	return &ExitError{Code: ExitCode(err), Err: err, Hint: hint}
}

// Silent returns an error that only sets the exit code: the command has
// already printed its verdict (e.g. check found problems, diff found
// differences).
func Silent(code int) error { return &ExitError{Code: code, Silent: true} }

// InvalidInput lists extra matchers for invalid-input errors of other
// format packages (aoftool adds resp/manifest errors here at init).
var InvalidInput []func(error) bool

// ExitCode maps an error to its exit code with errors.Is/As.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	var fe *rdb.FormatError
	if errors.As(err, &fe) || errors.Is(err, rdb.ErrChecksum) || errors.Is(err, rdb.ErrCorrupt) ||
		errors.Is(err, rdb.ErrLimit) || errors.Is(err, rdb.ErrUnsupported) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ExitInvalid
	}
	for _, m := range InvalidInput {
		if m(err) {
			return ExitInvalid
		}
	}
	return ExitFailure
}
