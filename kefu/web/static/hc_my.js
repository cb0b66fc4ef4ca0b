// Kefu help center, "My requests": the two sign-in steps (email, then the mailed code), replies with
// files, "my problem is solved" and sign-out, all through the JSON API with the customer's cookie and
// the double-submit CSRF header. Times are shown in the reader's own time zone. No inline code (CSP).
(function () {
  "use strict";

  const csrfName = (document.querySelector('meta[name="kefu-csrf-cookie"]') || {}).content || "";

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return "";
  }

  async function call(method, url, body) {
    const headers = {};
    const token = csrfName ? cookie(csrfName) : "";
    if (token) headers["x-csrf-token"] = token;
    const init = { method, headers, credentials: "same-origin" };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    return { response, data };
  }

  function post(url, body) {
    return call("POST", url, body);
  }

  function show(box, text) {
    box.textContent = text;
    box.hidden = !text;
  }

  // --- times: "2026-11-24 09:30 UTC" becomes the reader's local time ---
  for (const time of document.querySelectorAll(".hc-my time[datetime]")) {
    const when = new Date(time.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      time.textContent = when.toLocaleString(document.documentElement.lang || undefined, {
        dateStyle: "medium",
        timeStyle: "short",
      });
    }
  }

  // --- sign-in, step 1: ask for a code ---
  const emailForm = document.getElementById("hc-my-email-form");
  const codeForm = document.getElementById("hc-my-code-form");
  if (emailForm && codeForm) {
    const emailInput = document.getElementById("hc-my-email");
    const emailError = document.getElementById("hc-my-email-error");
    const codeInput = document.getElementById("hc-my-code");
    const codeError = document.getElementById("hc-my-code-error");
    let email = "";

    emailForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      show(emailError, "");
      const value = emailInput.value.trim();
      if (!value || !emailInput.checkValidity()) {
        show(emailError, emailForm.dataset.invalidMessage);
        emailInput.focus();
        return;
      }
      const button = emailForm.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const { response } = await post("/api/v1/customer-auth/code", {
          email: value,
          locale: emailForm.dataset.locale,
        });
        if (response.status === 202) {
          email = value;
          emailForm.hidden = true;
          codeForm.hidden = false;
          codeInput.focus();
        } else if (response.status === 429) {
          show(emailError, emailForm.dataset.busyMessage);
        } else if (response.status === 422) {
          show(emailError, emailForm.dataset.invalidMessage);
        } else {
          show(emailError, emailForm.dataset.failedMessage);
        }
      } catch (_error) {
        show(emailError, emailForm.dataset.failedMessage);
      } finally {
        button.disabled = false;
      }
    });

    // --- step 2: the code ---
    codeForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      show(codeError, "");
      const button = codeForm.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const { response } = await post("/api/v1/customer-auth/verify", {
          email,
          code: codeInput.value.trim(),
        });
        if (response.ok) {
          window.location.assign(emailForm.dataset.afterUrl);
          return;
        }
        show(codeError, codeForm.dataset.wrongMessage);
        codeInput.select();
      } catch (_error) {
        show(codeError, emailForm.dataset.failedMessage);
      } finally {
        button.disabled = false;
      }
    });

    document.getElementById("hc-my-restart").addEventListener("click", () => {
      codeForm.hidden = true;
      emailForm.hidden = false;
      codeInput.value = "";
      show(codeError, "");
      emailInput.focus();
    });
  }

  // --- a reply with files ---
  const reply = document.getElementById("hc-my-reply");
  if (reply) {
    const body = document.getElementById("hc-my-body");
    const files = document.getElementById("hc-my-files");
    const error = document.getElementById("hc-my-reply-error");
    const url = "/api/v1/conversations/" + encodeURIComponent(reply.dataset.reference) + "/messages";
    // One id per typed reply: a retried send (double click, flaky network) posts it once.
    const newClientId = () => {
      const bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      return "hc-my-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    };
    let clientId = newClientId();
    body.addEventListener("input", () => {
      clientId = newClientId();
    });

    reply.addEventListener("submit", async (event) => {
      event.preventDefault();
      show(error, "");
      if (!body.value.trim() && files.files.length === 0) {
        show(error, reply.dataset.emptyMessage);
        body.focus();
        return;
      }
      const data = new FormData();
      data.append("payload", JSON.stringify({ body: body.value, client_id: clientId }));
      for (const file of files.files) data.append("files", file, file.name);
      const button = reply.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const { response } = await post(url, data);
        if (response.ok) {
          window.location.reload();
          return;
        }
        const tooLarge = response.status === 413 || response.status === 415;
        show(error, tooLarge ? reply.dataset.tooLargeMessage : reply.dataset.failedMessage);
      } catch (_error) {
        show(error, reply.dataset.failedMessage);
      } finally {
        button.disabled = false;
      }
    });
  }

  // --- "my problem is solved" ---
  const solve = document.getElementById("hc-my-solve");
  if (solve) {
    solve.addEventListener("click", async () => {
      solve.disabled = true;
      const url = "/api/v1/conversations/" + encodeURIComponent(solve.dataset.reference) + "/solve";
      try {
        const { response } = await post(url);
        if (response.ok) {
          window.location.reload();
          return;
        }
      } catch (_error) {
        // fall through: the button comes back so the customer can try again
      }
      solve.disabled = false;
    });
  }

  // --- anti-phishing code: set, change or remove ---
  const apForm = document.getElementById("hc-my-ap-form");
  if (apForm) {
    const apError = document.getElementById("hc-my-ap-error");
    apForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const code = document.getElementById("hc-my-ap-input").value.trim();
      const { response } = await call("PUT", "/api/v1/customer/anti-phishing-code", { code });
      if (response.ok) {
        window.location.reload();
        return;
      }
      show(apError, apForm.dataset.failedMessage);
    });
    const remove = document.getElementById("hc-my-ap-remove");
    if (remove) {
      remove.addEventListener("click", async () => {
        const { response } = await call("DELETE", "/api/v1/customer/anti-phishing-code");
        if (response.ok) window.location.reload();
        else show(apError, apForm.dataset.failedMessage);
      });
    }
  }

  // --- identity check: enter the emailed code; once verified, freeze the account ---
  const identity = document.getElementById("hc-my-identity");
  if (identity) {
    const base = "/api/v1/conversations/" + encodeURIComponent(identity.dataset.reference);
    const codeForm2 = document.getElementById("hc-my-identity-form");
    if (codeForm2) {
      const error = document.getElementById("hc-my-identity-error");
      codeForm2.addEventListener("submit", async (event) => {
        event.preventDefault();
        const code = document.getElementById("hc-my-identity-code").value;
        const { response } = await post(base + "/identity/verify", { code });
        if (response.ok) {
          window.location.reload();
          return;
        }
        show(error, codeForm2.dataset.failedMessage);
      });
    }
    const freeze = document.getElementById("hc-my-freeze");
    if (freeze) {
      const status = document.getElementById("hc-my-freeze-status");
      freeze.addEventListener("click", async () => {
        if (!window.confirm(freeze.dataset.confirm)) return;
        freeze.disabled = true;
        const { response } = await post(base + "/account-actions", { action: "freeze" });
        status.textContent = response.ok ? freeze.dataset.doneMessage : freeze.dataset.failedMessage;
        freeze.disabled = response.ok;
      });
    }
  }

  // --- sign out ---
  const signOut = document.getElementById("hc-my-sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      signOut.disabled = true;
      try {
        await post("/api/v1/customer-auth/sign-out");
      } finally {
        window.location.assign(signOut.dataset.afterUrl);
      }
    });
  }
})();
