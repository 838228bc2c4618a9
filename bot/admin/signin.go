package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"gridbot/flows"
)

// Sign-in outcomes other than success and internal errors.
var (
	// ErrLocked: the user or the client address failed too often lately.
	ErrLocked = errors.New("too many failed sign-ins")
	// ErrBadCredentials: unknown user or wrong password (never said which).
	ErrBadCredentials = errors.New("wrong username or password")
)

// SignIn checks passwords and opens sessions; the JSON API (bearer tokens)
// and the console (cookies) share it, so both store sessions alike and
// count failures together when they share the Limiter.
type SignIn struct {
	Accounts Accounts
	Limiter  Limiter
	TTL      time.Duration
	Now      func() time.Time
}

// Session is an opened session: the token the client keeps (only its
// HashToken is stored), its admin and its end.
type Session struct {
	Token   string
	Admin   flows.Admin
	Expires time.Time
}

// dummyHash is compared against when the user is unknown, so a sign-in
// takes as long for a wrong user as for a wrong password. Made once, on
// the first such sign-in.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := HashPassword("not a password of anyone")
	return []byte(h)
})

// Open checks username and password, limited per user and per client
// address, and opens a session. It returns ErrLocked, ErrBadCredentials or
// an internal error.
func (s SignIn) Open(ctx context.Context, username, password, addr string) (Session, error) {
	userKey, addrKey := "user:"+strings.ToLower(username), "addr:"+addr
	lim := s.Limiter
	if !lim.Begin(userKey) {
		return Session{}, ErrLocked
	}
	if !lim.Begin(addrKey) {
		lim.End(userKey)
		return Session{}, ErrLocked
	}
	// Every attempt ends once: failed, succeeded (the user's failures are
	// forgotten, the address's kept) or neither (an internal error).
	failed, ok := false, false
	defer func() {
		switch {
		case failed:
			lim.Fail(userKey)
			lim.Fail(addrKey)
		case ok:
			lim.Reset(userKey)
			lim.End(addrKey)
		default:
			lim.End(userKey)
			lim.End(addrKey)
		}
	}()
	adm, err := s.Accounts.AdminByUsername(ctx, username)
	hash := []byte(adm.PasswordHash)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		hash = dummyHash()
	case err != nil:
		return Session{}, err
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || adm.ID == 0 {
		failed = true
		return Session{}, ErrBadCredentials
	}
	token, err := NewToken()
	if err != nil {
		return Session{}, err
	}
	expires := s.Now().Add(s.TTL)
	if err := s.Accounts.CreateSession(ctx, HashToken(token), adm.ID, expires); err != nil {
		return Session{}, err
	}
	ok = true
	return Session{Token: token, Admin: adm, Expires: expires}, nil
}

// HashToken is how a session token is stored: hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken is 32 random bytes, hex.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
