package bench

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"
)

// recorder collects the latencies and errors of one phase.
type recorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	count  int
	errors int
	kinds  map[string]int
}

func newRecorder() *recorder { return &recorder{kinds: map[string]int{}} }

// add records one message; the latency of a failed one is not counted.
func (r *recorder) add(lat time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	if err == nil {
		r.lat = append(r.lat, lat)
		return
	}
	r.errors++
	key := err.Error()
	if _, ok := r.kinds[key]; !ok && len(r.kinds) >= 5 {
		key = "other errors"
	}
	r.kinds[key]++
}

func (r *recorder) result(elapsed time.Duration, backlog int) phaseResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	return phaseResult{messages: r.count, errors: r.errors, kinds: r.kinds, backlog: backlog, elapsed: elapsed, lat: lat}
}

// phaseResult is one row of the table.
type phaseResult struct {
	phase, server string
	messages      int
	errors        int
	kinds         map[string]int // error message -> count
	backlog       int            // -1: not an open-loop phase
	elapsed       time.Duration
	lat           []time.Duration // of the messages answered correctly, sorted
	cpu           time.Duration   // the server's CPU time during the phase
	rssKB, hwmKB  int64           // the server's VmRSS and VmHWM after the phase
}

func (r phaseResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.messages) / r.elapsed.Seconds()
}

// percentile returns the latency p (0..1) of the answered messages are within.
func (r phaseResult) percentile(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*p+0.999999) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

func findResult(results []phaseResult, phase, server string) (phaseResult, bool) {
	for _, r := range results {
		if r.phase == phase && r.server == server {
			return r, true
		}
	}
	return phaseResult{}, false
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func mb(kb int64) string {
	if kb <= 0 {
		return "n/a"
	}
	return strconv.FormatFloat(float64(kb)/1024, 'f', 1, 64)
}

// printResults prints the table of results and the verdict on each target.
func printResults(w io.Writer, o options, set Settings, results []phaseResult) {
	sessions := "in-process sessions"
	if set.RedisURL != "" {
		sessions = "Redis sessions"
	}
	fmt.Fprintf(w, "gridbot bench: %d users, %d rounds, concurrency %d, rate %g msgs/s for %s; %s + %s; %d CPUs\n\n",
		o.users, o.rounds, o.concurrency, o.rate, o.duration, o.db, sessions, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tserver\tmessages\terrors\tbacklog\tmsgs/s\tp50 ms\tp99 ms\tmax ms\tCPU µs/msg\tRSS MB\tpeak RSS MB")
	for _, r := range results {
		backlog := "-"
		if r.backlog >= 0 {
			backlog = strconv.Itoa(r.backlog)
		}
		cpu := "n/a"
		if r.messages > 0 && r.cpu > 0 {
			cpu = strconv.FormatInt(r.cpu.Microseconds()/int64(r.messages), 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.phase, r.server, r.messages, r.errors, backlog, r.rate(),
			ms(r.percentile(0.5)), ms(r.percentile(0.99)), ms(r.percentile(1)), cpu, mb(r.rssKB), mb(r.hwmKB))
	}
	tw.Flush()

	for _, r := range results {
		for kind, n := range r.kinds {
			fmt.Fprintf(w, "errors: %s %s: %d × %s\n", r.phase, r.server, n, kind)
		}
	}

	fmt.Fprintln(w, "\ntargets:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	target := targetRatio
	if o.db == "postgres" {
		target = targetRatioPostgres
	}
	gm, ok1 := findResult(results, "max", "gridbot")
	em, ok2 := findResult(results, "max", "echo")
	if ok1 && ok2 && em.rate() > 0 {
		ratio := gm.rate() / em.rate()
		fmt.Fprintf(tw, "  throughput gridbot/echo, max phase\t%.2f (%.0f / %.0f msgs/s)\t>= %.2f\t%s\n",
			ratio, gm.rate(), em.rate(), target, verdict(ratio >= target))
	} else {
		fmt.Fprintf(tw, "  throughput gridbot/echo, max phase\tnot measured\t>= %.2f\tMISS\n", target)
	}
	gr, ok := findResult(results, "rate", "gridbot")
	switch {
	case !ok:
		fmt.Fprintf(tw, "  p99 at %.0f msgs/s, rate phase\tnot measured\t< %s ms\tMISS\n", targetRate, ms(targetP99))
	case o.rate < targetRate:
		fmt.Fprintf(tw, "  p99 at %.0f msgs/s, rate phase\t%s ms at %.0f msgs/s\t< %s ms\tn/a (--rate %g)\n",
			targetRate, ms(gr.percentile(0.99)), gr.rate(), ms(targetP99), o.rate)
	default:
		// The target holds at the rate only if the server kept up with it.
		ok := gr.percentile(0.99) < targetP99 && gr.rate() >= 0.95*targetRate && gr.errors == 0
		fmt.Fprintf(tw, "  p99 at %.0f msgs/s, rate phase\t%s ms at %.0f msgs/s\t< %s ms\t%s\n",
			targetRate, ms(gr.percentile(0.99)), gr.rate(), ms(targetP99), verdict(ok))
	}
	var hwm int64
	measured := false
	for _, r := range results {
		if r.server == "gridbot" {
			hwm = max(hwm, r.hwmKB)
			measured = true
		}
	}
	switch {
	case hwm > 0:
		fmt.Fprintf(tw, "  gridbot peak RSS\t%s MB\t< %.0f MB\t%s\n", mb(hwm), targetRSSMB, verdict(float64(hwm)/1024 < targetRSSMB))
	case measured:
		fmt.Fprintf(tw, "  gridbot peak RSS\tn/a (no /proc)\t< %.0f MB\tMISS\n", targetRSSMB)
	default:
		fmt.Fprintf(tw, "  gridbot peak RSS\tnot measured\t< %.0f MB\tMISS\n", targetRSSMB)
	}
	tw.Flush()
}
