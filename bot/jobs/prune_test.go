package jobs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/sqldb"
)

// A running Runner deletes the staged photos of drafts never saved once
// they are older than StagedPhotoTTL (by its clock), and keeps the photos
// records took. (Which photos a cut takes is PruneStagedPhotos's test.)
func TestRunnerPrunesStagedPhotos(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		m := seedReporter(t, db)
		stage := func() flows.Photo {
			p, err := db.StagePhoto(ctx, m.ID, unfetchable)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		abandoned, taken := stage(), stage()
		createReport(t, db, m, flows.Photo{ID: taken.ID})

		// A clock a little less than the TTL on: nothing goes.
		counted := &countPrunes{PhotoStore: db}
		deps := testDeps(t, db, newFakeAPI(t), &fakeTokens{})
		deps.Photos = counted
		deps.Now = func() time.Time { return time.Now().Add(StagedPhotoTTL - time.Hour) }
		deps.PruneEvery = 10 * time.Millisecond
		first := startRunner(t, db, deps)
		waitFor(t, "three prune passes", func() bool { return counted.passes.Load() >= 3 })
		if _, err := db.Photo(ctx, abandoned.ID); err != nil {
			t.Fatalf("staged photo pruned before its time: %v", err)
		}
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := first.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}

		deps.Now = func() time.Time { return time.Now().Add(StagedPhotoTTL + time.Minute) }
		startRunner(t, db, deps)
		waitFor(t, "abandoned photo pruned", func() bool {
			_, err := db.Photo(ctx, abandoned.ID)
			return errors.Is(err, flows.ErrNotFound)
		})
		if _, err := db.Photo(ctx, taken.ID); err != nil {
			t.Errorf("a report's photo pruned: %v", err)
		}
	})
}

// countPrunes counts the prune passes made through it.
type countPrunes struct {
	flows.PhotoStore
	passes atomic.Int64
}

func (c *countPrunes) PruneStagedPhotos(ctx context.Context, t time.Time) (int, error) {
	defer c.passes.Add(1)
	return c.PhotoStore.PruneStagedPhotos(ctx, t)
}
