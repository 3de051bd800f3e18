package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/coattailcapital/coattail/store"
)

// DefaultFollowLimit is how many wallets one user may follow unless
// [RegisterFollows] is given another limit.
const DefaultFollowLimit = 50

// maxLabel bounds a follow label, in characters.
const maxLabel = 32

// followPayload prefixes a /start deep-link payload that follows a wallet:
// https://t.me/<bot>?start=follow_0x… sends "/start follow_0x…".
const followPayload = "follow_"

// FollowStore is what the follow commands need from the store; *store.Store
// implements it.
type FollowStore interface {
	// Follow is idempotent (created is false for a wallet already followed; a
	// non-empty label replaces the old one) and returns store.ErrFollowLimit when
	// a new follow would exceed limit.
	Follow(ctx context.Context, platform, userID, wallet, label string, limit int) (created bool, err error)
	Unfollow(ctx context.Context, platform, userID, wallet string) (removed bool, err error)
	Following(ctx context.Context, platform, userID string) ([]store.Follow, error)
}

// RegisterFollows adds /follow, /unfollow and /following to r, backed by fs, and
// makes a /start payload of the form follow_<address> (a Telegram deep link)
// follow that wallet. Each user may follow at most limit wallets; limit <= 0
// means [DefaultFollowLimit]. Like [Router.Register], it panics on a programming
// error: a nil store, or calling it twice.
func RegisterFollows(r *Router, fs FollowStore, limit int) {
	if fs == nil {
		panic("bot: RegisterFollows needs a FollowStore")
	}
	if limit <= 0 {
		limit = DefaultFollowLimit
	}
	f := &follows{store: fs, limit: limit}
	r.Register(Command{
		Name:    "follow",
		Args:    "<address> [label]",
		Summary: "get alerts when a wallet moves",
		Example: "/follow " + exampleAddress + " big whale",
		MinArgs: 1,
		MaxArgs: -1, // the label may be several words
		Handler: f.handleFollow,
	})
	r.Register(Command{
		Name:    "unfollow",
		Args:    "<address>",
		Summary: "stop following a wallet",
		Example: "/unfollow " + exampleAddress,
		MinArgs: 1,
		MaxArgs: 1,
		Handler: f.handleUnfollow,
	})
	r.Register(Command{
		Name:    "following",
		Summary: "the wallets you follow",
		Example: "/following",
		Handler: f.handleFollowing,
	})
	if !r.wrapHandler("start", f.startDeepLink) {
		panic("bot: RegisterFollows: /start is not registered")
	}
}

// wrapHandler replaces the handler of a registered command by wrap(old handler).
// The command is copied, not changed in place, so a Handle already holding the old
// one is not raced. It reports whether the command exists.
func (r *Router) wrapHandler(name string, wrap func(HandlerFunc) HandlerFunc) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cmds[name]
	if old == nil {
		return false
	}
	c := *old
	c.Handler = wrap(old.Handler)
	r.cmds[name] = &c
	for i, o := range r.order {
		if o == old {
			r.order[i] = &c
		}
	}
	return true
}

type follows struct {
	store FollowStore
	limit int
}

func (f *follows) handleFollow(ctx context.Context, c Call) (Reply, error) {
	addr, err := resolveAddress(ctx, f.store, c.Args[0])
	if err != nil {
		return Reply{}, err
	}
	label, err := parseLabel(c.Args[1:])
	if err != nil {
		return Reply{}, err
	}
	return f.follow(ctx, c, addr, label)
}

