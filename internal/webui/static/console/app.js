// The technician console: the inbox (live from client-join-inbox) and one
// conversation at a time. It talks to the gateway that served it: the
// Socket.IO connection and the /v1 API, with the technician's JWT.
import { ChatLog } from "../assets/chat-log.js";
import { openSocket, emitWithAck, connectErrorCode } from "../assets/chat-socket.js";
import { Outbox, TypingNotifier, newClientMessageId } from "../assets/outbox.js";
import { Inbox, earlierRange, tokenExpiry } from "../assets/inbox.js";

const TOKEN_KEY = "chatgw.console.token";
const EXPIRED = "Your session has expired. Paste a new technician token to sign in again.";
const REFUSED = "This token was refused. Paste a valid technician token.";
const NOT_TECHNICIAN = "This token has no technician role. Sign in with a technician's token.";
const PAGE = 50;

// A token in the URL fragment (#token=…, as `make run` prints it) goes to
// this tab's storage and out of the address bar and history at once.
function takeFragmentToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.has("token")) return "";
  const t = fragment.get("token") || "";
  history.replaceState(null, "", location.pathname + location.search);
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  return t;
}
takeFragmentToken();

const $ = (id) => document.getElementById(id);
const alertEl = $("alert");
const listEl = $("list");
const logEl = $("log");
const replyEl = $("reply");
const typingEl = $("typing");
const connEl = $("conn");

const labels = { user: "Visitor", tecnico: "Technician", bot: "Bot" };
const chatLog = new ChatLog($("messages"), { senderLabel: (s) => labels[s] || s });
chatLog.atBottom = () => logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 40;
chatLog.scrollToEnd = () => {
  logEl.scrollTop = logEl.scrollHeight;
};
const inbox = new Inbox();

let token = "";
let me = "";
let socket = null;
let expiryTimer = null;
let nextCursor = null;
let current = null; // the open conversation's id
let minSeq = 0; // the first and last seq shown of it (0: none)
let maxSeq = 0;

function subjectOf(t) {
  try {
    const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return String(JSON.parse(atob(part)).sub || "");
  } catch {
    return "";
  }
}

// ---- signing in and out ----

function showSignIn(message) {
  $("app-view").hidden = true;
  $("signout").hidden = true;
  $("who").textContent = "";
  $("signin-view").hidden = false;
  alertEl.textContent = message || "";
  $("token").value = "";
  $("token").focus();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = "";
  clearTimeout(expiryTimer);
  if (socket) {
    socket.removeAllListeners();
    socket.disconnect();
    socket = null;
  }
  inbox.clear();
  closeConversation();
  renderList();
  showSignIn(message);
}

function signIn(t) {
  t = t.trim();
  const exp = tokenExpiry(t);
  if (exp && exp <= Date.now()) {
    signOut(EXPIRED);
    return;
  }
  token = t;
  me = subjectOf(t);
  sessionStorage.setItem(TOKEN_KEY, t);
  clearTimeout(expiryTimer);
  if (exp) expiryTimer = setTimeout(() => signOut(EXPIRED), Math.min(exp - Date.now(), 2 ** 31 - 1));
  alertEl.textContent = "";
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  $("signout").hidden = false;
  $("who").textContent = me ? "Signed in as " + me : "";
  connect();
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  const t = $("token").value.trim();
  if (!t) return;
  signIn(t);
});
$("token").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("signin").requestSubmit();
  }
});
$("signout").addEventListener("click", () => signOut("Signed out."));

// api calls the /v1 API as the technician; a refused token signs out.
async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + token };
  if (body) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({}));
  const code = data?.error?.code;
  if (res.status === 401) {
    signOut(code === "TOKEN_EXPIRED" ? EXPIRED : REFUSED);
    throw new Error(code);
  }
  if (res.status === 403) {
    // Every route the console calls is a technician's.
    signOut(NOT_TECHNICIAN);
    throw new Error(code);
  }
  if (!res.ok) throw new Error(data?.error?.message || "request failed (" + res.status + ")");
  return data;
}

