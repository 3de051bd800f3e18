package bench

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// TestAlertsDelivery delivers one signal to 300 followers at 100× Telegram's
// rate (a floor of 0.1 s); COATTAIL_BENCH_ALERT_FOLLOWERS and _SCALE change it
// (10000 and 1 is the real case, 333 s). It checks that every follower got
// exactly one message and reports the time against the floor.
func TestAlertsDelivery(t *testing.T) {
	followers, scale := 300, 100.0
	if v, err := strconv.Atoi(os.Getenv("COATTAIL_BENCH_ALERT_FOLLOWERS")); err == nil && v > 0 {
		followers = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("COATTAIL_BENCH_ALERT_SCALE"), 64); err == nil && v > 0 {
		scale = v
	}
	st := testenv.Store(t)
	res, err := Alerts(context.Background(), st, followers, scale)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != int64(followers) {
		t.Fatalf("delivered %d messages to %d followers", res.Messages, followers)
	}
	var pending int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM alert_outbox WHERE state <> 'delivered'`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("%d alerts not delivered (%v)", pending, err)
	}
	t.Log(res)
}

// TestRunAlertsSmall: RunAlerts works in a scratch schema it removes afterwards,
// delivers one message per follower, and the report section states the floor,
// the measured time, the ratio and the speed-up used.
func TestRunAlertsSmall(t *testing.T) {
	ctx := context.Background()
	var lines []string
	res, err := RunAlerts(ctx, AlertsConfig{DatabaseURL: testenv.DatabaseURL(), Followers: 120, Scale: 40,
		Progress: func(l string) { lines = append(lines, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 120 || res.Followers != 120 || res.Scale != 40 {
		t.Fatalf("result %+v: want 120 messages to 120 followers at scale 40", res)
	}
	// 120 messages at 30×40 = 1,200 msg/s: a floor of 100 ms.
	if res.Floor != 100*time.Millisecond || res.Deliver <= 0 || res.Ratio != res.Deliver.Seconds()/res.Floor.Seconds() {
		t.Errorf("floor %v, delivered in %v, ratio %.3f", res.Floor, res.Deliver, res.Ratio)
	}
	if len(lines) != 2 || !strings.Contains(lines[1], "120 followers") {
		t.Errorf("progress lines %q", lines)
	}
	m := regexp.MustCompile(`schema (bench_\w+)`).FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("the first progress line names no schema: %q", lines[0])
	}
	conn, err := pgx.Connect(ctx, testenv.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, m[1]).Scan(&left); err != nil || left != 0 {
		t.Errorf("scratch schema %s left behind (%d, %v)", m[1], left, err)
	}
	var b strings.Builder
	if err := res.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"## Alert fan-out under Telegram's limits", "| 120 | 1,200 | ×40 |", "| 100ms |",
		fmt.Sprintf("| %.2f |", res.Ratio), "sped up 40 times", "floor for 120 followers is 4 s"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if _, err := RunAlerts(ctx, AlertsConfig{DatabaseURL: testenv.DatabaseURL(), Followers: 0}); err == nil {
		t.Error("zero followers must be refused")
	}
}
