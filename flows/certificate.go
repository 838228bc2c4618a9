package flows

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CertificateTTL is how long a certificate link sent in chat is valid
// (SPEC §12).
const CertificateTTL = 7 * 24 * time.Hour

// DefaultOfficeName is the issuer of certificates and the office on
// printed forms when GRIDBOT_OFFICE_NAME is not set.
const DefaultOfficeName = "创建文明城市工作领导小组办公室"

// SelfRegistered is what a certificate's table shows for a record that
// came from no volunteer project.
const SelfRegistered = "自主登记"

// CertificateLine is one confirmed service record as a certificate lists it.
type CertificateLine struct {
	Date     Date   `json:"date"`
	Minutes  int    `json:"minutes"`
	Category string `json:"category"`
	Content  string `json:"content"`
	// Project is the record's project code, SelfRegistered when none.
	Project string `json:"project"`
}

// Certificate is a 志愿服务记录证明 as issued (SPEC §12): what it showed is
// kept, so later records change nothing of it.
type Certificate struct {
	ID int64
	// Number is ZM-YYYY-NNNNNN, unique; the year is the issue's (office time).
	Number   string
	MemberID int64
	Name     string
	Unit     string
	// Phone is the member's mobile, masked (138****8001): the full number
	// is never stored with a certificate.
	Phone    string
	Minutes  int
	Sessions int
	// First and Last are the dates of the first and last confirmed
	// record; zero when there is none.
	First, Last Date
	Lines       []CertificateLine
	Issuer      string
	// IssuedBy is who asked for it: "本人" from the chat, "管理员 NAME".
	IssuedBy string
	IssuedAt time.Time
}

// CertificateNumber formats a certificate's number.
func CertificateNumber(year, seq int) string { return fmt.Sprintf("ZM-%04d-%06d", year, seq) }

// CertificateRequest asks the store to issue a certificate of a member's
// confirmed records and a link to it.
type CertificateRequest struct {
	MemberID int64
	Issuer   string
	IssuedBy string
	// TokenHash is TokenHash of the link's token; Expires when it ends.
	TokenHash string
	Expires   time.Time
	// Loc is the office time zone the number's year is taken in.
	Loc *time.Location
	// FormKey, when set, is the key (FormKeyOf) of the console form that
	// asks: a second request with it issues nothing and returns the
	// certificate the first issued with ErrAlreadyCreated.
	FormKey string
}

// CertificateStore keeps certificates and their links. store/sqldb
// implements it.
type CertificateStore interface {
	// IssueCertificate snapshots the member's confirmed records, numbers
	// the certificate (unique under concurrency) and stores it with its
	// link, in one transaction. ErrNotFound for an unknown member. A
	// request whose FormKey issued one before returns that one with
	// ErrAlreadyCreated, given the request's link as well, or
	// ErrFormKeyReused when it is another member's.
	IssueCertificate(ctx context.Context, req CertificateRequest) (Certificate, error)
	// CertificateByToken returns the certificate of a link whose token
	// hashes to tokenHash and that has not expired at now; ErrNotFound
	// otherwise (unknown and expired alike).
	CertificateByToken(ctx context.Context, tokenHash string, now time.Time) (Certificate, error)
	// CertificateByNumber returns a certificate as issued, or ErrNotFound.
	CertificateByNumber(ctx context.Context, number string) (Certificate, error)
	// MemberCertificates lists a member's certificates, newest first.
	MemberCertificates(ctx context.Context, memberID int64) ([]Certificate, error)
}

// NewToken returns a random link token (128 bits, URL-safe) and its hash,
// which is all the store keeps.
func NewToken() (token, hash string) {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, TokenHash(token)
}

// TokenHash is the hex SHA-256 of a link token.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// CertificatePhone is the number a certificate shows: a mobile masked as
// MaskPhone does (138****8001), any other number all but its last 4
// characters, so the full number is never on a certificate.
func CertificatePhone(phone string) string {
	if m := MaskPhone(phone); m != phone || phone == "" {
		return m
	}
	r := []rune(phone)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}

