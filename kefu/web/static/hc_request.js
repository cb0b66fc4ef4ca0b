// Kefu help center, "Submit a request": posts the form to POST /api/v1/conversations as multipart
// (a JSON `payload` part plus `files` parts), shows the API's per-field messages next to the inputs,
// suggests articles while the subject is typed and reports what happened to the suggestions (for
// deflection counts: POST /api/v1/request-forms/deflection). No inline code anywhere (CSP).
(function () {
  "use strict";

  const form = document.getElementById("hc-request-form");
  if (!form) return;
  const locale = form.dataset.locale;
  const summary = document.getElementById("hc-request-error");
  const status = document.getElementById("hc-request-status");
  const submit = form.querySelector('button[type="submit"]');

  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "hc-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  // One id per page: a retried submit (double click, flaky network) opens one conversation, not two.
  const clientId = randomId();
  // A separate random id names this form session in the deflection counts (nothing personal).
  const formSession = randomId();

  // --- time zones: preselect the browser's own offset next to each date and time ---
  const offset = (() => {
    const minutes = -new Date().getTimezoneOffset();
    const abs = Math.abs(minutes);
    const pad = (n) => String(n).padStart(2, "0");
    return (minutes >= 0 ? "+" : "-") + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  })();
  for (const select of form.querySelectorAll("select[data-tz-for]")) {
    if (Array.from(select.options).some((o) => o.value === offset)) select.value = offset;
  }
  // A time-zone box (callback form) starts with the browser's own IANA zone, e.g. Asia/Shanghai.
  for (const input of form.querySelectorAll('input[data-kind="timezone"]')) {
    let zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      zone = "";
    }
    if (!input.value) input.value = zone || offset;
  }

  // --- a signed-in customer (My requests) or agent posts with their cookie: send the CSRF header too ---
  const csrfName = (document.querySelector('meta[name="kefu-csrf-cookie"]') || {}).content || "";
  function csrfHeaders(headers) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (csrfName && key === csrfName) headers["x-csrf-token"] = decodeURIComponent(rest.join("="));
    }
    return headers;
  }

  // --- errors: the API's `fields` keys are matched to inputs by their data-api-field ---
  function errorBox(input) {
    return document.getElementById(input.id + "-error");
  }

  function clearErrors() {
    summary.hidden = true;
    summary.textContent = "";
    for (const input of form.querySelectorAll("[data-api-field]")) {
      input.removeAttribute("aria-invalid");
      const box = errorBox(input);
      if (box) {
        box.hidden = true;
        box.textContent = "";
      }
    }
  }

  function inputFor(key) {
    // "form_fields.pair" or "customer.email"; nested keys ("form_fields.pair.0") fall back to the prefix.
    const parts = key.split(".");
    for (let n = parts.length; n > 0; n--) {
      const name = parts.slice(0, n).join(".");
      for (const input of form.querySelectorAll("[data-api-field]")) {
        if (input.dataset.apiField === name) return input;
      }
    }
    if (key === "customer") return form.querySelector('[data-api-field="customer.email"]');
    return null;
  }

  function showErrors(fields) {
    let first = null;
    const unmatched = [];
    for (const [key, message] of Object.entries(fields || {})) {
      const input = inputFor(key);
      const box = input && errorBox(input);
      if (!box) {
        unmatched.push(key);
        continue;
      }
      // Form-field messages come translated into the page's language (the payload names it);
      // other keys may carry the API's English, which only English readers are shown.
      let text = String(message);
      if (!key.startsWith("form_fields.") && locale !== "en") text = form.dataset.invalidMessage;
      box.textContent = text;
      box.hidden = false;
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
    if (unmatched.length || !first) showSummary(form.dataset.failedMessage);
    if (first) first.focus();
  }

  function showSummary(text) {
    summary.textContent = text;
    summary.hidden = false;
  }

  // --- the request itself ---
  function formFields() {
    const values = {};
    for (const input of form.querySelectorAll("[data-form-field]")) {
      if (input.dataset.kind === "checkbox") {
        if (input.checked) values[input.dataset.formField] = true;
        continue;
      }
      const value = input.value.trim();
      if (!value) continue;
      if (input.dataset.kind === "datetime") {
        const tz = form.querySelector('select[data-tz-for="' + input.id + '"]');
        const seconds = value.length === 16 ? ":00" : "";
        values[input.dataset.formField] = value + seconds + (tz ? tz.value : "");
      } else {
        values[input.dataset.formField] = value;
      }
    }
    return values;
  }

  function payload() {
    const value = (name) => form.elements.namedItem(name).value;
    return {
      customer: { email: value("email").trim() },
      client_id: clientId,
      category: form.dataset.category,
      subject: value("subject").trim(),
      body: value("body"),
      form_fields: formFields(),
      locale: locale,
    };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const data = new FormData();
    data.append("payload", JSON.stringify(payload()));
    for (const file of form.elements.namedItem("files").files) data.append("files", file, file.name);
    submit.disabled = true;
    status.textContent = status.dataset.sending;
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: csrfHeaders({ accept: "application/json" }),
      });
    } catch (error) {
      showSummary(form.dataset.networkMessage);
      submit.disabled = false;
      status.textContent = "";
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (response.ok && typeof body.reference === "string") {
      report("submitted", null);
      const target = form.dataset.submittedUrl + "?reference=" + encodeURIComponent(body.reference);
      window.location.assign(target);
      return;
    }
    submit.disabled = false;
    status.textContent = "";
    if (response.status === 413 || response.status === 415) {
      const box = document.getElementById("hc-f-files-error");
      box.textContent = form.dataset.tooLargeMessage;
      box.hidden = false;
      showSummary(form.dataset.tooLargeMessage);
    } else if (response.status === 429) {
      showSummary(form.dataset.busyMessage);
    } else {
      showErrors((body.error && body.error.fields) || {});
    }
  });

  // --- deflection events: what happened to the suggestions in this form session ---
  // Each article is reported once per kind; "submitted" only after something was suggested. An
  // "opened" waits for its "suggested" to be answered, since the server refuses it otherwise.
  const reported = new Map();

  function send(event) {
    try {
      // keepalive: the request survives the page being left (the confirmation page).
      return fetch(form.dataset.deflectionUrl, {
        method: "POST",
        body: JSON.stringify(event),
        headers: { "content-type": "application/json" },
        credentials: "omit",
        keepalive: true,
      }).catch(() => null);
    } catch (error) {
      return Promise.resolve(null); // counting is best effort: never in the reader's way
    }
  }

  function report(kind, slug) {
    const key = kind + ":" + (slug || "");
    if (reported.has(key) || (kind === "submitted" && reported.size === 0)) return;
    const event = { session: formSession, kind: kind, locale: locale };
    if (slug) event.article = slug;
    const before = kind === "opened" ? reported.get("suggested:" + slug) : null;
    reported.set(key, (before || Promise.resolve()).then(() => send(event)));
  }

  // --- suggested articles while the subject is typed (debounced; stale answers are dropped) ---
  const subject = document.getElementById("hc-f-subject");
  const suggestions = document.getElementById("hc-request-suggestions");
  const list = suggestions.querySelector("ul");
  let timer = 0;
  let latest = 0;

  async function suggest(q) {
    const ticket = ++latest;
    if (q.length < 2) {
      suggestions.hidden = true;
      list.replaceChildren();
      return;
    }
    const url = "/api/v1/kb/search?" + new URLSearchParams({ q: q.slice(0, 200), locale: locale, limit: "5" });
    let answer;
    try {
      const response = await fetch(url, { headers: { accept: "application/json" } });
      if (!response.ok) return;
      answer = await response.json();
    } catch (error) {
      return;
    }
    if (ticket !== latest) return;
    const good = (answer.results || []).filter((r) => r.score >= answer.no_answer_threshold);
    list.replaceChildren(
      ...good.map((result) => {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = form.dataset.articlesUrl + encodeURIComponent(result.slug);
        link.textContent = result.title;
        // Opening an article keeps this form as it is, in case the article does not help.
        link.target = "_blank";
        link.rel = "noopener";
        link.dataset.slug = result.slug;
        item.append(link);
        return item;
      })
    );
    suggestions.hidden = good.length === 0;
    for (const result of good) report("suggested", result.slug);
  }

  // Left, middle or keyboard activation of a suggestion all count as opening it.
  function opened(event) {
    const link = event.target.closest("a[data-slug]");
    if (link && (event.type === "click" || event.button === 1)) report("opened", link.dataset.slug);
  }
  list.addEventListener("click", opened);
  list.addEventListener("auxclick", opened);

  subject.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => suggest(subject.value.trim()), 300);
  });
})();
