package mysqltest

import "testing"

func TestStart(t *testing.T) {
	s := Start(t)
	if !s.CanLogin(s.User, s.Password) {
		t.Fatal("admin cannot log in")
	}
	if s.CanLogin(s.User, "wrong") {
		t.Fatal("a wrong password logs in")
	}
}
