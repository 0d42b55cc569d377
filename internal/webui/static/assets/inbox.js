// The technicians' inbox list, free of DOM and sockets (node tests check
// it): conversations from pages of GET /v1/conversations and from
// conversation-activity events, merged by id, newest activity first.

// compare orders items as the server does: lastActivityAt, then
// conversationId, both descending.
export function compare(a, b) {
  const ta = Date.parse(a.lastActivityAt);
  const tb = Date.parse(b.lastActivityAt);
  if (ta !== tb) return tb - ta;
  return a.conversationId < b.conversationId ? 1 : a.conversationId > b.conversationId ? -1 : 0;
}

// fresher reports whether item may replace old: events can arrive out of
// order (a page read before an event, two nodes), so an item never goes back
// to an older activity or an older last message.
export function fresher(item, old) {
  const t = Date.parse(item.lastActivityAt);
  const o = Date.parse(old.lastActivityAt);
  if (t !== o) return t > o;
  return (item.lastMessage?.seq ?? 0) >= (old.lastMessage?.seq ?? 0);
}

export class Inbox {
  constructor() {
    this.items = new Map(); // by conversationId
    this.showClosed = false;
  }

  // upsert merges one item; it returns true when the list changed.
  upsert(item) {
    if (!item || typeof item.conversationId !== "string") return false;
    const old = this.items.get(item.conversationId);
    if (old && !fresher(item, old)) return false;
    this.items.set(item.conversationId, item);
    return true;
  }

  // setStatus applies a conversation-updated event to a known item.
  setStatus(conversationId, status) {
    const old = this.items.get(conversationId);
    if (!old || old.status === status) return false;
    this.items.set(conversationId, { ...old, status });
    return true;
  }

  get(conversationId) {
    return this.items.get(conversationId);
  }

  clear() {
    this.items.clear();
  }

  // visible is what the list shows, in order: open conversations, and the
  // closed ones too when showClosed.
  visible() {
    return [...this.items.values()].filter((i) => this.showClosed || i.status !== "closed").sort(compare);
  }
}

// tokenExpiry returns a JWT's exp in milliseconds, or 0 when it has none
// that can be read (the server decides anyway).
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part)).exp;
    return Number.isFinite(exp) ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

// earlierRange is the history request that loads the page before the
// first shown seq: {afterSeq, limit}, or null when seq 1 is shown.
export function earlierRange(firstSeq, pageSize = 50) {
  if (!(firstSeq > 1)) return null;
  const afterSeq = Math.max(0, firstSeq - 1 - pageSize);
  return { afterSeq, limit: firstSeq - 1 - afterSeq };
}
