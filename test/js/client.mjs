// A scripted socket.io-client v4 session for chatgw's end-to-end tests.
// Usage: node client.mjs SCENARIO, with CHATGW_TEST='{"url":...,"auth":{...},...}'.
// Prints one JSON line with what the client saw and exits 0, or exits 1.
import { io } from "socket.io-client";

const scenario = process.argv[2];
const cfg = JSON.parse(process.env.CHATGW_TEST ?? "{}");
const timeout = cfg.timeoutMs ?? 10000;

const socket = io(cfg.url, {
  auth: cfg.auth ?? {},
  transports: cfg.transports ?? ["websocket"],
  upgrade: cfg.upgrade ?? true,
  reconnection: cfg.reconnection ?? false,
  timeout,
});

const done = (result, code = 0) => {
  process.stdout.write(JSON.stringify(result) + "\n");
  socket.close();
  process.exit(code);
};
setTimeout(() => done({ error: "timed out" }, 1), timeout * 2).unref();

const connected = new Promise((resolve, reject) => {
  socket.on("connect", resolve);
  socket.on("connect_error", reject);
});

const scenarios = {
  // Connect, send one message with an ack, and wait for message-saved too.
  async send() {
    await connected;
    const saved = new Promise((resolve) => socket.once("message-saved", resolve));
    const ack = await socket.timeout(timeout).emitWithAck("client-send-message", cfg.payload);
    return {
      socketId: socket.id,
      transport: socket.io.engine.transport.name,
      ack,
      saved: ack.ok ? await saved : null,
    };
  },
  // Connect and wait for the n-th `message` broadcast.
  async receive() {
    await connected;
    const messages = [];
    process.stdout.write(JSON.stringify({ ready: true, socketId: socket.id }) + "\n");
    await new Promise((resolve) => {
      socket.on("message", (m) => {
        messages.push(m);
        if (messages.length >= (cfg.count ?? 1)) resolve();
      });
    });
    return { messages };
  },
  // Connect with reconnection on, report when the server goes away and
  // whether the client will come back on its own (socket.active).
  async shutdown() {
    await connected;
    process.stdout.write(JSON.stringify({ ready: true, socketId: socket.id }) + "\n");
    const reason = await new Promise((resolve) => socket.on("disconnect", resolve));
    return { reason, willReconnect: socket.active };
  },
  // Expect the handshake to be refused; report the connect_error.
  async reject() {
    try {
      await connected;
      return { connected: true };
    } catch (err) {
      return { connected: false, message: err.message, data: err.data ?? null };
    }
  },
};

const run = scenarios[scenario];
if (!run) done({ error: `unknown scenario ${scenario}` }, 1);
run().then((r) => done(r), (err) => done({ error: String(err?.message ?? err) }, 1));
