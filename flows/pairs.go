package flows

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gridbot/flows/parse"
)

// The 结对 flow (SPEC §14): the member's pairings with last visit and
// next due → choose one → a visit: date → time → content → photos
// (optional) → summary, 确认 → a pending service record, category
// 结对帮扶, with the pairing's ID.

// Draft entries of the pairing flow.
const (
	pairDraft     = "pairing"
	pairResident  = "resident"
	visitPlace    = "结对走访"
	pairNoneReply = "您目前没有结对的服务对象。结对由本单位管理员或区文明办安排，安排后会通知您。"
)

func myPairsFlow() *Flow {
	return &Flow{
		Name:        FlowMyPairs,
		Title:       "结对帮扶",
		NeedsMember: true,
		Available:   func(st Stores) bool { return st.Pairings != nil },
		Load:        loadPairs,
		Empty: func(env *Env) string {
			if len(env.Facts.Pairs) == 0 {
				return pairNoneReply
			}
			return ""
		},
		Steps: []*Step{
			{
				Name:  "pair",
				Facts: true,
				Prompt: func(env *Env) string {
					return "您的结对服务对象（回复数字登记一次走访，「取消」结束）：\n" + numbered(pairLines(env))
				},
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（服务对象的数字）")
					if err != nil {
						return err
					}
					names := make([]string, len(env.Facts.Pairs))
					for i, p := range env.Facts.Pairs {
						names[i] = p.Resident
					}
					i, err := parse.Choice(s, names)
					if err != nil {
						// The line as listed answers too (SPEC §4).
						i, err = parse.Choice(s, pairLines(env))
					}
					if err != nil {
						return reject("请回复服务对象前的数字，例如 1。")
					}
					p := env.Facts.Pairs[i]
					env.Draft[pairDraft] = strconv.FormatInt(p.ID, 10)
					env.Draft[pairResident] = p.Resident
					return nil
				},
			},
			{
				Name:  "date",
				Facts: true,
				Prompt: func(env *Env) string {
					return chosenPair(env) + "\n\n走访日期：回复 今天、昨天、前天，或日期如 11-28、11月28日、2026-11-28。"
				},
				Accept: acceptVisitDate,
			},
			{
				// The day's records are loaded for a range's overlap
				// check alone (acceptServiceTime).
				Name: stepTime,
				Prompt: func(*Env) string {
					return "走访时间：回复时间段如 9:00-11:30、9点-11点半，或时长如 1.5、2小时、90分钟（30分钟至12小时）。"
				},
				Accept: acceptServiceTime,
			},
			{
				Name: "content",
				Prompt: func(*Env) string {
					return "走访内容：简要描述了解到的情况和提供的帮助（2–500字）。"
				},
				Accept: func(env *Env, in Input) error {
					return acceptTextExample(env, in, "content", "走访内容", 2, 500, "陪老人聊天，帮忙打扫房间，老人身体尚好")
				},
			},
			{
				Name:     stepPhotos,
				Optional: true,
				Prompt: func(env *Env) string {
					return photoPrompt(env, "走访照片（可选）：可发送1–9张照片，发完回复「完成」；不发请回复「跳过」。")
				},
				Photos: &ServicePhotos,
				Accept: photoAccept,
			},
		},
		Summary: visitSummary,
		Save:    saveVisit,
	}
}

// loadPairs reads the member's pairings, and for the time step the
// records of the visit's day, for a range's overlap check.
func loadPairs(ctx context.Context, st Stores, env *Env) error {
	ps, err := st.Pairings.MemberPairings(ctx, env.Member.ID)
	if err != nil {
		return err
	}
	env.Facts.Pairs = ps
	d, err := ParseISODate(env.Draft["date"])
	if err != nil || env.factsStep != stepTime {
		return nil // no day chosen yet, or a step that does not check it
	}
	env.Facts.DayRecords, err = st.ServiceRecordsOn(ctx, env.Member.ID, d)
	return err
}

// acceptVisitDate takes the visit's day as acceptDate does, and refuses
// one before the chosen pairing started here, naming the start date: the
// store refuses such a visit too, but only at 确认, after the member has
// typed the time, content and photos for nothing.
func acceptVisitDate(env *Env, in Input) error {
	prev, had := env.Draft["date"]
	if err := acceptDate(env, in, "走访"); err != nil {
		return err
	}
	p := chosen(env)
	if p == nil {
		return nil // the pairing is gone; saving says so
	}
	if d, err := ParseISODate(env.Draft["date"]); err == nil && d.Before(p.Started) {
		// The engine keeps the draft of a refused answer: put back the
		// day it held, so a refused day never becomes the visit's.
		if had {
			env.Draft["date"] = prev
		} else {
			delete(env.Draft, "date")
		}
		if env.Today.Before(p.Started) {
			return reject("结对从%s开始，尚未开始，暂不能登记走访。请到那天以后再登记，或回复「取消」。", p.Started.Chinese())
		}
		return reject("结对从%s开始，走访日期不能早于这一天。例如回复「今天」。", p.Started.Chinese())
	}
	return nil
}

