// Unit tests of the widget's logic that needs no browser: node --test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageStore, Outbox, TypingNotifier } from "../static/assets/outbox.js";

const msg = (seq, extra = {}) => ({ id: "id-" + seq, conversationId: "c", seq, sender: "user", content: "m" + seq, ...extra });

test("MessageStore keeps each seq once, in seq order, whatever the arrival order", () => {
  const s = new MessageStore();
  assert.equal(s.add(msg(2)), true);
  assert.equal(s.add(msg(1)), true);
  assert.equal(s.add(msg(2)), false, "a replayed message is not added twice");
  assert.equal(s.add(msg(4)), true);
  assert.deepEqual(s.list().map((m) => m.seq), [1, 2, 4]);
});

test("MessageStore.lastSeq stops at the first gap, so a reconnect refills it", () => {
  const s = new MessageStore();
  assert.equal(s.lastSeq, 0);
  s.add(msg(1));
  s.add(msg(3));
  assert.equal(s.lastSeq, 1);
  s.add(msg(2));
  assert.equal(s.lastSeq, 3);
  for (const bad of [null, {}, { seq: 0 }, { seq: "5" }, { seq: 1.5 }]) assert.equal(s.add(bad), false);
  s.clear();
  assert.equal(s.lastSeq, 0);
  assert.equal(s.list().length, 0);
});

// A send function scripted per try, recording what it was given.
function scripted(...answers) {
  const tries = [];
  const send = async (item) => {
    tries.push({ ...item });
    const a = answers.shift();
    if (a instanceof Error) throw a;
    return typeof a === "function" ? a(item) : a;
  };
  return { send, tries };
}
const ok = (item) => ({ ok: true, message: { seq: 1, content: item.content, clientMessageId: item.clientMessageId } });

test("a send that times out is tried again with the same clientMessageId", async () => {
  const { send, tries } = scripted(new Error("operation has timed out"), new Error("not connected"), ok);
  const sleeps = [];
  const sent = [];
  const box = new Outbox({ send, sleep: async (ms) => sleeps.push(ms), onSent: (item, m) => sent.push(m) });
  box.add("hello", "cmid-1");
  await box.flush();
  assert.equal(tries.length, 3);
  assert.deepEqual(tries.map((t) => t.clientMessageId), ["cmid-1", "cmid-1", "cmid-1"]);
  assert.deepEqual(sleeps, [250, 500], "backoff grows between tries");
  assert.equal(sent.length, 1);
  assert.equal(box.items.length, 0);
});

test("RATE_LIMITED waits retryAfterMs, then sends the same message again", async () => {
  const { send, tries } = scripted({ ok: false, error: { code: "RATE_LIMITED", retryAfterMs: 1234 } }, ok);
  const sleeps = [];
  const box = new Outbox({ send, sleep: async (ms) => sleeps.push(ms) });
  box.add("hi", "cmid-2");
  await box.flush();
  assert.deepEqual(sleeps, [1234]);
  assert.deepEqual(tries.map((t) => t.clientMessageId), ["cmid-2", "cmid-2"]);
});

test("messages go out one at a time, in the order typed", async () => {
  let inFlight = 0;
  const order = [];
  const box = new Outbox({
    send: async (item) => {
      inFlight++;
      assert.equal(inFlight, 1, "never two sends at once");
      await new Promise((r) => setTimeout(r, 1));
      order.push(item.content);
      inFlight--;
      return { ok: true, message: { seq: order.length } };
    },
  });
  box.add("a");
  box.add("b");
  box.add("c");
  await box.flush();
  assert.deepEqual(order, ["a", "b", "c"]);
});

test("a refused message is dropped and reported; the next one still goes", async () => {
  const { send, tries } = scripted({ ok: false, error: { code: "VALIDATION_FAILED", message: "too long" } }, ok);
  const failed = [];
  const box = new Outbox({ send, onFailed: (item, err) => failed.push([item.content, err.code]) });
  box.add("x".repeat(5000));
  box.add("fine");
  await box.flush();
  assert.deepEqual(failed, [["x".repeat(5000), "VALIDATION_FAILED"]]);
  assert.deepEqual(tries.map((t) => t.content.length), [5000, 4]);
});

test("the queue is reported on every change, so it survives a reload", async () => {
  const snapshots = [];
  const { send } = scripted(ok);
  const box = new Outbox({ send, onChange: (items) => snapshots.push(items.map((i) => i.clientMessageId)) });
  box.add("persist me", "cmid-3");
  await box.flush();
  assert.deepEqual(snapshots, [["cmid-3"], []]);
  const restored = new Outbox({ send: async () => ({ ok: true }), items: [{ clientMessageId: "k", content: "c" }, null, { content: 1 }] });
  assert.equal(restored.items.length, 1, "malformed stored items are dropped");
});

function typingClock() {
  const clock = { t: 0, timers: new Map(), next: 1 };
  clock.now = () => clock.t;
  clock.setTimer = (fn, ms) => {
    const id = clock.next++;
    clock.timers.set(id, { fn, at: clock.t + ms });
    return id;
  };
  clock.clearTimer = (id) => clock.timers.delete(id);
  clock.advance = (ms) => {
    clock.t += ms;
    for (const [id, timer] of [...clock.timers]) {
      if (timer.at <= clock.t) {
        clock.timers.delete(id);
        timer.fn();
      }
    }
  };
  return clock;
}

test("typing: said at the first key, renewed at most once per interval, ended when idle", () => {
  const clock = typingClock();
  const said = [];
  const n = new TypingNotifier({ emit: (v) => said.push(v), ...clock });
  n.input(true);
  clock.advance(500);
  n.input(true);
  clock.advance(1499);
  n.input(true);
  assert.deepEqual(said, [true], "throttled");
  clock.advance(1);
  n.input(true);
  assert.deepEqual(said, [true, true], "renewed after the interval");
  clock.advance(3000);
  assert.deepEqual(said, [true, true, false], "idle ends it");
});

test("typing: after a send, the next key says typing at once", () => {
  const clock = typingClock();
  const said = [];
  const n = new TypingNotifier({ emit: (v) => said.push(v), ...clock });
  n.input(true);
  n.stop(); // sent
  clock.advance(100);
  n.input(true);
  assert.deepEqual(said, [true, false, true]);
  n.input(false); // text emptied
  assert.deepEqual(said, [true, false, true, false]);
  n.stop();
  assert.equal(said.length, 4, "no second typing:false");
});

test("typing: nothing counts as said while there is no connection", () => {
  const clock = typingClock();
  const said = [];
  let connected = false;
  const n = new TypingNotifier({ emit: (v) => (connected ? said.push(v) : false), ...clock });
  n.input(true);
  connected = true;
  clock.advance(10);
  n.input(true);
  assert.deepEqual(said, [true], "the first key once connected is said");
});
