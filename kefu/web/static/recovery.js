// Console: a recovery case page. Claims the case and sends the reviewer's decision through
// /api/v1/recovery/cases/<id>/... (session cookie + CSRF header), then reloads to show what was stored.
(function () {
  "use strict";

  const page = document.querySelector('[data-page="recovery-case"][data-api]');
  if (!page) return;
  const api = page.dataset.api;
  const strings = JSON.parse(page.dataset.strings || "{}");
  const { call } = window.KefuApi;
  const errorBox = document.getElementById("recovery-error");

  function text(key, values) {
    let result = strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) result = result.replace("{" + name + "}", value);
    return result;
  }

  function showError(error) {
    const details = Object.entries(error.fields || {}).map(([name, message]) => name + ": " + message);
    errorBox.textContent = text("failed", { reason: [error.message, ...details].join(" · ") });
    errorBox.hidden = false;
  }

  async function send(url, payload, button) {
    errorBox.hidden = true;
    if (button) button.disabled = true;
    try {
      await call("POST", url, payload);
      location.reload();
    } catch (error) {
      showError(error);
      if (button) button.disabled = false;
    }
  }

  const claim = document.getElementById("claim-case");
  if (claim) claim.addEventListener("click", () => send(api + "/claim", {}, claim));

  for (const form of document.querySelectorAll("form.recovery-decision")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const decision = form.dataset.decision;
      const data = new FormData(form);
      const payload = { decision, template: data.get("template"), note: data.get("note") || "" };
      if (decision === "approve") {
        payload.uid = (data.get("uid") || "").trim() || null;
        if (!window.confirm(text("confirm_approve", { uid: payload.uid || "" }))) return;
      } else if (!window.confirm(text("confirm_reject"))) {
        return;
      }
      send(api + "/decision", payload, form.querySelector('button[type="submit"]'));
    });
  }
})();
