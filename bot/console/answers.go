package console

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// Answers that are not pages of their own: a refused form's page (for
// the browser's address) and unknown console paths.

// formPage is the page a console form was posted from: the path without
// its action (/admin/reports/X/status → /admin/reports/X), the composer
// for a notice, the member list for an unbind, the month's assessment
// for a close; the sign-in page for itself.
func formPage(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == Path+"/login":
		return r.URL.RequestURI()
	case p == Path+"/notices":
		return Path + "/notices/new"
	case strings.HasPrefix(p, Path+"/members/"):
		return Path + "/members"
	case strings.HasPrefix(p, Path+"/assessment/"):
		if m, err := flows.ParseMonth(r.PostFormValue("month")); err == nil {
			return Path + "/assessment?month=" + m.String()
		}
		return Path + "/assessment"
	}
	if i := strings.LastIndexByte(p, '/'); i > len(Path) {
		return p[:i]
	}
	return Path + "/"
}

// NotFound answers a request the router found no route for: on the
// console's Chinese 404 page when its path is under the console, with
// next otherwise. Mount it as the router's NoRoute.
func (c *Console) NotFound(next gin.HandlerFunc) gin.HandlerFunc {
	return func(ctx *gin.Context) {
		if p := ctx.Request.URL.Path; p != Path && !strings.HasPrefix(p, Path+"/") {
			next(ctx)
			return
		}
		setSecurityHeaders(ctx.Writer.Header())
		c.errorPage(ctx, http.StatusNotFound, "没有这个页面。请从上方菜单进入，或返回概览。")
	}
}
