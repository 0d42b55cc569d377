package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
)

func TestInboxCredentials(t *testing.T) {
	t.Parallel()
	e := setup(t)
	conv := e.owned(t, "alice")
	anon := e.anonymous(t)
	cases := []struct {
		name    string
		bearer  string
		headers []string
		status  int
		code    string
	}{
		{"technician", e.token(t, "tom", "tecnico"), nil, 200, ""},
		{"user without the role", e.token(t, "alice"), nil, 403, "FORBIDDEN"},
		{"user with another role", e.token(t, "vic", "viewer"), nil, 403, "FORBIDDEN"},
		{"reply token", e.reply(t, conv), nil, 403, "FORBIDDEN"},
		{"no credentials", "", nil, 401, "UNAUTHORIZED"},
		{"session token only", "", []string{"X-Session-Token", anon.SessionToken}, 401, "UNAUTHORIZED"},
		{"invalid JWT", "nope", nil, 401, "TOKEN_INVALID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, http.MethodGet, "/v1/conversations", tc.bearer, "", tc.headers...)
			require.Equal(t, tc.status, a.Status, a.Raw)
			require.Equal(t, tc.code, a.code())
			a = e.do(t, http.MethodPost, "/v1/conversations/"+conv.String()+"/status", tc.bearer, `{"status":"closed"}`, tc.headers...)
			if tc.code == "" {
				require.Equal(t, 200, a.Status, a.Raw)
				require.Equal(t, map[string]any{"conversationId": conv.String(), "status": "closed"}, a.Body)
				return
			}
			require.Equal(t, tc.status, a.Status, a.Raw)
			require.Equal(t, tc.code, a.code())
		})
	}
}

func TestInboxPagesAndItems(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tech := e.token(t, "tom", "tecnico")
	var ids []uuid.UUID // oldest activity first
	for range 5 {
		ids = append(ids, e.owned(t, "alice"))
	}
	e.send(t, ids[1], 1) // bot wrote last: not awaiting a reply
	visitor := chat.Identity{Kind: chat.IdentityUser, UserID: "alice"}
	_, err := e.Service.SendMessage(context.Background(), visitor, chat.SendInput{ConversationID: ids[0], Content: "<b>help</b>"})
	require.NoError(t, err)
	want := []string{ids[0].String(), ids[1].String(), ids[4].String(), ids[3].String(), ids[2].String()}

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		q := url.Values{"limit": {"2"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		a := e.do(t, http.MethodGet, "/v1/conversations?"+q.Encode(), tech, "")
		require.Equal(t, 200, a.Status, a.Raw)
		require.Equal(t, "no-store", a.Header.Get("Cache-Control"))
		for _, it := range a.Body["conversations"].([]any) {
			got = append(got, it.(map[string]any)["conversationId"].(string))
		}
		next, ok := a.Body["nextCursor"].(string)
		if !ok {
			require.Nil(t, a.Body["nextCursor"], "no more: nextCursor is null")
			break
		}
		cursor = next
	}
	require.Equal(t, want, got, "newest activity first, every conversation once")

	a := e.do(t, http.MethodGet, "/v1/conversations", tech, "")
	items := a.Body["conversations"].([]any)
	first := items[0].(map[string]any)
	require.ElementsMatch(t, []string{"conversationId", "status", "createdAt", "lastActivityAt", "ownerId", "metadata", "lastMessage", "awaitingReply"}, keys(first))
	require.Equal(t, "open", first["status"])
	require.Equal(t, "alice", first["ownerId"])
	require.Nil(t, first["metadata"])
	require.Equal(t, true, first["awaitingReply"])
	last := first["lastMessage"].(map[string]any)
	require.Equal(t, "<b>help</b>", last["content"])
	require.Equal(t, "user", last["sender"])
	require.Equal(t, false, items[1].(map[string]any)["awaitingReply"], "the bot answered")
	require.Nil(t, items[2].(map[string]any)["lastMessage"])

	// Closing moves a conversation from the default (open) list to the closed one.
	a = e.do(t, http.MethodPost, "/v1/conversations/"+ids[0].String()+"/status", tech, `{"status":"closed"}`)
	require.Equal(t, 200, a.Status, a.Raw)
	list := func(status string) []string {
		a := e.do(t, http.MethodGet, "/v1/conversations?status="+status, tech, "")
		require.Equal(t, 200, a.Status, a.Raw)
		var out []string
		for _, it := range a.Body["conversations"].([]any) {
			out = append(out, it.(map[string]any)["conversationId"].(string))
		}
		return out
	}
	require.Equal(t, want[1:], list(""))
	require.Equal(t, want[1:], list("open"))
	require.Equal(t, want[:1], list("closed"))
	require.Equal(t, want, list("all"))
}

func TestInboxValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tech := e.token(t, "tom", "tecnico")
	e.owned(t, "alice")
	e.owned(t, "alice")
	a := e.do(t, http.MethodGet, "/v1/conversations?limit=1", tech, "")
	cursor := a.Body["nextCursor"].(string)
	for _, q := range []string{
		"status=pending", "status=", "limit=0", "limit=101", "limit=x", "limit=1.5",
		"cursor=", "cursor=abc", "cursor=" + cursor + "x", "status=closed&cursor=" + cursor,
	} {
		if q == "status=" {
			continue // empty means the default
		}
		a := e.do(t, http.MethodGet, "/v1/conversations?"+q, tech, "")
		require.Equal(t, http.StatusBadRequest, a.Status, "%s: %s", q, a.Raw)
		require.Equal(t, "VALIDATION_FAILED", a.code(), q)
	}
	a = e.do(t, http.MethodGet, "/v1/conversations?limit=1&cursor="+cursor, tech, "")
	require.Equal(t, 200, a.Status, a.Raw)

	conv := e.owned(t, "alice").String()
	for _, body := range []string{`{}`, `{"status":"archived"}`, `{"status":1}`, `[]`, `nope`, `{"status":"OPEN"}`} {
		a := e.do(t, http.MethodPost, "/v1/conversations/"+conv+"/status", tech, body)
		require.Equal(t, http.StatusBadRequest, a.Status, "%s: %s", body, a.Raw)
		require.Equal(t, "VALIDATION_FAILED", a.code(), body)
	}
	a = e.do(t, http.MethodPost, "/v1/conversations/not-a-uuid/status", tech, `{"status":"closed"}`)
	require.Equal(t, "VALIDATION_FAILED", a.code())
	a = e.do(t, http.MethodPost, "/v1/conversations/"+uuid.NewString()+"/status", tech, `{"status":"closed"}`)
	require.Equal(t, http.StatusNotFound, a.Status, a.Raw)
	require.Equal(t, "NOT_FOUND", a.code())
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
