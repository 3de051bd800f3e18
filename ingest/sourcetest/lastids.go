package sourcetest

import (
	"maps"
	"testing"

	"github.com/coattailcapital/coattail/ingest"
)

// Resumer is, for the checkpoint tests of a source whose position is one id per
// symbol (package lastids), its Config.WithCheckpoint applied to the test's
// configuration: it returns the Resume map pos set and a function that starts a
// source from that configuration.
type Resumer func(pos []byte) (resume map[string]int64, start func() (ingest.Checkpointer, error), err error)

// ResumeCase is a checkpoint and what Config.WithCheckpoint must make of it.
type ResumeCase struct {
	Pos     string
	Want    map[string]int64 // the Resume set; nil for "left as it was"
	WantErr bool
}

// ResumeCases checks, as subtests of t, the Resume that resume makes of each case's
// checkpoint and, for each checkpoint that is read, that a source started from it
// checkpoints, before anything is emitted, where it was resumed from: its own
// checkpoint read back through resume is Want again.
func ResumeCases(t *testing.T, resume Resumer, cases map[string]ResumeCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, start, err := resume([]byte(tc.Pos))
			if (err != nil) != tc.WantErr {
				t.Fatalf("err %v, want error %v", err, tc.WantErr)
			}
			if err != nil {
				return
			}
			if !maps.Equal(got, tc.Want) {
				t.Errorf("Resume %v, want %v", got, tc.Want)
			}
			if tc.Pos == "" {
				return // no checkpoint: nothing to read back
			}
			src, err := start()
			if err != nil {
				t.Fatal(err)
			}
			cp, err := src.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			again, _, err := resume(cp)
			if err != nil || !maps.Equal(again, tc.Want) {
				t.Errorf("checkpoint %s read back as %v (%v), want %v", cp, again, err, tc.Want)
			}
		})
	}
}
