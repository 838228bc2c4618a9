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

// PasswordCost is bcrypt's work factor for the passwords HashPassword
// stores, and for the hash an unknown user's sign-in is compared against
// (so both take as long). Tests lower it to bcrypt.MinCost, where the race
// detector makes each comparison at the default take over a second;
// nothing else changes it.
var PasswordCost = defaultPasswordCost

const defaultPasswordCost = bcrypt.DefaultCost

// HashPassword is how every admin password is stored: bcrypt, which
// SignIn.Open compares against.
func HashPassword(pw string) (string, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), PasswordCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(hash), nil
}
