package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/bwmarrin/discordgo"
)

// tokenShape matches a Discord bot token: three base64url parts joined by dots.
var tokenShape = regexp.MustCompile(`[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}`)

// SetLibraryLogger sends what discordgo logs (warnings and errors: every Bot
// sets its session to that level) to l, with anything shaped like a token
// masked. discordgo has one logger per process, so call this once at start-up,
// before any Bot runs (cmd does); it is not safe to call while the library is in
// use. Without it discordgo writes to the standard library's log package.
func SetLibraryLogger(l *slog.Logger) error {
	if l == nil {
		return errors.New("discord: SetLibraryLogger needs a logger")
	}
	discordgo.Logger = func(msgL, _ int, format string, a ...any) {
		level := slog.LevelDebug
		switch msgL {
		case discordgo.LogError:
			level = slog.LevelError
		case discordgo.LogWarning:
			level = slog.LevelWarn
		case discordgo.LogInformational:
			level = slog.LevelInfo
		}
		msg := tokenShape.ReplaceAllString(fmt.Sprintf(format, a...), "<token>")
		l.Log(context.Background(), level, msg, "component", "discordgo")
	}
	return nil
}
