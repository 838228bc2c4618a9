package webhook

import (
	"context"
	"log/slog"
	"strings"
	"unicode/utf8"

	"gridbot/bot/wechat"
)

// maxReplyBytes is the longest text, in bytes of UTF-8, WeChat shows in a
// passive reply; a longer one fails with "该公众号暂时无法提供服务". The
// customer-service texts carrying the rest of a reply keep to it too.
const maxReplyBytes = 2047

// maxReplyParts is how many messages one reply may take: the passive
// reply and at most 3 customer-service texts after it, as many as WeChat
// allows within a minute of a menu click or follow (WECHAT.md): enough
// for a reply quoting a whole 2,048-character message in Chinese.
const maxReplyParts = 4

// omittedNote ends the last part of a reply too long even for
// maxReplyParts messages.
const omittedNote = "…（内容过长，其余未能显示）"

// splitReply cuts text into the parts it goes out as, each at most
// maxReplyBytes: at the last line break that leaves a part at least half
// full, else at a rune boundary. Line breaks at a cut are dropped. A text
// needing more than maxReplyParts parts ends its last one with
// omittedNote. Empty text has no parts.
func splitReply(text string) []string {
	var parts []string
	for len(text) > maxReplyBytes {
		if len(parts) == maxReplyParts-1 {
			cut := cutAt(text, maxReplyBytes-len(omittedNote))
			return append(parts, strings.TrimRight(text[:cut], "\n")+omittedNote)
		}
		cut := cutAt(text, maxReplyBytes)
		if part := strings.TrimRight(text[:cut], "\n"); part != "" {
			parts = append(parts, part)
		}
		text = strings.TrimLeft(text[cut:], "\n")
	}
	if text != "" {
		parts = append(parts, text)
	}
	return parts
}

// cutAt is where a part of s at most limit bytes long ends (limit <
// len(s)): at the last line break in reach that keeps the part at least
// half of limit, else at the last rune boundary.
func cutAt(s string, limit int) int {
	if i := strings.LastIndexByte(s[:limit+1], '\n'); i >= limit/2 {
		return i
	}
	for i := limit; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return limit // not UTF-8: any cut will do
}

// passivePart is the part of text the passive reply carries: the whole
// text when it fits, else its first part. It is also the reply kept for
// retries, so a retry answers what the first delivery answered.
func passivePart(text string) string {
	if len(text) <= maxReplyBytes {
		return text
	}
	return splitReply(text)[0]
}

// replyParts splits a handled reply for delivery, logging when it did not
// fit one passive reply (flows keep their replies shorter; this is the
// safety net).
func (h *Handler) replyParts(openID, text string) []string {
	parts := splitReply(text)
	if len(parts) > 1 {
		h.Log.Warn("webhook: reply longer than a passive reply, the rest goes as customer-service messages",
			slog.Int("bytes", len(text)), slog.Int("parts", len(parts)), slog.String("user", wechat.UserHash(openID)))
	}
	return parts
}

// push sends parts as customer-service texts, in order, stopping at the
// first that fails (the later ones would read out of order).
func (h *Handler) push(ctx context.Context, openID string, parts []string) {
	if h.Pusher == nil {
		if len(parts) > 0 {
			h.Log.Error("webhook: no pusher for a reply's customer-service messages", slog.Int("parts", len(parts)), slog.String("user", wechat.UserHash(openID)))
		}
		return
	}
	for i, p := range parts {
		if err := h.Pusher.SendText(ctx, openID, p); err != nil {
			h.Log.Error("webhook: push reply", slog.Any("error", err), slog.String("user", wechat.UserHash(openID)),
				slog.Int("part", i+1), slog.Int("parts", len(parts)))
			return
		}
	}
}

// pushAfter sends the parts of a reply that did not fit the passive
// reply once written is closed (the passive reply has been written):
// detached from the request, counted in h.running from now on so
// shutdown waits for them.
func (h *Handler) pushAfter(ctx context.Context, openID string, parts []string, written <-chan struct{}) {
	h.running.Add(1)
	go func() {
		defer h.running.Done()
		<-written
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handleTimeout)
		defer cancel()
		h.push(pctx, openID, parts)
	}()
}
