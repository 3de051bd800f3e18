package bench

import (
	"context"
	"os"
	"strconv"
	"testing"

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
