package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

const (
	walletA = "0x51f63885534cb494f4592a0311551f369bff2b39"
	walletB = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
	walletC = "0x00000000000000000000000000000000000000c0"
)

func TestFollowIsIdempotentAndKeepsOrEditsTheLabel(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	follow := func(wallet, label string) bool {
		t.Helper()
		created, err := st.Follow(ctx, "telegram", "7", wallet, label, 0)
		if err != nil {
			t.Fatalf("Follow(%s, %q): %v", wallet, label, err)
		}
		return created
	}
	if !follow(walletA, "whale") {
		t.Fatal("first follow: created = false")
	}
	if follow(walletA, "") {
		t.Fatal("second follow: created = true")
	}
	got, err := st.Following(ctx, "telegram", "7")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Wallet != walletA || got[0].Label != "whale" || got[0].Since.IsZero() {
		t.Fatalf("after refollow without label: %+v, want one follow of %s labelled whale", got, walletA)
	}
	since := got[0].Since
	if follow(walletA, "big whale") {
		t.Fatal("relabel: created = true")
	}
	got, err = st.Following(ctx, "telegram", "7")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Label != "big whale" || !got[0].Since.Equal(since) {
		t.Fatalf("after relabel: %+v, want label %q and since unchanged %v", got, "big whale", since)
	}
	if n, err := st.FollowCount(ctx, "telegram", "7"); err != nil || n != 1 {
		t.Fatalf("FollowCount = %d, %v; want 1", n, err)
	}
}

func TestFollowLimit(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	for _, w := range []string{walletA, walletB} {
		if _, err := st.Follow(ctx, "telegram", "7", w, "", 2); err != nil {
			t.Fatalf("follow %s: %v", w, err)
		}
	}
	created, err := st.Follow(ctx, "telegram", "7", walletC, "", 2)
	if !errors.Is(err, store.ErrFollowLimit) || created {
		t.Fatalf("third follow with limit 2: created=%v err=%v, want ErrFollowLimit", created, err)
	}
	// Following a wallet again (or relabelling it) is not a new follow: allowed at the limit.
	if created, err := st.Follow(ctx, "telegram", "7", walletB, "b", 2); err != nil || created {
		t.Fatalf("refollow at the limit: created=%v err=%v", created, err)
	}
	// The limit is per user: another user, or the same id on another platform, is not affected.
	if created, err := st.Follow(ctx, "discord", "7", walletC, "", 2); err != nil || !created {
		t.Fatalf("same id on discord: created=%v err=%v", created, err)
	}
	// After an unfollow there is room again; no limit means no limit.
	if removed, err := st.Unfollow(ctx, "telegram", "7", walletA); err != nil || !removed {
		t.Fatalf("unfollow: removed=%v err=%v", removed, err)
	}
	if created, err := st.Follow(ctx, "telegram", "7", walletC, "", 2); err != nil || !created {
		t.Fatalf("follow after unfollow: created=%v err=%v", created, err)
	}
	if created, err := st.Follow(ctx, "telegram", "7", walletA, "", 0); err != nil || !created {
		t.Fatalf("follow without a limit: created=%v err=%v", created, err)
	}
	if n, err := st.FollowCount(ctx, "telegram", "7"); err != nil || n != 3 {
		t.Fatalf("FollowCount = %d, %v; want 3", n, err)
	}
}

// Concurrent follows by one user must not get past the limit together.
func TestFollowLimitUnderConcurrency(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	const limit, tries = 3, 12
	var wg sync.WaitGroup
	errs := make([]error, tries)
	for i := range tries {
		wg.Go(func() {
			_, errs[i] = st.Follow(ctx, "telegram", "42", fmt.Sprintf("0x%040x", i+1), "", limit)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrFollowLimit):
			t.Errorf("follow %d: %v", i, err)
		}
	}
	n, err := st.FollowCount(ctx, "telegram", "42")
	if err != nil {
		t.Fatal(err)
	}
	if ok != limit || n != limit {
		t.Fatalf("%d follows succeeded and %d are stored, want %d", ok, n, limit)
	}
}

func TestUnfollowFollowingAndFollowers(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	steps := []struct{ platform, user, wallet, label string }{
		{"telegram", "7", walletB, "second"},
		{"telegram", "7", walletA, ""},
		{"telegram", "8", walletA, "alpha"},
		{"discord", "123", walletA, "from discord"},
	}
	for _, s := range steps {
		if _, err := st.Follow(ctx, s.platform, s.user, s.wallet, s.label, 50); err != nil {
			t.Fatalf("follow %+v: %v", s, err)
		}
	}
	got, err := st.Following(ctx, "telegram", "7")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Wallet != walletB || got[0].Label != "second" || got[1].Wallet != walletA || got[1].Label != "" {
		t.Fatalf("Following(telegram, 7) = %+v, want %s then %s in follow order", got, walletB, walletA)
	}
	if got, err := st.Following(ctx, "telegram", "nobody"); err != nil || len(got) != 0 {
		t.Fatalf("Following of an unknown user = %+v, %v; want none", got, err)
	}

	fs, err := st.Followers(ctx, walletA)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Follower{
		{Platform: "discord", UserID: "123", Label: "from discord"},
		{Platform: "telegram", UserID: "7"},
		{Platform: "telegram", UserID: "8", Label: "alpha"},
	}
	if len(fs) != len(want) {
		t.Fatalf("Followers(%s) = %+v, want %+v", walletA, fs, want)
	}
	for i := range want {
		if fs[i].Platform != want[i].Platform || fs[i].UserID != want[i].UserID || fs[i].Label != want[i].Label || fs[i].Since.IsZero() {
			t.Fatalf("Followers(%s)[%d] = %+v, want %+v with a time", walletA, i, fs[i], want[i])
		}
	}

	if removed, err := st.Unfollow(ctx, "telegram", "7", walletA); err != nil || !removed {
		t.Fatalf("unfollow: removed=%v err=%v", removed, err)
	}
	if removed, err := st.Unfollow(ctx, "telegram", "7", walletA); err != nil || removed {
		t.Fatalf("second unfollow: removed=%v err=%v, want false and no error", removed, err)
	}
	if fs, err := st.Followers(ctx, walletA); err != nil || len(fs) != 2 {
		t.Fatalf("Followers after unfollow = %+v, %v; want 2", fs, err)
	}
	if fs, err := st.Followers(ctx, walletC); err != nil || len(fs) != 0 {
		t.Fatalf("Followers of an unfollowed wallet = %+v, %v; want none", fs, err)
	}
}

// The schema refuses addresses that are not normalised, which would never match.
func TestFollowRejectsUnnormalisedWallet(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	for _, w := range []string{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", ""} {
		if _, err := st.Follow(ctx, "telegram", "7", w, "", 0); err == nil {
			t.Errorf("Follow(%q) succeeded, want a check violation", w)
		}
	}
	if n, err := st.FollowCount(ctx, "telegram", "7"); err != nil || n != 0 {
		t.Fatalf("FollowCount = %d, %v; want 0", n, err)
	}
}

func TestFollowedWalletsIsDistinctAcrossUsersAndPlatforms(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	a, b := "0x00000000000000000000000000000000000000aa", "0x00000000000000000000000000000000000000bb"
	for _, f := range []struct{ platform, user, wallet string }{
		{"telegram", "1", b}, {"telegram", "2", b}, {"discord", "1", a},
	} {
		if _, err := st.Follow(ctx, f.platform, f.user, f.wallet, "", 10); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.FollowedWallets(ctx)
	if err != nil || len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("FollowedWallets = %v (err %v), want [%s %s]", got, err, a, b)
	}
}
