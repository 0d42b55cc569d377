package chat_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/chat/chattest"
)

type broadcast struct {
	msg    chat.Message
	except string
}

type recordingBroadcaster struct {
	mu   sync.Mutex
	sent []broadcast
}

func (b *recordingBroadcaster) MessageCreated(msg chat.Message, except string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, broadcast{msg, except})
}

type fixture struct {
	svc   *chat.Service
	store *chattest.Store
	bc    *recordingBroadcaster
	anon  chat.Identity
	owner chat.Identity
	owned uuid.UUID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := chattest.NewStore()
	bc := &recordingBroadcaster{}
	svc := chat.NewService(chat.ServiceConfig{MaxMessageLength: 10}, store, bc)
	ctx := context.Background()

	anonConv, err := svc.CreateConversation(ctx, nil, nil)
	require.NoError(t, err)
	require.NotEmpty(t, anonConv.SessionToken)
	anon, err := svc.AuthenticateSession(ctx, anonConv.Conversation.ID, anonConv.SessionToken)
	require.NoError(t, err)

	owner := chat.Identity{Kind: chat.IdentityUser, UserID: "alice"}
	owned, err := svc.CreateConversation(ctx, &owner, []byte(`{"page":"/"}`))
	require.NoError(t, err)
	require.Empty(t, owned.SessionToken)
	return &fixture{svc: svc, store: store, bc: bc, anon: anon, owner: owner, owned: owned.Conversation.ID}
}

func code(err error) chat.Code { return chat.ErrorCode(err) }

func TestAuthenticateSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()

	_, err := f.svc.AuthenticateSession(ctx, f.anon.ConversationID, "wrong")
	require.ErrorIs(t, err, chat.ErrSessionInvalid)
	_, err = f.svc.AuthenticateSession(ctx, uuid.New(), "whatever")
	require.ErrorIs(t, err, chat.ErrSessionInvalid, "an unknown conversation looks like a wrong token")
	_, err = f.svc.AuthenticateSession(ctx, f.owned, "")
	require.ErrorIs(t, err, chat.ErrSessionInvalid, "owned conversations have no session token")
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tech := chat.Identity{Kind: chat.IdentityUser, UserID: "tom", Technician: true}
	stranger := chat.Identity{Kind: chat.IdentityUser, UserID: "eve"}
	reply := chat.Identity{Kind: chat.IdentityReplyToken, ConversationID: f.owned}

	cases := []struct {
		name string
		id   chat.Identity
		conv uuid.UUID
		want chat.Code // "" = allowed
	}{
		{"anonymous own", f.anon, f.anon.ConversationID, ""},
		{"anonymous other", f.anon, f.owned, chat.CodeForbidden},
		{"anonymous missing", f.anon, uuid.New(), chat.CodeForbidden},
		{"owner", f.owner, f.owned, ""},
		{"owner of anonymous one", f.owner, f.anon.ConversationID, chat.CodeForbidden},
		{"stranger", stranger, f.owned, chat.CodeForbidden},
		{"user missing", stranger, uuid.New(), chat.CodeNotFound},
		{"technician any", tech, f.anon.ConversationID, ""},
		{"technician missing", tech, uuid.New(), chat.CodeNotFound},
		{"reply token own", reply, f.owned, ""},
		{"reply token other", reply, f.anon.ConversationID, chat.CodeForbidden},
		{"no identity", chat.Identity{}, f.owned, chat.CodeUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Authorize(ctx, tc.id, tc.conv)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tc.want, code(err), "%v", err)
		})
	}
}

