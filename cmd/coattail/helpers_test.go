package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

// coattailBin is the binary TestMain builds; the tests run it as a subprocess, the way
// other tools use the command-line contract.
var coattailBin string

func TestMain(m *testing.M) { os.Exit(testenv.RunWithCoattail(m, &coattailBin)) }

// cli runs the binary against one test's schema and stream prefix.
type cli struct {
	env map[string]string // COATTAIL_* settings
}

func newCLI(url, prefix string) cli {
	return cli{env: map[string]string{
		"COATTAIL_DATABASE_URL":  url,
		"COATTAIL_REDIS_URL":     testenv.RedisURL(),
		"COATTAIL_STREAM_PREFIX": prefix,
		"COATTAIL_LOG_LEVEL":     "warn",
	}}
}

// with returns a copy with extra settings.
func (c cli) with(kv ...string) cli {
	out := cli{env: map[string]string{}}
	for k, v := range c.env {
		out.env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.env[kv[i]] = kv[i+1]
	}
	return out
}

// command prepares a run; the process's own COATTAIL_* variables are not inherited.
func (c cli) command(ctx context.Context, args ...string) (*exec.Cmd, *testenv.SyncBuffer, *testenv.SyncBuffer) {
	cmd := exec.CommandContext(ctx, coattailBin, args...)
	testenv.DieWithParent(cmd)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COATTAIL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	return cmd, &stdout, &stderr
}

// result is a finished run.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %.2fs\nstdout:\n%s\nstderr:\n%s", r.code, r.took.Seconds(), clipText(r.stdout), clipText(r.stderr))
}

func clipText(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n...\n" + s[len(s)-2000:]
	}
	return s
}

// run runs the binary to completion (at most two minutes).
func (c cli) run(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, stdout, stderr := c.command(ctx, args...)
	t0 := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(t0)}
	if ctx.Err() != nil {
		t.Fatalf("coattail %s did not finish within the test's bound: %s", strings.Join(args, " "), r)
	}
	r.code = cmd.ProcessState.ExitCode()
	if err != nil && r.code == 0 {
		t.Fatalf("coattail %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// replaySummary checks the shape of replay --json's last stdout line and returns it.
type replaySummary struct {
	Read         int64            `json:"read"`
	Accepted     int64            `json:"accepted"`
	DeadLettered int64            `json:"dead_lettered"`
	ByReason     map[string]int64 `json:"by_reason"`
}

func parseSummary(t testing.TB, r result) replaySummary {
	t.Helper()
	line := lastLine(r.stdout)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &raw); err != nil {
		t.Fatalf("last stdout line of replay --json is not a JSON object: %v\n%s", err, r)
	}
	for _, k := range []string{"read", "accepted", "dead_lettered", "by_reason"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("replay --json summary lacks %q: %s", k, line)
		}
	}
	var s replaySummary
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("replay --json summary has wrong types: %v: %s", err, line)
	}
	if s.ByReason == nil {
		t.Fatalf("replay --json by_reason is not an object: %s", line)
	}
	return s
}

// schema is a fresh schema with the CLI and a store on it, plus a fresh stream prefix.
type schema struct {
	url string
	st  *store.Store
	cli cli
}

func newSchema(t testing.TB) schema {
	t.Helper()
	url := testenv.Schema(t)
	_, prefix := testenv.Redis(t)
	return schema{url: url, st: testenv.StoreAt(t, url), cli: newCLI(url, prefix)}
}

func (s schema) eventCount(t testing.TB) int64 {
	t.Helper()
	n, err := s.st.EventCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
