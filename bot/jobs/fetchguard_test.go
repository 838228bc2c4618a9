package jobs

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	refusedAddrs := map[string]string{
		"127.0.0.1":              "loopback",
		"127.8.9.10":             "loopback",
		"::1":                    "loopback",
		"::ffff:127.0.0.1":       "loopback",
		"10.1.2.3":               "private",
		"172.16.0.1":             "private",
		"172.31.255.254":         "private",
		"192.168.1.1":            "private",
		"::ffff:10.0.0.1":        "private",
		"fc00::1":                "private",
		"fd12:3456::1":           "private",
		"169.254.169.254":        "link-local",
		"::ffff:169.254.169.254": "link-local",
		"fe80::1":                "link-local",
		"fe80::1%eth0":           "link-local",
		"0.0.0.0":                "unspecified",
		"::":                     "unspecified",
		"0.1.2.3":                "this network",
		"100.64.0.1":             "shared address space",
		"100.127.255.254":        "shared address space",
		"192.0.0.8":              "IETF protocol assignment",
		"192.0.2.1":              "documentation",
		"198.18.0.1":             "benchmarking",
		"224.0.0.1":              "link-local",
		"ff02::1":                "link-local",
		"239.1.2.3":              "multicast",
		"ff05::1":                "multicast",
		"240.0.0.1":              "reserved",
		"255.255.255.255":        "reserved",
		"::7f00:1":               "IPv4-compatible",
		"64:ff9b::7f00:1":        "NAT64",
		"2002:7f00:1::1":         "6to4",
		"2001:0:4136:e378::1":    "Teredo",
		"fec0::1":                "site-local",
		"2001:db8::1":            "documentation",
	}
	for addr, kind := range refusedAddrs {
		err := checkAddr(netip.MustParseAddr(addr))
		var re *RefusedError
		if !errors.As(err, &re) || !strings.Contains(re.Reason, kind) {
			t.Errorf("checkAddr(%s) = %v, want refused as %s", addr, err, kind)
		}
	}
	for _, addr := range []string{"1.1.1.1", "183.3.226.35", "100.63.255.255", "100.128.0.1", "172.32.0.1", "2408:8000::1", "2a00:1450:4001::1", "::ffff:8.8.8.8"} {
		if err := checkAddr(netip.MustParseAddr(addr)); err != nil {
			t.Errorf("checkAddr(%s) = %v, want allowed", addr, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	fake, err := newFetchGuard("http://127.0.0.1:8080/dev/wechat-api", wechat.DefaultAPIBase, nil)
	if err != nil {
		t.Fatal(err)
	}
	real, err := newFetchGuard(wechat.DefaultAPIBase, wechat.DefaultAPIBase, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		g       *fetchGuard
		raw     string
		allowed bool
	}{
		{fake, "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0", true},
		{fake, "https://MMBIZ.QPIC.CN/x", true},
		{fake, "http://mmbiz.qpic.cn./x", true},
		{fake, "https://wx.qlogo.weixin.qq.com/x", true},
		{fake, "https://res.wx.qq.com/x", true},
		{fake, "http://127.0.0.1:8080/dev/wechat-api/pic/1", true},
		{fake, "http://127.0.0.1:8080/other", true}, // host and port, any path
		{fake, "http://127.0.0.1:8081/dev/wechat-api/pic/1", false},
		{fake, "http://127.0.0.1/dev/wechat-api/pic/1", false},
		{fake, "http://localhost:8080/dev/wechat-api/pic/1", false},
		{fake, "http://qpic.cn/x", false},
		{fake, "http://evilqpic.cn/x", false},
		{fake, "http://mmbiz.qpic.cn.evil.example/x", false},
		{fake, "http://10.0.0.1/x", false},
		{fake, "http://[::1]:8080/x", false},
		{fake, "ftp://mmbiz.qpic.cn/x", false},
		{fake, "file:///etc/passwd", false},
		{real, "https://api.weixin.qq.com/cgi-bin/media/get", true},
		{real, "http://mmbiz.qpic.cn/x", true},
		{real, "http://127.0.0.1:8080/x", false},
	} {
		u, err := url.Parse(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		err = tc.g.checkURL(u)
		var re *RefusedError
		if tc.allowed && err != nil || !tc.allowed && !errors.As(err, &re) {
			t.Errorf("checkURL(%s) with api host %q = %v, want allowed %v", tc.raw, tc.g.apiHost, err, tc.allowed)
		}
	}
}

// portOf is the port of a URL.
func portOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// resolveTo is a Resolver that answers every host with addr.
func resolveTo(addr string) Resolver {
	return func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr(addr)}, nil
	}
}

// fetchRefused saves a report with one photo, runs the jobs and waits
// until the photo's job is cancelled: the photo failed for good at the
// first attempt, the reason recorded. It returns the photo.
func fetchRefused(t *testing.T, db *sqldb.DB, deps Deps, p flows.Photo) flows.Photo {
	t.Helper()
	r := createReport(t, db, seedReporter(t, db), p)
	startRunner(t, db, deps)
	waitFor(t, "job cancelled", func() bool { return jobsIn(t, db, kindFetch, 1, rivertype.JobStateCancelled) })
	got, err := db.Photo(context.Background(), r.Photos[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != flows.PhotoFailed || !strings.Contains(got.LastError, "refused") {
		t.Errorf("photo %s, last error %q; want failed, refused", got.Status, got.LastError)
	}
	if j := jobsOf(t, db, kindFetch)[0]; j.Attempt != 1 {
		t.Errorf("job cancelled at attempt %d, want 1: a refused URL is not retried", j.Attempt)
	}
	return got
}

// A PicUrl on loopback that is not the API base is never requested: the
// photo (no media ID) fails for good at once, saying why.
func TestFetchRefusesLoopbackPicURL(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api, internal := newFakeAPI(t), newFakeAPI(t)
		internal.script(pathPic, serveImage("image/png", testPNG(t, 20)))
		p := fetchRefused(t, db, testDeps(t, db, api, &fakeTokens{}), flows.Photo{PicURL: internal.URL() + pathPic})
		if !strings.Contains(p.LastError, "not a WeChat media host") {
			t.Errorf("last error %q, want the host named", p.LastError)
		}
		if n := internal.total(); n != 0 {
			t.Errorf("the internal service got %d requests, want none", n)
		}
	})
}

// The API base is allowed, but not where it redirects: a redirect to
// another loopback port, or to a media host name that resolves to
// loopback, is refused before any request reaches it.
func TestFetchRefusesRedirectFromAPIBase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		target func(t *testing.T, internal *fakeAPI) string
	}{
		{"another loopback port", func(_ *testing.T, internal *fakeAPI) string { return internal.URL() + pathPic }},
		{"a media host on loopback", func(t *testing.T, internal *fakeAPI) string {
			return "http://mmbiz.qpic.cn:" + portOf(t, internal.URL()) + pathPic
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *sqldb.DB) {
				api, internal := newFakeAPI(t), newFakeAPI(t)
				internal.script(pathPic, serveImage("image/png", testPNG(t, 21)))
				target := tc.target(t, internal)
				api.script(pathPic, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
				deps := testDeps(t, db, api, &fakeTokens{})
				deps.Resolve = resolveTo("127.0.0.1")
				fetchRefused(t, db, deps, flows.Photo{PicURL: api.URL() + pathPic})
				if n := internal.total(); n != 0 {
					t.Errorf("the redirect target got %d requests, want none", n)
				}
				if n := len(api.callsTo(pathPic)); n != 1 {
					t.Errorf("the API base got %d PicUrl requests, want 1", n)
				}
			})
		})
	}
}

