package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// `coattail token`: API tokens for GET/POST/DELETE /api/follows. A token speaks for one
// chat user (platform and user id), so the API and the bots share that user's follows.

func cmdToken(ctx context.Context, a *app, args []string) error {
	return runSub(ctx, a, "token", []subcommand{
		{"create", "--platform telegram --user ID [--note TEXT] [--json]", tokenCreate},
		{"revoke", "ID | --platform P --user ID", tokenRevoke},
		{"list", "[--platform P --user ID] [--json]", tokenList},
	}, args)
}

func tokenCreate(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("token create", "--platform telegram --user ID [--note TEXT] [--json]")
	platform := fs.String("platform", "", "chat platform of the user the token acts for: telegram, discord, console")
	user := fs.String("user", "", "the user's id on that platform (Telegram: the numeric user id)")
	note := fs.String("note", "", "what the token is for, shown by token list")
	asJSON := fs.Bool("json", false, "print the token and its id as JSON")
	pos, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if strings.TrimSpace(*platform) == "" || strings.TrimSpace(*user) == "" {
		return fmt.Errorf("%w: --platform and --user are required (e.g. --platform telegram --user 111111111)", errUsage)
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	plain, t, err := d.st.CreateToken(ctx, *platform, *user, *note)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(map[string]any{"id": t.ID, "platform": t.Platform,
			"user_id": t.UserID, "note": t.Note, "created_at": t.CreatedAt, "token": plain})
	}
	// The token itself alone on stdout, so `TOKEN=$(coattail token create ...)` works;
	// the explanation on stderr.
	fmt.Fprintf(a.stderr, "token %d for %s/%s created; it is shown only now, store it safely:\n", t.ID, t.Platform, t.UserID)
	fmt.Fprintln(a.stdout, plain)
	fmt.Fprintf(a.stderr, "use: curl -H \"Authorization: Bearer $TOKEN\" http://HOST:8080/api/follows\nrevoke: coattail token revoke %d\n", t.ID)
	return nil
}

func tokenRevoke(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("token revoke", "ID | --platform P --user ID")
	platform := fs.String("platform", "", "revoke every token of this platform's --user")
	user := fs.String("user", "", "the user whose tokens to revoke (with --platform)")
	pos, err := parseInterspersed(fs, c, args)
	if err != nil {
		return err
	}
	var id int64
	switch {
	case len(pos) == 1 && *platform == "" && *user == "":
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id < 1 {
			return fmt.Errorf("%w: %q is not a token id (coattail token list shows them)", errUsage, pos[0])
		}
	case len(pos) == 0 && *platform != "" && *user != "":
	default:
		return fmt.Errorf("%w: give a token id, or --platform and --user to revoke all of a user's tokens", errUsage)
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	n, err := d.st.RevokeTokens(ctx, id, *platform, *user)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no valid token matched: nothing revoked (coattail token list shows them)")
	}
	fmt.Fprintf(a.stdout, "revoked %d token(s)\n", n)
	return nil
}

func tokenList(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("token list", "[--platform P --user ID] [--json]")
	platform := fs.String("platform", "", "only this platform's --user")
	user := fs.String("user", "", "only this user's tokens (with --platform)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	if (*platform == "") != (*user == "") {
		return fmt.Errorf("%w: --platform and --user go together", errUsage)
	}
	d, err := a.connect(ctx, c, c.logger(a.stderr), true)
	if err != nil {
		return err
	}
	defer d.close()
	ts, err := d.st.Tokens(ctx, *platform, *user)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(a.stdout).Encode(ts)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tplatform\tuser\tcreated\trevoked\tnote")
	for _, t := range ts {
		rev := "-"
		if t.RevokedAt != nil {
			rev = t.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Platform, t.UserID, t.CreatedAt.Format(time.RFC3339), rev, t.Note)
	}
	return tw.Flush()
}
