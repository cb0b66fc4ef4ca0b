// Kefu console knowledge-base editor. The page only reads; saving, preview, publish and unpublish go
// to the staff routes of the JSON API with the session cookie and the CSRF header, which hold the
// permission rules (agents edit drafts, supervisors publish).
(function () {
  "use strict";

  const root = document.querySelector(".kb-editor");
  const form = document.getElementById("kb-form");
  if (!root || !form) return;
  const strings = JSON.parse(root.dataset.strings || "{}");
  const preview = document.getElementById("kb-preview");
  const formError = form.querySelector(".form-error");
  const saved = form.querySelector(".kb-saved");
  const API = "/api/v1/kb/staff";

  function text(key, values) {
    let result = strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) result = result.replace("{" + name + "}", value);
    return result;
  }

  const { ApiError, call: api } = window.KefuApi;

  function clearErrors() {
    formError.hidden = true;
    formError.textContent = "";
    for (const p of form.querySelectorAll(".field-error")) {
      p.hidden = true;
      p.textContent = "";
    }
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  function showError(error) {
    let placed = false;
    for (const [field, message] of Object.entries(error.fields || {})) {
      const name = field.split(".")[0];
      const slot = form.querySelector('.field-error[data-field="' + name + '"]');
      if (!slot) continue;
      slot.textContent = message;
      slot.hidden = false;
      const input = form.elements[name];
      if (input) input.setAttribute("aria-invalid", "true");
      placed = true;
    }
    if (!placed || !error.fields) {
      formError.textContent = text("failed", { reason: error.message });
      formError.hidden = false;
    }
  }

  function values() {
    const tags = form.elements.tags.value.split(/[,，]/).map((t) => t.trim()).filter(Boolean);
    return {
      title: form.elements.title.value,
      body: form.elements.body.value,
      category: form.elements.category.value,
      tags,
    };
  }

  async function renderPreview() {
    try {
      const data = await api("POST", API + "/preview", { body: form.elements.body.value });
      // The server sanitised this HTML with the same allowlist the help center uses.
      preview.innerHTML = data.html;
    } catch (error) {
      preview.textContent = text("preview_failed", { reason: error.message });
    }
  }

  let previewTimer = null;
  form.elements.body.addEventListener("input", () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(renderPreview, 600);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    saved.textContent = "";
    const id = form.dataset.id;
    try {
      if (id) {
        await api("PUT", API + "/articles/" + id, values());
        saved.textContent = text("saved");
        window.location.reload();
      } else {
        const payload = Object.assign(values(), {
          slug: form.elements.slug.value,
          locale: form.elements.locale.value,
        });
        const created = await api("POST", API + "/articles", payload);
        window.location.assign("/console/kb/" + created.id);
      }
    } catch (error) {
      showError(error);
    }
  });

  form.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "preview") {
      await renderPreview();
      preview.focus();
      return;
    }
    if (action === "unpublish" && !window.confirm(text("confirm_unpublish"))) return;
    clearErrors();
    try {
      await api("POST", API + "/articles/" + form.dataset.id + "/" + action);
      saved.textContent = text(action === "publish" ? "published" : "unpublished");
      window.location.reload();
    } catch (error) {
      showError(error);
    }
  });

  if (form.elements.body.value) renderPreview();
})();
