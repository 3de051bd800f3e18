package console_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/bot/console"
	"github.com/coattailcapital/coattail/store"
)

// emptyReader is a store with nothing in it.
type emptyReader struct{}

func (emptyReader) Leaderboard(context.Context, store.LeaderboardQuery) ([]store.LeaderRow, error) {
	return nil, nil
}

func (emptyReader) Wallet(context.Context, string) (store.WalletView, error) {
	return store.WalletView{}, store.ErrNotFound
}

func newRouter(t *testing.T) *bot.Router {
	t.Helper()
	r, err := bot.NewRouter(bot.Config{Reader: emptyReader{}})
	if err != nil {
		t.Fatal(err)
	}
	r.Register(bot.Command{Name: "whoami", Handler: func(_ context.Context, c bot.Call) (bot.Reply, error) {
		return bot.Reply{Text: c.Platform + "/" + c.UserID + "/" + c.ChatID}, nil
	}})
	r.Register(bot.Command{Name: "halt", Admin: true, Handler: func(context.Context, bot.Call) (bot.Reply, error) {
		return bot.Reply{Text: "halted"}, nil
	}})
	return r
}

const banner = "Coat Tail Capital console: the same commands as the Telegram and Discord bots.\n" +
	"Type /help to list them; quit, exit or Ctrl-D leaves.\n"

func TestRunScript(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  console.Options
		want  string
	}{
		{
			name:  "quit ends before later lines",
			input: "gm\n\n  /whoami  \nquit\n/whoami\n",
			want: banner + "coattail> Commands start with / — try /help\n\n" +
				"coattail> coattail> console/console/console\n\n" +
				"coattail> Bye.\n",
		},
		{
			name:  "exit in any case, with a slash",
			input: "/EXIT\n/whoami\n",
			want:  banner + "coattail> Bye.\n",
		},
		{
			name:  "EOF without a final newline",
			input: "/whoami",
			want:  banner + "coattail> console/console/console\n\ncoattail> \n",
		},
		{
			name:  "admin by default",
			input: "/halt\n",
			want:  banner + "coattail> halted\n\ncoattail> \n",
		},
		{
			name:  "not admin when asked",
			input: "/halt\n",
			opts:  console.Options{NotAdmin: true, UserID: "bob", Prompt: "> ", Banner: "hi"},
			want:  "hi\n> /halt is for admins only.\n\n> \n",
		},
		{
			name:  "user id and unknown command",
			input: "/whoami\n/wallte\n",
			opts:  console.Options{UserID: "ann", Prompt: "$ ", Banner: "hi"},
			want: "hi\n$ console/ann/ann\n\n" +
				"$ Unknown command /wallte. Did you mean /wallet?\n/help lists every command.\n\n$ \n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := console.Run(context.Background(), strings.NewReader(tt.input), &out, newRouter(t), tt.opts); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if out.String() != tt.want {
				t.Fatalf("output:\n%q\nwant:\n%q", out.String(), tt.want)
			}
		})
	}
}

func TestRunLeaderboardAndHelp(t *testing.T) {
	var out bytes.Buffer
	in := "/leaderboard\n/help\n/wallet 0x51f63885534cb494f4592a0311551f369bff2b39\n"
	if err := console.Run(context.Background(), strings.NewReader(in), &out, newRouter(t), console.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"coattail> Top wallets — all time\nNo ranked wallets yet — the book fills as events arrive.\n\n",
		"coattail> Commands\n/start — ",
		"\nAdmin:\n/halt\n", // the console user is an admin
		"coattail> No data for wallet 0x51f63885534cb494f4592a0311551f369bff2b39 yet",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while Run writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runAsync starts Run and returns a channel with its result.
func runAsync(ctx context.Context, t *testing.T, in io.Reader, out io.Writer) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	r := newRouter(t)
	go func() { done <- console.Run(ctx, in, out, r, console.Options{}) }()
	return done
}

// wait fails the test if Run does not return; the bound only guards against a hang.
func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func TestRunReturnsOnCancelWhileReadBlocks(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := runAsync(ctx, t, pr, &out)

	// io.Pipe hands the line over synchronously; after it the reading goroutine
	// is either passing it on or blocked on a Read that never returns.
	if _, err := io.WriteString(pw, "/whoami\n"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := wait(t, done); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if got := out.String(); !strings.HasPrefix(got, banner+"coattail> ") {
		t.Fatalf("output = %q", got)
	}
}

func TestRunReturnsOnCancelBeforeInput(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out syncBuffer
	if err := wait(t, runAsync(ctx, t, pr, &out)); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := out.String(); got != banner+"coattail> \n" {
		t.Fatalf("output = %q", got)
	}
}

func TestRunReadError(t *testing.T) {
	boom := errors.New("tty gone")
	in := io.MultiReader(strings.NewReader("/whoami\n"), iotest.ErrReader(boom))
	var out bytes.Buffer
	err := console.Run(context.Background(), in, &out, newRouter(t), console.Options{})
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want %v", err, boom)
	}
	if !strings.Contains(out.String(), "console/console/console") {
		t.Fatalf("lines before the error were not handled: %q", out.String())
	}
}

func TestRunLineTooLong(t *testing.T) {
	in := strings.NewReader("/whoami " + strings.Repeat("x", 2<<20) + "\n")
	err := console.Run(context.Background(), in, io.Discard, newRouter(t), console.Options{})
	if err == nil || !strings.Contains(err.Error(), "console: read input") {
		t.Fatalf("Run = %v, want a read error", err)
	}
}

// failWriter accepts n writes, then fails.
type failWriter struct {
	n   int
	err error
}

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	f.n--
	return len(p), nil
}

func TestRunWriteError(t *testing.T) {
	boom := errors.New("broken pipe")
	for _, n := range []int{0, 2, 3} { // banner, first prompt, first reply
		pr, pw := io.Pipe()
		go func() {
			// Endless input: Run must stop because of the writer, not EOF.
			for {
				if _, err := io.WriteString(pw, "/whoami\n"); err != nil {
					return
				}
			}
		}()
		err := wait(t, runAsync(context.Background(), t, pr, &failWriter{n: n, err: boom}))
		pr.Close()
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "console: write output") {
			t.Fatalf("after %d writes: Run = %v, want the write error", n, err)
		}
	}
}
