// Search-as-you-type CI pickers ([data-ci-lookup]): htmx fills the result list, a click
// on a result puts its id into the hidden field and its name into the search box.
(function () {
  "use strict";

  document.body.addEventListener("click", function (event) {
    var option = event.target.closest("[data-ci-id]");
    if (!option) {
      return;
    }
    var picker = option.closest("[data-ci-lookup]");
    if (!picker) {
      return;
    }
    var hidden = picker.querySelector("input[type=hidden]");
    var search = picker.querySelector("input[type=search]");
    hidden.value = option.dataset.ciId;
    search.value = option.dataset.ciName;
    search.classList.remove("is-invalid");
    search.classList.add("is-valid");
    option.closest(".ci-lookup-results").replaceChildren();
  });

  // Typing again means the previous choice no longer holds.
  document.body.addEventListener("input", function (event) {
    var picker = event.target.closest("[data-ci-lookup]");
    if (!picker || event.target.type !== "search") {
      return;
    }
    picker.querySelector("input[type=hidden]").value = "";
    event.target.classList.remove("is-valid");
  });
})();
