// The incident list: row selection for bulk actions and the fields each action needs.
(function () {
  "use strict";

  // Filters change the URL over HTMX (hx-push-url), not the page: save what the URL says.
  var savedFilterForm = document.getElementById("saved-filter-form");
  if (savedFilterForm) {
    savedFilterForm.addEventListener("submit", function () {
      var params = new URLSearchParams(window.location.search);
      params.delete("after");
      params.delete("before");
      document.getElementById("saved-filter-query").value = params.toString();
    });
  }

  var bulkForm = document.getElementById("bulk-form");
  if (!bulkForm) {
    return;
  }
  var action = document.getElementById("bulk-action");
  var apply = document.getElementById("bulk-apply");
  var counter = document.getElementById("bulk-selected");
  var idle = counter.textContent;

  function selectedRows() {
    return document.querySelectorAll("input.bulk-row:checked");
  }

  function refresh() {
    var count = selectedRows().length;
    apply.disabled = count === 0;
    counter.textContent = count ? counter.dataset.template.replace("%(count)s", count) : idle;
    var all = document.getElementById("bulk-all");
    if (all) {
      var rows = document.querySelectorAll("input.bulk-row");
      all.checked = rows.length > 0 && count === rows.length;
      all.indeterminate = count > 0 && count < rows.length;
    }
  }

  function showFields() {
    bulkForm.querySelectorAll("[data-bulk-for]").forEach(function (el) {
      el.hidden = el.dataset.bulkFor !== action.value;
    });
  }

  document.body.addEventListener("change", function (event) {
    if (event.target.id === "bulk-all") {
      document.querySelectorAll("input.bulk-row").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.id === "bulk-all" || event.target.classList.contains("bulk-row")) {
      refresh();
    }
  });

  action.addEventListener("change", showFields);
  // A new page of rows starts with nothing selected.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "incident-results") {
      refresh();
    }
  });
  showFields();
  refresh();
})();
