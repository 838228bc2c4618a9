package flows

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"gridbot/flows/parse"
)

// draftKey is the draft entry that names a draft apart from every other
// (random, 128 bits): the records saved from it carry it, so a draft saved
// twice (a second 确认 after the session could not be cleared) is stored once.
const draftKey = "key"

// DraftTTL is how long a draft may sit idle before it expires.
const DraftTTL = 30 * time.Minute

// Engine runs conversations: it loads a user's session, steps the running
// flow with the user's input, saves the session and runs the flow's effects.
type Engine struct {
	deps  Deps
	flows map[string]*Flow
}

// NewEngine returns an engine with every flow of gridbot.
func NewEngine(deps Deps) *Engine {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Loc == nil {
		deps.Loc = time.Local
	}
	e := &Engine{deps: deps, flows: map[string]*Flow{}}
	for _, f := range allFlows() {
		e.flows[f.Name] = f
	}
	return e
}

// Control words valid at any step.
const (
	wordCancel  = "取消"
	wordBack    = "返回"
	wordSkip    = "跳过"
	wordDone    = "完成"
	wordConfirm = "确认"
	stepConfirm = "confirm"
)

// Handle answers one input of one user and returns the reply text ("" for no reply).
// The user's session is loaded once and, when the turn changed it, saved
// (or deleted) once at the end; a turn that fails writes nothing, so the
// draft stays as it was.
func (e *Engine) Handle(ctx context.Context, openID string, in Input) (string, error) {
	loaded, err := e.deps.Sessions.Load(ctx, openID)
	if err != nil {
		return "", fmt.Errorf("flows: load session: %w", err)
	}
	reply, st, write, err := e.Turn(ctx, openID, TurnState{Session: loaded}, in)
	if err != nil {
		return "", err
	}
	sess := st.Session
	switch write {
	case SessionSave:
		if err := e.deps.Sessions.Save(ctx, openID, sess); err != nil {
			return "", fmt.Errorf("flows: save session: %w", err)
		}
	case SessionDelete:
		if err := e.deps.Sessions.Delete(ctx, openID); err != nil {
			return "", fmt.Errorf("flows: delete session: %w", err)
		}
	}
	return reply, nil
}

// turn answers one input, changing *sess to what the user's session is
// after it (a zero Session: none).
func (e *Engine) turn(ctx context.Context, env *Env, sess *Session, in Input) (string, error) {
	var notes []string
	if sess.Active() && env.Now.Sub(sess.Updated) > DraftTTL {
		if f := e.flows[sess.Flow]; f != nil {
			notes = append(notes, fmt.Sprintf("您的「%s」草稿超过30分钟未操作，已作废。", f.Title))
		}
		*sess = Session{}
	}
	start := e.startedFlow(in)
	if in.Kind == KindSubscribe {
		start = FlowWelcome
	}
	if start != "" {
		var running *Flow
		if sess.Active() {
			running = e.flows[sess.Flow]
		}
		reply, refused, err := e.start(ctx, env, sess, start, "")
		if err != nil {
			return "", err
		}
		switch {
		case running != nil && refused:
			// The new flow did not start, so the draft is still the
			// user's: saying it was dropped would make them type it all
			// again, so the reply keeps them where they were.
			reply, err = e.resume(ctx, env, running, sess, reply)
		case running != nil:
			notes = append(notes, fmt.Sprintf("已放弃未完成的「%s」草稿。", running.Title))
		}
		return joinReply(notes, reply), err
	}
	if !sess.Active() {
		reply, err := e.idle(ctx, env, in)
		return joinReply(notes, reply), err
	}
	reply, err := e.step(ctx, env, sess, in)
	return joinReply(notes, reply), err
}

// startedFlow returns the flow a keyword or menu click starts, or "".
func (e *Engine) startedFlow(in Input) string {
	switch in.Kind {
	case KindClick:
		return menuKeys[in.Key]
	case KindText:
		return keywords[parse.Word(in.Text)]
	}
	return ""
}

// idle answers input that arrives when no flow is running: the help, and
// for a user who is not bound, that they are not and how to bind.
func (e *Engine) idle(ctx context.Context, env *Env, in Input) (string, error) {
	reply := helpText
	if in.Kind == KindText {
		switch parse.Word(in.Text) {
		case wordCancel, wordBack, wordSkip, wordDone, wordConfirm:
			reply = "当前没有进行中的操作。\n\n" + helpText
		}
	}
	if err := e.loadMember(ctx, env); err != nil {
		return "", err
	}
	if !env.Bound {
		reply = unboundText + "\n\n" + reply
	}
	return reply, nil
}

