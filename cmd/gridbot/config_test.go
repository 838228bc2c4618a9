package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeDefault is how the README's default column shows a variable's
// default: the value (or "empty"), the dev-mode value, then the note.
func readmeDefault(e envVar) string {
	s := "empty"
	if e.Default != "" {
		s = e.Default
	}
	if e.DevDefault != "" {
		s += "; dev mode " + e.DevDefault
	}
	switch {
	case e.Note != "" && e.Default == "":
		s += ": " + e.Note
	case e.Note != "":
		s += "; " + e.Note
	}
	return s
}

var (
	markdown   = regexp.MustCompile("`|\\*\\*?")
	whitespace = regexp.MustCompile(`\s+`)
)

// plain is a table cell's text without markdown (code spans, emphasis)
// and with its whitespace collapsed.
func plain(s string) string {
	return strings.TrimSpace(whitespace.ReplaceAllString(markdown.ReplaceAllString(s, ""), " "))
}

// configTableDiff compares the configuration table of readme (the first
// table under "## Configuration") with vars and returns every difference:
// variables missing or extra or out of order, a default or a meaning that
// differs.
func configTableDiff(readme string, vars []envVar) []string {
	_, section, ok := strings.Cut(readme, "\n## Configuration\n")
	if !ok {
		return []string{`README has no "## Configuration" section`}
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows [][]string
	inTable := false
	for line := range strings.SplitSeq(section, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		// An escaped pipe (\|) is part of its cell.
		line = strings.ReplaceAll(line, `\|`, "\x00")
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|"), "|")
		for i := range cells {
			cells[i] = strings.ReplaceAll(cells[i], "\x00", "|")
		}
		rows = append(rows, cells)
	}
	if len(rows) < 2 || len(rows[0]) != 3 || plain(rows[0][0]) != "variable" || plain(rows[0][1]) != "default" || plain(rows[0][2]) != "meaning" {
		return []string{"the Configuration section has no | variable | default | meaning | table"}
	}
	var diffs []string
	readmeRows := map[string][]string{}
	var names []string
	for _, r := range rows[2:] {
		if len(r) != 3 {
			diffs = append(diffs, fmt.Sprintf("row %q: want 3 cells, has %d", strings.Join(r, "|"), len(r)))
			continue
		}
		name := plain(r[0])
		if _, dup := readmeRows[name]; dup {
			diffs = append(diffs, fmt.Sprintf("%s: listed twice", name))
		}
		readmeRows[name] = r
		names = append(names, name)
	}
	var want []string
	for _, e := range vars {
		want = append(want, e.Name)
		r, ok := readmeRows[e.Name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s: not in the README", e.Name))
			continue
		}
		if got, want := plain(r[1]), plain(readmeDefault(e)); got != want {
			diffs = append(diffs, fmt.Sprintf("%s: README default %q, code %q", e.Name, got, want))
		}
		if got, want := plain(r[2]), plain(e.Meaning); got != want {
			diffs = append(diffs, fmt.Sprintf("%s: README meaning %q, code %q", e.Name, got, want))
		}
	}
	for _, n := range names {
		if !slices.Contains(want, n) {
			diffs = append(diffs, fmt.Sprintf("%s: in the README, not in envVars", n))
		}
	}
	if len(diffs) == 0 && !slices.Equal(names, want) {
		diffs = append(diffs, fmt.Sprintf("order: README %v, code %v", names, want))
	}
	return diffs
}

// TestReadmeConfigTable: the README's configuration table is envVars:
// the same variables in the same order, each with the same default and
// meaning (compared without markdown, whitespace collapsed).
func TestReadmeConfigTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range configTableDiff(string(readme), envVars) {
		t.Error(d)
	}
}

