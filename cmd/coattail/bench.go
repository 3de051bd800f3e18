package main

import (
	"context"
	"errors"
)

// cmdBench is being written; see the bench package.
func cmdBench(ctx context.Context, a *app, args []string) error {
	return errors.New("bench: not built yet")
}
