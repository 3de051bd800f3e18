package discord

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/coattailcapital/coattail/bot"
)

// answer is what an interaction gets back.
type answer struct {
	reply bot.Reply
	// private forces an ephemeral answer whatever the reply's kind (a button
	// press answers only the person who pressed it).
	private bool
}

func (a answer) ephemeral() bool { return a.private || ephemeral(a.reply.Kind) }

// onInteraction handles INTERACTION_CREATE: slash commands and button presses.
// discordgo calls it on a goroutine of its own; the semaphore bounds the work.
func (b *Bot) onInteraction(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
	i := ic.Interaction
	if i == nil || (i.Type != discordgo.InteractionApplicationCommand && i.Type != discordgo.InteractionMessageComponent) {
		return
	}
	b.mu.Lock()
	runCtx := b.runCtx
	b.mu.Unlock()
	if runCtx == nil || runCtx.Err() != nil {
		return
	}
	b.inflight.Add(1)
	defer b.inflight.Done()
	select {
	case b.sem <- struct{}{}:
	case <-runCtx.Done():
		return
	}
	defer func() { <-b.sem }()
	// The answer is finished even when Run is stopping: Discord shows an error
	// to the user for an interaction left unanswered.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(runCtx), handleTimeout)
	defer cancel()
	b.handle(ctx, i)
}

// handle routes one interaction and answers it, acknowledging it first when the
// answer takes longer than ackAfter.
func (b *Bot) handle(ctx context.Context, i *discordgo.Interaction) {
	done := make(chan answer, 1)
	go func() { done <- b.route(ctx, i) }()

	var a answer
	deferred := false
	if b.ackAfter < 0 {
		deferred = true
	} else {
		t := time.NewTimer(b.ackAfter)
		select {
		case a = <-done:
			t.Stop()
		case <-t.C:
			deferred = true
		}
	}
	if deferred {
		typ := discordgo.InteractionResponseDeferredChannelMessageWithSource
		var flags discordgo.MessageFlags
		if i.Type == discordgo.InteractionMessageComponent {
			flags = discordgo.MessageFlagsEphemeral
		}
		err := b.session.InteractionRespond(i, &discordgo.InteractionResponse{
			Type: typ, Data: &discordgo.InteractionResponseData{Flags: flags},
		}, discordgo.WithContext(ctx))
		if err != nil {
			b.log.Warn("discord: could not acknowledge an interaction", "interaction", i.ID, "err", b.redact(err))
			return
		}
		a = <-done
	}
	if err := b.deliver(ctx, i, a, deferred); err != nil {
		b.log.Warn("discord: answer not delivered", "interaction", i.ID, "user", userID(i), "err", b.redact(err))
	}
}

// route turns the interaction into a router request, or handles /alerts, and
// returns the answer.
func (b *Bot) route(ctx context.Context, i *discordgo.Interaction) answer {
	user := userID(i)
	req := bot.Request{Platform: Platform, UserID: user, ChatID: i.ChannelID, Guild: i.GuildID, IsAdmin: b.admins[user]}
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		data := i.ApplicationCommandData()
		if data.Name == alertsCommand {
			return answer{reply: b.handleAlerts(ctx, i, data)}
		}
		b.mu.Lock()
		cmd, ok := b.commands[data.Name]
		b.mu.Unlock()
		if !ok {
			cmd = slashCommand{name: data.Name} // registered by an older version: let the router answer
		}
		req.Text = messageText(cmd, data.Options)
		return answer{reply: b.routerReply(ctx, req)}
	default: // a button under one of our messages
		text, ok := buttonText(i.MessageComponentData().CustomID)
		if !ok {
			return answer{reply: bot.Reply{Kind: bot.KindUnknown, Text: "This button no longer does anything."}, private: true}
		}
		req.Text = text
		return answer{reply: b.routerReply(ctx, req), private: true}
	}
}

// routerReply asks the router; an interaction must always be answered, so a zero
// reply (a user still over the rate limit) becomes a short note.
// After a successful /follow it records that the user's alerts go by DM.
func (b *Bot) routerReply(ctx context.Context, req bot.Request) bot.Reply {
	r := b.router.Handle(ctx, req)
	if r.IsZero() {
		return bot.Reply{Kind: bot.KindSlowDown, Text: "Still too many commands at once; wait a few seconds."}
	}
	if b.chats != nil && r.Kind == bot.KindInfo && req.UserID != "" && strings.HasPrefix(req.Text, "/follow ") {
		if err := b.chats.SetAlertChat(ctx, Platform, req.UserID, userChatPrefix+req.UserID); err != nil {
			b.log.WarnContext(ctx, "discord: could not record where the user's alerts go", "user", req.UserID, "err", err)
		}
	}
	return r
}

// deliver sends the answer: the first message as the interaction response (or,
// after an acknowledgement, as an edit of it), the rest as follow-ups.
func (b *Bot) deliver(ctx context.Context, i *discordgo.Interaction, a answer, deferred bool) error {
	msgs := renderEmbeds(a.reply)
	if len(msgs) == 0 {
		msgs = [][]*discordgo.MessageEmbed{{{Description: "Done.", Color: colourInfo}}}
	}
	var flags discordgo.MessageFlags
	if a.ephemeral() {
		flags = discordgo.MessageFlagsEphemeral
	}
	opt := discordgo.WithContext(ctx)
	var err error
	switch {
	case !deferred:
		err = b.session.InteractionRespond(i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Embeds: msgs[0], Flags: flags},
		}, opt)
	default:
		embeds := msgs[0]
		_, err = b.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Embeds: &embeds}, opt)
	}
	if err != nil {
		return fmt.Errorf("respond: %w", err)
	}
	for n, m := range msgs[1:] {
		if _, err := b.session.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Embeds: m, Flags: flags}, opt); err != nil {
			return fmt.Errorf("follow-up %d of %d: %w", n+1, len(msgs)-1, err)
		}
	}
	return nil
}

// userID is who caused the interaction: the member in a server, the user in a DM.
func userID(i *discordgo.Interaction) string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
}
