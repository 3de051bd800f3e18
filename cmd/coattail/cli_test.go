package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/shopspring/decimal"
)

// TestCLIConfigErrors: a configuration mistake is exit status 2 with a message naming
// the setting, before anything is connected to.
func TestCLIConfigErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ndjson")
	testenv.WriteLines(t, in, []string{testenv.GoodTrade}, false)
	// Nothing listens on port 1: a command that connected would fail differently.
	base := newCLI("postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", "unused").with("COATTAIL_REDIS_URL", "redis://127.0.0.1:1/0")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"shards not a number", []string{"COATTAIL_SHARDS", "abc"}, []string{"replay", in}, "shards"},
		{"shards out of range", []string{"COATTAIL_SHARDS", "0"}, []string{"replay", in}, "shards"},
		{"http addr nonsense", []string{"COATTAIL_HTTP_ADDR", "nonsense"}, []string{"replay", in}, "http addr"},
		{"http addr bad port", []string{"COATTAIL_HTTP_ADDR", "127.0.0.1:99999"}, []string{"worker"}, "http addr"},
		{"database url scheme", []string{"COATTAIL_DATABASE_URL", "mysql://root@localhost/db"}, []string{"leaderboard", "--json"}, "database url"},
		{"redis url scheme", []string{"COATTAIL_REDIS_URL", "http://localhost:6379"}, []string{"replay", in}, "redis url"},
		{"log level", []string{"COATTAIL_LOG_LEVEL", "loud"}, []string{"replay", in}, "log level"},
		{"stream prefix with spaces", []string{"COATTAIL_STREAM_PREFIX", "a b"}, []string{"replay", in}, "stream prefix"},
		{"flag overrides env", nil, []string{"replay", "--shards", "abc", in}, "shards"},
		{"no input files", nil, []string{"replay", "--json"}, "no input files"},
		{"bad --until", nil, []string{"replay", "--until", "yesterday", in}, "--until"},
		{"unknown command", nil, []string{"frobnicate"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base.with(tc.env...).run(t, tc.args...)
			if r.code != 2 {
				t.Fatalf("want exit 2, got %s", r)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not name %q:\n%s", tc.want, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stderr looks like a crash:\n%s", r.stderr)
			}
		})
	}
}