// TestConfigTableDiff: the comparison finds each kind of difference and
// ignores markdown and whitespace.
func TestConfigTableDiff(t *testing.T) {
	vars := []envVar{
		{Name: "A_ADDR", Default: ":80", DevDefault: "127.0.0.1:80", Meaning: "listen address"},
		{Name: "B_URL", Note: "SQLite file x.db", Meaning: "postgres://… selects PostgreSQL"},
		{Name: "C_BASE", Default: "https://x", Note: "in dev mode the fake", Meaning: "base | URL"},
	}
	table := func(rows ...string) string {
		return "# x\n\n## Configuration\n\nVariables:\n\n| variable | default | meaning |\n|---|---|---|\n" +
			strings.Join(rows, "\n") + "\n\nEndpoints: | not | a | row |\n\n## Next\n\n| variable | default | meaning |\n"
	}
	a := "| `A_ADDR` | `:80`; dev mode `127.0.0.1:80` | listen address |"
	b := "| `B_URL` | empty: SQLite file `x.db` | `postgres://…` selects **PostgreSQL** |"
	c := "| `C_BASE` | `https://x`; in dev mode the fake | base \\| URL |"
	for _, tc := range []struct {
		name   string
		readme string
		want   []string
	}{
		{"same", table(a, b, c), nil},
		{"whitespace and markdown", table("|A_ADDR|:80;  dev mode 127.0.0.1:80|`listen`  address|", b, c), nil},
		{"no section", "# x\n", []string{"no \"## Configuration\""}},
		{"missing", table(a, c), []string{"B_URL: not in the README"}},
		{"extra", table(a, b, c, "| `D` | empty | d |"), []string{"D: in the README, not in envVars"}},
		{"twice", table(a, b, c, a), []string{"A_ADDR: listed twice"}},
		{"order", table(b, a, c), []string{"order: README [B_URL A_ADDR C_BASE]"}},
		{"default", table("| `A_ADDR` | `:8080`; dev mode `127.0.0.1:80` | listen address |", b, c), []string{`A_ADDR: README default ":8080; dev mode 127.0.0.1:80", code ":80; dev mode 127.0.0.1:80"`}},
		{"dev default", table("| `A_ADDR` | `:80` | listen address |", b, c), []string{"A_ADDR: README default"}},
		{"note", table(a, "| `B_URL` | empty | `postgres://…` selects PostgreSQL |", c), []string{"B_URL: README default \"empty\", code \"empty: SQLite file x.db\""}},
		{"meaning", table(a, b, "| `C_BASE` | `https://x`; in dev mode the fake | base address |"), []string{`C_BASE: README meaning "base address", code "base | URL"`}},
		{"cells", table(a, b, c, "| `E` | empty |"), []string{"want 3 cells"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := configTableDiff(tc.readme, vars)
			if len(got) != len(tc.want) {
				t.Fatalf("diff = %q, want %d differences like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("difference %d = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}

// TestConfigErrorsQuoteValuesNotSecrets: a bad value is quoted in its
// error, unless it is or may hold a secret (the token, the AES key, the
// database's and Redis's URLs with their passwords), which never is.
func TestConfigErrorsQuoteValuesNotSecrets(t *testing.T) {
	for name, value := range map[string]string{
		"GRIDBOT_ADDR":                  "8080",
		"GRIDBOT_TZ":                    "Mars/Olympus",
		"WECHAT_ACCEPT_PLAINTEXT":       "yes",
		"WECHAT_API_BASE":               "ftp://api.example",
		"GRIDBOT_SEND_RATE":             "fast",
		"GRIDBOT_TRUSTED_PROXIES":       "nginx",
		"WECHAT_NOTICE_TEMPLATE_FIELDS": "thing1:title",
	} {
		_, err := loadConfig(envOf(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name+": ") || !strings.Contains(err.Error(), `"`+value+`"`) {
			t.Errorf("%s=%s: %v, want an error naming the variable and quoting the value", name, value, err)
		}
	}
	for name, value := range map[string]string{
		"WECHAT_TOKEN":   "s3cret has spaces",
		"WECHAT_AES_KEY": "s3cret-too-short",
		"DATABASE_URL":   "mysql://gridbot:s3cret@db.example/gridbot",
		"REDIS_URL":      "redis://:s3cret@redis.example:port/0",
	} {
		env := map[string]string{"WECHAT_TOKEN": "prodtoken", "WECHAT_APPID": "wx1"}
		env[name] = value
		_, err := loadConfig(envOf(env))
		if err == nil || !strings.Contains(err.Error(), name+": ") {
			t.Errorf("%s: %v, want an error naming it", name, err)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %q shows the secret", name, err)
		}
	}
}

// TestPhotoStoreConfig: the S3 variables are read with the photo store
// and refused without it, keys come in pairs, and an endpoint holding
// credentials is refused without showing them.
func TestPhotoStoreConfig(t *testing.T) {
	store := map[string]string{"GRIDBOT_PHOTO_STORE": "s3://office-photos/gridbot", "GRIDBOT_S3_ENDPOINT": "http://127.0.0.1:9000",
		"GRIDBOT_S3_ACCESS_KEY": "k", "GRIDBOT_S3_SECRET_KEY": "s", "GRIDBOT_S3_REGION": "cn-east-1"}
	c, err := loadConfig(envOf(store))
	if err != nil || c.PhotoStore != "s3://office-photos/gridbot" || c.S3Endpoint != "http://127.0.0.1:9000" || c.S3AccessKey != "k" || c.S3Secret != "s" || c.S3Region != "cn-east-1" {
		t.Fatalf("loadConfig = %+v, %v", c, err)
	}
	if c, err := loadConfig(envOf(nil)); err != nil || c.PhotoStore != "" || c.S3Endpoint != "https://s3.amazonaws.com" {
		t.Errorf("defaults: store %q, endpoint %q, %v", c.PhotoStore, c.S3Endpoint, err)
	}
	for _, tc := range []struct {
		name     string
		change   map[string]string
		want     string
		notShown string
	}{
		{"keys without a store", map[string]string{"GRIDBOT_PHOTO_STORE": ""}, "GRIDBOT_PHOTO_STORE: is empty", ""},
		{"access key alone", map[string]string{"GRIDBOT_S3_SECRET_KEY": ""}, "GRIDBOT_S3_ACCESS_KEY: and GRIDBOT_S3_SECRET_KEY", ""},
		{"not s3", map[string]string{"GRIDBOT_PHOTO_STORE": "https://office-photos"}, "GRIDBOT_PHOTO_STORE: want s3://bucket", ""},
		{"bad bucket", map[string]string{"GRIDBOT_PHOTO_STORE": "s3://Office_Photos"}, "GRIDBOT_PHOTO_STORE: bucket", ""},
		{"credentials in the store", map[string]string{"GRIDBOT_PHOTO_STORE": "s3://k:s3cret@office-photos"}, "GRIDBOT_PHOTO_STORE: want", "s3cret"},
		{"endpoint with a path", map[string]string{"GRIDBOT_S3_ENDPOINT": "http://127.0.0.1:9000/bucket"}, "GRIDBOT_S3_ENDPOINT: \"http", ""},
		{"credentials in the endpoint", map[string]string{"GRIDBOT_S3_ENDPOINT": "https://k:s3cret@s3.example"}, "GRIDBOT_S3_ENDPOINT: must not hold credentials", "s3cret"},
	} {
		env := maps.Clone(store)
		maps.Copy(env, tc.change)
		_, err := loadConfig(envOf(env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		} else if tc.notShown != "" && strings.Contains(err.Error(), tc.notShown) {
			t.Errorf("%s: error %q shows the secret", tc.name, err)
		}
	}
}