func TestSendMessageSenders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tech := chat.Identity{Kind: chat.IdentityUser, UserID: "tom", Technician: true}
	reply := chat.Identity{Kind: chat.IdentityReplyToken, ConversationID: f.owned}

	res, err := f.svc.SendMessage(ctx, f.anon, chat.SendInput{ConversationID: f.anon.ConversationID, Content: " hi ", SocketID: "s1"})
	require.NoError(t, err)
	require.Equal(t, chat.SenderUser, res.Message.Sender)
	require.Nil(t, res.Message.SenderID)
	require.Equal(t, "hi", res.Message.Content)

	res, err = f.svc.SendMessage(ctx, f.owner, chat.SendInput{ConversationID: f.owned, Content: "mine"})
	require.NoError(t, err)
	require.Equal(t, chat.SenderUser, res.Message.Sender)
	require.Equal(t, "alice", *res.Message.SenderID)

	res, err = f.svc.SendMessage(ctx, tech, chat.SendInput{ConversationID: f.owned, Content: "help", AsTechnician: true})
	require.NoError(t, err)
	require.Equal(t, chat.SenderTecnico, res.Message.Sender)
	require.Equal(t, "tom", *res.Message.SenderID)

	res, err = f.svc.SendMessage(ctx, reply, chat.SendInput{ConversationID: f.owned, Content: "bot"})
	require.NoError(t, err)
	require.Equal(t, chat.SenderBot, res.Message.Sender)
	require.Nil(t, res.Message.SenderID)

	_, err = f.svc.SendMessage(ctx, f.anon, chat.SendInput{ConversationID: f.anon.ConversationID, Content: "x", AsTechnician: true})
	require.Equal(t, chat.CodeUnauthorized, code(err))
	_, err = f.svc.SendMessage(ctx, f.owner, chat.SendInput{ConversationID: f.owned, Content: "x", AsTechnician: true})
	require.Equal(t, chat.CodeForbidden, code(err))

	f.bc.mu.Lock()
	defer f.bc.mu.Unlock()
	require.Len(t, f.bc.sent, 4, "every created message is broadcast once")
	require.Equal(t, "s1", f.bc.sent[0].except, "the sending socket is answered, not broadcast to")
}

func TestSendMessageDeliveryFlag(t *testing.T) {
	t.Parallel()
	store := chattest.NewStore()
	svc := chat.NewService(chat.ServiceConfig{}, store, nil)
	ctx := context.Background()
	owner := chat.Identity{Kind: chat.IdentityUser, UserID: "alice", Technician: true}
	c, err := svc.CreateConversation(ctx, &owner, nil)
	require.NoError(t, err)
	id := c.Conversation.ID

	_, err = svc.SendMessage(ctx, owner, chat.SendInput{ConversationID: id, Content: "user"})
	require.NoError(t, err)
	_, err = svc.SendMessage(ctx, owner, chat.SendInput{ConversationID: id, Content: "tech", AsTechnician: true})
	require.NoError(t, err)
	_, err = svc.SendMessage(ctx, chat.Identity{Kind: chat.IdentityReplyToken, ConversationID: id}, chat.SendInput{ConversationID: id, Content: "bot"})
	require.NoError(t, err)
	var deliver []bool
	for _, m := range store.Appends() {
		deliver = append(deliver, m.Deliver)
	}
	require.Equal(t, []bool{true, true, false}, deliver, "a bot's message never goes back to the bot")
}

func TestSendMessageValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	conv := f.anon.ConversationID
	long := strings.Repeat("x", chat.MaxClientMessageIDLength+1)
	cases := []struct {
		name  string
		in    chat.SendInput
		field string
	}{
		{"empty", chat.SendInput{ConversationID: conv, Content: ""}, "content"},
		{"only spaces", chat.SendInput{ConversationID: conv, Content: " \t\n "}, "content"},
		{"too long", chat.SendInput{ConversationID: conv, Content: strings.Repeat("é", 11)}, "content"},
		{"NUL", chat.SendInput{ConversationID: conv, Content: "a\x00b"}, "content"},
		{"invalid UTF-8", chat.SendInput{ConversationID: conv, Content: "a\xffb"}, "content"},
		{"no conversation", chat.SendInput{Content: "hi"}, "conversationId"},
		{"empty clientMessageId", chat.SendInput{ConversationID: conv, Content: "hi", ClientMessageID: ptr("")}, "clientMessageId"},
		{"long clientMessageId", chat.SendInput{ConversationID: conv, Content: "hi", ClientMessageID: &long}, "clientMessageId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.SendMessage(ctx, f.anon, tc.in)
			ce := chat.AsError(err)
			require.NotNil(t, ce, "%v", err)
			require.Equal(t, chat.CodeValidationFailed, ce.Code)
			require.Equal(t, tc.field, ce.Fields[0].Field)
		})
	}
	// The limit counts code points, not bytes: ten 4-byte emoji fit in 10.
	_, err := f.svc.SendMessage(ctx, f.anon, chat.SendInput{ConversationID: conv, Content: strings.Repeat("😀", 10)})
	require.NoError(t, err)
	require.Len(t, f.store.Messages(conv), 1, "rejected sends store nothing")
}

