package flows

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Kind is the kind of a message or event a user sent.
type Kind int

// Input kinds.
const (
	KindText Kind = iota
	KindImage
	KindLocation
	KindVoice
	KindVideo
	KindUnsupported // stickers, links, files and anything else a step cannot use
	KindClick       // a menu click, Key holds the EventKey
	KindSubscribe
)

// Input is one message or event from a user, already decoded from the protocol.
type Input struct {
	Kind    Kind
	Text    string
	Key     string // EventKey of a menu click
	MediaID string
	PicURL  string
	Place   Location // of a location message
}

// Flow is one conversation: a list of steps ending with a summary and 确认,
// or a single Run for flows that only show something.
type Flow struct {
	Name  string // internal name, stored in sessions
	Title string // shown to users, "登记时长"
	// NeedsMember: an unbound user is sent through binding first.
	NeedsMember bool
	// NeedsRecords: the flow saves through Deps.Records.
	NeedsRecords bool
	// Available, when set, says whether the stores the flow needs are
	// there; without them the flow says it is unavailable.
	Available func(st Stores) bool
	// Allowed refuses members who may not run the flow; "" allows.
	Allowed func(m Member) string
	// Empty, when set, is asked when the flow starts, after Load: a
	// non-empty answer (nothing to review, no project to join) is the
	// reply, and the flow does not start.
	Empty func(env *Env) string
	// Direct flows save as soon as their last step is answered, without a
	// summary and 确认 (a check-in, a review decision).
	Direct bool
	// Intro is shown before the first step's prompt.
	Intro string
	Steps []*Step
	// Load fetches what the steps need to decide (records of the chosen day,
	// activities). It runs, at most once per message, draft and step,
	// before a step marked Facts, or when an Accept asks (AnswerFacts);
	// it may load only what the step in env.factsStep needs ("": all).
	// Steps themselves do no I/O.
	Load func(ctx context.Context, st Stores, env *Env) error
	// Summary renders the draft for confirmation.
	Summary func(env *Env) string
	// Save writes the draft after 确认 and returns the reply. A *StepError
	// sends the user back to the named step with its message.
	Save func(ctx context.Context, st Stores, env *Env) (Outcome, error)
	// Run, for flows without steps, returns the reply at once.
	Run func(ctx context.Context, st Stores, env *Env) (string, error)
}

// Outcome is what a saved flow answers, and optionally which flow starts next.
type Outcome struct {
	Reply string
	Next  string // flow to start after this one (binding first, then the asked flow)
	// Keep are draft entries the Next flow starts with (the records a
	// reviewer skipped, for the next round).
	Keep map[string]string
}

// Step is one question of a flow.
type Step struct {
	Name string
	// Prompt asks for the step's answer.
	Prompt func(env *Env) string
	// Optional steps accept 跳过.
	Optional bool
	// Clears are the draft entries the step's answer sets: 跳过 deletes
	// them, so an answer given before 返回 does not stay behind a skip.
	Clears []string
	// Applies, when set, says whether the step is asked at all.
	Applies func(env *Env) bool
	// Accept parses the input into env.Draft; a *StepError rejects it.
	Accept func(env *Env, in Input) error
	// Facts: the step reads env.Facts, so the flow's Load runs before it
	// is asked and answered. A step whose answer alone needs them, and
	// only some answers, leaves it unset and calls env.AnswerFacts.
	Facts bool
	// Photos, when set, makes this a photo step: images are staged and
	// collected into the draft until 完成 (with at least Min that count) or
	// until Max have arrived. The step must be named "photos".
	Photos *PhotoRule
}

// Env is what a step sees: the time, the member and the draft, plus facts
// the flow's Load fetched.
type Env struct {
	Now    time.Time // in the office's time zone
	Today  Date
	OpenID string
	Member Member
	Bound  bool
	Draft  map[string]string
	// Photos are the IDs of the draft's staged photos, in the order sent.
	Photos []int64
	Facts  Facts
	// factsFresh: Facts were loaded for the current draft, for every step
	// (factsStep "") or for factsStep alone: the step whose facts the
	// flow's Load is asked for, so it may read only what that step needs.
	factsFresh bool
	factsStep  string
	// answerFacts loads the facts of the step being answered, for
	// AnswerFacts (nil outside an Accept).
	answerFacts func() error
	// carry are draft entries for the next flow begun (Outcome.Keep).
	carry map[string]string
	// cached is a lookup of the member the turn was given, for its first
	// loadMember; looked is the last lookup the turn made in the store.
	cached, looked *MemberLookup
	// guesses is Deps.CodeGuesses, for the check-in code step.
	guesses Guesses
}

// StepError is a rejected answer: its message names the rule and an example.
type StepError struct {
	Step string // when set by Save: the step to go back to
	Msg  string
	// Resume, with Step, says no later step depends on Step's answer:
	// the later answers are kept, and once Step is answered again the
	// summary comes back instead of every later step.
	Resume bool
}

func (e *StepError) Error() string { return e.Msg }

func reject(format string, args ...any) error {
	return &StepError{Msg: fmt.Sprintf(format, args...)}
}

// unusable answers a message kind the step cannot use.
func unusable(in Input, wants string) string {
	var got string
	switch in.Kind {
	case KindImage:
		got = "图片"
	case KindVoice:
		got = "语音"
	case KindVideo:
		got = "视频"
	case KindLocation:
		got = "位置"
	case KindText:
		got = "文字"
	default:
		got = "这类消息"
	}
	return fmt.Sprintf("这一步无法使用%s，需要%s。", got, wants)
}

// textOf returns the normalized text of a text input, or a StepError naming
// what the step wants.
func textOf(in Input, wants string) (string, error) {
	if in.Kind != KindText {
		return "", &StepError{Msg: unusable(in, wants)}
	}
	return strings.TrimSpace(in.Text), nil
}

// joinReply joins non-empty parts with blank lines.
func joinReply(parts []string, last string) string {
	var out []string
	for _, p := range append(parts, last) {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n\n")
}

// AnswerFacts loads the flow's facts for the step being answered, for an
// Accept that reads them for some answers only, on a step without Facts
// (the time step: the day's records for a range's overlap check, nothing
// for a duration). Outside an Accept run by the engine it does nothing.
func (env *Env) AnswerFacts() error {
	if env.answerFacts == nil {
		return nil
	}
	return env.answerFacts()
}
