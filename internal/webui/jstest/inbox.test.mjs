// Unit tests of the console's inbox logic: node --test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Inbox, compare, earlierRange, tokenExpiry } from "../static/assets/inbox.js";

const item = (id, at, extra = {}) => ({ conversationId: id, status: "open", lastActivityAt: at, lastMessage: null, awaitingReply: false, ...extra });

test("newest activity first, ties by id descending, as the server pages", () => {
  const list = [item("a", "2026-01-01T00:00:01Z"), item("c", "2026-01-01T00:00:02Z"), item("b", "2026-01-01T00:00:01Z")];
  assert.deepEqual(list.sort(compare).map((i) => i.conversationId), ["c", "b", "a"]);
});

test("activity moves a conversation to the top; an older item never replaces a newer one", () => {
  const inbox = new Inbox();
  inbox.upsert(item("a", "2026-01-01T00:00:01Z"));
  inbox.upsert(item("b", "2026-01-01T00:00:02Z"));
  assert.deepEqual(inbox.visible().map((i) => i.conversationId), ["b", "a"]);
  assert.equal(inbox.upsert(item("a", "2026-01-01T00:00:03Z", { awaitingReply: true, lastMessage: { seq: 1 } })), true);
  assert.deepEqual(inbox.visible().map((i) => i.conversationId), ["a", "b"]);
  assert.equal(inbox.upsert(item("a", "2026-01-01T00:00:01Z")), false, "a page read before the event is stale");
  assert.equal(inbox.get("a").awaitingReply, true);
  assert.equal(inbox.upsert(item("a", "2026-01-01T00:00:03Z", { lastMessage: { seq: 0 } })), false, "same time, older message");
  assert.equal(inbox.upsert(item("a", "2026-01-01T00:00:03Z", { status: "closed", lastMessage: { seq: 1 } })), true, "a status change at the same activity applies");
});

test("closed conversations show only with showClosed", () => {
  const inbox = new Inbox();
  inbox.upsert(item("a", "2026-01-01T00:00:01Z", { status: "closed" }));
  inbox.upsert(item("b", "2026-01-01T00:00:02Z"));
  assert.deepEqual(inbox.visible().map((i) => i.conversationId), ["b"]);
  inbox.showClosed = true;
  assert.deepEqual(inbox.visible().map((i) => i.conversationId), ["b", "a"]);
  inbox.setStatus("b", "closed");
  inbox.showClosed = false;
  assert.deepEqual(inbox.visible().map((i) => i.conversationId), []);
});

test("earlier messages: the page before the first shown seq", () => {
  assert.equal(earlierRange(1), null);
  assert.deepEqual(earlierRange(2), { afterSeq: 0, limit: 1 });
  assert.deepEqual(earlierRange(120), { afterSeq: 69, limit: 50 });
  assert.deepEqual(earlierRange(51), { afterSeq: 0, limit: 50 });
});

test("tokenExpiry reads exp, and 0 when it cannot", () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  assert.equal(tokenExpiry(`${b64({ alg: "HS256" })}.${b64({ exp: 1700000000 })}.sig`), 1700000000000);
  assert.equal(tokenExpiry("garbage"), 0);
  assert.equal(tokenExpiry(`${b64({})}.${b64({ sub: "x" })}.s`), 0);
});