// A WeChat media host name is no pass: resolving to loopback or to a
// private address, it is refused at the dial, nothing requested.
func TestFetchRefusesMediaHostOnInternalAddress(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api, internal := newFakeAPI(t), newFakeAPI(t)
		internal.script(pathPic, serveImage("image/png", testPNG(t, 22)))
		deps := testDeps(t, db, api, &fakeTokens{})
		deps.Resolve = resolveTo("127.0.0.1")
		p := fetchRefused(t, db, deps, flows.Photo{PicURL: "http://mmbiz.qpic.cn:" + portOf(t, internal.URL()) + pathPic})
		if !strings.Contains(p.LastError, "loopback") {
			t.Errorf("last error %q, want the address named loopback", p.LastError)
		}
		if n := internal.total(); n != 0 {
			t.Errorf("the service behind the name got %d requests, want none", n)
		}
	})
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		deps := testDeps(t, db, newFakeAPI(t), &fakeTokens{})
		deps.Resolve = resolveTo("10.20.30.40")
		p := fetchRefused(t, db, deps, flows.Photo{PicURL: "https://mmbiz.qpic.cn/x.jpg"})
		if !strings.Contains(p.LastError, "10.20.30.40 is private") {
			t.Errorf("last error %q, want the address named private", p.LastError)
		}
	})
}

