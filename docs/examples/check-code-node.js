// Runs the Code node of n8n-workflow.json outside n8n, over deliveries signed
// as chatgw signs them and over every way a delivery can fail, and checks
// that the workflow fails closed (every failure before "Acknowledge (200)"
// answers non-2xx, so chatgw retries). `make test` runs it:
//   node --test docs/examples/check-code-node.js
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const workflowFile = path.join(__dirname, 'n8n-workflow.json');
const wf = JSON.parse(fs.readFileSync(workflowFile, 'utf8'));
const codeNode = wf.nodes.find((n) => n.type === 'n8n-nodes-base.code');
const code = codeNode.parameters.jsCode;
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const key = Buffer.from(secret.slice(6), 'base64');

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;

// run executes the node's code as n8n does: $input, $env, require and
// this.helpers.getBinaryDataBuffer over the item's binary "data" (present
// only when the Webhook node's Raw Body is on).
function run({ headers, raw, env = { CHATGW_WEBHOOK_SECRET: secret }, requireFn = require, rawBody = true }) {
  const item = { json: { headers } };
  if (rawBody && raw !== undefined) item.binary = { data: { mimeType: 'application/json' } };
  const ctx = {
    helpers: {
      getBinaryDataBuffer: async (i, prop) => {
        if (!item.binary || !item.binary[prop]) throw new Error(`no binary data in item ${i}`);
        return Buffer.from(raw);
      },
    },
  };
  const fn = new AsyncFunction('$input', '$env', 'require', code);
  return fn.call(ctx, { all: () => [item] }, env, requireFn);
}

function signed(body, { id = 'm1', ts = String(Math.floor(Date.now() / 1000)) } = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const sig = crypto.createHmac('sha256', key).update(`${id}.${ts}.${raw}`).digest('base64');
  return { headers: { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` }, raw };
}

const delivery = {
  type: 'message.created', messageId: 'm1', conversationId: 'c1', seq: 1, socketId: null,
  sender: 'user', senderId: 'u1', content: 'hi <b>', createdAt: '2026-01-01T00:00:00Z',
  replyToken: 't', replyUrl: 'https://chat.example.com/v1/conversations/c1/messages',
};

test('the Standard Webhooks test vector', () => {
  const vec = crypto.createHmac('sha256', key).update('msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}').digest('base64');
  assert.equal('v1,' + vec, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});

test('a signed delivery is valid, also among several signatures (key rotation)', async () => {
  const d = signed(delivery);
  d.headers['webhook-signature'] = `v1,AAAA ${d.headers['webhook-signature']}`;
  const [r] = await run(d);
  assert.equal(r.json.valid, true, JSON.stringify(r.json));
  assert.equal(r.json.content, 'hi <b>');
  assert.equal(r.json.webhookId, 'm1');
});

// Refused with 401 (the IF node's false branch): chatgw retries.
for (const [name, make, reason] of [
  ['tampered body', () => { const d = signed(delivery); d.raw += ' '; return d; }, /signature does not match/],
  ['wrong secret', () => { const d = signed(delivery); return { ...d, env: { CHATGW_WEBHOOK_SECRET: 'whsec_' + Buffer.alloc(24, 1).toString('base64') } }; }, /signature does not match/],
  ['old timestamp', () => signed(delivery, { ts: '1614265330' }), /tolerance/],
  ['timestamp not a number', () => signed(delivery, { ts: '1e9x' }), /tolerance/],
  ['no signature headers', () => ({ headers: {}, raw: JSON.stringify(delivery) }), /missing webhook-id/],
]) {
  test(`invalid: ${name}`, async () => {
    const [r] = await run(make());
    assert.equal(r.json.valid, false);
    assert.match(r.json.reason, reason);
  });
}

// Thrown: the node's error output answers 500: chatgw retries.
for (const [name, make, message] of [
  ['crypto not allowed (NODE_FUNCTION_ALLOW_BUILTIN)', () => ({
    ...signed(delivery),
    requireFn: (m) => { throw new Error(`Cannot find module '${m}'`); },
  }), /Cannot find module 'crypto'/],
  ['no raw body (Raw Body off)', () => ({ ...signed(delivery), rawBody: false }), /no raw body/],
  ['no secret configured', () => ({ ...signed(delivery), env: {} }), /no webhook secret/],
  ['$env blocked and no secret pasted', () => ({
    ...signed(delivery),
    env: new Proxy({}, { get() { throw new Error('access to env vars denied'); } }),
  }), /no webhook secret/],
  ['body not JSON', () => signed('not json'), /malformed delivery: the body is not JSON/],
  ['body not an object', () => signed('[1,2]'), /not a JSON object/],
  ['fields missing', () => signed({ ...delivery, replyUrl: undefined, replyToken: '' }), /missing replyUrl, replyToken/],
  ['messageId differs from webhook-id', () => signed({ ...delivery, messageId: 'm2' }), /differs from webhook-id/],
]) {
  test(`fails closed: ${name}`, async () => {
    await assert.rejects(run(make()), message);
  });
}

// The wiring: every node between the Webhook node and "Acknowledge (200)"
// sends its errors to a Respond node answering non-2xx; otherwise n8n would
// answer 200 with an empty body and chatgw would count the message delivered.
test('the workflow routes every failure before the acknowledgement to a non-2xx answer', () => {
  const byName = Object.fromEntries(wf.nodes.map((n) => [n.name, n]));
  const webhook = wf.nodes.find((n) => n.type === 'n8n-nodes-base.webhook');
  assert.equal(webhook.parameters.responseMode, 'responseNode');
  assert.equal(webhook.parameters.options.rawBody, true);
  const ack = byName['Acknowledge (200)'];
  assert.equal(ack.parameters.options.responseCode, 200);

  const outputs = (name) => (wf.connections[name] ? wf.connections[name].main : []);
  // Walk from the Webhook node, stopping at Respond nodes.
  const seen = new Set();
  const queue = outputs(webhook.name).flat().map((c) => c.node);
  let reachedAck = false;
  while (queue.length > 0) {
    const name = queue.shift();
    if (seen.has(name)) continue;
    seen.add(name);
    const node = byName[name];
    assert.ok(node, `connection to unknown node ${name}`);
    if (node.type === 'n8n-nodes-base.respondToWebhook') {
      if (name === ack.name) reachedAck = true;
      else assert.ok(node.parameters.options.responseCode >= 400, `${name} answers ${node.parameters.options.responseCode}`);
      continue;
    }
    assert.equal(node.onError, 'continueErrorOutput', `${name} must send its errors to its error output`);
    const outs = outputs(name);
    const errorOut = outs[outs.length - 1] || [];
    assert.ok(errorOut.length > 0, `${name}'s error output is connected`);
    for (const c of errorOut) {
      const target = byName[c.node];
      assert.equal(target.type, 'n8n-nodes-base.respondToWebhook', `${name}'s error output answers`);
      assert.ok(target.parameters.options.responseCode >= 500, `${name}'s error output answers 5xx`);
    }
    for (const c of outs.flat()) queue.push(c.node);
  }
  assert.ok(reachedAck, 'Acknowledge (200) is reachable');
  assert.equal(byName[codeNode.name].onError, 'continueErrorOutput');
});
