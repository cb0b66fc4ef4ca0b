// Kefu live chat loader, embedded by an exchange's pages:
//   <script src="(Kefu's base URL)/widget.js" data-locale="zh-CN" async></script>
// It adds a launcher button in a shadow root (so the host page's CSS cannot reach it) and, on first
// open, an iframe to Kefu's /chat/frame, which runs the conversation itself. Everything it loads comes
// from the origin of its own src; it never touches the host page's DOM outside its own element.
(function () {
  "use strict";

  if (window.KefuChat) return; // embedded twice: the first copy wins

  // Loader strings live here because this file is static and shared by both languages.
  const STRINGS = {
    en: { open: "Chat with support", close: "Close support chat", unread: "{count} new messages" },
    "zh-CN": { open: "联系在线客服", close: "关闭客服聊天", unread: "{count} 条新消息" },
  };

  const script = document.currentScript || document.querySelector('script[src$="/widget.js"], script[src*="/widget.js?"]');
  if (!script) return;
  const src = new URL(script.src, location.href);
  const origin = src.origin;
  const base = origin + src.pathname.replace(/\/widget\.js$/, "");
  const locale = pickLocale(script.dataset.locale || navigator.language || "");
  const text = STRINGS[locale];

  // Any language tag maps to one of the two supported locales: Chinese variants to zh-CN, others to en.
  function pickLocale(tag) {
    return /^zh(?![a-z])/i.test(tag) ? "zh-CN" : "en";
  }

  const CSS = `
:host { all: initial; }
.launcher {
  position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; padding: 0;
  border: 0; border-radius: 50%; background: #0b5cad; color: #fff; cursor: pointer;
  box-shadow: 0 4px 14px rgba(0, 0, 0, 0.25); display: flex; align-items: center; justify-content: center;
}
.launcher:hover { background: #094b8d; }
.launcher:focus-visible { outline: 3px solid #fff; box-shadow: 0 0 0 6px #0b5cad; }
/* A speech bubble drawn in CSS: no image request, nothing for the host page's CSP to block. */
.icon { position: relative; width: 26px; height: 20px; margin-bottom: 5px; border-radius: 6px; background: currentColor; }
.icon::after {
  content: ""; position: absolute; left: 5px; bottom: -6px;
  border-style: solid; border-width: 7px 7px 0 0; border-color: currentColor transparent transparent transparent;
}
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #a4111b; color: #fff; font: 700 12px/22px system-ui, sans-serif;
  text-align: center; box-sizing: border-box;
}
.badge[hidden], .panel[hidden] { display: none; }
.panel {
  position: fixed; right: 20px; bottom: 88px; width: 380px; height: 600px;
  max-width: calc(100vw - 40px); max-height: calc(100vh - 108px);
  border-radius: 12px; overflow: hidden; background: #fff; box-shadow: 0 8px 32px rgba(0, 0, 0, 0.3);
}
.panel iframe { display: block; width: 100%; height: 100%; border: 0; }
@media (max-width: 480px) {
  .panel { inset: 0; width: 100%; height: 100%; max-width: none; max-height: none; border-radius: 0; }
  .launcher[aria-expanded="true"] { display: none; } /* the frame's own close button takes over */
}
@media (prefers-reduced-motion: no-preference) {
  .launcher { transition: background-color 0.15s; }
}`;

  let host = null;
  let launcher = null;
  let badge = null;
  let panel = null;
  let iframe = null;
  let frameReady = false;
  let identity = initialIdentity();
  let unread = 0;
  let wantOpen = false;

  function initialIdentity() {
    const userId = script.dataset.userId;
    const signature = script.dataset.userSignature;
    return userId && signature ? { user_id: userId, signature } : null;
  }

  // Constructed stylesheets are not subject to the host page's style-src; <style> is the fallback.
  function applyStyles(root) {
    if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      const style = document.createElement("style");
      style.textContent = CSS;
      root.append(style);
    }
  }

  function pinHost(element) {
    // Inline !important beats any host rule aimed at our element (CSSOM, so CSP allows it).
    const rules = { position: "fixed", right: "0", bottom: "0", width: "0", height: "0", "z-index": "2147483000", display: "block" };
    for (const [name, value] of Object.entries(rules)) element.style.setProperty(name, value, "important");
  }

  function build() {
    host = document.createElement("kefu-chat");
    host.id = "kefu-chat-widget";
    pinHost(host);
    const root = host.attachShadow({ mode: "open" });
    applyStyles(root);

    launcher = document.createElement("button");
    launcher.type = "button";
    launcher.className = "launcher";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "kefu-panel");
    const icon = document.createElement("span");
    icon.className = "icon";
    icon.setAttribute("aria-hidden", "true");
    launcher.append(icon);
    badge = document.createElement("span");
    badge.className = "badge";
    badge.hidden = true;
    badge.setAttribute("aria-hidden", "true");
    launcher.append(badge);
    launcher.addEventListener("click", () => (panel.hidden ? open() : close()));

    panel = document.createElement("div");
    panel.className = "panel";
    panel.id = "kefu-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", text.open);

    root.append(panel, launcher);
    document.body.append(host);
    updateLauncher();
    if (wantOpen) open();
  }

  function updateLauncher() {
    const isOpen = !panel.hidden;
    let label = isOpen ? text.close : text.open;
    if (unread > 0) label += " (" + text.unread.replace("{count}", String(unread)) + ")";
    launcher.setAttribute("aria-label", label);
    launcher.setAttribute("aria-expanded", String(isOpen));
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.hidden = unread === 0;
  }

  function createFrame() {
    iframe = document.createElement("iframe");
    iframe.title = text.open;
    iframe.src = base + "/chat/frame?locale=" + encodeURIComponent(locale);
    panel.append(iframe);
  }

  function open() {
    wantOpen = true;
    if (!panel) return; // not built yet: build() opens it
    if (!iframe) createFrame();
    else sendPage(); // a single-page app may have moved on since the frame loaded
    panel.hidden = false;
    updateLauncher();
    iframe.focus();
  }

  function close() {
    wantOpen = false;
    if (!panel || panel.hidden) return;
    const hadFocus = host.shadowRoot.activeElement === iframe;
    panel.hidden = true;
    updateLauncher();
    if (hadFocus) launcher.focus();
  }

  function validIdentity(claim) {
    if (!claim || typeof claim !== "object") return null;
    if (typeof claim.jwt === "string" && claim.jwt) return { jwt: claim.jwt };
    const userId = claim.user_id;
    if ((typeof userId === "string" || typeof userId === "number") && typeof claim.signature === "string" && claim.signature) {
      return { user_id: String(userId), signature: claim.signature };
    }
    return null;
  }

  function identify(claim) {
    const checked = validIdentity(claim);
    if (!checked) throw new TypeError("KefuChat.identify expects {user_id, signature} or {jwt}");
    identity = checked;
    sendIdentity();
  }

  function sendIdentity() {
    if (!identity || !frameReady || !iframe || !iframe.contentWindow) return;
    iframe.contentWindow.postMessage(Object.assign({ kefu: "identity" }, identity), origin);
  }

  // The page the customer is on, for the diagnostics they may choose to share (the frame asks first).
  function sendPage() {
    const url = location.href;
    if (!frameReady || !iframe || !iframe.contentWindow || !/^https?:$/.test(location.protocol) || url.length > 2000) return;
    iframe.contentWindow.postMessage({ kefu: "page", url }, origin);
  }

  function setUnread(count) {
    if (!Number.isInteger(count) || count < 0) return;
    unread = count;
    if (launcher) updateLauncher();
  }

  function onMessage(event) {
    if (event.origin !== origin || !iframe || event.source !== iframe.contentWindow) return;
    const data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.kefu === "ready") {
      frameReady = true; // also after the frame reloads: it needs the identity and page again
      sendIdentity();
      sendPage();
    } else if (data.kefu === "unread") {
      setUnread(data.count);
    } else if (data.kefu === "close") {
      close();
    }
  }

  window.addEventListener("message", onMessage);
  window.KefuChat = Object.freeze({ open, close, identify });

  if (document.body) build();
  else document.addEventListener("DOMContentLoaded", build, { once: true });
})();
