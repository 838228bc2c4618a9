package admin

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// The rule of an admin account's password: at least MinPasswordLen
// characters, and at most MaxPasswordLen bytes, which is all bcrypt reads
// (a longer password would be cut silently).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72
)

// CheckPassword tells whether pw may be an admin's password, saying the
// rule when it may not.
func CheckPassword(pw string) error {
	if len([]rune(pw)) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return fmt.Errorf("the password must have at least %d characters and at most %d bytes", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// HashPassword is how every admin password is stored: bcrypt, which
// SignIn.Open compares against.
func HashPassword(pw string) (string, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(hash), nil
}
