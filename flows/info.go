package flows

import (
	"context"
	"fmt"
	"strings"
)

// helpText lists what the bot does; it answers 帮助 and any message outside a flow.
const helpText = `这里是文明城市创建志愿服务助手。可回复以下关键词（或使用底部菜单）：
绑定 — 绑定身份（首次使用）
登记 — 登记志愿服务时长
活动 — 单位集中志愿服务活动记录（联络员、负责人）
时长 — 查看我的时长和星级
上报 — 网格巡查问题上报
审核 — 审核本单位成员登记的时长（联络员、负责人）
报名 — 报名志愿服务项目；取消报名 — 退出已报名的项目
签到 / 签退 — 在项目现场签到、结束后签退（签退后自动生成服务记录）
证明 — 开具志愿服务记录证明
签发 — 签发本单位月报（负责人）；签发上月 — 补签上月报表
处置 — 处置分派给本单位的问题（联络员、负责人）
待办 — 查看待办事项
我的上报 — 查看最近的上报
结对 — 结对帮扶：查看结对对象、登记走访
提醒 — 周末活动提醒开关
通知 — 查看最近的通知
帮助 — 显示本说明
填写中可随时回复「取消」放弃、「返回」修改上一步。`

// allFlows returns every flow the engine knows.
func allFlows() []*Flow {
	return []*Flow{
		bindFlow(),
		logHoursFlow(),
		remindersFlow(),
		{Name: FlowMyHours, Title: "我的时长", NeedsMember: true, Run: myHours},
		{Name: FlowHelp, Title: "帮助", Run: func(context.Context, Stores, *Env) (string, error) { return helpText, nil }},
		{Name: FlowWelcome, Title: "关注", Run: welcome},
		activityFlow(),
		reportFlow(),
		reviewFlow(),
		myPairsFlow(),
		signUpFlow(), withdrawFlow(), checkInFlow(), checkOutFlow(),
		handleFlow(),
		tasksFlow(),
		{Name: FlowCertificate, Title: "证明", NeedsMember: true, Run: myCertificate,
			Available: func(st Stores) bool { return st.Certificates != nil && st.Certificates.PublicURL != "" }},
		signOffFlow(), signOffLastFlow(),
		{Name: FlowNotices, Title: "通知", NeedsMember: true, Run: myNotices},
		{Name: FlowMyReports, Title: "我的上报", NeedsMember: true, NeedsRecords: true, Run: myReports},
	}
}

// welcomeText greets a new follower; the engine follows it with the
// binding prompt for an unbound user and with the help for a bound one.
const welcomeText = "欢迎关注！这里是文明城市创建志愿服务助手，可登记志愿服务时长、记录集中活动、上报网格问题。"

func welcome(ctx context.Context, st Stores, env *Env) (string, error) {
	return welcomeText + "\n\n" + helpText, nil
}

func myHours(ctx context.Context, st Stores, env *Env) (string, error) {
	sum, err := st.HoursSummary(ctx, env.Member.ID, env.Today)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s（%s）的志愿服务时长：\n", env.Member.Name, env.Member.Unit)
	fmt.Fprintf(&b, "本月（%d月）：%s小时，合格服务%d次（共%d次）\n", env.Today.Month, Hours(sum.MonthMinutes), sum.MonthQualified, sum.MonthSessions)
	fmt.Fprintf(&b, "本年：%s小时\n累计：%s小时\n%s\n", Hours(sum.YearMinutes), Hours(sum.TotalMinutes), starLine(sum.TotalMinutes))
	if sum.Pending > 0 {
		fmt.Fprintf(&b, "待单位审核的记录：%d条（已计入以上时长，退回的不计）\n", sum.Pending)
	}
	b.WriteString("本单位本月" + unitActivitiesLine(sum))
	if missing := sum.UnitActivityGoal - sum.UnitGood; missing > 0 {
		fmt.Fprintf(&b, "，还差%d次，%d日前完成", missing, DeadlineDay)
	}
	return b.String(), nil
}

// unitActivitiesLine is the unit's activities of the month against the
// goal as the assessment and the sign-off count them (SPEC §9, §13):
// those with MinActivityPhotos photos that count, and all of them.
func unitActivitiesLine(sum HoursSummary) string {
	return fmt.Sprintf("集中志愿服务活动（%d张以上照片）：%d/%d次（共%d次）", MinActivityPhotos, sum.UnitGood, sum.UnitActivityGoal, sum.UnitActivities)
}

var reminderChoices = []string{"开启", "关闭"}

func remindersFlow() *Flow {
	return &Flow{
		Name:        FlowReminders,
		Title:       "提醒设置",
		NeedsMember: true,
		Steps: []*Step{{
			Name: "choice",
			Prompt: func(env *Env) string {
				state := "关闭"
				if env.Member.Reminders {
					state = "开启"
				}
				return fmt.Sprintf("周末活动提醒当前为：%s。回复数字或文字：\n%s", state, numbered(reminderChoices))
			},
			Accept: func(env *Env, in Input) error {
				s, err := textOf(in, "文字（开启或关闭）")
				if err != nil {
					return err
				}
				i, err := choose(s, reminderChoices, nil)
				if err != nil {
					return err
				}
				env.Draft["on"] = fmt.Sprint(i == 0)
				return nil
			},
		}},
		Summary: func(env *Env) string {
			if env.Draft["on"] == "true" {
				return "周末活动提醒：开启"
			}
			return "周末活动提醒：关闭"
		},
		Save: func(ctx context.Context, st Stores, env *Env) (Outcome, error) {
			on := env.Draft["on"] == "true"
			if err := st.SetReminders(ctx, env.Member.ID, on); err != nil {
				return Outcome{}, err
			}
			if on {
				return Outcome{Reply: "已开启周末活动提醒。"}, nil
			}
			return Outcome{Reply: "已关闭周末活动提醒：区文明办的通知和提醒将不再推送给您，可随时回复「通知」查看最近的通知。回复「提醒」可重新开启。"}, nil
		},
	}
}

// myNotices lists the latest notices to the member, also those not pushed
// to them (reminders off).
func myNotices(ctx context.Context, st Stores, env *Env) (string, error) {
	ns, err := st.MemberNotices(ctx, env.Member.ID, 5)
	if err != nil {
		return "", err
	}
	if len(ns) == 0 {
		return "最近没有发给您的通知。", nil
	}
	var b strings.Builder
	b.WriteString("最近的通知：")
	for _, n := range ns {
		fmt.Fprintf(&b, "\n\n【%s】%s", n.Title, DateOf(n.SendAt.In(env.Now.Location())).Chinese())
		if !n.EventTime.IsZero() {
			fmt.Fprintf(&b, "\n时间：%s", n.EventTime.In(env.Now.Location()).Format("1月2日 15:04"))
		}
		if n.Place != "" {
			fmt.Fprintf(&b, "\n地点：%s", n.Place)
		}
		fmt.Fprintf(&b, "\n%s", n.Content)
	}
	if !env.Member.Reminders {
		b.WriteString("\n\n您已关闭提醒，通知不会推送给您；回复「提醒」可重新开启。")
	}
	return b.String(), nil
}
