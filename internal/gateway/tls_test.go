package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	client "github.com/zishang520/socket.io/clients/socket/v3"

	"github.com/chatgw/chatgw/internal/apptest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "chatgw test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)

	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

func TestTLSServesHTTPSAndWSS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, roots := selfSigned(t)
	srv := apptest.Start(t, map[string]string{"TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile})
	require.True(t, strings.HasPrefix(srv.URL, "https://"))
	tlsConfig := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	srv.HTTP = &http.Client{Timeout: apptest.Timeout, Transport: &http.Transport{TLSClientConfig: tlsConfig}}

	status, body := srv.Do(t, http.MethodGet, "/healthz", "", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])

	anon := srv.CreateAnonymous(t)
	connect := func() *apptest.Socket {
		sock, err := srv.ConnectWith(t, func() *client.Options {
			opts := apptest.ClientOptions(anon.Auth())
			opts.SetTLSClientConfig(tlsConfig)
			return opts
		})
		require.NoError(t, err)
		return sock
	}
	a, b := connect(), connect()
	msg := a.Send(t, map[string]any{"content": "over wss"})
	require.Equal(t, msg["id"], b.Events.WaitFor(t, "message", 1)[0]["id"])

	// Plain HTTP on the TLS port gets no API answer.
	resp, err := http.Get("http://" + strings.TrimPrefix(srv.URL, "https://") + "/healthz")
	if err == nil {
		defer resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}
	// A client that does not trust the certificate is refused.
	_, err = (&http.Client{Timeout: apptest.Timeout}).Get(srv.URL + "/healthz")
	require.Error(t, err)
}
