package sqldb

import (
	"bytes"
	"image"
	"image/color"
	_ "image/gif" // decoders of the formats WeChat photos come in
	"image/jpeg"
	_ "image/png"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"
)

// ThumbSize is the longer side, in pixels, of a photo's thumbnail.
const ThumbSize = 320

// thumbMaxPixels is the largest photo (width × height) a thumbnail is
// made of: decoding one takes 4 bytes a pixel, and a small file can claim
// a huge image.
const thumbMaxPixels = 50_000_000

// thumbQuality is the JPEG quality of thumbnails.
const thumbQuality = 75

// makeThumb returns a JPEG of the photo at most ThumbSize pixels on its
// longer side, on white where the photo is transparent. It returns false
// when there is no point: the bytes are no image this build decodes (JPEG,
// PNG, GIF, WebP), the image is too large to decode safely, or the
// thumbnail would be no smaller than the photo itself; the photo is then
// shown as it is.
func makeThumb(data []byte) ([]byte, bool) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > thumbMaxPixels {
		return nil, false
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, false
	}
	w, h := thumbDims(cfg.Width, cfg.Height)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: thumbQuality}); err != nil {
		return nil, false
	}
	if buf.Len() >= len(data) {
		return nil, false
	}
	return buf.Bytes(), true
}

// thumbDims scales w × h to fit ThumbSize × ThumbSize, keeping the aspect
// ratio and at least one pixel a side; a smaller image keeps its size.
func thumbDims(w, h int) (int, int) {
	long := max(w, h)
	if long <= ThumbSize {
		return w, h
	}
	return max(1, w*ThumbSize/long), max(1, h*ThumbSize/long)
}
