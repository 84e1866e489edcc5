// Logging an incident: pick the caller from the lookup results, and show the priority
// that impact x urgency give (the matrix comes from the page as JSON, never inline script).
(function () {
  "use strict";

  var picker = document.querySelector("[data-caller-lookup]");

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  var matrix = readJson("priority-matrix");
  var labels = readJson("priority-labels");

  function updatePriority() {
    var preview = document.getElementById("priority-preview");
    var impact = document.getElementById("id_impact");
    var urgency = document.getElementById("id_urgency");
    if (!preview || !impact || !urgency) {
      return;
    }
    var priority = matrix[impact.value + "-" + urgency.value];
    preview.className = "badge inc-prio" + (priority ? " inc-prio-" + priority : "");
    preview.textContent = priority ? labels[String(priority)] || "P" + priority : "—";
  }

  document.body.addEventListener("change", function (event) {
    if (event.target.id === "id_impact" || event.target.id === "id_urgency") {
      updatePriority();
    }
  });

  document.body.addEventListener("click", function (event) {
    var option = event.target.closest("[data-caller-id]");
    if (!option || !picker) {
      return;
    }
    var hidden = picker.querySelector("input[type=hidden]");
    var search = picker.querySelector("input[type=search]");
    var card = document.getElementById("caller-card");
    hidden.value = option.dataset.callerId;
    search.value = option.dataset.callerName;
    search.classList.remove("is-invalid");
    search.classList.add("is-valid");
    card.querySelector("[data-field=name]").textContent = option.dataset.callerName;
    card.querySelector("[data-field=org]").textContent = option.dataset.callerOrg;
    card.querySelector("[data-field=detail]").textContent = option.dataset.callerDetail;
    card.hidden = false;
    document.getElementById("caller-results").replaceChildren();
    var title = document.getElementById("id_title");
    if (title) {
      title.focus();
    }
  });

  // Typing again means the previous choice no longer holds.
  document.body.addEventListener("input", function (event) {
    if (!picker || event.target.id !== "caller-search") {
      return;
    }
    picker.querySelector("input[type=hidden]").value = "";
    event.target.classList.remove("is-valid");
    document.getElementById("caller-card").hidden = true;
  });

  updatePriority();
})();
