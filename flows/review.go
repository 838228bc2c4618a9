package flows

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gridbot/flows/parse"
)

// RecordStatus is where a service record's review is (SPEC §5, §11).
type RecordStatus string

// Record statuses.
const (
	// RecordPending (待审核): logged by the member, waiting for the unit.
	RecordPending RecordStatus = "pending"
	// RecordConfirmed (已确认): confirmed by the unit, or made from an
	// on-site check-in and check-out.
	RecordConfirmed RecordStatus = "confirmed"
	// RecordRejected (已退回): refused by the unit with a reason; it counts
	// nowhere.
	RecordRejected RecordStatus = "rejected"
)

// Valid reports whether s is a known status.
func (s RecordStatus) Valid() bool {
	return s == RecordPending || s == RecordConfirmed || s == RecordRejected
}

// Label is the status in the office's words.
func (s RecordStatus) Label() string {
	switch s {
	case RecordPending:
		return "待审核"
	case RecordConfirmed:
		return "已确认"
	case RecordRejected:
		return "已退回"
	}
	return string(s)
}

// Bounds of a rejection's reason (SPEC §11).
const (
	MinReviewNote = 2
	MaxReviewNote = 200
)

// Review is one reviewer's decision on a pending service record.
type Review struct {
	RecordID int64
	Status   RecordStatus // RecordConfirmed or RecordRejected
	Note     string       // the reason, required to reject
	// ReviewerID is the member deciding in the chat (a reviewer of the
	// record's unit, never the record's own member); 0 for an admin.
	ReviewerID int64
	// By is who decided, as the record keeps it: "联络员 张三", "管理员 boss".
	By string
}

// ReviewError is a review the rules refuse.
type ReviewError struct {
	Msg string
}

func (e *ReviewError) Error() string { return e.Msg }

// CheckReview validates a decision before it reaches the store: a known
// outcome, and for a rejection a reason of 2–200 characters.
func CheckReview(rv Review) error {
	switch rv.Status {
	case RecordConfirmed:
		return nil
	case RecordRejected:
		if n := len([]rune(strings.TrimSpace(rv.Note))); n < MinReviewNote || n > MaxReviewNote {
			return &ReviewError{Msg: fmt.Sprintf("退回需要说明原因（%d–%d字）", MinReviewNote, MaxReviewNote)}
		}
		return nil
	}
	return &ReviewError{Msg: "审核结果只能是通过（confirmed）或退回（rejected）"}
}

// ReviewStore is what reviewing needs of the database. store/sqldb
// implements it.
type ReviewStore interface {
	// NextPendingRecord returns the oldest pending record of unit's
	// members other than member notMember, skipping the IDs in skip, with
	// how many such records wait (this one included). ErrNotFound when none.
	NextPendingRecord(ctx context.Context, unitID, notMember int64, skip []int64) (ServiceRecord, int, error)
	// ServiceRecord returns one record with its member, unit and grid
	// names and photos, or ErrNotFound.
	ServiceRecord(ctx context.Context, id int64) (ServiceRecord, error)
	// ReviewRecord confirms or rejects a pending record (CheckReview's
	// rules), recording who and when; a rejection pushes the reason to the
	// record's member (PushRecordRejected) in the same transaction. A
	// record that is not pending, or a reviewer deciding on their own
	// record or on another unit's, is a *ReviewError; ErrNotFound for an
	// unknown record. It returns the record as decided.
	ReviewRecord(ctx context.Context, rv Review) (ServiceRecord, error)
}

// RejectionPush is the push telling a member their record was rejected.
func RejectionPush(r ServiceRecord, reason string) Push {
	when := r.Date.Chinese()
	if r.HasRange() {
		when += " " + clockRange(r.StartMin, r.EndMin)
	}
	return Push{
		Kind:     PushRecordRejected,
		MemberID: r.MemberID,
		Text: fmt.Sprintf("您登记的 %s %s「%s」服务记录已被退回，原因：%s\n这段时间可重新登记：回复「登记」。",
			when, RecordHours(r.Minutes), r.Category, reason),
		// Outside the 48-hour window these values are all the member sees
		// (SPEC §11: date, hours, reason): the hours lead the title and
		// the date is the ASCII code, so a template's 20-character cut and
		// a character_string field keep both.
		Values: PushValues{Title: Hours(r.Minutes) + "小时服务记录被退回", Code: r.Date.String(), Status: RecordRejected.Label(), Note: reason},
	}
}

// canReview is the refusal of the review flow for members who are not a
// unit's reviewers.
func canReview(m Member) string {
	if m.Role.CanRecordActivity() {
		return ""
	}
	return "服务时长由本单位联络员或负责人审核。您可回复「时长」查看自己的记录。"
}

// Draft entries of the review flow.
const (
	reviewRecord  = "record"
	reviewDecide  = "decide"
	reviewSkipped = "skipped"
	reviewLeft    = "left"
	maxSkipped    = 200
)

var reviewChoices = []string{"通过", "退回"}

