package jobs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// MediaDomains are the domains of WeChat's media servers: a PicUrl is
// fetched only from a host under one of them (SPEC §3), or from the API
// base's own host and port when WECHAT_API_BASE names another API.
var MediaDomains = []string{"qpic.cn", "weixin.qq.com", "wx.qq.com"}

// maxRedirects is how many redirects one download follows.
const maxRedirects = 5

// Resolver looks up the addresses of a host name.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// RefusedError is a download the photo fetcher will not make: a URL
// outside WeChat's media hosts, or an address in loopback, private,
// link-local or other non-public space. It never works on a retry.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// fetchGuard decides where PicUrl downloads may go, on every request and
// redirect (checkURL) and again when connecting (dial), so neither a
// redirect nor a name that resolves somewhere else (DNS rebinding) gets
// round it. The one exception is the exact host and port of a non-default
// API base, which is dialled as configured: a fake API (tests, dev mode)
// serves PicUrls from it. (media/get, on the API base by construction,
// goes through apiClient.)
type fetchGuard struct {
	apiHost string // canonical "host:port" of a non-default API base, or ""
	resolve Resolver
	dialer  *net.Dialer // dials only public addresses (dialControl)
	direct  *net.Dialer // dials the API base
}

// newFetchGuard builds the guard of an API base (wechat.DefaultAPIBase,
// or another one that is then the exception). resolve nil means the
// system resolver.
func newFetchGuard(apiBase, defaultBase string, resolve Resolver) (*fetchGuard, error) {
	g := &fetchGuard{
		resolve: resolve,
		dialer:  &net.Dialer{Timeout: 10 * time.Second, Control: dialControl},
		direct:  &net.Dialer{Timeout: 10 * time.Second},
	}
	if g.resolve == nil {
		g.resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if strings.TrimRight(apiBase, "/") != strings.TrimRight(defaultBase, "/") {
		u, err := url.Parse(apiBase)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("api base %q: not a URL", apiBase)
		}
		g.apiHost = hostPort(u)
	}
	return g, nil
}

// hostPort is a URL's host, lower-case, with its port or the scheme's.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// checkURL refuses a URL that is not http(s) on a WeChat media host or the
// API base's host and port.
func (g *fetchGuard) checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return refused("scheme %q is not http(s)", u.Scheme)
	}
	if g.apiHost != "" && hostPort(u) == g.apiHost {
		return nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	for _, d := range MediaDomains {
		if strings.HasSuffix(host, "."+d) {
			return nil
		}
	}
	return refused("host %q is not a WeChat media host", host)
}

// apiClient is the client of media/get: the API base is configuration, not
// a user's message, so it is called as configured (an HTTP proxy from the
// environment included), but its answer must be the file: a redirect is
// not followed (an error, as any non-2xx status).
func apiClient() *http.Client {
	return &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// client is an HTTP client whose every request, redirect and connection
// the guard checks. It uses no proxy: the addresses it checks must be the
// ones it connects to.
func (g *fetchGuard) client() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = g.dial
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return g.checkURL(req.URL)
		},
	}
}

// dial connects to addr, the "host:port" of a request: the API base's as
// it resolves, any other only at a public address it resolves to.
func (g *fetchGuard) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if g.apiHost != "" && net.JoinHostPort(strings.ToLower(host), port) == g.apiHost {
		return g.direct.DialContext(ctx, network, addr)
	}
	ips := []netip.Addr{}
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = append(ips, ip)
	} else if ips, err = g.resolve(ctx, host); err != nil {
		return nil, err
	}
	var errs []error
	for _, ip := range ips {
		if err := checkAddr(ip); err != nil {
			errs = append(errs, err)
			continue
		}
		// The dialer's Control checks the address once more.
		conn, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	return nil, errors.Join(errs...)
}

// dialControl refuses a connection to an address checkAddr refuses.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refused("address %q unreadable", address)
	}
	return checkAddr(ap.Addr())
}

// nonPublic are the address blocks, beyond what netip.Addr's predicates
// name, that are no public unicast host: the special-purpose registries of
// IANA, and IPv6 blocks that embed an IPv4 address (which could be
// loopback or private behind a translator).
var nonPublic = func() map[string][]netip.Prefix {
	blocks := map[string][]string{
		"this network":             {"0.0.0.0/8"},
		"shared address space":     {"100.64.0.0/10"},
		"IETF protocol assignment": {"192.0.0.0/24"},
		"documentation":            {"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"},
		"benchmarking":             {"198.18.0.0/15", "2001:2::/48"},
		"reserved":                 {"240.0.0.0/4"},
		"IPv4-compatible":          {"::/96"},
		"NAT64":                    {"64:ff9b::/96", "64:ff9b:1::/48"},
		"discard":                  {"100::/64"},
		"Teredo":                   {"2001::/32"},
		"6to4":                     {"2002::/16"},
		"site-local":               {"fec0::/10"},
	}
	out := map[string][]netip.Prefix{}
	for name, ps := range blocks {
		for _, p := range ps {
			out[name] = append(out[name], netip.MustParsePrefix(p))
		}
	}
	return out
}()

// checkAddr refuses an address that is not public unicast: loopback,
// private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16,
// fe80::/10), unspecified (0.0.0.0, ::), multicast, broadcast, CGNAT and
// the other non-public blocks, IPv4-mapped IPv6 included.
func checkAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	var kind string
	switch {
	case !ip.IsValid():
		return refused("no address")
	case ip.IsLoopback():
		kind = "loopback"
	case ip.IsPrivate():
		kind = "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		kind = "link-local"
	case ip.IsUnspecified():
		kind = "unspecified"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		kind = "multicast"
	}
	for name, ps := range nonPublic {
		for _, p := range ps {
			if kind == "" && p.Contains(ip) {
				kind = name
			}
		}
	}
	if kind != "" {
		return refused("address %s is %s", ip, kind)
	}
	return nil
}
