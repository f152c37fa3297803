// Package arch holds no code: its test keeps the import direction of the
// whole module (ARCHITECTURE.md) as a rule that fails the build, the way
// restic's depguard does.
package arch
