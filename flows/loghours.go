package flows

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gridbot/flows/parse"
)

// Bounds of a service session (SPEC §5).
const (
	MinSessionMinutes = 30
	MaxSessionMinutes = 12 * 60
	// MaxDayMinutes is the most a member's records of one day may add up
	// to (DayFullError); on today, the time since midnight.
	MaxDayMinutes = 24 * 60
	MaxDaysBack   = 31
)

func logHoursFlow() *Flow {
	return &Flow{
		Name:        FlowLogHours,
		Title:       "登记时长",
		NeedsMember: true,
		Steps: []*Step{
			{
				Name: "date",
				Prompt: func(*Env) string {
					return "第1步 服务日期：回复 今天、昨天、前天，或日期如 11-28、11月28日、2026-11-28。"
				},
				Accept: acceptServiceDate,
			},
			{
				// The day's records are loaded for the overlap check of
				// a range and the day's total (acceptServiceTime).
				Name: stepTime,
				Prompt: func(env *Env) string {
					return "第2步 服务时间：回复时间段如 9:00-11:30、9点-11点半，或时长如 2.5、2小时30分、90分钟（30分钟至12小时）。"
				},
				Accept: acceptServiceTime,
			},
			{
				Name: "category",
				Prompt: func(*Env) string {
					return "第3步 服务类别，回复数字或名称：\n" + numbered(ServiceCategories)
				},
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（类别的数字或名称）")
					if err != nil {
						return err
					}
					i, err := choose(s, ServiceCategories, serviceAliases)
					if err != nil {
						return err
					}
					env.Draft["category"] = ServiceCategories[i]
					return nil
				},
			},
			{
				Name: "place",
				Prompt: func(*Env) string {
					return "第4步 服务地点：回复地点文字（如 XX社区广场），或发送位置。"
				},
				Accept: acceptPlace,
			},
			{
				Name:   "content",
				Prompt: func(*Env) string { return "第5步 服务内容：简要描述做了什么（2–500字）。" },
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（服务内容）")
					if err != nil {
						return err
					}
					text, err := parse.Text(s, 2, 500)
					if err != nil {
						return reject("服务内容%s%s", err.Error(), exampleOf("为社区老人讲解防诈骗知识"))
					}
					env.Draft["content"] = text
					return nil
				},
			},
			{
				Name:     stepPhotos,
				Optional: true,
				Prompt: func(env *Env) string {
					return photoPrompt(env, "第6步 服务照片（可选）：可发送1–9张照片，发完回复「完成」；不发请回复「跳过」。")
				},
				Photos: &ServicePhotos,
				Accept: photoAccept,
			},
			{
				Name:     stepActivity,
				Optional: true,
				Clears:   []string{"activity", "activity_name"},
				Facts:    true,
				Applies:  func(env *Env) bool { return len(env.Facts.DayActivities) > 0 },
				Prompt: func(env *Env) string {
					return "第7步 本单位当天有集中志愿服务活动。这次服务属于哪一个？回复数字，不属于请回复「跳过」：\n" + numbered(activityNames(env.Facts.DayActivities))
				},
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（活动的数字，或「跳过」）")
					if err != nil {
						return err
					}
					i, err := choose(s, activityNames(env.Facts.DayActivities), nil)
					if err != nil {
						return reject("%s不属于任何活动请回复「跳过」。", err.Error())
					}
					a := env.Facts.DayActivities[i]
					env.Draft["activity"] = strconv.FormatInt(a.ID, 10)
					env.Draft["activity_name"] = activityNames(env.Facts.DayActivities)[i]
					return nil
				},
			},
		},
		Load:    loadServiceDay,
		Summary: serviceSummary,
		Save:    saveServiceRecord,
	}
}

// acceptServiceDate takes the day of a service session.
func acceptServiceDate(env *Env, in Input) error { return acceptDate(env, in, "服务") }

