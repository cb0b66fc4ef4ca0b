// Kefu live chat: the conversation UI inside the /chat/frame page. The wire protocol is
// docs/chat-protocol.md. No inline code (CSP): strings and config come from JSON blocks in the page,
// and every server-provided text goes through textContent, never through HTML parsing.
(function () {
  "use strict";

  const PING_MS = 25000;
  const STALE_MS = 60000; // no frame at all for this long: the socket is dead even if the browser missed it
  const TYPING_EVERY_MS = 2000;
  const TYPING_IDLE_MS = 5000;
  const PEER_TYPING_MS = 15000; // hide an agent's indicator if their idle frame never comes
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const RATE_LIMITED_WAIT_MS = 60000;
  const STABLE_MS = 10000; // a connection that lived this long resets the backoff
  const IDENTITY_WAIT_MS = 400; // give the host page a moment to pass a signed identity before hello
  const NOTICE_MS = 6000;
  const CACHE_MESSAGES = 100;
  const MAX_FRAME_BYTES = 16384;
  const MAX_FILES = 5; // per message
  const MAX_FILE_BYTES = 10 * 1024 * 1024;
  const THUMB_WIDTH = 240;
  const THUMB_HEIGHT = 180;
  const VISITOR_KEY = "kefu.visitor";
  const CHAT_KEY = "kefu.chat";
  const DIAGNOSTICS_KEY = "kefu.diagnostics"; // {conversation, share}: asked once per conversation
  const KINDS = ["customer", "agent", "bot", "system"];

  const $ = (id) => document.getElementById(id);
  const T = readJson("kefu-chat-strings");
  const config = readJson("kefu-chat-config");
  const locale = config.locale === "zh-CN" ? "zh-CN" : "en";
  const parentOrigins = Array.isArray(config.parent_origins)
    ? config.parent_origins.filter((origin) => typeof origin === "string")
    : [];
  const embedded = window.parent !== window;
  const baseTitle = document.title;

  const ui = {
    availability: $("chat-availability"),
    reference: $("chat-reference"),
    referenceValue: $("chat-reference-value"),
    close: $("chat-close"),
    incident: $("chat-incident"),
    connection: $("chat-connection"),
    queue: $("chat-queue"),
    log: $("chat-log"),
    typing: $("chat-typing"),
    notice: $("chat-notice"),
    form: $("chat-composer"),
    input: $("chat-input"),
    send: $("chat-send"),
    attach: $("chat-attach"),
    file: $("chat-file"),
    pending: $("chat-pending"),
    suggestions: $("chat-suggestions"),
    suggestionsList: $("chat-suggestions-list"),
    transcript: $("chat-transcript"),
    diagnostics: $("chat-diagnostics"),
    email: $("chat-email"),
    emailInput: $("chat-email-input"),
    emailSend: $("chat-email-send"),
    emailError: $("chat-email-error"),
    rating: $("chat-rating"),
    ratingComment: $("chat-rating-comment"),
    ratingSend: $("chat-rating-send"),
    readMark: null,
  };

  const state = {
    socket: null,
    live: false, // true between caught_up and the socket closing
    stopped: false,
    attempt: 0,
    welcomedAt: 0,
    lastFrameAt: 0,
    retryTimer: 0,
    identityTimer: 0,
    saveTimer: 0,
    visitor: null,
    identity: null,
    parentOrigin: null,
    conversation: null, // {id, reference, status, agent}
    after: null, // seq of the last message shown, for `hello.after`
    helloAfter: null,
    helloConversation: null,
    seen: new Set(), // message ids already rendered
    mine: new Map(), // client_id -> element, for this tab's own messages and their echoes
    outbox: new Map(), // client_id -> {client_id, body, files, failed, el}: not acknowledged yet
    pending: [], // screenshots above the composer: {file, url, name, upload, info, waiting, el}
    cache: [], // the last messages shown, restored after a reload
    readSent: null,
    readBySupport: null,
    unread: 0,
    maxBody: 4000,
    offline: false, // welcome.availability.online was false: offer to continue by email
    pageUrl: "", // the host page, passed by widget.js; shared only with diagnostics
    asked: null, // "email", "transcript" or "rate": waiting for the answer (errors carry no request id)
    emailWanted: false,
    ticketFor: null, // conversation id that became an email ticket
    ratingDone: null, // conversation id rated (or no longer ratable)
    score: 0,
    askDiagnostics: false,
    diagnosticsDue: false, // agreed while the socket was down: sent after the next caught_up
    // Kept for the diagnostics page: round trip and server clock minus ours, from the last pong.
    clock: { rttMs: null, offsetMs: null, measuredAt: null },
  };

  const typing = { sent: "idle", sentAt: 0, idleTimer: 0, laterTimer: 0, peerTimer: 0 };
  let noticeTimer = 0;

  // ---------------------------------------------------------------- small helpers

  function readJson(id) {
    const node = $(id);
    try {
      const value = JSON.parse(node ? node.textContent : "");
      return value && typeof value === "object" ? value : {};
    } catch {
      return {};
    }
  }

  // Storage can throw (blocked third-party storage, private mode): the chat then lives in memory only.
  function storageGet(kind, key) {
    try {
      return window[kind].getItem(key);
    } catch {
      return null;
    }
  }

  function storageSet(kind, key, value) {
    try {
      window[kind].setItem(key, value);
    } catch {
      /* full or blocked: nothing to do */
    }
  }

  function has(object, key) {
    return typeof key === "string" && Object.prototype.hasOwnProperty.call(object, key);
  }

  function h(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // "{name} is typing…" -> "Li Wei is typing…"; a function replacer, so "$&" in a name stays literal.
  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
  }

  function safeUrl(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function minutes(seconds) {
    return Math.max(1, Math.ceil(seconds / 60));
  }

  const timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  const dateTimeFormat = new Intl.DateTimeFormat(locale, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

  function parseTime(value) {
    const date = typeof value === "string" ? new Date(value) : null;
    return date && !Number.isNaN(date.getTime()) ? date : null;
  }

  function formatWhen(date) {
    return (date.toDateString() === new Date().toDateString() ? timeFormat : dateTimeFormat).format(date);
  }

  function initials(name) {
    const words = name.trim().split(/\s+/).filter(Boolean);
    if (!words.length) return "?";
    const first = Array.from(words[0])[0];
    const last = words.length > 1 ? Array.from(words[words.length - 1])[0] : "";
    return (first + last).toLocaleUpperCase(locale);
  }

  function authorName(author, kind) {
    const name = author && typeof author.name === "string" ? author.name.trim() : "";
    return name || (kind === "bot" ? T.assistant : T.support) || "";
  }

  function attentive() {
    return document.visibilityState === "visible" && document.hasFocus();
  }

  function newClientId() {
    const random = Math.random().toString(36).slice(2, 10);
    return "c-" + Date.now().toString(36) + "-" + random;
  }

  // ---------------------------------------------------------------- status lines

  function setConnection(text) {
    ui.connection.textContent = text || "";
    ui.connection.hidden = !text;
  }

  function notice(text) {
    clearTimeout(noticeTimer);
    ui.notice.textContent = text;
    ui.notice.hidden = false;
    noticeTimer = setTimeout(() => (ui.notice.hidden = true), NOTICE_MS);
  }

  function showAvailability(availability) {
    const a = availability && typeof availability === "object" ? availability : null;
    ui.availability.dataset.online = String(Boolean(a && a.online));
    if (!a) {
      ui.availability.textContent = "";
    } else if (a.online) {
      const wait = a.estimated_wait_seconds;
      ui.availability.textContent =
        Number.isInteger(wait) && wait > 0 ? fill(T.online_wait, { minutes: minutes(wait) }) : T.online;
    } else {
      const opens = a.reason === "closed" ? parseTime(a.opens_at) : null;
      let text = T.closed;
      if (a.reason === "nobody_online") text = T.nobody_online;
      else if (opens) text = fill(T.closed_until, { time: formatWhen(opens) });
      ui.availability.textContent = text + " " + T.offline_email;
    }
  }

  function showIncident(incident) {
    if (!incident || typeof incident !== "object" || !incident.title) {
      ui.incident.hidden = true;
      return;
    }
    const statuses = T.incident_status || {};
    $("chat-incident-title").textContent = String(incident.title);
    $("chat-incident-status").textContent = has(statuses, incident.status) ? statuses[incident.status] : "";
    const link = $("chat-incident-link");
    const url = safeUrl(incident.url);
    if (url) link.href = url;
    else link.removeAttribute("href");
    link.hidden = !url;
    ui.incident.hidden = false;
  }

  function showReference() {
    const reference = state.conversation && state.conversation.reference;
    ui.referenceValue.textContent = typeof reference === "string" ? reference : "";
    ui.reference.hidden = typeof reference !== "string" || !reference;
  }

  function showQueue(position, waitSeconds) {
    if (!Number.isInteger(position) || position < 1) {
      ui.queue.hidden = true;
      return;
    }
    ui.queue.textContent = Number.isInteger(waitSeconds) && waitSeconds >= 0
      ? fill(T.queue, { position, minutes: minutes(waitSeconds) })
      : fill(T.queue_no_wait, { position });
    ui.queue.hidden = false;
  }

  function showPeerTyping(text) {
    clearTimeout(typing.peerTimer);
    ui.typing.textContent = text || "";
    ui.typing.hidden = !text;
    if (text) typing.peerTimer = setTimeout(() => showPeerTyping(null), PEER_TYPING_MS);
  }

  function setUnread(count) {
    if (count === state.unread) return;
    state.unread = count;
    document.title = count ? "(" + count + ") " + baseTitle : baseTitle;
    postToParent({ kefu: "unread", count });
  }

  // ---------------------------------------------------------------- rendering messages

  function nearBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
  }

  function appendToLog(node, forceScroll) {
    const follow = forceScroll || nearBottom();
    ui.log.append(node);
    // Quick replies belong to the newest message only: anything said after them makes them stale.
    for (const button of ui.log.querySelectorAll(".msg-choice:not(:disabled)")) {
      if (!node.contains(button)) button.disabled = true;
    }
    if (follow) ui.log.scrollTop = ui.log.scrollHeight;
  }

  function renderAvatar(name) {
    return h("span", "msg-avatar", initials(name));
  }

  function renderArticles(articles) {
    const list = h("ul", "msg-articles");
    list.setAttribute("aria-label", T.articles || "");
    for (const article of articles) {
      if (!article || typeof article !== "object") continue;
      const title = String(article.title || article.url || "");
      const url = safeUrl(article.url);
      const item = h("li");
      if (url) {
        const link = h("a", null, title);
        link.href = url;
        link.target = "_blank";
        link.rel = "noopener";
        link.append(h("span", "visually-hidden", " " + (T.new_tab || "")));
        item.append(link);
      } else {
        item.append(h("span", null, title));
      }
      list.append(item);
    }
    return list;
  }

  function renderChoices(seq, choices) {
    const group = h("div", "msg-choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", T.choices || "");
    for (const choice of choices) {
      if (!choice || typeof choice.id !== "string") continue;
      const button = h("button", "msg-choice", String(choice.label || choice.id));
      button.type = "button";
      button.dataset.choice = choice.id;
      button.addEventListener("click", () => choose(group, button, seq, choice.id));
      group.append(button);
    }
    return group;
  }

  // Object URLs are freed once the image has decoded; the <img> keeps showing it.
  function renderImage(src, alt, width, height) {
    const img = h("img");
    img.alt = alt;
    img.loading = "lazy";
    if (Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) {
      // Reserve the box before the image arrives, so the log does not jump.
      const scale = Math.min(1, THUMB_WIDTH / width, THUMB_HEIGHT / height);
      img.width = Math.max(1, Math.round(width * scale));
      img.height = Math.max(1, Math.round(height * scale));
    }
    if (src.startsWith("blob:")) {
      const free = () => URL.revokeObjectURL(src);
      img.addEventListener("load", free, { once: true });
      img.addEventListener("error", free, { once: true });
    }
    img.src = src;
    return img;
  }

  // Server files: images only from our own origin (signed links), other files as download links.
  // This tab's unsent files carry the File itself (`blob`) and show from an object URL.
  function renderFiles(files) {
    const list = h("div", "msg-files");
    for (const file of files) {
      if (!file || typeof file !== "object") continue;
      const name = String(file.filename || "");
      const image = typeof file.content_type === "string" && file.content_type.startsWith("image/");
      const url = typeof file.url === "string" && file.url.startsWith(location.origin + "/") ? file.url : null;
      const item = h("div", "msg-file");
      if (image && file.blob instanceof Blob) {
        item.append(renderImage(URL.createObjectURL(file.blob), name, file.width, file.height));
      } else if (image && url) {
        const link = h("a");
        link.href = url;
        link.target = "_blank";
        link.rel = "noopener";
        link.append(renderImage(url, name, file.width, file.height));
        item.append(link);
      } else if (url) {
        const link = h("a", null, name);
        link.href = url;
        link.download = name;
        item.append(link);
      } else {
        item.append(h("span", null, name));
      }
      list.append(item);
    }
    return list;
  }

  function renderMeta(date) {
    const meta = h("p", "msg-meta");
    if (date) {
      const time = h("time", null, formatWhen(date));
      time.dateTime = date.toISOString();
      meta.append(time);
    }
    meta.append(h("span", "msg-state"));
    return meta;
  }

  function renderMessage(message) {
    const author = message.author && typeof message.author === "object" ? message.author : {};
    const kind = KINDS.includes(author.kind) ? author.kind : "system";
    const node = h("div", "msg msg-" + kind);
    if (Number.isInteger(message.seq)) node.dataset.seq = String(message.seq);
    if (typeof message.client_id === "string") node.dataset.clientId = message.client_id;
    const body = h("p", "msg-body", typeof message.body === "string" ? message.body : "");
    if (kind === "system") {
      node.append(body);
      return node;
    }
    const name = kind === "customer" ? T.you : authorName(author, kind);
    const main = h("div", "msg-main");
    const files = Array.isArray(message.attachments) ? message.attachments : [];
    main.append(h("p", kind === "customer" ? "msg-author visually-hidden" : "msg-author", name));
    if (body.textContent || !files.length) main.append(body);
    if (files.length) main.append(renderFiles(files));
    if (kind === "bot" && Array.isArray(message.articles) && message.articles.length) {
      main.append(renderArticles(message.articles));
    }
    if (kind === "bot" && Array.isArray(message.choices) && message.choices.length && Number.isInteger(message.seq)) {
      main.append(renderChoices(message.seq, message.choices));
    }
    main.append(renderMeta(parseTime(message.created_at)));
    if (kind !== "customer") node.append(renderAvatar(name));
    node.append(main);
    return node;
  }

  function renderNote(text) {
    const node = h("div", "msg msg-system msg-note");
    node.append(h("p", "msg-body", text));
    appendToLog(node, false);
  }

  // pending: waiting for the ack; failed: refused by the server (retry button); null: stored.
  function setDelivery(node, delivery, item) {
    const stateLine = node.querySelector(".msg-state");
    const oldRetry = node.querySelector(".msg-retry");
    if (oldRetry) oldRetry.remove();
    if (delivery) node.dataset.delivery = delivery;
    else delete node.dataset.delivery;
    stateLine.textContent = delivery === "pending" ? T.sending : delivery === "failed" ? T.not_sent : "";
    if (delivery === "failed") {
      const retry = h("button", "msg-retry", T.retry);
      retry.type = "button";
      retry.addEventListener("click", () => resend(item));
      stateLine.after(retry);
    }
  }

  function placeReadMark() {
    if (!ui.readMark) {
      ui.readMark = h("span", "msg-read", T.read);
      ui.readMark.id = "chat-read";
    }
    const upTo = state.readBySupport;
    const mine = upTo === null ? [] : Array.from(ui.log.querySelectorAll(".msg-customer[data-seq]"));
    const target = mine.reverse().find((node) => Number(node.dataset.seq) <= upTo);
    if (target) target.querySelector(".msg-meta").append(ui.readMark);
    else ui.readMark.remove();
  }

  // ---------------------------------------------------------------- the conversation

  function rememberMessage(message) {
    state.cache.push(message);
    if (state.cache.length > CACHE_MESSAGES * 2) state.cache = state.cache.slice(-CACHE_MESSAGES);
    scheduleSave();
  }

  function showMessage(message, live) {
    if (!message || typeof message !== "object" || !Number.isInteger(message.seq)) return;
    state.after = message.seq;
    if (typeof message.id === "string") {
      if (state.seen.has(message.id)) return;
      state.seen.add(message.id);
    }
    const echo = typeof message.client_id === "string" ? state.mine.get(message.client_id) : null;
    if (echo) {
      settle(message.client_id, message.seq);
      // Our bubble showed the local copies; from now on the stored files (and their links) count.
      const local = echo.querySelector(".msg-files");
      if (local && Array.isArray(message.attachments)) local.replaceWith(renderFiles(message.attachments));
    } else {
      const node = renderMessage(message);
      if (node.dataset.clientId && node.classList.contains("msg-customer")) state.mine.set(node.dataset.clientId, node);
      appendToLog(node, false);
    }
    rememberMessage(message);
    const kind = message.author && message.author.kind;
    if (!live || kind === "customer") return;
    showPeerTyping(null);
    if (!attentive()) setUnread(state.unread + 1);
    sendRead();
  }

  // The message is stored: drop it from the outbox and show it as sent.
  function settle(clientId, seq) {
    const node = state.mine.get(clientId);
    state.outbox.delete(clientId);
    if (!node) return;
    if (Number.isInteger(seq)) node.dataset.seq = String(seq);
    setDelivery(node, null);
    placeReadMark();
    scheduleSave();
  }

  function applyConversation(conversation, announce) {
    if (!conversation || typeof conversation !== "object") return;
    const before = state.conversation;
    state.conversation = conversation;
    if (!before || before.id !== conversation.id) state.score = 0;
    showReference();
    syncCards();
    scheduleSave();
    if (!announce) return;
    const agent = conversation.agent && typeof conversation.agent.name === "string" ? conversation.agent.name : null;
    const beforeAgent = before && before.agent ? before.agent.name : null;
    if (agent && agent !== beforeAgent) {
      showQueue(null);
      renderNote(fill(T.joined, { name: agent }));
    }
    if (conversation.status === "solved" && (!before || before.status !== "solved")) renderNote(T.solved);
  }

  function resetConversation() {
    ui.log.replaceChildren();
    state.seen.clear();
    state.mine.clear();
    state.cache = [];
    state.after = null;
    state.readSent = null;
    state.readBySupport = null;
    state.conversation = null;
    state.emailWanted = false;
    state.askDiagnostics = false;
    showReference();
    syncCards();
    for (const item of state.outbox.values()) addOutboxBubble(item);
    scheduleSave();
  }

  // ---------------------------------------------------------------- sending

  function send(frame) {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function addOutboxBubble(item) {
    const node = renderMessage({
      client_id: item.client_id,
      author: { kind: "customer" },
      body: item.body,
      attachments: item.files,
      created_at: new Date().toISOString(),
    });
    item.el = node;
    state.mine.set(item.client_id, node);
    setDelivery(node, item.failed ? "failed" : "pending", item);
    appendToLog(node, true);
  }

  function messageFrame(item) {
    const frame = { type: "message", client_id: item.client_id, body: item.body };
    if (item.files.length) frame.files = item.files.map((file) => file.upload);
    return frame;
  }

  function transmit(item) {
    if (state.live && !item.failed) send(messageFrame(item));
  }

  function submit() {
    const body = ui.input.value.trim();
    clearTimeout(suggestion.timer);
    suggestion.asked++;
    showSuggestions([]);
    if (state.stopped || state.pending.some((entry) => !entry.upload)) return; // uploads still running
    const files = state.pending.map(({ file, upload, info }) => ({
      upload,
      filename: info.filename,
      content_type: info.content_type,
      width: info.width,
      height: info.height,
      blob: file,
    }));
    if (!body && !files.length) return;
    const item = { client_id: newClientId(), body, files, failed: false, el: null };
    // The server closes the socket on a frame over 16 KiB, e.g. 4,000 Chinese characters and 5 files.
    if (Array.from(body).length > state.maxBody || new Blob([JSON.stringify(messageFrame(item))]).size > MAX_FRAME_BYTES) {
      notice(T.too_long);
      return;
    }
    state.outbox.set(item.client_id, item);
    addOutboxBubble(item);
    clearPending();
    ui.input.value = "";
    autosize();
    clearTimeout(typing.idleTimer);
    sendTyping("idle");
    scheduleSave();
    transmit(item);
  }

  function resend(item) {
    if (!state.outbox.has(item.client_id)) return;
    item.failed = false;
    setDelivery(item.el, "pending", item);
    scheduleSave();
    transmit(item);
  }

  function choose(group, button, seq, choiceId) {
    if (!send({ type: "choice", seq, choice: choiceId })) {
      notice(T.reconnecting);
      return;
    }
    for (const other of group.querySelectorAll("button")) other.disabled = true;
    button.setAttribute("aria-pressed", "true");
  }

  function sendTyping(next) {
    clearTimeout(typing.laterTimer);
    if (next === "idle" && typing.sent === "idle") return;
    const wait = typing.sentAt + TYPING_EVERY_MS - Date.now();
    if (wait > 0) {
      typing.laterTimer = setTimeout(() => sendTyping(next), wait);
      return;
    }
    if (send({ type: "typing", state: next })) {
      typing.sent = next;
      typing.sentAt = Date.now();
    }
  }

  // ---------------------------------------------------------------- suggested articles

  // While nobody from support has joined, articles matching the draft are offered as it is typed.
  const SUGGEST_DELAY_MS = 400;
  const suggestion = { timer: 0, asked: 0 };

  function scheduleSuggestions() {
    clearTimeout(suggestion.timer);
    suggestion.timer = setTimeout(suggest, SUGGEST_DELAY_MS);
  }

  async function suggest() {
    const text = ui.input.value.trim();
    const joined = state.conversation && state.conversation.agent;
    if (text.length < 4 || joined) {
      showSuggestions([]);
      return;
    }
    const asked = ++suggestion.asked;
    const query = new URLSearchParams({ q: text.slice(0, 200), locale, limit: "3", suggest: "true" });
    try {
      const response = await fetch("/api/v1/kb/search?" + query.toString());
      const data = response.ok ? await response.json() : null;
      if (asked !== suggestion.asked || !data || !Array.isArray(data.results)) return;
      showSuggestions(data.results.filter((hit) => hit && hit.score >= data.no_answer_threshold));
    } catch {
      // Offline or blocked: the chat works without suggestions.
    }
  }

  function showSuggestions(hits) {
    const items = [];
    for (const hit of hits) {
      const url = safeUrl(hit.url);
      if (!url) continue;
      const link = h("a", null, String(hit.title || url));
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener";
      const item = h("li");
      item.append(link);
      items.push(item);
    }
    ui.suggestionsList.replaceChildren(...items);
    ui.suggestions.hidden = !items.length;
  }

  function onInput() {
    autosize();
    scheduleSuggestions();
    if (!state.live || !ui.input.value.trim()) return;
    clearTimeout(typing.idleTimer);
    typing.idleTimer = setTimeout(() => sendTyping("idle"), TYPING_IDLE_MS);
    if (typing.sent !== "typing" || Date.now() - typing.sentAt >= TYPING_EVERY_MS) sendTyping("typing");
  }

  function sendRead() {
    if (!attentive()) return;
    setUnread(0);
    if (state.live && state.after !== null && state.after !== state.readSent && send({ type: "read", seq: state.after })) {
      state.readSent = state.after;
    }
  }

  // ---------------------------------------------------------------- screenshots

  function syncComposer() {
    ui.pending.hidden = !state.pending.length;
    ui.send.disabled = state.stopped || state.pending.some((entry) => !entry.upload);
  }

  function addFiles(files) {
    for (const file of files) {
      if (state.pending.length >= MAX_FILES) {
        notice(fill(T.files_limit, { count: MAX_FILES }));
        break;
      }
      if (file.size > MAX_FILE_BYTES) {
        notice(T.file_too_large);
        continue;
      }
      const entry = { file, url: URL.createObjectURL(file), name: file.name || "screenshot.png", upload: null, info: null, waiting: false, el: null };
      state.pending.push(entry);
      renderPending(entry);
      upload(entry);
    }
    syncComposer();
  }

  function renderPending(entry) {
    const item = h("li", "chat-pending-item");
    item.dataset.state = "uploading";
    item.append(
      entry.file.type.startsWith("image/") ? renderImage(entry.url, entry.name) : h("span", "chat-pending-name", entry.name),
      h("span", "chat-pending-status", T.uploading),
    );
    const remove = h("button", "chat-pending-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", fill(T.remove_file, { name: entry.name }));
    remove.addEventListener("click", () => {
      removePending(entry);
      ui.input.focus();
    });
    item.append(remove);
    entry.el = item;
    ui.pending.append(item);
  }

  function removePending(entry) {
    state.pending = state.pending.filter((other) => other !== entry);
    entry.el.remove();
    URL.revokeObjectURL(entry.url); // in case it never loaded
    syncComposer();
  }

  function clearPending() {
    for (const entry of state.pending.slice()) removePending(entry);
  }

  // The upload needs the visitor token of this connection's welcome; until then the file waits.
  async function upload(entry) {
    const token = state.visitor;
    entry.waiting = !token || !state.welcomedAt;
    if (entry.waiting) return;
    let response = null;
    try {
      response = await fetch(location.origin + "/chat/uploads?name=" + encodeURIComponent(entry.name), {
        method: "POST",
        headers: { "X-Kefu-Visitor": token, "Content-Type": entry.file.type || "application/octet-stream" },
        body: entry.file,
      });
    } catch {
      response = null; // offline or blocked: reported below
    }
    if (!state.pending.includes(entry)) return; // removed meanwhile
    if (response && response.status === 401) {
      entry.waiting = true; // the token was not (yet) valid: the next welcome retries it
      if (state.visitor !== token && state.welcomedAt) upload(entry);
      return;
    }
    const info = response && response.status === 201 ? await response.json().catch(() => null) : null;
    if (info && typeof info.upload === "string" && state.pending.includes(entry)) {
      entry.upload = info.upload;
      entry.info = info;
      entry.el.dataset.state = "ready";
      entry.el.querySelector(".chat-pending-status").remove();
      syncComposer();
      return;
    }
    const status = response ? response.status : 0;
    notice(status === 413 ? T.file_too_large : status === 429 ? T.too_many_files : T.error);
    if (state.pending.includes(entry)) removePending(entry);
  }

  function onPaste(event) {
    const data = event.clipboardData;
    const files = data ? Array.from(data.files).filter((file) => file.type.startsWith("image/")) : [];
    if (!files.length) return;
    // A screenshot alone would paste nothing; copied text that comes with a picture still pastes.
    if (!Array.from(data.types).includes("text/plain")) event.preventDefault();
    addFiles(files);
  }

  // ---------------------------------------------------------------- email, transcript, rating, diagnostics

  function conversationId() {
    return state.conversation ? state.conversation.id : null;
  }

  function syncCards() {
    const id = conversationId();
    ui.transcript.hidden = !id;
    ui.transcript.disabled = state.asked === "transcript";
    ui.email.hidden = !id || !state.emailWanted;
    ui.emailSend.disabled = state.asked === "email";
    ui.rating.hidden = !id || state.conversation.status !== "solved" || state.ratingDone === id;
    ui.ratingSend.disabled = !state.score || state.asked === "rate";
    for (const star of ui.rating.querySelectorAll(".chat-star")) {
      const score = Number(star.dataset.score);
      star.classList.toggle("chat-star-on", score <= state.score);
      star.setAttribute("aria-pressed", String(score === state.score));
    }
    ui.diagnostics.hidden = !id || !state.askDiagnostics;
  }

  // Answers (`ticket`, `transcript_sent`, `rated`, or an error without client_id) name no request:
  // one at a time is in flight, and `state.asked` says which.
  function ask(kind, frame) {
    if (!send(frame)) {
      notice(T.reconnecting);
      return;
    }
    state.asked = kind;
    syncCards();
  }

  function showEmailError(text) {
    ui.emailError.textContent = text || "";
    ui.emailError.hidden = !text;
    if (text) ui.emailInput.setAttribute("aria-invalid", "true");
    else ui.emailInput.removeAttribute("aria-invalid");
  }

  function submitEmail() {
    const input = ui.emailInput;
    input.value = input.value.trim();
    const valid = input.checkValidity();
    showEmailError(valid ? null : T.email_invalid);
    if (valid) ask("email", { type: "email", email: input.value });
    else input.focus();
  }

  function submitRating() {
    if (state.score) ask("rate", { type: "rate", score: state.score, comment: ui.ratingComment.value.trim() });
  }

  function diagnosticsChoice() {
    try {
      const choice = JSON.parse(storageGet("sessionStorage", DIAGNOSTICS_KEY) || "null");
      return choice && typeof choice === "object" ? choice : {};
    } catch {
      return {};
    }
  }

  function platform() {
    const data = navigator.userAgentData;
    const agent = navigator.userAgent || "";
    let browser = "";
    let os = "";
    if (data && Array.isArray(data.brands)) {
      const brand = data.brands.find((item) => !/not.a.brand|chromium/i.test(item.brand)) || data.brands[0];
      browser = brand ? brand.brand + " " + brand.version : "";
      os = data.platform || "";
    }
    const pick = (table) => table.find(([, pattern]) => pattern.test(agent));
    const found = browser ? null : pick([["Edge", /Edg\w*\/(\d+)/], ["Firefox", /(?:Firefox|FxiOS)\/(\d+)/], ["Chrome", /(?:Chrome|CriOS)\/(\d+)/], ["Safari", /Version\/(\d+).*Safari/]]);
    if (found) browser = found[0] + " " + agent.match(found[1])[1];
    const system = os ? null : pick([["Windows", /Windows/], ["iOS", /iPhone|iPad|iPod/], ["Android", /Android/], ["macOS", /Mac OS X/], ["Linux", /Linux/]]);
    if (system) os = system[0];
    return { browser: browser.slice(0, 100), os: os.slice(0, 100) };
  }

  function diagnosticsFrame() {
    const clamp = (value, low, high) => (typeof value === "number" ? Math.min(high, Math.max(low, Math.round(value))) : null);
    let zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch {
      zone = "";
    }
    return Object.assign({ type: "diagnostics" }, platform(), {
      page_url: state.pageUrl,
      clock_offset_ms: clamp(state.clock.offsetMs, -86400000, 86400000),
      rtt_ms: clamp(state.clock.rttMs, 0, 120000),
      time_zone: zone.slice(0, 100),
      language: (navigator.language || "").slice(0, 35),
    });
  }

  function decideDiagnostics(share) {
    storageSet("sessionStorage", DIAGNOSTICS_KEY, JSON.stringify({ conversation: conversationId(), share }));
    state.askDiagnostics = false;
    state.diagnosticsDue = share && !send(diagnosticsFrame());
    syncCards();
    ui.input.focus();
  }

  // After each stored message: offline chats ask for an address, and every chat asks once about diagnostics.
  function afterAck() {
    const id = conversationId();
    if (!id) return;
    if (state.offline && state.ticketFor !== id) state.emailWanted = true;
    if (diagnosticsChoice().conversation !== id) state.askDiagnostics = true;
    syncCards();
  }

  // ---------------------------------------------------------------- persistence

  function scheduleSave() {
    if (!state.saveTimer) state.saveTimer = setTimeout(save, 200);
  }

  function save() {
    clearTimeout(state.saveTimer);
    state.saveTimer = 0;
    state.cache = state.cache.slice(-CACHE_MESSAGES);
    const outbox = Array.from(state.outbox.values(), ({ client_id, body, files, failed }) => ({
      client_id,
      body,
      // The upload tokens, so a resend after a reload still carries the files (not the File itself).
      files: files.map(({ upload, filename, content_type, width, height }) => ({ upload, filename, content_type, width, height })),
      failed,
    }));
    const snapshot = {
      conversation: state.conversation,
      after: state.after,
      messages: state.cache,
      outbox,
      ticketFor: state.ticketFor,
      ratingDone: state.ratingDone,
    };
    storageSet("sessionStorage", CHAT_KEY, JSON.stringify(snapshot));
  }

  // A reload in the same tab shows the conversation at once and asks only for what is new.
  function restore() {
    const raw = storageGet("localStorage", VISITOR_KEY);
    state.visitor = raw && raw.length <= 2048 ? raw : null;
    let snapshot = null;
    try {
      snapshot = JSON.parse(storageGet("sessionStorage", CHAT_KEY) || "null");
    } catch {
      snapshot = null;
    }
    if (!snapshot || typeof snapshot !== "object") return;
    state.ticketFor = typeof snapshot.ticketFor === "string" ? snapshot.ticketFor : null;
    state.ratingDone = typeof snapshot.ratingDone === "string" ? snapshot.ratingDone : null;
    if (snapshot.conversation && typeof snapshot.conversation === "object") applyConversation(snapshot.conversation, false);
    for (const message of Array.isArray(snapshot.messages) ? snapshot.messages : []) showMessage(message, false);
    state.after = Number.isInteger(snapshot.after) ? snapshot.after : state.after;
    for (const entry of Array.isArray(snapshot.outbox) ? snapshot.outbox : []) {
      if (!entry || typeof entry.client_id !== "string" || typeof entry.body !== "string" || state.mine.has(entry.client_id)) continue;
      const files = (Array.isArray(entry.files) ? entry.files : []).filter((file) => file && typeof file.upload === "string");
      const item = { client_id: entry.client_id, body: entry.body, files: files.slice(0, MAX_FILES), failed: Boolean(entry.failed), el: null };
      state.outbox.set(item.client_id, item);
      addOutboxBubble(item);
    }
  }

  // ---------------------------------------------------------------- server frames

  function onWelcome(frame) {
    if (typeof frame.visitor === "string" && frame.visitor) {
      state.visitor = frame.visitor;
      storageSet("localStorage", VISITOR_KEY, frame.visitor);
    }
    const limits = frame.limits || {};
    if (Number.isInteger(limits.max_body_chars) && limits.max_body_chars > 0) {
      state.maxBody = limits.max_body_chars;
      ui.input.maxLength = limits.max_body_chars;
    }
    const conversation = frame.conversation && typeof frame.conversation === "object" ? frame.conversation : null;
    const id = conversation ? conversation.id : null;
    if (state.helloAfter !== null && id !== state.helloConversation) {
      // `after` counted another conversation (it ended, or the identity changed): start over.
      resetConversation();
      if (id !== null) {
        reconnectNow();
        return;
      }
    }
    state.welcomedAt = Date.now();
    setConnection(null);
    applyConversation(conversation, false);
    state.offline = Boolean(frame.availability && frame.availability.online === false);
    showAvailability(frame.availability);
    showIncident(frame.incident);
    ui.log.setAttribute("aria-busy", "true"); // the replay is not news to a screen reader
    send({ type: "ping", t: Date.now() }); // also measures the clock offset and round trip for diagnostics
    for (const entry of state.pending) if (entry.waiting) upload(entry);
  }

  function onCaughtUp() {
    state.live = true;
    ui.log.setAttribute("aria-busy", "false");
    ui.log.scrollTop = ui.log.scrollHeight;
    for (const item of state.outbox.values()) transmit(item);
    if (state.diagnosticsDue) state.diagnosticsDue = !send(diagnosticsFrame());
    sendRead();
  }

  function onAck(frame) {
    const conversation = frame.conversation;
    const id = conversation && typeof conversation === "object" ? conversation.id : conversation;
    if ((typeof id === "string" || typeof id === "number") && (!state.conversation || state.conversation.id !== id)) {
      applyConversation(typeof conversation === "object" ? conversation : { id, reference: null, status: null, agent: null }, false);
    }
    if (typeof frame.client_id === "string" && state.mine.has(frame.client_id)) settle(frame.client_id, frame.seq);
    afterAck();
  }

  function onTyping(frame) {
    const author = frame.author && typeof frame.author === "object" ? frame.author : {};
    if (author.kind === "customer") return; // our own other tabs
    const kind = KINDS.includes(author.kind) ? author.kind : "agent";
    showPeerTyping(frame.state === "typing" ? fill(T.typing, { name: authorName(author, kind) }) : null);
  }

  function onRead(frame) {
    if (!Number.isInteger(frame.seq)) return;
    state.readBySupport = frame.seq;
    placeReadMark();
  }

  function onPong(frame) {
    const now = Date.now();
    if (typeof frame.t !== "number" || typeof frame.server_time !== "number" || frame.t > now) return;
    const rtt = now - frame.t;
    state.clock = { rttMs: rtt, offsetMs: frame.server_time - (frame.t + rtt / 2), measuredAt: now };
  }

  function onError(frame) {
    const texts = { rate_limited: T.rate_limited, conversation_closed: T.conversation_closed, ...(T.trust_errors || {}) };
    const item = typeof frame.client_id === "string" ? state.outbox.get(frame.client_id) : null;
    if (frame.code === "busy" && item) {
      // Not stored: send it again after the server's pause plus jitter, still shown as sending.
      const pause = Number.isInteger(frame.retry_after_ms) && frame.retry_after_ms > 0 ? frame.retry_after_ms : 1000;
      setTimeout(() => { if (state.outbox.has(item.client_id) && !item.failed) transmit(item); }, pause * (1 + Math.random()));
      return;
    }
    const asked = typeof frame.client_id === "string" ? null : state.asked; // about a message, not a request
    if (asked) state.asked = null;
    if (item) {
      item.failed = true;
      setDelivery(item.el, "failed", item);
      scheduleSave();
    }
    if (frame.code === "invalid" && asked === "email") {
      showEmailError(T.email_invalid);
      ui.emailInput.focus();
    } else if (frame.code === "no_email") {
      state.emailWanted = true; // the transcript needs an address: once it is known, ask again
      syncCards();
      ui.emailInput.focus();
    } else if (frame.code === "not_solved") {
      state.ratingDone = conversationId();
      scheduleSave();
    } else {
      notice(texts[frame.code] || T.error);
    }
    syncCards();
  }

  function onTicket(frame) {
    const email = typeof frame.email === "string" ? frame.email : "";
    state.asked = null;
    state.emailWanted = false;
    state.ticketFor = conversationId();
    showEmailError(null);
    syncCards();
    scheduleSave();
    renderNote(fill(T.ticket, { email, reference: typeof frame.reference === "string" ? frame.reference : "" }));
  }

  function onTranscriptSent(frame) {
    state.asked = null;
    syncCards();
    renderNote(fill(T.transcript_sent, { email: typeof frame.email === "string" ? frame.email : "" }));
  }

  function onRated() {
    state.asked = null;
    state.ratingDone = conversationId();
    syncCards();
    scheduleSave();
    renderNote(T.rated);
  }

  const HANDLERS = {
    welcome: onWelcome,
    message: (frame) => showMessage(frame.message, state.live),
    caught_up: onCaughtUp,
    ack: onAck,
    typing: onTyping,
    read: onRead,
    queue: (frame) => showQueue(frame.position, frame.estimated_wait_seconds),
    conversation: (frame) => applyConversation(frame.conversation, true),
    pong: onPong,
    error: onError,
    ticket: onTicket,
    transcript_sent: onTranscriptSent,
    rated: onRated,
  };

  function onFrame(raw) {
    state.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    if (has(HANDLERS, frame.type)) HANDLERS[frame.type](frame);
    for (const listener of listeners[frame.type] || []) listener(frame);
  }

  // Frames the frame's other scripts also follow (chat/trust.js: identity codes, freezing the
  // account, the anti-phishing code), and the two things they may do: send a frame, add a note.
  const listeners = {};
  window.KefuChat = {
    send: (frame) => send(frame),
    note: (text) => renderNote(text),
    on(type, listener) {
      (listeners[type] = listeners[type] || []).push(listener);
    },
  };

  // ---------------------------------------------------------------- the socket

  function connect() {
    clearTimeout(state.retryTimer);
    clearTimeout(state.identityTimer);
    state.identityTimer = 0;
    if (state.stopped || state.socket) return;
    if (typeof config.socket_url !== "string") {
      stop(T.stopped);
      return;
    }
    if (!state.attempt) setConnection(T.connecting);
    let socket;
    try {
      socket = new WebSocket(config.socket_url);
    } catch {
      stop(T.stopped); // a malformed URL will not get better by retrying
      return;
    }
    state.socket = socket;
    state.live = false;
    state.welcomedAt = 0;
    socket.addEventListener("open", () => state.socket === socket && hello());
    socket.addEventListener("message", (event) => state.socket === socket && onFrame(event.data));
    socket.addEventListener("close", (event) => state.socket === socket && onClose(event.code));
  }

  function hello() {
    state.lastFrameAt = Date.now();
    state.helloAfter = state.after;
    state.helloConversation = state.conversation ? state.conversation.id : null;
    typing.sent = "idle";
    send({ type: "hello", v: 1, visitor: state.visitor, identity: state.identity, locale, after: state.after });
  }

  function backoff() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
    state.attempt += 1;
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  function onClose(code) {
    if (state.welcomedAt && Date.now() - state.welcomedAt >= STABLE_MS) state.attempt = 0;
    detach();
    if (code === 4400) stop(T.stopped);
    // The server refuses a foreign origin at the handshake (HTTP 403), which browsers report as 1006,
    // so that case retries with backoff like any drop; 1008 only comes from a close after accepting.
    else if (code === 1008) stop(T.unavailable);
    else if (code === 1001) retryIn(Math.random() * 1000); // another node answers at once
    else if (code === 4429) retryIn(Math.max(RATE_LIMITED_WAIT_MS, backoff()));
    else retryIn(backoff());
  }

  function detach() {
    const socket = state.socket;
    state.socket = null;
    state.live = false;
    state.asked = null; // its answer is lost with the socket: the buttons work again
    syncCards();
    showPeerTyping(null);
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
  }

  function retryIn(delay) {
    setConnection(T.reconnecting);
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(connect, delay);
  }

  function reconnectNow() {
    detach();
    connect();
  }

  function stop(text) {
    state.stopped = true;
    clearTimeout(state.retryTimer);
    setConnection(text);
    ui.input.disabled = true;
    ui.attach.disabled = true;
    syncComposer();
  }

  function heartbeat() {
    if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - state.lastFrameAt > STALE_MS) {
      detach();
      retryIn(backoff());
      return;
    }
    send({ type: "ping", t: Date.now() });
  }

  // ---------------------------------------------------------------- the host page

  function postToParent(message) {
    if (!embedded) return;
    // Only listed origins can receive it; a non-matching targetOrigin is dropped by the browser.
    for (const origin of state.parentOrigin ? [state.parentOrigin] : parentOrigins) {
      try {
        window.parent.postMessage(message, origin);
      } catch {
        /* not a valid origin string in the config */
      }
    }
  }

  function parseIdentity(data) {
    const text = (value, max) => typeof value === "string" && value.length > 0 && value.length <= max;
    if (text(data.jwt, 8192)) return { jwt: data.jwt };
    if (text(data.user_id, 256) && text(data.signature, 512)) return { user_id: data.user_id, signature: data.signature };
    return null;
  }

  // The host page's address, for diagnostics: absolute http(s) only, as the server accepts it.
  function pageUrl(value) {
    try {
      const url = new URL(typeof value === "string" && value.length <= 2000 ? value : "");
      return (url.protocol === "https:" || url.protocol === "http:") && url.href.length <= 2000 ? url.href : null;
    } catch {
      return null;
    }
  }

  function onParentMessage(event) {
    if (!embedded || event.source !== window.parent || !parentOrigins.includes(event.origin)) return;
    const data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.kefu === "page") {
      state.pageUrl = pageUrl(data.url) || state.pageUrl;
      return;
    }
    if (data.kefu !== "identity") return;
    const identity = parseIdentity(data);
    if (!identity) return;
    state.parentOrigin = event.origin;
    const changed = JSON.stringify(identity) !== JSON.stringify(state.identity);
    state.identity = identity;
    if (state.identityTimer) connect();
    else if (changed && state.socket) reconnectNow();
  }

  // ---------------------------------------------------------------- wiring

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = ui.input.scrollHeight + "px";
  }

  function onKeydown(event) {
    if (event.isComposing || event.keyCode === 229) return; // an IME is composing (pinyin): Enter picks a word
    if (event.key === "Enter" && !event.shiftKey && event.target === ui.input) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape" && embedded) {
      postToParent({ kefu: "close" });
    }
  }

  function bind() {
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    ui.input.addEventListener("input", onInput);
    ui.input.addEventListener("paste", onPaste);
    ui.attach.addEventListener("click", () => ui.file.click());
    ui.file.addEventListener("change", () => {
      addFiles(Array.from(ui.file.files));
      ui.file.value = ""; // choosing the same file again fires change again
    });
    ui.transcript.addEventListener("click", () => ask("transcript", { type: "transcript" }));
    ui.email.addEventListener("submit", (event) => {
      event.preventDefault();
      submitEmail();
    });
    ui.rating.addEventListener("click", (event) => {
      const star = event.target.closest(".chat-star");
      if (!star) return;
      state.score = Number(star.dataset.score);
      syncCards();
    });
    ui.rating.addEventListener("submit", (event) => {
      event.preventDefault();
      submitRating();
    });
    $("chat-diagnostics-share").addEventListener("click", () => decideDiagnostics(true));
    $("chat-diagnostics-decline").addEventListener("click", () => decideDiagnostics(false));
    document.addEventListener("keydown", onKeydown);
    ui.close.hidden = !embedded;
    ui.close.addEventListener("click", () => postToParent({ kefu: "close" }));
    window.addEventListener("message", onParentMessage);
    window.addEventListener("focus", () => {
      sendRead();
      if (document.activeElement === document.body && !ui.input.disabled) ui.input.focus();
    });
    document.addEventListener("visibilitychange", sendRead);
    window.addEventListener("online", () => state.retryTimer && connect());
    window.addEventListener("pagehide", save);
    setInterval(heartbeat, PING_MS);
  }

  function start() {
    bind();
    restore();
    if (embedded && parentOrigins.length) {
      postToParent({ kefu: "ready" });
      state.identityTimer = setTimeout(connect, IDENTITY_WAIT_MS);
    } else {
      connect();
    }
  }

  start();
})();
