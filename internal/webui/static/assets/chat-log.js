// Renders a conversation's messages into an element with role="log". Text
// only: content goes in with textContent; http(s) addresses become links
// that open apart from the page (rel="noopener noreferrer"), nothing else.

const urlPattern = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const trailing = /[.,;:!?)\]}]+$/;

// appendText adds text to el, with http(s) URLs as safe links.
export function appendText(el, text) {
  let last = 0;
  for (const m of text.matchAll(urlPattern)) {
    let raw = m[0];
    const cut = raw.match(trailing);
    if (cut) raw = raw.slice(0, raw.length - cut[0].length);
    let url;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") continue;
    if (m.index > last) el.append(text.slice(last, m.index));
    const a = document.createElement("a");
    a.href = url.href;
    a.textContent = raw;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    el.append(a);
    last = m.index + raw.length;
  }
  if (last < text.length) el.append(text.slice(last));
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

// ChatLog keeps the log element in seq order, with messages not yet saved
// (no seq) after them.
export class ChatLog {
  constructor(el, { senderLabel = (s) => s } = {}) {
    this.el = el;
    this.senderLabel = senderLabel;
  }

  // show inserts a saved message, once, at its place by seq; it replaces
  // the pending element of the same clientMessageId.
  show(msg) {
    if (this.el.querySelector(`[data-seq="${msg.seq}"]`)) return;
    if (msg.clientMessageId) this.removePending(msg.clientMessageId);
    const item = this.render(msg);
    item.dataset.seq = String(msg.seq);
    const stick = this.atBottom();
    let before = null;
    for (const child of this.el.children) {
      const seq = Number(child.dataset.seq);
      if (!child.dataset.seq || seq > msg.seq) {
        before = child;
        break;
      }
    }
    this.el.insertBefore(item, before);
    if (stick) this.scrollToEnd();
  }

  // showPending shows a message the visitor typed that is not saved yet.
  showPending(pending, sender = "user") {
    if (this.findPending(pending.clientMessageId)) return;
    const item = this.render({ sender, content: pending.content });
    item.dataset.pending = "true";
    item.dataset.clientMessageId = pending.clientMessageId;
    item.setAttribute("aria-busy", "true");
    this.el.append(item);
    this.scrollToEnd();
  }

  // markFailed shows that a pending message will not be sent.
  markFailed(clientMessageId, reason) {
    const item = this.findPending(clientMessageId);
    if (!item) return;
    item.dataset.failed = "true";
    item.removeAttribute("aria-busy");
    const note = document.createElement("span");
    note.className = "note";
    note.textContent = reason;
    item.append(note);
  }

  findPending(id) {
    for (const child of this.el.querySelectorAll("[data-pending]")) {
      if (child.dataset.clientMessageId === id) return child;
    }
    return null;
  }

  removePending(id) {
    this.findPending(id)?.remove();
  }

  clear() {
    this.el.replaceChildren();
  }

  render(msg) {
    const item = document.createElement("div");
    item.className = "msg";
    item.dataset.sender = msg.sender;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = this.senderLabel(msg.sender);
    const body = document.createElement("p");
    body.className = "body";
    appendText(body, String(msg.content ?? ""));
    item.append(who, body);
    if (msg.createdAt) {
      const at = new Date(msg.createdAt);
      if (!Number.isNaN(at.getTime())) {
        const time = document.createElement("time");
        time.dateTime = at.toISOString();
        time.textContent = timeFormat.format(at);
        item.append(time);
      }
    }
    return item;
  }

  atBottom() {
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 40;
  }

  scrollToEnd() {
    this.el.scrollTop = this.el.scrollHeight;
  }
}