// A refused PicUrl does not stop a media ID that may work: media/get is
// retried (a transient error) and stores the photo; only an invalid media
// ID (40007) with a refused PicUrl fails the photo at once.
func TestFetchRefusedPicURLWithMediaID(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api, internal := newFakeAPI(t), newFakeAPI(t)
		img := testPNG(t, 23)
		api.script(pathMedia, errcode(-1, "application/json"), serveImage("image/png", img))
		r := createReport(t, db, seedReporter(t, db), flows.Photo{MediaID: "m-23", PicURL: internal.URL() + pathPic})
		startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		waitFor(t, "photo stored", func() bool { return photoIs(t, db, r.Photos[0].ID, flows.PhotoStored) })
		wantStored(t, db, r.Photos[0].ID, "image/png", img)
		if n := internal.total(); n != 0 {
			t.Errorf("the refused PicUrl got %d requests, want none", n)
		}
	})
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api, internal := newFakeAPI(t), newFakeAPI(t)
		api.script(pathMedia, errcode(40007, "application/json"))
		p := fetchRefused(t, db, testDeps(t, db, api, &fakeTokens{}), flows.Photo{MediaID: "m-bad", PicURL: internal.URL() + pathPic})
		if !strings.Contains(p.LastError, "40007") {
			t.Errorf("last error %q, want media/get's errcode too", p.LastError)
		}
		if n := internal.total(); n != 0 {
			t.Errorf("the refused PicUrl got %d requests, want none", n)
		}
	})
}

// What the API base serves, redirects within it included, is fetched.
func TestFetchFollowsRedirectWithinAPIBase(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		img := testPNG(t, 24)
		api.script(pathPic, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, api.URL()+"/pic/2.jpg", http.StatusFound)
		})
		api.script("/pic/2.jpg", serveImage("image/png", img))
		r := createReport(t, db, seedReporter(t, db), flows.Photo{PicURL: api.URL() + pathPic})
		startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		waitFor(t, "photo stored", func() bool { return photoIs(t, db, r.Photos[0].ID, flows.PhotoStored) })
		wantStored(t, db, r.Photos[0].ID, "image/png", img)
	})
}

// media/get is the API base's, as configured, but a redirect it answers
// with is not followed: the attempt fails (and is retried), the target
// never asked.
func TestMediaGetFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api, internal := newFakeAPI(t), newFakeAPI(t)
		target := internal.URL() + pathMedia
		api.script(pathMedia, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
		r := createReport(t, db, seedReporter(t, db), flows.Photo{MediaID: "m-30"})
		startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		waitFor(t, "two failed attempts", func() bool {
			p, err := db.Photo(context.Background(), r.Photos[0].ID)
			return err == nil && p.Attempts >= 2
		})
		p, err := db.Photo(context.Background(), r.Photos[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != flows.PhotoPending || !strings.Contains(p.LastError, "302") {
			t.Errorf("photo %s, last error %q; want pending, HTTP 302", p.Status, p.LastError)
		}
		if n := internal.total(); n != 0 {
			t.Errorf("the redirect target got %d requests, want none", n)
		}
	})
}
