package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/redis/go-redis/v9"
)

// PipelineHealth is GET /api/pipeline: how far each consumer group is behind on each
// shard, what was dead-lettered, and the stages whose health is not measured yet.
type PipelineHealth struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Prefix and Shards are the stream layout the server was started with; Shards is 0
	// when it was not told (then the streams are those named in stream_checkpoints).
	Prefix string        `json:"prefix"`
	Shards int           `json:"shards"`
	Groups []GroupHealth `json:"groups"`
	// DeadLetters counts the dead_letters table by reason (every stage's, not only the
	// gate's that coattail_dead_letters_total counts).
	DeadLetters DeadLetterHealth `json:"dead_letters"`
	// Watermarks is each windowed group's event-time progress per source (the
	// window_sources table): empty until a windowed stage has committed a batch.
	Watermarks []WatermarkHealth `json:"watermarks"`
	// AlertLatency is the time from a signal's event time to the delivery of its
	// alerts, over the alerts delivered in the last hour.
	AlertLatency AlertLatency `json:"alert_latency"`
	// RedisError is set when Redis could not be read; the Postgres side is still shown.
	RedisError string `json:"redis_error,omitempty"`
}

// GroupHealth is one consumer group (one pipeline stage) over its shards.
type GroupHealth struct {
	Group   string        `json:"group"`
	Pending int64         `json:"pending"` // delivered, not yet acknowledged, over all shards
	Lag     *int64        `json:"lag"`     // not yet delivered, over all shards; null when Redis cannot tell
	Shards  []ShardHealth `json:"shards"`
}

// ShardHealth is one group on one shard's stream.
type ShardHealth struct {
	Shard  int    `json:"shard"` // -1 when the stream name carries no shard number
	Stream string `json:"stream"`
	Length int64  `json:"length"`  // entries in the stream (not yet trimmed)
	LastID string `json:"last_id"` // the newest entry ever added; "" for a stream never written
	// CommittedID is the group's checkpoint (stream_checkpoints.last_id): entries up to
	// it are committed to Postgres. "" when the group never claimed the shard.
	CommittedID string     `json:"committed_id"`
	CommittedAt *time.Time `json:"committed_at"` // when the checkpoint last moved (or was claimed)
	Owner       string     `json:"owner"`
	Epoch       int64      `json:"epoch"`
	Pending     int64      `json:"pending"` // XINFO GROUPS: delivered, not acknowledged
	Lag         *int64     `json:"lag"`     // XINFO GROUPS: not yet delivered; null when unknown
	// BehindSeconds is how much older the committed entry is than the newest entry in
	// the stream, by their ids' millisecond times: 0 when everything is committed.
	BehindSeconds float64 `json:"behind_seconds"`
}

// WatermarkHealth is one windowed group's progress on one source over its shards.
type WatermarkHealth struct {
	store.GroupWatermark
	// DelaySeconds is the wall clock minus the watermark: how far behind real time
	// the group's windows close (the allowed lateness plus any backlog).
	DelaySeconds float64 `json:"delay_seconds"`
	// EventDelaySeconds is the newest event time minus the watermark: the allowed
	// lateness plus the skew between the source's shards.
	EventDelaySeconds float64 `json:"event_delay_seconds"`
}

// AlertLatency summarises alert delivery over a recent period.
type AlertLatency struct {
	store.DeliveryLatency
	WindowSeconds float64 `json:"window_seconds"` // the period measured, back from generated_at
}

// alertLatencyWindow is the period GET /api/pipeline measures alert latency over.
const alertLatencyWindow = time.Hour

// DeadLetterHealth counts stored dead letters.
type DeadLetterHealth struct {
	Total    int64            `json:"total"`
	ByReason map[string]int64 `json:"by_reason"`
}

