package flows

// Access rules of the personal record, certificates and sign-offs (SPEC
// §12, §13), in the style of access.go.

// Resources of the personal record and the sign-off.
const (
	// ResourceCertificate is a member's certificate to issue, or their
	// personal record.
	ResourceCertificate Resource = "certificate"
	// ResourceSubmission is a unit's sign-off, or its monthly packet.
	ResourceSubmission Resource = "submission"
)

// CanIssueCertificate reports whether the admin may see member m's
// personal record and issue them a certificate: their unit's admin or
// the office.
func (a Admin) CanIssueCertificate(m Member) bool { return a.CanSeeUnit(m.UnitID) }

// CanSeeSubmission reports whether the admin may see a unit's sign-off
// and print its monthly packet.
func (a Admin) CanSeeSubmission(unitID int64) bool { return a.CanSeeUnit(unitID) }

// SubmissionRows keeps the rows of the sign-off table the admin may see:
// all for the office, a unit admin's own row only.
func (a Admin) SubmissionRows(subs []Submission) []Submission {
	out := []Submission{}
	for _, s := range subs {
		if a.CanSeeSubmission(s.UnitID) {
			out = append(out, s)
		}
	}
	return out
}

// IssuedBy is how a certificate names the admin who issued it.
func (a Admin) IssuedBy() string { return "管理员 " + a.Username }
