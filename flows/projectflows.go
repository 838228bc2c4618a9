package flows

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gridbot/flows/parse"
)

// The chat side of volunteer projects (SPEC §10): 报名 signs up, 取消报名
// withdraws, 签到 checks in by location or code, 签退 checks out and makes
// the confirmed record. Each loads the projects it offers (Facts.Offers);
// a choice step picks one when there are several, and with one the draft
// names it at once.

// Draft entries of the project flows.
const (
	draftProject     = "project"         // the chosen project's ID
	draftProjectCode = "project_code"    // its code
	draftProjectText = "project_summary" // its summary, as chosen
	draftProof       = "proof"           // how the member checked in: location or code
	draftListFrom    = "list_from"       // index of the first project listed, after 更多
)

// A list of projects shows a page at a time, so that the reply stays well
// within what WeChat shows (display.go): at most listedProjects lines, and
// after the first only as many as fit listBytes; 更多 shows the next page.
// The member's own sign-ups after the 报名 list are held to listedSignups
// and signupBytes.
const (
	listedProjects = 8
	listBytes      = 1000
	listedSignups  = 5
	signupBytes    = 450
	listTitleChars = 30 // of a project's title in a list line
	listPlaceChars = 20 // of its place
	wordMore       = "更多"
)

// projectsAvailable says whether the engine has a ProjectStore.
func projectsAvailable(st Stores) bool { return st.Projects != nil }

// offerLine is one project in a list: code, title, date and time, place
// (long ones clipped: the summary shows them whole), and with places set
// the places left.
func offerLine(p Project, places bool) string {
	s := fmt.Sprintf("%s %s（%s，%s）", p.Code, clipped(p.Title, listTitleChars), p.TimeText(), clipped(p.Place.Label, listPlaceChars))
	if places {
		s += fmt.Sprintf("，剩余%d个名额", p.Left())
	}
	return s
}

// chosenProject returns the project of the draft among the offers.
func chosenProject(env *Env) (Project, bool) {
	id, err := strconv.ParseInt(env.Draft[draftProject], 10, 64)
	if err != nil {
		return Project{}, false
	}
	for _, p := range env.Facts.Offers {
		if p.ID == id {
			return p, true
		}
	}
	return Project{}, false
}

// setChoice puts project p in the draft: its ID, code and summary (the
// summary and Save of a later message read them without the offers).
func setChoice(env *Env, p Project) {
	env.Draft[draftProject] = strconv.FormatInt(p.ID, 10)
	env.Draft[draftProjectCode] = p.Code
	env.Draft[draftProjectText] = projectSummary(p)
}

// savedProject returns the draft's project: from the offers when they
// were loaded for this message, else as it is now in the store.
func savedProject(ctx context.Context, st Stores, env *Env) (Project, error) {
	if p, ok := chosenProject(env); ok {
		return p, nil
	}
	p, err := st.Projects.ProjectByCode(ctx, env.Draft[draftProjectCode])
	if errors.Is(err, ErrNotFound) || err == nil && strconv.FormatInt(p.ID, 10) != env.Draft[draftProject] {
		return p, gone
	}
	return p, err
}

// chooseProjectStep picks one of the offers by number, code, title or
// the line as listed (pickItem);
// with a single offer it is not asked (the Load chose it).
func chooseProjectStep(prompt string, places bool) *Step {
	return &Step{
		Name:    draftProject,
		Facts:   true,
		Applies: func(env *Env) bool { return len(env.Facts.Offers) > 1 },
		Prompt:  func(env *Env) string { return prompt + "\n" + offerList(env, places) },
		Accept: func(env *Env, in Input) error {
			s, err := textOf(in, "文字（项目的编号）")
			if err != nil {
				return err
			}
			if parse.Normalize(s) == wordMore {
				return nextPage(env, places)
			}
			offers := env.Facts.Offers
			codes, lines, names := make([]string, len(offers)), make([]string, len(offers)), make([][]string, len(offers))
			for i, p := range offers {
				codes[i], lines[i], names[i] = p.Code, offerLine(p, places), []string{p.Title, p.Code + " " + p.Title}
			}
			i, found, err := pickItem(s, codes, lines, names)
			if err != nil {
				return err
			}
			if !found {
				return reject("没有这个项目。请回复下面的编号、项目编号或项目名称。")
			}
			setChoice(env, offers[i])
			return nil
		},
	}
}