// pairLines shows each pairing: name, category, last visit, next due.
func pairLines(env *Env) []string {
	out := make([]string, len(env.Facts.Pairs))
	for i, p := range env.Facts.Pairs {
		last := "尚未走访"
		if !p.LastVisit.IsZero() {
			last = "上次走访 " + p.LastVisit.Chinese()
		}
		due := "下次应于 " + p.NextDue().Chinese() + " 前"
		if p.Overdue(env.Today) {
			due += "（已逾期）"
		}
		out[i] = fmt.Sprintf("%s（%s）%s，%s", p.Resident, p.Category, last, due)
	}
	return out
}

// chosen is the pairing the draft names, nil when it is gone.
func chosen(env *Env) *MemberPairing {
	id, _ := strconv.ParseInt(env.Draft[pairDraft], 10, 64)
	for i, p := range env.Facts.Pairs {
		if p.ID == id {
			return &env.Facts.Pairs[i]
		}
	}
	return nil
}

// chosenPair shows the chosen person's details to their paired member.
func chosenPair(env *Env) string {
	if p := chosen(env); p != nil {
		phone := p.Phone
		if phone == "" {
			phone = "无"
		}
		return fmt.Sprintf("服务对象：%s（%s）\n地址：%s\n电话：%s\n需求：%s", p.Resident, p.Category, p.Address, phone, p.Needs)
	}
	return "服务对象：" + env.Draft[pairResident]
}

func visitRecord(env *Env) (ServiceRecord, error) {
	r, err := draftRecord(env)
	if err != nil {
		return ServiceRecord{}, err
	}
	r.PairingID, err = strconv.ParseInt(env.Draft[pairDraft], 10, 64)
	if err != nil {
		return ServiceRecord{}, fmt.Errorf("draft pairing: %w", err)
	}
	r.Category, r.Place, r.ActivityID = VisitCategory, Location{Label: visitPlace}, 0
	return r, nil
}

func visitSummary(env *Env) string {
	r, err := visitRecord(env)
	if err != nil {
		return "（草稿不完整）"
	}
	when := RecordHours(r.Minutes)
	if r.HasRange() {
		when = clockRange(r.StartMin, r.EndMin) + "，" + when
	}
	out := fmt.Sprintf("服务对象：%s\n走访日期：%s\n时间：%s\n内容：%s", env.Draft[pairResident], r.Date, when, r.Content)
	if len(r.Photos) > 0 {
		out += fmt.Sprintf("\n照片：%d张", len(r.Photos))
	}
	return out
}

func saveVisit(ctx context.Context, st Stores, env *Env) (Outcome, error) {
	if err := checkDraftPhotos(env, ServicePhotos); err != nil {
		return Outcome{}, err
	}
	r, err := visitRecord(env)
	if err != nil {
		return Outcome{}, err
	}
	var (
		ov   *OverlapError
		re   *ResidentError
		full *DayFullError
	)
	err = st.CreateServiceRecord(ctx, &r)
	switch {
	case errors.As(err, &ov):
		e := ov.Existing
		return Outcome{}, &StepError{Step: "time", Resume: true, Msg: fmt.Sprintf("与您当天已登记的 %s「%s」时间重叠，请换一个时间段。", clockRange(e.StartMin, e.EndMin), e.Category)}
	case errors.As(err, &re) && re.Date:
		return Outcome{}, &StepError{Step: "date", Msg: re.Msg + "，请换一个日期。"}
	case errors.As(err, &re):
		return Outcome{}, &StepError{Msg: "未能保存：" + re.Msg + "。"}
	case errors.As(err, &full):
		return Outcome{}, &StepError{Step: "time", Resume: true, Msg: dayFullReason(env, full, r.Minutes)}
	case err != nil:
		return Outcome{}, photoSaveError(env, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "已保存对%s的走访记录（%s，%s），待本单位审核。", env.Draft[pairResident], r.Date.Chinese(), RecordHours(r.Minutes))
	if !r.Qualified() {
		b.WriteString("\n注意：不足2小时，计入时长，但不计入合格服务次数。")
	}
	return Outcome{Reply: b.String()}, nil
}

// pairTasks: the member's overdue pairing visits (待办).
func pairTasks(ctx context.Context, st Stores, env *Env) ([]string, error) {
	if st.Pairings == nil {
		return nil, nil
	}
	ps, err := st.Pairings.OverduePairings(ctx, env.Member.ID, env.Today)
	if err != nil || len(ps) == 0 {
		return nil, err
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Resident
	}
	return []string{fmt.Sprintf("· 结对走访已逾期%d户（%s），回复「结对」登记走访", len(ps), strings.Join(names, "、"))}, nil
}
