/*! chatgw visitor widget: <script src="https://chat.example.com/widget.js" defer></script> (docs/widget.md) */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__chatgwWidget) return;
  window.__chatgwWidget = true;
  var gateway = new URL(script.src, location.href).origin;
  var data = script.dataset;
  var title = data.title || "Chat with us";

  var css =
    ":host{all:initial}" +
    ".launcher{position:fixed;right:16px;bottom:16px;z-index:2147483646;width:56px;height:56px;border:0;border-radius:50%;" +
    "background:#1f6feb;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;transition:transform .15s}" +
    ".launcher:hover{transform:scale(1.06)}.launcher:focus-visible{outline:3px solid #f0b400;outline-offset:2px}" +
    ".launcher svg{width:28px;height:28px;fill:currentColor}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#d1242f;color:#fff;" +
    "font:600 12px/20px system-ui,sans-serif;text-align:center;box-sizing:border-box}" +
    ".panel{position:fixed;right:16px;bottom:84px;z-index:2147483647;width:min(380px,calc(100vw - 16px));height:min(560px,calc(100vh - 100px));" +
    "border-radius:12px;overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff;transition:opacity .15s,transform .15s}" +
    ".panel[hidden]{display:none}.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
    ".panel iframe{border:0;width:100%;height:100%;display:block}" +
    "@media (max-width:420px){.panel{right:8px;left:8px;width:auto;bottom:80px;height:calc(100vh - 96px)}.launcher{right:12px;bottom:12px}}" +
    "@media (prefers-reduced-motion:reduce){.launcher,.panel{transition:none}.launcher:hover{transform:none}}";

  var hostEl = document.createElement("div");
  hostEl.id = "chatgw-widget";
  var root = hostEl.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets && window.CSSStyleSheet && "replaceSync" in CSSStyleSheet.prototype) {
    // A constructed sheet is no inline <style>, so strict host CSPs allow it.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = css;
    root.appendChild(style);
  }

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.setAttribute("aria-label", "Open chat");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "chatgw-panel");
  launcher.innerHTML =
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
  var badge = document.createElement("span");
  badge.className = "badge";
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  launcher.appendChild(badge);
  var unreadNote = document.createElement("span");
  unreadNote.id = "chatgw-unread";
  unreadNote.className = "sr";
  root.appendChild(unreadNote);
  launcher.setAttribute("aria-describedby", "chatgw-unread");

  var panel = document.createElement("div");
  panel.className = "panel";
  panel.id = "chatgw-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var frame = document.createElement("iframe");
  frame.title = title;
  var settings = new URLSearchParams();
  settings.set("title", title);
  if (data.metadata) settings.set("metadata", data.metadata);
  if (data.jwt) settings.set("jwt", "1");
  frame.src = gateway + "/widget/#" + settings.toString();
  frame.referrerPolicy = "no-referrer";
  panel.appendChild(frame);
  root.appendChild(panel);
  root.appendChild(launcher);

  var isOpen = false;
  function toFrame(msg) {
    // Only the gateway's document gets anything, the JWT above all.
    if (frame.contentWindow) frame.contentWindow.postMessage(msg, gateway);
  }
  function setUnread(n) {
    badge.hidden = !(n > 0);
    badge.textContent = n > 99 ? "99+" : String(n);
    unreadNote.textContent = n > 0 ? n + " unread" : "";
  }
  function setOpen(open, returnFocus) {
    isOpen = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    toFrame({ type: "chatgw:open", open: open });
    if (open) {
      setUnread(0);
      if (returnFocus) frame.focus(); // opened by the visitor, not at load
    } else if (returnFocus) {
      launcher.focus();
    }
  }
  launcher.addEventListener("click", function () {
    setOpen(!isOpen, true);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && isOpen) setOpen(false, true);
  });

  window.addEventListener("message", function (e) {
    if (e.source !== frame.contentWindow || e.origin !== gateway || !e.data) return;
    switch (e.data.type) {
      case "chatgw:ready":
        toFrame({ type: "chatgw:init", open: isOpen });
        break;
      case "chatgw:need-jwt":
        var fn = data.jwt && window[data.jwt];
        if (typeof fn !== "function") return;
        Promise.resolve(fn()).then(function (token) {
          if (typeof token === "string" && token) toFrame({ type: "chatgw:jwt", token: token });
        });
        break;
      case "chatgw:unread":
        if (!isOpen) setUnread(Math.max(0, Number(e.data.count) || 0));
        break;
      case "chatgw:close":
        setOpen(false, true);
        break;
    }
  });

  function mount() {
    document.body.appendChild(hostEl);
    if (data.open === "true") setOpen(true, false);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
