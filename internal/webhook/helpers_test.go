package webhook_test

import (
	"encoding/base64"
	"strings"
)

func decodeSecret(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
}
