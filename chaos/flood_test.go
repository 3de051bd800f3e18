package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/redis/go-redis/v9"
)

// TestDeadLetterFlood: a file that is mostly garbage — more bad lines than the
// dead-letter stream holds — is replayed. Every bad line is dead-lettered in Postgres
// with its reason, the dead-letter stream stays bounded, and the good events between
// them produce exactly the state a clean file produces.
func TestDeadLetterFlood(t *testing.T) {
	dir := t.TempDir()
	in := testenv.WriteDemoInput(t, dir, 24, 900)
	clean := reference(t, in.Path)

	bad := pipeline.DLQMaxLen + 20000
	if long() {
		bad = 10 * pipeline.DLQMaxLen
	}
	good, err := os.ReadFile(in.Path)
	if err != nil {
		t.Fatal(err)
	}
	goodLines := strings.Split(strings.TrimRight(string(good), "\n"), "\n")
	flood := filepath.Join(dir, "flood.ndjson")
	f, err := os.Create(flood)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	per := bad / len(goodLines) // garbage lines after each good one
	written := 0
	for i, l := range goodLines {
		fmt.Fprintln(w, l)
		for j := 0; j < per || (i == len(goodLines)-1 && written < bad); j++ {
			// three kinds of garbage, each line distinct
			switch written % 3 {
			case 0:
				fmt.Fprintf(w, "not json at all %d\n", written)
			case 1:
				fmt.Fprintf(w, `{"kind":"trade","src":"binance","ts":"2021-10-12T00:28:43Z","symbol":"ETH-USDT","price":"-%d","qty":"1","side":"buy","id":"x%d"}`+"\n", written+1, written)
			case 2:
				fmt.Fprintf(w, `{"kind":"teleport","src":"nowhere","ts":"2021-10-12T00:28:43Z","id":"%d"}`+"\n", written)
			}
			written++
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	url := testenv.Schema(t)
	rdb, prefix := testenv.Redis(t)
	e := newEnv(url, testenv.RedisURL(), prefix)
	followSome(t, url, flood)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := e.start(t, ctx, "replay", "--quiet", "--json", flood)
	p.wait(t, 10*time.Minute, "replay of the flood")
	var sum struct {
		Accepted     int64            `json:"accepted"`
		DeadLettered int64            `json:"dead_lettered"`
		ByReason     map[string]int64 `json:"by_reason"`
	}
	out := strings.TrimSpace(p.stdout.String())
	if err := json.Unmarshal([]byte(out[strings.LastIndexByte(out, '\n')+1:]), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	var wantDead int64 = int64(written)
	for _, n := range in.Dead {
		wantDead += n
	}
	if sum.DeadLettered != wantDead || sum.Accepted != int64(in.Accepted) {
		t.Errorf("summary: accepted %d dead-lettered %d (%v), want %d and %d", sum.Accepted, sum.DeadLettered, sum.ByReason, in.Accepted, wantDead)
	}
	got := checksums(t, url)
	var rows int64
	fmt.Sscanf(got["dead_letters"], "%d:", &rows)
	if rows != wantDead {
		t.Errorf("dead_letters holds %d rows, want %d: every bad line is kept in Postgres", rows, wantDead)
	}
	delete(got, "dead_letters")
	delete(clean, "dead_letters")
	got["dead_letters"], clean["dead_letters"] = "", ""
	testenv.SameState(t, "good events among a flood of garbage", got, clean)
	n, err := rdb.XLen(context.Background(), prefixDLQ(prefix)).Result()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	if n > pipeline.DLQMaxLen*11/10 {
		t.Errorf("dead-letter stream holds %d entries, bound is about %d", n, pipeline.DLQMaxLen)
	}
	t.Logf("%d bad lines among %d good ones: dead-letter stream at %d entries", written, len(goodLines), n)
}

func prefixDLQ(prefix string) string { return prefix + ":dlq" }

// TestChatFlood: one user fires thousands of commands at once. The user is slowed
// down (never errors), the follow limit holds, and another user is served meanwhile.
func TestChatFlood(t *testing.T) {
	st := testenv.Store(t)
	r, err := bot.NewRouter(bot.Config{Reader: st})
	if err != nil {
		t.Fatal(err)
	}
	bot.RegisterFollows(r, st, bot.DefaultFollowLimit)
	ctx := context.Background()
	const n = 3000
	kinds := map[bot.Kind]int{}
	silent := 0
	for i := 0; i < n; i++ {
		addr := fmt.Sprintf("0x%040x", i+1)
		rep := r.Handle(ctx, bot.Request{Platform: "telegram", UserID: "flooder", ChatID: "c1", Text: "/follow " + addr})
		if rep.IsZero() {
			silent++ // told once to slow down, then ignored until the window passes
			continue
		}
		kinds[rep.Kind]++
	}
	if kinds[bot.KindError] != 0 {
		t.Errorf("the flood caused %d error replies: %v", kinds[bot.KindError], kinds)
	}
	if kinds[bot.KindSlowDown] == 0 {
		t.Errorf("a flood of %d commands was never rate limited: %v", n, kinds)
	}
	rep := r.Handle(ctx, bot.Request{Platform: "telegram", UserID: "bystander", ChatID: "c2", Text: "/follow 0x51f63885534cb494f4592a0311551f369bff2b39"})
	if rep.Kind != bot.KindInfo {
		t.Errorf("another user during the flood got %v: %s", rep.Kind, rep)
	}
	fs, err := st.Following(ctx, "telegram", "flooder")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != kinds[bot.KindInfo] || len(fs) > bot.DefaultFollowLimit {
		t.Errorf("flooder follows %d wallets after %d accepted commands (limit %d)", len(fs), kinds[bot.KindInfo], bot.DefaultFollowLimit)
	}
	if silent+kinds[bot.KindSlowDown] < n-bot.DefaultFollowLimit {
		t.Errorf("only %d of %d commands were held back", silent+kinds[bot.KindSlowDown], n)
	}
	t.Logf("replies to %d commands: %v, %d ignored while rate limited", n, kinds, silent)
}