// unboundText tells a user who is not bound what binding is for and how.
const unboundText = "您还没有绑定身份：绑定后才能登记时长、上报问题。请回复「绑定」，按提示输入姓名和花名册上登记的手机号。"

// start begins a flow, binding the user first when the flow needs a member.
// It reports refused when the flow is not set up, the member may not use
// it or it has nothing to do (Empty): the reply says why and sess is left
// as it was.
func (e *Engine) start(ctx context.Context, env *Env, sess *Session, name, intro string) (reply string, refused bool, err error) {
	f := e.flows[name]
	if f == nil {
		return helpText, true, nil
	}
	if f.NeedsMember || f.Name == FlowBind || f.Name == FlowWelcome {
		if err := e.loadMember(ctx, env); err != nil {
			return "", false, err
		}
	}
	switch {
	case f.Name == FlowWelcome && !env.Bound:
		reply, _, err := e.begin(ctx, env, sess, e.flows[FlowBind], joinReply([]string{intro}, welcomeText), "")
		return reply, false, err
	case f.Name == FlowBind && env.Bound:
		intro = joinReply([]string{intro}, fmt.Sprintf("您已绑定为 %s（%s，%s）。如需改绑，请继续；不需要请回复「取消」。", env.Member.Name, env.Member.Unit, GridLabel(env.Member.Grid)))
	}
	if f.NeedsMember && !env.Bound {
		intro = joinReply([]string{intro}, fmt.Sprintf("使用「%s」前请先绑定身份。", f.Title))
		reply, _, err := e.begin(ctx, env, sess, e.flows[FlowBind], intro, f.Name)
		return reply, false, err
	}
	if (f.NeedsRecords && e.deps.Records == nil) || (f.Available != nil && !f.Available(e.stores())) {
		return joinReply([]string{intro}, fmt.Sprintf("「%s」功能尚未开通，请暂时按原方式报送。", f.Title)), true, nil
	}
	if f.NeedsMember && f.Allowed != nil {
		if msg := f.Allowed(env.Member); msg != "" {
			return joinReply([]string{intro}, msg), true, nil
		}
	}
	// A flow with nothing to do (Empty) does not start either.
	return e.begin(ctx, env, sess, f, intro, "")
}

// resume answers a menu click or keyword whose flow was refused (reply
// says why) while flow f was running: its draft is kept and its current
// step asked again, so the user carries on where they were.
func (e *Engine) resume(ctx context.Context, env *Env, f *Flow, sess *Session, reply string) (string, error) {
	if gone, err := e.reopen(ctx, env, f, sess); err != nil || gone != "" {
		return joinReply([]string{reply}, gone), err
	}
	kept := fmt.Sprintf("您的「%s」草稿仍然保留，请继续（回复「取消」放弃）：", f.Title)
	return e.reask(ctx, env, f, sess, joinReply([]string{reply}, kept))
}

// begin runs a stepless flow or asks the first step of a flow; either
// way the user's previous draft is gone. A flow with nothing to do
// (Empty) does not start: empty, the reply says so, and sess is left as
// it was.
func (e *Engine) begin(ctx context.Context, env *Env, sess *Session, f *Flow, intro, then string) (reply string, empty bool, err error) {
	if f.Run != nil {
		*sess = Session{}
		reply, err := f.Run(ctx, e.stores(), env)
		if err != nil {
			return "", false, fmt.Errorf("flows: %s: %w", f.Name, err)
		}
		return joinReply([]string{intro}, reply), false, nil
	}
	env.Draft = map[string]string{draftKey: rand.Text()}
	env.Photos = nil
	if then != "" {
		env.Draft["then"] = then
	}
	for k, v := range env.carry {
		env.Draft[k] = v
	}
	env.carry = nil
	env.factsFresh = false
	if f.Empty != nil {
		if err := e.loadFacts(ctx, env, f); err != nil {
			return "", false, err
		}
		if msg := f.Empty(env); msg != "" {
			return joinReply([]string{intro}, msg), true, nil
		}
	}
	*sess = Session{Flow: f.Name, Draft: env.Draft}
	reply, err = e.ask(ctx, env, f, sess, 0, joinReply([]string{intro}, f.Intro))
	return reply, false, err
}

