// The visitor's chat, inside the widget's frame (served by the gateway, so
// the host page can neither style nor read it). Settings come in the URL
// fragment from /widget.js; the host's JWT, if any, by postMessage.
import { MessageStore, Outbox, TypingNotifier } from "../assets/outbox.js";
import { ChatLog } from "../assets/chat-log.js";
import { openSocket, emitWithAck, connectErrorCode, catchUp } from "../assets/chat-socket.js";

const settings = new URLSearchParams(location.hash.slice(1));
const title = settings.get("title") || "Chat with us";
const useJWT = settings.get("jwt") === "1";
let metadata = null;
try {
  const m = JSON.parse(settings.get("metadata") || "null");
  if (m && typeof m === "object" && !Array.isArray(m)) metadata = m;
} catch {
  // a bad data-metadata is ignored: the chat works without it
}

const $ = (id) => document.getElementById(id);
const logEl = $("log");
const input = $("input");
const statusEl = $("status");
const alertEl = $("alert");
$("title").textContent = title;
document.title = title;

const labels = { user: "You", tecnico: "Support", bot: "Assistant" };
const chatLog = new ChatLog(logEl, { senderLabel: (s) => labels[s] || s });
const store = new MessageStore();

// ---- the host page, reached only through postMessage ----

const framed = window.parent !== window;
let hostOrigin = null; // learnt from the host's first message
let open = !framed;
let unread = 0;
let jwtWaiters = [];
let jwt = "";

function toHost(msg) {
  if (framed && hostOrigin) window.parent.postMessage(msg, hostOrigin);
}

window.addEventListener("message", (e) => {
  // Only the page that embeds this frame talks to it; CSP frame-ancestors
  // has already limited who that can be.
  if (!framed || e.source !== window.parent || !e.data || typeof e.data.type !== "string") return;
  if (hostOrigin === null && e.data.type === "chatgw:init") hostOrigin = e.origin;
  if (e.origin !== hostOrigin) return;
  switch (e.data.type) {
    case "chatgw:init":
    case "chatgw:open":
      setOpen(!!e.data.open);
      break;
    case "chatgw:jwt":
      if (typeof e.data.token === "string" && e.data.token) {
        jwt = e.data.token;
        const waiters = jwtWaiters;
        jwtWaiters = [];
        waiters.forEach((w) => w(jwt));
      }
      break;
  }
});
if (framed) window.parent.postMessage({ type: "chatgw:ready" }, "*"); // nothing secret: the host answers with chatgw:init

function setOpen(isOpen) {
  open = isOpen;
  if (open) {
    unread = 0;
    toHost({ type: "chatgw:unread", count: 0 });
    input.focus();
  }
}

function closeChat() {
  if (framed) toHost({ type: "chatgw:close" });
}

// freshJWT asks the host page for a (new) JWT.
function freshJWT() {
  return new Promise((resolve) => {
    jwtWaiters.push(resolve);
    toHost({ type: "chatgw:need-jwt" });
  });
}

function jwtSubject(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return String(JSON.parse(atob(part)).sub || "");
  } catch {
    return "";
  }
}

// ---- what this browser remembers (the frame's origin only) ----

let storageKey = "chatgw.widget";
const load = (suffix) => {
  try {
    return JSON.parse(localStorage.getItem(storageKey + suffix) || "null");
  } catch {
    return null;
  }
};
const save = (suffix, value) => {
  try {
    if (value === null) localStorage.removeItem(storageKey + suffix);
    else localStorage.setItem(storageKey + suffix, JSON.stringify(value));
  } catch {
    // storage full or disabled: the chat still works in this page
  }
};

let conversation = null; // {conversationId, session_token?}

// ---- the socket ----

let socket = null;
let connectedWaiters = [];
let initialLoad = true; // the first replay is history, not news

function whenConnected() {
  if (socket && socket.connected) return Promise.resolve();
  return new Promise((resolve) => connectedWaiters.push(resolve));
}

function authFor() {
  const auth = { conversationId: conversation.conversationId, lastSeq: store.lastSeq };
  if (useJWT) auth.token = jwt;
  else auth.session_token = conversation.session_token;
  return auth;
}

function connect() {
  if (socket) return;
  socket = openSocket(authFor);
  socket.on("connect", () => {
    alertEl.textContent = "";
    if (statusEl.textContent === "Reconnecting…") statusEl.textContent = "";
    const waiters = connectedWaiters;
    connectedWaiters = [];
    waiters.forEach((w) => w());
    catchUp(socket, store, onMessage)
      .catch(() => {})
      .finally(() => {
        initialLoad = false;
      });
  });
  socket.on("disconnect", () => {
    if (!socket.active) return; // closed on purpose
    statusEl.textContent = "Reconnecting…";
  });
  socket.on("connect_error", async (err) => {
    const code = connectErrorCode(err);
    if (socket.active) return; // a network failure: the client retries by itself
    if (code === "SESSION_INVALID" || code === "NOT_FOUND" || code === "FORBIDDEN") {
      // The conversation is gone or not ours: start afresh at the next message.
      resetConversation();
      return;
    }
    if (code === "TOKEN_EXPIRED" || code === "TOKEN_INVALID") {
      statusEl.textContent = "Signing in again…";
      await freshJWT();
    }
    const wait = Number(err?.data?.retryAfterMs) || 2000;
    setTimeout(() => socket && socket.connect(), wait);
  });
  socket.on("message", onMessage);
  socket.on("message-saved", onMessage);
  socket.on("typing", onTyping);
  socket.on("session-replaced", () => {
    alertEl.textContent = "This chat is open in too many tabs; this one stopped.";
  });
}

