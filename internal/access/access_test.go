package access

import (
	"strings"
	"testing"
	"time"
)

// TestKeyFormat: a new key parses back to its id, its hash is what the
// store keeps, and malformed keys are refused whatever their shape.
func TestKeyFormat(t *testing.T) {
	plain, k, hash, err := NewKey("  care-team-app ", "predict", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "care-team-app" || k.Role != "predict" || k.RevokedAt != nil {
		t.Errorf("key record %+v", k)
	}
	id, secret, ok := ParseKey(plain)
	if !ok || id != k.ID || string(HashSecret(secret)) != string(hash) {
		t.Fatalf("ParseKey(%q) = %q, %v", plain, id, ok)
	}
	if strings.Contains(string(hash), secret) {
		t.Error("the hash holds the secret")
	}
	other, _, _, _ := NewKey("x", "admin", time.Now())
	if other == plain {
		t.Error("two keys are equal")
	}
	for _, bad := range []string{"", plain[:len(plain)-1], plain + "0", "xx" + plain[2:], strings.ToUpper(plain),
		plain[:15] + "-" + plain[16:], "cs_" + strings.Repeat("g", 12) + "_" + strings.Repeat("0", 64)} {
		if _, _, ok := ParseKey(bad); ok {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	for _, c := range []struct{ name, role string }{{"", "admin"}, {strings.Repeat("n", 101), "admin"}, {"ok", "root"}, {"ok", ""}} {
		if _, _, _, err := NewKey(c.name, c.role, time.Now()); err == nil {
			t.Errorf("NewKey(%q, %q) accepted", c.name, c.role)
		}
	}
}
