package flows

import (
	"context"
	"errors"
	"fmt"
)

// The photo steps: images are staged as they arrive (an effect the engine
// runs, through PhotoStage), the session keeps their IDs, and 完成 checks
// what the fetches found; the flows' Save hands the IDs to a Create.

// stepPhotos is the name of every photo step: a Save that refuses the
// draft's photos sends the user back to it.
const stepPhotos = "photos"

// legacyPhotos is the draft entry in which versions before staged photos
// kept a draft's photos, as "mediaID\tpicURL" lines (which a PicUrl with
// a tab or a newline split into many).
const legacyPhotos = "photos"

// photoStep handles images, 完成 and 跳过 at a photo step; anything else
// falls through to the step's Accept (which refuses it with the step's
// wants). Each image is staged as it arrives, which starts its fetch, so
// at 完成 the photos already stored are known by their content.
func (e *Engine) photoStep(ctx context.Context, env *Env, f *Flow, sess *Session, idx int, in Input, word string) (string, bool, error) {
	rule := f.Steps[idx].Photos
	switch {
	case in.Kind == KindImage:
		if len(env.Photos) >= rule.Max {
			reply, err := e.photosDone(ctx, env, f, sess, idx, fmt.Sprintf("最多%d张照片，这张未收。", rule.Max))
			return reply, true, err
		}
		if in.MediaID == "" && in.PicURL == "" {
			reply, err := e.reask(ctx, env, f, sess, "这张照片无法读取，请重新发送。")
			return reply, true, err
		}
		p, err := e.deps.Store.StagePhoto(ctx, env.Member.ID, Photo{MediaID: in.MediaID, PicURL: in.PicURL})
		if err != nil {
			return "", true, fmt.Errorf("flows: stage photo: %w", err)
		}
		env.Photos = append(env.Photos, p.ID)
		if len(env.Photos) == rule.Max {
			reply, err := e.photosDone(ctx, env, f, sess, idx, fmt.Sprintf("已收到第%d张照片，已达上限。", len(env.Photos)))
			return reply, true, err
		}
		msg := fmt.Sprintf("已收到第%d张照片。", len(env.Photos))
		if missing := rule.Min - len(env.Photos); missing > 0 {
			msg += fmt.Sprintf("还需至少%d张，", missing)
		} else {
			msg += "可继续发送，"
		}
		msg += fmt.Sprintf("发完回复「%s」（最多%d张）。", wordDone, rule.Max)
		keep(env, sess)
		return msg, true, nil
	case word == wordSkip && rule.Min == 0:
		env.Photos = nil
		reply, err := e.advance(ctx, env, f, sess, idx, "")
		return reply, true, err
	case word == wordDone:
		reply, err := e.photosDone(ctx, env, f, sess, idx, "")
		return reply, true, err
	case word == wordSkip:
		reply, err := e.reask(ctx, env, f, sess, fmt.Sprintf("这一步不能跳过：至少需要%d张照片。", rule.Min))
		return reply, true, err
	}
	return "", false, nil
}

// photosDone ends a photo step. It names the draft's photos already
// stored that repeat an earlier one, and those that failed or are gone,
// and moves on when the photos that count (CountPhotos: distinct stored
// ones and pending ones) reach the step's minimum; else it stays at the
// step saying how many more distinct photos are needed. Photos that are
// gone leave the draft; when the draft is full, so do those that do not
// count, to make room.
func (e *Engine) photosDone(ctx context.Context, env *Env, f *Flow, sess *Session, idx int, prefix string) (string, error) {
	rule := f.Steps[idx].Photos
	if missing := rule.Min - len(env.Photos); missing > 0 {
		return e.reask(ctx, env, f, sess, joinReply([]string{prefix},
			fmt.Sprintf("至少需要%d张照片，已收到%d张，还差%d张。", rule.Min, len(env.Photos), missing)))
	}
	var c photoCheck
	if len(env.Photos) > 0 {
		known, err := e.deps.Store.MemberPhotos(ctx, env.Member.ID, env.Photos)
		if err != nil {
			return "", fmt.Errorf("flows: draft photos: %w", err)
		}
		c = checkPhotos(env.Photos, known)
		env.Photos = c.present
	}
	notes := append([]string{prefix}, c.notes...)
	if c.counted >= rule.Min {
		return e.advance(ctx, env, f, sess, idx, joinReply(notes, ""))
	}
	if len(env.Photos) >= rule.Max {
		env.Photos = c.counting
		notes = append(notes, fmt.Sprintf("照片已满%d张，不计数的照片已移出草稿。", rule.Max))
	}
	notes = append(notes, fmt.Sprintf("不同的照片现有%d张，还需再发%d张不同的照片，发完回复「%s」。", c.counted, rule.Min-c.counted, wordDone))
	return e.reask(ctx, env, f, sess, joinReply(notes, ""))
}

