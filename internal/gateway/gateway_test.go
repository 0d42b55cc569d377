package gateway_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	client "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/auth"
)

func TestAnonymousSendAck(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	msg := sock.Send(t, map[string]any{"content": "  hello  ", "clientMessageId": "c-1", "sender": "bot", "senderId": "admin", "extra": 1})
	require.Equal(t, "hello", msg["content"], "the trimmed text is stored")
	require.EqualValues(t, 1, msg["seq"])
	require.Equal(t, "user", msg["sender"], "a client cannot choose its sender")
	require.Nil(t, msg["senderId"])
	require.Equal(t, anon.ConversationID, msg["conversationId"])
	require.Equal(t, "c-1", msg["clientMessageId"])
	_, err := time.Parse(time.RFC3339, msg["createdAt"].(string))
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(msg["createdAt"].(string), "Z"), "createdAt is UTC")

	saved := sock.Events.WaitFor(t, "message-saved", 1)
	require.Equal(t, msg["id"], saved[0]["id"])

	var rows int
	require.NoError(t, srv.Pool.QueryRow(context.Background(), "SELECT count(*) FROM messages WHERE id = $1", msg["id"]).Scan(&rows))
	require.Equal(t, 1, rows, "an ok ack means the row is committed")
	require.NoError(t, srv.Pool.QueryRow(context.Background(), "SELECT count(*) FROM river_job").Scan(&rows))
	require.Zero(t, rows, "no N8N_WEBHOOK_URL, no delivery job")
}

