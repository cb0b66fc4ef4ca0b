// Console settings: save a locale's synonym groups through the search admin API.
(function () {
  "use strict";

  const csrf = document.querySelector('meta[name="kefu-csrf"]').content;

  function groupsOf(text) {
    return text
      .split("\n")
      .map((line) => line.split(/[,，、]/).map((term) => term.trim()).filter(Boolean))
      .filter((group) => group.length > 0);
  }

  for (const form of document.querySelectorAll(".synonyms-form")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector('[data-role="error"]');
      error.hidden = true;
      const body = { locale: form.dataset.locale, groups: groupsOf(form.elements.groups.value) };
      const response = await fetch("/api/v1/search/synonyms", {
        method: "PUT",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify(body),
      });
      if (response.ok) {
        location.reload();
        return;
      }
      const data = await response.json().catch(() => null);
      error.textContent = (data && data.error && data.error.message) || response.statusText;
      error.hidden = false;
    });
  }
})();