func (s *Server) pipeline(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h, err := s.pipelineHealth(ctx)
	if err != nil {
		s.fail(w, "pipeline", err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// pipelineHealth gathers PipelineHealth. A Postgres failure is an error; a Redis
// failure is reported in RedisError, as the checkpoints alone still say something.
func (s *Server) pipelineHealth(ctx context.Context) (PipelineHealth, error) {
	h := PipelineHealth{GeneratedAt: time.Now().UTC(), Prefix: s.cfg.Streams.Prefix, Shards: s.cfg.Streams.Shards,
		Groups: []GroupHealth{}, DeadLetters: DeadLetterHealth{ByReason: map[string]int64{}},
		Watermarks: []WatermarkHealth{}}
	cps, err := s.cfg.Store.AllCheckpoints(ctx)
	if err != nil {
		return h, err
	}
	if h.DeadLetters.ByReason, err = s.cfg.Store.DeadLetterCounts(ctx); err != nil {
		return h, err
	}
	for _, n := range h.DeadLetters.ByReason {
		h.DeadLetters.Total += n
	}
	wms, err := s.cfg.Store.AllWatermarks(ctx)
	if err != nil {
		return h, err
	}
	h.Watermarks = make([]WatermarkHealth, len(wms))
	for i, wm := range wms {
		h.Watermarks[i] = WatermarkHealth{GroupWatermark: wm, DelaySeconds: h.GeneratedAt.Sub(wm.Watermark).Seconds(),
			EventDelaySeconds: wm.MaxEvent.Sub(wm.Watermark).Seconds()}
	}
	h.AlertLatency.WindowSeconds = alertLatencyWindow.Seconds()
	if h.AlertLatency.DeliveryLatency, err = s.cfg.Store.AlertDeliveryLatency(ctx, h.GeneratedAt.Add(-alertLatencyWindow)); err != nil {
		return h, err
	}

	// The streams: the configured shards, else whatever the checkpoints name.
	var streams []string
	if h.Shards > 0 {
		for i := range h.Shards {
			streams = append(streams, s.cfg.Streams.Stream(i))
		}
	} else {
		seen := map[string]bool{}
		for _, c := range cps {
			if !seen[c.Stream] {
				seen[c.Stream] = true
				streams = append(streams, c.Stream)
			}
		}
		sort.Slice(streams, func(i, j int) bool { return shardOf(streams[i]) < shardOf(streams[j]) })
	}
	inStreams := map[string]bool{}
	for _, st := range streams {
		inStreams[st] = true
	}

	type key struct{ group, stream string }
	rows := map[key]*ShardHealth{}
	groups := map[string]bool{}
	cell := func(group, st string) *ShardHealth {
		k := key{group, st}
		if rows[k] == nil {
			rows[k] = &ShardHealth{Shard: shardOf(st), Stream: st}
			groups[group] = true
		}
		return rows[k]
	}
	for _, c := range cps {
		if !inStreams[c.Stream] {
			continue
		}
		sh := cell(c.Group, c.Stream)
		at := c.UpdatedAt
		sh.CommittedID, sh.CommittedAt, sh.Owner, sh.Epoch = c.LastID, &at, c.Owner, c.Epoch
	}
	info, err := s.streamInfo(ctx, streams)
	if err != nil {
		h.RedisError = err.Error()
	}
	for _, st := range streams {
		si := info[st]
		for _, g := range si.groups {
			sh := cell(g.Name, st)
			sh.Pending = g.Pending
			if g.Lag >= 0 {
				lag := g.Lag
				sh.Lag = &lag
			}
		}
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		gh := GroupHealth{Group: g, Shards: []ShardHealth{}}
		var lag int64
		lagKnown := h.RedisError == ""
		for _, st := range streams {
			sh := rows[key{g, st}]
			if sh == nil {
				sh = &ShardHealth{Shard: shardOf(st), Stream: st}
			}
			si := info[st]
			sh.Length, sh.LastID = si.length, si.lastID
			sh.BehindSeconds = behind(si.lastID, sh.CommittedID)
			gh.Pending += sh.Pending
			if sh.Lag != nil {
				lag += *sh.Lag
			} else if si.exists {
				lagKnown = false
			}
			gh.Shards = append(gh.Shards, *sh)
		}
		if lagKnown {
			gh.Lag = &lag
		}
		h.Groups = append(h.Groups, gh)
	}
	return h, nil
}

type streamState struct {
	exists bool
	length int64
	lastID string
	groups []redis.XInfoGroup
}

// streamInfo reads XINFO STREAM and XINFO GROUPS of every stream in one pipeline. A
// stream that does not exist yet (nothing produced to that shard) is left zero.
func (s *Server) streamInfo(ctx context.Context, streams []string) (map[string]streamState, error) {
	out := make(map[string]streamState, len(streams))
	if s.cfg.Redis == nil || len(streams) == 0 {
		return out, nil
	}
	pipe := s.cfg.Redis.Pipeline()
	infos := make([]*redis.XInfoStreamCmd, len(streams))
	groups := make([]*redis.XInfoGroupsCmd, len(streams))
	for i, st := range streams {
		infos[i] = pipe.XInfoStream(ctx, st)
		groups[i] = pipe.XInfoGroups(ctx, st)
	}
	_, _ = pipe.Exec(ctx) // errors are per command, read below
	for i, st := range streams {
		inf, err := infos[i].Result()
		if isNoSuchKey(err) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("xinfo stream %s: %w", st, err)
		}
		gs, err := groups[i].Result()
		if err != nil && !isNoSuchKey(err) {
			return out, fmt.Errorf("xinfo groups %s: %w", st, err)
		}
		out[st] = streamState{exists: true, length: inf.Length, lastID: inf.LastGeneratedID, groups: gs}
	}
	return out, nil
}

func isNoSuchKey(err error) bool {
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
		strings.Contains(err.Error(), "no such key")
}

// shardOf reads the shard number from a stream name ending in "{N}"; -1 otherwise.
func shardOf(streamName string) int {
	i := strings.LastIndexByte(streamName, '{')
	if i < 0 || !strings.HasSuffix(streamName, "}") {
		return -1
	}
	n, err := strconv.Atoi(streamName[i+1 : len(streamName)-1])
	if err != nil {
		return -1
	}
	return n
}

// behind is the time between two stream ids' millisecond parts, when last is newer.
func behind(last, committed string) float64 {
	if last == "" || last == "0-0" {
		return 0
	}
	l, err := stream.ParseID(last)
	if err != nil {
		return 0
	}
	c := stream.ID{}
	if committed != "" {
		if c, err = stream.ParseID(committed); err != nil {
			return 0
		}
	}
	if !c.Less(l) || c.Ms == 0 {
		// Nothing newer, or nothing committed yet: with no committed entry there is no
		// time to measure from (the lag in entries says how far behind it is).
		return 0
	}
	return float64(l.Ms-c.Ms) / 1000
}
