// The console's one way to call the JSON API: the session cookie plus the CSRF header (from the page's
// <meta name="kefu-csrf">), JSON or FormData bodies, and errors carrying the API's message and
// per-field details; and the small helpers every settings page shares. Loaded before every console script.
(function () {
  "use strict";

  const meta = document.querySelector('meta[name="kefu-csrf"]');
  const csrf = meta ? meta.content : "";

  class ApiError extends Error {
    constructor(message, fields) {
      super(message);
      this.fields = fields || {};
    }
  }

  async function call(method, url, payload) {
    const init = { method, headers: { "x-csrf-token": csrf }, credentials: "same-origin" };
    if (payload instanceof FormData) {
      init.body = payload;
    } else if (payload !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const response = await fetch(url, init);
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(error.message || response.statusText, error.fields);
    }
    return data;
  }

  // A page's translated strings (its JSON `data-strings` attribute) as text(key, {name: value}).
  function texts(element) {
    const strings = JSON.parse((element && element.dataset.strings) || "{}");
    return function text(key, values) {
      let result = strings[key] || key;
      for (const [name, value] of Object.entries(values || {})) result = result.replace("{" + name + "}", value);
      return result;
    };
  }

  // Put `message` in a status or error line; an empty message hides the line.
  function show(element, message) {
    if (!element) return;
    element.textContent = message;
    element.hidden = !message;
  }

  // A refusal in one line: the page's "failed" wording around the API's message and field details.
  function describe(error, text) {
    const details = Object.entries(error.fields || {}).map(([name, message]) => name + ": " + message);
    return text("failed", { reason: [error.message, ...details].join(" · ") });
  }

  window.KefuApi = { call, ApiError, texts, show, describe };
})();
