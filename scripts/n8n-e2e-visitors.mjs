// Visitors for scripts/n8n-e2e.sh: anonymous conversations over chatgw's
// HTTP API, messages sent with the official socket.io-client (test/js), and
// the bot's answers (posted by the n8n example workflow) awaited and counted.
//
//   node scripts/n8n-e2e-visitors.mjs send URL CONVERSATIONS PER_CONVERSATION
//       sends, prints one JSON line {conversations:[{id,token}], sent, firstSentAt}
//   node scripts/n8n-e2e-visitors.mjs answered URL FILE TIMEOUT_S
//       waits until every message of FILE (the line above) has exactly one
//       bot answer; prints {answered, missing, duplicated, lastAnswerAt}
//   node scripts/n8n-e2e-visitors.mjs chat URL TIMEOUT_S
//       one visitor sends one message and waits for the bot's answer
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../test/js/package.json"));
const { io } = require("socket.io-client");

const [cmd, url, ...rest] = process.argv.slice(2);

async function post(p, body, headers = {}) {
  const r = await fetch(url + p, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`POST ${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

async function history(conv) {
  const out = [];
  let after = 0;
  for (;;) {
    const r = await fetch(`${url}/v1/conversations/${conv.id}/messages?afterSeq=${after}&limit=200`, {
      headers: { "x-session-token": conv.token },
    });
    if (!r.ok) throw new Error(`history: ${r.status}`);
    const page = await r.json();
    out.push(...page.messages);
    if (!page.hasMore || page.messages.length === 0) return out;
    after = page.messages[page.messages.length - 1].seq;
  }
}

function connect(conv) {
  const socket = io(url, {
    auth: { conversationId: conv.id, session_token: conv.token },
    transports: ["websocket"],
    reconnection: false,
  });
  return new Promise((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

function send(socket, content) {
  return new Promise((resolve, reject) => {
    socket.timeout(10000).emit("client-send-message", { content, clientMessageId: content }, (err, ack) => {
      if (err) reject(err);
      else if (!ack || ack.ok === false) reject(new Error(JSON.stringify(ack)));
      else resolve(ack);
    });
  });
}

// The example workflow answers "… You wrote: <content>".
const answerTo = (m) => (m.sender === "bot" ? m.content.split("You wrote: ").pop() : null);

async function sendBurst(nConv, perConv) {
  const conversations = [];
  for (let i = 0; i < nConv; i++) {
    const c = await post("/v1/conversations", {});
    conversations.push({ id: c.conversationId, token: c.session_token });
  }
  const sockets = await Promise.all(conversations.map(connect));
  const firstSentAt = Date.now();
  await Promise.all(
    sockets.map(async (s, ci) => {
      for (let k = 0; k < perConv; k++) await send(s, `burst-${ci}-${k}`);
    }),
  );
  sockets.forEach((s) => s.close());
  return { conversations, sent: nConv * perConv, perConv, firstSentAt, sentAt: Date.now() };
}

async function waitAnswered(file, timeoutS) {
  const burst = JSON.parse(readFileSync(file, "utf8"));
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    let answered = 0;
    const missing = [];
    const duplicated = [];
    let lastAnswerAt = 0;
    for (const conv of burst.conversations) {
      const msgs = await history(conv);
      const counts = new Map();
      for (const m of msgs) {
        const to = answerTo(m);
        if (to === null) continue;
        counts.set(to, (counts.get(to) ?? 0) + 1);
        lastAnswerAt = Math.max(lastAnswerAt, Date.parse(m.createdAt));
      }
      for (const m of msgs.filter((m) => m.sender === "user")) {
        const n = counts.get(m.content) ?? 0;
        if (n === 0) missing.push(m.content);
        else answered++;
        if (n > 1) duplicated.push(m.content);
      }
    }
    const result = { answered, missing: missing.length, duplicated: duplicated.length, lastAnswerAt };
    if (missing.length === 0 || Date.now() > deadline) return result;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function chat(timeoutS) {
  const c = await post("/v1/conversations", {});
  const conv = { id: c.conversationId, token: c.session_token };
  const socket = await connect(conv);
  const start = Date.now();
  const answer = new Promise((resolve, reject) => {
    socket.on("message", (m) => {
      if (m.sender === "bot") resolve(m);
    });
    setTimeout(() => reject(new Error(`no answer from the bot within ${timeoutS}s`)), timeoutS * 1000).unref();
  });
  await send(socket, "hello from the e2e visitor");
  const m = await answer;
  socket.close();
  return { conversationId: conv.id, answer: m.content, ms: Date.now() - start };
}

const main = {
  send: () => sendBurst(Number(rest[0]), Number(rest[1])),
  answered: () => waitAnswered(rest[0], Number(rest[1])),
  chat: () => chat(Number(rest[0])),
}[cmd];
if (!main) {
  console.error("usage: n8n-e2e-visitors.mjs send|answered|chat URL ...");
  process.exit(2);
}
main().then(
  (r) => {
    process.stdout.write(JSON.stringify(r) + "\n");
    process.exit(0);
  },
  (e) => {
    console.error(e.stack || String(e));
    process.exit(1);
  },
);
