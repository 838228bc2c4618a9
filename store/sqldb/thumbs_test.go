package sqldb

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"gridbot/flows"
)

func encoded(t *testing.T, w, h int, asPNG bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: uint8(x ^ y), A: uint8(255 - x%128)})
		}
	}
	var buf bytes.Buffer
	var err error
	if asPNG {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMakeThumb(t *testing.T) {
	for _, tc := range []struct {
		name         string
		data         []byte
		ok           bool
		wantW, wantH int
	}{
		{"landscape jpeg", encoded(t, 1000, 500, false), true, 320, 160},
		{"portrait png with alpha", encoded(t, 300, 900, true), true, 106, 320},
		{"small jpeg: kept small, re-encoded", encoded(t, 200, 100, false), true, 200, 100},
		{"png smaller than any jpeg of it", encoded(t, 200, 100, true), false, 0, 0},
		{"not an image", []byte("\xff\xd8\xff not a jpeg"), false, 0, 0},
		{"empty", nil, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := makeThumb(tc.data)
			if ok != tc.ok {
				t.Fatalf("makeThumb ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(got))
			if err != nil || format != "jpeg" || cfg.Width != tc.wantW || cfg.Height != tc.wantH || len(got) >= len(tc.data) {
				t.Errorf("thumbnail %s %dx%d (%d bytes of %d), %v; want jpeg %dx%d", format, cfg.Width, cfg.Height, len(got), len(tc.data), err, tc.wantW, tc.wantH)
			}
		})
	}
}

// A PNG that claims more pixels than thumbMaxPixels is not decoded.
func TestMakeThumbRefusesHugeImages(t *testing.T) {
	data := encoded(t, 16, 16, true)
	// The IHDR chunk's width and height (bytes 16–23); its CRC no longer
	// matches, which DecodeConfig does not check.
	copy(data[16:24], []byte{0, 0, 0x40, 0, 0, 0, 0x40, 0})
	if _, ok := makeThumb(data); ok {
		t.Error("a 16384×16384 image was decoded")
	}
}

// TestMakeMissingThumbs: photos stored before thumbnails get one; photos
// with one, and bytes that are no image, are left alone; a second run
// makes nothing.
func TestMakeMissingThumbs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		var ids []int64
		for i, data := range [][]byte{encoded(t, 800, 600, false), encoded(t, 640, 480, false), []byte("not an image")} {
			p, err := db.StagePhoto(ctx, zhang.ID, flows.Photo{MediaID: string(rune('a' + i))})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.SavePhotoData(ctx, p.ID, "image/jpeg", data); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
		}
		if _, err := db.db.ExecContext(ctx, db.q(`DELETE FROM photo_thumbs WHERE photo_id = ?`), ids[0]); err != nil {
			t.Fatal(err)
		}
		var calls int
		made, err := db.MakeMissingThumbs(ctx, func(checked, made int) { calls++ })
		if err != nil || made != 1 || calls != 3 {
			t.Fatalf("MakeMissingThumbs = %d, %v (%d progress calls); want 1 made of 3", made, err, calls)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM photo_thumbs`); n != 2 {
			t.Errorf("%d thumbnails, want 2", n)
		}
		if made, err := db.MakeMissingThumbs(ctx, nil); err != nil || made != 0 {
			t.Errorf("second run made %d, %v", made, err)
		}
	})
}
