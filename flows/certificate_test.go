package flows

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestMasks(t *testing.T) {
	for _, tc := range []struct{ in, phone string }{
		{"13800138001", "138****8001"},
		{"051487654321", "********4321"},
		{"1234", "****"},
		{"", ""},
	} {
		if got := CertificatePhone(tc.in); got != tc.phone {
			t.Errorf("CertificatePhone(%q) = %q, want %q", tc.in, got, tc.phone)
		}
	}
	for _, tc := range []struct{ in, name string }{
		{"张三", "张*"}, {"王建国", "王**"}, {"李", "李*"}, {" 欧阳娜娜 ", "欧阳**"}, {"司马光", "司马*"}, {"欧阳", "欧*"}, {"", ""},
	} {
		if got := MaskName(tc.in); got != tc.name {
			t.Errorf("MaskName(%q) = %q, want %q", tc.in, got, tc.name)
		}
	}
	if got := CertificateNumber(2026, 42); got != "ZM-2026-000042" {
		t.Errorf("CertificateNumber = %q", got)
	}
	token, hash := NewToken()
	if len(token) != 22 || TokenHash(token) != hash || len(hash) != 64 {
		t.Errorf("NewToken = %q, %q", token, hash)
	}
	if other, _ := NewToken(); other == token {
		t.Error("two tokens alike")
	}
}

// fakeCertificates issues certificates of a fixed total.
type fakeCertificates struct {
	issued []CertificateRequest
}

func (f *fakeCertificates) IssueCertificate(_ context.Context, req CertificateRequest) (Certificate, error) {
	f.issued = append(f.issued, req)
	return Certificate{Number: CertificateNumber(2026, len(f.issued)), MemberID: req.MemberID, Name: "张三", Unit: "市文明办", Minutes: 150, Sessions: 1}, nil
}

func (f *fakeCertificates) CertificateByToken(context.Context, string, time.Time) (Certificate, error) {
	return Certificate{}, ErrNotFound
}

func (f *fakeCertificates) CertificateByNumber(context.Context, string) (Certificate, error) {
	return Certificate{}, ErrNotFound
}

func (f *fakeCertificates) MemberCertificates(context.Context, int64) ([]Certificate, error) {
	return nil, nil
}

func TestCertificateFlow(t *testing.T) {
	h := newHarness(t)
	h.bind()
	// Without a public URL there is no link to send.
	h.expect("证明", "功能尚未开通")
	fc := &fakeCertificates{}
	cert := &Certifier{Store: fc, PublicURL: "https://gridbot.example.cn", Office: "区文明办", Loc: shanghai, Now: func() time.Time { return h.now }}
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Reviews: h.st, Certificates: cert, Sessions: h.ss, Now: func() time.Time { return h.now }, Loc: shanghai})
	got := h.send(Input{Kind: KindClick, Key: "MY_CERTIFICATE"})
	for _, want := range []string{"2.5小时，1次", "ZM-2026-000001", "https://gridbot.example.cn/c/", "7天内有效"} {
		if !strings.Contains(got, want) {
			t.Fatalf("MY_CERTIFICATE = %q, want %q", got, want)
		}
	}
	if len(fc.issued) != 1 || fc.issued[0].MemberID != h.member.ID || fc.issued[0].Issuer != "区文明办" ||
		!fc.issued[0].Expires.Equal(h.now.Add(CertificateTTL)) || len(fc.issued[0].TokenHash) != 64 {
		t.Fatalf("issued %+v", fc.issued)
	}
	token := got[strings.Index(got, "/c/")+3:][:22]
	if TokenHash(token) != fc.issued[0].TokenHash || strings.Contains(got, fc.issued[0].TokenHash) {
		t.Errorf("the link's token %q is not the one stored hashed", token)
	}
}
