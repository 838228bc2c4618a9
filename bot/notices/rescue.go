package notices

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gridbot/flows"
)

// What flows.NoticeQueue needs of the River client, in one place:
// Register declares the queue's slots and runs a Sweeper beside it. The
// client's rescue time and job timeout (worker.Config) matter little, as
// every notice worker has its own Timeout and the Sweeper, not River's
// rescuer, puts back the jobs of a process that died.
const (
	// QueueWorkers is the queue's job slots: batchJobs batch runs, and
	// two more so a notice's recipients and a reminder are fixed while
	// batches are being sent (their jobs come first: send_batch jobs have
	// a lower priority).
	QueueWorkers = batchJobs + 2

	// ResumeWithin is how soon a notice being sent by a process that died
	// is sent again by a live one (restarted, or another instance): its
	// batch claims run out within DefaultHold, the Sweeper of each instance
	// looks every DefaultSweepEvery, and River fetches the job it queues
	// within its poll interval.
	ResumeWithin = 30 * time.Second

	// DefaultSweepEvery is how often a Sweeper looks.
	DefaultSweepEvery = 3 * time.Second
)

// noticeJobTimeout bounds one run of a send_notice or fire_schedule job
// (the workers' Timeout); resolveRun is how long a send_notice run fixes
// recipients before it snoozes to go on.
const (
	noticeJobTimeout = 20 * time.Second
	resolveRun       = 10 * time.Second
)

// Sweeper grace times: a send_batch run claims its batch within
// claimGrace of starting, and its job is done or snoozes within
// releaseGrace of releasing the claim; a run past its Timeout by
// deadGrace has returned, if its process lives.
const (
	claimGrace   = 5 * time.Second
	releaseGrace = 3 * time.Second
	deadGrace    = 5 * time.Second
)

// Sweeper puts back to work the notice jobs (flows.NoticeQueue) whose
// process died mid-run. River leaves such a job running until its
// rescuer, which only the leader runs, finds it RescueStuckJobsAfter (5
// minutes) later; a notice would wait that long. Every instance runs a
// Sweeper (Register adds it), which every DefaultSweepEvery lists the running
// notice jobs and takes a job for dead when
//
//   - send_batch: it started more than claimGrace ago and its batch is not
//     claimed (ClaimedBatches): a live run renews its claim every third of
//     its Hold, so a dead one's runs out within Hold;
//   - send_notice, fire_schedule: it has run longer than its Timeout, which
//     ends a live run's ctx (they resolve and fire in short transactions).
//
// A dead job is relaunched: the same args (with "relaunches": its ID)
// inserted as a River unique job, so the Sweepers of several instances
// queue it once, and the dead job is cancelled, so River's rescuer later
// discards it instead of running it again. Taking a live job for dead
// costs a cancelled run, never a double send: a batch is sent only under
// its claim, and a relaunched run waits for the claim like any other.
type Sweeper struct {
	Client *river.Client[*sql.Tx]
	Store  flows.NoticeStore
	Every  time.Duration // 0 means DefaultSweepEvery
	Log    *slog.Logger
	// Now is the clock the jobs' start times are compared with; nil means
	// time.Now.
	Now func() time.Time
}

// relaunches is the args key naming the job a relaunched job replaces.
const relaunches = "relaunches"