// acceptDate takes the day of what the flow records (noun: 服务, 活动,
// 走访): not in the future, not more than MaxDaysBack days back.
func acceptDate(env *Env, in Input, noun string) error {
	s, err := textOf(in, "文字（日期）")
	if err != nil {
		return err
	}
	t, err := parse.Date(s, env.Now)
	if err != nil {
		return reject("%s", err.Error())
	}
	d := DateOf(t)
	// A day without a year ("11-29") is read as the latest such day not
	// after today, so a future day this year shows up as last year's.
	// Last year's day within the window (昨天 on 1 January, 12-30 on 3
	// January) is that day.
	thisYear := Date{env.Today.Year, d.Month, d.Day}
	lastYearOut := d.Year < env.Today.Year && env.Today.Before(thisYear) && d.Before(env.Today.AddDays(-MaxDaysBack))
	if env.Today.Before(d) || (lastYearOut && !strings.ContainsAny(s, "年") && !isoLike(s)) {
		return reject("%s日期不能晚于今天（%s）。例如回复「今天」或「昨天」。", noun, env.Today.Chinese())
	}
	if d.Before(env.Today.AddDays(-MaxDaysBack)) {
		return reject("只能登记%d天内的%s（%s 及以后）。例如回复「昨天」。", MaxDaysBack, noun, env.Today.AddDays(-MaxDaysBack).Chinese())
	}
	if env.Draft["date"] != d.String() {
		// a link to an activity belongs to the old day
		delete(env.Draft, "activity")
		delete(env.Draft, "activity_name")
	}
	env.Draft["date"] = d.String()
	return nil
}

// isoLike reports whether s names a year ("2026-11-28", "2026/11/28").
func isoLike(s string) bool {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' || r >= '０' && r <= '９' {
			n++
			continue
		}
		break
	}
	return n == 4
}

func acceptServiceTime(env *Env, in Input) error {
	s, err := textOf(in, "文字（时间段或时长）")
	if err != nil {
		return err
	}
	// The answer to "下午2点到4点？" (below): yes reads the range asked
	// about in the afternoon, no as written; anything else is a new answer.
	if asked := env.Draft[askAfternoon]; asked != "" {
		delete(env.Draft, askAfternoon)
		asked = strings.TrimPrefix(asked, "从") // 下午 goes before the range, not before 从
		switch parse.Word(s) {
		case "是", "是的", "对", "对的", "嗯", "好", "下午", "晚上":
			s = "下午" + asked
		case "不是", "否", "不", "不对", "凌晨", "早上":
			s = "凌晨" + asked
		}
	}
	sp, err := parse.TimeSpan(s)
	if err != nil {
		return reject("%s", err.Error())
	}
	if sp.Minutes < MinSessionMinutes || sp.Minutes > MaxSessionMinutes {
		return reject("服务时长应在30分钟到12小时之间，您填写的是「%s」（%s小时）。例如 9:00-11:30 或 2小时。", s, Hours(sp.Minutes))
	}
	// 2点-4点 without 上午/下午 is rarely a night's service: ask (not 0:00-1:00).
	if sp.Start >= 60 && sp.Start < 6*60 && sp.End <= 12*60 && !parse.HasPeriod(s) {
		env.Draft[askAfternoon] = s
		return reject("您填写的是凌晨 %s。是指下午 %s 吗？回复「是」按下午登记，「不是」按凌晨登记，或重新填写（如 下午2点-4点）。",
			clockRange(sp.Start, sp.End), clockRange(sp.Start+12*60, sp.End+12*60))
	}
	if msg := laterThanNow(env, sp.End, sp.Minutes); msg != "" {
		return reject("%s", msg)
	}
	// A range is checked here against the day's records (SPEC §5: an
	// overlap is refused at this step, naming the other), and the day's
	// total with it. A duration overlaps nothing: its day total is checked
	// where it is saved (DayCap, in the store's one statement), and a
	// refusal at 确认 comes back to this step with the rest of the draft,
	// so a duration costs no query here.
	if sp.Start >= 0 {
		if err := env.AnswerFacts(); err != nil {
			return err
		}
		logged := 0
		for _, r := range env.Facts.DayRecords {
			if r.Overlaps(sp.Start, sp.End) {
				return reject("与您当天已登记的 %s「%s」时间重叠，请换一个时间段。", clockRange(r.StartMin, r.EndMin), r.Category)
			}
			logged += r.Minutes
		}
		if msg := dayFull(env, logged, sp.Minutes); msg != "" {
			return reject("%s", msg)
		}
	}
	env.Draft["start"] = strconv.Itoa(sp.Start)
	env.Draft["end"] = strconv.Itoa(sp.End)
	env.Draft["minutes"] = strconv.Itoa(sp.Minutes)
	return nil
}

