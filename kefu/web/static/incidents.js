// Kefu console: link a conversation to an incident, or unlink it, through the JSON API (session cookie
// plus the CSRF header, like console.js). Works on the card rendered from console/_incidents.html.
(function () {
  "use strict";

  const card = document.getElementById("incidents-card");
  if (!card) return;
  const base = card.dataset.api;
  const linked = card.querySelector('[data-role="linked"]');
  const form = card.querySelector('[data-role="link-form"]');

  const call = window.KefuApi.call;

  function report(error) {
    const message = (card.dataset.errorLabel || "{reason}").replace("{reason}", error.message);
    let box = card.querySelector('[data-role="error"]');
    if (!box) {
      box = document.createElement("p");
      box.className = "warning";
      box.setAttribute("role", "alert");
      box.dataset.role = "error";
      card.appendChild(box);
    }
    box.textContent = message;
  }

  function refreshTimeline() {
    // The link is recorded as a timeline event; console.js swaps the timeline on this htmx trigger.
    if (window.htmx) window.htmx.trigger(document.body, "kefu:timeline");
  }

  function addLinked(id, title) {
    const empty = linked.querySelector('[data-role="empty"]');
    if (empty) empty.remove();
    const item = document.createElement("li");
    item.dataset.incident = id;
    const label = document.createElement("span");
    label.textContent = title;
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.incidentUnlink = id;
    button.textContent = card.dataset.unlinkLabel || "Unlink";
    item.append(label, " ", button);
    linked.appendChild(item);
  }

  card.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-incident-unlink]");
    if (!button) return;
    const id = button.dataset.incidentUnlink;
    button.disabled = true;
    try {
      await call("DELETE", base + "/" + encodeURIComponent(id));
      const item = button.closest("li");
      const title = item.querySelector("a, span") ? item.querySelector("a, span").textContent : id;
      item.remove();
      if (form) {
        const option = document.createElement("option");
        option.value = id;
        option.textContent = title;
        form.elements.incident.appendChild(option);
      }
      refreshTimeline();
    } catch (error) {
      button.disabled = false;
      report(error);
    }
  });

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const select = form.elements.incident;
      const option = select.selectedOptions[0];
      if (!option || !option.value) return;
      try {
        await call("POST", base + "/" + encodeURIComponent(option.value));
        addLinked(option.value, option.textContent);
        option.remove();
        select.value = "";
        refreshTimeline();
      } catch (error) {
        report(error);
      }
    });
  }
})();
