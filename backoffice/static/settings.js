/* Program settings: the rules page's preview follows what is typed (the page works without it:
   the Preview button asks the server for the whole page). */
"use strict";
(function () {
  var form = document.getElementById("rules-form");
  var region = document.getElementById("rules-preview");
  if (!form || !region) { return; }
  var timer = null;
  var asked = 0;

  function refresh() {
    var mine = ++asked;
    fetch(form.dataset.previewUrl, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"X-Preview": "fragment"}
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null && mine === asked) { region.innerHTML = html; }
    }).catch(function () { /* offline: the Preview button still works */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.setAttribute("data-preview-ready", "");   // the browser tests type once it listens
})();
