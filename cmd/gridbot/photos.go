package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// photosProgressEvery is how many photos photos copy moves between two
// progress lines.
const photosProgressEvery = 100

// runPhotos runs the photos commands: copy and thumbs.
func runPhotos(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	switch {
	case len(args) == 1 && args[0] == "copy":
		return copyPhotos(ctx, cfg, stdout)
	case len(args) == 1 && args[0] == "thumbs":
		return makeThumbs(ctx, cfg, stdout)
	}
	return errors.New("usage: gridbot photos copy | gridbot photos thumbs")
}

// copyPhotos is `gridbot photos copy`: it moves the bytes of the photos
// the database keeps to the store GRIDBOT_PHOTO_STORE names (see
// sqldb.MovePhotoBlobs). Serving instances may run meanwhile; cut off, it
// says how far it got, and run again goes on from there.
func copyPhotos(ctx context.Context, cfg Config, stdout io.Writer) error {
	if cfg.PhotoStore == "" {
		return errors.New("photos copy: GRIDBOT_PHOTO_STORE is unset: set it to the s3://bucket/prefix the photos go to")
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	left, err := db.PhotosInDatabase(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d photos in the database, moving them to %s\n", left, cfg.PhotoStore)
	moved, err := db.MovePhotoBlobs(ctx, db.Blobs(), func(n int) {
		if n%photosProgressEvery == 0 {
			fmt.Fprintf(stdout, "moved %d of %d\n", n, left)
		}
	})
	if err != nil {
		fmt.Fprintf(stdout, "moved %d photos, then stopped; run gridbot photos copy again to go on\n", moved)
		return fmt.Errorf("photos copy: %w", err)
	}
	fmt.Fprintf(stdout, "moved %d photos; none left in the database\n", moved)
	return nil
}

// makeThumbs is `gridbot photos thumbs`: thumbnails for the photos stored
// before gridbot made them (sqldb.MakeMissingThumbs), wherever photos are
// kept. Run again, it makes only what is still missing.
func makeThumbs(ctx context.Context, cfg Config, stdout io.Writer) error {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	checked := 0
	made, err := db.MakeMissingThumbs(ctx, func(c, m int) {
		checked = c
		if c%photosProgressEvery == 0 {
			fmt.Fprintf(stdout, "checked %d photos, made %d thumbnails\n", c, m)
		}
	})
	if err != nil {
		return fmt.Errorf("photos thumbs: %w", err)
	}
	fmt.Fprintf(stdout, "checked %d stored photos, made %d thumbnails\n", checked, made)
	return nil
}
