//go:build !linux

package host

// isProcfs: only Linux has the procfs a host scan reads.
func isProcfs(string) bool { return false }
