// Logging an incident: show the caller picked from the lookup results (js/lookup.js), and
// the priority that impact x urgency give (the matrix comes from the page as JSON, never
// inline script).
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

  // The caller picker is a shared lookup (js/lookup.js): show who was picked, then go on
  // to the title.
  document.body.addEventListener("lookup:picked", function (event) {
    if (!picker || event.target !== picker) {
      return;
    }
    var card = document.getElementById("caller-card");
    card.querySelector("[data-field=name]").textContent = event.detail.lookupName;
    card.querySelector("[data-field=org]").textContent = event.detail.callerOrg || "";
    card.querySelector("[data-field=detail]").textContent = event.detail.callerDetail || "";
    card.hidden = false;
    var title = document.getElementById("id_title");
    if (title) {
      title.focus();
    }
  });

  // Typing again means the previous choice no longer holds.
  document.body.addEventListener("lookup:cleared", function (event) {
    if (picker && event.target === picker) {
      document.getElementById("caller-card").hidden = true;
    }
  });

  updatePriority();
})();
