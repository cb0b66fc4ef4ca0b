// Console settings, request forms: add, edit, deactivate and delete the fields added to a category's
// help-center form. The page only reads; every change goes to /api/v1/request-forms/fields through
// KefuApi (session cookie + CSRF header), then the page reloads to show what the server stored.
(function () {
  "use strict";

  const editor = document.getElementById("form-field-editor");
  const root = document.querySelector(".settings");
  if (!editor || !root) return;
  const strings = JSON.parse(root.dataset.strings || "{}");
  const NOTICE_KEY = "kefu.settings.notice"; // shown by settings.js after the reload
  const { call: api } = window.KefuApi;
  const FIXED = ["category", "name", "kind"];

  function text(key, values) {
    let result = strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) result = result.replace("{" + name + "}", value);
    return result;
  }

  function reloadWith(message) {
    sessionStorage.setItem(NOTICE_KEY, message);
    location.reload();
  }

  const input = (name) => editor.elements.namedItem(name);

  function clearErrors() {
    editor.querySelectorAll(".field-error, .form-error").forEach((p) => {
      p.textContent = "";
      p.hidden = true;
    });
  }

  function showError(error) {
    const general = editor.querySelector(".form-error");
    const lines = [];
    for (const [field, message] of Object.entries(error.fields || {})) {
      const top = field.split(".")[0];
      const slot = editor.querySelector('.field-error[data-for="' + CSS.escape(top) + '"]');
      if (slot) {
        slot.textContent = message;
        slot.hidden = false;
      } else {
        lines.push(field + ": " + message);
      }
    }
    general.textContent = text("failed", { reason: [error.message, ...lines].join(" · ") });
    general.hidden = false;
  }

  // Options are written one per line as "value | English | Chinese".
  function parseChoices(raw) {
    return raw
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => {
        const [value, labelEn, labelZh] = line.split("|").map((part) => (part || "").trim());
        return { value: value, label_en: labelEn || "", label_zh: labelZh || "" };
      });
  }

  function formatChoices(choices) {
    return (choices || []).map((c) => [c.value, c.label_en, c.label_zh].join(" | ")).join("\n");
  }

  // Show only the settings that apply to the chosen kind.
  function shapeForKind() {
    const kind = input("kind").value;
    editor.querySelectorAll("[data-only-kinds]").forEach((label) => {
      label.hidden = !label.dataset.onlyKinds.split(" ").includes(kind);
    });
  }

  function collect(editing) {
    const kind = input("kind").value;
    const maxLength = input("max_length").value.trim();
    const payload = {
      label_en: input("label_en").value.trim(),
      label_zh: input("label_zh").value.trim(),
      help_en: input("help_en").value.trim(),
      help_zh: input("help_zh").value.trim(),
      required: input("required").checked,
      active: input("active").checked,
      position: Number(input("position").value || 0),
      max_length: kind === "text" || kind === "textarea" ? (maxLength ? Number(maxLength) : null) : null,
      choices: kind === "select" ? parseChoices(input("choices").value) : [],
    };
    if (!editing) {
      for (const name of FIXED) payload[name] = input(name).value.trim();
    }
    return payload;
  }

  function fill(item) {
    for (const name of [...FIXED, "label_en", "label_zh", "help_en", "help_zh"]) input(name).value = item[name] || "";
    input("max_length").value = item.max_length === null ? "" : String(item.max_length);
    input("position").value = String(item.position);
    input("required").checked = item.required;
    input("active").checked = item.active;
    input("choices").value = formatChoices(item.choices);
    for (const name of FIXED) input(name).disabled = true;
    input("id").value = item.id;
    const title = editor.querySelector("h2");
    title.textContent = title.dataset.edit;
    shapeForKind();
  }

  input("kind").addEventListener("change", shapeForKind);
  shapeForKind();

  editor.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const id = input("id").value;
    try {
      if (id) {
        await api("PATCH", editor.dataset.api + "/" + encodeURIComponent(id), collect(true));
      } else {
        await api("POST", editor.dataset.api, collect(false));
      }
      reloadWith(text("saved"));
    } catch (error) {
      showError(error);
    }
  });

  editor.addEventListener("reset", () => {
    clearErrors();
    input("id").value = "";
    for (const name of FIXED) input(name).disabled = false;
    const title = editor.querySelector("h2");
    title.textContent = title.dataset.new;
    setTimeout(shapeForKind);
  });

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-fs-action]");
    const row = button && button.closest("tr[data-field]");
    if (!row) return;
    const item = JSON.parse(row.dataset.field);
    const url = editor.dataset.api + "/" + encodeURIComponent(item.id);
    const action = button.dataset.fsAction;
    if (action === "edit") {
      editor.reset();
      setTimeout(() => {
        fill(item);
        editor.scrollIntoView({ block: "start" });
        input("label_en").focus();
      });
      return;
    }
    if (action === "delete" && !window.confirm(text("confirm_delete", { name: item.name }))) return;
    try {
      if (action === "delete") {
        await api("DELETE", url);
        reloadWith(text("deleted"));
      } else if (action === "toggle") {
        await api("PATCH", url, { active: !item.active });
        reloadWith(text("saved"));
      }
    } catch (error) {
      showError(error);
    }
  });
})();