// askAfternoon is the draft entry of a range before 6:00 given without
// 上午 or 下午, asked about as the afternoon's.
const askAfternoon = "ask_pm"

// laterThanNow refuses a session on today that is not over yet (SPEC §5):
// a range ending after now, or a duration (end < 0) longer than the time
// since midnight, since a duration on today ends now at the latest. It
// returns the reason, or "".
func laterThanNow(env *Env, end, minutes int) string {
	if env.Draft["date"] != env.Today.String() {
		return ""
	}
	now := env.Now.Hour()*60 + env.Now.Minute()
	clock := fmt.Sprintf("%d:%02d", now/60, now%60)
	switch {
	case end >= 0 && end > now:
		return fmt.Sprintf("今天的服务结束时间不能晚于现在（%s）：请在服务结束后再登记，或填写已经结束的时间段，例如 8:00-10:00。", clock)
	case end < 0 && minutes > now:
		return fmt.Sprintf("今天到现在（%s）还不到%s小时：请填写已经结束的时间段，或把日期改为昨天（回复「返回」）。", clock, Hours(minutes))
	}
	return ""
}

// dayFull refuses a session that takes the member's records of the day
// (logged minutes, rejected ones not counted) past MaxDayMinutes, or on
// today past the time since midnight: durations have no overlap to
// check, and without it a day could hold any number of them. It returns
// the reason, or "".
func dayFull(env *Env, logged, minutes int) string {
	limit, day := MaxDayMinutes, "一天只有24小时"
	if env.Draft["date"] == env.Today.String() {
		now := env.Now.Hour()*60 + env.Now.Minute()
		limit, day = now, fmt.Sprintf("今天到现在（%d:%02d）只有%s小时", now/60, now%60, Hours(now))
	}
	if logged+minutes <= limit {
		return ""
	}
	return fmt.Sprintf("您当天已登记服务%s小时，再登记%s小时共%s小时，%s。请核对后重新填写（如 2小时），或回复「返回」换一天；登记有误的记录请联系本单位审核人更正。",
		Hours(logged), Hours(minutes), Hours(logged+minutes), day)
}

// dayFullReason is dayFull's reason for a record the store refused with
// e (the day's records changed after the time step).
func dayFullReason(env *Env, e *DayFullError, minutes int) string {
	if msg := dayFull(env, e.Logged, minutes); msg != "" {
		return msg
	}
	return fmt.Sprintf("您当天已登记服务%s小时，再登记%s小时就超过一天24小时。请核对后重新填写。", Hours(e.Logged), Hours(minutes))
}

// acceptPlace takes a place as text (2–100 chars) or a location message.
func acceptPlace(env *Env, in Input) error {
	switch in.Kind {
	case KindLocation:
		label := strings.TrimSpace(in.Place.Label)
		if label == "" {
			label = fmt.Sprintf("%.5f,%.5f", in.Place.Latitude, in.Place.Longitude)
		}
		env.Draft["place"] = label
		env.Draft["lat"] = strconv.FormatFloat(in.Place.Latitude, 'f', -1, 64)
		env.Draft["lng"] = strconv.FormatFloat(in.Place.Longitude, 'f', -1, 64)
		return nil
	case KindText:
		text, err := parse.Text(in.Text, 2, 100)
		if err != nil {
			return reject("地点%s 例如「人民公园东门」，或发送位置。", err.Error())
		}
		env.Draft["place"] = text
		delete(env.Draft, "lat")
		delete(env.Draft, "lng")
		return nil
	}
	return &StepError{Msg: unusable(in, "地点文字或位置")}
}

