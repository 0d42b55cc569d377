// Runs the Code node of n8n-workflow.json outside n8n against deliveries signed as chatgw signs them:
// node docs/examples/check-code-node.js docs/examples/n8n-workflow.json
const fs = require('fs');
const crypto = require('crypto');
const wf = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const code = wf.nodes.find((n) => n.type === 'n8n-nodes-base.code').parameters.jsCode;
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
function run(headers, raw) {
  const fn = new (Object.getPrototypeOf(async function () {}).constructor)('$input', '$env', 'require', code);
  const ctx = { helpers: { getBinaryDataBuffer: async () => Buffer.from(raw) } };
  return fn.call(ctx, { all: () => [{ json: { headers } }] }, { CHATGW_WEBHOOK_SECRET: secret }, require);
}
(async () => {
  // Spec vector, with a current timestamp re-signed the same way, and the vector's own signature check.
  const key = Buffer.from(secret.slice(6), 'base64');
  const vec = crypto.createHmac('sha256', key).update('msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}').digest('base64');
  if ('v1,' + vec !== 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=') throw new Error('vector');
  const raw = '{"type":"message.created","messageId":"m1","content":"hi <b>","replyUrl":"u","replyToken":"t","sender":"user"}';
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = crypto.createHmac('sha256', key).update(`m1.${ts}.${raw}`).digest('base64');
  let [r] = await run({ 'webhook-id': 'm1', 'webhook-timestamp': ts, 'webhook-signature': `v1,AAAA v1,${sig}` }, raw);
  if (!r.json.valid || r.json.content !== 'hi <b>') throw new Error('valid: ' + JSON.stringify(r.json));
  [r] = await run({ 'webhook-id': 'm1', 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` }, raw + ' ');
  if (r.json.valid) throw new Error('tampered body accepted');
  [r] = await run({ 'webhook-id': 'm1', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' }, '{"test": 2432232314}');
  if (r.json.valid || !/tolerance/.test(r.json.reason)) throw new Error('old timestamp: ' + JSON.stringify(r.json));
  console.log('code node ok');
})().catch((e) => { console.error(e); process.exit(1); });
