package flows

// Flow names, stored in sessions: renaming one drops the drafts of users
// in that flow (the engine forgets a session whose flow it does not know).
const (
	FlowBind        = "bind"
	FlowLogHours    = "log_hours"
	FlowActivity    = "activity"
	FlowMyHours     = "my_hours"
	FlowReport      = "report"
	FlowMyReports   = "my_reports"
	FlowReminders   = "reminders"
	FlowHelp        = "help"
	FlowWelcome     = "welcome"
	FlowProjects    = "projects"      // 报名: sign up for a volunteer project (SPEC §10)
	FlowWithdraw    = "cancel_signup" // 取消报名
	FlowCheckIn     = "check_in"      // 签到
	FlowCheckOut    = "check_out"     // 签退
	FlowReview      = "review"        // 审核: a unit's reviewers confirm or reject records (SPEC §11)
	FlowCertificate = "certificate"   // 证明 (SPEC §12)
	FlowSignOff     = "sign_off"      // 签发: a leader signs the month off (SPEC §13)
	FlowSignOffLast = "sign_off_last" // 签发上月: the month before, late, when not signed
	FlowMyPairs     = "my_pairs"      // 结对: pairings and visits (SPEC §14)
	FlowHandle      = "handle_report" // 处置: the handler unit works a report (SPEC §15)
	FlowMyTasks     = "my_tasks"      // 待办 (SPEC §15)
	FlowNotices     = "notices"       // 通知: the member's latest notices
)

// Start keywords and menu keys (SPEC §4) and the flows they start. A
// keyword whose flow is not built answers with the help.
var (
	keywords = map[string]string{
		"绑定": FlowBind, "登记": FlowLogHours, "活动": FlowActivity, "时长": FlowMyHours,
		"上报": FlowReport, "我的上报": FlowMyReports, "提醒": FlowReminders, "帮助": FlowHelp,
		"报名": FlowProjects, "取消报名": FlowWithdraw, "签到": FlowCheckIn, "签退": FlowCheckOut,
		"结对": FlowMyPairs, "证明": FlowCertificate, "待办": FlowMyTasks, "审核": FlowReview,
		"签发": FlowSignOff, "签发上月": FlowSignOffLast, "处置": FlowHandle, "通知": FlowNotices,
	}
	menuKeys = map[string]string{
		"BIND": FlowBind, "LOG_HOURS": FlowLogHours, "LOG_ACTIVITY": FlowActivity, "MY_HOURS": FlowMyHours,
		"REPORT_PROBLEM": FlowReport, "MY_REPORTS": FlowMyReports, "REMINDERS": FlowReminders, "HELP": FlowHelp,
		"PROJECTS": FlowProjects, "CHECK_IN": FlowCheckIn, "MY_PAIRS": FlowMyPairs, "MY_TASKS": FlowMyTasks,
		"MY_CERTIFICATE": FlowCertificate,
	}
)