// ---- the socket ----

function connect() {
  if (socket) return;
  socket = openSocket(() => ({ token }));
  socket.on("connect", async () => {
    connEl.textContent = "";
    try {
      const ack = await emitWithAck(socket, "client-join-inbox", {});
      if (!ack.ok) {
        signOut(ack.error?.code === "FORBIDDEN" ? NOT_TECHNICIAN : REFUSED);
        return;
      }
      // Joined first, read second: nothing that happens in between is lost
      // (an item older than what the feed brought never replaces it).
      await loadInbox(true);
      if (current) await followConversation(current);
    } catch (err) {
      alertEl.textContent = "Could not load the conversations: " + err.message;
    }
  });
  socket.on("connect_error", (err) => {
    const code = connectErrorCode(err);
    if (code === "TOKEN_EXPIRED") return signOut(EXPIRED);
    if (code === "TOKEN_INVALID" || code === "UNAUTHORIZED") return signOut(REFUSED);
    connEl.textContent = "Reconnecting…";
    if (!socket.active) setTimeout(() => socket && socket.connect(), Number(err?.data?.retryAfterMs) || 2000);
  });
  socket.on("disconnect", () => {
    if (socket && socket.active) connEl.textContent = "Reconnecting…";
  });
  socket.on("conversation-activity", (item) => {
    if (inbox.upsert(item)) {
      renderList();
      if (item.conversationId === current) renderHeader();
    }
  });
  socket.on("conversation-updated", (u) => {
    if (u && inbox.setStatus(u.conversationId, u.status)) renderList();
    if (u && u.conversationId === current) renderHeader(u.status);
  });
  socket.on("message", onMessage);
  socket.on("message-saved", onMessage);
  socket.on("typing", onTyping);
  socket.on("session-replaced", () => {
    alertEl.textContent = "This console is open in too many tabs; this one stopped. Reload to use it here.";
  });
}

// ---- the inbox ----

async function loadInbox(first) {
  const q = new URLSearchParams({ status: inbox.showClosed ? "all" : "open", limit: String(PAGE) });
  if (!first && nextCursor) q.set("cursor", nextCursor);
  const page = await api("GET", "/v1/conversations?" + q);
  for (const item of page.conversations) inbox.upsert(item);
  // A later page continues from the last cursor; a reloaded first page
  // keeps the furthest one reached.
  if (!first || !nextCursor) nextCursor = page.nextCursor;
  $("more").hidden = !nextCursor;
  renderList();
}

$("more").addEventListener("click", () => loadInbox(false).catch((err) => (alertEl.textContent = err.message)));
$("show-closed").addEventListener("change", (e) => {
  inbox.showClosed = e.target.checked;
  nextCursor = null;
  renderList();
  loadInbox(true).catch((err) => (alertEl.textContent = err.message));
});

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

function titleOf(item) {
  // The end of the id: its beginning is a timestamp (UUIDv7), alike for
  // conversations of the same minute.
  return item.ownerId ? item.ownerId : "Visitor " + item.conversationId.slice(-6);
}

