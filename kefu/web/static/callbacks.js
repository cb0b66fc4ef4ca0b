// The console's call-back queue: each row's outcome form posts to the API and the page reloads.
(function () {
  "use strict";

  for (const form of document.querySelectorAll("form.callback-outcome")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = form.querySelector(".form-status");
      const button = form.querySelector("button");
      const data = new FormData(form);
      button.disabled = true;
      try {
        await window.KefuApi.call("POST", "/api/v1/callbacks/" + form.dataset.callback + "/outcome", {
          outcome: data.get("outcome"),
          note: String(data.get("note") || ""),
        });
        window.location.reload();
      } catch (error) {
        status.textContent = error.message;
        button.disabled = false;
      }
    });
  }
})();
