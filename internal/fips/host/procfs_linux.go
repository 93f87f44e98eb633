package host

import "syscall"

// isProcfs says whether dir is a mounted procfs (PROC_SUPER_MAGIC), where
// /proc/PID/exe opens the running file, rather than a copy of one.
func isProcfs(dir string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(dir, &st) == nil && st.Type == 0x9fa0
}
