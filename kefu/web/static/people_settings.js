// Console settings for people: teams (/api/v1/teams) and agents and roles (/api/v1/agents). The pages
// only read; every change goes to the JSON API with the session cookie and the CSRF header, and the
// page reloads to show what the server stored. Refusals (409: the last administrator, a team still in
// use) are shown as the API words them.
(function () {
  "use strict";

  const root = document.querySelector(".people-settings");
  if (!root) return;
  const { call, show } = window.KefuApi;
  const text = window.KefuApi.texts(root);
  const describe = (error) => window.KefuApi.describe(error, text);
  const pageError = root.querySelector('[data-role="people-error"]');

  // A row's (or card's) own status line, else the page's error box.
  function report(holder, error) {
    const status = holder ? holder.querySelector(".row-status") : null;
    if (status) {
      status.textContent = describe(error);
      status.className = "row-status error";
      status.hidden = false;
    } else {
      show(pageError, describe(error));
    }
  }

  function checkedTeams(container) {
    return [...container.querySelectorAll('input[name="team_ids"]:checked')].map((box) => box.value);
  }

  function sameSet(a, b) {
    return a.length === b.length && a.every((item) => b.includes(item));
  }

  // --- teams ------------------------------------------------------------------------------------------

  async function teamAction(button, card) {
    const item = JSON.parse(card.dataset.item);
    const url = "/api/v1/teams/" + encodeURIComponent(item.id);
    const action = button.dataset.people;
    if (action === "save-team") {
      const field = (name) => card.querySelector('[name="' + name + '"]');
      const body = {};
      const name = field("name").value.trim();
      const slug = field("slug").value.trim();
      if (name !== item.name) body.name = name;
      if (slug !== item.slug) body.slug = slug;
      if (field("is_private").checked !== item.is_private) body.is_private = field("is_private").checked;
      await call("PATCH", url, body);
    } else if (action === "delete-team") {
      if (!window.confirm(text("confirm_delete", { name: item.name }))) return;
      await call("DELETE", url);
    } else if (action === "add-member") {
      const select = card.querySelector('select[name="agent_id"]');
      if (!select.value) return;
      await call("POST", url + "/members", { agent_id: select.value });
    } else if (action === "remove-member") {
      const member = button.closest("[data-agent-id]");
      if (!window.confirm(text("confirm_remove", { agent: member.dataset.agent, name: item.name }))) return;
      await call("DELETE", url + "/members/" + encodeURIComponent(member.dataset.agentId));
    } else {
      return;
    }
    location.reload();
  }

  // --- agents -----------------------------------------------------------------------------------------

  async function saveAgent(row, item) {
    const url = "/api/v1/agents/" + encodeURIComponent(item.id);
    const profile = {};
    const name = row.querySelector('[name="name"]').value.trim();
    const email = row.querySelector('[name="email"]').value.trim();
    if (name !== item.name) profile.name = name;
    if (email !== item.email) profile.email = email;
    if (Object.keys(profile).length) await call("PATCH", url, profile);
    const role = row.querySelector('[name="role"]');
    if (!role.disabled && role.value !== item.role) await call("PUT", url + "/role", { role: role.value });
    const teams = checkedTeams(row);
    if (!sameSet(teams, item.team_ids)) await call("PUT", url + "/teams", { team_ids: teams });
  }

  async function agentAction(button, row) {
    const item = JSON.parse(row.dataset.item);
    const url = "/api/v1/agents/" + encodeURIComponent(item.id);
    const action = button.dataset.people;
    if (action === "save-agent") {
      await saveAgent(row, item);
    } else if (action === "deactivate") {
      if (!window.confirm(text("confirm_deactivate", { name: item.name }))) return;
      await call("POST", url + "/deactivate");
    } else if (action === "reactivate") {
      await call("POST", url + "/reactivate");
    } else if (action === "reset-2fa") {
      if (!window.confirm(text("confirm_reset", { name: item.name }))) return;
      await call("POST", url + "/second-factor/reset");
    } else {
      return;
    }
    location.reload();
  }

  root.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-people]");
    if (!button) return;
    const holder = button.closest("[data-item]");
    if (!holder) return;
    show(pageError, "");
    button.disabled = true;
    try {
      if (holder.classList.contains("team")) await teamAction(button, holder);
      else await agentAction(button, holder);
    } catch (error) {
      report(holder, error);
    } finally {
      button.disabled = false;
    }
  });

  // --- the create forms -------------------------------------------------------------------------------

  function formErrors(form, error) {
    const fields = error.fields || {};
    const others = [];
    for (const [name, message] of Object.entries(fields)) {
      const slot = form.querySelector('.field-error[data-field="' + name + '"]');
      if (slot) show(slot, message);
      else others.push(name + ": " + message);
    }
    show(form.querySelector(".form-error"), text("failed", { reason: [error.message, ...others].join(" · ") }));
  }

  function clear(form) {
    form.querySelectorAll(".field-error, .form-error").forEach((slot) => show(slot, ""));
  }

  const teamForm = document.getElementById("team-form");
  if (teamForm) {
    teamForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clear(teamForm);
      const field = (name) => teamForm.elements.namedItem(name);
      const body = { name: field("name").value.trim(), is_private: field("is_private").checked };
      const slug = field("slug").value.trim();
      if (slug) body.slug = slug;
      try {
        await call("POST", teamForm.dataset.api, body);
        location.reload();
      } catch (error) {
        formErrors(teamForm, error);
      }
    });
  }

  const agentForm = document.getElementById("agent-form");
  if (agentForm) {
    agentForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clear(agentForm);
      const field = (name) => agentForm.elements.namedItem(name);
      let created = null;
      try {
        created = await call("POST", agentForm.dataset.api, {
          email: field("email").value.trim(),
          name: field("name").value.trim(),
          role: field("role").value,
          password: field("password").value,
        });
        const teams = checkedTeams(agentForm);
        if (teams.length) {
          await call("PUT", agentForm.dataset.api + "/" + encodeURIComponent(created.id) + "/teams", {
            team_ids: teams,
          });
        }
        field("password").value = "";
        location.reload();
      } catch (error) {
        // Created but the teams were refused: the agent exists; show the reason on the reloaded page.
        if (created) show(pageError, describe(error));
        else formErrors(agentForm, error);
      }
    });
  }
})();
