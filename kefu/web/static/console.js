// Kefu agent console: the realtime socket (with resume), the composer and controls (through the JSON
// API), bulk actions, keyboard shortcuts and notifications. No build step; htmx does the swapping.
(function () {
  "use strict";

  const body = document.body;
  const strings = JSON.parse(body.dataset.strings || "{}");
  const me = document.querySelector('meta[name="kefu-agent"]').content;
  const workspace = document.querySelector(".workspace");
  const conversationId = workspace ? workspace.dataset.conversation : null;
  const POSITION_KEY = "kefu.position";

  function text(key, values) {
    let result = strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      result = result.replace("{" + name + "}", value);
    }
    return result;
  }

  function toast(message, kind) {
    const box = document.getElementById("toasts");
    const item = document.createElement("p");
    item.className = "toast " + (kind || "info");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(() => item.remove(), 6000);
  }

  // --- API calls: the session cookie plus the CSRF header, like any other state change -------------

  const api = window.KefuApi.call;

  function refresh(...names) {
    if (!window.htmx) return;
    for (const name of names) window.htmx.trigger(body, "kefu:" + name);
  }

  // Many events in a burst refresh each list once.
  const pending = new Set();
  let refreshTimer = null;
  function refreshSoon(...names) {
    names.forEach((n) => pending.add(n));
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      const due = [...pending];
      pending.clear();
      refresh(...due);
    }, 250);
  }

  // --- the socket -----------------------------------------------------------------------------------

  const connection = document.getElementById("connection");
  let socket = null;
  let attempts = 0;
  let pingTimer = null;

  function setState(state) {
    connection.dataset.state = state;
    connection.textContent = state === "live" ? text("connected") : text("connecting");
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + body.dataset.socket);
    socket.addEventListener("open", () => {
      const after = sessionStorage.getItem(POSITION_KEY);
      socket.send(JSON.stringify({ type: "hello", after, watch: conversationId ? [conversationId] : [] }));
      pingTimer = setInterval(() => send({ type: "ping" }), 25000);
    });
    socket.addEventListener("message", (message) => receive(JSON.parse(message.data)));
    socket.addEventListener("close", (event) => {
      clearInterval(pingTimer);
      setState("connecting");
      if (event.code === 4401) {
        location.reload(); // signed out elsewhere: the page sends us to sign-in
        return;
      }
      attempts += 1;
      const delay = Math.min(10000, 500 * 2 ** Math.min(attempts, 5)) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    });
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function remember(position) {
    if (position) sessionStorage.setItem(POSITION_KEY, position);
  }

  function receive(frame) {
    if (frame.type === "ready") {
      attempts = 0;
      remember(frame.position);
      setState("live");
      body.dataset.socketReady = "true";
      if (conversationId) send({ type: "activity", conversation_id: conversationId, state: "viewing" });
    } else if (frame.type === "resync") {
      remember(frame.position);
      refresh("list", "counts", "timeline");
      toast(text("resync"));
    } else if (frame.type === "event") {
      remember(frame.event.position);
      handle(frame.event);
    }
  }

  const notified = new Set(JSON.parse(sessionStorage.getItem("kefu.notified") || "[]"));

  function handle(event) {
    const payload = event.payload || {};
    const here = conversationId && payload.conversation_id === conversationId;
    switch (event.name) {
      case "conversation.created":
      case "conversation.updated":
      case "message.created":
        refreshSoon("list", "counts");
        if (here) {
          refreshSoon("timeline");
          const badge = document.getElementById("status-badge");
          if (badge && payload.status) {
            badge.textContent = payload.status;
            badge.className = "badge status-" + payload.status;
          }
        }
        if (event.name !== "message.created" && payload.assignee_id === me) notifyAssigned(payload);
        break;
      case "conversation.activity":
        if (here) showActivity(payload);
        break;
      case "agent.presence_changed":
        if (payload.agent_id === me) document.getElementById("presence").value = payload.status;
        break;
      case "sla.warning":
      case "sla.breached":
        refreshSoon("list", "counts");
        if (payload.assignee_id === me) {
          const key = event.name === "sla.breached" ? "breached" : "due_soon";
          toast(text(key, { reference: payload.reference || "" }), event.name === "sla.breached" ? "error" : "info");
        }
        break;
      default:
        break;
    }
  }

  function notifyAssigned(payload) {
    if (notified.has(payload.conversation_id)) return;
    notified.add(payload.conversation_id);
    sessionStorage.setItem("kefu.notified", JSON.stringify([...notified].slice(-200)));
    const message = text("assigned", { reference: payload.reference || "" });
    toast(message);
    beep();
    if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
      new Notification("Kefu", { body: message, tag: payload.conversation_id });
    }
  }

  function beep() {
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.05;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.15);
    } catch (error) {
      // No audio device (or not allowed before a user gesture): the toast is enough.
    }
  }

  // Collision notices: who else is viewing or replying here; each notice fades if not refreshed.
  const activity = new Map();
  function showActivity(payload) {
    if (payload.customer) {
      // The chat customer: typing, stopped, or read up to a message (live chat widget).
      if (payload.state === "idle") activity.delete("customer");
      else activity.set("customer", { customer: true, state: payload.state, at: Date.now() });
      renderActivity();
      return;
    }
    if (payload.state === "idle") activity.delete(payload.agent_id);
    else activity.set(payload.agent_id, { name: payload.agent_name, state: payload.state, at: Date.now() });
    renderActivity();
  }
  function renderActivity() {
    const box = document.getElementById("collision");
    if (!box) return;
    const now = Date.now();
    const lines = [];
    for (const [id, entry] of activity) {
      if (now - entry.at > 20000) activity.delete(id);
      else if (entry.customer) lines.push(text(entry.state === "typing" ? "customer_typing" : "customer_read"));
      else lines.push(text(entry.state === "typing" ? "typing" : "viewing", { name: entry.name }));
    }
    box.textContent = lines.join(" · ");
    box.hidden = lines.length === 0;
  }
  setInterval(renderActivity, 5000);

  // --- composer ----------------------------------------------------------------------------------

  const composer = document.getElementById("composer");
  if (composer) {
    const textarea = composer.querySelector("textarea");
    const warning = document.getElementById("reply-warning");
    let typingSent = 0;
    let idleTimer = null;
    let checkTimer = null;

    textarea.addEventListener("input", () => {
      const now = Date.now();
      if (now - typingSent > 3000) {
        send({ type: "activity", conversation_id: conversationId, state: "typing" });
        typingSent = now;
      }
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        send({ type: "activity", conversation_id: conversationId, state: "viewing" });
        typingSent = 0;
      }, 6000);
      clearTimeout(checkTimer);
      checkTimer = setTimeout(checkReply, 400);
    });

    async function checkReply() {
      const kind = composer.querySelector('input[name="kind"]:checked').value;
      if (kind !== "reply" || !textarea.value.trim()) {
        warning.hidden = true;
        return;
      }
      try {
        const result = await api("POST", "/api/v1/reply-checks", { text: textarea.value });
        const warnings = (result && result.warnings) || [];
        warning.textContent = warnings.map((w) => w.message).join(" ");
        warning.hidden = warnings.length === 0;
      } catch (error) {
        warning.hidden = true;
      }
    }

    composer.addEventListener("submit", async (event) => {
      event.preventDefault();
      await checkReply();
      if (!warning.hidden && !window.confirm(text("confirm_warning"))) return;
      const kind = composer.querySelector('input[name="kind"]:checked').value;
      const status = composer.querySelector('select[name="status"]').value;
      const payload = { body: textarea.value, kind, client_id: "console-" + crypto.randomUUID() };
      if (status) payload.status = status;
      const form = new FormData();
      form.append("payload", JSON.stringify(payload));
      for (const file of composer.querySelector('input[type="file"]').files) form.append("files", file);
      try {
        await api("POST", "/api/v1/conversations/" + conversationId + "/messages", form);
        composer.reset();
        warning.hidden = true;
        send({ type: "activity", conversation_id: conversationId, state: "viewing" });
        refresh("timeline");
        toast(text("sent"));
      } catch (error) {
        toast(text("failed", { reason: error.message }), "error");
      }
    });

    // Help-center articles: search in the conversation's language, insert "title: absolute link".
    const articleQuery = document.getElementById("article-query");
    const articleResults = document.getElementById("article-results");
    const baseUrl = document.querySelector('meta[name="kefu-base-url"]').content.replace(/\/$/, "");
    let articleTimer = null;
    if (articleQuery) {
      articleQuery.addEventListener("input", () => {
        clearTimeout(articleTimer);
        articleTimer = setTimeout(findArticles, 250);
      });
    }

    async function findArticles() {
      articleResults.replaceChildren();
      const q = articleQuery.value.trim();
      if (!q) return;
      const locale = articleQuery.closest(".article-picker").dataset.locale;
      const params = new URLSearchParams({ q, locale, limit: "5" });
      let found = [];
      try {
        const response = await fetch("/api/v1/kb/search?" + params, { credentials: "same-origin" });
        if (response.ok) found = (await response.json()).results || [];
      } catch (error) {
        return;
      }
      for (const article of found) {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = article.title;
        button.addEventListener("click", () => {
          const line = article.title + ": " + baseUrl + article.url;
          const at = textarea.selectionStart;
          textarea.value = textarea.value.slice(0, at) + line + textarea.value.slice(at);
          articleResults.replaceChildren();
          articleQuery.value = "";
          textarea.focus();
        });
        item.appendChild(button);
        articleResults.appendChild(item);
      }
    }

    const macro = document.getElementById("macro");
    if (macro) {
      macro.addEventListener("change", async () => {
        if (!macro.value) return;
        try {
          const url = "/api/v1/conversations/" + conversationId + "/macros/" + macro.value + "/render";
          const rendered = await api("POST", url);
          const at = textarea.selectionStart;
          textarea.value = textarea.value.slice(0, at) + rendered.text + textarea.value.slice(at);
          textarea.focus();
          checkReply();
        } catch (error) {
          toast(text("failed", { reason: error.message }), "error");
        }
        macro.value = "";
      });
    }
  }

  // --- controls, transfer, presence ----------------------------------------------------------------

  async function updateConversation(id, changes) {
    return api("PATCH", "/api/v1/conversations/" + id, changes);
  }

  const controls = document.getElementById("controls");
  if (controls) {
    controls.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(controls);
      const changes = {
        status: data.get("status"),
        priority: data.get("priority"),
        category: data.get("category"),
        tags: String(data.get("tags") || "")
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean),
      };
      if (data.get("assignee_id")) changes.assignee_id = data.get("assignee_id");
      else changes.unassign = true;
      if (data.get("team_id")) changes.team_id = data.get("team_id");
      try {
        await updateConversation(conversationId, changes);
        refresh("timeline");
        toast(text("sent"));
      } catch (error) {
        toast(text("failed", { reason: error.message }), "error");
      }
    });
    controls.querySelector('[data-action="assign_me"]').addEventListener("click", assignToMe);
  }

  async function assignToMe() {
    if (!conversationId) return;
    try {
      await updateConversation(conversationId, { assignee_id: me });
      const select = controls.querySelector('select[name="assignee_id"]');
      select.value = me;
      refresh("timeline");
    } catch (error) {
      toast(text("failed", { reason: error.message }), "error");
    }
  }

  const transfer = document.getElementById("transfer");
  if (transfer) {
    transfer.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(transfer);
      const payload = { note: data.get("note") };
      if (data.get("to_agent_id")) payload.to_agent_id = data.get("to_agent_id");
      if (data.get("to_team_id")) payload.to_team_id = data.get("to_team_id");
      try {
        await api("POST", "/api/v1/conversations/" + conversationId + "/transfer", payload);
        transfer.reset();
        refresh("timeline");
        toast(text("sent"));
      } catch (error) {
        toast(text("failed", { reason: error.message }), "error");
      }
    });
  }

  const merge = document.getElementById("merge");
  if (merge && merge.querySelector("input")) {
    merge.addEventListener("submit", async (event) => {
      event.preventDefault();
      const into = new FormData(merge).get("into").trim().toUpperCase();
      try {
        const target = await api("POST", "/api/v1/conversations/" + conversationId + "/merge", { into });
        location.href = "/console/conversations/" + target.reference;
      } catch (error) {
        toast(text("failed", { reason: error.message }), "error");
      }
    });
  }

  const presence = document.getElementById("presence");
  presence.addEventListener("change", async () => {
    try {
      await api("PUT", "/api/v1/agents/me/presence", { status: presence.value });
    } catch (error) {
      toast(text("failed", { reason: error.message }), "error");
    }
  });

  // --- bulk actions on the list ---------------------------------------------------------------------

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-bulk]");
    if (!button) return;
    const ids = [...document.querySelectorAll("#list input.select:checked")].map((box) => box.value);
    if (!ids.length) {
      toast(text("nothing_selected"));
      return;
    }
    const action = button.dataset.bulk;
    const changes = action === "assign_me" ? { assignee_id: me } : { status: action };
    const results = await Promise.allSettled(ids.map((id) => updateConversation(id, changes)));
    const failed = results.filter((r) => r.status === "rejected");
    if (failed.length) toast(text("failed", { reason: failed[0].reason.message }), "error");
    refresh("list", "counts");
  });

  // --- held emails: a reply from someone who is not the customer waits for an agent's decision ------

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.release-held");
    if (!button) return;
    button.disabled = true;
    try {
      const target = await api("POST", "/api/v1/inbound-emails/" + button.dataset.inbound + "/release", {
        release_as: button.dataset.as,
      });
      if (button.dataset.as === "new_conversation") {
        window.location.assign("/console/conversations/" + target.reference);
      } else {
        refresh("timeline");
      }
    } catch (error) {
      button.disabled = false;
      toast(text("failed", { reason: error.message }), "error");
    }
  });

  // --- keyboard shortcuts ---------------------------------------------------------------------------

  const dialog = document.getElementById("shortcuts");
  document.getElementById("shortcuts-button").addEventListener("click", () => dialog.showModal());
  let selected = -1;
  let prefix = null;

  function rows() {
    return [...document.querySelectorAll("#list tbody tr")];
  }

  function select(index) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("selected", i === selected));
    all[selected].scrollIntoView({ block: "nearest" });
    all[selected].querySelector("a.open").focus();
  }

  document.addEventListener("keydown", (event) => {
    const typing = event.target.matches("input, textarea, select");
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && composer && event.target.closest("#composer")) {
      event.preventDefault();
      composer.requestSubmit();
      return;
    }
    if (event.key === "Escape" && typing) {
      event.target.blur();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (prefix === "g") {
      prefix = null;
      if (event.key === "i") location.href = "/console?view=mine";
      if (event.key === "u") location.href = "/console?view=unassigned";
      return;
    }
    switch (event.key) {
      case "?":
        dialog.open ? dialog.close() : dialog.showModal();
        break;
      case "/":
        event.preventDefault();
        document.getElementById("search").focus();
        break;
      case "g":
        prefix = "g";
        setTimeout(() => (prefix = null), 1500);
        break;
      case "j":
        select(selected + 1);
        break;
      case "k":
        select(selected - 1);
        break;
      case "o":
        if (rows()[selected]) rows()[selected].querySelector("a.open").click();
        break;
      case "x":
        if (rows()[selected]) {
          const box = rows()[selected].querySelector("input.select");
          box.checked = !box.checked;
        }
        break;
      case "r":
      case "n":
        if (composer) {
          event.preventDefault();
          composer.querySelector('input[value="' + (event.key === "r" ? "reply" : "note") + '"]').checked = true;
          composer.querySelector("textarea").focus();
        }
        break;
      case "a":
        assignToMe();
        break;
      default:
        break;
    }
  });

  // Desktop notifications need permission, which browsers grant only after a user gesture.
  document.addEventListener(
    "click",
    () => {
      if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
    },
    { once: true },
  );

  connect();
})();
