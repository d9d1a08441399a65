// Command clnrest-demo runs clnrest against a simulated lightningd, so that
// anyone can try it without a node: `make demo`. It prints a fresh rune and
// ready-to-paste curl lines, sends a notification every few seconds for
// Socket.IO clients, and runs until Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
	"github.com/clnrest/clnrest/lnrpc"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clnrest-demo:", err)
		os.Exit(1)
	}
}

func run() error {
	pluginPath := flag.String("plugin", "bin/clnrest", "the clnrest binary to run")
	port := flag.Int("port", 3010, "clnrest-port")
	protocol := flag.String("protocol", "https", "clnrest-protocol")
	dir := flag.String("dir", "", "lightning dir to use (default: a new temporary one)")
	verbose := flag.Bool("v", false, "print lightningd's log lines")
	flag.Parse()

	bin, err := filepath.Abs(*pluginPath)
	if err != nil {
		return err
	}
	if _, err := exec.LookPath(bin); err != nil {
		return fmt.Errorf("no clnrest binary at %s (run make first): %w", bin, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := lightningdtest.NodeConfig{
		Binary:  bin,
		Dir:     *dir,
		Options: map[string]any{"clnrest-port": *port, "clnrest-protocol": *protocol},
	}
	if *verbose {
		cfg.Log = os.Stderr
	}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	node, err := lightningdtest.StartNode(startCtx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		node.Stop(ctx)
	}()
	if reason, disabled := node.Plugin.Disabled(); disabled {
		return errors.New("clnrest disabled itself: " + reason)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	line, err := node.Plugin.WaitForLog(waitCtx, regexp.MustCompile(`REST server running at \S+`))
	cancel()
	if err != nil {
		return fmt.Errorf("clnrest did not start: %w", err)
	}
	url := regexp.MustCompile(`https?://\S+`).FindString(line)
	rune, err := node.RPC.CreateRune()
	if err != nil {
		return err
	}
	readonly, err := node.RPC.CreateReadonlyRune()
	if err != nil {
		return err
	}
	printBanner(url, *protocol, node, rune, readonly)
	return tick(ctx, node)
}

func printBanner(url, protocol string, node *lightningdtest.Node, rune, readonly string) {
	cacert := ""
	if protocol == "https" {
		cacert = "--cacert " + filepath.Join(node.NetDir, "ca.pem") + " "
	}
	fmt.Printf(`
clnrest is running at %[1]s against a simulated lightningd.
  lightning dir:  %[2]s
  rune:           %[3]s
  readonly rune:  %[4]s

Try:
  curl %[5]s-X POST -H "Rune: %[3]s" %[1]s/v1/getinfo
  curl %[5]s-X POST -H "Rune: %[3]s" -H "Accept: application/yaml" -d amount_msat=1000 -d label=demo$RANDOM -d description=coffee %[1]s/v1/invoice
  curl %[5]s%[1]s/v1/list-methods
  Swagger UI: %[1]s/swagger-ui
  Socket.IO:  connect to %[1]s with header rune: %[4]s (an invoice_creation
              notification arrives with each invoice; a demo one every 10 s)

Ctrl-C stops it.
`, url, node.Dir, rune, readonly, cacert)
}

// tick creates an invoice every 10 s so that Socket.IO clients see
// invoice_creation notifications, until ctx ends.
func tick(ctx context.Context, node *lightningdtest.Node) error {
	cli := lnrpc.New(node.RPC.SocketPath(), lnrpc.Config{})
	defer cli.Close()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			fmt.Println("\nstopping")
			return nil
		case <-t.C:
			params := fmt.Sprintf(`{"amount_msat":%d,"label":"demo-tick-%d-%d","description":"demo"}`, 1000*i, time.Now().Unix(), i)
			if _, err := cli.Call(ctx, "invoice", []byte(params)); err != nil && ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "demo invoice:", err)
			}
		}
	}
}
