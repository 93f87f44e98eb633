//go:build !linux

package fips

func pseudoFS(string) bool { return false }
