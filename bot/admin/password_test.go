package admin

import (
	"golang.org/x/crypto/bcrypt"

	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// oneAdmin is an Accounts holding a single admin and the sessions opened.
type oneAdmin struct {
	admin    flows.Admin
	sessions int
}

func (o *oneAdmin) AdminByUsername(_ context.Context, username string) (flows.Admin, error) {
	if username != o.admin.Username {
		return flows.Admin{}, flows.ErrNotFound
	}
	return o.admin, nil
}

func (o *oneAdmin) CreateSession(context.Context, string, int64, time.Time) error {
	o.sessions++
	return nil
}

func (o *oneAdmin) SessionAdmin(context.Context, string) (flows.Admin, error) {
	return flows.Admin{}, flows.ErrNotFound
}

func (o *oneAdmin) DeleteSession(context.Context, string) error { return nil }

// TestPasswordRule: 8 characters (not bytes) at least, 72 bytes at most.
func TestPasswordRule(t *testing.T) {
	for pw, ok := range map[string]bool{
		"":                      false,
		"seven-7":               false,
		"eight-88":              true,
		"八个汉字的密码吧":              true, // 8 characters, 24 bytes
		"七个汉字的密码":               false,
		strings.Repeat("a", 72): true,
		strings.Repeat("a", 73): false,
		strings.Repeat("密", 24): true, // 72 bytes
		strings.Repeat("密", 25): false,
	} {
		err := CheckPassword(pw)
		if (err == nil) != ok {
			t.Errorf("CheckPassword(%q) = %v, want ok %v", pw, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "at least 8 characters and at most 72 bytes") {
			t.Errorf("CheckPassword(%q) = %q, want the rule said", pw, err)
		}
	}
}

// TestHashPasswordSignsIn: a password stored as HashPassword opens a
// session through SignIn, and no other password does.
func TestHashPasswordSignsIn(t *testing.T) {
	hash, err := HashPassword("office-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	if hash == "office-pass-1" || !strings.HasPrefix(hash, "$2") {
		t.Fatalf("hash %q is not bcrypt", hash)
	}
	accounts := &oneAdmin{admin: flows.Admin{ID: 1, Username: "boss", Role: flows.AdminOffice, PasswordHash: hash}}
	s := SignIn{Accounts: accounts, Limiter: NewMemoryLimiter(5, time.Minute, nil), TTL: time.Hour, Now: time.Now}
	if _, err := s.Open(context.Background(), "boss", "office-pass-2", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v, want ErrBadCredentials", err)
	}
	sess, err := s.Open(context.Background(), "boss", "office-pass-1", "192.0.2.1")
	if err != nil || sess.Admin.Username != "boss" || accounts.sessions != 1 {
		t.Fatalf("right password: %+v %v (%d sessions)", sess, err, accounts.sessions)
	}
}

// TestPasswordCostDefault: what serve stores is bcrypt's default cost;
// only the tests' TestMain lowers it.
func TestPasswordCostDefault(t *testing.T) {
	if defaultPasswordCost != bcrypt.DefaultCost || defaultPasswordCost < 10 {
		t.Errorf("default password cost %d, want bcrypt's default %d", defaultPasswordCost, bcrypt.DefaultCost)
	}
}