function renderItem(item) {
  const li = document.createElement("li");
  li.setAttribute("role", "listitem");
  li.dataset.conversationId = item.conversationId;
  li.dataset.awaitingReply = String(!!item.awaitingReply);
  li.dataset.status = item.status;
  if (item.conversationId === current) li.setAttribute("aria-current", "true");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "item";
  const title = document.createElement("span");
  title.className = "title";
  const name = document.createElement("span");
  name.textContent = titleOf(item);
  title.append(name);
  if (item.awaitingReply) {
    const b = document.createElement("span");
    b.className = "badge awaiting";
    b.textContent = "Awaiting reply";
    title.append(b);
  }
  if (item.status === "closed") {
    const b = document.createElement("span");
    b.className = "badge";
    b.textContent = "Closed";
    title.append(b);
  }
  const when = document.createElement("time");
  when.className = "when";
  const at = new Date(item.lastActivityAt);
  if (!Number.isNaN(at.getTime())) {
    when.dateTime = at.toISOString();
    when.textContent = timeFormat.format(at);
  }
  title.append(when);
  const preview = document.createElement("span");
  preview.className = "preview";
  preview.textContent = item.lastMessage
    ? (labels[item.lastMessage.sender] || item.lastMessage.sender) + ": " + item.lastMessage.content
    : "No messages yet";
  button.append(title, preview);
  button.addEventListener("click", () => openConversation(item.conversationId));
  li.append(button);
  return li;
}

function renderList() {
  const focused = document.activeElement?.closest?.("li[data-conversation-id]")?.dataset.conversationId;
  const items = inbox.visible();
  listEl.replaceChildren(...items.map(renderItem));
  $("list-empty").hidden = items.length > 0 || !token;
  if (focused) listEl.querySelector(`li[data-conversation-id="${CSS.escape(focused)}"] button`)?.focus();
}

// Arrow keys move between conversations.
listEl.addEventListener("keydown", (e) => {
  if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
  const buttons = [...listEl.querySelectorAll("button.item")];
  const i = buttons.indexOf(document.activeElement);
  if (i < 0) return;
  e.preventDefault();
  buttons[Math.max(0, Math.min(buttons.length - 1, i + (e.key === "ArrowDown" ? 1 : -1)))].focus();
});

// ---- one conversation ----

function closeConversation() {
  if (current && socket && socket.connected) socket.emit("client-leave-conversation", { conversationId: current });
  myTyping.stop();
  current = null;
  minSeq = maxSeq = 0;
  chatLog.clear();
  typingEl.textContent = "";
  $("conv-body").hidden = true;
  $("earlier").hidden = true;
  $("placeholder").hidden = false;
}

async function openConversation(id) {
  if (current === id) {
    replyEl.focus();
    return;
  }
  closeConversation();
  current = id;
  $("placeholder").hidden = true;
  $("conv-body").hidden = false;
  renderHeader();
  renderList();
  replyEl.focus();
  try {
    await followConversation(id);
  } catch (err) {
    if (current === id) alertEl.textContent = "Could not load the conversation: " + err.message;
  }
}

// followConversation joins the conversation's room (its messages, typing
// and status come live from then on), then reads the last page of its
// history and whatever arrived meanwhile.
async function followConversation(id) {
  const join = await emitWithAck(socket, "client-join-conversation", { conversationId: id });
  if (!join.ok) throw new Error(join.error?.message || join.error?.code);
  if (current !== id) return;
  if (maxSeq === 0) {
    const last = inbox.get(id)?.lastMessage?.seq || 0;
    await readHistory(id, Math.max(0, last - PAGE), PAGE);
  }
  await catchUp(id);
  updateEarlier();
}

async function readHistory(id, afterSeq, limit) {
  const ack = await emitWithAck(socket, "client-get-history", { conversationId: id, afterSeq, limit }, 10000);
  if (!ack.ok) throw new Error(ack.error?.message || ack.error?.code);
  if (current === id) ack.messages.forEach(show);
  return ack;
}

async function catchUp(id) {
  for (let i = 0; i < 50 && current === id; i++) {
    const ack = await readHistory(id, maxSeq, 200);
    if (!ack.hasMore || ack.messages.length === 0) return;
  }
}

function show(msg) {
  chatLog.show(msg);
  minSeq = minSeq === 0 ? msg.seq : Math.min(minSeq, msg.seq);
  maxSeq = Math.max(maxSeq, msg.seq);
}

