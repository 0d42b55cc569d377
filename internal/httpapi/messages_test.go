package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

func TestListMessagesCredentials(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	alice := srv.Token(t, "alice")
	conv := srv.CreateOwned(t, alice)
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, map[string]any{"token": alice, "conversationId": conv})
	for i := range 3 {
		sock.Send(t, map[string]any{"content": fmt.Sprint("m", i)})
	}
	path := "/v1/conversations/" + conv + "/messages"

	cases := []struct {
		name    string
		bearer  string
		headers []string
		status  int
		code    string
	}{
		{"owner", alice, nil, 200, ""},
		{"technician", srv.Token(t, "tom", "tecnico"), nil, 200, ""},
		{"another user", srv.Token(t, "eve"), nil, 403, "FORBIDDEN"},
		{"no credentials", "", nil, 401, "UNAUTHORIZED"},
		{"invalid JWT", "nope", nil, 401, "TOKEN_INVALID"},
		{"session token of another conversation", "", []string{"X-Session-Token", anon.SessionToken}, 401, "SESSION_INVALID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := srv.Do(t, http.MethodGet, path, tc.bearer, "", tc.headers...)
			require.Equal(t, tc.status, status, "%v", body)
			if tc.code != "" {
				require.Equal(t, tc.code, body["error"].(map[string]any)["code"])
				return
			}
			require.Len(t, body["messages"], 3)
			require.Equal(t, false, body["hasMore"])
		})
	}

	status, body := srv.Do(t, http.MethodGet, "/v1/conversations/"+uuid.NewString()+"/messages", alice, "")
	require.Equal(t, http.StatusNotFound, status, "%v", body)
	for _, id := range []string{"not-a-uuid", uuid.Nil.String()} {
		status, body = srv.Do(t, http.MethodGet, "/v1/conversations/"+id+"/messages", alice, "")
		require.Equal(t, http.StatusBadRequest, status, "%s: %v", id, body)
		require.Equal(t, "VALIDATION_FAILED", body["error"].(map[string]any)["code"])
	}
}

func TestListMessagesPaging(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	for i := range 5 {
		sock.Send(t, map[string]any{"content": fmt.Sprint("m", i)})
	}
	path := "/v1/conversations/" + anon.ConversationID + "/messages"
	session := []string{"X-Session-Token", anon.SessionToken}

	status, body := srv.Do(t, http.MethodGet, path+"?afterSeq=1&limit=2", "", "", session...)
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, true, body["hasMore"])
	msgs := body["messages"].([]any)
	require.Len(t, msgs, 2)
	require.EqualValues(t, 2, msgs[0].(map[string]any)["seq"])
	require.EqualValues(t, 3, msgs[1].(map[string]any)["seq"])

	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?afterSeq=-1", "?afterSeq=y"} {
		status, body := srv.Do(t, http.MethodGet, path+q, "", "", session...)
		require.Equal(t, http.StatusBadRequest, status, "%s: %v", q, body)
		require.Equal(t, "VALIDATION_FAILED", body["error"].(map[string]any)["code"])
	}
}

func TestPostMessageValidation(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"MAX_MESSAGE_LENGTH": "5"})
	tech := srv.Token(t, "tom", "tecnico")
	anon := srv.CreateAnonymous(t)
	path := "/v1/conversations/" + anon.ConversationID + "/messages"
	for _, body := range []string{`{}`, `{"content":"   "}`, `{"content":"123456"}`, `{"content":7}`, `[]`, `{"content":"ok","clientMessageId":""}`} {
		status, resp := srv.Do(t, http.MethodPost, path, tech, body)
		require.Equal(t, http.StatusBadRequest, status, "%s: %v", body, resp)
		require.Equal(t, "VALIDATION_FAILED", resp["error"].(map[string]any)["code"])
	}
	status, resp := srv.Do(t, http.MethodPost, path, "", `{"content":"hi"}`, "X-Session-Token", anon.SessionToken)
	require.Equal(t, http.StatusUnauthorized, status, "a visitor posts over Socket.IO, not this route: %v", resp)
	status, resp = srv.Do(t, http.MethodPost, path, tech, `{"content":"12345"}`)
	require.Equal(t, http.StatusCreated, status, "%v", resp)
}
