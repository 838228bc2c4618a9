package console

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"gridbot/bot/admin"
	"gridbot/bot/workbook"
	"gridbot/flows"
)

// matches reports whether a list's search q (the q= of its URL) is in any
// of a row's fields; every row matches an empty search.
func matches(q string, fields ...string) bool {
	if q == "" {
		return true
	}
	for _, f := range fields {
		if strings.Contains(f, q) {
			return true
		}
	}
	return false
}

// listTitle is the title of a list's workbook: the month, the list, and
// the filters that are set ("2024年11月 巡查上报 市文明办 待处理").
func listTitle(m flows.Month, list string, filters ...string) string {
	title := fmt.Sprintf("%d年%d月 %s", m.Year, m.Month, list)
	for _, f := range filters {
		if f != "" {
			title += " " + f
		}
	}
	return title
}

// sendXLSX answers a list's format=xlsx with the workbook write writes,
// named ascii.xlsx (name.xlsx where a browser takes a UTF-8 name); it is
// built in memory first, so a failure is an error page, not half a file.
func (c *Console) sendXLSX(ctx *gin.Context, ascii, name string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	ctx.Header("Content-Disposition", workbook.ListDisposition(ascii, name))
	ctx.Header("Cache-Control", "no-store")
	ctx.Data(http.StatusOK, workbook.ContentType, buf.Bytes())
	return nil
}

// mapURL is the link that shows a place's coordinates on a map, "" for a
// place without them. WeChat's location messages are in GCJ-02, the
// datum of AMap (高德), whose marker link needs no key.
func mapURL(l flows.Location) template.URL {
	if !l.HasCoords {
		return ""
	}
	v := url.Values{"position": {fmt.Sprintf("%.6f,%.6f", l.Longitude, l.Latitude)}, "name": {l.Label},
		"coordinate": {"gaode"}, "callnative": {"0"}}
	return template.URL("https://uri.amap.com/marker?" + v.Encode())
}

// pinyin orders Chinese names by their pinyin: the CLDR collation of
// Chinese (golang.org/x/text/collate), whose default for zh is pinyin
// order, so 李四 comes before 王五 and 张三 (code point order puts 张
// before 李). A character with two readings sorts by its usual one (曾
// as céng). The collator is not safe for concurrent use: one per call.
func sortMembers(ms []flows.Member) {
	col := collate.New(language.Chinese)
	slices.SortStableFunc(ms, func(a, b flows.Member) int {
		if n := col.CompareString(a.Name, b.Name); n != 0 {
			return n
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// membersXLSX writes the members listed, with their hours and sessions of
// month m that count (not rejected): all of each member's own, wherever
// they were booked. The list is filtered by the members' roster rows as
// they are now, so a member moved to another grid or unit this month is
// listed where they are with the hours they logged before the move too,
// as the unfiltered list gives them (the unit and grid filters choose
// members, not records).
func (c *Console) membersXLSX(ctx *gin.Context, d membersData, m flows.Month) error {
	f := flows.MonthFilter(m)
	f.Counted = true
	rs, err := c.cfg.Store.ServiceRecords(ctx.Request.Context(), f)
	if err != nil {
		return err
	}
	minutes, sessions := map[int64]int{}, map[int64]int{}
	for _, r := range rs {
		minutes[r.MemberID] += r.Minutes
		sessions[r.MemberID]++
	}
	rows := make([]workbook.MemberRow, len(d.Members))
	for i, mem := range d.Members {
		rows[i] = workbook.MemberRow{Member: mem, Minutes: minutes[mem.ID], Sessions: sessions[mem.ID]}
	}
	return c.sendXLSX(ctx, "members-"+m.String(), "成员-"+m.String(), func(w io.Writer) error {
		return workbook.WriteMembers(w, listTitle(m, "成员", d.Unit, d.Grid, d.Query), rows, c.cfg.Loc)
	})
}

// --- members

type membersData struct {
	// Month is the month whose hours the export shows; Max the current.
	Month, Max        string
	Members           []flows.Member
	Grids             []string
	Units             []string
	Grid, Unit, Query string
	Back              string
	XLSXURL           template.URL
	Pager             pager
}

// members lists the roster filtered by unit, grid and q= (name or
// mobile), in pinyin order, 20 a page; with format=xlsx as a workbook,
// all pages, with each member's hours of the month (month=, the current
// one by default).
func (c *Console) members(ctx *gin.Context) error {
	grid, unit := strings.TrimSpace(ctx.Query("grid")), strings.TrimSpace(ctx.Query("unit"))
	unitID, err := adminOf(ctx).UnitScope(unit)
	if err != nil {
		return err
	}
	rctx := ctx.Request.Context()
	all, err := c.cfg.Store.Members(rctx, flows.MemberFilter{UnitID: unitID, Unit: unit, Grid: grid})
	if err != nil {
		return err
	}
	d := membersData{Grid: grid, Unit: unit, Query: strings.TrimSpace(ctx.Query("q")), Back: ctx.Request.URL.RequestURI()}
	for _, m := range all {
		if matches(d.Query, m.Name, m.Phone) {
			d.Members = append(d.Members, m)
		}
	}
	sortMembers(d.Members)
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	if ctx.Query("format") == "xlsx" {
		return c.membersXLSX(ctx, d, m)
	}
	nav := c.navUpToNow(m)
	d.Month, d.Max = nav.Month, nav.Max
	if d.Units, d.Grids, err = c.filterChoices(ctx, unitID); err != nil {
		return err
	}
	path, q := ctx.Request.URL.Path, ctx.Request.URL.Query()
	d.XLSXURL = linkWith(path, q, "format", "xlsx")
	if d.Members, d.Pager, err = onePage(path, q, d.Members); err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "members", page{Title: "成员", Nav: "members", Flash: flash(ctx), Data: d})
	return nil
}

func (c *Console) unbind(ctx *gin.Context) error {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return admin.BadRequest("成员编号不对。")
	}
	rctx := ctx.Request.Context()
	m, err := c.cfg.Store.MemberByID(rctx, id)
	if err != nil {
		return admin.NotFound(err, "没有这个成员。")
	}
	if adm := adminOf(ctx); !adm.CanSeeMember(m) {
		return adm.Forbidden(flows.ResourceMember)
	}
	if err := c.cfg.Store.UnbindMember(rctx, id); err != nil {
		return admin.NotFound(err, "没有这个成员。")
	}
	back := ctx.PostForm("back")
	if !strings.HasPrefix(back, Path+"/members") {
		back = Path + "/members"
	}
	back = safeNext(back)
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	ctx.Redirect(http.StatusSeeOther, back+sep+"msg=unbound")
	return nil
}
