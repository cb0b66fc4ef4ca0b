// Console settings: add and change social and phone inboxes through /api/v1/channel-inboxes (admins).
// The page only reads; after a change it reloads to show what the server stored. Credentials are sent
// only when typed (write-only fields): an empty one keeps what the inbox has.
(function () {
  "use strict";

  const list = document.querySelector(".channel-inboxes[data-api]");
  if (!list) return;
  const { call, show } = window.KefuApi;
  const text = window.KefuApi.texts(list);

  function clearErrors(form) {
    form.querySelectorAll(".field-error, .form-error").forEach((p) => show(p, ""));
  }

  // The API names fields by their JSON path ("address", "secrets.bot_token"): show each next to its
  // input when the form has a slot for it, the rest above the buttons.
  function showError(form, error) {
    const lines = [];
    for (const [field, message] of Object.entries(error.fields || {})) {
      const slot = form.querySelector('.field-error[data-field="' + CSS.escape(field) + '"]');
      if (slot) show(slot, message);
      else lines.push(field + ": " + message);
    }
    show(form.querySelector(".form-error"), text("failed", { reason: [error.message, ...lines].join(" · ") }));
  }

  // The channel's settings: the inbox's stored config (keys the page has no input for stay) with
  // each input's value; an empty text input removes its key.
  function collectConfig(form, base) {
    const config = Object.assign({}, base || {});
    form.querySelectorAll('[data-part="config"]').forEach((input) => {
      const name = input.name;
      if (input.type === "checkbox") {
        if (input.checked) config[name] = true;
        else delete config[name];
        return;
      }
      const raw = input.value.trim();
      if (raw === "") delete config[name];
      else config[name] = input.dataset.type === "int" ? Number(raw) : raw;
    });
    return config;
  }

  function collectSecrets(form) {
    const secrets = {};
    form.querySelectorAll('[data-part="secret"]').forEach((input) => {
      if (input.value !== "") secrets[input.name] = input.value;
    });
    return secrets;
  }

  function teamOf(form) {
    const select = form.querySelector('select[name="team_id"]');
    return select && select.value ? select.value : null;
  }

  document.querySelectorAll("form.channel-inbox-create").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const field = (name) => form.elements.namedItem(name);
      const payload = {
        channel: form.dataset.channel,
        name: field("name").value.trim(),
        address: field("address").value.trim(),
        team_id: teamOf(form),
        config: collectConfig(form, {}),
        secrets: collectSecrets(form),
      };
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      try {
        await call("POST", form.dataset.api, payload);
        location.reload();
      } catch (error) {
        showError(form, error);
      } finally {
        button.disabled = false;
      }
    });
  });

  document.querySelectorAll("form.channel-inbox-edit").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const field = (name) => form.elements.namedItem(name);
      const payload = {
        name: field("name").value.trim(),
        team_id: teamOf(form),
        is_active: field("is_active").checked,
        config: collectConfig(form, JSON.parse(form.dataset.config || "{}")),
      };
      const secrets = collectSecrets(form);
      if (Object.keys(secrets).length) payload.secrets = secrets;
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      try {
        await call("PATCH", form.dataset.url, payload);
        location.reload();
      } catch (error) {
        showError(form, error);
      } finally {
        button.disabled = false;
      }
    });
  });

  // A random secret of 43 URL-safe characters (what Telegram's secret_token and Meta's verify token take).
  function randomSecret() {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  document.addEventListener("click", async (event) => {
    const generate = event.target.closest("[data-generate]");
    if (generate) {
      const input = generate.closest("form").elements.namedItem(generate.dataset.generate);
      input.value = randomSecret();
      // Shown once, so it can be pasted at the provider (Meta's verify token) before saving.
      input.type = "text";
      input.select();
      return;
    }
    const copy = event.target.closest("[data-copy]");
    if (!copy) return;
    const status = list.querySelector('[data-role="inboxes-status"]');
    try {
      await navigator.clipboard.writeText(copy.dataset.copy);
      copy.textContent = text("copied");
    } catch (error) {
      const code = copy.parentElement.querySelector('[data-role="endpoint"]');
      if (code) window.getSelection().selectAllChildren(code);
      show(status, text("copy_failed"));
    }
  });
})();
