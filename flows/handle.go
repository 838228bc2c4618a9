package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gridbot/flows/parse"
)

// 处置 (SPEC §15): a reviewer of a handler unit picks one of the open
// reports assigned to the unit, oldest deadline first, and marks it 处理中,
// or 已整改 with photos of the result and a note. The reporter is told
// (the store's status push).

// Draft entries of the handle flow.
const (
	handleReport = "report"
	handleStatus = "report_status"
	handleAction = "action"
	handleNote   = "note"
	// handleListed is the codes of the reports the list showed, in its
	// order: a number answers the list the member saw, not the one read
	// again when the answer comes.
	handleListed = "listed"
)

// maxHandleListed is how many reports the list shows; the rest wait.
const maxHandleListed = 20

// canHandle is the refusal of 处置 for members who are not a unit's
// reviewers.
func canHandle(m Member) string {
	if m.Role.CanRecordActivity() {
		return ""
	}
	return "问题处置由处置单位的联络员或负责人办理。您可回复「我的上报」查看自己上报的问题。"
}

func handleFlow() *Flow {
	return &Flow{
		Name:        FlowHandle,
		Title:       "处置",
		NeedsMember: true,
		Available:   func(st Stores) bool { return st.Handling != nil },
		Allowed:     canHandle,
		Load:        loadToHandle,
		Empty: func(env *Env) string {
			if len(env.Facts.ToHandle) > 0 {
				return ""
			}
			return "本单位暂无待处置的问题。"
		},
		Steps: []*Step{
			{
				Name:  handleReport,
				Facts: true,
				Prompt: func(env *Env) string {
					return "本单位待处置的问题（按整改期限排序），回复编号：\n" + handleList(env)
				},
				Accept: acceptHandleReport,
			},
			{
				Name: handleAction,
				Prompt: func(env *Env) string {
					if env.Draft[handleStatus] == StatusWorking {
						return fmt.Sprintf("%s 正在处理中。整改完成后回复「%s」并上传整改后照片。", env.Draft[handleReport], StatusFixed)
					}
					return fmt.Sprintf("%s：回复「%s」标记开始处理，或「%s」并上传整改后照片。", env.Draft[handleReport], StatusWorking, StatusFixed)
				},
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（处理中或已整改）")
					if err != nil {
						return err
					}
					choices := ReportMoves(env.Draft[handleStatus])
					var allowed []string
					for _, c := range choices {
						if c != StatusRejected { // 不予处理 stays the office's
							allowed = append(allowed, c)
						}
					}
					i, err := parse.Choice(s, allowed)
					if err != nil {
						return reject("请回复「%s」。不予处理由区文明办决定。", strings.Join(allowed, "」或「"))
					}
					env.Draft[handleAction] = allowed[i]
					return nil
				},
			},
			{
				Name:    stepPhotos,
				Applies: func(env *Env) bool { return env.Draft[handleAction] == StatusFixed },
				Prompt: func(env *Env) string {
					return photoPrompt(env, fmt.Sprintf("请发送整改后的现场照片（%d–%d张），发完回复「完成」。", ResultPhotos.Min, ResultPhotos.Max))
				},
				Photos: &ResultPhotos,
				Accept: photoAccept,
			},
			{
				Name:    handleNote,
				Applies: func(env *Env) bool { return env.Draft[handleAction] == StatusFixed },
				Prompt: func(*Env) string {
					return fmt.Sprintf("请说明整改情况（%d–%d字），如 已清运垃圾并恢复绿化。", MinHandleNote, MaxHandleNote)
				},
				Accept: func(env *Env, in Input) error {
					return acceptText(env, in, handleNote, "整改说明", MinHandleNote, MaxHandleNote)
				},
			},
		},
		Summary: func(env *Env) string {
			s := fmt.Sprintf("问题：%s\n处置：%s", env.Draft[handleReport], env.Draft[handleAction])
			if env.Draft[handleAction] == StatusFixed {
				s += fmt.Sprintf("\n整改照片：%d张\n整改说明：%s", len(env.Photos), env.Draft[handleNote])
			}
			return s
		},
		Save: saveHandle,
	}
}

// loadToHandle lists the open reports assigned to the member's unit.
func loadToHandle(ctx context.Context, st Stores, env *Env) error {
	rs, err := st.Handling.HandlerReports(ctx, env.Member.UnitID)
	if err != nil {
		return err
	}
	env.Facts.ToHandle = rs
	return nil
}

