package jobs

import (
	"context"
	"log/slog"
	"time"

	"gridbot/flows"
)

// StagedPhotoTTL is how long a staged photo no record took is kept: the
// photos of a draft cancelled or expired (drafts expire after 30 idle
// minutes) are deleted once its media would have expired anyway.
const StagedPhotoTTL = MediaLifetime

// DefaultPruneEvery is how often staged photos are pruned.
const DefaultPruneEvery = time.Hour

// pruner deletes the staged photos older than StagedPhotoTTL, at start
// and then every interval, on every instance: the delete is one statement
// that any number of instances may run at once, so it needs no leader
// (River's periodic jobs run only on the leader of all River clients of
// the database).
type pruner struct {
	photos flows.PhotoStore
	every  time.Duration
	now    func() time.Time
	log    *slog.Logger
}

// run prunes at once and then every interval until ctx ends.
func (p *pruner) run(ctx context.Context) {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		p.prune(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prune runs one pass, logging what it did.
func (p *pruner) prune(ctx context.Context) {
	n, err := p.photos.PruneStagedPhotos(ctx, p.now().Add(-StagedPhotoTTL))
	switch {
	case err != nil && ctx.Err() == nil:
		p.log.Error("jobs: prune staged photos", slog.Any("error", err))
	case n > 0:
		p.log.Info("jobs: staged photos pruned", slog.Int("photos", n))
	}
}
