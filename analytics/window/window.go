// Package window is event-time windowing for the stream stages: tumbling and hopping
// windows, a watermark per source (the largest event time seen from the source minus
// the allowed lateness), windows emitted once the watermark passes their end, and late
// events (whose window was already emitted) routed by an explicit policy instead of
// being merged silently. It does no I/O: the whole state is a value that serialises
// (MarshalState, Restore) so a stage can checkpoint it with its stream position in one
// transaction, and a restarted worker that restores it produces exactly the output an
// uninterrupted one would have.
//
// Output depends only on the sequence of Add calls, never on how they are batched or on
// the wall clock: the clock is used only by FlushIdle, a processing-time escape hatch for
// live sources that stop sending.
package window

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Spec is one window shape: windows of Size starting every Hop. Hop 0 (or Hop == Size)
// is a tumbling window; Hop < Size gives overlapping (hopping, "sliding") windows.
// Windows are aligned to the Unix epoch, so a 1m window starts on a whole minute.
type Spec struct {
	Name string // e.g. "1m"; names the window in output
	Size time.Duration
	Hop  time.Duration
}

// Tumbling returns a tumbling window spec.
func Tumbling(name string, size time.Duration) Spec { return Spec{Name: name, Size: size} }

// Hopping returns a hopping window spec: windows of size every hop.
func Hopping(name string, size, hop time.Duration) Spec {
	return Spec{Name: name, Size: size, Hop: hop}
}

func (s Spec) hop() int64 {
	if s.Hop <= 0 || s.Hop > s.Size {
		return int64(s.Size)
	}
	return int64(s.Hop)
}

