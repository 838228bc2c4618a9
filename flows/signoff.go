package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignOff is a unit's monthly sign-off (月报签发, SPEC §13): a leader's
// confirmation of the month's figures as the assessment counted them.
type SignOff struct {
	UnitID   int64
	Unit     string
	Month    Month
	MemberID int64
	Leader   string
	SignedAt time.Time
	// Late: signed after the month's DeadlineDay (office time).
	Late    bool
	Figures UnitScore
}

// Submission is one unit's row of the month's sign-off table: signed or
// not, by whom and when.
type Submission struct {
	UnitID      int64
	Unit        string
	Submitted   bool
	SubmittedBy string
	SubmittedAt time.Time
	OnTime      bool
}

// MonthSoFar is a unit's month as the sign-off shows it: the figures the
// assessment counts, the records waiting for review and the unit's leaders.
type MonthSoFar struct {
	Figures UnitScore
	Pending int
	Leaders []Member
	// Closed: the office closed the month (its figures are frozen); it
	// is not signed any more, and Figures are zero.
	Closed bool
	// Signed is the unit's sign-off of the month so far (SignedAt in the
	// office's zone), nil when none.
	Signed *SignOff
}

// SignOffRequest is a leader's sign-off of a month: of the unit whose
// figures they were shown, with those figures (SPEC §13: the sign-off
// saves the figures the leader confirmed). Shown nil takes the figures as
// counted now; UnitID 0 the member's unit.
type SignOffRequest struct {
	MemberID int64
	UnitID   int64
	Month    Month
	Shown    *UnitFigures
}

// SignOffStore is what the sign-off needs of the database. store/sqldb
// implements it.
type SignOffStore interface {
	// MonthSoFar returns a unit's figures of month m (SPEC §9, loc the
	// office time zone), its pending records and its leaders.
	MonthSoFar(ctx context.Context, unitID int64, m Month, loc *time.Location) (MonthSoFar, error)
	// SaveSignOff saves a leader's sign-off of their unit's month with the
	// figures counted now, replacing an earlier one; late after the
	// month's deadline. A *SignOffError when the member is not a leader
	// (of the request's unit), the month is closed, or the figures
	// counted now are not those shown.
	SaveSignOff(ctx context.Context, r SignOffRequest, loc *time.Location) (SignOff, error)
	// SignOff returns a unit's sign-off of month m, or ErrNotFound.
	SignOff(ctx context.Context, unitID int64, m Month) (SignOff, error)
	// Submissions lists every unit's sign-off state for month m, by unit.
	Submissions(ctx context.Context, m Month) ([]Submission, error)
	// SignOffReminder pushes, once per fire and leader, each unit's month
	// so far to its leaders (ScheduleSignOff); it returns the pushes stored.
	SignOffReminder(ctx context.Context, fireID int64, loc *time.Location) (int, error)
}

// SignOffError is a sign-off the rules refuse.
type SignOffError struct{ Msg string }

func (e *SignOffError) Error() string { return e.Msg }

// IsLate reports whether a sign-off of m at t comes after the deadline.
func IsLate(m Month, t time.Time, loc *time.Location) bool {
	return !t.Before(m.Deadline(loc))
}

// FiguresText is a unit's month as the sign-off and its reminder show it.
func FiguresText(m Month, s MonthSoFar) string {
	f := s.Figures
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d年%d月：\n", f.Unit, m.Year, m.Month)
	fmt.Fprintf(&b, "集中志愿服务活动（4张以上照片）：%d/%d次（共%d次）\n", f.ActivitiesWithPhotos, ActivityGoal, f.Activities)
	fmt.Fprintf(&b, "网格巡查上报：%d条\n", f.Reports)
	need := "全员参与"
	if f.Roster > SmallUnit {
		need = "不少于60%"
	}
	ok := "未达标"
	if f.ParticipationOK {
		ok = "达标"
	}
	fmt.Fprintf(&b, "参与率：%d/%d人（%s，要求%s，%s）\n", f.Served, f.Roster, PercentText(f.ParticipationPermille), need, ok)
	fmt.Fprintf(&b, "服务：%d次，合格%d次，%s小时\n", f.Sessions, f.QualifiedSessions, Hours(f.Minutes))
	fmt.Fprintf(&b, "待审核的服务记录：%d条", s.Pending)
	return b.String()
}

