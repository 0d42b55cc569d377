// The chat's bookkeeping, free of DOM and sockets so that the widget and the
// technician console share it and Node's test runner can check it.

// MessageStore keeps a conversation's messages by seq: a message seen twice
// (replay after a reconnect, another tab, the ack and message-saved) is kept
// once, and list() is always in seq order.
export class MessageStore {
  constructor() {
    this.bySeq = new Map();
    this.contiguous = 0; // every seq in 1..contiguous is here
  }

  // add returns true when msg is new.
  add(msg) {
    if (!msg || !Number.isInteger(msg.seq) || msg.seq < 1 || this.bySeq.has(msg.seq)) return false;
    this.bySeq.set(msg.seq, msg);
    while (this.bySeq.has(this.contiguous + 1)) this.contiguous++;
    return true;
  }

  // lastSeq is what a reconnect asks to resume after: the end of the run
  // without gaps, so a gap is filled by the server's replay.
  get lastSeq() {
    return this.contiguous;
  }

  list() {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  clear() {
    this.bySeq.clear();
    this.contiguous = 0;
  }
}

// newClientMessageId names one typed message on every try.
export function newClientMessageId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

const defaultSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Outbox sends typed messages one at a time, in the order they were typed.
// Each keeps its clientMessageId on every try, so a resend after a timeout or
// a reconnection never makes a second message.
//
// send(item) resolves with the server's ack ({ok:true, message} or
// {ok:false, error:{code, retryAfterMs?}}), or rejects when there was no
// answer (timeout, no connection): then the same item is tried again after
// a backoff. RATE_LIMITED waits retryAfterMs; other refusals drop the item
// and report it with onFailed.
export class Outbox {
  constructor({ send, onSent = () => {}, onFailed = () => {}, onChange = () => {}, sleep = defaultSleep, items = [], minBackoffMs = 250, maxBackoffMs = 5000 }) {
    this.send = send;
    this.onSent = onSent;
    this.onFailed = onFailed;
    this.onChange = onChange;
    this.sleep = sleep;
    this.minBackoffMs = minBackoffMs;
    this.maxBackoffMs = maxBackoffMs;
    this.items = items.filter((i) => i && typeof i.content === "string" && typeof i.clientMessageId === "string");
    this.running = null;
  }

  // add queues content and starts sending; it returns the queued item.
  add(content, clientMessageId = newClientMessageId()) {
    const item = { clientMessageId, content };
    this.items.push(item);
    this.onChange(this.items);
    this.flush();
    return item;
  }

  // flush sends what is queued; it returns a promise of the queue emptied.
  flush() {
    if (!this.running) {
      this.running = this.run().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  async run() {
    let backoff = this.minBackoffMs;
    while (this.items.length > 0) {
      const item = this.items[0];
      let ack;
      try {
        ack = await this.send(item);
      } catch {
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.maxBackoffMs);
        continue;
      }
      backoff = this.minBackoffMs;
      if (ack && ack.ok) {
        this.items.shift();
        this.onChange(this.items);
        this.onSent(item, ack.message);
        continue;
      }
      const error = (ack && ack.error) || { code: "INTERNAL" };
      if (error.code === "RATE_LIMITED") {
        const wait = Number(error.retryAfterMs ?? ack?.retryAfterMs);
        await this.sleep(Number.isFinite(wait) && wait > 0 ? wait : 1000);
        continue;
      }
      this.items.shift();
      this.onChange(this.items);
      this.onFailed(item, error);
    }
  }
}

// TypingNotifier tells the others when this side types: typing:true at the
// first key, renewed at most once per intervalMs while keys keep coming,
// typing:false after idleMs without a key, on send, or when the text is
// emptied. emit(typing) returns false when it could not send (no
// connection), and then nothing is considered said.
export class TypingNotifier {
  // (Timer functions are wrapped: called as methods, window.setTimeout throws.)
  constructor({ emit, intervalMs = 2000, idleMs = 3000, now = () => Date.now(), setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (id) => clearTimeout(id) }) {
    Object.assign(this, { emit, intervalMs, idleMs, now, setTimer, clearTimer });
    this.typing = false;
    this.last = -Infinity;
    this.timer = null;
  }

  // input is called on every edit; hasText is whether the box has any.
  input(hasText) {
    if (!hasText) {
      this.stop();
      return;
    }
    const t = this.now();
    if (!this.typing || t - this.last >= this.intervalMs) {
      if (this.emit(true) !== false) {
        this.typing = true;
        this.last = t;
      }
    }
    this.clearTimer(this.timer);
    this.timer = this.setTimer(() => this.stop(), this.idleMs);
  }

  stop() {
    this.clearTimer(this.timer);
    this.timer = null;
    if (!this.typing) return;
    this.typing = false;
    this.emit(false);
  }
}
