package console

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"gridbot/bot/admin"
)

// pageSize is how many rows a page of a list shows.
const pageSize = 20

// pager is a list's page: which one of how many, the rows it holds
// ([From, To) of Total, 1-based From for the page's text), and the links
// to the pages before and after ("" at either end).
type pager struct {
	Page, Pages      int
	Total            int
	From, To         int
	PrevURL, NextURL template.URL
}

// paginate reads ?page= (1 when absent; a 400 when not a positive number;
// the last page when beyond it) for a list of total rows at path with
// query q, and says which rows the page holds: rows[lo:hi].
func paginate(path string, q url.Values, total int) (p pager, lo, hi int, err error) {
	p = pager{Page: 1, Total: total, Pages: max(1, (total+pageSize-1)/pageSize)}
	if s := strings.TrimSpace(q.Get("page")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return pager{}, 0, 0, admin.BadRequest("页码「" + s + "」不对，应为 1 以上的数字。")
		}
		p.Page = min(n, p.Pages)
	}
	lo = (p.Page - 1) * pageSize
	hi = min(total, lo+pageSize)
	p.From, p.To = min(lo+1, total), hi
	if p.Page > 1 {
		p.PrevURL = linkWith(path, q, "page", strconv.Itoa(p.Page-1))
	}
	if p.Page < p.Pages {
		p.NextURL = linkWith(path, q, "page", strconv.Itoa(p.Page+1))
	}
	return p, lo, hi, nil
}

// linkWith is the link to path with query q, key set to value (removed
// when ""): another page, month or format of the same list with the same
// filters. Any other change goes back to the first page, and a page's
// banner (msg) is not carried along.
func linkWith(path string, q url.Values, key, value string) template.URL {
	v := url.Values{}
	for k, vs := range q {
		if k != "msg" && k != "page" && k != "format" && len(vs) > 0 && vs[0] != "" {
			v.Set(k, vs[0])
		}
	}
	if value == "" {
		v.Del(key)
	} else {
		v.Set(key, value)
	}
	if len(v) == 0 {
		return template.URL(path)
	}
	return template.URL(path + "?" + v.Encode())
}

// onePage is the page of rows ?page= asks for (paginate), and its pager.
func onePage[T any](path string, q url.Values, rows []T) ([]T, pager, error) {
	p, lo, hi, err := paginate(path, q, len(rows))
	if err != nil {
		return nil, pager{}, err
	}
	return rows[lo:hi], p, nil
}