// SignOffPush is the 26th's reminder to one of a unit's leaders.
func SignOffPush(leader Member, m Month, s MonthSoFar) Push {
	head, tail, note := "本月报表请在28日前签发。", "回复「签发」提交本月报表。", "回复签发"
	if g := s.Signed; g != nil {
		// Signed before the reminder: nothing waits, but the figures may
		// have moved since; signing again replaces the sign-off.
		head = fmt.Sprintf("本月报表已由%s于%d月%d日签发。当前数字：", g.Leader, g.SignedAt.Month(), g.SignedAt.Day())
		tail = fmt.Sprintf("数字有变化时，可在%d日前回复「签发」重新签发。", DeadlineDay)
		note = "已签发"
	}
	return Push{
		Kind: PushSignOff, MemberID: leader.ID,
		Key:  fmt.Sprintf("signoff:%s:%d", m, leader.ID),
		Text: head + "\n" + FiguresText(m, s) + "\n\n" + tail,
		// A template's fields take about 20 characters each: the figures of
		// the text in short, so a leader outside the 48-hour window sees
		// them all (SPEC §13).
		Values: PushValues{Title: "月报签发提醒", Code: m.String(),
			Status: fmt.Sprintf("参与%d/%d人 待审%d条", s.Figures.Served, s.Figures.Roster, s.Pending),
			Note:   fmt.Sprintf("活动%d/%d 上报%d %s", s.Figures.ActivitiesWithPhotos, ActivityGoal, s.Figures.Reports, note)},
	}
}

// leaderNames lists the unit's leaders for a member who may not sign.
func leaderNames(ms []Member) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return strings.Join(names, "、")
}

// Draft entries of the sign-off flow.
const (
	signOffMonth   = "month"
	signOffFigures = "figures"
	signOffRefused = "refused"
	signOffUnit    = "unit_id" // the unit whose figures were shown
	signOffShown   = "shown"   // those figures, JSON
)

func signOffFlow() *Flow {
	return &Flow{
		Name:        FlowSignOff,
		Title:       "签发",
		NeedsMember: true,
		Available:   func(st Stores) bool { return st.SignOffs != nil },
		Load: func(ctx context.Context, st Stores, env *Env) error {
			return loadSignOff(ctx, st, env, MonthOf(env.Today))
		},
		Empty: func(env *Env) string {
			return env.Draft[signOffRefused]
		},
		Summary: func(env *Env) string {
			return "签发本单位月报：\n" + env.Draft[signOffFigures]
		},
		Save: saveSignOff,
	}
}

// signOffLastFlow is 签发上月: the sign-off of the month before this one,
// for a leader who missed its 28th and the last days of it (签发 signs
// the month it is, SPEC §13): late, as any sign-off after the 28th.
func signOffLastFlow() *Flow {
	f := signOffFlow()
	f.Name, f.Title = FlowSignOffLast, "签发上月"
	f.Load = func(ctx context.Context, st Stores, env *Env) error {
		return loadSignOff(ctx, st, env, lastMonth(env.Today))
	}
	return f
}

// lastMonth is the month before day's.
func lastMonth(day Date) Month { return MonthOf(day.AddDays(-day.Day)) }

// lastMonthUnsigned reports whether the member's unit has left the month
// before today's unsigned while it is still open and has figures to sign
// (a month before anything was recorded is not worth a reminder).
func lastMonthUnsigned(ctx context.Context, st Stores, env *Env) (Month, bool, error) {
	m := lastMonth(env.Today)
	switch _, err := st.SignOffs.SignOff(ctx, env.Member.UnitID, m); {
	case err == nil:
		return m, false, nil
	case !errors.Is(err, ErrNotFound):
		return m, false, err
	}
	s, err := st.SignOffs.MonthSoFar(ctx, env.Member.UnitID, m, env.Now.Location())
	if err != nil {
		return m, false, err
	}
	f := s.Figures
	return m, !s.Closed && f.Activities+f.Sessions+f.Reports > 0, nil
}