// ask moves the session to the first applicable step at or after index i
// and returns the step's prompt (or the summary when past the last step).
func (e *Engine) ask(ctx context.Context, env *Env, f *Flow, sess *Session, i int, prefix string) (string, error) {
	for ; i < len(f.Steps); i++ {
		if err := e.facts(ctx, env, f, f.Steps[i]); err != nil {
			return "", err
		}
		if f.Steps[i].Applies == nil || f.Steps[i].Applies(env) {
			break
		}
	}
	if i >= len(f.Steps) && f.Direct {
		return e.save(ctx, env, f, sess, prefix)
	}
	var prompt string
	if i < len(f.Steps) {
		sess.Step = f.Steps[i].Name
		prompt = f.Steps[i].Prompt(env)
	} else {
		sess.Step = stepConfirm
		prompt = confirmPrompt(f, env)
	}
	keep(env, sess)
	return joinReply([]string{prefix}, prompt), nil
}

// keep puts the draft of env into the session.
func keep(env *Env, sess *Session) {
	sess.Draft = env.Draft
	sess.Photos = env.Photos
}

func confirmPrompt(f *Flow, env *Env) string {
	return "请核对：\n" + f.Summary(env) + "\n\n回复「确认」保存，「返回」修改上一步，「取消」放弃。"
}

// reopen loads running flow f's draft and the member into env; when the
// flow needs a member and the office unbound them meanwhile, the draft is
// dropped and gone says so.
func (e *Engine) reopen(ctx context.Context, env *Env, f *Flow, sess *Session) (gone string, err error) {
	// Facts loaded this turn were another draft's (a flow that did not
	// start, after loading its own): f's steps read their own again.
	env.Facts, env.factsFresh = Facts{}, false
	env.Draft = sess.Draft
	if env.Draft == nil {
		env.Draft = map[string]string{}
	}
	env.Photos = sess.Photos
	if err := e.loadMember(ctx, env); err != nil {
		return "", err
	}
	if f.NeedsMember && !env.Bound {
		*sess = Session{}
		return "您的身份绑定已解除，草稿已作废。请回复「绑定」重新绑定。", nil
	}
	return "", nil
}

// step feeds one input to the running flow.
func (e *Engine) step(ctx context.Context, env *Env, sess *Session, in Input) (string, error) {
	f := e.flows[sess.Flow]
	if f == nil { // a flow removed by an upgrade: forget the session
		*sess = Session{}
		return helpText, nil
	}
	if gone, err := e.reopen(ctx, env, f, sess); err != nil || gone != "" {
		return gone, err
	}
	idx := f.stepIndex(sess.Step)
	word := ""
	if in.Kind == KindText {
		word = parse.Word(in.Text)
	}
	switch word {
	case wordCancel:
		*sess = Session{}
		return fmt.Sprintf("已取消「%s」，草稿已删除。", f.Title), nil
	case wordBack:
		if sess.Resume != "" {
			// 返回 from a step asked again after the save: the steps
			// after it count as not visited, as after any 返回.
			rewind(sess, sess.Resume)
			sess.Resume = ""
		}
		if len(sess.Back) == 0 {
			return e.reask(ctx, env, f, sess, "已经是第一步了。")
		}
		prev := sess.Back[len(sess.Back)-1]
		sess.Back = sess.Back[:len(sess.Back)-1]
		return e.ask(ctx, env, f, sess, f.stepIndex(prev), "")
	}
	var note string
	if _, ok := env.Draft[legacyPhotos]; ok {
		// A draft of an older version: its photos cannot be read safely
		// (and were never staged), so they are dropped and asked again.
		delete(env.Draft, legacyPhotos)
		if i := f.stepIndex(stepPhotos); i >= 0 && (i == idx || slices.Contains(sess.Back, stepPhotos)) {
			note = "系统已升级，升级前发送的照片需要重新发送。"
			if i != idx {
				rewind(sess, stepPhotos)
				return e.ask(ctx, env, f, sess, i, note)
			}
		}
	}
	reply, err := e.answer(ctx, env, f, sess, idx, in, word)
	return joinReply([]string{note}, reply), err
}