function resetConversation() {
  if (socket) {
    socket.removeAllListeners();
    socket.disconnect();
    socket = null;
  }
  conversation = null;
  save("", null);
  store.clear();
  chatLog.clear();
  // A send waiting for that socket tries again, and starts a new conversation.
  const waiters = connectedWaiters;
  connectedWaiters = [];
  waiters.forEach((w) => w());
  outbox.items.forEach((item) => chatLog.showPending(item));
}

function onMessage(msg) {
  if (!msg || (conversation && msg.conversationId !== conversation.conversationId)) return;
  if (!store.add(msg)) return;
  if (statusEl.textContent === "Reconnecting…") statusEl.textContent = "";
  chatLog.show(msg);
  if (msg.sender !== "user") {
    clearTyping();
    if (!open && !initialLoad) {
      unread++;
      toHost({ type: "chatgw:unread", count: unread });
    }
  }
}

// ---- typing, both ways ----

let typingTimer = null;
function clearTyping() {
  clearTimeout(typingTimer);
  statusEl.textContent = "";
}
function onTyping(t) {
  if (!t || t.sender === "user") return;
  clearTimeout(typingTimer);
  if (t.typing) {
    statusEl.textContent = `${labels[t.sender] || "Someone"} is typing…`;
    typingTimer = setTimeout(clearTyping, 8000); // the gateway also ends it
  } else {
    clearTyping();
  }
}

const myTyping = new TypingNotifier({
  emit(typing) {
    if (!socket || !socket.connected) return false;
    socket.emit("client-typing", { typing });
    return true;
  },
});
const typingOff = () => myTyping.stop();

// ---- sending ----

// ensureConversation creates the conversation at the first send. It throws
// when trying again may work, and returns an error the visitor must see
// when it cannot.
async function ensureConversation() {
  if (conversation) return null;
  const headers = { "Content-Type": "application/json" };
  if (useJWT) headers.Authorization = "Bearer " + (jwt || (await freshJWT()));
  const res = await fetch("/v1/conversations", {
    method: "POST",
    headers,
    body: JSON.stringify(metadata ? { metadata } : {}),
  });
  if (res.status === 429) {
    const after = Number(res.headers.get("Retry-After")) || 2;
    await new Promise((r) => setTimeout(r, after * 1000));
    throw new Error("rate limited");
  }
  if (res.status === 401 && useJWT) {
    jwt = "";
    throw new Error("token refused");
  }
  if (res.status === 400 && metadata) {
    // data-metadata the gateway refuses (too big, say): chat without it.
    console.warn("chatgw: data-metadata refused by the gateway; creating the conversation without it");
    metadata = null;
    throw new Error("metadata refused");
  }
  if (res.status >= 400 && res.status < 500) {
    const body = await res.json().catch(() => ({}));
    return (body && body.error) || { code: "HTTP_" + res.status };
  }
  if (!res.ok) throw new Error("HTTP " + res.status);
  const body = await res.json();
  if (conversation) return null; // another send won the race
  conversation = { conversationId: body.conversationId };
  if (body.session_token) conversation.session_token = body.session_token;
  save("", conversation);
  initialLoad = false;
  connect();
  return null;
}

const outbox = new Outbox({
  items: [],
  async send(item) {
    const refused = await ensureConversation();
    if (refused) return { ok: false, error: refused };
    await whenConnected();
    return emitWithAck(socket, "client-send-message", { content: item.content, clientMessageId: item.clientMessageId }, 8000);
  },
  onSent(item, message) {
    onMessage(message);
  },
  onFailed(item, error) {
    chatLog.markFailed(item.clientMessageId, "Not sent");
    alertEl.textContent = "Message not sent: " + (error.message || error.code);
  },
  onChange(items) {
    save(".outbox", items.length ? items : null);
  },
});

function submit() {
  const content = input.value.trim();
  if (!content) return;
  input.value = "";
  typingOff();
  alertEl.textContent = "";
  const item = outbox.add(content);
  chatLog.showPending(item);
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  submit();
  input.focus();
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submit();
  }
});
input.addEventListener("input", () => myTyping.input(input.value.trim() !== ""));
input.addEventListener("blur", typingOff);
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") closeChat();
});
$("close").addEventListener("click", closeChat);
if (!framed) $("close").hidden = true;

// Another tab started the conversation: join it here too.
window.addEventListener("storage", (e) => {
  if (e.key !== storageKey || conversation || !e.newValue) return;
  const c = load("");
  if (c && typeof c.conversationId === "string") {
    conversation = c;
    connect();
  }
});

// ---- start ----

async function start() {
  if (useJWT) {
    const token = await freshJWT();
    storageKey = "chatgw.widget.user." + jwtSubject(token);
  }
  conversation = load("");
  if (conversation && typeof conversation.conversationId !== "string") conversation = null;
  // Sends typed before a reload (offline, say) go out now, with their ids.
  for (const item of load(".outbox") || []) {
    if (item && typeof item.content === "string" && typeof item.clientMessageId === "string") {
      chatLog.showPending(item);
      outbox.items.push(item);
    }
  }
  if (conversation) connect();
  if (outbox.items.length) outbox.flush();
}
start();
