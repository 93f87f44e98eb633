// Command kensa inspects a platform before and after a change: the FIPS
// posture of binaries and images, certificate renewals, and egress firewall
// logs. See "kensa --help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kensa-project/kensa/internal/cli"
)

func main() { os.Exit(run()) }

// run runs kensa with the process's arguments and returns its exit code.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Main(ctx, os.Args[1:], cli.ProcessEnv())
}
