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

// withOrientation inserts an APP1 Exif segment with orientation o (in
// the byte order of order, "II" or "MM") after a JPEG's SOI marker.
func withOrientation(jpg []byte, o int, order string) []byte {
	u16 := func(v int) []byte {
		if order == "II" {
			return []byte{byte(v), byte(v >> 8)}
		}
		return []byte{byte(v >> 8), byte(v)}
	}
	u32 := func(v int) []byte {
		if order == "II" {
			return append(u16(v&0xFFFF), u16(v>>16)...)
		}
		return append(u16(v>>16), u16(v&0xFFFF)...)
	}
	tiff := []byte(order)
	tiff = append(tiff, u16(42)...)
	tiff = append(tiff, u32(8)...)
	tiff = append(tiff, u16(2)...) // two entries: another tag, then orientation
	tiff = append(tiff, append(append(append(u16(0x010F), u16(2)...), u32(4)...), u32(0)...)...)
	tiff = append(tiff, append(append(append(u16(0x0112), u16(3)...), u32(1)...), append(u16(o), 0, 0)...)...)
	tiff = append(tiff, u32(0)...)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	n := len(seg) + 2
	out := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte(n >> 8), byte(n)}, seg...)
	return append(out, jpg[2:]...)
}

// halves is a JPEG of w × h, its left half red, its right half blue.
func halves(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: 230, A: 255}
			if x >= w/2 {
				c = color.RGBA{B: 230, A: 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestJPEGOrientation(t *testing.T) {
	plain := halves(t, 16, 8)
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"none", plain, 1},
		{"big-endian 6", withOrientation(plain, 6, "MM"), 6},
		{"little-endian 8", withOrientation(plain, 8, "II"), 8},
		{"out of range", withOrientation(plain, 9, "II"), 1},
		{"not a jpeg", []byte("GIF89a...."), 1},
		{"cut short", withOrientation(plain, 6, "MM")[:12], 1},
	} {
		if got := jpegOrientation(tc.data); got != tc.want {
			t.Errorf("%s: orientation %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestThumbTurnedUpright: a 400×200 photo stored sideways (left half red,
// right half blue) with each EXIF orientation becomes a thumbnail showing
// it as a browser shows the photo.
func TestThumbTurnedUpright(t *testing.T) {
	photo := halves(t, 400, 200)
	red, blue := "red", "blue"
	for _, tc := range []struct {
		o            int
		w, h         int
		first, other string // at the top (or left) and the bottom (or right)
		vertical     bool   // the halves are above each other
	}{
		{1, 320, 160, red, blue, false},
		{2, 320, 160, blue, red, false},
		{3, 320, 160, blue, red, false},
		{4, 320, 160, red, blue, false},
		{5, 160, 320, red, blue, true},
		{6, 160, 320, red, blue, true},
		{7, 160, 320, blue, red, true},
		{8, 160, 320, blue, red, true},
	} {
		thumb, ok := makeThumb(withOrientation(photo, tc.o, "MM"))
		if !ok {
			t.Fatalf("orientation %d: no thumbnail", tc.o)
		}
		img, err := jpeg.Decode(bytes.NewReader(thumb))
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		if b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("orientation %d: %dx%d, want %dx%d", tc.o, b.Dx(), b.Dy(), tc.w, tc.h)
			continue
		}
		at := func(x, y int) string {
			r, _, bl, _ := img.At(x, y).RGBA()
			if r > bl {
				return red
			}
			return blue
		}
		first, other := at(b.Dx()/4, b.Dy()/2), at(b.Dx()*3/4, b.Dy()/2)
		if tc.vertical {
			first, other = at(b.Dx()/2, b.Dy()/4), at(b.Dx()/2, b.Dy()*3/4)
		}
		if first != tc.first || other != tc.other {
			t.Errorf("orientation %d: %s then %s, want %s then %s", tc.o, first, other, tc.first, tc.other)
		}
	}
}