// TestCLIUnreachable: a database or Redis that does not answer is a clear error and a
// non-zero exit, promptly (connection refused is not retried until a timeout).
func TestCLIUnreachable(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ndjson")
	testenv.WriteLines(t, in, []string{testenv.GoodTrade}, false)
	good := newSchema(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"database on replay", []string{"COATTAIL_DATABASE_URL", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"},
			[]string{"replay", "--json", in}, []string{"postgres", "127.0.0.1:1"}},
		{"database on leaderboard", []string{"COATTAIL_DATABASE_URL", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"},
			[]string{"leaderboard", "--json"}, []string{"postgres", "127.0.0.1:1"}},
		{"database on worker", []string{"COATTAIL_DATABASE_URL", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"},
			[]string{"worker"}, []string{"postgres", "127.0.0.1:1"}},
		{"redis on replay", []string{"COATTAIL_REDIS_URL", "redis://127.0.0.1:1/0"},
			[]string{"replay", "--json", in}, []string{"redis", "127.0.0.1:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := good.cli.with(tc.env...).run(t, tc.args...)
			t.Logf("exit %d after %.2fs: %s", r.code, r.took.Seconds(), strings.TrimSpace(r.stderr))
			if r.code == 0 || r.code == 2 {
				t.Fatalf("want a runtime failure (exit 1), got %s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(w)) {
					t.Errorf("stderr does not mention %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stdout, `"read"`) {
				t.Errorf("a summary was printed although nothing ran:\n%s", r.stdout)
			}
		})
	}
	if n := good.eventCount(t); n != 0 {
		t.Errorf("%d events stored by runs that could not connect", n)
	}
}

// TestCLIMissingFile: a file that cannot be opened is a non-zero exit naming it.
func TestCLIMissingFile(t *testing.T) {
	s := newSchema(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ndjson")
	testenv.WriteLines(t, good, []string{testenv.GoodTrade, testenv.GoodPrice}, false)
	missing := filepath.Join(dir, "does-not-exist.ndjson")
	r := s.cli.run(t, "replay", "--json", good, missing)
	if r.code == 0 {
		t.Fatalf("replay of a missing file succeeded: %s", r)
	}
	if !strings.Contains(r.stderr, missing) || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("stderr does not name the missing file and why:\n%s", r.stderr)
	}
	if n := s.eventCount(t); n != 0 {
		t.Errorf("%d events stored although an input could not be opened", n)
	}
}

// TestCLIBadInput: every bad-input class, through the command-line contract: counted
// by reason in the JSON summary, stored as dead letters, exit 0.
func TestCLIBadInput(t *testing.T) {
	s := newSchema(t)
	dir := t.TempDir()
	big := `{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43.963Z","symbol":"NKN-USDT","price":"0.3528","qty":"58","side":"buy","id":"` +
		strings.Repeat("y", 4<<20) + `"}`
	bad := []struct{ line, reason string }{
		{`definitely { not json`, "bad_json"},
		{`"a string"`, "bad_json"},
		{strings.Replace(testenv.GoodTrade, `"qty":"58"`, `"qty":58`, 1), "bad_type"},
		{strings.Replace(testenv.GoodTrade, `"side":"buy"`, `"side":["buy"]`, 1), "bad_type"},
		{strings.Replace(testenv.GoodFill, `"coin":"SUI",`, ``, 1), "missing_field"},
		{strings.Replace(testenv.GoodPrice, `"src":"hyperliquid",`, ``, 1), "missing_field"},
		{strings.Replace(testenv.GoodTrade, `"kind":"trade"`, `"kind":"TRADE!"`, 1), "unknown_kind"},
		{strings.Replace(testenv.GoodTrade, `"ts":"2021-10-12T00:28:43.963Z"`, `"ts":"2021-13-45T99:00:00Z"`, 1), "bad_timestamp"},
		{strings.Replace(testenv.GoodTrade, `"ts":"2021-10-12T00:28:43.963Z"`, `"ts":"2199-10-12T00:28:43Z"`, 1), "future_timestamp"},
		{strings.Replace(testenv.GoodTrade, `"qty":"58"`, `"qty":"-58"`, 1), "non_positive"},
		{strings.Replace(testenv.GoodPrice, `"price":"1.6"`, `"price":"0.0"`, 1), "non_positive"},
		{strings.Replace(testenv.GoodFill, `"side":"sell"`, `"side":"short"`, 1), "bad_side"},
		{strings.Replace(testenv.GoodPosition, `0x51f63885534cb494f4592a0311551f369bff2b39`, `0xZZf63885534cb494f4592a0311551f369bff2b39`, 1), "bad_address"},
		{strings.Replace(testenv.GoodSwap, `0x4a9fb3959883f5cbdb737d66a8330293db55ec5b5c5d504329f976a0dec7754c`, `0x4a9f`, 1), "bad_hash"},
		{strings.Replace(testenv.GoodTrade, `"price":"0.3528"`, `"price":"nan"`, 1), "bad_number"},
		{strings.Replace(testenv.GoodTrade, `"price":"0.3528"`, `"price":"Infinity"`, 1), "bad_number"},
		{strings.Replace(testenv.GoodFill, `"dir":"Close Long"`, "\"dir\":\"Close\tLong\"", 1), "bad_encoding"},
		{big, "line_too_long"},
	}
	want := map[string]int64{}
	var lines []string
	good := []string{testenv.GoodTransfer, testenv.GoodSwap, testenv.GoodTrade, testenv.GoodFill, testenv.GoodPosition, testenv.GoodPrice}
	for i, b := range bad {
		lines = append(lines, b.line)
		want[b.reason]++
		if i < len(good) {
			lines = append(lines, good[i])
		}
	}
	// The last line is cut short and has no newline.
	lines = append(lines, `{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43.963Z","sym`)
	want["bad_json"]++
	path := filepath.Join(dir, "bad.ndjson")
	testenv.WriteLines(t, path, lines, true)

	r := s.cli.run(t, "replay", "--json", path)
	if r.code != 0 {
		t.Fatalf("replay of bad input must succeed: %s", r)
	}
	sum := parseSummary(t, r)
	var dead int64
	for _, n := range want {
		dead += n
	}
	if sum.Read != int64(len(lines)) || sum.Accepted != int64(len(good)) || sum.DeadLettered != dead {
		t.Errorf("summary read %d accepted %d dead_lettered %d; want %d, %d, %d", sum.Read, sum.Accepted, sum.DeadLettered, len(lines), len(good), dead)
	}
	if !maps.Equal(sum.ByReason, want) {
		t.Errorf("by_reason:\n got  %s\n want %s", testenv.Reasons(sum.ByReason), testenv.Reasons(want))
	}
	stored, err := s.st.DeadLetterCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(stored, want) {
		t.Errorf("dead_letters:\n got  %s\n want %s", testenv.Reasons(stored), testenv.Reasons(want))
	}
	if n := s.eventCount(t); n != int64(len(good)) {
		t.Errorf("%d events stored, want %d", n, len(good))
	}
	// The human-readable lines above the JSON name every reason too.
	for reason := range want {
		if !strings.Contains(r.stdout, "dead-lettered "+reason) {
			t.Errorf("stdout does not list reason %s:\n%s", reason, r.stdout)
		}
	}
}

var addressRE = regexp.MustCompile(`^0x[0-9a-f]{40}$`)

// TestCLIReplay replays a generated market through the binary and checks the
// contract's outputs and its guarantees against one uninterrupted run: a SIGKILLed
// replay run again, a replay run twice, and two worker processes sharing the shards
// while replay --no-workers produces all end in the same state.
func TestCLIReplay(t *testing.T) {
	in := testenv.WriteDemoInput(t, t.TempDir(), 5, 900)
	base := newSchema(t)
	r := base.cli.run(t, "replay", "--json", in.Path)
	if r.code != 0 {
		t.Fatalf("uninterrupted replay: %s", r)
	}
	t.Logf("uninterrupted replay of %d records: %.2fs", in.Lines, r.took.Seconds())
	sum := parseSummary(t, r)
	if sum.Read != int64(in.Lines) || sum.Accepted != int64(in.Accepted) || !maps.Equal(sum.ByReason, in.Dead) {
		t.Fatalf("summary %+v; want read %d accepted %d by_reason %s", sum, in.Lines, in.Accepted, testenv.Reasons(in.Dead))
	}
	if sum.DeadLettered != int64(in.Lines-in.Accepted) {
		t.Errorf("dead_lettered %d, want %d", sum.DeadLettered, in.Lines-in.Accepted)
	}
	if n := base.eventCount(t); n != int64(in.Accepted) {
		t.Fatalf("%d events stored, want %d", n, in.Accepted)
	}
	want := testenv.StateChecksum(t, base.st.Pool())

	t.Run("leaderboard and wallet", func(t *testing.T) {
		checkLeaderboard(t, base)
	})

	t.Run("SIGKILL then run again", func(t *testing.T) {
		s := newSchema(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd, stdout, stderr := s.cli.command(ctx, "replay", "--json", "--quiet", in.Path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var at int64
		testenv.WaitFor(ctx, func() bool {
			n, err := s.st.EventCount(ctx)
			if err == nil && n > int64(in.Accepted)/4 {
				at = n
				return true
			}
			select {
			case err := <-done: // finished (or failed) before it could be killed
				done <- err
				return true
			default:
				return false
			}
		})
		killErr := cmd.Process.Signal(syscall.SIGKILL)
		<-done
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if killErr != nil || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the replay was not killed mid-run (kill: %v, state %v): make the input larger\nstdout:\n%s\nstderr:\n%s",
				killErr, cmd.ProcessState, stdout, stderr)
		}
		got := s.eventCount(t)
		t.Logf("killed at %d events committed (%d after the kill) of %d", at, got, in.Accepted)
		if got >= int64(in.Accepted) {
			t.Fatalf("the kill landed after everything was committed (%d events)", got)
		}
		r := s.cli.run(t, "replay", "--json", "--quiet", in.Path)
		if r.code != 0 {
			t.Fatalf("replay after SIGKILL: %s", r)
		}
		t.Logf("replay after SIGKILL: %.2fs", r.took.Seconds())
		if s := parseSummary(t, r); s.Accepted != int64(in.Accepted) || !maps.Equal(s.ByReason, in.Dead) {
			t.Errorf("summary after SIGKILL: %+v", s)
		}
		testenv.SameState(t, "SIGKILL then run again", testenv.StateChecksum(t, s.st.Pool()), want)

		// And once more: replaying a file twice changes nothing.
		r = s.cli.run(t, "replay", "--json", "--quiet", in.Path)
		if r.code != 0 {
			t.Fatalf("third replay: %s", r)
		}
		testenv.SameState(t, "replayed again", testenv.StateChecksum(t, s.st.Pool()), want)
	})

	t.Run("SIGTERM then run again", func(t *testing.T) {
		s := newSchema(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd, stdout, stderr := s.cli.command(ctx, "replay", "--json", "--quiet", in.Path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(ctx, func() bool {
			n, err := s.st.EventCount(ctx)
			return err == nil && n > 0
		})
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		_ = cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		got := s.eventCount(t)
		t.Logf("SIGTERM: exit %d with %d of %d events committed", code, got, in.Accepted)
		if code == 0 || got >= int64(in.Accepted) {
			t.Fatalf("an interrupted replay must exit non-zero before committing everything: exit %d, %d events\nstdout:\n%s\nstderr:\n%s",
				code, got, stdout, stderr)
		}
		if strings.Contains(stdout.String(), `"read"`) {
			t.Errorf("an interrupted replay printed a summary as if it had finished:\n%s", stdout)
		}
		r := s.cli.run(t, "replay", "--json", "--quiet", in.Path)
		if r.code != 0 {
			t.Fatalf("replay after SIGTERM: %s", r)
		}
		testenv.SameState(t, "SIGTERM then run again", testenv.StateChecksum(t, s.st.Pool()), want)
	})

	t.Run("two workers", func(t *testing.T) {
		s := newSchema(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		type worker struct {
			cmd    *exec.Cmd
			proc   *os.Process
			stderr *testenv.SyncBuffer
		}
		var workers []worker
		for range 2 {
			cmd, _, stderr := s.cli.command(ctx, "worker")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			workers = append(workers, worker{cmd: cmd, proc: cmd.Process, stderr: stderr})
		}
		defer func() {
			for _, w := range workers {
				_ = w.proc.Signal(syscall.SIGKILL)
			}
		}()
		r := s.cli.run(t, "replay", "--json", "--quiet", "--no-workers", in.Path)
		if r.code != 0 {
			t.Fatalf("replay --no-workers: %s", r)
		}
		t.Logf("replay --no-workers with two workers: %.2fs", r.took.Seconds())
		// replay --no-workers returns only once the workers have committed everything.
		if n := s.eventCount(t); n != int64(in.Accepted) {
			t.Errorf("replay --no-workers returned with %d of %d events committed", n, in.Accepted)
		}
		// Both workers took shards: each claim records its owner.
		var owners, claims int64
		testenv.WaitFor(ctx, func() bool {
			err := s.st.Pool().QueryRow(ctx, `SELECT count(DISTINCT owner), coalesce(sum(epoch), 0) FROM stream_checkpoints WHERE grp = 'book'`).Scan(&owners, &claims)
			return err == nil && owners == 2
		})
		t.Logf("checkpoint owners %d, shard claims %d", owners, claims)
		if owners != 2 {
			t.Errorf("shards are owned by %d worker(s), want 2", owners)
		}
		for i, w := range workers {
			if err := w.proc.Signal(syscall.SIGTERM); err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
			if err := w.cmd.Wait(); err != nil {
				t.Errorf("worker %d did not stop cleanly on SIGTERM: %v\n%s", i, err, clipText(w.stderr.String()))
			}
		}
		testenv.SameState(t, "two workers", testenv.StateChecksum(t, s.st.Pool()), want)
	})
}

// TestCLIWorkerKilled: two workers share the shards, one is SIGKILLed while entries
// are in flight; the survivor takes its shards over (once the dead worker's leases
// lapse), reclaims what it left pending, and the state equals an uninterrupted run.
func TestCLIWorkerKilled(t *testing.T) {
	in := testenv.WriteDemoInput(t, t.TempDir(), 6, 900)
	base := newSchema(t)
	if r := base.cli.run(t, "replay", "--json", "--quiet", in.Path); r.code != 0 {
		t.Fatalf("uninterrupted replay: %s", r)
	}
	want := testenv.StateChecksum(t, base.st.Pool())

	s := newSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var workers []*exec.Cmd
	var logs []*testenv.SyncBuffer
	for range 2 {
		cmd, _, stderr := s.cli.command(ctx, "worker")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers, logs = append(workers, cmd), append(logs, stderr)
	}
	defer func() {
		for _, w := range workers {
			_ = w.Process.Signal(syscall.SIGKILL)
		}
	}()
	// Both own shards before anything is produced.
	var owners int64
	testenv.WaitFor(ctx, func() bool {
		err := s.st.Pool().QueryRow(ctx, `SELECT count(DISTINCT owner) FROM stream_checkpoints WHERE grp = 'book'`).Scan(&owners)
		return err == nil && owners == 2
	})
	if owners != 2 {
		t.Fatalf("the two workers never shared the shards")
	}
	rep, stdout, stderr := s.cli.command(ctx, "replay", "--json", "--quiet", "--no-workers", in.Path)
	if err := rep.Start(); err != nil {
		t.Fatal(err)
	}
	var at int64
	testenv.WaitFor(ctx, func() bool {
		n, err := s.st.EventCount(ctx)
		at = n
		return err == nil && n > int64(in.Accepted)/3
	})
	if err := workers[0].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill worker: %v", err)
	}
	_ = workers[0].Wait()
	t.Logf("worker 0 killed at %d events committed of %d", at, in.Accepted)
	t0 := time.Now()
	err := rep.Wait()
	if err != nil {
		t.Fatalf("replay --no-workers after a worker was killed: %v\nstdout:\n%s\nstderr:\n%s\nsurviving worker:\n%s",
			err, stdout, stderr, clipText(logs[1].String()))
	}
	t.Logf("replay finished %.2fs after the kill", time.Since(t0).Seconds())
	if got := s.eventCount(t); at >= int64(in.Accepted) || got != int64(in.Accepted) {
		t.Fatalf("kill at %d events, %d stored at the end, want the kill before %d and all of them after", at, got, in.Accepted)
	}
	testenv.SameState(t, "worker killed", testenv.StateChecksum(t, s.st.Pool()), want)
	if err := workers[1].Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := workers[1].Wait(); err != nil {
		t.Errorf("surviving worker did not stop cleanly: %v\n%s", err, clipText(logs[1].String()))
	}
}

// checkLeaderboard checks leaderboard --json (the alpha board, scored on demand from
// the replayed events) and wallet --json against each other and the book. The PnL
// ranking's checks (score = realized + unrealized - fees, one row per book wallet)
// gave way when the board became the alpha score: rows are the wallets with enough
// scored trades, sorted by the score's lower confidence bound.
func checkLeaderboard(t *testing.T, s schema) {
	r := s.cli.run(t, "leaderboard", "--json", "--limit", "1000")
	if r.code != 0 {
		t.Fatalf("leaderboard: %s", r)
	}
	var rows []map[string]any
	if err := decodeJSON(lastLine(r.stdout), &rows); err != nil {
		t.Fatalf("leaderboard --json is not an array of objects: %v\n%s", err, r.stdout)
	}
	var runs int
	if err := s.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM score_runs`).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 3 {
		t.Fatalf("%d score runs after the first leaderboard, want 3 (7d, 30d, all scored on demand)", runs)
	}
	var prev float64
	for i, row := range rows {
		for _, k := range []string{"rank", "wallet", "score", "n", "lcb", "realized_pnl", "unrealized_pnl", "fees", "roi",
			"win_rate", "profit_factor", "max_drawdown", "sortino", "trades"} {
			if _, ok := row[k]; !ok {
				t.Fatalf("row %d lacks %q: %v", i, k, row)
			}
		}
		if rank, ok := intField(row, "rank"); !ok || rank != int64(i+1) {
			t.Errorf("row %d: rank %v, want %d", i, row["rank"], i+1)
		}
		if w, ok := row["wallet"].(string); !ok || !addressRE.MatchString(w) {
			t.Errorf("row %d: wallet %v is not a lower-case address", i, row["wallet"])
		}
		if n, ok := intField(row, "n"); !ok || n < 20 {
			t.Errorf("row %d: n %v, want at least the 20 scored trades a ranked wallet needs", i, row["n"])
		}
		score, _ := row["score"].(json.Number).Float64()
		if lcb, _ := row["lcb"].(json.Number).Float64(); lcb != score {
			t.Errorf("row %d: score %v, lcb %v: the board ranks by the lower bound", i, score, lcb)
		}
		if i > 0 && score > prev {
			t.Errorf("row %d: score %v above the previous row's %v", i, score, prev)
		}
		prev = score
	}
	// The wallets as `wallet --json` sees them: the book's PnL keys stay, the alpha rank
	// and score come with them.
	var addrs []string
	for i := 0; i < 3 && i < len(rows); i++ {
		addrs = append(addrs, rows[i]["wallet"].(string))
	}
	var anyWallet string
	if err := s.st.Pool().QueryRow(context.Background(), `SELECT min(wallet) FROM positions`).Scan(&anyWallet); err != nil {
		t.Fatal(err)
	}
	addrs = append(addrs, anyWallet)
	for i, addr := range addrs {
		r := s.cli.run(t, "wallet", addr, "--json")
		if r.code != 0 {
			t.Fatalf("wallet %s: %s", addr, r)
		}
		var v map[string]any
		if err := decodeJSON(lastLine(r.stdout), &v); err != nil {
			t.Fatalf("wallet --json is not an object: %v\n%s", err, r.stdout)
		}
		for _, k := range []string{"realized_pnl", "unrealized_pnl", "fees", "positions", "score", "lcb", "pnl_rank"} {
			if _, ok := v[k]; !ok {
				t.Fatalf("wallet %s lacks %q: %s", addr, k, r.stdout)
			}
		}
		if pos, ok := v["positions"].([]any); !ok || len(pos) == 0 {
			t.Fatalf("wallet %s: positions %v, want a non-empty array", addr, v["positions"])
		}
		if i == len(addrs)-1 {
			continue // any wallet of the book: ranked or not
		}
		if rank, ok := intField(v, "rank"); !ok || rank != int64(i+1) {
			t.Errorf("wallet %s: rank %v, leaderboard rank %d", addr, v["rank"], i+1)
		}
		if v["score"] != rows[i]["score"] {
			t.Errorf("wallet %s: score %v, leaderboard score %v", addr, v["score"], rows[i]["score"])
		}
	}
}

// TestCLICompressed: replay reads gzip and zstd interchange files to the same state
// as the plain file.
func TestCLICompressed(t *testing.T) {
	dir := t.TempDir()
	var plain bytes.Buffer
	n, err := demo.WriteNDJSON(&plain, demo.Config{Seed: 3}, 60)
	if err != nil {
		t.Fatal(err)
	}
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	zw, err := zstd.NewWriter(&zs)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []io.WriteCloser{gw, zw} {
		if _, err := w.Write(plain.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var want map[string]string
	for _, f := range []struct {
		name string
		data []byte
	}{{"market.ndjson", plain.Bytes()}, {"market.ndjson.gz", gz.Bytes()}, {"market.ndjson.zst", zs.Bytes()}} {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
		s := newSchema(t)
		r := s.cli.run(t, "replay", "--json", "--quiet", path)
		if r.code != 0 {
			t.Fatalf("replay %s: %s", f.name, r)
		}
		if sum := parseSummary(t, r); sum.Read != int64(n) || sum.Accepted != int64(n) {
			t.Errorf("replay %s: read %d accepted %d, want %d", f.name, sum.Read, sum.Accepted, n)
		}
		got := testenv.StateChecksum(t, s.st.Pool())
		if want == nil {
			want = got
			continue
		}
		testenv.SameState(t, f.name, got, want)
	}
}

// TestCLIEmptyAndUnknown: queries on an empty book answer plainly.
func TestCLIEmptyAndUnknown(t *testing.T) {
	s := newSchema(t)
	r := s.cli.run(t, "leaderboard", "--json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("leaderboard --json on an empty book: want exit 0 and [], got %s", r)
	}
	r = s.cli.run(t, "wallet", "0x0000000000000000000000000000000000000001", "--json")
	if r.code != 1 || !strings.Contains(r.stderr, "0x0000000000000000000000000000000000000001") {
		t.Errorf("wallet --json of an unknown wallet: want exit 1 naming it, got %s", r)
	}
	r = s.cli.run(t, "wallet", "0x12", "--json")
	if r.code != 2 || !strings.Contains(r.stderr, "want 0x followed by 40 hex digits") {
		t.Errorf("wallet --json of a malformed address: want exit 2, got %s", r)
	}
}

// decField reads a decimal that the JSON carries as a string or a number.
func decField(t *testing.T, m map[string]any, k string) decimal.Decimal {
	t.Helper()
	var s string
	switch x := m[k].(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	default:
		t.Fatalf("%s: %v (%T) is not a decimal", k, m[k], m[k])
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatalf("%s: %q: %v", k, s, err)
	}
	return d
}

func decodeJSON(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	return dec.Decode(v)
}

// intField reads an integer the JSON carries as a number.
func intField(m map[string]any, k string) (int64, bool) {
	n, ok := m[k].(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}
