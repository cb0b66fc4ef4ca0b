// Console settings: outbound webhooks through /api/v1/webhooks (admins). The page only reads; a new
// or rotated signing secret is shown once, in the page, before anything reloads.
(function () {
  "use strict";

  const list = document.querySelector(".webhooks[data-api]");
  const form = document.getElementById("webhook-form");
  if (!list) return;
  const api = list.dataset.api;
  const { call, show } = window.KefuApi;
  const text = window.KefuApi.texts(list);
  const describe = (error) => window.KefuApi.describe(error, text);
  const listError = list.querySelector('[data-role="webhooks-error"]');
  const listStatus = list.querySelector('[data-role="webhooks-status"]');
  const secretBox = list.querySelector('[data-role="webhooks-secret"]');

  function showSecret(secret) {
    show(secretBox, text("secret", { secret }));
    secretBox.scrollIntoView({ block: "nearest" });
  }

  list.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    const hook = event.target.closest("article[data-webhook-id]");
    if (!button || !hook) return;
    const url = api + "/" + encodeURIComponent(hook.dataset.webhookId);
    show(listError, "");
    show(listStatus, "");
    try {
      if (button.dataset.webhookSave) {
        await call("PATCH", url, { is_active: hook.querySelector('[name="is_active"]').checked });
        location.reload();
      } else if (button.dataset.webhookPing) {
        await call("POST", url + "/ping");
        show(listStatus, text("pinged"));
      } else if (button.dataset.webhookRotate) {
        if (!window.confirm(text("confirm_rotate", { url: hook.dataset.url }))) return;
        const rotated = await call("POST", url + "/rotate-secret");
        showSecret(rotated.secret);
      } else if (button.dataset.webhookDelete) {
        if (!window.confirm(text("confirm_delete", { url: hook.dataset.url }))) return;
        await call("DELETE", url);
        location.reload();
      } else if (button.dataset.webhookRedeliver) {
        await call("POST", url + "/deliveries/" + encodeURIComponent(button.dataset.webhookRedeliver) + "/redeliver");
        show(listStatus, text("redelivered"));
      }
    } catch (error) {
      show(listError, describe(error));
    }
  });

  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const general = form.querySelector(".form-error");
    show(general, "");
    const events = Array.from(form.querySelectorAll('[name="events"]:checked')).map((box) => box.value);
    try {
      const created = await call("POST", form.dataset.api, {
        url: form.elements.namedItem("url").value.trim(),
        description: form.elements.namedItem("description").value.trim(),
        events,
        include_internal: form.elements.namedItem("include_internal").checked,
      });
      form.reset();
      showSecret(created.secret);
    } catch (error) {
      show(general, describe(error));
    }
  });
})();