// placeOf reads the place a step stored in the draft.
func placeOf(d map[string]string) Location {
	loc := Location{Label: d["place"]}
	lat, err1 := strconv.ParseFloat(d["lat"], 64)
	lng, err2 := strconv.ParseFloat(d["lng"], 64)
	if err1 == nil && err2 == nil {
		loc.Latitude, loc.Longitude, loc.HasCoords = lat, lng, true
	}
	return loc
}

// loadServiceDay fetches the member's records on the chosen day, for the
// overlap check, and the unit's activities that day, for the link step;
// for the time step the records alone, for the activity step the
// activities alone.
func loadServiceDay(ctx context.Context, st Stores, env *Env) error {
	d, err := ParseISODate(env.Draft["date"])
	if err != nil {
		return nil // no day chosen yet
	}
	if env.factsStep != stepActivity {
		if env.Facts.DayRecords, err = st.ServiceRecordsOn(ctx, env.Member.ID, d); err != nil {
			return err
		}
	}
	if env.factsStep != stepTime {
		env.Facts.DayActivities, err = st.UnitActivitiesOn(ctx, env.Member.UnitID, d)
	}
	return err
}

// The steps loadServiceDay loads for alone.
const (
	stepTime     = "time"
	stepActivity = "activity"
)

// activityNames labels a day's activities for the link step.
func activityNames(as []Activity) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Code + " " + a.Theme
	}
	return out
}

func draftRecord(env *Env) (ServiceRecord, error) {
	d, err := ParseISODate(env.Draft["date"])
	if err != nil {
		return ServiceRecord{}, err
	}
	start, _ := strconv.Atoi(env.Draft["start"])
	end, _ := strconv.Atoi(env.Draft["end"])
	minutes, err := strconv.Atoi(env.Draft["minutes"])
	if err != nil {
		return ServiceRecord{}, fmt.Errorf("draft minutes: %w", err)
	}
	activityID, _ := strconv.ParseInt(env.Draft["activity"], 10, 64)
	return ServiceRecord{
		MemberID: env.Member.ID, UnitID: env.Member.UnitID, GridID: env.Member.GridID,
		Date: d, StartMin: start, EndMin: end, Minutes: minutes,
		Category: env.Draft["category"], Place: placeOf(env.Draft), Content: env.Draft["content"],
		ActivityID: activityID, Photos: stagedPhotos(env), DraftKey: env.Draft[draftKey],
		DayLimit: dayLimit(env),
	}, nil
}

// dayLimit is a record's DayLimit: on today, the minutes since midnight
// (dayFull's limit); 0, MaxDayMinutes, on another day.
func dayLimit(env *Env) int {
	if env.Draft["date"] != env.Today.String() {
		return 0
	}
	return max(env.Now.Hour()*60+env.Now.Minute(), 1)
}

func serviceSummary(env *Env) string {
	r, err := draftRecord(env)
	if err != nil {
		return "（草稿不完整）"
	}
	when := RecordHours(r.Minutes)
	if r.HasRange() {
		when = clockRange(r.StartMin, r.EndMin) + "，" + when
	}
	out := fmt.Sprintf("日期：%s\n时间：%s\n类别：%s\n地点：%s\n内容：%s", r.Date, when, r.Category, r.Place.Label, shortened(r.Content, summaryChars))
	if len(r.Photos) > 0 {
		out += fmt.Sprintf("\n照片：%d张", len(r.Photos))
	}
	if name := env.Draft["activity_name"]; name != "" && r.ActivityID != 0 {
		out += "\n所属活动：" + name
	}
	if !r.Qualified() {
		out += "\n注意：不足2小时，保存后计入时长，但不计入合格服务次数。"
	}
	return out
}

