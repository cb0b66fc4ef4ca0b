// Kefu help center: keyboard access to the instant suggestions and the "was this helpful?" votes.
// No inline code anywhere (CSP); htmx fetches the suggestions, this file only adds behaviour.
(function () {
  "use strict";

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return "";
  }

  // --- suggestions: down arrow from the box into the list, arrows inside it, Escape back out ---
  const box = document.getElementById("hc-q");
  const list = document.getElementById("hc-suggestions");
  if (box && list) {
    const links = () => Array.from(list.querySelectorAll("a"));
    const close = () => {
      list.replaceChildren();
      box.setAttribute("aria-expanded", "false");
    };
    document.body.addEventListener("htmx:afterSwap", (event) => {
      if (event.detail.target === list) box.setAttribute("aria-expanded", links().length ? "true" : "false");
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" && links().length) {
        event.preventDefault();
        links()[0].focus();
      } else if (event.key === "Escape") {
        close();
      }
    });
    list.addEventListener("keydown", (event) => {
      const items = links();
      const index = items.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && index < items.length - 1) {
        event.preventDefault();
        items[index + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (index > 0 ? items[index - 1] : box).focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
        box.focus();
      }
    });
    list.addEventListener("focusin", (event) => {
      for (const item of list.querySelectorAll("[role=option]")) {
        item.setAttribute("aria-selected", item.contains(event.target) ? "true" : "false");
      }
    });
  }

  // --- votes: post to the JSON API, then show the thanks without reloading ---
  const vote = document.getElementById("hc-vote");
  if (vote) {
    const status = vote.querySelector(".hc-vote-status");
    const csrfName = (document.querySelector('meta[name="kefu-csrf-cookie"]') || {}).content || "";
    vote.addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-helpful]");
      if (!button) return;
      const helpful = button.dataset.helpful === "true";
      const buttons = vote.querySelectorAll("button[data-helpful]");
      buttons.forEach((b) => (b.disabled = true));
      status.textContent = "";
      // Anonymous visitors need no token; a signed-in agent's session cookie requires the header.
      const headers = { "content-type": "application/json" };
      const token = csrfName ? cookie(csrfName) : "";
      if (token) headers["x-csrf-token"] = token;
      try {
        const response = await fetch(vote.dataset.url, {
          method: "POST",
          headers,
          credentials: "same-origin",
          body: JSON.stringify({ helpful }),
        });
        if (!response.ok) throw new Error(String(response.status));
        vote.querySelector(".hc-vote-buttons").hidden = true;
        const thanks = vote.querySelector('.hc-vote-thanks[data-for="' + String(helpful) + '"]');
        thanks.hidden = false;
        vote.dataset.voted = String(helpful);
      } catch (error) {
        status.textContent = vote.dataset.failed;
        buttons.forEach((b) => (b.disabled = false));
      }
    });
  }
})();
