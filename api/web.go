package api

import (
	"embed"
	"net/http"
)

// web holds the dashboard: plain HTML, CSS and JavaScript, embedded in the binary, with
// no build step and nothing fetched from elsewhere, so it works offline.
//
//go:embed web/index.html web/app.js web/style.css
var web embed.FS

// staticFile serves one embedded file with its content type. The dashboard is small
// and changes with the binary, so browsers revalidate rather than cache it for long.
func staticFile(name, contentType string) http.HandlerFunc {
	b, err := web.ReadFile("web/" + name)
	if err != nil {
		panic("api: embedded " + name + " missing: " + err.Error()) // a build mistake
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(b)
	}
}
