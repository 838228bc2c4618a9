package flows

import "testing"

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
		{"张三", "张*"}, {"王建国", "王**"}, {"李", "李*"}, {" 欧阳娜娜 ", "欧***"}, {"", ""},
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
