package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// runCodeNode runs the Code node of the example n8n workflow, as n8n would,
// on one delivery: the headers and raw body chatgw sent, and the secret the
// n8n user configured. It returns the node's {valid, reason, content}.
const runCodeNode = `
const fs = require('fs');
const [wfPath, secret] = process.argv.slice(1);
const { headers, raw } = JSON.parse(fs.readFileSync(0, 'utf8'));
const wf = JSON.parse(fs.readFileSync(wfPath, 'utf8'));
const code = wf.nodes.find((n) => n.type === 'n8n-nodes-base.code').parameters.jsCode;
const fn = new (Object.getPrototypeOf(async function () {}).constructor)('$input', '$env', 'require', code);
const ctx = { helpers: { getBinaryDataBuffer: async () => Buffer.from(raw, 'utf8') } };
fn.call(ctx, { all: () => [{ json: { headers }, binary: { data: { mimeType: 'application/json' } } }] }, { CHATGW_WEBHOOK_SECRET: secret }, require)
  .then(([r]) => console.log(JSON.stringify({ valid: r.json.valid, reason: r.json.reason, content: r.json.content })));
`

// makeVar reads a `NAME ?= value` assignment of the Makefile.
func makeVar(t *testing.T, makefile, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*\?=\s*(.+?)\s*$`).FindStringSubmatch(makefile)
	require.NotNil(t, m, "Makefile sets no %s", name)
	return m[1]
}

// TestMakeRunMatchesN8NDocs: the webhook secret and auth header `make run`
// gives the gateway are the ones docs/n8n.md tells an n8n user to
// configure, and the example workflow's Code node, run on a real delivery
// signed with them, accepts it.
func TestMakeRunMatchesN8NDocs(t *testing.T) {
	t.Parallel()
	makefile, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	secret := makeVar(t, string(makefile), "DEV_N8N_WEBHOOK_SECRET")
	authHeader := makeVar(t, string(makefile), "DEV_N8N_WEBHOOK_AUTH_HEADER")
	name, value, ok := strings.Cut(authHeader, ":")
	require.True(t, ok, authHeader)
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)

	docs, err := os.ReadFile("../../docs/n8n.md")
	require.NoError(t, err)
	for _, want := range []string{
		"| step 1: `CHATGW_WEBHOOK_SECRET` | `" + secret + "` |",
		"| step 3: Header Auth **Name** | `" + name + "` |",
		"| step 3: Header Auth **Value** | `" + value + "` |",
		"`" + makeVar(t, string(makefile), "DEV_N8N_WEBHOOK_URL") + "`",
	} {
		require.Contains(t, string(docs), want, "docs/n8n.md and the Makefile's make run values differ")
	}

	type request struct {
		header http.Header
		raw    []byte
	}
	got := make(chan request, 10)
	n8n := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		got <- request{r.Header.Clone(), raw}
	}))
	t.Cleanup(n8n.Close)

	s := apptest.Start(t, map[string]string{
		"N8N_WEBHOOK_URL":         n8n.URL + "/webhook/chatgw",
		"N8N_WEBHOOK_SECRET":      secret,
		"N8N_WEBHOOK_AUTH_HEADER": authHeader,
	})
	connectAndSend(t, s, s.CreateAnonymous(t).Auth(), map[string]any{"content": "hello n8n"})
	var d request
	select {
	case d = <-got:
	case <-t.Context().Done():
	}
	require.NotNil(t, d.raw, "no delivery")
	require.Equal(t, value, d.header.Get(name), "n8n's Header Auth would answer 403")

	headers := map[string]string{}
	for k := range d.header {
		headers[strings.ToLower(k)] = d.header.Get(k)
	}
	in, err := json.Marshal(map[string]any{"headers": headers, "raw": string(d.raw)})
	require.NoError(t, err)
	node, err := exec.LookPath("node")
	require.NoError(t, err, "Node.js runs the workflow's Code node")
	cmd := exec.CommandContext(t.Context(), node, "-e", runCodeNode, "../../docs/examples/n8n-workflow.json", secret)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err)
	var res struct {
		Valid   bool
		Reason  string
		Content string
	}
	require.NoError(t, json.Unmarshal(out, &res), string(out))
	require.True(t, res.Valid, "the Code node refused make run's delivery: %s", res.Reason)
	require.Equal(t, "hello n8n", res.Content)
}