// answer feeds an input other than 取消 and 返回 to the running flow's
// current step (index idx, -1 at the summary).
func (e *Engine) answer(ctx context.Context, env *Env, f *Flow, sess *Session, idx int, in Input, word string) (string, error) {
	if sess.Step == stepConfirm {
		return e.confirm(ctx, env, f, sess, in, word)
	}
	if idx < 0 {
		return e.ask(ctx, env, f, sess, 0, "")
	}
	st := f.Steps[idx]
	if err := e.facts(ctx, env, f, st); err != nil {
		return "", err
	}
	if st.Photos != nil {
		if reply, handled, err := e.photoStep(ctx, env, f, sess, idx, in, word); handled {
			return reply, err
		}
	}
	switch {
	case word == wordConfirm && !f.Direct:
		// Sent a step early, it is no answer: a place or content of 确认.
		// (A flow without a summary, such as 审核, hears it at its step.)
		return e.reask(ctx, env, f, sess, "还没到核对这一步，「确认」请在核对信息时回复。")
	case word == wordDone:
		// A photo step ended by itself before the 完成 came.
		return e.reask(ctx, env, f, sess, "「完成」用于结束发送照片，这一步请按下面的提示回复。")
	}
	if word == wordSkip {
		if !st.Optional {
			return e.reask(ctx, env, f, sess, "这一步不能跳过。")
		}
		for _, k := range st.Clears {
			delete(env.Draft, k) // an answer given before 返回 is skipped too
		}
		return e.advance(ctx, env, f, sess, idx, "")
	}
	if in.Kind == KindImage {
		if reply, kept, err := e.earlyPhoto(ctx, env, f, sess, idx, in); kept {
			return reply, err
		}
	}
	env.answerFacts = func() error { return e.factsOf(ctx, env, f, st.Name) }
	err := st.Accept(env, in)
	env.answerFacts = nil
	if err != nil {
		var se *StepError
		if errors.As(err, &se) {
			return e.reask(ctx, env, f, sess, se.Msg)
		}
		return "", fmt.Errorf("flows: %s %s: %w", f.Name, st.Name, err)
	}
	env.factsFresh = false // the draft changed
	return e.advance(ctx, env, f, sess, idx, "")
}

// earlyPhoto keeps a photo sent before the flow's photo step (a report's
// photo sent first, say): staged as the photo step would stage it, kept
// in the draft for that step, and the current step asked again (SPEC §4:
// nothing a user sends is lost). Only for a photo step that is always
// asked; kept false when the flow has none after step idx, and the
// current step answers the image as it would any it cannot use.
func (e *Engine) earlyPhoto(ctx context.Context, env *Env, f *Flow, sess *Session, idx int, in Input) (reply string, kept bool, err error) {
	var rule *PhotoRule
	for _, st := range f.Steps[idx+1:] {
		if st.Photos != nil {
			if st.Applies == nil {
				rule = st.Photos
			}
			break
		}
	}
	switch {
	case rule == nil || rule.Max == 0:
		return "", false, nil
	case len(env.Photos) >= rule.Max:
		reply, err := e.reask(ctx, env, f, sess, fmt.Sprintf("已收到%d张照片，最多%d张，这张未收。请先回答这一步：", len(env.Photos), rule.Max))
		return reply, true, err
	case in.MediaID == "" && in.PicURL == "":
		reply, err := e.reask(ctx, env, f, sess, "这张照片无法读取，请到照片那一步时重新发送。请先回答这一步：")
		return reply, true, err
	}
	p, err := e.deps.Store.StagePhoto(ctx, env.Member.ID, Photo{MediaID: in.MediaID, PicURL: in.PicURL})
	if err != nil {
		return "", true, fmt.Errorf("flows: stage photo: %w", err)
	}
	env.Photos = append(env.Photos, p.ID)
	reply, err = e.reask(ctx, env, f, sess, fmt.Sprintf("已收到照片（共%d张），到照片那一步时一并使用。请先回答这一步：", len(env.Photos)))
	return reply, true, err
}

// advance records the answered step for 返回 and asks the next one.
func (e *Engine) advance(ctx context.Context, env *Env, f *Flow, sess *Session, idx int, prefix string) (string, error) {
	if sess.Resume != "" && sess.Resume == f.Steps[idx].Name {
		sess.Resume = ""
		return e.ask(ctx, env, f, sess, len(f.Steps), prefix)
	}
	sess.Back = append(sess.Back, f.Steps[idx].Name)
	return e.ask(ctx, env, f, sess, idx+1, prefix)
}

// reask repeats the current step after a message, keeping the session.
func (e *Engine) reask(ctx context.Context, env *Env, f *Flow, sess *Session, msg string) (string, error) {
	if sess.Step == stepConfirm {
		keep(env, sess)
		return joinReply([]string{msg}, confirmPrompt(f, env)), nil
	}
	idx := f.stepIndex(sess.Step)
	if idx < 0 {
		return e.ask(ctx, env, f, sess, 0, msg)
	}
	if err := e.facts(ctx, env, f, f.Steps[idx]); err != nil {
		return "", err
	}
	keep(env, sess)
	return joinReply([]string{msg}, f.Steps[idx].Prompt(env)), nil
}

// confirm handles the answer to the summary.
func (e *Engine) confirm(ctx context.Context, env *Env, f *Flow, sess *Session, in Input, word string) (string, error) {
	switch word {
	case wordConfirm, "确定", "是", "保存":
	default:
		if in.Kind == KindText {
			return e.reask(ctx, env, f, sess, "请回复「确认」保存，或「返回」「取消」。")
		}
		return e.reask(ctx, env, f, sess, unusable(in, "文字「确认」"))
	}
	return e.save(ctx, env, f, sess, "")
}

