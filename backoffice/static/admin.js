/* Back office: small progressive helpers; every page works without this file. */
"use strict";
(function () {
  /* A form whose button says data-confirm asks first (end a campaign, erase a customer). */
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