// handleList numbers the reports to handle, with category, place,
// deadline and whether it passed.
func handleList(env *Env) string {
	var b strings.Builder
	listed := make([]string, 0, min(len(env.Facts.ToHandle), maxHandleListed))
	defer func() { env.Draft[handleListed] = strings.Join(listed, ",") }()
	for i, r := range env.Facts.ToHandle {
		if i == maxHandleListed {
			fmt.Fprintf(&b, "\n……另有%d条，处理完上面的再看。", len(env.Facts.ToHandle)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%d. %s", i+1, handleLine(r, env.Now))
		listed = append(listed, r.Code)
	}
	return b.String()
}

// handleLine is a report as handleList lists it, without its number:
// code, category, place, status, deadline and whether it passed.
func handleLine(r Report, now time.Time) string {
	s := fmt.Sprintf("%s %s %s 【%s】 期限%s", r.Code, r.Category, r.Place.Label, r.Status, deadlineText(r.Deadline, now))
	if r.OverdueAt(now) {
		s += "（已逾期）"
	}
	return s
}

// deadlineText is a deadline as the chat shows it: month, day and time
// in the office's zone (now's location).
func deadlineText(t, now time.Time) string {
	return t.In(now.Location()).Format("1月2日15:04")
}

// acceptHandleReport takes a report by its number in the list, its code,
// its line as listed or its place (pickItem).
func acceptHandleReport(env *Env, in Input) error {
	s, err := textOf(in, "文字（问题的编号）")
	if err != nil {
		return err
	}
	// The candidates: the reports listed, in the list's order (what a
	// number or a line answers), then any other open one (by its code).
	open := make(map[string]Report, len(env.Facts.ToHandle))
	for _, r := range env.Facts.ToHandle {
		open[r.Code] = r
	}
	var codes []string
	if l := env.Draft[handleListed]; l != "" {
		codes = strings.Split(l, ",")
	} else {
		for _, r := range env.Facts.ToHandle[:min(len(env.Facts.ToHandle), maxHandleListed)] {
			codes = append(codes, r.Code)
		}
	}
	lines, names := make([]string, len(codes)), make([][]string, len(codes))
	for i, c := range codes {
		lines[i] = c
		if r, ok := open[c]; ok {
			lines[i], names[i] = handleLine(r, env.Now), []string{r.Place.Label}
		}
	}
	for _, r := range env.Facts.ToHandle {
		if !slices.Contains(codes, r.Code) {
			codes = append(codes, r.Code)
		}
	}
	i, found, err := pickItem(s, codes, lines, names)
	if err != nil {
		return err
	}
	if !found {
		return reject("请回复列表中的编号（1–%d）、问题编号或地点。", len(lines))
	}
	r, ok := open[codes[i]]
	if !ok {
		return reject("%s 的状态已有变化，不在待处置之列了。请按下面的新列表选择。", codes[i])
	}
	env.Draft[handleReport], env.Draft[handleStatus] = r.Code, r.Status
	return nil
}

func saveHandle(ctx context.Context, st Stores, env *Env) (Outcome, error) {
	c := StatusChange{
		Code: env.Draft[handleReport], Status: env.Draft[handleAction], HandlerID: env.Member.ID,
		By: env.Member.Role.Label() + " " + env.Member.Name,
	}
	if c.Status == StatusFixed {
		if err := checkDraftPhotos(env, ResultPhotos); err != nil {
			return Outcome{}, err
		}
		c.Note, c.Photos = env.Draft[handleNote], stagedPhotos(env)
	}
	r, err := st.Handling.SetReportStatus(ctx, c)
	var (
		ae *AssignmentError
		me *InvalidMoveError
	)
	if errors.As(err, &me) {
		// Perhaps a second 确认 of this draft after its change was stored
		// and the turn then failed (the session could not be cleared).
		saved, ok, rerr := savedChange(ctx, st.Handling, c, env.Draft[handleStatus])
		if rerr != nil {
			return Outcome{}, rerr
		}
		if ok {
			r, err = saved, nil
		}
	}
	switch {
	case errors.As(err, &ae):
		return Outcome{}, &StepError{Msg: ae.Msg + "，未保存。"}
	case errors.As(err, &me), errors.Is(err, ErrNotFound):
		return Outcome{}, &StepError{Msg: "这条问题的状态已有变化，未保存。回复「处置」重新查看。"}
	case err != nil:
		return Outcome{}, photoSaveError(env, err)
	}
	if r.Status == StatusFixed {
		return Outcome{Reply: fmt.Sprintf("已将 %s 标记为已整改，整改照片正在后台保存，已通知上报人。", r.Code)}, nil
	}
	return Outcome{Reply: fmt.Sprintf("已将 %s 标记为处理中，已通知上报人。整改完成后回复「处置」上传整改照片。", r.Code)}, nil
}

// ReportHistoryReader reads a report and its status changes; store/sqldb's
// HandlingStore is one. Where the store is one, saveHandle tells a second
// 确认 of a change it stored already from a change by someone else.
type ReportHistoryReader interface {
	// ReportByCode returns the report with this code, with its photos,
	// or ErrNotFound.
	ReportByCode(ctx context.Context, code string) (Report, error)
	// ReportHistory lists the report's status changes, oldest first, or
	// ErrNotFound for an unknown code.
	ReportHistory(ctx context.Context, code string) ([]ReportChange, error)
}

// savedChange returns the report, true, when change c, refused as an
// invalid move, is what the report's last change stored already: the
// report has c's status and c's result photos, and its last change went
// from status from (the draft's) to c's status, by c's author with c's
// note. That is a draft whose first 确认 was stored and whose turn then
// failed. A status change carries no draft key (report_changes has none),
// so these are what tell the draft's own change. False when the store
// cannot say (not a ReportHistoryReader) or the report is gone.
func savedChange(ctx context.Context, st HandlingStore, c StatusChange, from string) (Report, bool, error) {
	rr, ok := st.(ReportHistoryReader)
	if !ok {
		return Report{}, false, nil
	}
	r, err := rr.ReportByCode(ctx, c.Code)
	if errors.Is(err, ErrNotFound) {
		return Report{}, false, nil
	}
	if err != nil {
		return Report{}, false, err
	}
	if r.Status != c.Status || !slices.Equal(photoIDs(r.AfterPhotos), photoIDs(c.Photos)) {
		return Report{}, false, nil
	}
	h, err := rr.ReportHistory(ctx, c.Code)
	if errors.Is(err, ErrNotFound) {
		return Report{}, false, nil
	}
	if err != nil {
		return Report{}, false, err
	}
	if len(h) == 0 {
		return Report{}, false, nil
	}
	last := h[len(h)-1]
	if last.From != from || last.To != c.Status || last.By != c.By || last.Note != strings.TrimSpace(c.Note) {
		return Report{}, false, nil
	}
	return r, true, nil
}

// photoIDs are the IDs of photos, in order.
func photoIDs(ps []Photo) []int64 {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}