func TestSendMessageIdempotent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	in := chat.SendInput{ConversationID: f.anon.ConversationID, Content: "first", ClientMessageID: ptr("c1")}
	first, err := f.svc.SendMessage(ctx, f.anon, in)
	require.NoError(t, err)
	require.True(t, first.Created)
	in.Content = "different"
	again, err := f.svc.SendMessage(ctx, f.anon, in)
	require.NoError(t, err)
	require.False(t, again.Created)
	require.Equal(t, first.Message, again.Message)
	require.Len(t, f.bc.sent, 1, "a repeat is not broadcast")
}

func TestSendMessageStoreErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tech := chat.Identity{Kind: chat.IdentityUser, UserID: "tom", Technician: true}

	// The conversation is deleted between the authorization and the insert.
	f.store.Fail(chattest.OpAppendMessage, fmt.Errorf("append message: %w", chat.ErrNotFound))
	_, err := f.svc.SendMessage(ctx, tech, chat.SendInput{ConversationID: f.owned, Content: "hi", AsTechnician: true})
	require.Equal(t, chat.CodeNotFound, code(err))

	// An anonymous visitor never learns whether a conversation exists.
	_, err = f.svc.SendMessage(ctx, f.anon, chat.SendInput{ConversationID: f.anon.ConversationID, Content: "hi"})
	require.Equal(t, chat.CodeForbidden, code(err))

	// Anything the store does not classify is INTERNAL, and its text stays private.
	f.store.Fail(chattest.OpAppendMessage, errors.New("connection refused to 10.0.0.1"))
	_, err = f.svc.SendMessage(ctx, tech, chat.SendInput{ConversationID: f.owned, Content: "hi", AsTechnician: true})
	require.Equal(t, chat.CodeInternal, code(err))
	require.NotContains(t, chat.ClientError(err).Message, "10.0.0.1")
	require.Empty(t, f.bc.sent, "failed sends are not broadcast")
}

func TestHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_, err := f.svc.SendMessage(ctx, f.owner, chat.SendInput{ConversationID: f.owned, Content: "m"})
		require.NoError(t, err)
	}
	page, err := f.svc.History(ctx, f.owner, chat.HistoryInput{ConversationID: f.owned, AfterSeq: 1, Limit: 2})
	require.NoError(t, err)
	require.True(t, page.HasMore)
	require.Equal(t, []int64{2, 3}, seqs(page.Messages))
	page, err = f.svc.History(ctx, f.owner, chat.HistoryInput{ConversationID: f.owned, AfterSeq: 3, Limit: 2})
	require.NoError(t, err)
	require.False(t, page.HasMore)
	require.Equal(t, []int64{4, 5}, seqs(page.Messages))
	page, err = f.svc.History(ctx, f.owner, chat.HistoryInput{ConversationID: f.owned, AfterSeq: 5})
	require.NoError(t, err)
	require.NotNil(t, page.Messages, "an empty page is [], not null")

	for _, in := range []chat.HistoryInput{
		{ConversationID: f.owned, AfterSeq: -1},
		{ConversationID: f.owned, Limit: 201},
		{ConversationID: f.owned, Limit: -3},
	} {
		_, err := f.svc.History(ctx, f.owner, in)
		require.Equal(t, chat.CodeValidationFailed, code(err), "%+v", in)
	}
	_, err = f.svc.History(ctx, f.anon, chat.HistoryInput{ConversationID: f.owned})
	require.Equal(t, chat.CodeForbidden, code(err))
}

func TestCreateConversationMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, bad := range []string{`[1]`, `"x"`, `{"a":"\u0000"}`, `{"a":"` + strings.Repeat("x", chat.MaxMetadataBytes) + `"}`} {
		_, err := f.svc.CreateConversation(ctx, nil, []byte(bad))
		require.Equal(t, chat.CodeValidationFailed, code(err), bad)
	}
	_, err := f.svc.CreateConversation(ctx, &chat.Identity{Kind: chat.IdentityReplyToken}, nil)
	require.Equal(t, chat.CodeForbidden, code(err), "a reply token cannot own conversations")
}

func TestMessageJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.store.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("CET", 3600)) }
	res, err := f.svc.SendMessage(context.Background(), f.anon, chat.SendInput{ConversationID: f.anon.ConversationID, Content: "hi"})
	require.NoError(t, err)
	data, err := res.Message.MarshalJSON()
	require.NoError(t, err)
	for _, key := range []string{`"id"`, `"conversationId"`, `"seq":1`, `"sender":"user"`, `"senderId":null`, `"content":"hi"`, `"clientMessageId":null`, `"createdAt":"2026-01-02T02:04:05.000006Z"`} {
		require.Contains(t, string(data), key)
	}
}

func seqs(ms []chat.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func ptr(s string) *string { return &s }

// countingLimiter allows the first n calls per key.
type countingLimiter struct {
	mu    sync.Mutex
	n     int
	calls map[string]int
}

func (l *countingLimiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[string]int{}
	}
	l.calls[key]++
	if l.calls[key] > l.n {
		return false, 1500 * time.Millisecond
	}
	return true, 0
}

func TestSendLimiter(t *testing.T) {
	t.Parallel()
	store := chattest.NewStore()
	limiter := &countingLimiter{n: 2}
	svc := chat.NewService(chat.ServiceConfig{SendLimiter: limiter}, store, nil)
	ctx := context.Background()
	c, err := svc.CreateConversation(ctx, nil, nil)
	require.NoError(t, err)
	anon, err := svc.AuthenticateSession(ctx, c.Conversation.ID, c.SessionToken)
	require.NoError(t, err)
	other, err := svc.CreateConversation(ctx, nil, nil)
	require.NoError(t, err)

	// A refused send spends nothing of the conversation it names.
	_, err = svc.SendMessage(ctx, anon, chat.SendInput{ConversationID: other.Conversation.ID, Content: "x"})
	require.Equal(t, chat.CodeForbidden, code(err))
	require.Zero(t, limiter.calls[other.Conversation.ID.String()])

	for range 2 {
		_, err := svc.SendMessage(ctx, anon, chat.SendInput{ConversationID: anon.ConversationID, Content: "hi"})
		require.NoError(t, err)
	}
	_, err = svc.SendMessage(ctx, anon, chat.SendInput{ConversationID: anon.ConversationID, Content: "hi"})
	ce := chat.AsError(err)
	require.NotNil(t, ce)
	require.Equal(t, chat.CodeRateLimited, ce.Code)
	require.Equal(t, 1500*time.Millisecond, ce.RetryAfter)
	require.Len(t, store.Messages(anon.ConversationID), 2, "a limited send stores nothing")

	// The bot answers whatever the limit.
	bot := chat.Identity{Kind: chat.IdentityReplyToken, ConversationID: anon.ConversationID}
	_, err = svc.SendMessage(ctx, bot, chat.SendInput{ConversationID: anon.ConversationID, Content: "reply"})
	require.NoError(t, err)
}
