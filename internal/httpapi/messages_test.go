package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestListMessagesCredentials(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.token(t, "alice")
	conv := e.owned(t, "alice")
	e.send(t, conv, 3)
	anon := e.anonymous(t)
	path := "/v1/conversations/" + conv.String() + "/messages"

	cases := []struct {
		name    string
		bearer  string
		headers []string
		status  int
		code    string
	}{
		{"owner", alice, nil, 200, ""},
		{"technician", e.token(t, "tom", "tecnico"), nil, 200, ""},
		{"reply token of the conversation", e.reply(t, conv), nil, 200, ""},
		{"reply token of another conversation", e.reply(t, anon.Conversation.ID), nil, 403, "FORBIDDEN"},
		{"another user", e.token(t, "eve"), nil, 403, "FORBIDDEN"},
		{"no credentials", "", nil, 401, "UNAUTHORIZED"},
		{"invalid JWT", "nope", nil, 401, "TOKEN_INVALID"},
		{"session token of another conversation", "", []string{"X-Session-Token", anon.SessionToken}, 401, "SESSION_INVALID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, http.MethodGet, path, tc.bearer, "", tc.headers...)
			require.Equal(t, tc.status, a.Status, a.Raw)
			if tc.code != "" {
				require.Equal(t, tc.code, a.code())
				return
			}
			require.Len(t, a.Body["messages"], 3)
			require.Equal(t, false, a.Body["hasMore"])
		})
	}

	a := e.do(t, http.MethodGet, "/v1/conversations/"+uuid.NewString()+"/messages", alice, "")
	require.Equal(t, http.StatusNotFound, a.Status, a.Raw)
	require.Equal(t, "NOT_FOUND", a.code())
	a = e.do(t, http.MethodGet, "/v1/conversations/"+uuid.NewString()+"/messages", "", "", "X-Session-Token", anon.SessionToken)
	require.Equal(t, "SESSION_INVALID", a.code(), "a session never learns whether a conversation exists")
	for _, id := range []string{"not-a-uuid", uuid.Nil.String()} {
		a = e.do(t, http.MethodGet, "/v1/conversations/"+id+"/messages", alice, "")
		require.Equal(t, http.StatusBadRequest, a.Status, "%s: %s", id, a.Raw)
		require.Equal(t, "VALIDATION_FAILED", a.code())
	}
}

func TestListMessagesPaging(t *testing.T) {
	t.Parallel()
	e := setup(t)
	anon := e.anonymous(t)
	e.send(t, anon.Conversation.ID, 5)
	path := "/v1/conversations/" + anon.Conversation.ID.String() + "/messages"
	session := []string{"X-Session-Token", anon.SessionToken}

	a := e.do(t, http.MethodGet, path+"?afterSeq=1&limit=2", "", "", session...)
	require.Equal(t, http.StatusOK, a.Status, a.Raw)
	require.Equal(t, true, a.Body["hasMore"])
	msgs := a.Body["messages"].([]any)
	require.Len(t, msgs, 2)
	require.EqualValues(t, 2, msgs[0].(map[string]any)["seq"])
	require.EqualValues(t, 3, msgs[1].(map[string]any)["seq"])

	a = e.do(t, http.MethodGet, path+"?afterSeq=5", "", "", session...)
	require.Equal(t, http.StatusOK, a.Status, a.Raw)
	require.Equal(t, []any{}, a.Body["messages"], "an empty page is [], not null")
	require.Equal(t, false, a.Body["hasMore"])

	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?afterSeq=-1", "?afterSeq=y", "?afterSeq=99999999999999999999"} {
		a := e.do(t, http.MethodGet, path+q, "", "", session...)
		require.Equal(t, http.StatusBadRequest, a.Status, "%s: %s", q, a.Raw)
		require.Equal(t, "VALIDATION_FAILED", a.code())
	}
}

func TestPostMessage(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.service.MaxMessageLength = 5 })
	tech := e.token(t, "tom", "tecnico")
	anon := e.anonymous(t)
	conv := anon.Conversation.ID
	path := "/v1/conversations/" + conv.String() + "/messages"

	for _, body := range []string{`{}`, `{"content":"   "}`, `{"content":"123456"}`, `{"content":7}`, `[]`, `{"content":"ok","clientMessageId":""}`, `{"content":"ok","clientMessageId":7}`} {
		a := e.do(t, http.MethodPost, path, tech, body)
		require.Equal(t, http.StatusBadRequest, a.Status, "%s: %s", body, a.Raw)
		require.Equal(t, "VALIDATION_FAILED", a.code())
	}
	a := e.do(t, http.MethodPost, path, "", `{"content":"hi"}`, "X-Session-Token", anon.SessionToken)
	require.Equal(t, http.StatusUnauthorized, a.Status, "a visitor posts over Socket.IO, not this route: %s", a.Raw)
	a = e.do(t, http.MethodPost, path, e.token(t, "alice"), `{"content":"hi"}`)
	require.Equal(t, http.StatusForbidden, a.Status, "a JWT posts as tecnico, which needs the role: %s", a.Raw)
	require.Empty(t, e.Store.Messages(conv), "rejected posts store nothing")

	a = e.do(t, http.MethodPost, path, tech, `{"content":"12345","clientMessageId":"c1"}`)
	require.Equal(t, http.StatusCreated, a.Status, a.Raw)
	msg := a.Body["message"].(map[string]any)
	require.Equal(t, "tecnico", msg["sender"])
	require.Equal(t, "tom", msg["senderId"])
	a = e.do(t, http.MethodPost, path, tech, `{"content":"other","clientMessageId":"c1"}`)
	require.Equal(t, http.StatusOK, a.Status, "a repeated clientMessageId answers 200: %s", a.Raw)
	require.Equal(t, msg, a.Body["message"], "with the first message")

	a = e.do(t, http.MethodPost, path, e.reply(t, conv), `{"content":"bot"}`)
	require.Equal(t, http.StatusCreated, a.Status, a.Raw)
	require.Equal(t, "bot", a.Body["message"].(map[string]any)["sender"])
	require.Nil(t, a.Body["message"].(map[string]any)["senderId"])
	a = e.do(t, http.MethodPost, "/v1/conversations/"+uuid.NewString()+"/messages", e.reply(t, conv), `{"content":"bot"}`)
	require.Equal(t, http.StatusForbidden, a.Status, "a reply token is bound to its conversation: %s", a.Raw)
	require.Len(t, e.Store.Messages(conv), 2)
	appends := e.Store.Appends()
	require.True(t, appends[0].Deliver, "a technician's message goes to the webhook")
	require.False(t, appends[len(appends)-1].Deliver, "the bot's message is not delivered back")
}
