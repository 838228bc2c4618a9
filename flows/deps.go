package flows

import "time"

// Deps are what the engine needs from the outside world.
type Deps struct {
	Store Store
	// Records saves reports and activities; without it those flows say
	// they are unavailable.
	Records RecordStore
	// Reviews serves the review of logged hours (SPEC §11); without it
	// 审核 says it is unavailable.
	Reviews ReviewStore
	// Projects serves volunteer projects (SPEC §10); without it 报名,
	// 取消报名, 签到 and 签退 say they are unavailable.
	Projects ProjectStore
	// Handling serves 处置 and the nearby check (SPEC §15); optional.
	Handling HandlingStore
	// Pairings serves 结对 (SPEC §14); without it 结对 says it is
	// unavailable.
	Pairings PairingStore
	// Certificates (SPEC §12) and SignOffs (§13) serve 证明 and 签发;
	// without them those say they are unavailable.
	Certificates *Certifier
	SignOffs     SignOffStore
	Sessions     SessionStore
	// CodeGuesses counts a member's wrong check-in codes of a project
	// (SPEC §10: the code proves presence), so four digits cannot be
	// guessed by trying them all; nil counts nothing.
	CodeGuesses Guesses
	// Now returns the current time; the engine converts it to Loc.
	Now func() time.Time
	// Loc is the office's time zone.
	Loc *time.Location
}

// Guesses limits the wrong guesses of a secret by key, shared by every
// instance (bot/admin's login limiters implement it). Begin reserves a
// guess, false once the key's recent failures reach the limit; every true
// Begin is ended by Fail (wrong), Reset (right: forget the failures) or
// End (neither).
type Guesses interface {
	Begin(key string) bool
	Fail(key string)
	Reset(key string)
	End(key string)
}

// Stores is what flows read and write through.
type Stores struct {
	Store
	RecordStore
	// Reviews is nil when the engine has no ReviewStore.
	Reviews ReviewStore
	// Projects is nil when the engine has no ProjectStore.
	Projects ProjectStore
	// Handling is nil when the engine has no HandlingStore.
	Handling HandlingStore
	// Pairings is nil when the engine has no PairingStore.
	Pairings PairingStore
	// Certificates and SignOffs are nil when the engine has none.
	Certificates *Certifier
	SignOffs     SignOffStore
}

// Facts are data loaded for the steps by a flow's Load.
type Facts struct {
	DayRecords    []ServiceRecord
	DayActivities []Activity
	UnitGrids     []Grid
	// Pending is the record under review and PendingLeft how many wait.
	Pending     *ServiceRecord
	PendingLeft int
	// Offers are the projects a project flow offers; Signups the
	// member's own sign-ups.
	Offers  []Project
	Signups []MemberSignup
	// ToHandle: the unit's open reports (处置); Nearby: one near the draft.
	ToHandle []Report
	Nearby   *Report
	// Pairs are the member's active pairings (结对).
	Pairs []MemberPairing
}