function onMessage(msg) {
  if (!msg || msg.conversationId !== current) return;
  const gap = maxSeq > 0 && msg.seq > maxSeq + 1;
  show(msg);
  if (msg.sender === "user") typingEl.textContent = "";
  if (gap) catchUp(current).catch(() => {});
  updateEarlier();
}

function updateEarlier() {
  $("earlier").hidden = !earlierRange(minSeq);
}

$("earlier").addEventListener("click", async () => {
  const range = earlierRange(minSeq, PAGE);
  if (!range || !current) return;
  const before = logEl.scrollHeight - logEl.scrollTop;
  try {
    await readHistory(current, range.afterSeq, range.limit);
  } catch (err) {
    alertEl.textContent = "Could not load earlier messages: " + err.message;
  }
  logEl.scrollTop = logEl.scrollHeight - before; // keep the reader's place
  updateEarlier();
  if ($("earlier").hidden) logEl.focus();
});

function renderHeader(status) {
  const item = inbox.get(current);
  const st = status || item?.status || "open";
  $("conv-title").textContent = item ? titleOf(item) : "Conversation";
  $("conv-status").textContent = st === "closed" ? "Closed" : "Open";
  $("toggle-status").textContent = st === "closed" ? "Reopen conversation" : "Close conversation";
  $("toggle-status").dataset.status = st;
}

$("toggle-status").addEventListener("click", async () => {
  const id = current;
  const next = $("toggle-status").dataset.status === "closed" ? "open" : "closed";
  try {
    const res = await api("POST", "/v1/conversations/" + encodeURIComponent(id) + "/status", { status: next });
    if (inbox.setStatus(res.conversationId, res.status)) renderList();
    if (current === id) renderHeader(res.status);
  } catch (err) {
    alertEl.textContent = "Could not change the status: " + err.message;
  }
});

// ---- typing, both ways ----

let typingTimer = null;
function onTyping(t) {
  if (!t || t.conversationId !== current || (t.sender === "tecnico" && t.senderId === me)) return;
  clearTimeout(typingTimer);
  if (t.typing) {
    const who = t.sender === "tecnico" ? t.senderId || "A technician" : labels[t.sender] || "Someone";
    typingEl.textContent = who + " is typing…";
    typingTimer = setTimeout(() => (typingEl.textContent = ""), 8000); // the gateway also ends it
  } else {
    typingEl.textContent = "";
  }
}

const myTyping = new TypingNotifier({
  emit(typing) {
    if (!socket || !socket.connected || !current) return false;
    socket.emit("client-typing", { conversationId: current, typing });
    return true;
  },
});

// ---- replying ----

const outbox = new Outbox({
  async send(item) {
    return emitWithAck(socket, "client-send-tecnico", { conversationId: item.conversationId, content: item.content, clientMessageId: item.clientMessageId });
  },
  onSent(item, message) {
    onMessage(message);
  },
  onFailed(item, error) {
    if (item.conversationId === current) chatLog.markFailed(item.clientMessageId, "Not sent");
    alertEl.textContent = "Reply not sent: " + (error.message || error.code);
  },
});
function submit() {
  const content = replyEl.value.trim();
  if (!content || !current) return;
  replyEl.value = "";
  myTyping.stop();
  alertEl.textContent = "";
  // Each reply carries its conversation (Outbox.add would send it first).
  const item = { clientMessageId: newClientMessageId(), content, conversationId: current };
  outbox.items.push(item);
  chatLog.showPending(item, "tecnico");
  outbox.flush();
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  submit();
  replyEl.focus();
});
replyEl.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submit();
  }
});
replyEl.addEventListener("input", () => myTyping.input(replyEl.value.trim() !== ""));
replyEl.addEventListener("blur", () => myTyping.stop());

// ---- start ----

// A new #token= in a page already open signs in with it.
window.addEventListener("hashchange", () => {
  const t = takeFragmentToken();
  if (!t) return;
  signOut("");
  signIn(t);
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
else showSignIn("");