// save runs the flow's Save and answers with its outcome (after prefix),
// ending the flow, or going back to the step a *StepError names.
func (e *Engine) save(ctx context.Context, env *Env, f *Flow, sess *Session, prefix string) (string, error) {
	out, err := f.Save(ctx, e.stores(), env)
	var se *StepError
	if errors.As(err, &se) || closedMonth(err, f, &se) {
		if se.Step == "" {
			*sess = Session{}
			return joinReply([]string{prefix}, se.Msg), nil
		}
		if se.Resume {
			// The steps after it keep their answers and stay visited
			// (sess.Back): once it is answered, the summary comes back.
			sess.Resume = se.Step
		} else {
			rewind(sess, se.Step)
		}
		return e.ask(ctx, env, f, sess, f.stepIndex(se.Step), joinReply([]string{prefix}, se.Msg))
	}
	if err != nil {
		return "", fmt.Errorf("flows: save %s: %w", f.Name, err)
	}
	*sess = Session{}
	reply := joinReply([]string{prefix}, out.Reply)
	if out.Next != "" {
		env.carry = out.Keep
		reply, _, err := e.start(ctx, env, sess, out.Next, reply)
		return reply, err
	}
	return reply, nil
}

// facts runs the flow's Load before a step that reads facts, unless they
// were loaded for the current draft already.
func (e *Engine) facts(ctx context.Context, env *Env, f *Flow, st *Step) error {
	if !st.Facts {
		return nil
	}
	return e.factsOf(ctx, env, f, st.Name)
}

// factsOf runs the flow's Load for the step named step, unless its facts
// were loaded for the current draft already.
func (e *Engine) factsOf(ctx context.Context, env *Env, f *Flow, step string) error {
	if f.Load == nil || (env.factsFresh && (env.factsStep == "" || env.factsStep == step)) {
		return nil
	}
	return e.loadFactsFor(ctx, env, f, step)
}

// loadFacts runs the flow's Load for the current draft, for every step.
func (e *Engine) loadFacts(ctx context.Context, env *Env, f *Flow) error {
	return e.loadFactsFor(ctx, env, f, "")
}

// loadFactsFor runs the flow's Load for the current draft and the step
// named step ("": every step).
func (e *Engine) loadFactsFor(ctx context.Context, env *Env, f *Flow, step string) error {
	if f.Load == nil {
		return nil
	}
	env.Facts = Facts{}
	env.factsStep = step
	if err := f.Load(ctx, e.stores(), env); err != nil {
		env.factsFresh = false
		return fmt.Errorf("flows: load %s: %w", f.Name, err)
	}
	env.factsFresh = true
	return nil
}

func (e *Engine) stores() Stores {
	d := e.deps
	return Stores{Store: d.Store, RecordStore: d.Records, Reviews: d.Reviews, Projects: d.Projects, Handling: d.Handling,
		Certificates: d.Certificates, SignOffs: d.SignOffs, Pairings: d.Pairings}
}

// loadMember looks up the user's member into env: the turn's first
// lookup takes the cached one when the turn was given it, any other asks
// the store (a flow may have bound the user since) and is kept in
// env.looked for the caller to cache.
func (e *Engine) loadMember(ctx context.Context, env *Env) error {
	if c := env.cached; c != nil {
		env.cached = nil
		env.Member, env.Bound = c.Member, c.Bound
		return nil
	}
	m, err := e.deps.Store.MemberByOpenID(ctx, env.OpenID)
	switch {
	case errors.Is(err, ErrNotFound):
		env.Member, env.Bound = Member{}, false
	case err != nil:
		return fmt.Errorf("flows: load member: %w", err)
	default:
		env.Member, env.Bound = m, true
	}
	env.cached = nil
	env.looked = &MemberLookup{Member: env.Member, Bound: env.Bound}
	return nil
}

// rewind drops step name and the steps after it from sess.Back, for going
// back to name.
func rewind(sess *Session, name string) {
	for len(sess.Back) > 0 && sess.Back[len(sess.Back)-1] != name {
		sess.Back = sess.Back[:len(sess.Back)-1]
	}
	if len(sess.Back) > 0 {
		sess.Back = sess.Back[:len(sess.Back)-1]
	}
}

func (f *Flow) stepIndex(name string) int {
	for i, s := range f.Steps {
		if s.Name == name {
			return i
		}
	}
	return -1
}
