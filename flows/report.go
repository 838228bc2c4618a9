package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gridbot/flows/parse"
)

func reportFlow() *Flow {
	return &Flow{
		Name:         FlowReport,
		Title:        "上报问题",
		NeedsMember:  true,
		NeedsRecords: true,
		Load:         loadNearby,
		Steps: []*Step{
			{
				Name: "category",
				Prompt: func(*Env) string {
					return "第1步 问题类别，回复数字或名称：\n" + numbered(labelled(ReportCategories, reportExamples))
				},
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（类别的数字或名称）")
					if err != nil {
						return err
					}
					i, err := chooseListed(s, ReportCategories, labelled(ReportCategories, reportExamples), reportAliases)
					if err != nil {
						return err
					}
					env.Draft["category"] = ReportCategories[i]
					return nil
				},
			},
			{
				Name: "place",
				Prompt: func(*Env) string {
					return "第2步 问题位置：请发送位置（点输入框旁的＋ → 位置），或回复详细地址（至少4个字，如 人民路18号东侧）。"
				},
				Accept: func(env *Env, in Input) error {
					if in.Kind == KindText {
						if _, err := parse.Text(in.Text, 4, 100); err != nil {
							return reject("地址%s 例如「人民路18号东侧」，或发送位置。", err.Error())
						}
					}
					return acceptPlace(env, in)
				},
			},
			{
				Name: stepPhotos,
				Prompt: func(env *Env) string {
					return photoPrompt(env, fmt.Sprintf("第3步 现场照片：请发送%d–%d张照片，发完回复「完成」。", ReportPhotos.Min, ReportPhotos.Max))
				},
				Photos: &ReportPhotos,
				Accept: photoAccept,
			},
			{
				Name:  "description",
				Facts: true, // the nearby report, named in the summary
				Prompt: func(*Env) string {
					return "第4步 问题描述（5–500字），如 路口垃圾堆放三天未清运。"
				},
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（问题描述）")
					if err != nil {
						return err
					}
					text, err := parse.Text(s, 5, 500)
					if err != nil {
						return reject("%s", err.Error())
					}
					env.Draft["description"] = text
					delete(env.Draft, "nearby")
					delete(env.Draft, "nearby_text")
					if n := env.Facts.Nearby; n != nil {
						env.Draft["nearby"] = n.Code
						env.Draft["nearby_text"] = fmt.Sprintf("%s %s %s【%s】", n.Code, n.Place.Label, DateOf(n.CreatedAt.In(env.Now.Location())).Chinese(), n.Status)
					}
					return nil
				},
			},
		},
		Summary: func(env *Env) string {
			s := fmt.Sprintf("类别：%s\n位置：%s\n照片：%d张\n描述：%s\n所属网格：%s（%s）",
				env.Draft["category"], env.Draft["place"], len(env.Photos), env.Draft["description"], env.Member.Grid, env.Member.Unit)
			if env.Draft["nearby"] != "" {
				s += "\n\n附近7天内已有同类问题尚未办结：" + env.Draft["nearby_text"] +
					"。如是同一问题，可回复「取消」不再上报；仍要上报请回复「确认」。"
			}
			return s
		},
		Save: func(ctx context.Context, st Stores, env *Env) (Outcome, error) {
			if err := checkDraftPhotos(env, ReportPhotos); err != nil {
				return Outcome{}, err
			}
			r := Report{
				MemberID: env.Member.ID, UnitID: env.Member.UnitID, GridID: env.Member.GridID,
				Date: env.Today, Category: env.Draft["category"], Place: placeOf(env.Draft),
				Description: env.Draft["description"], Photos: stagedPhotos(env),
				DraftKey: env.Draft[draftKey], Nearby: env.Draft["nearby"],
			}
			if err := st.CreateReport(ctx, &r); err != nil {
				return Outcome{}, photoSaveError(env, err)
			}
			return Outcome{Reply: fmt.Sprintf("已上报，编号 %s。\n照片正在后台保存；处理进展会通过消息通知您。回复「我的上报」可查看。", r.Code)}, nil
		},
	}
}

// loadNearby finds an open report of the draft's category made in the
// last 7 days near the draft's place (SPEC §15), when the engine has a
// HandlingStore.
func loadNearby(ctx context.Context, st Stores, env *Env) error {
	if st.Handling == nil || env.Draft["category"] == "" || env.Draft["place"] == "" {
		return nil
	}
	r, err := st.Handling.NearbyReport(ctx, env.Draft["category"], placeOf(env.Draft), env.Now.Add(-NearbyWindow))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	env.Facts.Nearby = &r
	return nil
}

// photoPrompt asks for photos, saying how many arrived when some did.
func photoPrompt(env *Env, ask string) string {
	if n := len(env.Photos); n > 0 {
		return fmt.Sprintf("%s（已收到%d张）", ask, n)
	}
	return ask
}

// myReportsShown is how many reports 我的上报 lists.
const myReportsShown = 5

func myReports(ctx context.Context, st Stores, env *Env) (string, error) {
	reports, err := st.RecentReports(ctx, env.Member.ID, myReportsShown)
	if err != nil {
		return "", err
	}
	total := len(reports)
	if total == myReportsShown {
		if total, err = st.ReportCount(ctx, env.Member.ID); err != nil {
			return "", err
		}
	}
	if len(reports) == 0 {
		return "您还没有上报过问题。回复「上报」可上报网格问题。", nil
	}
	var b strings.Builder
	if total > len(reports) {
		fmt.Fprintf(&b, "您共上报%d条，以下是最近%d条（另有%d条较早的）：", total, len(reports), total-len(reports))
	} else {
		b.WriteString("您最近的上报：")
	}
	for _, r := range reports {
		fmt.Fprintf(&b, "\n%s %s %s 【%s】", r.Code, r.Category, DateOf(r.CreatedAt.In(env.Now.Location())), r.Status)
		if r.Note != "" && (r.Status == StatusRejected || r.Status == StatusFixed) {
			fmt.Fprintf(&b, " %s", r.Note)
		}
	}
	return b.String(), nil
}