// loadSignOff reads month m so far into the draft (the summary shows it
// again at 确认), or the refusal for a member who is not a leader.
func loadSignOff(ctx context.Context, st Stores, env *Env, m Month) error {
	s, err := st.SignOffs.MonthSoFar(ctx, env.Member.UnitID, m, env.Now.Location())
	if err != nil {
		return err
	}
	if env.Member.Role != RoleLeader {
		msg := "月报由本单位负责人签发"
		if len(s.Leaders) > 0 {
			msg += "：" + leaderNames(s.Leaders)
		} else {
			msg += "，本单位名册上还没有负责人，请联系区文明办"
		}
		env.Draft[signOffRefused] = msg + "。"
		return nil
	}
	if s.Closed {
		env.Draft[signOffRefused] = fmt.Sprintf("%d年%d月已结账（考核已定稿），不能再签发；如有疑问请联系区文明办。", m.Year, m.Month)
		return nil
	}
	shown, err := json.Marshal(s.Figures.UnitFigures)
	if err != nil {
		return err
	}
	text := FiguresText(m, s)
	if prev, err := st.SignOffs.SignOff(ctx, env.Member.UnitID, m); err == nil {
		text += fmt.Sprintf("\n（%s已于%s签发，确认后以本次为准）", prev.Leader, prev.SignedAt.In(env.Now.Location()).Format("1月2日 15:04"))
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if IsLate(m, env.Now, env.Now.Location()) {
		text += fmt.Sprintf("\n已过%d日，本次签发将记为逾期。", DeadlineDay)
	}
	if m == MonthOf(env.Today) {
		if last, unsigned, err := lastMonthUnsigned(ctx, st, env); err != nil {
			return err
		} else if unsigned {
			text += fmt.Sprintf("\n（%d月报表尚未签发，补签请回复「签发上月」）", last.Month)
		}
	}
	env.Draft[signOffMonth] = m.String()
	env.Draft[signOffFigures] = text
	env.Draft[signOffUnit] = strconv.FormatInt(env.Member.UnitID, 10)
	env.Draft[signOffShown] = string(shown)
	return nil
}

func saveSignOff(ctx context.Context, st Stores, env *Env) (Outcome, error) {
	m, err := ParseMonth(env.Draft[signOffMonth])
	if err != nil {
		return Outcome{}, fmt.Errorf("sign-off draft month: %w", err)
	}
	// A draft of an earlier version has neither the unit nor the figures
	// shown: it is signed as counted now, as that version did.
	req := SignOffRequest{MemberID: env.Member.ID, Month: m}
	if u := env.Draft[signOffUnit]; u != "" {
		if req.UnitID, err = strconv.ParseInt(u, 10, 64); err != nil {
			return Outcome{}, fmt.Errorf("sign-off draft unit: %w", err)
		}
	}
	if shown := env.Draft[signOffShown]; shown != "" {
		req.Shown = new(UnitFigures)
		if err := json.Unmarshal([]byte(shown), req.Shown); err != nil {
			return Outcome{}, fmt.Errorf("sign-off draft figures: %w", err)
		}
	}
	s, err := st.SignOffs.SaveSignOff(ctx, req, env.Now.Location())
	var se *SignOffError
	if errors.As(err, &se) {
		msg := se.Msg
		if m != MonthOf(env.Today) {
			// 签发 would show this month: last month is 签发上月.
			msg = strings.ReplaceAll(msg, "「签发」", "「签发上月」")
		}
		return Outcome{Reply: "未能签发：" + msg + "。"}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	reply := fmt.Sprintf("已签发%s %d年%d月报表（%s）。", s.Unit, m.Year, m.Month, s.SignedAt.In(env.Now.Location()).Format("1月2日 15:04"))
	if s.Late {
		reply += fmt.Sprintf("已过%d日，记为逾期。", DeadlineDay)
	}
	return Outcome{Reply: reply}, nil
}
