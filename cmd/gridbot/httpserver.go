package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serveHTTP serves h on ln, bound by the caller, until ctx ends, then
// shuts down in reverse: it stops taking requests, waiting up to 10 s for
// the running ones, and calls drain (when not nil) with what is left of
// that time, so background work finishes before the caller closes the
// stores. drain runs too when serving fails.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, drain func(context.Context)) error {
	if drain == nil {
		drain = func(context.Context) {}
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		drain(context.Background())
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	log.Info("gridbot shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	herr := srv.Shutdown(sctx)
	drain(sctx)
	if herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", herr)
	}
	return nil
}
