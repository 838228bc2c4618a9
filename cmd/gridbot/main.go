// Command gridbot is the WeChat official-account bot of the civilized-city
// campaign office: webhook, admin API and background work in one binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// gcPercent is the garbage collector's target (GOGC) when the
// environment sets none: twice Go's default of 100. At 100 the collector
// took 16 % of serve's CPU under load (pprof of the bench's max phase,
// PostgreSQL + Redis), at 200 8 %, for about 15 MB more peak memory (70
// to 85 MB in gridbot bench). GOGC (and GOMEMLIMIT) in the environment
// override it as usual.
const gcPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "gridbot:", err)
		os.Exit(1)
	}
}

const usage = `usage: gridbot [command]

commands:
  serve                     webhook, admin API, scheduler and workers (default)
  migrate                   apply database migrations and exit
  import roster FILE        import units, grids and staff from .csv or .xlsx
  import grids FILE         import grids with district and lead unit
  import residents FILE     import people in need of service (服务对象) from .csv or .xlsx
  menu push                 push the custom menu to WeChat
  notice send --title T --content C [--grid G]... [--unit U]... [--at TIME]
              [--place P] [--event-time TIME]
                            create a notice and send it, printing progress
  admin add USER [--role office|unit --unit NAME] [--password P]
                            create an admin API account or reset its
                            password (read from stdin without --password)
  report month YYYY-MM [--xlsx FILE]
                            print the month's unit assessment and grid
                            ranking; write the workbook to FILE
  photos copy               move photo bytes kept in the database to the store
                            GRIDBOT_PHOTO_STORE names (resumable)
  photos thumbs             make the thumbnails photos stored before lack
  chat [--as OPENID] [--url URL]
                            chat with a running gridbot from the terminal;
                            /quit, Ctrl-C or the end of input leaves
  bench [--users N] [--rounds N] [--rate R] [--duration D] [--db postgres|sqlite]
                            load-test serve against an echo baseline and print
                            msgs/s, p50/p99 and peak RSS (scratch databases only;
                            gridbot bench -h for all flags)

configuration is read from the environment; see README.md.
`

// run is main without the process: tests call it with their own
// arguments, environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "chat":
		return runChat(ctx, args, getenv, stdin, stdout)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, nil)
	case "bench":
		return runBench(ctx, cfg, args, stdout, stderr)
	case "echo": // hidden: the baseline server of bench
		return serveEcho(ctx, cfg, log, nil)
	case "migrate":
		return migrate(ctx, cfg, stdout)
	case "import":
		if len(args) != 2 || (args[0] != "roster" && args[0] != "grids" && args[0] != "residents") {
			return fmt.Errorf("usage: gridbot import roster FILE | gridbot import grids FILE | gridbot import residents FILE")
		}
		return importFile(ctx, cfg, args[0], args[1], stdout)
	case "admin":
		return runAdmin(ctx, cfg, args, stdin, stdout)
	case "notice":
		return runNotice(ctx, cfg, args, stdout, stderr, log)
	case "report":
		return runReport(ctx, cfg, args, stdout)
	case "photos":
		return runPhotos(ctx, cfg, args, stdout)
	case "menu":
		if len(args) != 1 || args[0] != "push" {
			return fmt.Errorf("usage: gridbot menu push")
		}
		return pushMenu(ctx, cfg, log, stdout)
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, strings.TrimSpace(usage))
}
