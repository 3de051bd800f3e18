package telegram

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// SetLibraryLogger sends what go-telegram-bot-api logs to l, with anything shaped
// like a bot token masked. The library has one logger per process, so call this
// once at start-up, before any Bot runs (cmd does); it is not safe to call while
// the library is in use. Bot itself avoids the library paths that log, so this is
// a safety net.
func SetLibraryLogger(l *slog.Logger) error {
	if l == nil {
		return fmt.Errorf("telegram: SetLibraryLogger needs a logger")
	}
	if err := tgbotapi.SetLogger(libraryLogger{log: l}); err != nil {
		return fmt.Errorf("telegram: set library logger: %w", err)
	}
	return nil
}

// libraryLogger adapts slog to the library's BotLogger (Println, Printf).
type libraryLogger struct{ log *slog.Logger }

func (l libraryLogger) Println(v ...any) { l.emit(fmt.Sprintln(v...)) }

func (l libraryLogger) Printf(format string, v ...any) { l.emit(fmt.Sprintf(format, v...)) }

func (l libraryLogger) emit(msg string) {
	l.log.Info(maskTokens(strings.TrimSpace(msg)), "component", "tgbotapi")
}

// maskTokens replaces bot tokens ("123456789:AAH…", as in request URLs) by "<token>".
func maskTokens(s string) string {
	if !strings.Contains(s, ":") {
		return s
	}
	return regexp.MustCompile(`\d{3,}:[A-Za-z0-9_-]{20,}`).ReplaceAllString(s, "<token>")
}
