//go:build !linux

package main

// harden is a no-op where hush has no portable way to refuse core dumps;
// the README's security section says so.
func harden() {}

func unharden() {}
