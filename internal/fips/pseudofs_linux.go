package fips

import (
	"os"

	"golang.org/x/sys/unix"
)

// Filesystems that hold no binaries but can be huge or endless to walk.
var pseudoFSMagic = map[int64]bool{
	0x9fa0:     true, // proc
	0x62656572: true, // sysfs
	0x27e0eb:   true, // cgroup
	0x63677270: true, // cgroup2
	0x64626720: true, // debugfs
	0x74726163: true, // tracefs
	0x73636673: true, // securityfs
	0x1cd1:     true, // devpts
	0xf97cff8c: true, // selinuxfs
	0x6e736673: true, // nsfs
	0xcafe4a11: true, // bpf
}

// pseudoFSDir reports whether the open directory d is on a kernel pseudo
// filesystem (/proc, /sys…), which a walk of / must not descend into.
func pseudoFSDir(d *os.File) bool {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(d.Fd()), &st); err != nil {
		return false
	}
	return pseudoFSMagic[int64(st.Type)]
}
