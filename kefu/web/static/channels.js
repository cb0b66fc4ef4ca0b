// Console settings: add and remove official channels through /api/v1/official-channels (admins).
// The page only reads; after a change it reloads to show what the server stored (canonical values).
(function () {
  "use strict";

  const registry = document.querySelector(".official-channels");
  const form = document.getElementById("channel-form");
  if (!registry || !form) return;
  const strings = JSON.parse(registry.dataset.strings || "{}");
  const { call } = window.KefuApi;

  function text(key, values) {
    let result = strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) result = result.replace("{" + name + "}", value);
    return result;
  }

  function show(element, message) {
    element.textContent = message;
    element.hidden = !message;
  }

  function payload() {
    const field = (name) => form.elements.namedItem(name).value.trim();
    const body = {
      kind: field("kind"),
      value: form.elements.namedItem("value").value,
      label: field("label"),
      published_on_contact_page: form.elements.namedItem("published_on_contact_page").checked,
      position: Number(field("position") || "0"),
    };
    if (field("label_zh")) body.label_zh = field("label_zh");
    if (field("region")) body.region = field("region");
    if (field("team_id")) body.team_id = field("team_id");
    return body;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const general = form.querySelector(".form-error");
    const valueError = form.querySelector('.field-error[data-field="value"]');
    show(general, "");
    show(valueError, "");
    try {
      await call("POST", form.dataset.api, payload());
      location.reload();
    } catch (error) {
      const fields = error.fields || {};
      if (fields.value) show(valueError, fields.value);
      const others = Object.entries(fields)
        .filter(([name]) => name !== "value")
        .map(([name, message]) => name + ": " + message);
      show(general, text("failed", { reason: [error.message, ...others].join(" · ") }));
    }
  });

  registry.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-channel-delete]");
    if (!button) return;
    if (!window.confirm(text("confirm_delete", { name: button.dataset.name }))) return;
    try {
      await call("DELETE", form.dataset.api + "/" + encodeURIComponent(button.dataset.channelDelete));
      location.reload();
    } catch (error) {
      show(registry.querySelector('[data-role="channels-error"]'), text("failed", { reason: error.message }));
    }
  });
})();
