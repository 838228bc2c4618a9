package jobs

import (
	"context"
	"log/slog"
	"time"

	"gridbot/flows"
)

// DefaultCloseEvery is how often projects past their check-out window are
// closed (flows.ProjectStore.CloseMissedCheckouts).
const DefaultCloseEvery = time.Minute

// checkoutCloser makes, at start and then every interval, the pending
// records of members who checked in to a project and never out, once
// flows.CheckOutGrace after its end has passed. It runs on every
// instance: the store claims each project with a conditional update, so a
// project is closed once however many instances run it.
type checkoutCloser struct {
	projects flows.ProjectStore
	every    time.Duration
	now      func() time.Time
	log      *slog.Logger
}

func (c *checkoutCloser) run(ctx context.Context) {
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		c.close(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *checkoutCloser) close(ctx context.Context) {
	n, err := c.projects.CloseMissedCheckouts(ctx, c.now())
	switch {
	case err != nil && ctx.Err() == nil:
		c.log.Error("jobs: close missed check-outs", slog.Any("error", err))
	case n > 0:
		c.log.Info("jobs: pending records made for missed check-outs", slog.Int("records", n))
	}
}