// follow stores the follow and words the outcome; it serves /follow and /start.
func (f *follows) follow(ctx context.Context, c Call, addr, label string) (Reply, error) {
	if c.UserID == "" {
		return Reply{}, errors.New("follow: request has no user id")
	}
	created, err := f.store.Follow(ctx, c.Platform, c.UserID, addr, label, f.limit)
	if errors.Is(err, store.ErrFollowLimit) {
		return Reply{Kind: KindDenied, Text: fmt.Sprintf(
			"You already follow %d wallets, the most one person can. Unfollow one first: /following lists them, /unfollow <address> removes one.",
			f.limit)}, nil
	}
	if err != nil {
		return Reply{}, fmt.Errorf("follow %s: %w", addr, err)
	}
	name := addr
	if label != "" {
		name += " (" + label + ")"
	}
	switch {
	case created:
		return Reply{Text: "Now following " + name + ".\n/following lists the wallets you follow."}, nil
	case label != "":
		return Reply{Text: "You already follow " + addr + "; its label is now " + label + "."}, nil
	default:
		return Reply{Text: "You already follow " + addr + ".\n/following lists the wallets you follow."}, nil
	}
}

// parseLabel joins the words after the address into a label and checks it.
func parseLabel(words []string) (string, error) {
	label := strings.Join(words, " ")
	if n := utf8.RuneCountInString(label); n > maxLabel {
		return "", Usagef("A label is at most %d characters; yours has %d.", maxLabel, n)
	}
	for _, r := range label {
		if !unicode.IsPrint(r) {
			return "", Usagef("A label may hold only printable characters: letters, digits, punctuation, symbols and spaces.")
		}
	}
	return label, nil
}

func (f *follows) handleUnfollow(ctx context.Context, c Call) (Reply, error) {
	addr, err := resolveAddress(ctx, f.store, c.Args[0])
	if err != nil {
		return Reply{}, err
	}
	if c.UserID == "" {
		return Reply{}, errors.New("unfollow: request has no user id")
	}
	removed, err := f.store.Unfollow(ctx, c.Platform, c.UserID, addr)
	if err != nil {
		return Reply{}, fmt.Errorf("unfollow %s: %w", addr, err)
	}
	if !removed {
		return Reply{Kind: KindNotFound, Text: "You do not follow " + addr + ".\n/following lists the wallets you follow."}, nil
	}
	return Reply{Text: "Stopped following " + addr + "."}, nil
}

func (f *follows) handleFollowing(ctx context.Context, c Call) (Reply, error) {
	if c.UserID == "" {
		return Reply{}, errors.New("following: request has no user id")
	}
	fs, err := f.store.Following(ctx, c.Platform, c.UserID)
	if err != nil {
		return Reply{}, fmt.Errorf("following: %w", err)
	}
	if len(fs) == 0 {
		return Reply{Text: "You follow no wallets yet. Follow one with /follow <address> [label], for example:\n/follow " +
			exampleAddress + " big whale"}, nil
	}
	t := &Table{
		Columns: []Column{{Name: "address"}, {Name: "label"}, {Name: "since"}},
		Rows:    make([][]string, len(fs)),
	}
	for i, fl := range fs {
		t.Rows[i] = []string{fl.Wallet, fl.Label, fl.Since.UTC().Format("2006-01-02")}
	}
	return Reply{
		Title:  fmt.Sprintf("Following %d of %d wallets", len(fs), f.limit),
		Table:  t,
		Footer: "/unfollow <address> stops following one.",
	}, nil
}

// startDeepLink wraps /start: a payload follow_<address> follows that wallet and
// puts the outcome above the usual welcome; any other payload is left to start.
func (f *follows) startDeepLink(start HandlerFunc) HandlerFunc {
	return func(ctx context.Context, c Call) (Reply, error) {
		if len(c.Args) != 1 || !strings.HasPrefix(c.Args[0], followPayload) {
			return start(ctx, c)
		}
		welcome, err := start(ctx, c)
		if err != nil {
			return Reply{}, err
		}
		var outcome Reply
		addr, perr := ParseAddress(strings.TrimPrefix(c.Args[0], followPayload))
		if perr != nil {
			outcome = Reply{Kind: KindUsage, Text: "This link should follow a wallet, but " + perr.Error() +
				".\nYou can follow one yourself: /follow <address> [label]."}
		} else if outcome, err = f.follow(ctx, c, addr, ""); err != nil {
			return Reply{}, err
		}
		welcome.Kind = outcome.Kind
		welcome.Text = outcome.Text + "\n\n" + welcome.Text
		return welcome, nil
	}
}
