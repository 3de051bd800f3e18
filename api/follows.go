package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/store"
)

// The follows endpoints act for the chat user a token belongs to (`coattail token
// create --platform telegram --user ID`), on the same rows as /follow, /unfollow and
// /following, with the same address and label rules and the same per-user limit.

// FollowList is GET /api/follows.
type FollowList struct {
	Platform string         `json:"platform"`
	UserID   string         `json:"user_id"`
	Limit    int            `json:"limit"`
	Follows  []store.Follow `json:"follows"`
}

// followRequest is the body of POST /api/follows.
type followRequest struct {
	Wallet string `json:"wallet"`
	Label  string `json:"label"`
}

// FollowResult is the answer to POST /api/follows.
type FollowResult struct {
	Wallet  string `json:"wallet"`
	Label   string `json:"label"`
	Created bool   `json:"created"` // false when the wallet was already followed
}

// authenticate resolves the Authorization: Bearer token, answering 401 itself when it
// is missing or not valid.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (store.Identity, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="coattail"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "send Authorization: Bearer TOKEN (coattail token create makes one)"})
		return store.Identity{}, false
	}
	id, err := s.cfg.Store.Authenticate(r.Context(), token)
	if errors.Is(err, store.ErrBadToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="coattail", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "the token is unknown or revoked"})
		return store.Identity{}, false
	}
	if err != nil {
		s.fail(w, "authenticate", err)
		return store.Identity{}, false
	}
	return id, true
}

func (s *Server) followLimit() int {
	if s.cfg.FollowLimit > 0 {
		return s.cfg.FollowLimit
	}
	return bot.DefaultFollowLimit
}

func (s *Server) listFollows(w http.ResponseWriter, r *http.Request) {
	id, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	fs, err := s.cfg.Store.Following(r.Context(), id.Platform, id.UserID)
	if err != nil {
		s.fail(w, "list follows", err)
		return
	}
	if fs == nil {
		fs = []store.Follow{}
	}
	writeJSON(w, http.StatusOK, FollowList{Platform: id.Platform, UserID: id.UserID, Limit: s.followLimit(), Follows: fs})
}

func (s *Server) addFollow(w http.ResponseWriter, r *http.Request) {
	id, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	addr, label, err := parseFollowRequest(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	created, err := s.cfg.Store.Follow(r.Context(), id.Platform, id.UserID, addr, label, s.followLimit())
	if errors.Is(err, store.ErrFollowLimit) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "follow limit reached: unfollow a wallet first"})
		return
	}
	if err != nil {
		s.fail(w, "follow", err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, FollowResult{Wallet: addr, Label: label, Created: created})
}

// parseFollowRequest reads POST /api/follows' body (at most 4 KiB): the wallet as a
// lowercase address and the label as /follow takes it. Its errors are for the caller.
func parseFollowRequest(body io.Reader) (addr, label string, err error) {
	var req followRequest
	dec := json.NewDecoder(io.LimitReader(body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", "", errors.New(`the body must be JSON: {"wallet": "0x…", "label": "optional"}`)
	}
	if addr, err = bot.ParseAddress(strings.TrimSpace(req.Wallet)); err != nil {
		return "", "", err
	}
	if label, err = bot.ParseLabel(strings.TrimSpace(req.Label)); err != nil {
		return "", "", errors.New(usageText(err))
	}
	return addr, label, nil
}

func (s *Server) removeFollow(w http.ResponseWriter, r *http.Request) {
	id, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	addr, err := bot.ParseAddress(r.PathValue("address"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	removed, err := s.cfg.Store.Unfollow(r.Context(), id.Platform, id.UserID, addr)
	if err != nil {
		s.fail(w, "unfollow", err)
		return
	}
	if !removed {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "you do not follow " + addr})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// usageText is the user-facing reason of a bot usage error.
func usageText(err error) string {
	var ue *bot.UsageError
	if errors.As(err, &ue) {
		return ue.Reason
	}
	return err.Error()
}
