package api_test

// The dashboard in a real browser: Debian's chromium, headless, driven by chromedp,
// against the real server on the real Postgres and Redis with a replayed file's book.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coattailcapital/coattail/analytics/alpha/rescore"
	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/stream"
	"github.com/prometheus/client_golang/prometheus"
)

// chromium finds the browser: $COATTAIL_CHROMIUM, else chromium on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("COATTAIL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed: the browser test needs it (apt-get install -y chromium; .ci/run installs it)")
	return ""
}

// artifactDir is where screenshots go: $COATTAIL_ARTIFACTS, else api/testdata/out
// (ignored by git). t.TempDir() would delete them with the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COATTAIL_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "out")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact dir: %v", err)
	}
	return dir
}

// consoleErrors collects what the page reports as errors: console.error calls,
// uncaught exceptions and browser log entries at level error (failed loads included).
type consoleErrors struct {
	mu   sync.Mutex
	msgs []string
}

func (c *consoleErrors) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, s)
}

func (c *consoleErrors) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

func (c *consoleErrors) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			c.add("console.error: " + strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		c.add(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			c.add(fmt.Sprintf("log %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

func TestDashboardInBrowser(t *testing.T) {
	exe := chromium(t)
	ctx := context.Background()
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scf := stream.Config{Prefix: prefix, Shards: 2}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// A replayed file: the demo market (fills, positions, prices) with bad lines in it.
	in := testenv.WriteDemoInput(t, t.TempDir(), 1, 60)
	sum, err := pipeline.Replay(ctx, rdb, st, scf, pipeline.ReplayConfig{Files: []string{in.Path}, Logger: quiet})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if sum.Accepted != int64(in.Accepted) {
		t.Fatalf("replay accepted %d, want %d", sum.Accepted, in.Accepted)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: st, Redis: rdb, Streams: scf, Gatherer: prometheus.NewRegistry(),
		Logger: quiet, SignalPoll: 200 * time.Millisecond}).Handler())
	t.Cleanup(srv.Close) // after the browser is gone (cleanups run last first)

	// The leaderboard is the alpha board of the latest scoring run: score the replayed
	// events as `coattail run` does every minute, then take what the API ranks.
	if _, err := rescore.Rescore(ctx, st, rescore.Config{}, time.Time{}); err != nil {
		t.Fatalf("rescore: %v", err)
	}
	code, body := do(t, "GET", srv.URL+"/api/leaderboard?limit=25", "", "")
	want := decode[[]map[string]any](t, body)
	if code != 200 || len(want) == 0 {
		t.Fatalf("GET /api/leaderboard after replay and rescore = %d %s: want ranked wallets", code, body)
	}
	known, _ := want[0]["wallet"].(string)
	// The windowed analytics' and the paper trader's tables, as their stages write them,
	// with two signals on the known wallet and the risk gate's decisions on one.
	seedWindows(t, st)
	decided, _ := seedTrading(t, st, known)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	var errs consoleErrors
	// Listening starts the browser (chromedp enables the runtime and log domains).
	if err := chromedp.Listen(bctx, errs.listen); err != nil {
		t.Fatalf("start chromium (%s): %v", exe, err)
	}
	// step runs actions with a timeout and, when they fail, shows what the page holds.
	step := func(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(bctx, timeout)
		defer cancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			hctx, hcancel := context.WithTimeout(bctx, 5*time.Second)
			defer hcancel()
			html, _ := chromedp.Run(hctx, chromedp.OuterHTML(chromedp.CSS("body")))
			t.Fatalf("%s: %v\nconsole errors: %v\npage: %.3000s", what, err, errs.list(), html)
		}
	}
	value := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(tctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	count := func(selector string) int {
		t.Helper()
		tctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		n, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+selector+"`"+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", selector, err)
		}
		return n
	}
	screenshot := func(name string) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(bctx, 15*time.Second)
		defer cancel()
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(artifactDir(t), name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// The leaderboard shows the replayed book, the feed connects, pipeline health renders.
	step("load the dashboard", 30*time.Second,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#leaderboard tbody tr[data-wallet="`+known+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#feed-status.live`)),
		chromedp.WaitVisible(chromedp.CSS(`#pipeline table.pipeline`)),
	)
	// The panels of the windowed stages and the paper trader render their rows.
	step("see anomalies, flows, paper trading and watermarks", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#anomalies tbody tr[data-kind="volume_spike"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#flows tbody tr[data-exchange="binance"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#paper .scope[data-scope="telegram:7"] .equity svg polyline`)),
		chromedp.WaitVisible(chromedp.CSS(`#watermarks tr[data-source="binance"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#alert-latency`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#signals li[data-id="%d"] .risk`, decided))),
	)
	if n := count(`#anomalies tbody tr`); n != 3 {
		t.Errorf("anomalies panel shows %d rows, want the 3 stored", n)
	}
	if n := count(`#paper .scope`); n != 2 {
		t.Errorf("paper panel shows %d scopes, want 2 (telegram:7 and discord:99)", n)
	}
	// The polyline has a point per stored equity point (3).
	if pts := value("equity points", chromedp.Evaluate[string](`document.querySelector('#paper .scope[data-scope="telegram:7"] polyline').getAttribute('points')`)); len(strings.Fields(pts)) != 3 {
		t.Errorf("equity curve points %q, want 3", pts)
	}
	flow := value("flow row", chromedp.Text(chromedp.CSS(`#flows tbody tr`)))
	wm := value("watermark row", chromedp.Text(chromedp.CSS(`#watermarks tr[data-source="binance"]`)))
	risk := value("risk line", chromedp.Text(chromedp.CSS(fmt.Sprintf(`#signals li[data-id="%d"] .risk`, decided))))
	lat := value("alert latency", chromedp.Text(chromedp.CSS(`#alert-latency`)))
	if !strings.Contains(flow, "USDT") || !strings.Contains(flow, "1,500,000") {
		t.Errorf("flow row %q lacks the token or the summed inflow", flow)
	}
	if !strings.Contains(wm, "windows") || !strings.Contains(wm, "1.0m") {
		t.Errorf("watermark row %q lacks the group or the 1m event delay", wm)
	}
	if !strings.Contains(risk, "telegram:7 approved $500") || !strings.Contains(risk, "global rejected (coin_cooldown)") {
		t.Errorf("signal's risk line %q", risk)
	}
	if !strings.Contains(lat, "p99") || !strings.Contains(lat, "2.0s") {
		t.Errorf("alert latency %q, want p99 2.0s", lat)
	}
	rows := count(`#leaderboard tbody tr`)
	first := value("first row", chromedp.Evaluate[string](`document.querySelector('#leaderboard tbody tr:first-child').dataset.wallet`))
	if rows != len(want) || first != known {
		t.Errorf("leaderboard: %d rows starting with %q, want %d starting with %s", rows, first, len(want), known)
	}

	// A signal inserted while the page is open arrives through the event stream.
	id := insertSignal(t, st, "followed_move", known, "ETH", 125000)
	sel := chromedp.CSS(fmt.Sprintf(`#signals li[data-id="%d"]`, id))
	step("see the live signal", 15*time.Second, chromedp.WaitVisible(sel))
	item := value("signal item", chromedp.Text(sel))
	if !strings.Contains(item, "followed_move") || !strings.Contains(item, "ETH") || !strings.Contains(item, "125,000") {
		t.Errorf("signal item %q lacks its rule, coin or size", item)
	}
	shot := screenshot("dashboard.png")

	// The wallet page: its summary, the PnL chart, its positions and its signal.
	step("open the wallet page", 20*time.Second,
		chromedp.Navigate(srv.URL+"/wallet/"+known),
		chromedp.WaitVisible(chromedp.CSS(`#w-chart svg rect`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#w-signals li[data-id="%d"]`, id))),
	)
	v, err := st.Wallet(ctx, known)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(`#w-positions tbody tr`); n != len(v.Positions) {
		t.Errorf("wallet page shows %d positions, the book has %d", n, len(v.Positions))
	}
	t.Logf("screenshots: %s and %s", shot, screenshot("wallet.png"))

	if e := errs.list(); len(e) > 0 {
		t.Errorf("the page reported errors:\n  %s", strings.Join(e, "\n  "))
	}
}
