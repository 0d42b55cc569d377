package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Standard Webhooks headers. Go canonicalises them on the wire
// ("Webhook-Id"); HTTP header names are case-insensitive, and n8n and Node
// see them in lower case.
const (
	HeaderID        = standardwebhooks.HeaderWebhookID
	HeaderTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderSignature = standardwebhooks.HeaderWebhookSignature
)

// Signer computes Standard Webhooks signatures: "v1," + base64 of
// HMAC-SHA256(key, id + "." + unix timestamp + "." + body). It uses the
// reference Go library rather than a hand-rolled HMAC so that the scheme is
// the one receivers verify against; the test pins it to the spec's vector.
type Signer struct {
	wh *standardwebhooks.Webhook
}

// NewSigner returns a signer for key, the base64-decoded part of a
// "whsec_..." secret (config.WebhookConfig.SecretKey).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) == 0 {
		return nil, errors.New("webhook: empty signing key")
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return nil, err
	}
	return &Signer{wh: wh}, nil
}

// Sign returns the webhook-signature header value for one attempt.
func (s *Signer) Sign(id string, ts time.Time, body []byte) (string, error) {
	return s.wh.Sign(id, ts, body)
}

// SetHeaders sets webhook-id, webhook-timestamp and, when s is not nil,
// webhook-signature on h.
func (s *Signer) SetHeaders(h http.Header, id string, ts time.Time, body []byte) error {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if s == nil {
		return nil
	}
	sig, err := s.Sign(id, ts, body)
	if err != nil {
		return err
	}
	h.Set(HeaderSignature, sig)
	return nil
}

// Verify checks a delivery's signature headers against body, including the
// library's five-minute timestamp tolerance. Receivers written in Go (and
// the tests) use it.
func (s *Signer) Verify(body []byte, h http.Header) error {
	return s.wh.Verify(body, h)
}
