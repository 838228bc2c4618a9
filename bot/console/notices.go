package console

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/bot/notices"
	"gridbot/flows"
)

// The notice pages: the list with delivery progress, the composer (the
// target count before sending) and a notice's page.

type noticeItem struct {
	Notice  flows.Notice
	Counts  flows.NoticeCounts
	Done    int // deliveries with their outcome
	Percent int
}

func itemOf(n flows.Notice, counts flows.NoticeCounts) noticeItem {
	it := noticeItem{Notice: n, Counts: counts, Done: counts.Sent + counts.Failed + counts.Skipped}
	if t := counts.Total(); t > 0 {
		it.Percent = it.Done * 100 / t
	} else if counts.Resolved {
		it.Percent = 100
	}
	return it
}

func (c *Console) notices(ctx *gin.Context) error {
	f := flows.NoticeFilter{Limit: 50}
	var err error
	if f.Unit, err = adminOf(ctx).NoticeScope(); err != nil {
		return err
	}
	ns, err := c.cfg.Store.Notices(ctx.Request.Context(), f)
	if err != nil {
		return err
	}
	items := make([]noticeItem, len(ns))
	for i, n := range ns {
		items[i] = itemOf(n.Notice, n.Counts)
	}
	c.render(ctx, http.StatusOK, "notices", page{Title: "通知", Nav: "notices", Data: items})
	return nil
}

// noticeFormData is the composer's form, as typed.
type noticeFormData struct {
	Title, Content, EventTime, Place, SendAt string
	All                                      bool
	Grids, Units                             []string // chosen
	AllGrids, AllUnits                       []string // offered
	Count                                    int      // targets, after a preview
	Previewed                                bool
	// States counts the targets by whether the notice reaches them, and
	// Preview is the message as members will read it, after a preview:
	// the text message or the template message's fields.
	States  flows.TargetStates
	Preview notices.Preview
	// OwnUnit is the only target a unit admin may choose; "" for the office.
	OwnUnit string
	// FormKey is the form's own key (see formKeyOf).
	FormKey string
}

const formTime = "2006-01-02T15:04" // <input type="datetime-local">

func (c *Console) noticeForm(ctx *gin.Context) error {
	d := noticeFormData{FormKey: formKeyOf(ctx)}
	if err := c.offerTargets(ctx, &d); err != nil {
		return err
	}
	if d.OwnUnit != "" {
		d.Units = []string{d.OwnUnit}
	}
	c.render(ctx, http.StatusOK, "notice_form", page{Title: "发布通知", Nav: "notices", Data: d})
	return nil
}

// offerTargets fills the grids and units the form offers: a unit admin's
// notices go to their unit alone (flows.Admin.NoticeScope), which the form
// names (a hidden field).
func (c *Console) offerTargets(ctx *gin.Context, d *noticeFormData) error {
	unit, err := adminOf(ctx).NoticeScope()
	switch {
	case err != nil:
		return err
	case unit != "":
		d.OwnUnit, d.AllUnits = unit, []string{unit}
		return nil
	}
	rctx := ctx.Request.Context()
	if d.AllGrids, err = c.cfg.Store.GridNames(rctx); err == nil {
		d.AllUnits, err = c.cfg.Store.UnitNames(rctx)
	}
	return err
}

// parseNotice validates the composer's form into a notice; the message
// says what to fix.
func (c *Console) parseNotice(d *noticeFormData) (flows.Notice, string) {
	n := flows.Notice{Title: d.Title, Content: d.Content, Place: d.Place, TargetAll: d.All}
	now := c.cfg.Now()
	switch {
	case d.Title == "":
		return n, "请填写标题。"
	case utf8.RuneCountInString(d.Title) > 64:
		return n, "标题最多64字。"
	case d.Content == "":
		return n, "请填写内容。"
	case utf8.RuneCountInString(d.Content) > 1000:
		return n, "内容最多1000字。"
	case utf8.RuneCountInString(d.Place) > 100:
		return n, "地点最多100字。"
	}
	if d.EventTime != "" {
		t, err := time.ParseInLocation(formTime, d.EventTime, c.cfg.Loc)
		if err != nil {
			return n, "活动时间格式不对，应为 年-月-日 时:分。"
		}
		if !flows.YearTyped(t) {
			return n, fmt.Sprintf("活动时间的年份应在%d–%d年之间。", flows.FirstYear, flows.LastYear)
		}
		n.EventTime = t
	}
	if d.SendAt != "" {
		t, err := time.ParseInLocation(formTime, d.SendAt, c.cfg.Loc)
		switch {
		case err != nil:
			return n, "发送时间格式不对，应为 年-月-日 时:分。"
		case t.Before(now.Add(-time.Minute)):
			return n, "发送时间不能早于现在；立即发送请留空。"
		case t.After(now.AddDate(1, 0, 0)):
			return n, "发送时间不能晚于一年以后。"
		}
		n.SendAt = t
	}
	if msg := notices.TextProblem(n, c.cfg.Loc); msg != "" {
		return n, msg
	}
	if !d.All {
		for _, g := range d.Grids {
			if !slices.Contains(d.AllGrids, g) {
				return n, "没有名为「" + g + "」的网格。"
			}
		}
		for _, u := range d.Units {
			if !slices.Contains(d.AllUnits, u) {
				return n, "没有名为「" + u + "」的单位。"
			}
		}
		if len(d.Grids) == 0 && len(d.Units) == 0 {
			return n, "请选择发送对象：全体成员，或至少一个网格或单位。"
		}
		n.Grids, n.Units = d.Grids, d.Units
	}
	return n, ""
}

