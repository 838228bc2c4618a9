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
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"

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
// month m that count (not rejected).
func (c *Console) membersXLSX(ctx *gin.Context, d membersData, unitID int64, m flows.Month) error {
	f := flows.MonthFilter(m)
	f.UnitID, f.Unit, f.Grid, f.Counted = unitID, d.Unit, d.Grid, true
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
		return workbook.WriteMembers(w, listTitle(m, "成员", d.Unit, d.Grid, d.Query), rows)
	})
}
