// The chat's trust cards, driven by chat.js's frames (window.KefuChat): enter the identity code
// support emailed, freeze the account once verified, and show or set the anti-phishing code that
// proves this window is really ours. No inline code (CSP).
(function () {
  "use strict";

  const chat = window.KefuChat;
  const stringsNode = document.getElementById("kefu-chat-strings");
  if (!chat || !stringsNode) return;
  const T = JSON.parse(stringsNode.textContent);
  const $ = (id) => document.getElementById(id);
  const ui = {
    identity: $("chat-identity"),
    identityText: $("chat-identity-text"),
    identityCode: $("chat-identity-code"),
    identityError: $("chat-identity-error"),
    freeze: $("chat-freeze"),
    freezeButton: $("chat-freeze-button"),
    ap: $("chat-ap"),
    apCode: $("chat-ap-code"),
    apEdit: $("chat-ap-edit"),
    apSet: $("chat-ap-set"),
    apForm: $("chat-ap-form"),
    apInput: $("chat-ap-input"),
    apError: $("chat-ap-error"),
  };
  let live = false;
  let identified = false;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  }

  function showError(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  function askForCode(pending) {
    const expires = Date.parse(pending && pending.expires_at);
    if (!pending || Number.isNaN(expires) || expires < Date.now()) return;
    ui.identityText.textContent = fill(T.identity_prompt, { destination: pending.destination || "" });
    showError(ui.identityError, null);
    ui.identity.hidden = false;
    ui.freeze.hidden = true;
  }

  function verified() {
    ui.identity.hidden = true;
    ui.freeze.hidden = false;
  }

  function showCode(code) {
    ui.ap.hidden = !code;
    ui.apCode.textContent = code || "";
    ui.apEdit.hidden = !code || !identified;
    ui.apSet.hidden = Boolean(code) || !identified;
  }

  chat.on("welcome", (frame) => {
    live = false;
    const customer = frame.customer || {};
    identified = Boolean(customer.identified);
    showCode(typeof customer.anti_phishing_code === "string" ? customer.anti_phishing_code : null);
    const identity = frame.identity || {};
    ui.identity.hidden = true;
    ui.freeze.hidden = true;
    if (identity.verified) verified();
    else askForCode(identity.pending);
  });
  chat.on("caught_up", () => {
    live = true;
  });
  chat.on("message", (frame) => {
    // Replayed history is already summed up by the welcome; only a code sent now opens the card.
    const message = frame.message || {};
    if (live && message.identity_challenge) askForCode(message.identity_challenge);
  });
  chat.on("identity", () => {
    verified();
    chat.note(T.identity_verified);
  });
  chat.on("account_frozen", () => {
    ui.freeze.hidden = true;
    chat.note(T.account_frozen);
  });
  chat.on("anti_phishing_code", (frame) => {
    ui.apForm.hidden = true;
    showCode(typeof frame.code === "string" ? frame.code : null);
    chat.note(T.anti_phishing_saved);
  });
  chat.on("error", (frame) => {
    if (frame.code === "wrong_code") {
      showError(ui.identityError, fill(T.wrong_code, { left: Number(frame.attempts_left) || 0 }));
      ui.identityCode.select();
    } else if (frame.code === "no_code") {
      ui.identity.hidden = true;
    } else if (frame.code === "invalid" && !ui.apForm.hidden) {
      showError(ui.apError, T.anti_phishing_invalid);
    }
  });

  ui.identity.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = ui.identityCode.value.trim();
    if (code) chat.send({ type: "verify_identity", code });
  });
  ui.freezeButton.addEventListener("click", () => {
    if (window.confirm(T.freeze_confirm)) chat.send({ type: "freeze_account" });
  });
  for (const button of [ui.apEdit, ui.apSet]) {
    button.addEventListener("click", () => {
      ui.apForm.hidden = false;
      showError(ui.apError, null);
      ui.apInput.focus();
    });
  }
  ui.apForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = ui.apInput.value.trim();
    if (code.length < 4 || code.length > 20) {
      showError(ui.apError, T.anti_phishing_invalid);
      return;
    }
    chat.send({ type: "anti_phishing_code", code });
  });
})();