// formNames are the grid or unit names a form chose: trimmed, without
// blanks and repeats, in the order given.
func formNames(in []string) []string {
	var out []string
	for _, name := range in {
		if name = strings.TrimSpace(name); name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func (c *Console) composeNotice(ctx *gin.Context) error {
	d := noticeFormData{
		Title: strings.TrimSpace(ctx.PostForm("title")), Content: strings.TrimSpace(ctx.PostForm("content")),
		EventTime: strings.TrimSpace(ctx.PostForm("event_time")), Place: strings.TrimSpace(ctx.PostForm("place")),
		SendAt: strings.TrimSpace(ctx.PostForm("send_at")), All: ctx.PostForm("all") == "1",
		Grids: formNames(ctx.PostFormArray("grid")), Units: formNames(ctx.PostFormArray("unit")),
		FormKey: formKeyOf(ctx),
	}
	// The form sent again (a double click, or back and 发送 once more)
	// leads to the notice it created, saying nothing more was sent: a
	// second notice would reach every member twice.
	if ctx.PostForm("action") == "send" {
		if done, found, err := c.sentBefore(ctx, flows.FormNotice, d.FormKey); err != nil || found {
			if found {
				ctx.Redirect(http.StatusSeeOther, fmt.Sprintf("%s/notices/%d?msg=resent", Path, done.ID))
			}
			return err
		}
	}
	// A unit admin who names any other target is refused, as the API
	// refuses them, before the names are looked at.
	if adm := adminOf(ctx); !adm.CanNotify(flows.Notice{TargetAll: d.All, Grids: d.Grids, Units: d.Units}) {
		return adm.Forbidden(flows.ResourceNoticeTargets)
	}
	if err := c.offerTargets(ctx, &d); err != nil {
		return err
	}
	again := func(code int, msg string) {
		c.render(ctx, code, "notice_form", page{Title: "发布通知", Nav: "notices", Error: msg, Data: d})
	}
	n, msg := c.parseNotice(&d)
	if msg != "" {
		again(http.StatusUnprocessableEntity, msg)
		return nil
	}
	rctx := ctx.Request.Context()
	var err error
	if ctx.PostForm("action") != "send" {
		if d.States, err = c.cfg.Store.NoticeTargetStates(rctx, n); err == nil {
			d.Count, d.Previewed = d.States.Reached, true
			shown := n
			if shown.SendAt.IsZero() {
				shown.SendAt = c.cfg.Now() // sent at once: a time field without an event time shows now, as sent
			}
			d.Preview = notices.PreviewOf(shown, c.cfg.NoticeTemplateID, c.cfg.NoticeTemplateFields, c.cfg.Loc, "（成员所在单位）")
			c.render(ctx, http.StatusOK, "notice_form", page{Title: "发布通知", Nav: "notices", Data: d})
			return nil
		}
	} else {
		n.CreatedBy = adminOf(ctx).Username
		n.FormKey = storedFormKey(ctx, d.FormKey)
		// Sent twice at once, the second create finds the first's.
		err = c.cfg.Store.CreateNotice(rctx, &n)
		if err == nil || errors.Is(err, flows.ErrAlreadyCreated) {
			msg := "created"
			if err != nil {
				msg = "resent"
			}
			ctx.Redirect(http.StatusSeeOther, fmt.Sprintf("%s/notices/%d?msg=%s", Path, n.ID, msg))
			return nil
		}
	}
	if errors.Is(err, flows.ErrNotFound) {
		again(http.StatusUnprocessableEntity, "所选网格或单位已不存在，请重新选择。")
		return nil
	}
	return err
}

// deliveryStates are the delivery states in the order a notice's page
// lists them.
var deliveryStates = []flows.DeliveryState{flows.DeliverySent, flows.DeliveryFailed, flows.DeliverySkipped, flows.DeliveryPending, flows.DeliverySending}

// maxRecipients is how many recipients a notice's page lists at once (of
// one state, or all); the counts say how many there are.
const maxRecipients = 200

// noticeData is a notice's page: its progress, the count of each delivery
// state (linked to the list of that state) and the recipients listed.
type noticeData struct {
	noticeItem
	State      flows.DeliveryState
	States     []stateLink
	AllURL     template.URL
	Recipients []flows.Recipient
	Listed     int // recipients of State, of which Recipients are the first
	// CancelledBy and CancelledAt say who cancelled the notice and when;
	// CanCancel that it is scheduled and not being sent yet.
	CancelledBy string
	CancelledAt time.Time
	CanCancel   bool
}

type stateLink struct {
	State flows.DeliveryState
	N     int
	URL   template.URL
}

func (c *Console) notice(ctx *gin.Context) error {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return admin.NotFound(flows.ErrNotFound, "没有这条通知。")
	}
	rctx := ctx.Request.Context()
	n, err := c.cfg.Store.Notice(rctx, id)
	if err != nil {
		return admin.NotFound(err, "没有这条通知。")
	}
	if adm := adminOf(ctx); !adm.CanSeeNotice(n) {
		return adm.Forbidden(flows.ResourceNotice)
	}
	counts, err := c.cfg.Store.NoticeCounts(rctx, id)
	if err != nil {
		return err
	}
	state := flows.DeliveryState(strings.TrimSpace(ctx.Query("state")))
	if state != "" && !slices.Contains(deliveryStates, state) {
		return admin.BadRequest("没有「" + string(state) + "」这种发送状态。")
	}
	rs, total, err := c.cfg.Store.NoticeRecipients(rctx, id, state, maxRecipients)
	if err != nil {
		return err
	}
	d := noticeData{noticeItem: itemOf(n, counts), State: state, Recipients: rs, Listed: total}
	path, q := ctx.Request.URL.Path, ctx.Request.URL.Query()
	for _, st := range deliveryStates {
		var k int
		switch st {
		case flows.DeliveryPending:
			k = counts.Pending
		case flows.DeliverySending:
			k = counts.Sending
		case flows.DeliverySent:
			k = counts.Sent
		case flows.DeliveryFailed:
			k = counts.Failed
		case flows.DeliverySkipped:
			k = counts.Skipped
		}
		d.States = append(d.States, stateLink{st, k, linkWith(path, q, "state", string(st))})
	}
	d.AllURL = linkWith(path, q, "state", "")
	switch by, at, err := c.cfg.Store.NoticeCancelled(rctx, id); {
	case err == nil:
		d.CancelledBy, d.CancelledAt = by, at
	case !errors.Is(err, flows.ErrNotFound):
		return err
	default:
		d.CanCancel = !counts.Resolved && counts.Total() == 0 && n.SendAt.After(c.cfg.Now())
	}
	p := page{Title: n.Title, Nav: "notices", Data: d}
	// The banner of a new notice stays while it is being sent, the page
	// reloading itself, and goes once sending is done.
	if !counts.Done() && d.CancelledBy == "" {
		p.Flash = flash(ctx)
		if !n.SendAt.After(c.cfg.Now().Add(time.Minute)) {
			p.Refresh = 2
		}
	}
	c.render(ctx, http.StatusOK, "notice", p)
	return nil
}

// cancelNotice cancels a scheduled notice before it is sent.
func (c *Console) cancelNotice(ctx *gin.Context) error {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return admin.NotFound(flows.ErrNotFound, "没有这条通知。")
	}
	rctx := ctx.Request.Context()
	n, err := c.cfg.Store.Notice(rctx, id)
	if err != nil {
		return admin.NotFound(err, "没有这条通知。")
	}
	if adm := adminOf(ctx); !adm.CanSeeNotice(n) {
		return adm.Forbidden(flows.ResourceNotice)
	}
	err = c.cfg.Store.CancelNotice(rctx, id, adminOf(ctx).Username)
	var ce *flows.NoticeCancelError
	if errors.As(err, &ce) {
		return &admin.Error{Status: http.StatusConflict, Message: ce.Msg + "。"}
	}
	if err != nil {
		return admin.NotFound(err, "没有这条通知。")
	}
	ctx.Redirect(http.StatusSeeOther, fmt.Sprintf("%s/notices/%d?msg=noticecancelled", Path, id))
	return nil
}
