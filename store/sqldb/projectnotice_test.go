package sqldb

import (
	"context"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// TestCancelledProjectNotAnnounced: a project published with notify
// announces itself through a notice whose event time is its start (SPEC
// §10, §7). Cancelling the project left that notice standing: the
// Friday weekend reminder still told every target of a project that was
// off. Now an announcement not yet being sent is cancelled with the
// project, and one sent already is left out of the reminder.
func TestCancelledProjectNotAnnounced(t *testing.T) {
	for _, sent := range []bool{false, true} {
		name := "announcement not sent yet"
		if sent {
			name = "announcement sent"
		}
		t.Run(name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *DB) {
				ctx := context.Background()
				seed(t, db)
				loc := time.FixedZone("CST", 8*3600)
				on := flows.Notice{Title: "周六大扫除", Content: "c", EventTime: time.Date(2024, 11, 16, 8, 0, 0, 0, loc), Grids: []string{"一号网格"}}
				if err := db.CreateNotice(ctx, &on); err != nil {
					t.Fatal(err)
				}
				p := newProject()
				p.Title, p.Date, p.Notify = "周六广场清扫", flows.Date{Year: 2024, Month: 11, Day: 16}, true // a Saturday
				createProject(t, db, p)
				if p.NoticeID == 0 {
					t.Fatal("no notice for the project")
				}
				if sent {
					if _, err := db.db.ExecContext(ctx, db.q(`UPDATE notices SET state = ?, resolved_through = 1 WHERE id = ?`), flows.NoticeResolved, p.NoticeID); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := db.CancelProject(ctx, p.Code, "boss"); err != nil {
					t.Fatalf("CancelProject: %v", err)
				}
				_, _, err := db.NoticeCancelled(ctx, p.NoticeID)
				if cancelled := err == nil; cancelled == sent {
					t.Errorf("the project's notice cancelled = %v (%v), want %v", cancelled, err, !sent)
				}
				fid := fireDue(t, db, flows.ScheduleWeekend, time.Date(2024, 11, 15, 18, 0, 0, 0, loc))
				if _, err := db.WeekendReminder(ctx, fid, loc); err != nil {
					t.Fatal(err)
				}
				var contents []string
				if err := db.db.SelectContext(ctx, &contents, db.q(`SELECT content FROM notices WHERE created_by = ? ORDER BY id`), scheduleAuthor); err != nil {
					t.Fatal(err)
				}
				if len(contents) == 0 {
					t.Fatal("no weekend reminder: the other notice of Saturday is still on")
				}
				all := strings.Join(contents, "\n")
				if strings.Contains(all, "周六广场清扫") {
					t.Errorf("the weekend reminder announces the cancelled project: %q", contents)
				}
				if !strings.Contains(all, "周六大扫除") {
					t.Errorf("the weekend reminder lacks the notice still on: %q", contents)
				}
			})
		})
	}
}
