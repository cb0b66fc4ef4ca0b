// The console's one way to call the JSON API: the session cookie plus the CSRF header (from the page's
// <meta name="kefu-csrf">), JSON or FormData bodies, and errors carrying the API's message and
// per-field details. Loaded before every console script.
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

  window.KefuApi = { call, ApiError };
})();