// photoCheck is what checkPhotos found among a draft's photos.
type photoCheck struct {
	counted  int      // photos that count (CountPhotos)
	present  []int64  // photos that still exist, in order
	counting []int64  // those that count: pending ones and the first stored copy of each image
	notes    []string // the repeats, failures and missing photos, by position
}

// checkPhotos reads the draft's photos ids (in the order sent) against
// what the store knows of them.
func checkPhotos(ids []int64, known []Photo) photoCheck {
	byID := make(map[int64]Photo, len(known))
	for _, p := range known {
		byID[p.ID] = p
	}
	var c photoCheck
	var found []Photo
	first := map[string]int{} // position of the first stored copy, by SHA-256
	for i, id := range ids {
		p, ok := byID[id]
		if !ok {
			c.notes = append(c.notes, fmt.Sprintf("第%d张照片已失效，请重新发送。", i+1))
			continue
		}
		c.present = append(c.present, id)
		found = append(found, p)
		switch p.Status {
		case PhotoFailed:
			c.notes = append(c.notes, fmt.Sprintf("第%d张照片未能获取，不计入。", i+1))
		case PhotoStored:
			if j, ok := first[p.SHA256]; ok {
				c.notes = append(c.notes, fmt.Sprintf("第%d张与第%d张是同一张照片，只算一张。", i+1, j))
				continue
			}
			first[p.SHA256] = i + 1
			c.counting = append(c.counting, id)
		default:
			c.counting = append(c.counting, id)
		}
	}
	c.counted = CountPhotos(found)
	return c
}

// stagedPhotos are the draft's photos as a Create takes them: staged, by ID.
func stagedPhotos(env *Env) []Photo {
	out := make([]Photo, len(env.Photos))
	for i, id := range env.Photos {
		out[i] = Photo{ID: id}
	}
	return out
}

// checkDraftPhotos refuses, before saving, a draft whose photos are
// outside rule (a session from before the limits held, or forged): a
// *StepError back to the photo step.
func checkDraftPhotos(env *Env, rule PhotoRule) error {
	return photoSaveError(env, rule.Check(len(env.Photos)))
}

// photoSaveError turns a refusal of the draft's photos (by the rule or by
// the store) into a *StepError back to the photo step; other errors pass.
func photoSaveError(env *Env, err error) error {
	var ce *PhotoCountError
	switch {
	case errors.As(err, &ce) && ce.Got < ce.Rule.Min:
		return &StepError{Step: stepPhotos, Msg: fmt.Sprintf("至少需要%d张照片，现有%d张。", ce.Rule.Min, ce.Got)}
	case errors.As(err, &ce):
		env.Photos = nil
		return &StepError{Step: stepPhotos, Msg: fmt.Sprintf("照片最多%d张，草稿中有%d张，已清空，请重新发送。", ce.Rule.Max, ce.Got)}
	case errors.Is(err, ErrPhotoUnavailable):
		env.Photos = nil
		return &StepError{Step: stepPhotos, Msg: "草稿中的照片已失效，请重新发送照片。"}
	}
	return err
}

// photoAccept answers anything but a photo at a photo step.
func photoAccept(env *Env, in Input) error {
	return &StepError{Msg: unusable(in, "照片（直接发送图片），发完回复「完成」")}
}
