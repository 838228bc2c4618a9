package admin

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestProjectEndingAtMidnight: parseClock's own comment says "24:00
// is the end of the day", and the store and chat handle a project of
// 22:00-24:00 (its check-out after midnight counts on its day). Through
// the API such a project must be published (SPEC §10: end HH:MM, the
// same day, 30 minutes to 12 hours) and read back as ending 24:00; and a
// start of "24:00" must not be taken silently as 00:00.
func TestProjectEndingAtMidnight(t *testing.T) {
	f := newFixture(t)
	w := f.do(http.MethodPost, "/api/v1/projects", "boss", projectBody(t, `{"start": "22:00", "end": "24:00"}`))
	if w.Code != http.StatusCreated {
		t.Errorf("22:00-24:00: %d %s, want 201", w.Code, w.Body)
	} else {
		var p projectJSON
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if p.Start != "22:00" || p.End != "24:00" {
			t.Errorf("22:00-24:00 stored as %s-%s", p.Start, p.End)
		}
	}
	w = f.do(http.MethodPost, "/api/v1/projects", "boss", projectBody(t, `{"start": "24:00", "end": "02:00"}`))
	if w.Code == http.StatusCreated {
		var p projectJSON
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		t.Errorf("start 24:00, end 02:00 was accepted as %s-%s on %s", p.Start, p.End, p.Date)
	}
}
