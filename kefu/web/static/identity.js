// The console's identity card: send the customer a one-time code, and once the conversation is
// verified, freeze or unlock their exchange account. The page reloads to show the new state.
(function () {
  "use strict";

  const card = document.getElementById("identity");
  if (!card) return;
  const base = "/api/v1/conversations/" + card.dataset.conversation;
  const status = card.querySelector(".form-status");

  async function run(button) {
    const action = button.dataset.action;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    button.disabled = true;
    status.textContent = "";
    try {
      if (action === "send-code") {
        await window.KefuApi.call("POST", base + "/identity/code");
      } else {
        await window.KefuApi.call("POST", base + "/account-actions", { action });
      }
      window.location.reload();
    } catch (error) {
      status.textContent = error.message;
      button.disabled = false;
    }
  }

  card.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) run(button);
  });
})();
