package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"gridbot/bot/notices"
	"gridbot/bot/worker"
	"gridbot/flows"
)

// noticeUsage is the help of gridbot notice send.
const noticeUsage = `usage: gridbot notice send --title T --content C [--grid G]... [--unit U]...
                          [--at TIME] [--place P] [--event-time TIME]

Creates a notice to the members of the grids and units given (all members
when none is given) and sends it, printing progress until every recipient
has an outcome. TIME is "2006-01-02 15:04" in GRIDBOT_TZ, or RFC 3339.
Interrupting leaves the rest to gridbot serve.
`

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	if s = strings.TrimSpace(s); s == "" {
		return errors.New("empty name")
	}
	*l = append(*l, s)
	return nil
}

// noticeProgressEvery is how often gridbot notice send prints progress.
var noticeProgressEvery = time.Second

// runNotice is gridbot notice send: it creates the notice, then sends it
// with an in-process sender until done.
func runNotice(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	if len(args) == 0 || args[0] != "send" {
		return fmt.Errorf("%s", strings.TrimSpace(noticeUsage))
	}
	fs := flag.NewFlagSet("notice send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, noticeUsage) }
	var (
		n               flows.Notice
		grids, units    stringList
		at, eventTime   string
		title, content  string
		place, createBy string
	)
	fs.StringVar(&title, "title", "", "title")
	fs.StringVar(&content, "content", "", "content")
	fs.Var(&grids, "grid", "target grid (repeatable)")
	fs.Var(&units, "unit", "target unit (repeatable)")
	fs.StringVar(&at, "at", "", "send time (default now)")
	fs.StringVar(&place, "place", "", "place of the event")
	fs.StringVar(&eventTime, "event-time", "", "time of the event")
	fs.StringVar(&createBy, "by", "gridbot notice send", "who creates the notice")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("notice send: unexpected argument %q", fs.Arg(0))
	}
	n.Title, n.Content, n.Place, n.CreatedBy = title, content, place, createBy
	n.Grids, n.Units = grids, units
	n.TargetAll = len(grids) == 0 && len(units) == 0
	var err error
	if n.SendAt, err = parseNoticeTime(at, cfg.TZ); err != nil {
		return fmt.Errorf("notice send: --at: %w", err)
	}
	if n.EventTime, err = parseNoticeTime(eventTime, cfg.TZ); err != nil {
		return fmt.Errorf("notice send: --event-time: %w", err)
	}

	if msg := notices.TextProblem(n, cfg.TZ); msg != "" {
		return fmt.Errorf("notice send: %s", msg)
	}
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	db := a.db
	if err := db.CreateNotice(ctx, &n); err != nil {
		return fmt.Errorf("notice send: %w", err)
	}
	target := "all members"
	if !n.TargetAll {
		target = strings.Join(append(append([]string(nil), n.Grids...), n.Units...), ", ")
	}
	fmt.Fprintf(stdout, "notice %d created for %s, sending at %s\n", n.ID, target, n.SendAt.In(cfg.TZ).Format("2006-01-02 15:04:05"))

	ws := worker.NewWorkers(worker.Config{PollInterval: 200 * time.Millisecond})
	err = notices.Register(ws, notices.Deps{
		Store: db, Poster: a.client, TemplateID: cfg.NoticeTemplateID, TemplateFields: cfg.NoticeTemplateFields,
		Limiter: a.sendLimiter, Location: cfg.TZ,
	}, log)
	if err != nil {
		return err
	}
	runner, err := worker.New(db.RiverDriver(), ws, log)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	if err := runner.Start(rctx); err != nil {
		return err
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer scancel()
		if err := runner.Stop(sctx); err != nil {
			log.Error("notice send: stop sender", slog.Any("error", err))
		}
	}()
	tick := time.NewTicker(noticeProgressEvery)
	defer tick.Stop()
	last := ""
	for {
		c, err := db.NoticeCounts(ctx, n.ID)
		if err != nil {
			return err
		}
		if line := c.String(); line != last {
			fmt.Fprintf(stdout, "notice %d: %s\n", n.ID, line)
			last = line
		}
		if c.Done() {
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(stdout, "notice %d: interrupted; gridbot serve sends the rest\n", n.ID)
			return nil
		case <-tick.C:
		}
	}
}

// parseNoticeTime reads "2006-01-02 15:04" in loc or RFC 3339; "" is the
// zero time.
func parseNoticeTime(s string, loc *time.Location) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want \"2006-01-02 15:04\" or RFC 3339", s)
	}
	return t, nil
}
