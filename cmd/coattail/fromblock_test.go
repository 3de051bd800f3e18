package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/ingest/evm"
)

// `ingest --from-block N` (withFromBlock) reaches evm.Config.FromBlock over
// COATTAIL_ETH_FROM_BLOCK and the stored checkpoint. The source's LastBlock before it
// runs is FromBlock-1 (its documented start), or the checkpoint's block.
func TestFromBlockReachesTheEthereumSource(t *testing.T) {
	checkpoint := []byte(`{"last_block": 100}`)
	for _, tc := range []struct {
		name      string
		envFrom   string // COATTAIL_ETH_FROM_BLOCK
		flag      uint64 // --from-block; 0: not given
		pos       []byte
		wantFirst uint64 // first block to emit; 0: the head
	}{
		{"nothing: the head", "", 0, nil, 0},
		{"checkpoint resumes", "", 0, checkpoint, 101},
		{"variable over checkpoint", "50", 0, checkpoint, 50},
		{"flag alone", "", 12, nil, 12},
		{"flag over checkpoint", "", 12, checkpoint, 12},
		{"flag over variable and checkpoint", "50", 12, checkpoint, 12},
		{"flag ahead of the checkpoint", "", 5000, checkpoint, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"COATTAIL_ETH_RPC_URL": "http://127.0.0.1:1", "COATTAIL_ETH_FROM_BLOCK": tc.envFrom}
			getenv := func(k string) string { return vars[k] }
			if tc.flag > 0 {
				getenv = withFromBlock(getenv, tc.flag)
			}
			src, err := liveSource("ethereum", getenv, slog.New(slog.DiscardHandler), tc.pos)
			if err != nil {
				t.Fatal(err)
			}
			es, ok := src.(*evm.Source)
			if !ok {
				t.Fatalf("liveSource(ethereum) is a %T", src)
			}
			want := uint64(0)
			if tc.wantFirst > 0 {
				want = tc.wantFirst - 1
			}
			if got := es.LastBlock(); got != want {
				t.Errorf("start: last block %d (first %d), want first block %d", got, got+1, tc.wantFirst)
			}
		})
	}
	// The override touches only its variable.
	getenv := withFromBlock(func(k string) string { return "v:" + k }, 7)
	if got := getenv("COATTAIL_ETH_FROM_BLOCK"); got != "7" {
		t.Errorf("COATTAIL_ETH_FROM_BLOCK = %q, want 7", got)
	}
	if got := getenv("COATTAIL_ETH_RPC_URL"); got != "v:COATTAIL_ETH_RPC_URL" {
		t.Errorf("COATTAIL_ETH_RPC_URL = %q, want it passed through", got)
	}
}

// `coattail ingest --from-block` mistakes are exit 2 with a message saying what is
// wrong, before any node is needed.
func TestCLIIngestFromBlockErrors(t *testing.T) {
	s := newSchema(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ethereum without an RPC URL", []string{"ingest", "--from-block", "12", "--source", "ethereum"}, "needs COATTAIL_ETH_RPC_URL"},
		{"block 0", []string{"ingest", "--from-block", "0", "--source", "ethereum"}, "--from-block must be a block number >= 1"},
		{"negative block", []string{"ingest", "--from-block", "-3", "--source", "ethereum"}, "from-block"},
		{"not a number", []string{"ingest", "--from-block", "latest", "--source", "ethereum"}, "from-block"},
		{"without the ethereum source", []string{"ingest", "--from-block", "12", "--source", "binance"}, "--from-block applies to the ethereum source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.cli.run(t, tc.args...)
			if r.code != 2 {
				t.Fatalf("want exit 2, got %s", r)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stderr looks like a crash:\n%s", r.stderr)
			}
		})
	}
	if n := s.eventCount(t); n != 0 {
		t.Errorf("%d events stored by runs that should not have started", n)
	}
}
