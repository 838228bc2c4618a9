package session

import (
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"

	"gridbot/store/testenv"
)

var (
	_ cache.Cache        = (*TokenCache)(nil)
	_ cache.ContextCache = (*TokenCache)(nil)
)

func newTestTokenCache(t *testing.T) (*TokenCache, string) {
	c := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, c)
	return NewTokenCache(c, prefix), prefix
}

func TestTokenCache(t *testing.T) {
	t.Parallel()
	tc, prefix := newTestTokenCache(t)
	key := "gowechat_officialaccount_access_token_wx123"

	if got := tc.Get(key); got != nil {
		t.Errorf("Get missing = %#v, want nil", got)
	}
	if tc.IsExist(key) {
		t.Error("IsExist missing = true")
	}
	if err := tc.Set(key, "TOKEN", time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, ok := tc.Get(key).(string); !ok || got != "TOKEN" {
		t.Errorf("Get = %#v, want string TOKEN", tc.Get(key))
	}
	if !tc.IsExist(key) {
		t.Error("IsExist = false after Set")
	}

	// Another instance sees the same token, under the prefix.
	other := NewTokenCache(testenv.Redis(t), prefix)
	if got := other.Get(key); got != "TOKEN" {
		t.Errorf("other instance Get = %#v, want TOKEN", got)
	}

	if err := tc.Delete(key); err != nil {
		t.Fatal(err)
	}
	if got := tc.Get(key); got != nil {
		t.Errorf("Get after Delete = %#v, want nil", got)
	}
	if tc.IsExist(key) {
		t.Error("IsExist after Delete = true")
	}
}

func TestTokenCacheContext(t *testing.T) {
	t.Parallel()
	tc, _ := newTestTokenCache(t)
	ctx := t.Context()
	// Through the SDK's helpers, as its token code calls them.
	if err := cache.SetContext(ctx, tc, "k", []byte("TICKET"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := cache.GetContext(ctx, tc, "k"); got != "TICKET" {
		t.Errorf("GetContext = %#v, want TICKET", got)
	}
	if !cache.IsExistContext(ctx, tc, "k") {
		t.Error("IsExistContext = false")
	}
	if err := cache.DeleteContext(ctx, tc, "k"); err != nil {
		t.Fatal(err)
	}
	if got := cache.GetContext(ctx, tc, "k"); got != nil {
		t.Errorf("GetContext after delete = %#v, want nil", got)
	}
	if err := tc.SetContext(ctx, "k", 42, time.Hour); err == nil {
		t.Error("Set of an int: no error")
	}
}

func TestTokenCacheExpiry(t *testing.T) {
	t.Parallel()
	tc, _ := newTestTokenCache(t)
	start := time.Now()
	if err := tc.Set("short", "TOKEN", shortTTL); err != nil {
		t.Fatal(err)
	}
	if err := tc.Set("forever", "TOKEN", 0); err != nil {
		t.Fatal(err)
	}
	if err := tc.Set("gone", "TOKEN", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := tc.Set("gone", "TOKEN", -time.Second); err != nil {
		t.Fatal(err)
	}
	if got := tc.Get("gone"); got != nil {
		t.Errorf("Get after negative timeout = %#v, want nil", got)
	}
	if got := tc.Get("short"); got != "TOKEN" && time.Since(start) < shortTTL {
		t.Errorf("Get before expiry = %#v, want TOKEN", got)
	}
	time.Sleep(pastShort)
	if got := tc.Get("short"); got != nil {
		t.Errorf("Get after expiry = %#v, want nil", got)
	}
	if tc.IsExist("short") {
		t.Error("IsExist after expiry = true")
	}
	if got := tc.Get("forever"); got != "TOKEN" {
		t.Errorf("Get of timeout 0 = %#v, want TOKEN", got)
	}
}
