package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/postgres"
)

// TestReplyTokenForgedFromWebhookSecretRefused: with JWT_PUBLIC_KEY_FILE
// and no other secret, older versions derived the reply key from
// N8N_WEBHOOK_SECRET, so whoever held it could read and post to any
// conversation. A token made that way (with and without a kid) is refused.
func TestReplyTokenForgedFromWebhookSecretRefused(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"N8N_WEBHOOK_SECRET": hookSecret})
	anon := srv.CreateAnonymous(t)
	hookKey, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hookSecret, "whsec_"))
	require.NoError(t, err)
	// The old derivation: HMAC-SHA256(key, "chatgw reply token v1"), and the
	// webhook key itself.
	derived := hmacSHA256(hookKey, "chatgw reply token v1")
	var kid string
	require.NoError(t, srv.Pool.QueryRow(context.Background(), "SELECT kid FROM reply_keys ORDER BY generation DESC LIMIT 1").Scan(&kid))
	now := time.Now()
	claims := jwt.MapClaims{"aud": auth.ReplyTokenAudience, "cid": anon.ConversationID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for _, key := range [][]byte{derived, hookKey} {
		for _, hdr := range []map[string]any{{"typ": auth.ReplyTokenType}, {"typ": auth.ReplyTokenType, "kid": kid}} {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
			for k, v := range hdr {
				tok.Header[k] = v
			}
			forged, err := tok.SignedString(key)
			require.NoError(t, err)
			path := "/v1/conversations/" + anon.ConversationID + "/messages"
			status, body := srv.Do(t, http.MethodGet, path, forged, "")
			require.Equal(t, http.StatusUnauthorized, status, "read: %v", body)
			status, body = srv.Do(t, http.MethodPost, path, forged, `{"content":"forged"}`)
			require.Equal(t, http.StatusUnauthorized, status, "post: %v", body)
		}
	}
	// The real one works.
	status, _ := srv.Do(t, http.MethodGet, "/v1/conversations/"+anon.ConversationID+"/messages", srv.ReplyToken(t, apptest.ParseUUID(t, anon.ConversationID)), "")
	require.Equal(t, http.StatusOK, status)
}

// TestReplyTokensAcrossNodesAndRotation: two gateways on one database
// accept each other's reply tokens; after `reply-keys rotate` a token in
// flight under the old key still works on both, and a token under the new
// key works on a node that had not read it yet.
func TestReplyTokensAcrossNodesAndRotation(t *testing.T) {
	t.Parallel()
	a := apptest.Start(t, nil)
	b := apptest.Start(t, map[string]string{"DATABASE_URL": a.DatabaseURL})
	anon := a.CreateAnonymous(t)
	cid := apptest.ParseUUID(t, anon.ConversationID)
	path := "/v1/conversations/" + anon.ConversationID + "/messages"

	fromA, fromB := a.ReplyToken(t, cid), b.ReplyToken(t, cid)
	for _, c := range []struct {
		srv *apptest.Server
		tok string
	}{{a, fromB}, {b, fromA}} {
		status, body := c.srv.Do(t, http.MethodPost, path, c.tok, `{"content":"bot"}`)
		require.Equal(t, http.StatusCreated, status, "%v", body)
	}

	// Rotate as `chatgw reply-keys rotate` does.
	key := auth.NewReplyKey()
	_, err := postgres.NewReplyKeys(a.Pool).Add(context.Background(), key.ID, key.Secret)
	require.NoError(t, err)
	// A token under the new key (as a node that has read it would sign),
	// checked by nodes that have not: they reload on the unknown kid.
	rotated, err := auth.NewReplyTokens(auth.ReplyTokensConfig{Store: storeOf(a.Pool), TTL: time.Hour})
	require.NoError(t, err)
	require.NoError(t, rotated.Start(context.Background()))
	newTok, err := rotated.Issue(cid, time.Now())
	require.NoError(t, err)
	require.Contains(t, kidHeader(t, newTok), key.ID)
	for _, srv := range []*apptest.Server{a, b} {
		for _, tok := range []string{newTok, fromA, fromB} {
			status, body := srv.Do(t, http.MethodGet, path, tok, "")
			require.Equal(t, http.StatusOK, status, "%v", body)
		}
	}
}

func kidHeader(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	require.NoError(t, err)
	kid, _ := p.Header["kid"].(string)
	return kid
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// pgKeys reads the reply_keys table as auth.ReplyKeyStore.
type pgKeys struct{ keys *postgres.ReplyKeys }

func storeOf(pool *pgxpool.Pool) pgKeys { return pgKeys{postgres.NewReplyKeys(pool)} }

func (p pgKeys) EnsureReplyKey(ctx context.Context, first auth.ReplyKey) error {
	return p.keys.EnsureFirst(ctx, first.ID, first.Secret)
}

func (p pgKeys) ReplyKeys(ctx context.Context) ([]auth.ReplyKey, error) {
	stored, err := p.keys.All(ctx)
	out := make([]auth.ReplyKey, len(stored))
	for i, k := range stored {
		out[i] = auth.ReplyKey{ID: k.KID, Secret: k.Secret}
	}
	return out, err
}
