package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// interrupts receives SIGINT/SIGTERM. It is registered at package init, so
// a signal that arrives while the command tree is still being built is not
// fatal but cancels the context as soon as Run starts. Test binaries keep
// the default behaviour until Run, so Ctrl-C still stops `go test`.
var interrupts = make(chan os.Signal, 1)

func init() {
	if !testing.Testing() {
		signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	}
}

// withInterrupts returns a context cancelled by the first SIGINT/SIGTERM.
// After that first signal the default action is restored, so a second
// Ctrl-C kills the process at once. stop releases the handler.
func withInterrupts(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-interrupts:
			signal.Stop(interrupts)
			cancel()
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(interrupts)
		cancel()
	}
}
