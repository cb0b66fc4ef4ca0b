// Console settings: save a locale's synonym groups through the search admin API.
(function () {
  "use strict";

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
      try {
        await window.KefuApi.call("PUT", "/api/v1/search/synonyms", body);
        location.reload();
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      }
    });
  }
})();