// starts appends the starts (Unix nanoseconds) of the windows containing t, oldest first.
func (s Spec) starts(dst []int64, t int64) []int64 {
	hop, size := s.hop(), int64(s.Size)
	last := floorDiv(t, hop) * hop
	for st := last - ((size-1)/hop)*hop; st <= last; st += hop {
		if t >= st && t < st+size {
			dst = append(dst, st)
		}
	}
	return dst
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Policy says what happens to an event whose window was already emitted.
type Policy uint8

const (
	// DeadLetter counts the event and reports it to the caller (Result.Late), which
	// records it as a dead letter with ReasonLate. The emitted window stays as it was.
	DeadLetter Policy = iota
	// Correction applies the event to the emitted window: the operator emits a
	// correction (Window.Correction) holding only the late event's contribution, which
	// the caller merges into the stored window and re-emits.
	Correction
)

// ReasonLate is the dead-letter reason of an event beyond the allowed lateness.
const ReasonLate = "late_event"

// Config configures an Operator. Zero values are defaults.
type Config struct {
	// Specs are the window shapes every event is assigned to. At least one.
	Specs []Spec
	// Lateness is how far behind the largest event time seen an event may be and still
	// count as on time. Defaults to 0 (any event older than the newest window emitted
	// is late).
	Lateness time.Duration
	// Policy routes late events. Defaults to DeadLetter.
	Policy Policy
	// Clock is processing time, used only by FlushIdle. Defaults to time.Now.
	Clock func() time.Time
	// IdleAfter: FlushIdle closes the windows of a source that sent nothing for this
	// long (processing time). 0 disables it.
	IdleAfter time.Duration
}

// Window is an emitted window (or, with Correction set, a correction to one).
type Window[A any] struct {
	Source string
	Key    string
	Spec   string // the spec's name
	Start  time.Time
	End    time.Time
	Agg    A
	// Correction: Agg holds only late events' contributions, to be merged into the
	// window emitted before.
	Correction bool
	// Final: the watermark passed the window's end. False for an open window reported
	// by TakeDirty (its current, provisional value).
	Final bool
}

// Result is what one Add did.
type Result[A any] struct {
	// Emitted are the windows the watermark passed, and any corrections, in a
	// deterministic order: by end, key, spec, start.
	Emitted []Window[A]
	// Late is set when the event was late for at least one of its windows under the
	// DeadLetter policy; LateFor names the first such window's spec.
	Late    bool
	LateFor string
}

type slot struct {
	Source string
	Key    string
	Spec   int
	Start  int64
}

type sourceState struct {
	MaxEvent int64 // Unix nanoseconds; math.MinInt64 before the first event
	Floor    int64 // watermark floor raised by flushes
	Late     int64 // events late for at least one window
	seenAt   time.Time
}

func (s *sourceState) watermark(lateness int64) int64 {
	wm := s.MaxEvent
	if wm != math.MinInt64 {
		wm -= lateness
	}
	return max(wm, s.Floor)
}

// Operator assigns values to windows and folds them with fold. Not safe for
// concurrent use; a stage keeps one per shard.
type Operator[V, A any] struct {
	cfg      Config
	fold     func(*A, V)
	open     map[slot]*A
	sources  map[string]*sourceState
	dirty    map[slot]bool
	nextEnd  map[string]int64 // earliest end among a source's open windows
	startBuf []int64
}

// New returns an operator folding values into window aggregates with fold, starting
// from the aggregate's zero value.
func New[V, A any](cfg Config, fold func(*A, V)) (*Operator[V, A], error) {
	if len(cfg.Specs) == 0 {
		return nil, errors.New("window: at least one spec required")
	}
	for _, s := range cfg.Specs {
		if s.Size <= 0 || s.Hop < 0 {
			return nil, fmt.Errorf("window spec %q: size must be positive and hop not negative", s.Name)
		}
		if s.Hop > 0 && int64(s.Size)%int64(s.Hop) != 0 {
			return nil, fmt.Errorf("window spec %q: size %v must be a multiple of hop %v", s.Name, s.Size, s.Hop)
		}
	}
	if cfg.Lateness < 0 {
		return nil, errors.New("window: lateness must not be negative")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Operator[V, A]{cfg: cfg, fold: fold, open: map[slot]*A{}, sources: map[string]*sourceState{},
		dirty: map[slot]bool{}, nextEnd: map[string]int64{}}, nil
}

func (o *Operator[V, A]) source(name string) *sourceState {
	s := o.sources[name]
	if s == nil {
		s = &sourceState{MaxEvent: math.MinInt64, Floor: math.MinInt64}
		o.sources[name] = s
	}
	return s
}

// Watermark returns a source's watermark and whether the source was seen.
func (o *Operator[V, A]) Watermark(source string) (time.Time, bool) {
	s, ok := o.sources[source]
	if !ok || s.MaxEvent == math.MinInt64 {
		return time.Time{}, false
	}
	return time.Unix(0, s.watermark(int64(o.cfg.Lateness))).UTC(), true
}

// SourceStat describes one source for monitoring.
type SourceStat struct {
	Source    string
	Watermark time.Time
	MaxEvent  time.Time
	Late      int64
}

// Sources lists every source seen, sorted by name.
func (o *Operator[V, A]) Sources() []SourceStat {
	out := make([]SourceStat, 0, len(o.sources))
	for name, s := range o.sources {
		if s.MaxEvent == math.MinInt64 {
			continue
		}
		out = append(out, SourceStat{Source: name, Watermark: time.Unix(0, s.watermark(int64(o.cfg.Lateness))).UTC(),
			MaxEvent: time.Unix(0, s.MaxEvent).UTC(), Late: s.Late})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// Add assigns v, of event time ts from source, to its windows under key, advances the
// source's watermark and emits every window of the source it passed.
func (o *Operator[V, A]) Add(source, key string, ts time.Time, v V) Result[A] {
	var res Result[A]
	src := o.source(source)
	if o.cfg.IdleAfter > 0 { // only FlushIdle reads it
		src.seenAt = o.cfg.Clock()
	}
	t := ts.UnixNano()
	if t > src.MaxEvent {
		src.MaxEvent = t
	}
	wm := src.watermark(int64(o.cfg.Lateness))
	late := false
	for i, spec := range o.cfg.Specs {
		o.startBuf = spec.starts(o.startBuf[:0], t)
		for _, st := range o.startBuf {
			end := st + int64(spec.Size)
			sl := slot{source, key, i, st}
			if end <= wm {
				if !late {
					late = true
					src.Late++
				}
				switch o.cfg.Policy {
				case Correction:
					var a A
					o.fold(&a, v)
					res.Emitted = append(res.Emitted, o.window(sl, &a, true, true))
				default:
					if !res.Late {
						res.Late, res.LateFor = true, spec.Name
					}
				}
				continue
			}
			a := o.open[sl]
			if a == nil {
				a = new(A)
				o.open[sl] = a
				if ne, ok := o.nextEnd[source]; !ok || end < ne {
					o.nextEnd[source] = end
				}
			}
			o.fold(a, v)
			o.dirty[sl] = true
		}
	}
	res.Emitted = append(res.Emitted, o.advance(source, wm)...)
	return res
}

func (o *Operator[V, A]) window(sl slot, a *A, correction, final bool) Window[A] {
	spec := o.cfg.Specs[sl.Spec]
	return Window[A]{Source: sl.Source, Key: sl.Key, Spec: spec.Name, Start: time.Unix(0, sl.Start).UTC(),
		End: time.Unix(0, sl.Start+int64(spec.Size)).UTC(), Agg: *a, Correction: correction, Final: final}
}

// advance emits the source's open windows that end at or before wm.
func (o *Operator[V, A]) advance(source string, wm int64) []Window[A] {
	ne, ok := o.nextEnd[source]
	if !ok || ne > wm {
		return nil
	}
	var done []slot
	next, has := int64(0), false
	for sl := range o.open {
		if sl.Source != source {
			continue
		}
		end := sl.Start + int64(o.cfg.Specs[sl.Spec].Size)
		if end <= wm {
			done = append(done, sl)
		} else if !has || end < next {
			next, has = end, true
		}
	}
	if has {
		o.nextEnd[source] = next
	} else {
		delete(o.nextEnd, source)
	}
	o.sortSlots(done)
	out := make([]Window[A], 0, len(done))
	for _, sl := range done {
		out = append(out, o.window(sl, o.open[sl], false, true))
		delete(o.open, sl)
		delete(o.dirty, sl)
	}
	return out
}

func (o *Operator[V, A]) sortSlots(s []slot) {
	sort.Slice(s, func(i, j int) bool {
		a, b := s[i], s[j]
		ea, eb := a.Start+int64(o.cfg.Specs[a.Spec].Size), b.Start+int64(o.cfg.Specs[b.Spec].Size)
		if ea != eb {
			return ea < eb
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.Spec != b.Spec {
			return a.Spec < b.Spec
		}
		return a.Start < b.Start
	})
}

// TakeDirty returns the open windows changed since the last call, with their current
// (provisional, Final false) aggregates, in the emission order, and forgets them. A
// stage writes them so a result table holds every window, open ones included.
func (o *Operator[V, A]) TakeDirty() []Window[A] {
	sl := make([]slot, 0, len(o.dirty))
	for s := range o.dirty {
		sl = append(sl, s)
	}
	o.sortSlots(sl)
	out := make([]Window[A], 0, len(sl))
	for _, s := range sl {
		out = append(out, o.window(s, o.open[s], false, false))
	}
	clear(o.dirty)
	return out
}

// FlushAll emits every open window, advancing each source's watermark just past its
// last open window, so events for those windows count as late afterwards. It is the
// deterministic "end of input".
func (o *Operator[V, A]) FlushAll() []Window[A] {
	var out []Window[A]
	names := make([]string, 0, len(o.sources))
	for n := range o.sources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, o.flushSource(n, math.MaxInt64)...)
	}
	return out
}

// flushSource raises the source's watermark floor to the end of its newest open window
// that ends at or before limit, and emits what that passes.
func (o *Operator[V, A]) flushSource(name string, limit int64) []Window[A] {
	src := o.source(name)
	floor := src.Floor
	for sl := range o.open {
		if sl.Source != name {
			continue
		}
		if end := sl.Start + int64(o.cfg.Specs[sl.Spec].Size); end <= limit && end > floor {
			floor = end
		}
	}
	src.Floor = floor
	return o.advance(name, src.watermark(int64(o.cfg.Lateness)))
}

// FlushIdle closes, for each source that sent nothing for IdleAfter of processing
// time, the windows that end at or before its largest event time (the lateness is
// waived: nothing more is coming). Off when IdleAfter is 0. This is the only use of the
// clock, so output stays a function of the input unless it is called.
func (o *Operator[V, A]) FlushIdle() []Window[A] {
	if o.cfg.IdleAfter <= 0 {
		return nil
	}
	now := o.cfg.Clock()
	names := make([]string, 0, len(o.sources))
	for n, s := range o.sources {
		if s.MaxEvent != math.MinInt64 && !s.seenAt.IsZero() && now.Sub(s.seenAt) >= o.cfg.IdleAfter {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []Window[A]
	for _, n := range names {
		out = append(out, o.flushSource(n, o.sources[n].MaxEvent)...)
	}
	return out
}

// Open reports the number of open windows.
func (o *Operator[V, A]) Open() int { return len(o.open) }

// snapshot is the serialised state.
type snapshot[A any] struct {
	Sources map[string]snapSource `json:"sources"`
	Open    []snapWindow[A]       `json:"open"`
}

type snapSource struct {
	MaxEvent int64 `json:"max"`
	Floor    int64 `json:"floor"`
	Late     int64 `json:"late"`
}

type snapWindow[A any] struct {
	Source string `json:"src"`
	Key    string `json:"key"`
	Spec   string `json:"spec"`
	Start  int64  `json:"start"`
	Agg    A      `json:"agg"`
}

// MarshalState serialises the keyed state: every source's event-time progress and every
// open window's aggregate (A must marshal to JSON and back unchanged). Dirty marks and
// processing-time bookkeeping are not state.
func (o *Operator[V, A]) MarshalState() ([]byte, error) {
	s := snapshot[A]{Sources: map[string]snapSource{}}
	for n, src := range o.sources {
		s.Sources[n] = snapSource{MaxEvent: src.MaxEvent, Floor: src.Floor, Late: src.Late}
	}
	sl := make([]slot, 0, len(o.open))
	for k := range o.open {
		sl = append(sl, k)
	}
	o.sortSlots(sl)
	for _, k := range sl {
		s.Open = append(s.Open, snapWindow[A]{Source: k.Source, Key: k.Key, Spec: o.cfg.Specs[k.Spec].Name, Start: k.Start, Agg: *o.open[k]})
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("window state: %w", err)
	}
	return b, nil
}

// Restore replaces the operator's state with one MarshalState produced. An empty b
// resets it.
func (o *Operator[V, A]) Restore(b []byte) error {
	o.open, o.sources, o.dirty, o.nextEnd = map[slot]*A{}, map[string]*sourceState{}, map[slot]bool{}, map[string]int64{}
	if len(b) == 0 {
		return nil
	}
	var s snapshot[A]
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	for n, src := range s.Sources {
		o.sources[n] = &sourceState{MaxEvent: src.MaxEvent, Floor: src.Floor, Late: src.Late}
	}
	specs := map[string]int{}
	for i, sp := range o.cfg.Specs {
		specs[sp.Name] = i
	}
	for _, w := range s.Open {
		i, ok := specs[w.Spec]
		if !ok {
			return fmt.Errorf("window state: unknown spec %q", w.Spec)
		}
		a := w.Agg
		sl := slot{w.Source, w.Key, i, w.Start}
		o.open[sl] = &a
		end := w.Start + int64(o.cfg.Specs[i].Size)
		if ne, ok := o.nextEnd[w.Source]; !ok || end < ne {
			o.nextEnd[w.Source] = end
		}
	}
	return nil
}
