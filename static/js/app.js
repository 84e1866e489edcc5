// Behaviour shared by every page. Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";

  var messages = document.getElementById("js-messages");

  function showError(text) {
    var template = document.getElementById("toast-template");
    var container = document.getElementById("toasts");
    if (!template || !container || !window.bootstrap) {
      return;
    }
    var toast = template.content.firstElementChild.cloneNode(true);
    toast.querySelector(".toast-body").textContent = text;
    container.appendChild(toast);
    toast.addEventListener("hidden.bs.toast", function () {
      toast.remove();
    });
    new window.bootstrap.Toast(toast).show();
  }

  // htmx swaps only 2xx answers; tell the user when anything else comes back.
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : "";
    showError(messages.dataset.requestFailed + (status ? " (" + status + ")" : ""));
  });

  document.body.addEventListener("htmx:sendError", function () {
    showError(messages.dataset.networkError);
  });
})();
