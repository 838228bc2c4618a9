package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// 待办 / MY_TASKS (SPEC §15): what waits for the member, each part from
// one small provider.

// taskProvider returns the lines of one kind of task waiting for the
// member, none when nothing waits or the member has no such tasks.
type taskProvider func(ctx context.Context, st Stores, env *Env) ([]string, error)

// taskProviders are the parts of 待办, in the order shown.
func taskProviders() []taskProvider {
	return []taskProvider{reviewTasks, handleTasks, signOffTasks, unitProjectTasks, signupTasks, pairTasks}
}

func tasksFlow() *Flow {
	return &Flow{Name: FlowMyTasks, Title: "待办事项", NeedsMember: true, Run: myTasks}
}

func myTasks(ctx context.Context, st Stores, env *Env) (string, error) {
	var lines []string
	for _, p := range taskProviders() {
		ls, err := p(ctx, st, env)
		if err != nil {
			return "", err
		}
		lines = append(lines, ls...)
	}
	if len(lines) == 0 {
		return "您暂无待办事项。", nil
	}
	return "您的待办事项：\n" + strings.Join(lines, "\n"), nil
}

// reviewTasks: the unit's records waiting for review, not the member's own.
func reviewTasks(ctx context.Context, st Stores, env *Env) ([]string, error) {
	if st.Reviews == nil || !env.Member.Role.CanRecordActivity() {
		return nil, nil
	}
	_, n, err := st.Reviews.NextPendingRecord(ctx, env.Member.UnitID, env.Member.ID, nil)
	if errors.Is(err, ErrNotFound) || n == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("· 待审核服务记录%d条，回复「审核」", n)}, nil
}

// handleTasks: the open reports assigned to the unit, and how many are
// overdue.
func handleTasks(ctx context.Context, st Stores, env *Env) ([]string, error) {
	if st.Handling == nil || !env.Member.Role.CanRecordActivity() {
		return nil, nil
	}
	rs, err := st.Handling.HandlerReports(ctx, env.Member.UnitID)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	line := fmt.Sprintf("· 待处置问题%d条", len(rs))
	overdue := 0
	for _, r := range rs {
		if r.OverdueAt(env.Now) {
			overdue++
		}
	}
	if overdue > 0 {
		line += fmt.Sprintf("（%d条已逾期）", overdue)
	}
	return []string{line + "，回复「处置」"}, nil
}

// signOffDays is the last days of the month in which leaders are asked
// to sign the month off.
const signOffDays = 7

// signOffTasks: for leaders, last month's sign-off while it is unsigned
// (签发上月), and this month's in its last week, once 签发 is built.
func signOffTasks(ctx context.Context, st Stores, env *Env) ([]string, error) {
	if env.Member.Role != RoleLeader || !flowBuilt(FlowSignOff) || st.SignOffs == nil {
		return nil, nil
	}
	var tasks []string
	if m, unsigned, err := lastMonthUnsigned(ctx, st, env); err != nil {
		return nil, err
	} else if unsigned {
		tasks = append(tasks, fmt.Sprintf("· %d月月报未签发（已逾期），回复「签发上月」补签", m.Month))
	}
	last := MonthOf(env.Today).Next().First().AddDays(-1)
	if last.Day-env.Today.Day >= signOffDays {
		return tasks, nil
	}
	// This month's, until it is signed: a signed month waits for nothing
	// (signing again replaces it, but nothing asks for that).
	switch _, err := st.SignOffs.SignOff(ctx, env.Member.UnitID, MonthOf(env.Today)); {
	case err == nil:
		return tasks, nil
	case !errors.Is(err, ErrNotFound):
		return nil, err
	case env.Today.Day > DeadlineDay:
		tasks = append(tasks, fmt.Sprintf("· %d月月报未签发（已过%d日，签发记为逾期），回复「签发」", env.Today.Month, DeadlineDay))
	default:
		tasks = append(tasks, fmt.Sprintf("· %d月月报待签发（%d日前），回复「签发」", env.Today.Month, DeadlineDay))
	}
	return tasks, nil
}

// flowBuilt reports whether gridbot has the flow named name.
func flowBuilt(name string) bool {
	for _, f := range allFlows() {
		if f.Name == name {
			return true
		}
	}
	return false
}

// unitProjectTasks: for the unit's reviewers, the unit's projects of
// today that are not cancelled, with their sign-ups and check-ins.
func unitProjectTasks(ctx context.Context, st Stores, env *Env) ([]string, error) {
	if st.Projects == nil || !env.Member.Role.CanRecordActivity() {
		return nil, nil
	}
	ps, err := st.Projects.Projects(ctx, ProjectFilter{From: env.Today, To: env.Today.AddDays(1), UnitID: env.Member.UnitID})
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, p := range ps {
		if p.Cancelled() {
			continue
		}
		lines = append(lines, fmt.Sprintf("· 本单位今日项目 %s %s（%s），已报名%d人，已签到%d人",
			p.Code, p.Title, clockRange(p.StartMin, p.EndMin), p.SignedUp, p.CheckedIn))
	}
	return lines, nil
}

// signupTasks: the member's sign-ups of projects not over and not
// checked out, by start; 签到 or 签退 named on the project's day.
func signupTasks(ctx context.Context, st Stores, env *Env) ([]string, error) {
	if st.Projects == nil {
		return nil, nil
	}
	ss, err := st.Projects.MemberSignups(ctx, env.Member.ID, env.Now)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, s := range ss {
		if s.CheckedOut() || s.Project.Cancelled() {
			continue
		}
		line := fmt.Sprintf("· 已报名项目 %s %s（%s，%s）", s.Project.Code, s.Project.Title, s.Project.TimeText(), s.Project.Place.Label)
		switch {
		case s.CheckedIn():
			line += "，结束后回复「签退」"
		case s.Project.Date == env.Today:
			line += "，到场后回复「签到」"
		}
		lines = append(lines, line)
	}
	return lines, nil
}