// compoundSurnames are the two-character family names in common use
// (复姓): MaskName keeps both characters of them.
var compoundSurnames = []string{
	"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
	"宇文", "司徒", "司空", "夏侯", "令狐", "端木", "轩辕", "独孤", "南宫", "西门",
	"百里", "呼延", "万俟", "闻人", "澹台", "公冶", "太史", "申屠", "钟离", "宗政",
}

// MaskName keeps the family name (the first character, or the first two
// of a compound surname) and masks the rest: 张三 → 张*, 欧阳娜娜 → 欧阳**.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return ""
	}
	keep := 1
	if len(r) > 2 && slices.Contains(compoundSurnames, string(r[:2])) {
		keep = 2
	}
	return string(r[:keep]) + strings.Repeat("*", max(1, len(r)-keep))
}

// Certifier issues certificates for the chat, the admin API and the
// console alike.
type Certifier struct {
	Store CertificateStore
	// PublicURL is the server's public base URL (GRIDBOT_PUBLIC_URL),
	// without a trailing slash; Office the issuer (GRIDBOT_OFFICE_NAME).
	PublicURL string
	Office    string
	Loc       *time.Location
	Now       func() time.Time
}

// Issue issues a certificate of member's confirmed records, asked for by
// by, and returns it with its link (valid CertificateTTL).
func (c *Certifier) Issue(ctx context.Context, memberID int64, by string) (Certificate, string, error) {
	return c.IssueOnce(ctx, memberID, by, "")
}

// IssueOnce is Issue for the form of key formKey ("" for none): the form
// sent again returns the certificate it issued, with a new link to it
// (links are kept only as their tokens' hashes, so the first cannot be
// given again; it stays valid) and ErrAlreadyCreated; ErrFormKeyReused
// when the key issued another member's.
func (c *Certifier) IssueOnce(ctx context.Context, memberID int64, by, formKey string) (Certificate, string, error) {
	if c == nil || c.Store == nil {
		return Certificate{}, "", errors.New("certificates: not configured")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	token, hash := NewToken()
	office := c.Office
	if office == "" {
		office = DefaultOfficeName
	}
	cert, err := c.Store.IssueCertificate(ctx, CertificateRequest{
		MemberID: memberID, Issuer: office, IssuedBy: by,
		TokenHash: hash, Expires: now().Add(CertificateTTL), Loc: c.Loc, FormKey: formKey,
	})
	if errors.Is(err, ErrAlreadyCreated) {
		return cert, c.LinkURL(token), err
	}
	if err != nil {
		return cert, "", err
	}
	return cert, c.LinkURL(token), nil
}

// LinkURL is the certificate page of a token.
func (c *Certifier) LinkURL(token string) string { return c.PublicURL + "/c/" + token }

// LinkToken is the token of a certificate page LinkURL made; false for
// any other URL.
func (c *Certifier) LinkToken(link string) (string, bool) {
	token, ok := strings.CutPrefix(link, c.LinkURL(""))
	return token, ok && token != ""
}

// VerifyURL is the public verification page of a number.
func (c *Certifier) VerifyURL(number string) string { return c.PublicURL + "/verify/" + number }

// myCertificate answers 证明: the member's confirmed totals and a link to
// a certificate issued now.
func myCertificate(ctx context.Context, st Stores, env *Env) (string, error) {
	cert, url, err := st.Certificates.Issue(ctx, env.Member.ID, "本人")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s（%s）经单位确认的志愿服务：%s小时，%d次。\n", cert.Name, cert.Unit, Hours(cert.Minutes), cert.Sessions)
	if cert.Sessions == 0 {
		b.WriteString("暂无已确认的服务记录（待审核、已退回的记录不列入证明）。\n")
	}
	fmt.Fprintf(&b, "志愿服务记录证明（编号 %s）：\n%s\n链接%d天内有效，可打印；他人可凭编号在证明上的网址核验。", cert.Number, url, int(CertificateTTL.Hours()/24))
	return b.String(), nil
}
