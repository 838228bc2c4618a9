package main

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"gridbot/bot/admin"
)

// TestMain hashes admin passwords at bcrypt's lowest cost: under the race
// detector each sign-in at the default cost takes over a second, and the
// package signs in many times. The cost is asserted where it is defined
// (TestPasswordCostDefault in bot/admin).
func TestMain(m *testing.M) {
	admin.PasswordCost = bcrypt.MinCost
	os.Exit(m.Run())
}
