package window

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sum is a test aggregate: the count and total of the values folded in.
type sum struct {
	N     int     `json:"n"`
	Total float64 `json:"total"`
}

func fold(a *sum, v float64) { a.N++; a.Total += v }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

type in struct {
	src, key string
	sec      float64
	v        float64
}

func newOp(t *testing.T, cfg Config) *Operator[float64, sum] {
	t.Helper()
	if cfg.Specs == nil {
		cfg.Specs = []Spec{Tumbling("10s", 10*time.Second)}
	}
	o, err := New(cfg, fold)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// render formats emitted windows for comparison.
func render(ws []Window[sum]) []string {
	var out []string
	for _, w := range ws {
		kind := "final"
		if w.Correction {
			kind = "correction"
		} else if !w.Final {
			kind = "open"
		}
		out = append(out, fmt.Sprintf("%s/%s/%s@%s %s n=%d total=%g", w.Source, w.Key, w.Spec,
			w.Start.Sub(t0), kind, w.Agg.N, w.Agg.Total))
	}
	return out
}

func feed(o *Operator[float64, sum], ins []in) (out []string, late []string) {
	for _, e := range ins {
		r := o.Add(e.src, e.key, at(e.sec), e.v)
		out = append(out, render(r.Emitted)...)
		if r.Late {
			late = append(late, fmt.Sprintf("%s/%s@%g", e.src, e.key, e.sec))
		}
	}
	return out, late
}

func TestOutOfOrderWithinLateness(t *testing.T) {
	o := newOp(t, Config{Lateness: 5 * time.Second})
	out, late := feed(o, []in{
		{"x", "a", 1, 1},
		{"x", "a", 12, 2}, // watermark 7: window [0,10) stays open
		{"x", "a", 8, 4},  // out of order, inside the lateness: joins [0,10)
		{"x", "a", 15, 8}, // watermark 10: [0,10) is emitted with both values
	})
	want := []string{"x/a/10s@0s final n=2 total=5"}
	if !reflect.DeepEqual(out, want) || late != nil {
		t.Fatalf("emitted %q late %q, want %q and none late", out, late, want)
	}
	if wm, _ := o.Watermark("x"); !wm.Equal(at(10)) {
		t.Errorf("watermark %v, want %v", wm, at(10))
	}
}

func TestLateBeyondLatenessDeadLetter(t *testing.T) {
	o := newOp(t, Config{Lateness: 2 * time.Second, Policy: DeadLetter})
	out, late := feed(o, []in{
		{"x", "a", 3, 1},
		{"x", "a", 13, 2}, // watermark 11: [0,10) emitted with 1
		{"x", "a", 4, 100},
	})
	if want := []string{"x/a/10s@0s final n=1 total=1"}; !reflect.DeepEqual(out, want) {
		t.Fatalf("emitted %q, want %q", out, want)
	}
	if want := []string{"x/a@4"}; !reflect.DeepEqual(late, want) {
		t.Fatalf("late %q, want %q", late, want)
	}
	if s := o.Sources(); len(s) != 1 || s[0].Late != 1 {
		t.Errorf("sources %+v, want one late event counted", s)
	}
	// The late value was not merged into anything still open.
	if got := render(o.TakeDirty()); !reflect.DeepEqual(got, []string{"x/a/10s@10s open n=1 total=2"}) {
		t.Errorf("open windows %q", got)
	}
}

func TestLateBeyondLatenessCorrection(t *testing.T) {
	o := newOp(t, Config{Lateness: 2 * time.Second, Policy: Correction})
	out, late := feed(o, []in{
		{"x", "a", 3, 1},
		{"x", "a", 13, 2},
		{"x", "a", 4, 100},
	})
	want := []string{"x/a/10s@0s final n=1 total=1", "x/a/10s@0s correction n=1 total=100"}
	if !reflect.DeepEqual(out, want) || late != nil {
		t.Fatalf("emitted %q late %q, want %q", out, late, want)
	}
	if s := o.Sources(); s[0].Late != 1 {
		t.Errorf("late count %d, want 1", s[0].Late)
	}
}

func TestEmissionOnWatermarkPerSource(t *testing.T) {
	o := newOp(t, Config{Specs: []Spec{Tumbling("10s", 10*time.Second), Hopping("20s/10s", 20*time.Second, 10*time.Second)}})
	out, _ := feed(o, []in{
		{"x", "b", 5, 1},
		{"x", "a", 6, 2},
		{"y", "a", 7, 3},
		{"y", "a", 30, 0}, // y's watermark passes 20: only y's windows close
		{"x", "a", 10, 4}, // x's watermark reaches 10: [0,10) of a and b close, sorted by key
	})
	want := []string{
		"y/a/10s@0s final n=1 total=3",
		"y/a/20s/10s@-10s final n=1 total=3",
		"y/a/20s/10s@0s final n=1 total=3",
		"x/a/10s@0s final n=1 total=2",
		"x/a/20s/10s@-10s final n=1 total=2",
		"x/b/10s@0s final n=1 total=1",
		"x/b/20s/10s@-10s final n=1 total=1",
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("emitted\n%s\nwant\n%s", strings.Join(out, "\n"), strings.Join(want, "\n"))
	}
	// Nothing closes before its end: [0,20) of x is still open at watermark 10.
	if got := render(o.FlushAll()); !reflect.DeepEqual(got, []string{
		"x/a/10s@10s final n=1 total=4", "x/a/20s/10s@0s final n=2 total=6", "x/b/20s/10s@0s final n=1 total=1",
		"x/a/20s/10s@10s final n=1 total=4", "y/a/10s@30s final n=1 total=0", "y/a/20s/10s@20s final n=1 total=0", "y/a/20s/10s@30s final n=1 total=0"}) {
		t.Errorf("flush %q", got)
	}
	// After the flush, events for the flushed windows are late.
	if r := o.Add("x", "a", at(15), 1); !r.Late {
		t.Errorf("an event in a flushed window was not late")
	}
}

// stream is a deterministic out-of-order input with keys, sources and lateness.
func stream() []in {
	var ins []in
	for i := range 400 {
		sec := float64(i) * 0.7
		if i%7 == 3 {
			sec -= 9 // out of order, sometimes beyond the lateness
		}
		ins = append(ins, in{src: []string{"x", "y"}[i%2], key: []string{"a", "b", "c"}[i%3], sec: sec, v: float64(i)})
	}
	return ins
}

func TestRestartMidWindowMatchesUninterrupted(t *testing.T) {
	for _, policy := range []Policy{DeadLetter, Correction} {
		cfg := Config{Lateness: 4 * time.Second, Policy: policy,
			Specs: []Spec{Tumbling("10s", 10*time.Second), Hopping("30s/10s", 30*time.Second, 10*time.Second)}}
		ins := stream()
		want, wantLate := feed(newOp(t, cfg), ins)
		wantLast := render(newOpFed(t, cfg, ins).FlushAll())
		if len(want) == 0 || (policy == DeadLetter && len(wantLate) == 0) {
			t.Fatalf("the input emits nothing or nothing late: test is vacuous")
		}
		for _, cut := range []int{1, 37, 200, 399} {
			o := newOp(t, cfg)
			got, gotLate := feed(o, ins[:cut])
			b, err := o.MarshalState()
			if err != nil {
				t.Fatal(err)
			}
			r := newOp(t, cfg) // a new process
			if err := r.Restore(b); err != nil {
				t.Fatal(err)
			}
			more, moreLate := feed(r, ins[cut:])
			got, gotLate = append(got, more...), append(gotLate, moreLate...)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotLate, wantLate) {
				t.Errorf("policy %d, restart after %d events: output differs from an uninterrupted run", policy, cut)
			}
			if a, b := r.Sources(), newOpFed(t, cfg, ins).Sources(); !reflect.DeepEqual(a, b) {
				t.Errorf("source stats after restart %+v, want %+v", a, b)
			}
			if last := render(r.FlushAll()); !reflect.DeepEqual(last, wantLast) {
				t.Errorf("policy %d, restart after %d: final flush %q, want %q", policy, cut, last, wantLast)
			}
		}
	}
}

