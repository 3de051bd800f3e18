package chaos

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// bin is the coattail binary TestMain builds; the suite runs it as operators do.
var bin string

func TestMain(m *testing.M) { os.Exit(testenv.RunWithCoattail(m, &bin)) }

// long reports whether the long chaos run was asked for (make chaos).
func long() bool { return os.Getenv("COATTAIL_CHAOS_LONG") != "" }

// env is one run's COATTAIL_* settings.
type env map[string]string

func newEnv(dbURL, redisURL, prefix string) env {
	return env{
		"COATTAIL_DATABASE_URL":  dbURL,
		"COATTAIL_REDIS_URL":     redisURL,
		"COATTAIL_STREAM_PREFIX": prefix,
		"COATTAIL_LOG_LEVEL":     "warn",
	}
}

// proc is a running coattail process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *testenv.SyncBuffer
	done           chan struct{}
	err            error
}

// start runs coattail with args in the background.
func (e env) start(t testing.TB, ctx context.Context, args ...string) *proc {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COATTAIL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range e {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{cmd: cmd, stdout: &testenv.SyncBuffer{}, stderr: &testenv.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.WaitDelay = 5 * time.Second
	testenv.DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start coattail %s: %v", strings.Join(args, " "), err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p
}

// wait waits for the process to end within d and fails the test when it does not or
// when it exits non-zero.
func (p *proc) wait(t testing.TB, d time.Duration, what string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s did not finish within %s\nstdout:\n%s\nstderr:\n%s", what, d, clip(p.stdout.String()), clip(p.stderr.String()))
	}
	if p.err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", what, p.err, clip(p.stdout.String()), clip(p.stderr.String()))
	}
}

// kill SIGKILLs the process and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop asks the process to finish (SIGTERM) and waits for it.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.kill()
	}
}

func clip(s string) string {
	if len(s) > 6000 {
		return s[:3000] + "\n...\n" + s[len(s)-3000:]
	}
	return s
}