// offerPage returns the page of the offers a list shows, numbered as in
// the whole list (a number answers for any offer, as a code does), with
// the indexes of its first offer and of the one after its last.
func offerPage(env *Env, places bool) (page string, from, next int) {
	offers := env.Facts.Offers
	from, err := strconv.Atoi(env.Draft[draftListFrom])
	if err != nil || from < 0 || from >= len(offers) {
		from = 0 // the offers changed since: from the start
	}
	var b strings.Builder
	i := from
	for ; i < len(offers) && i-from < listedProjects; i++ {
		line := fmt.Sprintf("%d. %s", i+1, offerLine(offers[i], places))
		if i > from {
			if b.Len()+1+len(line) > listBytes {
				break
			}
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return b.String(), from, i
}

// offerList is the page of the offers a list shows, saying how many more
// there are and how to see them.
func offerList(env *Env, places bool) string {
	page, from, next := offerPage(env, places)
	switch {
	case next < len(env.Facts.Offers):
		return page + fmt.Sprintf("\n还有%d个项目未列出，回复「更多」查看。", len(env.Facts.Offers)-next)
	case from > 0:
		return page + "\n以上是最后几个项目，回复「更多」从头查看。"
	}
	return page
}

// nextPage answers 更多: the list is asked again from the project after
// the last one listed, or from the start after the last page.
func nextPage(env *Env, places bool) error {
	_, from, next := offerPage(env, places)
	if next >= len(env.Facts.Offers) {
		if from == 0 {
			return reject("项目已全部列出。")
		}
		next = 0
	}
	env.Draft[draftListFrom] = strconv.Itoa(next)
	return &StepError{} // the prompt, asked again, lists them
}

// offer keeps the projects a flow offers, choosing the only one when
// none is chosen yet (a project chosen earlier is never swapped for
// another: when it is no longer offered, Save says so).
func offer(env *Env, ps []Project) {
	env.Facts.Offers = ps
	if len(ps) == 1 && env.Draft[draftProject] == "" {
		setChoice(env, ps[0])
	}
}

// projectSummary shows a project for confirmation.
func projectSummary(p Project) string {
	return fmt.Sprintf("项目：%s %s\n时间：%s\n地点：%s\n类别：%s\n内容：%s\n名额：剩余%d个（共%d个）",
		p.Code, p.Title, p.TimeText(), p.Place.Label, p.Category, shortened(p.Content, summaryChars), p.Left(), p.Slots)
}

// projectRefusal ends a flow with the store's refusal; other errors pass.
func projectRefusal(err error) error {
	var pe *ProjectError
	if errors.As(err, &pe) {
		return &StepError{Msg: pe.Msg}
	}
	return err
}

// gone ends a flow whose chosen project is no longer offered.
var gone = &StepError{Msg: "这个项目已不可选（可能已开始、已取消或已满），请重新开始。"}

func signUpFlow() *Flow {
	return &Flow{
		Name: FlowProjects, Title: "活动报名", NeedsMember: true, Available: projectsAvailable,
		Load: func(ctx context.Context, st Stores, env *Env) error {
			open, err := st.Projects.OpenProjects(ctx, env.Member, env.Now)
			if err != nil {
				return err
			}
			offer(env, open)
			env.Facts.Signups, err = st.Projects.MemberSignups(ctx, env.Member.ID, env.Now)
			return err
		},
		Empty: func(env *Env) string {
			if len(env.Facts.Offers) > 0 {
				return ""
			}
			return "目前没有您可以报名的志愿服务项目。" + mySignupsText(env)
		},
		Steps: []*Step{{
			Name:  draftProject,
			Facts: true,
			Prompt: func(env *Env) string {
				return "可报名的志愿服务项目，回复编号选择：\n" + offerList(env, true) + mySignupsText(env)
			},
			Accept: chooseProjectStep("", true).Accept,
		}},
		Summary: func(env *Env) string { return env.Draft[draftProjectText] },
		Save: func(ctx context.Context, st Stores, env *Env) (Outcome, error) {
			p, err := savedProject(ctx, st, env)
			if err != nil {
				return Outcome{}, err
			}
			s, err := st.Projects.SignUp(ctx, p.ID, env.Member, env.Now)
			if err != nil {
				return Outcome{}, projectRefusal(err)
			}
			return Outcome{Reply: fmt.Sprintf("报名成功：%s %s，第 %d 位，共 %d 个名额。\n时间：%s，地点：%s。开始前30分钟起可回复「签到」。",
				p.Code, p.Title, s.Place, p.Slots, p.TimeText(), p.Place.Label)}, nil
		},
	}
}

// mySignupsText lists the member's own sign-ups, marked 已报名: at most
// listedSignups of them, within signupBytes, saying where to see the rest.
func mySignupsText(env *Env) string {
	if len(env.Facts.Signups) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n\n您的报名：")
	n := 0
	for _, s := range env.Facts.Signups {
		line := "\n" + offerLine(s.Project, false) + " 已报名"
		if n == listedSignups || n > 0 && b.Len()+len(line) > signupBytes {
			break
		}
		b.WriteString(line)
		n++
	}
	if rest := len(env.Facts.Signups) - n; rest > 0 {
		fmt.Fprintf(&b, "\n另有%d个已报名的项目，回复「待办」查看。", rest)
	}
	return b.String()
}

func withdrawFlow() *Flow {
	return &Flow{
		Name: FlowWithdraw, Title: "取消报名", NeedsMember: true, Available: projectsAvailable,
		Load: func(ctx context.Context, st Stores, env *Env) error {
			ss, err := st.Projects.MemberSignups(ctx, env.Member.ID, env.Now)
			if err != nil {
				return err
			}
			var ps []Project
			for _, s := range ss {
				if env.Now.Before(s.Project.Starts) && !s.CheckedIn() {
					ps = append(ps, s.Project)
				}
			}
			offer(env, ps)
			return nil
		},
		Empty: func(env *Env) string {
			if len(env.Facts.Offers) > 0 {
				return ""
			}
			return "您没有可以取消的报名（已开始的项目不能取消）。回复「报名」查看可报名的项目。"
		},
		Steps:   []*Step{chooseProjectStep("您报名的项目，回复编号选择要取消的：", false)},
		Summary: func(env *Env) string { return "取消报名：\n" + env.Draft[draftProjectText] },
		Save: func(ctx context.Context, st Stores, env *Env) (Outcome, error) {
			p, err := savedProject(ctx, st, env)
			if err != nil {
				return Outcome{}, err
			}
			if err := st.Projects.Withdraw(ctx, p.ID, env.Member.ID, env.Now); err != nil {
				return Outcome{}, projectRefusal(err)
			}
			return Outcome{Reply: fmt.Sprintf("已取消报名 %s %s，名额已释放。", p.Code, p.Title)}, nil
		},
	}
}

func checkInFlow() *Flow {
	return &Flow{
		Name: FlowCheckIn, Title: "签到", NeedsMember: true, Available: projectsAvailable, Direct: true,
		Load: func(ctx context.Context, st Stores, env *Env) error {
			// The member's sign-ups in their window, then today's projects
			// for them with places left (signed up and checked in at once).
			// Sign-ups still open for check-out are kept for Empty: the
			// menu's 签到签退 is CHECK_IN.
			ss, err := st.Projects.MemberSignups(ctx, env.Member.ID, env.Now.Add(-CheckOutGrace))
			if err != nil {
				return err
			}
			env.Facts.Signups = ss
			var ps []Project
			mine := map[int64]bool{}
			for _, s := range ss {
				mine[s.Project.ID] = true
				if !s.CheckedIn() && CheckInWindow(s.Project, env.Now) == nil {
					ps = append(ps, s.Project)
				}
			}
			today, err := st.Projects.Projects(ctx, ProjectFilter{From: env.Today, To: env.Today.AddDays(1)})
			if err != nil {
				return err
			}
			for _, p := range today {
				if !mine[p.ID] && p.Targets(env.Member) && p.Left() > 0 && CheckInWindow(p, env.Now) == nil {
					ps = append(ps, p)
				}
			}
			offer(env, ps)
			return nil
		},
		Empty: func(env *Env) string {
			if len(env.Facts.Offers) > 0 {
				return ""
			}
			for _, s := range env.Facts.Signups {
				if CheckOutWindow(s.Project, s.Signup, env.Now) == nil {
					return fmt.Sprintf("您已在 %s 签到 %s %s，现在可以签退：回复「签退」，签退后生成服务记录。",
						s.CheckedInAt.In(env.Now.Location()).Format("15:04"), s.Project.Code, s.Project.Title)
				}
			}
			return "现在没有您可以签到的项目（项目开始前30分钟至结束可签到）。已签到的请在结束后回复「签退」；回复「报名」查看可报名的项目。"
		},
		Steps: []*Step{
			chooseProjectStep("今天可签到的项目，回复编号选择：", false),
			{
				Name:  draftProof,
				Facts: true,
				Prompt: func(env *Env) string {
					p, ok := chosenProject(env)
					if !ok {
						return gone.Msg + "回复「取消」结束。"
					}
					if !p.Place.HasCoords {
						return fmt.Sprintf("签到 %s %s：请回复现场公布的4位签到码。", p.Code, p.Title)
					}
					return fmt.Sprintf("签到 %s %s：请发送您的位置（对话框「+」→「位置」），须在项目地点%d米内；或回复现场公布的4位签到码。", p.Code, p.Title, CheckInRadius)
				},
				Accept: func(env *Env, in Input) error {
					p, ok := chosenProject(env)
					if !ok {
						// The prompt, asked again, says it is gone: once.
						return &StepError{}
					}
					if in.Kind == KindLocation {
						if err := CheckLocation(p, in.Place); err != nil {
							return reject("%s", err.Error())
						}
						env.Draft[draftProof] = "location"
						return nil
					}
					want := "位置或4位签到码"
					if !p.Place.HasCoords {
						want = "4位签到码"
					}
					s, err := textOf(in, want)
					if err != nil {
						return err
					}
					key := fmt.Sprintf("checkin:%d:%d", p.ID, env.Member.ID)
					if env.guesses != nil && !env.guesses.Begin(key) {
						if !p.Place.HasCoords {
							return reject("签到码已连续输错%d次，暂不能用签到码签到，请找现场负责人协助签到。", MaxCodeGuesses)
						}
						return reject("签到码已连续输错%d次，暂不能用签到码签到，请发送您的位置签到，或找现场负责人协助。", MaxCodeGuesses)
					}
					if parse.Normalize(s) != p.CheckinCode { // ０４２７ from a Chinese keyboard is 0427
						if env.guesses != nil {
							env.guesses.Fail(key)
						}
						if !p.Place.HasCoords {
							return reject("签到码不正确，请核对现场公布的4位签到码，例如 0427。")
						}
						return reject("签到码不正确，请核对现场公布的4位签到码，例如 0427；或发送您的位置。")
					}
					if env.guesses != nil {
						env.guesses.Reset(key)
					}
					env.Draft[draftProof] = "code"
					return nil
				},
			},
		},
		Save: func(ctx context.Context, st Stores, env *Env) (Outcome, error) {
			p, err := savedProject(ctx, st, env)
			if err != nil {
				return Outcome{}, err
			}
			s, err := st.Projects.CheckIn(ctx, p.ID, env.Member, env.Now)
			if err != nil {
				return Outcome{}, projectRefusal(err)
			}
			return Outcome{Reply: fmt.Sprintf("签到成功：%s %s，签到时间 %s。结束后请回复「签退」，签退后生成服务记录。",
				p.Code, p.Title, s.CheckedInAt.In(env.Now.Location()).Format("15:04"))}, nil
		},
	}
}

func checkOutFlow() *Flow {
	return &Flow{
		Name: FlowCheckOut, Title: "签退", NeedsMember: true, Available: projectsAvailable, Direct: true,
		Load: func(ctx context.Context, st Stores, env *Env) error {
			ss, err := st.Projects.MemberSignups(ctx, env.Member.ID, env.Now.Add(-CheckOutGrace))
			if err != nil {
				return err
			}
			var ps []Project
			for _, s := range ss {
				if CheckOutWindow(s.Project, s.Signup, env.Now) == nil {
					ps = append(ps, s.Project)
				}
			}
			offer(env, ps)
			return nil
		},
		Empty: func(env *Env) string {
			if len(env.Facts.Offers) > 0 {
				return ""
			}
			return "您没有可以签退的项目（签到后至项目结束后2小时内可签退）。"
		},
		Steps: []*Step{chooseProjectStep("您已签到的项目，回复编号选择要签退的：", false)},
		Save: func(ctx context.Context, st Stores, env *Env) (Outcome, error) {
			p, err := savedProject(ctx, st, env)
			if err != nil {
				return Outcome{}, err
			}
			r, err := st.Projects.CheckOut(ctx, p.ID, env.Member.ID, env.Now)
			var (
				ov     *OverlapError
				closed *ClosedMonthError
			)
			switch {
			case errors.As(err, &ov):
				e := ov.Existing
				return Outcome{Reply: fmt.Sprintf("已签退 %s。这段时间与您已有的 %s %s「%s」记录重叠，未生成新的服务记录。",
					p.Code, e.Date.Chinese(), clockRange(e.StartMin, e.EndMin), e.Category)}, nil
			case errors.As(err, &closed):
				return Outcome{Reply: fmt.Sprintf("已签退 %s。%d年%d月已结账（考核已定稿），未生成服务记录；如有疑问请联系本单位。",
					p.Code, closed.Month.Year, closed.Month.Month)}, nil
			case err != nil:
				return Outcome{}, projectRefusal(err)
			case r.ID == 0:
				if env.Now.Before(p.Starts) {
					return Outcome{Reply: fmt.Sprintf("已签退 %s。项目开始前就签退了，没有可计的服务时间。", p.Code)}, nil
				}
				return Outcome{Reply: fmt.Sprintf("已签退 %s。服务时间不足1分钟，未生成服务记录。", p.Code)}, nil
			}
			sum, err := st.HoursSummaryWith(ctx, env.Member.ID, env.Today, MonthOf(r.Date))
			if err != nil {
				return Outcome{}, err
			}
			// A project that ended before midnight on a month's last day,
			// checked out after it, counts in its own month: say so, as
			// the log-hours reply does.
			then := ""
			if t := sum.Then; t.Month != MonthOf(env.Today) {
				then = fmt.Sprintf("%d月时长：%s小时，合格服务：%d次（本条记录计入%d月）\n", r.Date.Month, Hours(t.Minutes), t.Qualified, r.Date.Month)
			}
			return Outcome{Reply: fmt.Sprintf("签退成功：%s %s。\n已生成 %s %s（%s）的服务记录，已确认。\n%s本月时长：%s小时，合格服务：%d次\n累计时长：%s小时\n%s",
				p.Code, p.Title, r.Date.Chinese(), clockRange(r.StartMin, r.EndMin), RecordHours(r.Minutes), then,
				Hours(sum.MonthMinutes), sum.MonthQualified, Hours(sum.TotalMinutes), starLine(sum.TotalMinutes))}, nil
		},
	}
}
