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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.ProcessEnv())
	stop()
	os.Exit(code)
}