func TestHandshakeRejections(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	alice := srv.Token(t, "alice")
	owned := srv.CreateOwned(t, srv.Token(t, "bob"))
	expired, err := auth.MintUserToken([]byte(apptest.JWTSecret), "alice", nil, "roles", time.Hour, "", "", time.Now().Add(-2*time.Hour))
	require.NoError(t, err)
	wrongKey, err := auth.MintUserToken([]byte("another-secret-another-secret!!"), "alice", nil, "roles", time.Hour, "", "", time.Now())
	require.NoError(t, err)
	b64 := base64.RawURLEncoding.EncodeToString
	algNone := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"alice","exp":9999999999}`)) + "."

	cases := []struct {
		name string
		auth map[string]any
		code string
	}{
		{"nothing", map[string]any{}, "UNAUTHORIZED"},
		{"expired JWT", map[string]any{"token": expired}, "TOKEN_EXPIRED"},
		{"garbage JWT", map[string]any{"token": "not.a.jwt"}, "TOKEN_INVALID"},
		{"wrong key", map[string]any{"token": wrongKey}, "TOKEN_INVALID"},
		{"alg none", map[string]any{"token": algNone}, "TOKEN_INVALID"},
		{"token not a string", map[string]any{"token": 42}, "TOKEN_INVALID"},
		{"bad JWT is not downgraded to anonymous", map[string]any{"token": "bad", "conversationId": anon.ConversationID, "session_token": anon.SessionToken}, "TOKEN_INVALID"},
		{"JWT, conversation of someone else", map[string]any{"token": alice, "conversationId": owned}, "FORBIDDEN"},
		{"JWT, unknown conversation", map[string]any{"token": alice, "conversationId": uuid.NewString()}, "NOT_FOUND"},
		{"JWT, conversationId not a UUID", map[string]any{"token": alice, "conversationId": "nope"}, "VALIDATION_FAILED"},
		{"JWT, conversationId the nil UUID", map[string]any{"token": alice, "conversationId": uuid.Nil.String()}, "VALIDATION_FAILED"},
		{"session for the nil UUID", map[string]any{"conversationId": uuid.Nil.String(), "session_token": anon.SessionToken}, "SESSION_INVALID"},
		{"wrong session token", map[string]any{"conversationId": anon.ConversationID, "session_token": "wrong"}, "SESSION_INVALID"},
		{"unknown conversation", map[string]any{"conversationId": uuid.NewString(), "session_token": anon.SessionToken}, "SESSION_INVALID"},
		{"owned conversation with a session token", map[string]any{"conversationId": owned, "session_token": anon.SessionToken}, "SESSION_INVALID"},
		{"conversation without token", map[string]any{"conversationId": anon.ConversationID}, "SESSION_INVALID"},
		{"session token not a string", map[string]any{"conversationId": anon.ConversationID, "session_token": 7}, "SESSION_INVALID"},
		{"conversationId not a UUID", map[string]any{"conversationId": "x", "session_token": anon.SessionToken}, "SESSION_INVALID"},
	}
	sessionInvalid := 0
	for _, tc := range cases {
		if tc.code == "SESSION_INVALID" {
			sessionInvalid++
		}
		t.Run(tc.name, func(t *testing.T) {
			code, message := srv.ConnectError(t, tc.auth)
			require.Equal(t, tc.code, code)
			require.NotEmpty(t, message)
		})
	}
	require.Equal(t, float64(sessionInvalid), testutil.ToFloat64(srv.Metrics().Handshakes.WithLabelValues("SESSION_INVALID")), "handshake rejections are counted by code")
}

func TestHandshakeIgnoresQueryString(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	sock, err := srv.ConnectWith(t, func() *client.Options {
		opts := apptest.ClientOptions(nil)
		opts.SetQuery(url.Values{
			"token":          {srv.Token(t, "alice")},
			"conversationId": {anon.ConversationID},
			"session_token":  {anon.SessionToken},
		})
		return opts
	})
	defer sock.Disconnect()
	ext, ok := err.(*types.ExtendedError)
	require.True(t, ok, "credentials in the query string must not authenticate: %v", err)
	require.Equal(t, map[string]any{"code": "UNAUTHORIZED"}, ext.Data)
}

func TestJWTHandshake(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	alice := srv.Token(t, "alice")
	conv := srv.CreateOwned(t, alice)

	// With conversationId the socket is in the conversation's room and
	// sends default to it.
	sock := srv.Connect(t, map[string]any{"token": alice, "conversationId": conv})
	msg := sock.Send(t, map[string]any{"content": "from alice"})
	require.Equal(t, conv, msg["conversationId"])
	require.Equal(t, "alice", msg["senderId"])

	tech := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico"), "conversationId": conv})
	sock.Send(t, map[string]any{"content": "second"})
	got := tech.Events.WaitFor(t, "message", 1)
	require.Equal(t, "second", got[0]["content"])

	// Without conversationId, sends must name one.
	bare := srv.Connect(t, map[string]any{"token": alice})
	ack := bare.Emit(t, "client-send-message", map[string]any{"content": "where?"})
	requireAckError(t, ack, "VALIDATION_FAILED")
	ack = bare.Emit(t, "client-send-message", map[string]any{"conversationId": conv, "content": "here"})
	require.Equal(t, true, ack["ok"])
}

func TestBroadcastReachesRoomNotSender(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	other := srv.CreateAnonymous(t)
	sender := srv.Connect(t, anon.Auth())
	sameConv := srv.Connect(t, anon.Auth())
	otherConv := srv.Connect(t, other.Auth())
	tech := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico")})
	join := tech.Emit(t, "client-join-conversation", map[string]any{"conversationId": anon.ConversationID})
	require.Equal(t, true, join["ok"], "%v", join)

	msg := sender.Send(t, map[string]any{"content": "hi room"})
	require.Equal(t, msg["id"], sameConv.Events.WaitFor(t, "message", 1)[0]["id"])
	require.Equal(t, msg["id"], tech.Events.WaitFor(t, "message", 1)[0]["id"])

	// The technician's reply reaches the visitor's sockets, then a marker
	// in the other conversation proves nothing leaked across before it.
	reply := tech.Emit(t, "client-send-tecnico", map[string]any{"conversationId": anon.ConversationID, "content": "hello, how can I help?"})
	require.Equal(t, true, reply["ok"], "%v", reply)
	got := sender.Events.WaitFor(t, "message", 1)
	require.Equal(t, "tecnico", got[0]["sender"])
	require.Equal(t, "tom", got[0]["senderId"])

	srv.Connect(t, other.Auth()).Send(t, map[string]any{"content": "marker"})
	otherGot := otherConv.Events.WaitFor(t, "message", 1)
	require.Equal(t, "marker", otherGot[0]["content"])
	require.Len(t, otherConv.Events.Named("message"), 1, "no message from another conversation")
	for _, m := range sender.Events.Named("message") {
		require.NotEqual(t, msg["id"], m["id"], "the sender does not get its own message as a broadcast")
	}
}

func TestTechnicianEvent(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	visitor := srv.Connect(t, anon.Auth())
	payload := map[string]any{"conversationId": anon.ConversationID, "content": "I am staff"}

	requireAckError(t, visitor.Emit(t, "client-send-tecnico", payload), "UNAUTHORIZED")
	errEvent := visitor.Events.WaitFor(t, "error", 1)[0]
	require.Equal(t, "UNAUTHORIZED", errEvent["code"])
	require.Equal(t, "client-send-tecnico", errEvent["event"])

	user := srv.Connect(t, map[string]any{"token": srv.Token(t, "alice")})
	requireAckError(t, user.Emit(t, "client-send-tecnico", payload), "FORBIDDEN")

	admin := srv.Connect(t, map[string]any{"token": srv.Token(t, "ada", "admin")})
	ack := admin.Emit(t, "client-send-tecnico", payload)
	require.Equal(t, true, ack["ok"], "%v", ack)
	msg := ack["message"].(map[string]any)
	require.Equal(t, "tecnico", msg["sender"])
	require.Equal(t, msg["id"], visitor.Events.WaitFor(t, "message", 1)[0]["id"])

	// The technician joined the room by sending: the visitor's reply reaches it.
	visitor.Send(t, map[string]any{"content": "thanks"})
	require.Equal(t, "thanks", admin.Events.WaitFor(t, "message", 1)[0]["content"])

	requireAckError(t, admin.Emit(t, "client-send-tecnico", map[string]any{"conversationId": uuid.NewString(), "content": "x"}), "NOT_FOUND")
	requireAckError(t, admin.Emit(t, "client-send-tecnico", map[string]any{"content": "no conversation"}), "VALIDATION_FAILED")
}

func TestDeprecatedSendUser(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	for i := 0; i < 2; i++ {
		ack := sock.Emit(t, "client-send-user", map[string]any{"content": "old client"})
		require.Equal(t, true, ack["ok"], "%v", ack)
		require.Equal(t, "user", ack["message"].(map[string]any)["sender"])
	}
	require.Equal(t, 2.0, testutil.ToFloat64(srv.Metrics().DeprecatedEvents.WithLabelValues("client-send-user")))
	require.Equal(t, 1, strings.Count(srv.Logs.String(), "deprecated event used"), "logged once per socket")
}

func TestSendAuthorization(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	other := srv.CreateAnonymous(t)
	bobConv := srv.CreateOwned(t, srv.Token(t, "bob"))
	visitor := srv.Connect(t, anon.Auth())
	alice := srv.Connect(t, map[string]any{"token": srv.Token(t, "alice")})

	cases := []struct {
		name string
		sock *apptest.Socket
		conv string
		code string
	}{
		{"anonymous to another conversation", visitor, other.ConversationID, "FORBIDDEN"},
		{"anonymous to a missing conversation", visitor, uuid.NewString(), "FORBIDDEN"},
		{"user to someone else's", alice, bobConv, "FORBIDDEN"},
		{"user to an anonymous one", alice, anon.ConversationID, "FORBIDDEN"},
		{"user to a missing conversation", alice, uuid.NewString(), "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ack := tc.sock.Emit(t, "client-send-message", map[string]any{"conversationId": tc.conv, "content": "hi"})
			requireAckError(t, ack, tc.code)
		})
	}
	require.Empty(t, srv.Store.Appends(), "refused sends reach no store")
}

func TestValidation(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(o *options) { o.service.MaxMessageLength = 10 })
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())

	cases := []struct {
		name    string
		event   string
		payload any
		field   string
	}{
		{"array payload", "client-send-message", []any{"content"}, "payload"},
		{"null payload", "client-send-message", nil, "payload"},
		{"string payload", "client-send-message", "hello", "payload"},
		{"missing content", "client-send-message", map[string]any{}, "content"},
		{"blank content", "client-send-message", map[string]any{"content": "   "}, "content"},
		{"content not a string", "client-send-message", map[string]any{"content": 12}, "content"},
		{"content too long", "client-send-message", map[string]any{"content": "12345678901"}, "content"},
		{"NUL in content", "client-send-message", map[string]any{"content": "a\u0000b"}, "content"},
		{"conversationId not a UUID", "client-send-message", map[string]any{"conversationId": "123", "content": "x"}, "conversationId"},
		{"conversationId not a string", "client-send-message", map[string]any{"conversationId": 5, "content": "x"}, "conversationId"},
		{"conversationId the nil UUID", "client-send-message", map[string]any{"conversationId": uuid.Nil.String(), "content": "x"}, "conversationId"},
		{"typing in the nil UUID", "client-typing", map[string]any{"conversationId": uuid.Nil.String(), "typing": true}, "conversationId"},
		{"clientMessageId too long", "client-send-message", map[string]any{"content": "x", "clientMessageId": strings.Repeat("c", 129)}, "clientMessageId"},
		{"clientMessageId empty", "client-send-message", map[string]any{"content": "x", "clientMessageId": ""}, "clientMessageId"},
		{"clientMessageId not a string", "client-send-message", map[string]any{"content": "x", "clientMessageId": 1}, "clientMessageId"},
		{"join without id", "client-join-conversation", map[string]any{}, "conversationId"},
		{"join bad id", "client-join-conversation", map[string]any{"conversationId": "x"}, "conversationId"},
		{"join the nil UUID", "client-join-conversation", map[string]any{"conversationId": uuid.Nil.String()}, "conversationId"},
		{"leave bad id", "client-leave-conversation", map[string]any{"conversationId": "x"}, "conversationId"},
		{"history limit 0", "client-get-history", map[string]any{"limit": 0}, "limit"},
		{"history limit 201", "client-get-history", map[string]any{"limit": 201}, "limit"},
		{"history limit fraction", "client-get-history", map[string]any{"limit": 1.5}, "limit"},
		{"history negative afterSeq", "client-get-history", map[string]any{"afterSeq": -1}, "afterSeq"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ack := sock.Emit(t, tc.event, tc.payload)
			e := requireAckError(t, ack, "VALIDATION_FAILED")
			fields := e["fields"].([]any)
			require.NotEmpty(t, fields)
			require.Equal(t, tc.field, fields[0].(map[string]any)["field"])
			ev := sock.Events.WaitFor(t, "validation-error", i+1)[i]
			require.Equal(t, "VALIDATION_FAILED", ev["code"])
			require.Equal(t, tc.event, ev["event"])
			require.NotEmpty(t, ev["message"])
			require.NotEmpty(t, ev["fields"])
		})
	}
	// Ten code points fit, whatever their size in bytes.
	sock.Send(t, map[string]any{"content": "😀😀😀😀😀😀😀😀😀😀"})
	require.Len(t, srv.Store.Appends(), 1, "rejected sends reach no store")
}

func TestSendWithoutAck(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	require.NoError(t, sock.Socket.Emit("client-send-message", map[string]any{"content": "fire and forget"}))
	require.Equal(t, "fire and forget", sock.Events.WaitFor(t, "message-saved", 1)[0]["content"])
	require.NoError(t, sock.Socket.Emit("client-send-message", map[string]any{"content": ""}))
	require.Equal(t, "client-send-message", sock.Events.WaitFor(t, "validation-error", 1)[0]["event"])
}

func TestJoinLeave(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	aliceTok := srv.Token(t, "alice")
	conv := srv.CreateOwned(t, aliceTok)
	bobConv := srv.CreateOwned(t, srv.Token(t, "bob"))
	owner := srv.Connect(t, map[string]any{"token": aliceTok})
	writer := srv.Connect(t, map[string]any{"token": aliceTok, "conversationId": conv})

	requireAckError(t, owner.Emit(t, "client-join-conversation", map[string]any{"conversationId": bobConv}), "FORBIDDEN")
	requireAckError(t, owner.Emit(t, "client-join-conversation", map[string]any{"conversationId": uuid.NewString()}), "NOT_FOUND")
	require.Equal(t, "FORBIDDEN", owner.Events.WaitFor(t, "error", 1)[0]["code"])

	ack := owner.Emit(t, "client-join-conversation", map[string]any{"conversationId": conv})
	require.Equal(t, true, ack["ok"], "%v", ack)
	writer.Send(t, map[string]any{"content": "one"})
	require.Equal(t, "one", owner.Events.WaitFor(t, "message", 1)[0]["content"])

	ack = owner.Emit(t, "client-leave-conversation", map[string]any{"conversationId": conv})
	require.Equal(t, true, ack["ok"], "%v", ack)
	writer.Send(t, map[string]any{"content": "two"})
	// A marker through a room the owner is still in orders the check.
	marker := srv.CreateOwned(t, aliceTok)
	owner.Emit(t, "client-join-conversation", map[string]any{"conversationId": marker})
	srv.Connect(t, map[string]any{"token": aliceTok, "conversationId": marker}).Send(t, map[string]any{"content": "marker"})
	got := owner.Events.WaitFor(t, "message", 2)
	require.Equal(t, "marker", got[1]["content"], "nothing from the conversation it left")
}

func TestHistoryEvent(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	for i := 0; i < 3; i++ {
		sock.Send(t, map[string]any{"content": "m"})
	}
	ack := sock.Emit(t, "client-get-history", map[string]any{"afterSeq": 1, "limit": 1})
	require.Equal(t, true, ack["ok"], "%v", ack)
	require.Equal(t, true, ack["hasMore"])
	msgs := ack["messages"].([]any)
	require.Len(t, msgs, 1)
	require.EqualValues(t, 2, msgs[0].(map[string]any)["seq"])

	ack = sock.Emit(t, "client-get-history", map[string]any{})
	require.Len(t, ack["messages"].([]any), 3)
	require.Equal(t, false, ack["hasMore"])

	other := srv.CreateAnonymous(t)
	requireAckError(t, sock.Emit(t, "client-get-history", map[string]any{"conversationId": other.ConversationID}), "FORBIDDEN")
}

// requireAckError checks an {ok:false, error:{code,...}} ack and returns the error.
func requireAckError(t *testing.T, ack map[string]any, code string) map[string]any {
	t.Helper()
	require.Equal(t, false, ack["ok"], "%v", ack)
	e, ok := ack["error"].(map[string]any)
	require.True(t, ok, "%v", ack)
	require.Equal(t, code, e["code"], "%v", ack)
	require.NotEmpty(t, e["message"])
	return e
}

func TestMessageAndEventMetrics(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	anon := srv.CreateAnonymous(t)
	visitor := srv.Connect(t, anon.Auth())
	tech := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico")})

	msg := visitor.Send(t, map[string]any{"content": "one", "clientMessageId": "m1"})
	visitor.Send(t, map[string]any{"content": "one again", "clientMessageId": "m1"}) // a repeat creates nothing
	ack := tech.Emit(t, "client-send-tecnico", map[string]any{"conversationId": anon.ConversationID, "content": "two"})
	require.Equal(t, true, ack["ok"], "%v", ack)
	requireAckError(t, visitor.Emit(t, "client-send-tecnico", map[string]any{"conversationId": anon.ConversationID, "content": "x"}), "UNAUTHORIZED")
	requireAckError(t, visitor.Emit(t, "client-send-message", map[string]any{"content": ""}), "VALIDATION_FAILED")

	m := srv.Metrics()
	require.Equal(t, 1.0, testutil.ToFloat64(m.Messages.WithLabelValues("user")), "created messages only, %v", msg["id"])
	require.Equal(t, 1.0, testutil.ToFloat64(m.Messages.WithLabelValues("tecnico")))
	require.Equal(t, 2.0, testutil.ToFloat64(m.Events.WithLabelValues("client-send-message", "ok")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Events.WithLabelValues("client-send-message", "VALIDATION_FAILED")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Events.WithLabelValues("client-send-tecnico", "ok")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Events.WithLabelValues("client-send-tecnico", "UNAUTHORIZED")))
}
