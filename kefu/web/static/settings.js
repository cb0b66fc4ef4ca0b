// Kefu console settings: editors for macros, triggers, auto-close, SLA policies, business hours and
// routing. Pages only read; every change goes to the JSON API with the session cookie and the CSRF
// header, and the page reloads to show what the server stored.
(function () {
  "use strict";

  const root = document.querySelector(".settings");
  if (!root) return;
  const strings = JSON.parse(root.dataset.strings || "{}");
  const NOTICE_KEY = "kefu.settings.notice";

  function text(key, values) {
    let result = strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) result = result.replace("{" + name + "}", value);
    return result;
  }

  const { ApiError, call: api } = window.KefuApi;

  // --- notices and errors ---------------------------------------------------------------------------

  function notice(message, kind) {
    const main = document.getElementById("main");
    let box = main.querySelector(":scope > .notice");
    if (!box) {
      box = document.createElement("p");
      box.setAttribute("role", "status");
      main.prepend(box);
    }
    box.className = "notice " + (kind || "info");
    box.textContent = message;
  }

  const stored = sessionStorage.getItem(NOTICE_KEY);
  if (stored) {
    sessionStorage.removeItem(NOTICE_KEY);
    notice(stored);
  }

  function reloadWith(message) {
    sessionStorage.setItem(NOTICE_KEY, message);
    location.reload();
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error, .form-error").forEach((p) => {
      p.textContent = "";
      p.hidden = true;
    });
  }

  // The API names fields by their JSON path ("bodies.en", "conditions.0.value"); show each message
  // next to the closest input that has a slot for it, the rest above the buttons.
  function showError(form, error, renames) {
    const general = form.querySelector(".form-error");
    const lines = [];
    for (let [field, message] of Object.entries(error.fields || {})) {
      for (const [from, to] of Object.entries(renames || {})) {
        if (field === from || field.startsWith(from + ".")) field = to + field.slice(from.length);
      }
      let slot = null;
      for (const candidate of form.querySelectorAll(".field-error[data-field]")) {
        const name = candidate.dataset.field;
        if (field === name || field.startsWith(name + ".")) slot = candidate;
      }
      if (slot) {
        slot.textContent = message;
        slot.hidden = false;
      } else {
        lines.push(field + ": " + message);
      }
    }
    if (general) {
      general.textContent = text("failed", { reason: [error.message, ...lines].join(" · ") });
      general.hidden = false;
    } else {
      notice(text("failed", { reason: error.message }), "error");
    }
  }

  function value(form, name) {
    const input = form.elements.namedItem(name);
    return input ? input.value.trim() : "";
  }

  function numberOrNull(raw) {
    return raw === "" ? null : Number(raw);
  }

  // --- the editor of each page: a form that creates (POST) or replaces (PUT) one item --------------------

  const editor = document.querySelector("form.editor");
  // Not `editor.id`: a form's named inputs shadow its properties, and the editor has an input "id".
  const editorKind = editor ? editor.getAttribute("id") : null;
  const kinds = {};

  function setEditing(form, item) {
    const title = form.querySelector("h2");
    form.elements.namedItem("id").value = item ? item.id : "";
    title.textContent = item ? title.dataset.edit : title.dataset.new;
    form.editing = item || null;
  }

  if (editor) {
    editor.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(editor);
      const kind = kinds[editorKind];
      const id = value(editor, "id");
      try {
        const payload = kind.collect(editor);
        await api(id ? "PUT" : "POST", id ? editor.dataset.api + "/" + id : editor.dataset.api, payload);
        reloadWith(text("saved"));
      } catch (error) {
        showError(editor, error, editor.renames);
      }
    });
    editor.addEventListener("reset", () => {
      clearErrors(editor);
      setEditing(editor, null);
      // Form reset restores the inputs after this event: let it, then tidy what depends on them.
      setTimeout(() => kinds[editorKind].afterReset && kinds[editorKind].afterReset(editor));
    });
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-action]");
    if (!button || !editor) return;
    const row = button.closest("[data-item]");
    if (button.dataset.action === "edit" && row) {
      const item = JSON.parse(row.dataset.item);
      editor.reset();
      clearErrors(editor);
      setTimeout(() => {
        kinds[editorKind].fill(editor, item);
        setEditing(editor, item);
        editor.scrollIntoView({ block: "start" });
        editor.elements.namedItem("name").focus();
      });
    } else if (button.dataset.action === "delete" && row) {
      if (!window.confirm(text("confirm_delete", { name: row.dataset.name }))) return;
      try {
        await api("DELETE", editor.dataset.api + "/" + row.dataset.id);
        reloadWith(text("deleted"));
      } catch (error) {
        notice(text("failed", { reason: error.message }), "error");
      }
    }
  });

  // --- macros -----------------------------------------------------------------------------------------

  let lastBody = null;
  kinds["macro-form"] = {
    collect(form) {
      const bodies = {};
      for (const area of form.querySelectorAll("textarea[data-locale]")) {
        if (area.value.trim()) bodies[area.dataset.locale] = area.value;
      }
      if (!Object.keys(bodies).length) throw new ApiError(text("need_locale"));
      const shared = form.elements.namedItem("shared");
      return {
        name: value(form, "name"),
        bodies,
        // The editor has no fields for a macro's actions: keep the ones it had.
        actions: form.editing ? form.editing.actions : [],
        shared: shared ? shared.checked : Boolean(form.editing && form.editing.shared),
      };
    },
    fill(form, item) {
      form.elements.namedItem("name").value = item.name;
      for (const area of form.querySelectorAll("textarea[data-locale]")) {
        area.value = item.bodies[area.dataset.locale] || "";
      }
      const shared = form.elements.namedItem("shared");
      if (shared) shared.checked = item.shared;
    },
  };
  document.querySelectorAll("#macro-form textarea").forEach((area) => {
    area.addEventListener("focus", () => (lastBody = area));
  });
  document.querySelectorAll("button.variable").forEach((button) => {
    button.addEventListener("click", () => {
      const area = lastBody || document.querySelector("#macro-form textarea");
      const at = area.selectionStart || 0;
      area.value = area.value.slice(0, at) + button.dataset.variable + area.value.slice(area.selectionEnd || at);
      area.focus();
      area.selectionStart = area.selectionEnd = at + button.dataset.variable.length;
    });
  });

  // --- SLA policies -----------------------------------------------------------------------------------

  const SLA_GROUPS = ["priorities", "categories", "channels"];
  const SLA_TARGETS = ["first_response_minutes", "next_response_minutes", "resolution_minutes"];
  kinds["sla-form"] = {
    collect(form) {
      const payload = {
        name: value(form, "name"),
        position: numberOrNull(value(form, "position")) || 0,
        is_active: form.elements.namedItem("is_active").checked,
      };
      for (const group of SLA_GROUPS) {
        payload[group] = [...form.querySelectorAll('input[name="' + group + '"]:checked')].map((box) => box.value);
      }
      for (const target of SLA_TARGETS) payload[target] = numberOrNull(value(form, target));
      return payload;
    },
    fill(form, item) {
      form.elements.namedItem("name").value = item.name;
      form.elements.namedItem("position").value = item.position;
      form.elements.namedItem("is_active").checked = item.is_active;
      for (const group of SLA_GROUPS) {
        form.querySelectorAll('input[name="' + group + '"]').forEach((box) => {
          box.checked = item[group].includes(box.value);
        });
      }
      for (const target of SLA_TARGETS) form.elements.namedItem(target).value = item[target] || "";
    },
  };

  // --- business hours ---------------------------------------------------------------------------------

  function interval(start, end) {
    return [start.trim(), end.trim()];
  }

  kinds["schedule-form"] = {
    collect(form) {
      const weekly = {};
      for (const row of form.querySelectorAll("tr.day")) {
        const day = row.dataset.day;
        const get = (part) => value(form, part + "-" + day);
        const hours = [];
        if (form.elements.namedItem("open-" + day).checked) {
          hours.push(interval(get("start1"), get("end1")));
          if (get("start2") || get("end2")) hours.push(interval(get("start2"), get("end2")));
          hours.push(...JSON.parse(row.dataset.extra || "[]"));
        }
        weekly[day] = hours;
      }
      const scope = form.elements.namedItem("scope").value;
      return {
        name: value(form, "name"),
        timezone: value(form, "timezone"),
        weekly_hours: weekly,
        holiday_country: value(form, "holiday_country").toUpperCase() || null,
        holiday_subdivision: value(form, "holiday_subdivision").toUpperCase() || null,
        team_id: scope && scope !== "default" ? scope : null,
        is_default: scope === "default",
      };
    },
    fill(form, item) {
      for (const name of ["name", "timezone"]) form.elements.namedItem(name).value = item[name];
      form.elements.namedItem("holiday_country").value = item.holiday_country || "";
      form.elements.namedItem("holiday_subdivision").value = item.holiday_subdivision || "";
      form.elements.namedItem("scope").value = item.is_default ? "default" : item.team_id || "";
      for (const row of form.querySelectorAll("tr.day")) {
        const day = row.dataset.day;
        const hours = item.weekly_hours[day] || [];
        form.elements.namedItem("open-" + day).checked = hours.length > 0;
        const [first, second] = [hours[0] || ["", ""], hours[1] || ["", ""]];
        form.elements.namedItem("start1-" + day).value = first[0];
        form.elements.namedItem("end1-" + day).value = first[1];
        form.elements.namedItem("start2-" + day).value = second[0];
        form.elements.namedItem("end2-" + day).value = second[1];
        // More than two intervals a day (set through the API) are kept as they are.
        row.dataset.extra = JSON.stringify(hours.slice(2));
      }
    },
    afterReset(form) {
      form.querySelectorAll("tr.day").forEach((row) => delete row.dataset.extra);
    },
  };

  document.querySelectorAll("form.exception-form").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const start = value(form, "start");
      const end = value(form, "end");
      const payload = {
        date: value(form, "date"),
        name: value(form, "name"),
        kind: value(form, "kind"),
        intervals: start || end ? [interval(start, end)] : [],
      };
      try {
        await api("POST", form.dataset.api, payload);
        reloadWith(text("saved"));
      } catch (error) {
        showError(form, error);
      }
    });
  });

  document.addEventListener("click", async (event) => {
    const button = event.target.closest('[data-action="delete-exception"]');
    if (!button) return;
    if (!window.confirm(text("confirm_delete", { name: button.closest("li").dataset.name }))) return;
    try {
      await api("DELETE", button.dataset.url);
      reloadWith(text("deleted"));
    } catch (error) {
      notice(text("failed", { reason: error.message }), "error");
    }
  });

  // --- routing: each row saves itself -----------------------------------------------------------------

  document.addEventListener("click", async (event) => {
    const button = event.target.closest('[data-action="save-row"]');
    if (!button) return;
    const row = button.closest("tr");
    const status = row.querySelector(".row-status");
    const field = (name) => row.querySelector('[name="' + name + '"]').value.trim();
    let payload;
    if (row.classList.contains("team-routing")) {
      payload = { mode: field("mode"), language_match: field("language_match") };
    } else {
      const capacity = field("capacity");
      payload = {
        capacity: capacity === "" ? null : Number(capacity),
        languages: field("languages").split(/[\s,，]+/).filter(Boolean),
      };
    }
    try {
      await api("PUT", row.dataset.url, payload);
      status.textContent = text("saved");
      status.className = "row-status";
    } catch (error) {
      const details = Object.values(error.fields || {});
      status.textContent = text("failed", { reason: [error.message, ...details].join(" · ") });
      status.className = "row-status error";
    }
    status.hidden = false;
  });

  // --- triggers ---------------------------------------------------------------------------------------

  const triggerForm = document.getElementById("trigger-form");
  const choices = triggerForm ? JSON.parse(triggerForm.dataset.choices) : null;

  function setOptions(select, options) {
    select.replaceChildren(
      ...options.map(([optionValue, label]) => {
        const option = document.createElement("option");
        option.value = optionValue;
        option.textContent = label;
        return option;
      }),
    );
  }

  // Show the inputs a row's type needs; refill the value list when the type changes.
  function shapeRow(row) {
    const isCondition = row.classList.contains("condition");
    const type = row.querySelector('[name="type"]').value;
    const choice = type ? (isCondition ? choices.conditions : choices.actions)[type] : null;
    const input = choice ? choice.input : null;
    const select = row.querySelector('[name="value-select"]');
    const textInput = row.querySelector('[name="value-text"]');
    if (row.dataset.type !== type) {
      row.dataset.type = type;
      setOptions(select, choice && input === "select" ? choice.options : []);
      textInput.value = "";
    }
    select.hidden = input !== "select";
    textInput.hidden = !input || input === "select";
    textInput.placeholder = input === "form" ? "=" : "";
    if (isCondition) {
      const negate = row.querySelector('[name="negate"]');
      negate.hidden = !choice;
      if (choice) {
        const words = choices.operators[choice.words];
        negate.options[0].textContent = words[0];
        negate.options[1].textContent = words[1];
      }
      row.querySelector('[name="field"]').hidden = input !== "form";
    }
  }

  function ensureRows(fieldset, count) {
    const rows = fieldset.querySelectorAll(".rule-row");
    for (let index = rows.length; index < count; index += 1) {
      const last = fieldset.querySelectorAll(".rule-row");
      const template = last[last.length - 1];
      const copy = template.cloneNode(true);
      copy.dataset.index = String(index);
      delete copy.dataset.type;
      const slot = template.nextElementSibling.cloneNode(false);
      slot.dataset.field = slot.dataset.field.replace(/\d+$/, String(index));
      fieldset.append(copy, slot);
      copy.querySelector('[name="type"]').addEventListener("change", () => shapeRow(copy));
      copy.querySelector('[name="type"]').value = "";
      shapeRow(copy);
    }
  }

  function collectConditions(form, renames) {
    const conditions = [];
    for (const row of form.querySelectorAll(".rule-row.condition")) {
      const type = row.querySelector('[name="type"]').value;
      if (!type) continue;
      renames["conditions." + conditions.length] = "conditions." + row.dataset.index;
      const choice = choices.conditions[type];
      const condition = { type };
      if (row.querySelector('[name="negate"]').value === "true") condition.negate = true;
      const picked = row.querySelector('[name="value-select"]').value;
      const typed = row.querySelector('[name="value-text"]').value.trim();
      if (type === "changed") condition.field = picked;
      else if (type === "team") condition.value = picked || null;
      else if (choice.input === "select") condition.value = picked;
      else if (choice.input === "form") {
        condition.field = row.querySelector('[name="field"]').value.trim();
        if (typed) condition.equals = typed;
      } else condition.value = typed;
      conditions.push(condition);
    }
    return conditions;
  }

  function collectActions(form, renames) {
    const actions = [];
    for (const row of form.querySelectorAll(".rule-row.action")) {
      const type = row.querySelector('[name="type"]').value;
      if (!type) continue;
      renames["actions." + actions.length] = "actions." + row.dataset.index;
      const picked = row.querySelector('[name="value-select"]').value;
      const typed = row.querySelector('[name="value-text"]').value.trim();
      const action = { type };
      if (type === "set_team") action.team_id = picked;
      else if (type === "add_note") action.body = typed;
      else if (type === "add_tags" || type === "remove_tags") {
        action.tags = typed.split(/[\s,，]+/).filter(Boolean);
      } else action.value = picked;
      actions.push(action);
    }
    return actions;
  }

  function fillRow(row, rule) {
    row.querySelector('[name="type"]').value = rule.type;
    shapeRow(row);
    const select = row.querySelector('[name="value-select"]');
    const textInput = row.querySelector('[name="value-text"]');
    if (row.classList.contains("condition")) {
      row.querySelector('[name="negate"]').value = rule.negate ? "true" : "false";
      if (rule.type === "changed") select.value = rule.field;
      else if (rule.type === "form_field") {
        row.querySelector('[name="field"]').value = rule.field;
        textInput.value = rule.equals || "";
      } else if (select.hidden) textInput.value = rule.value;
      else select.value = rule.value || "";
    } else if (rule.type === "set_team") select.value = rule.team_id;
    else if (rule.type === "add_note") textInput.value = rule.body;
    else if (rule.tags) textInput.value = rule.tags.join(", ");
    else select.value = rule.value;
  }

  if (triggerForm) {
    triggerForm.querySelectorAll(".rule-row").forEach((row) => {
      row.querySelector('[name="type"]').addEventListener("change", () => shapeRow(row));
      shapeRow(row);
    });
    kinds["trigger-form"] = {
      collect(form) {
        const renames = {};
        const payload = {
          name: value(form, "name"),
          position: numberOrNull(value(form, "position")) || 0,
          is_active: form.elements.namedItem("is_active").checked,
          on: value(form, "on"),
          conditions: collectConditions(form, renames),
          actions: collectActions(form, renames),
        };
        form.renames = renames;
        return payload;
      },
      fill(form, item) {
        form.elements.namedItem("name").value = item.name;
        form.elements.namedItem("position").value = item.position;
        form.elements.namedItem("is_active").checked = item.is_active;
        form.elements.namedItem("on").value = item.on;
        ensureRows(form.querySelector("fieldset.conditions"), item.conditions.length);
        ensureRows(form.querySelector("fieldset.actions"), item.actions.length);
        const conditionRows = form.querySelectorAll(".rule-row.condition");
        item.conditions.forEach((rule, index) => fillRow(conditionRows[index], rule));
        const actionRows = form.querySelectorAll(".rule-row.action");
        item.actions.forEach((rule, index) => fillRow(actionRows[index], rule));
      },
      afterReset(form) {
        form.querySelectorAll(".rule-row").forEach(shapeRow);
      },
    };
  }

  document.addEventListener("change", async (event) => {
    const box = event.target.closest('input[data-action="toggle"]');
    if (!box) return;
    const item = JSON.parse(box.closest("[data-item]").dataset.item);
    const payload = {
      name: item.name,
      position: item.position,
      is_active: box.checked,
      on: item.on,
      conditions: item.conditions,
      actions: item.actions,
    };
    try {
      await api("PUT", "/api/v1/triggers/" + item.id, payload);
      reloadWith(text("saved"));
    } catch (error) {
      box.checked = !box.checked;
      notice(text("failed", { reason: error.message }), "error");
    }
  });

  const autoClose = document.getElementById("auto-close-form");
  if (autoClose) {
    autoClose.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(autoClose);
      const payload = {
        after_days: numberOrNull(value(autoClose, "after_days")),
        enabled: autoClose.elements.namedItem("enabled").checked,
      };
      try {
        await api("PUT", autoClose.dataset.api, payload);
        reloadWith(text("saved"));
      } catch (error) {
        showError(autoClose, error);
      }
    });
  }
})();
