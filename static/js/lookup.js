// Search-as-you-type pickers ([data-lookup]: a hidden field and a search box; callers, CIs,
// agents): htmx fills the result list, a click on a result ([data-lookup-id],
// [data-lookup-name]) puts its id into the hidden field and its name into the search box.
// The picker then receives "lookup:picked" (detail: the result's data attributes), and
// "lookup:cleared" when typing again drops the choice, for pages that show more.
(function () {
  "use strict";

  document.body.addEventListener("click", function (event) {
    var option = event.target.closest("[data-lookup-id]");
    if (!option) {
      return;
    }
    var picker = option.closest("[data-lookup]");
    if (!picker) {
      return;
    }
    var hidden = picker.querySelector("input[type=hidden]");
    var search = picker.querySelector("input[type=search]");
    hidden.value = option.dataset.lookupId;
    search.value = option.dataset.lookupName;
    search.classList.remove("is-invalid");
    search.classList.add("is-valid");
    option.closest(".lookup-results").replaceChildren();
    picker.dispatchEvent(
      new CustomEvent("lookup:picked", { bubbles: true, detail: Object.assign({}, option.dataset) })
    );
  });

  // Typing again means the previous choice no longer holds.
  document.body.addEventListener("input", function (event) {
    var picker = event.target.closest("[data-lookup]");
    if (!picker || event.target.type !== "search") {
      return;
    }
    picker.querySelector("input[type=hidden]").value = "";
    event.target.classList.remove("is-valid");
    picker.dispatchEvent(new CustomEvent("lookup:cleared", { bubbles: true }));
  });
})();
