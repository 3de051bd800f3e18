package evm

import "testing"

func TestWithCheckpointResumesAfterTheLastBlock(t *testing.T) {
	tests := []struct {
		name string
		from uint64
		pos  string
		want uint64
		err  bool
	}{
		{"no checkpoint", 0, "", 0, false},
		{"resume", 0, `{"last_block":17173049}`, 17173050, false},
		{"explicit backfill wins", 100, `{"last_block":17173049}`, 100, false},
		{"zero ignored", 0, `{"last_block":0}`, 0, false},
		{"garbage", 0, `{`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Config{FromBlock: tt.from}.WithCheckpoint([]byte(tt.pos))
			if (err != nil) != tt.err || c.FromBlock != tt.want {
				t.Fatalf("FromBlock %d err %v, want %d err %v", c.FromBlock, err, tt.want, tt.err)
			}
		})
	}
}

func TestCheckpointIsNilUntilABlockIsKnown(t *testing.T) {
	s := &Source{}
	if pos, err := s.Checkpoint(); pos != nil || err != nil {
		t.Fatalf("Checkpoint = %s, %v; want nil before any block", pos, err)
	}
	s.last.Store(42)
	pos, err := s.Checkpoint()
	if err != nil || string(pos) != `{"last_block":42}` {
		t.Fatalf("Checkpoint = %s, %v", pos, err)
	}
}
