package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Private servers: a Redis or Postgres of the test's own, started on a free port in a
// temporary directory, for the chaos tests that stop, kill and restart them mid-run —
// something a test must never do to the shared servers other packages use at the same
// time. They skip the test with a clear message when the server binaries are absent.

// freePort asks the kernel for a port nobody listens on.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// PrivateRedis is a redis-server of one test, with append-only-file persistence
// (fsync on every write), so a restart keeps every acknowledged write.
type PrivateRedis struct {
	t    testing.TB
	dir  string
	Port int
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// StartPrivateRedis starts a Redis with AOF on a free port; it is killed when the test
// ends.
func StartPrivateRedis(t testing.TB) *PrivateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed: the private-Redis chaos tests need it (apt-get install redis-server)")
	}
	r := &PrivateRedis{t: t, dir: t.TempDir(), Port: freePort(t)}
	r.Start()
	t.Cleanup(func() { r.Kill() })
	return r
}

// URL is the server's redis:// URL.
func (r *PrivateRedis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port) }

// Start (re)starts the server on its port and directory and waits until it answers.
func (r *PrivateRedis) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "")
	cmd.Stdout, cmd.Stderr = nil, nil
	DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.cmd = cmd
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.Port)})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !WaitFor(ctx, func() bool { return rdb.Ping(ctx).Err() == nil }) {
		r.t.Fatalf("private redis on port %d did not answer", r.Port)
	}
}

// Stop shuts the server down the way an operator's restart does (SIGTERM: the AOF is
// flushed) and waits for it to exit.
func (r *PrivateRedis) Stop() { r.signal(syscall.SIGTERM) }

// Kill SIGKILLs the server (with appendfsync always nothing acknowledged is lost).
func (r *PrivateRedis) Kill() { r.signal(syscall.SIGKILL) }

func (r *PrivateRedis) signal(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(sig)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// PrivatePostgres is a PostgreSQL cluster of one test, in its own data directory and on
// its own port, trust authentication for user postgres.
type PrivatePostgres struct {
	t    testing.TB
	dir  string
	bin  string
	Port int
	as   []string // runuser prefix when running as root
}

// postgresBin finds the newest installed server's bin directory.
func postgresBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("pg_ctl not found in PATH or /usr/lib/postgresql/*/bin")
}

// StartPrivatePostgres initialises and starts a cluster; it is stopped and removed when
// the test ends. Postgres refuses to run as root, so as root it runs as the postgres
// system user (present wherever the Debian packages are).
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Skipf("PostgreSQL server binaries not installed: the private-Postgres chaos tests need them (%v)", err)
	}
	p := &PrivatePostgres{t: t, bin: bin, Port: freePort(t)}
	base, err := os.MkdirTemp("", "coattail-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = filepath.Join(base, "data")
	t.Cleanup(func() {
		p.run("pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(base)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root and no postgres user to run a private cluster as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.as = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := p.run("initdb", "-D", p.dir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.Start()
	return p
}

func (p *PrivatePostgres) run(tool string, args ...string) ([]byte, error) {
	argv := append(append([]string{}, p.as...), filepath.Join(p.bin, tool))
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = os.TempDir()
	return cmd.CombinedOutput()
}

// URL is the cluster's postgres:// URL (database postgres).
func (p *PrivatePostgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
}

// Start starts the cluster and waits until it accepts connections.
func (p *PrivatePostgres) Start() {
	p.t.Helper()
	opts := strings.Join([]string{"-p", strconv.Itoa(p.Port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + filepath.Dir(p.dir), "-c", "fsync=off"}, " ")
	if out, err := p.run("pg_ctl", "-D", p.dir, "-o", opts, "-l", filepath.Join(filepath.Dir(p.dir), "log"), "-w", "start"); err != nil {
		p.t.Fatalf("start private postgres: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ok := WaitFor(ctx, func() bool {
		c, err := pgx.Connect(ctx, p.URL())
		if err != nil {
			return false
		}
		_ = c.Close(ctx)
		return true
	})
	if !ok {
		p.t.Fatalf("private postgres on port %d did not accept connections", p.Port)
	}
}

// Crash stops the cluster the hard way (immediate mode: no checkpoint, recovery from
// the WAL on the next start), as a crash or an OOM kill would.
func (p *PrivatePostgres) Crash() {
	p.t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop"); err != nil {
		p.t.Fatalf("crash private postgres: %v\n%s", err, out)
	}
}
