// Socket.IO helpers shared by the widget and the console. The client
// itself is /assets/socket.io.min.js (window.io), copied from the pinned
// socket.io-client npm package.

// openSocket connects to the gateway that served the page. auth is called
// on every (re)connection, so it can carry the current lastSeq.
export function openSocket(auth) {
  return window.io({
    path: "/socket.io/",
    transports: ["websocket", "polling"],
    auth: (cb) => cb(auth()),
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
}

// emitWithAck emits event and resolves with the ack; it rejects when the
// socket is not connected or no ack arrives within timeoutMs (the caller
// then decides to try again). It never emits while disconnected, so the
// client buffers nothing to send again by itself after a reconnection.
// (Not volatile: that drops packets silently while the transport is busy,
// right after connecting for one.)
export function emitWithAck(socket, event, payload, timeoutMs = 8000) {
  return new Promise((resolve, reject) => {
    if (!socket || !socket.connected) {
      reject(new Error("not connected"));
      return;
    }
    socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
      if (err) reject(err);
      else resolve(ack);
    });
  });
}

// connectErrorCode is the gateway's code of a refused handshake.
export function connectErrorCode(err) {
  return (err && err.data && err.data.code) || "";
}

// catchUp reads history after store.lastSeq until there is no more: the
// replay on connection stops at 500 messages.
export async function catchUp(socket, store, onMessage, conversationId) {
  for (;;) {
    const payload = { afterSeq: store.lastSeq, limit: 200 };
    if (conversationId) payload.conversationId = conversationId;
    const ack = await emitWithAck(socket, "client-get-history", payload, 10000);
    if (!ack || !ack.ok) return;
    for (const m of ack.messages) onMessage(m);
    if (!ack.hasMore || ack.messages.length === 0) return;
  }
}
