package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependenciesPointInward: the arrows of the house point inward
// (STYLE.md): flows imports nothing of bot, store or cmd, nor gin, the
// WeChat SDK, sqlx or Redis; bot imports nothing of store or cmd; store
// nothing of bot or cmd. Read from `go list`'s dependencies, tests left
// out, so an import through another package counts too.
func TestDependenciesPointInward(t *testing.T) {
	rules := []struct {
		layer  string
		banned []string
	}{
		{"gridbot/flows", []string{"gridbot/bot", "gridbot/store", "gridbot/cmd",
			"github.com/gin-gonic", "github.com/silenceper", "github.com/jmoiron/sqlx", "github.com/redis"}},
		{"gridbot/bot", []string{"gridbot/store", "gridbot/cmd"}},
		{"gridbot/store", []string{"gridbot/bot", "gridbot/cmd"}},
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "gridbot/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		for _, r := range rules {
			if !within(pkg, r.layer) {
				continue
			}
			seen[r.layer] = true
			for _, dep := range strings.Fields(deps) {
				for _, b := range r.banned {
					if within(dep, b) {
						t.Errorf("%s imports %s", pkg, dep)
					}
				}
			}
		}
	}
	for _, r := range rules {
		if !seen[r.layer] {
			t.Errorf("go list found no package of %s", r.layer)
		}
	}
}

// within reports whether package path is pkg or below it.
func within(path, pkg string) bool {
	return path == pkg || strings.HasPrefix(path, pkg+"/")
}