func saveServiceRecord(ctx context.Context, st Stores, env *Env) (Outcome, error) {
	if err := checkDraftPhotos(env, ServicePhotos); err != nil {
		return Outcome{}, err
	}
	r, err := draftRecord(env)
	if err != nil {
		return Outcome{}, err
	}
	var ov *OverlapError
	var closed *ClosedMonthError
	sum, err := saveWithSummary(ctx, st.Store, &r, env.Today)
	if errors.As(err, &closed) {
		return Outcome{}, &StepError{Step: "date", Msg: closed.Reason("服务记录")}
	}
	if errors.As(err, &ov) {
		e := ov.Existing
		return Outcome{}, &StepError{Step: "time", Resume: true, Msg: fmt.Sprintf("与您当天已登记的 %s「%s」时间重叠，请换一个时间段。", clockRange(e.StartMin, e.EndMin), e.Category)}
	}
	if full := (*DayFullError)(nil); errors.As(err, &full) {
		return Outcome{}, &StepError{Step: "time", Resume: true, Msg: dayFullReason(env, full, r.Minutes)}
	}
	if err != nil {
		return Outcome{}, photoSaveError(env, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "已保存 %s 的服务记录（%s），待本单位审核。\n", r.Date, RecordHours(r.Minutes))
	if !r.Qualified() {
		b.WriteString("注意：本次服务不足2小时，已保存，但不计入合格服务次数。\n")
	}
	// A record of an earlier month counts in that month: say so, then this
	// month's totals, so this month's figures do not read as "not counted".
	if then := sum.Then; then.Month != MonthOf(env.Today) {
		fmt.Fprintf(&b, "%d月时长：%s小时，合格服务：%d次（本条记录计入%d月）\n", r.Date.Month, Hours(then.Minutes), then.Qualified, r.Date.Month)
	}
	fmt.Fprintf(&b, "本月时长：%s小时，合格服务：%d次\n累计时长：%s小时\n%s", Hours(sum.Month.Minutes), sum.Month.Qualified, Hours(sum.TotalMinutes), starLine(sum.TotalMinutes))
	return Outcome{Reply: b.String()}, nil
}

// saveWithSummary saves r and returns the member's totals after it, of
// day's month and r's: in one call where the store can
// (RecordSummarySaver). Errors are CreateServiceRecord's.
func saveWithSummary(ctx context.Context, st Store, r *ServiceRecord, day Date) (RecordTotals, error) {
	if s, ok := st.(RecordSummarySaver); ok {
		return s.CreateServiceRecordSummary(ctx, r, day, MonthOf(r.Date))
	}
	if err := st.CreateServiceRecord(ctx, r); err != nil {
		return RecordTotals{}, err
	}
	sum, err := st.HoursSummaryWith(ctx, r.MemberID, day, MonthOf(r.Date))
	return sum.Totals(MonthOf(day)), err
}

// starLine says the star level and the hours to the next one.
func starLine(total int) string {
	stars, toNext := StarLevel(total)
	if toNext == 0 {
		return "星级：" + Stars(stars) + "（已达最高星级）"
	}
	if toNext < 60 {
		// In hours with one decimal 1–2 minutes read 0.0, and the total
		// beside it (rounded) as the next star's hours already.
		return fmt.Sprintf("星级：%s，距下一星级还差%d分钟", Stars(stars), toNext)
	}
	return fmt.Sprintf("星级：%s，距下一星级还差%s小时", Stars(stars), Hours(toNext))
}

// clockRange formats minutes since midnight as "9:00-11:30".
func clockRange(start, end int) string {
	return fmt.Sprintf("%d:%02d-%d:%02d", start/60, start%60, end/60, end%60)
}

// numbered renders choices as "1. A\n2. B".
func numbered(options []string) string {
	var b strings.Builder
	for i, o := range options {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%d. %s", i+1, o)
	}
	return b.String()
}