func newOpFed(t *testing.T, cfg Config, ins []in) *Operator[float64, sum] {
	o := newOp(t, cfg)
	feed(o, ins)
	return o
}

func TestFlushIdleUsesInjectedClock(t *testing.T) {
	now := t0
	o := newOp(t, Config{Lateness: time.Minute, IdleAfter: 30 * time.Second, Clock: func() time.Time { return now }})
	feed(o, []in{{"x", "a", 1, 1}, {"x", "a", 25, 2}})
	if got := o.FlushIdle(); got != nil {
		t.Fatalf("flushed a source that is not idle: %q", render(got))
	}
	now = now.Add(31 * time.Second)
	// Idle: windows ending at or before the largest event time (25s) close; [20,30) stays.
	if got := render(o.FlushIdle()); !reflect.DeepEqual(got, []string{"x/a/10s@0s final n=1 total=1"}) {
		t.Fatalf("idle flush %q", got)
	}
	if o.Open() != 1 {
		t.Errorf("%d windows open, want 1", o.Open())
	}
}

func TestTakeDirty(t *testing.T) {
	o := newOp(t, Config{Lateness: 5 * time.Second})
	feed(o, []in{{"x", "a", 1, 1}, {"x", "b", 2, 2}})
	if got := render(o.TakeDirty()); len(got) != 2 {
		t.Fatalf("dirty %q, want two open windows", got)
	}
	if got := o.TakeDirty(); len(got) != 0 {
		t.Fatalf("dirty again without changes: %q", render(got))
	}
	feed(o, []in{{"x", "a", 3, 5}})
	if got := render(o.TakeDirty()); !reflect.DeepEqual(got, []string{"x/a/10s@0s open n=2 total=6"}) {
		t.Errorf("dirty %q", got)
	}
}

func TestSpecValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no specs":     {},
		"zero size":    {Specs: []Spec{{Name: "z"}}},
		"ragged hop":   {Specs: []Spec{Hopping("h", 10*time.Second, 3*time.Second)}},
		"neg lateness": {Specs: []Spec{Tumbling("t", time.Second)}, Lateness: -1},
	} {
		if _, err := New(cfg, fold); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestHoppingStarts(t *testing.T) {
	s := Hopping("h", 30*time.Second, 10*time.Second)
	got := s.starts(nil, int64(25*time.Second))
	want := []int64{int64(0), int64(10 * time.Second), int64(20 * time.Second)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("starts %v, want %v", got, want)
	}
	if got := Tumbling("t", 10*time.Second).starts(nil, -1); !reflect.DeepEqual(got, []int64{int64(-10 * time.Second)}) {
		t.Errorf("negative time starts %v", got)
	}
}
