package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployNginxSite: the nginx site of docs/deploy (rendered for
// loopback ports by scripts/nginx-local.sh, changing only addresses and
// certificate paths) passes nginx -t. nginx must be installed
// (scripts/test.sh installs it, as deploy-check.sh does): no skip.
func TestDeployNginxSite(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			t.Fatal("nginx not found: apt-get install -y nginx (scripts/test.sh does)")
		}
		nginx = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	render := exec.Command("bash", filepath.Join("..", "..", "scripts", "nginx-local.sh"), dir, "18080", "18443", "127.0.0.1:18081", "127.0.0.1:18082")
	if out, err := render.CombinedOutput(); err != nil {
		t.Fatalf("nginx-local.sh: %v\n%s", err, out)
	}
	out, err := exec.Command(nginx, "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") || strings.Contains(string(out), "[warn]") {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	site, err := os.ReadFile(filepath.Join(dir, "gridbot.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"proxy_set_header X-Forwarded-For $remote_addr;", "proxy_set_header X-Forwarded-Proto $scheme;",
		"server 127.0.0.1:18081 ", "server 127.0.0.1:18082 ", "ssl_certificate "} {
		if !bytes.Contains(site, []byte(want)) {
			t.Errorf("rendered site lacks %q", want)
		}
	}
}

// TestDeploySystemdUnit: systemd-analyze verify finds nothing to say about
// docs/deploy/gridbot@.service (on machines with systemd-analyze; the
// binary path is pointed at one that exists here, as verify checks it).
func TestDeploySystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not on this machine")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy", "gridbot@.service"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("ExecStart=/usr/local/bin/gridbot serve")) {
		t.Fatal("the unit's ExecStart is not /usr/local/bin/gridbot serve")
	}
	unit = bytes.Replace(unit, []byte("/usr/local/bin/gridbot"), []byte(exe), 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gridbot@.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", filepath.Join(dir, "gridbot@8080.service"))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
