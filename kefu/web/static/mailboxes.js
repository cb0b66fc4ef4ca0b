// Console settings: add, edit and remove support mailboxes through /api/v1/mailboxes (admins).
// The page only reads; after a change it reloads to show what the server stored (canonical address).
(function () {
  "use strict";

  const list = document.querySelector(".mailboxes[data-api]");
  const form = document.getElementById("mailbox-form");
  if (!list) return;
  const api = list.dataset.api;
  const { call, show } = window.KefuApi;
  const text = window.KefuApi.texts(list);
  const describe = (error) => window.KefuApi.describe(error, text);
  const listError = list.querySelector('[data-role="mailboxes-error"]');
  const listStatus = list.querySelector('[data-role="mailboxes-status"]');

  list.addEventListener("click", async (event) => {
    const save = event.target.closest("[data-mailbox-save]");
    const remove = event.target.closest("[data-mailbox-delete]");
    const row = event.target.closest("tr[data-mailbox-id]");
    if (!row || (!save && !remove)) return;
    const url = api + "/" + encodeURIComponent(row.dataset.mailboxId);
    show(listError, "");
    show(listStatus, "");
    try {
      if (save) {
        const body = {
          name: row.querySelector('[name="name"]').value.trim(),
          is_active: row.querySelector('[name="is_active"]').checked,
        };
        const team = row.querySelector('[name="team_id"]').value;
        if (team) body.team_id = team;
        await call("PATCH", url, body);
        location.reload();
        return;
      }
      if (!window.confirm(text("confirm_delete", { address: row.dataset.address }))) return;
      const result = await call("DELETE", url);
      if (result && result.outcome === "deactivated") {
        // Kept for the conversations that came in through it: say so before the page changes.
        show(listStatus, text("deactivated", { address: row.dataset.address }));
        row.classList.add("inactive");
        row.querySelector('[name="is_active"]').checked = false;
        return;
      }
      location.reload();
    } catch (error) {
      show(listError, describe(error));
    }
  });

  if (!form || !form.elements.namedItem("address")) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const general = form.querySelector(".form-error");
    const addressError = form.querySelector('.field-error[data-field="address"]');
    show(general, "");
    show(addressError, "");
    const field = (name) => form.elements.namedItem(name);
    try {
      await call("POST", form.dataset.api, {
        address: field("address").value.trim(),
        name: field("name").value.trim(),
        team_id: field("team_id").value,
        is_active: field("is_active").checked,
      });
      location.reload();
    } catch (error) {
      const fields = error.fields || {};
      if (fields.address) show(addressError, fields.address);
      const others = Object.entries(fields)
        .filter(([name]) => name !== "address")
        .map(([name, message]) => name + ": " + message);
      show(general, text("failed", { reason: [error.message, ...others].join(" · ") }));
    }
  });
})();
