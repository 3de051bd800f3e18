package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `coattail bench --followers N` adds the alert fan-out figure (one signal to N
// followers under Telegram's limits, sped up by --followers-scale) to the JSON and
// to the Markdown report, after the other figures; bad values are usage errors.
func TestCLIBenchFollowers(t *testing.T) {
	s := newSchema(t)
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	r := s.cli.run(t, "bench", "--events", "1000", "--followers", "90", "--followers-scale", "30", "--json", "--out", out)
	if r.code != 0 {
		t.Fatalf("bench: %s", r)
	}
	var got struct {
		Figures []json.RawMessage `json:"figures"`
		Alerts  *struct {
			Followers int           `json:"followers"`
			Scale     float64       `json:"scale"`
			Deliver   time.Duration `json:"deliver"`
			Floor     time.Duration `json:"floor"`
			Ratio     float64       `json:"ratio"`
			Messages  int64         `json:"messages"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, r.stdout)
	}
	a := got.Alerts
	if len(got.Figures) == 0 || a == nil {
		t.Fatalf("bench --json lacks the throughput figures or the alerts figure:\n%s", r.stdout)
	}
	// 90 followers at 30 msg/s × 30: a floor of 100 ms.
	if a.Followers != 90 || a.Scale != 30 || a.Messages != 90 || a.Floor != 100*time.Millisecond ||
		a.Deliver <= 0 || a.Ratio != a.Deliver.Seconds()/a.Floor.Seconds() {
		t.Errorf("alerts figure %+v: want 90 messages to 90 followers at scale 30 against a floor of 100ms", *a)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	report := string(md)
	i := strings.Index(report, "## Alert fan-out under Telegram's limits")
	if i < 0 || !strings.Contains(report[i:], "| 90 | 900 | ×30 |") || !strings.Contains(report[i:], "sped up 30 times") {
		t.Errorf("report lacks the alert fan-out section with its figures:\n%s", report)
	}
	if j := strings.Index(report, "## "); j < 0 || j >= i {
		t.Errorf("the alert section should follow the throughput figures:\n%s", report)
	}

	for _, args := range [][]string{
		{"bench", "--events", "10", "--followers", "-1"},
		{"bench", "--events", "10", "--followers", "10", "--followers-scale", "0"},
	} {
		if r := s.cli.run(t, args...); r.code != 2 || !strings.Contains(r.stderr, "--followers") {
			t.Errorf("coattail %s: want a usage error naming the flag, got %s", strings.Join(args, " "), r)
		}
	}
}
