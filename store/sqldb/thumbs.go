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

// thumbSlots bounds how many photos are decoded at once in the process:
// a 12-megapixel photo takes about 70 MB while it is scaled, and the
// fetch workers store photos side by side.
var thumbSlots = make(chan struct{}, 2)

// makeThumb returns a JPEG of the photo at most ThumbSize pixels on its
// longer side, on white where the photo is transparent, turned upright as
// the EXIF orientation of a JPEG says (browsers turn the photo so). It returns false
// when there is no point: the bytes are no image this build decodes (JPEG,
// PNG, GIF, WebP), the image is too large to decode safely, or the
// thumbnail would be no smaller than the photo itself; the photo is then
// shown as it is.
func makeThumb(data []byte) ([]byte, bool) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > thumbMaxPixels {
		return nil, false
	}
	thumbSlots <- struct{}{}
	defer func() { <-thumbSlots }()
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, false
	}
	w, h := thumbDims(cfg.Width, cfg.Height)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	// The thumbnail has no EXIF, so it is turned as the photo is shown.
	oriented := orient(dst, jpegOrientation(data))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, oriented, &jpeg.Options{Quality: thumbQuality}); err != nil {
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

// jpegOrientation reads the EXIF orientation (1–8) of a JPEG: the tag
// 0x0112 of IFD0 in its APP1 "Exif" segment. It returns 1 (as stored)
// for anything else, including bytes that are no JPEG.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		marker := data[i+1]
		if marker == 0xDA || marker == 0xD9 { // image data: no metadata after
			return 1
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if n < 2 || i+2+n > len(data) {
			return 1
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation finds the orientation tag in IFD0 of a TIFF header.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var u16 func([]byte) int
	var u32 func([]byte) int
	switch string(t[:2]) {
	case "II":
		u16 = func(b []byte) int { return int(b[0]) | int(b[1])<<8 }
		u32 = func(b []byte) int { return u16(b) | u16(b[2:])<<16 }
	case "MM":
		u16 = func(b []byte) int { return int(b[0])<<8 | int(b[1]) }
		u32 = func(b []byte) int { return u16(b)<<16 | u16(b[2:]) }
	default:
		return 1
	}
	if u16(t[2:]) != 42 {
		return 1
	}
	ifd := u32(t[4:])
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := u16(t[ifd:])
	for e := ifd + 2; e+12 <= len(t) && count > 0; e, count = e+12, count-1 {
		const tagOrientation, typeShort = 0x0112, 3
		if u16(t[e:]) == tagOrientation && u16(t[e+2:]) == typeShort {
			if o := u16(t[e+8:]); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}

// orient turns and flips img as EXIF orientation o says the stored pixels
// are to be shown: 2 mirrored, 3 turned half round, 4 upside down, 5
// transposed, 6 turned a quarter clockwise, 7 transversed, 8 turned a
// quarter anticlockwise.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return img
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := range oh {
		for x := range ow {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			out.SetRGBA(x, y, img.RGBAAt(sx, sy))
		}
	}
	return out
}
