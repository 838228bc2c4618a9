package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// Photos is what serving a photo needs of the store.
type Photos interface {
	// PhotoUnits are the units whose admins may see a photo: the unit of
	// the record it belongs to, and a report's handler unit.
	PhotoUnits(ctx context.Context, id int64) ([]int64, error)
	PhotoData(ctx context.Context, id int64) (flows.Photo, []byte, error)
	// PhotoThumb is PhotoData with the bytes of the photo's thumbnail (a
	// JPEG a few hundred pixels wide), or its own when it has none.
	PhotoThumb(ctx context.Context, id int64) (flows.Photo, []byte, error)
}

// mediaMaxAge is how long a browser may keep a photo: its bytes never change.
const mediaMaxAge = "private, max-age=86400"

// ServePhoto answers a request for the photo of the path parameter id
// with its stored bytes (with the query size=thumb, its thumbnail: what
// lists show, the original only when opened), when adm may see it (flows.Admin.CanSeePhoto):
// with its content type when that is a raster image, else as
// application/octet-stream (stored bytes are never served as a page or a
// script, and an SVG may hold scripts), cached privately for a day under
// its sha256 as ETag, and 304 to a request that has that already. The API
// and the console serve photos with it. It returns what to answer
// instead: a 400 for a bad id, a 404 for an unknown photo or one not
// stored yet, a refusal for a photo of another unit.
func ServePhoto(c *gin.Context, st Photos, adm flows.Admin) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	units, err := st.PhotoUnits(ctx, id)
	if err != nil {
		return NotFound(err, "no such photo")
	}
	if !adm.CanSeePhoto(units...) {
		return adm.Forbidden(flows.ResourcePhoto)
	}
	get := st.PhotoData
	if c.Query("size") == "thumb" {
		get = st.PhotoThumb
	}
	p, data, err := get(ctx, id)
	if err != nil {
		return NotFound(err, "photo not stored (yet)")
	}
	ct := p.ContentType
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	if !strings.HasPrefix(ct, "image/") || strings.HasPrefix(ct, "image/svg") {
		ct = "application/octet-stream"
	}
	c.Header("Cache-Control", mediaMaxAge)
	c.Header("X-Content-Type-Options", "nosniff")
	if p.SHA256 != "" {
		etag := `"` + p.SHA256 + `"`
		c.Header("ETag", etag)
		if c.GetHeader("If-None-Match") == etag {
			c.Status(http.StatusNotModified)
			return nil
		}
	}
	c.Data(http.StatusOK, ct, data)
	return nil
}