func reviewFlow() *Flow {
	return &Flow{
		Name:        FlowReview,
		Title:       "审核",
		NeedsMember: true,
		Available:   func(st Stores) bool { return st.Reviews != nil },
		Allowed:     canReview,
		Direct:      true,
		Load:        loadPending,
		Empty: func(env *Env) string {
			if env.Facts.Pending != nil {
				return ""
			}
			if env.Draft[reviewSkipped] != "" {
				return "本单位其余待审核的记录都已跳过，可稍后回复「审核」再看。"
			}
			return "本单位暂无待审核的服务记录。"
		},
		Steps: []*Step{
			{
				Name:     reviewDecide,
				Optional: true,
				Facts:    true,
				Prompt: func(env *Env) string {
					return pendingText(env) + "\n\n回复「通过」确认，「退回」退回并说明原因，「跳过」看下一条，「取消」结束。"
				},
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（通过、退回或跳过）")
					if err != nil {
						return err
					}
					i, err := parse.Choice(s, reviewChoices)
					if err != nil {
						return reject("请回复「通过」「退回」或「跳过」。")
					}
					env.Draft[reviewDecide] = reviewChoices[i]
					return nil
				},
			},
			{
				Name:    "reason",
				Applies: func(env *Env) bool { return env.Draft[reviewDecide] == "退回" },
				Prompt: func(*Env) string {
					return fmt.Sprintf("请说明退回原因（%d–%d字），如 时间与活动签到不符。", MinReviewNote, MaxReviewNote)
				},
				Accept: func(env *Env, in Input) error {
					return acceptText(env, in, "reason", "退回原因", MinReviewNote, MaxReviewNote)
				},
			},
		},
		Save: saveReview,
	}
}

// loadPending picks the record a round shows: the oldest pending one of
// the reviewer's unit (not their own, not skipped), kept in the draft so
// the decision applies to the record shown even when another reviewer
// decided it meanwhile (the store then refuses).
func loadPending(ctx context.Context, st Stores, env *Env) error {
	if id, err := strconv.ParseInt(env.Draft[reviewRecord], 10, 64); err == nil {
		r, err := st.Reviews.ServiceRecord(ctx, id)
		if err != nil {
			return err
		}
		env.Facts.Pending = &r
		env.Facts.PendingLeft, _ = strconv.Atoi(env.Draft[reviewLeft])
		return nil
	}
	r, left, err := st.Reviews.NextPendingRecord(ctx, env.Member.UnitID, env.Member.ID, skippedRecords(env.Draft))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	env.Facts.Pending, env.Facts.PendingLeft = &r, left
	env.Draft[reviewRecord] = strconv.FormatInt(r.ID, 10)
	env.Draft[reviewLeft] = strconv.Itoa(left)
	return nil
}

// pendingText shows the record under review.
func pendingText(env *Env) string {
	r := env.Facts.Pending
	when := RecordHours(r.Minutes)
	if r.HasRange() {
		when = clockRange(r.StartMin, r.EndMin) + "，" + when
	}
	return fmt.Sprintf("待审核（共%d条）：\n成员：%s\n日期：%s\n时间：%s\n类别：%s\n地点：%s\n内容：%s\n照片：%d张",
		env.Facts.PendingLeft, r.Member, r.Date, when, r.Category, r.Place.Label, r.Content, len(r.Photos))
}

// skippedRecords reads the IDs the reviewer skipped in this round.
func skippedRecords(d map[string]string) []int64 {
	var out []int64
	for _, f := range strings.Split(d[reviewSkipped], ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func saveReview(ctx context.Context, st Stores, env *Env) (Outcome, error) {
	skipped := env.Draft[reviewSkipped]
	again := Outcome{Next: FlowReview, Keep: map[string]string{reviewSkipped: skipped}}
	if env.Draft[reviewDecide] == "" { // 跳过
		if len(skippedRecords(env.Draft)) >= maxSkipped {
			// No room to remember one more: the round would show this
			// record again and again. It ends; 审核 starts afresh.
			return Outcome{Reply: fmt.Sprintf("本轮已跳过%d条，审核到此结束。回复「审核」从头再看。", maxSkipped)}, nil
		}
		again.Keep[reviewSkipped] = strings.Trim(skipped+","+env.Draft[reviewRecord], ",")
		return again, nil
	}
	id, err := strconv.ParseInt(env.Draft[reviewRecord], 10, 64)
	if err != nil {
		return Outcome{}, fmt.Errorf("review draft record: %w", err)
	}
	rv := Review{RecordID: id, Status: RecordConfirmed, ReviewerID: env.Member.ID,
		By: env.Member.Role.Label() + " " + env.Member.Name}
	if env.Draft[reviewDecide] == "退回" {
		rv.Status, rv.Note = RecordRejected, env.Draft["reason"]
	}
	r, err := st.Reviews.ReviewRecord(ctx, rv)
	var re *ReviewError
	switch {
	case errors.As(err, &re), errors.Is(err, ErrNotFound):
		again.Reply = "这条记录未能审核：" + reviewRefusal(err) + "。"
		return again, nil
	case err != nil:
		return Outcome{}, err
	}
	if rv.Status == RecordRejected {
		again.Reply = fmt.Sprintf("已退回 %s 的 %s %s记录，已通知本人。", r.Member, r.Date.Chinese(), RecordHours(r.Minutes))
	} else {
		again.Reply = fmt.Sprintf("已通过 %s 的 %s %s记录。", r.Member, r.Date.Chinese(), RecordHours(r.Minutes))
	}
	return again, nil
}

// reviewRefusal words a refused review for the reviewer.
func reviewRefusal(err error) string {
	var re *ReviewError
	if errors.As(err, &re) {
		return re.Msg
	}
	return "记录已不存在"
}
