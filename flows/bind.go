package flows

import (
	"context"
	"errors"
	"fmt"

	"gridbot/flows/parse"
)

// ContactHint tells an unmatched user whom to ask.
const ContactHint = "请联系本单位联络员核对花名册，或联系区文明办。"

func bindFlow() *Flow {
	return &Flow{
		Name:  FlowBind,
		Title: "绑定身份",
		Steps: []*Step{
			{
				Name:   "name",
				Prompt: func(*Env) string { return "请输入您的姓名（与单位花名册一致，2–20个字）：" },
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（姓名）")
					if err != nil {
						return err
					}
					if _, err := parse.Mobile(s); err == nil {
						return reject("这是手机号吧？请先输入姓名（与单位花名册一致，例如 张三），下一步再输入手机号。")
					}
					name, err := parse.Name(s)
					if err != nil {
						return reject("%s", err.Error())
					}
					env.Draft["name"] = name
					return nil
				},
			},
			{
				Name: "phone",
				Prompt: func(*Env) string {
					return "请输入您在花名册登记的手机号（11位，例如 13800138000）："
				},
				Accept: func(env *Env, in Input) error {
					s, err := textOf(in, "文字（手机号）")
					if err != nil {
						return err
					}
					phone, err := parse.Mobile(s)
					if err != nil {
						return reject("%s", err.Error())
					}
					env.Draft["phone"] = phone
					return nil
				},
			},
		},
		Summary: func(env *Env) string {
			return fmt.Sprintf("姓名：%s\n手机：%s", env.Draft["name"], env.Draft["phone"])
		},
		Save: saveBinding,
	}
}

func saveBinding(ctx context.Context, st Stores, env *Env) (Outcome, error) {
	m, err := st.FindRosterMember(ctx, env.Draft["name"], env.Draft["phone"])
	if errors.Is(err, ErrNotFound) {
		return Outcome{}, &StepError{Msg: "花名册中没有找到姓名和手机号都匹配的人员，未绑定。" + ContactHint + "\n核对后可回复「绑定」重试。"}
	}
	if err != nil {
		return Outcome{}, err
	}
	if m.OpenID != "" && m.OpenID != env.OpenID {
		return Outcome{}, &StepError{Msg: "该人员已绑定其他微信号，不能重复绑定。如需更换微信号，请联系区文明办解除原绑定。"}
	}
	err = st.BindMember(ctx, m.ID, env.OpenID)
	if errors.Is(err, ErrConflict) {
		return Outcome{}, &StepError{Msg: "该人员已绑定其他微信号，不能重复绑定。如需更换微信号，请联系区文明办解除原绑定。"}
	}
	if err != nil {
		return Outcome{}, err
	}
	reply := fmt.Sprintf("绑定成功！%s，您属于「%s」，所在网格「%s」，角色：%s。", m.Name, m.Unit, m.Grid, m.Role.Label())
	if env.Draft["then"] == "" {
		reply += "\n接下来可以：回复「登记」登记志愿服务时长，「上报」上报网格问题，「时长」查看时长和星级"
		if m.Role.CanRecordActivity() {
			reply += "，「活动」记录单位集中活动，「审核」审核本单位时长"
		}
		reply += "；回复「帮助」查看全部功能。"
	}
	return Outcome{Reply: reply, Next: env.Draft["then"]}, nil
}

// MaskPhone shows a mobile as 138****8000 (lists, certificates); other
// numbers as they are.
func MaskPhone(p string) string {
	if len(p) != 11 {
		return p
	}
	return p[:3] + "****" + p[7:]
}
