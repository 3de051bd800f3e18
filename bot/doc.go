// Package bot is the platform-neutral command router behind every chat interface:
// Telegram, Discord, the console chat and, later, the web.
//
// A platform adapter turns an incoming message into a [Request], calls
// [Router.Handle] and renders the returned [Reply]: Title, Text, an optional
// [Table] (best shown in a monospaced block) and a Footer. [Reply.String] is the
// plain-text rendering the console uses. A zero Reply means "send nothing".
//
// Commands are [Command] values added with [Router.Register]; the router owns
// parsing ("/name@Bot arg arg"), per-user rate limiting, admin checks, argument
// counts, usage and unknown-command replies, and turning handler failures into an
// apology while logging the cause. [NewRouter] registers /start, /help,
// /leaderboard and /wallet; later features add their commands the same way.
package bot