// Sweep relaunches the notice jobs whose process died, and returns how
// many it relaunched (another instance's Sweeper may have queued some
// first: those are not counted).
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	res, err := s.Client.JobList(ctx, river.NewJobListParams().Queues(flows.NoticeQueue).
		States(rivertype.JobStateRunning).First(1000))
	if err != nil {
		return 0, fmt.Errorf("notices: sweep: %w", err)
	}
	var (
		dead    []*rivertype.JobRow
		batches = map[flows.DeliveryBatch][]*rivertype.JobRow{}
		list    []flows.DeliveryBatch
	)
	for _, job := range res.Jobs {
		if job.AttemptedAt == nil || cancelAttempted(job) {
			continue // relaunched already: River's rescuer discards it
		}
		age := now().Sub(*job.AttemptedAt)
		switch job.Kind {
		case flows.SendBatchJob{}.Kind():
			var args flows.SendBatchJob
			if age < claimGrace || json.Unmarshal(job.EncodedArgs, &args) != nil {
				continue
			}
			if batches[args.DeliveryBatch] == nil {
				list = append(list, args.DeliveryBatch)
			}
			batches[args.DeliveryBatch] = append(batches[args.DeliveryBatch], job)
		case flows.SendNoticeJob{}.Kind(), flows.FireScheduleJob{}.Kind():
			if age > noticeJobTimeout+deadGrace {
				dead = append(dead, job)
			}
		}
	}
	if len(list) > 0 {
		claimed, err := s.Store.ClaimedBatches(ctx, list, releaseGrace)
		if err != nil {
			return 0, fmt.Errorf("notices: sweep: %w", err)
		}
		for _, b := range list {
			if !claimed[b] {
				dead = append(dead, batches[b]...)
			}
		}
	}
	relaunched := 0
	for _, job := range dead {
		ok, err := s.relaunch(ctx, job)
		if err != nil {
			return relaunched, fmt.Errorf("notices: sweep: relaunch job %d: %w", job.ID, err)
		}
		if ok {
			relaunched++
		}
	}
	return relaunched, nil
}

// relaunch queues job again in place of the running one whose process
// died, and cancels that one; false when another Sweeper queued it first.
func (s *Sweeper) relaunch(ctx context.Context, job *rivertype.JobRow) (bool, error) {
	var args map[string]json.RawMessage
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return false, err
	}
	args[relaunches] = json.RawMessage(fmt.Sprint(job.ID))
	encoded, err := json.Marshal(args)
	if err != nil {
		return false, err
	}
	ins, err := s.Client.Insert(ctx, relaunchArgs{kind: job.Kind, args: encoded}, &river.InsertOpts{
		Queue: job.Queue, MaxAttempts: job.MaxAttempts, Priority: job.Priority,
		UniqueOpts: river.UniqueOpts{ByArgs: true},
	})
	if err != nil {
		return false, err
	}
	if _, err := s.Client.JobCancel(ctx, job.ID); err != nil && !errors.Is(err, river.ErrNotFound) {
		return false, err
	}
	if ins.UniqueSkippedAsDuplicate {
		return false, nil
	}
	s.log().Warn("notices: job of a process that died relaunched", slog.String("kind", job.Kind),
		slog.Int64("job_id", job.ID), slog.Int64("relaunched_as", ins.Job.ID))
	return true, nil
}

// cancelAttempted reports whether JobCancel marked a running job (the
// Sweeper relaunched it).
func cancelAttempted(job *rivertype.JobRow) bool {
	var m struct {
		CancelAttemptedAt *time.Time `json:"cancel_attempted_at"`
	}
	return json.Unmarshal(job.Metadata, &m) == nil && m.CancelAttemptedAt != nil
}

// relaunchArgs are a relaunched job's args, as encoded: the dead job's,
// with its ID under "relaunches" (the job's worker ignores it).
type relaunchArgs struct {
	kind string
	args json.RawMessage
}

// Kind is the dead job's kind.
func (a relaunchArgs) Kind() string { return a.kind }

// MarshalJSON returns the encoded args.
func (a relaunchArgs) MarshalJSON() ([]byte, error) { return a.args, nil }

// Run sweeps at once and then every Every until ctx ends. A sweep that
// fails (the database is away) is logged once, and so is the next one
// that works.
func (s *Sweeper) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = DefaultSweepEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		_, err := s.Sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			s.log().Error("notices: sweeper", slog.Any("error", err))
		case err == nil && failing:
			s.log().Info("notices: sweeper works again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Sweeper) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
