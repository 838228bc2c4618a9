package flows

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"gridbot/flows/parse"
)

func activityFlow() *Flow {
	return &Flow{
		Name:         FlowActivity,
		Title:        "活动记录",
		NeedsMember:  true,
		NeedsRecords: true,
		Allowed: func(m Member) string {
			if m.Role.CanRecordActivity() {
				return ""
			}
			return "集中志愿服务活动由单位联络员或负责人记录。您是志愿者，可回复「登记」登记个人服务时长。"
		},
		Intro: "记录本单位的集中志愿服务活动（每月至少2次，每次至少4张照片）。",
		Steps: []*Step{
			{
				Name: "date",
				Prompt: func(*Env) string {
					return "第1步 活动日期：回复 今天、昨天，或日期如 11-28、11月28日。"
				},
				Accept: func(env *Env, in Input) error { return acceptDate(env, in, "活动") },
			},
			{
				Name:   "place",
				Prompt: func(*Env) string { return "第2步 活动地点：回复地点文字，或发送位置。" },
				Accept: acceptPlace,
			},
			{
				Name:   "theme",
				Prompt: func(*Env) string { return "第3步 活动主题（2–50字），如 清洁家园周末大扫除。" },
				Accept: func(env *Env, in Input) error { return acceptText(env, in, "theme", "活动主题", 2, 50) },
			},
			{
				Name:   "participants",
				Prompt: func(*Env) string { return "第4步 参加人数（1–1000），如 25。" },
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（人数）")
					if err != nil {
						return err
					}
					n, err := parse.Count(s, 1, 1000)
					if err != nil {
						return reject("%s", err.Error())
					}
					env.Draft["participants"] = strconv.Itoa(n)
					return nil
				},
			},
			{
				Name:   "content",
				Prompt: func(*Env) string { return "第5步 活动内容及效果（10–1000字）。" },
				Accept: func(env *Env, in Input) error {
					return acceptTextExample(env, in, "content", "活动内容及效果", 10, 1000, "组织志愿者清理小区楼道堆物，清运垃圾两车，楼道整洁")
				},
			},
			{
				Name: stepPhotos,
				Prompt: func(env *Env) string {
					return photoPrompt(env, fmt.Sprintf("第6步 活动照片：请发送%d–%d张不同的照片（同一张照片只算一张），发完回复「完成」。", ActivityPhotos.Min, ActivityPhotos.Max))
				},
				Photos: &ActivityPhotos,
				Accept: photoAccept,
			},
			{
				Name:    "grid",
				Facts:   true,
				Applies: func(env *Env) bool { return len(env.Facts.UnitGrids) > 1 },
				Prompt: func(env *Env) string {
					return "第7步 本次活动服务的网格，回复数字或名称：\n" + numbered(gridNames(env.Facts.UnitGrids))
				},
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（网格的数字或名称）")
					if err != nil {
						return err
					}
					i, err := choose(s, gridNames(env.Facts.UnitGrids), nil)
					if err != nil {
						return err
					}
					env.Draft["grid_id"] = strconv.FormatInt(env.Facts.UnitGrids[i].ID, 10)
					env.Draft["grid"] = env.Facts.UnitGrids[i].Name
					return nil
				},
			},
		},
		Load: func(ctx context.Context, st Stores, env *Env) error {
			grids, err := st.UnitGrids(ctx, env.Member.UnitID)
			env.Facts.UnitGrids = grids
			return err
		},
		Summary: func(env *Env) string {
			grid := env.Draft["grid"]
			if grid == "" {
				grid = env.Member.Grid
			}
			return fmt.Sprintf("单位：%s\n网格：%s\n日期：%s\n地点：%s\n主题：%s\n人数：%s\n内容及效果：%s\n照片：%d张",
				env.Member.Unit, grid, env.Draft["date"], env.Draft["place"], env.Draft["theme"], env.Draft["participants"], shortened(env.Draft["content"], summaryChars), len(env.Photos))
		},
		Save: saveActivity,
	}
}

func saveActivity(ctx context.Context, st Stores, env *Env) (Outcome, error) {
	if err := checkDraftPhotos(env, ActivityPhotos); err != nil {
		return Outcome{}, err
	}
	d, err := ParseISODate(env.Draft["date"])
	if err != nil {
		return Outcome{}, err
	}
	n, err := strconv.Atoi(env.Draft["participants"])
	if err != nil {
		return Outcome{}, fmt.Errorf("draft participants: %w", err)
	}
	gridID := env.Member.GridID
	if g, err := strconv.ParseInt(env.Draft["grid_id"], 10, 64); err == nil {
		gridID = g
	} else if grids, err := st.UnitGrids(ctx, env.Member.UnitID); err != nil {
		return Outcome{}, err
	} else if len(grids) == 1 {
		gridID = grids[0].ID
	}
	a := Activity{
		UnitID: env.Member.UnitID, GridID: gridID, MemberID: env.Member.ID, Date: d,
		Place: placeOf(env.Draft), Theme: env.Draft["theme"], Participants: n,
		Content: env.Draft["content"], Photos: stagedPhotos(env), DraftKey: env.Draft[draftKey],
	}
	var closed *ClosedMonthError
	if err := st.CreateActivity(ctx, &a); errors.As(err, &closed) {
		return Outcome{}, &StepError{Step: "date", Msg: closed.Reason("集体活动")}
	} else if err != nil {
		return Outcome{}, photoSaveError(env, err)
	}
	sum, err := st.HoursSummary(ctx, env.Member.ID, d)
	if err != nil {
		return Outcome{}, err
	}
	reply := fmt.Sprintf("活动记录已保存，编号 %s。\n本单位%d月%s。照片正在后台保存。", a.Code, d.Month, unitActivitiesLine(sum))
	if !env.Now.Before(MonthOf(d).Deadline(env.Now.Location())) {
		reply += fmt.Sprintf("\n注意：%d月的报送截止日（%d日）已过，这条记录按迟报计，不计入%d月的按时报送。", d.Month, DeadlineDay, d.Month)
	}
	return Outcome{Reply: reply}, nil
}

// acceptText stores free text of min–max characters under key, for a step
// whose prompt, asked again after a refusal, shows an example.
func acceptText(env *Env, in Input, key, what string, min, max int) error {
	return acceptTextExample(env, in, key, what, min, max, "")
}

// acceptTextExample is acceptText for a step whose prompt shows no
// example: its refusal ends with example, as SPEC §5 asks bad input to
// get the rule and an example.
func acceptTextExample(env *Env, in Input, key, what string, min, max int, example string) error {
	s, err := textOf(in, "文字（"+what+"）")
	if err != nil {
		return err
	}
	text, err := parse.Text(s, min, max)
	if err != nil {
		return reject("%s%s%s", what, err.Error(), exampleOf(example))
	}
	env.Draft[key] = text
	return nil
}

// exampleOf is the example sentence ending a refusal ("" for none).
func exampleOf(example string) string {
	if example == "" {
		return ""
	}
	return "例如「" + example + "」。"
}

func gridNames(gs []Grid) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return out
}
