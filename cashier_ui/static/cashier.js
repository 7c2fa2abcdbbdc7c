/* Cashier terminal behaviour, plain JavaScript: keep the scan field focused, tell a scan from
   typing, the PIN keypad, one submission per form, live points figures from the server, print,
   inactivity lock. */
(function () {
  "use strict";

  // The card field keeps focus so a scan (digits + Enter) always lands in it.
  // Only when nothing else has focus: on a slow page the cashier may already be typing in the
  // phone field when this script runs, and taking focus would send the keys to the card field.
  var keep = document.querySelector("[data-keep-focus]");
  if (keep) {
    var focusIfIdle = function () {
      var active = document.activeElement;
      if (!active || active === document.body || active === document.documentElement) {
        keep.focus();
      }
    };
    var refocus = function () { setTimeout(focusIfIdle, 0); };
    document.addEventListener("focusout", refocus);
    document.addEventListener("click", refocus);
    focusIfIdle();
  }

  // Scanned or typed: a USB scanner types the whole number in a burst and ends with Enter; a
  // person types far slower. The hidden card_entry field says which, for the server to know
  // whether the number was read off a card (a typed number needs the PIN to spend points).
  // Pasting, deleting or editing counts as typing.
  var scanField = document.querySelector("[data-scan-field]");
  if (scanField) {
    var entryField = scanField.form.querySelector("[data-card-entry]");
    var SCAN_MIN_CHARACTERS = 6;
    var SCAN_MEAN_GAP_MS = 35;    // scanners: a few ms a character; people: 100 ms and more
    var SCAN_LONGEST_GAP_MS = 150; // one slow event on a busy till does not make it typed
    var keyTimes = [];
    var edited = scanField.value !== "";
    var looksScanned = function (enterTime) {
      var times = keyTimes.concat([enterTime]);
      if (edited || keyTimes.length < SCAN_MIN_CHARACTERS ||
          keyTimes.length !== scanField.value.length) { return false; }
      var longest = 0;
      for (var i = 1; i < times.length; i++) {
        longest = Math.max(longest, times[i] - times[i - 1]);
      }
      return longest <= SCAN_LONGEST_GAP_MS &&
        (times[times.length - 1] - times[0]) / (times.length - 1) <= SCAN_MEAN_GAP_MS;
    };
    scanField.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        entryField.value = looksScanned(event.timeStamp) ? "scanned" : "typed";
      } else if (event.key.length === 1 && !event.ctrlKey && !event.metaKey) {
        keyTimes.push(event.timeStamp);
      } else {
        edited = true;
      }
    });
    scanField.addEventListener("paste", function () { edited = true; });
    scanField.addEventListener("input", function () {
      if (scanField.value === "") { keyTimes = []; edited = false; }
    });
    // Keys that reach the field before this point are not timed: a browser test waits for it.
    scanField.setAttribute("data-scan-ready", "");
  }

  // Enter in a field marked data-enter-clicks presses the button it names (the PIN check
  // inside the confirm form, whose own Enter is "Confirm sale").
  document.querySelectorAll("[data-enter-clicks]").forEach(function (input) {
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      document.getElementById(input.dataset.enterClicks).click();
    });
  });

  // On-screen PIN keypad: writes into the PIN field last focused (or the one it names).
  var lastPin = document.querySelector("[data-pin]");
  document.querySelectorAll("[data-pin]").forEach(function (input) {
    input.addEventListener("focus", function () { lastPin = input; });
  });
  document.querySelectorAll(".keypad").forEach(function (pad) {
    pad.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-key]");
      var target = document.getElementById(pad.dataset.keypadFor) || lastPin;
      if (!button || !target) { return; }
      var key = button.dataset.key;
      if (key === "clear") { target.value = ""; }
      else if (key === "back") { target.value = target.value.slice(0, -1); }
      else if (target.value.length < (target.maxLength > 0 ? target.maxLength : 8)) {
        target.value += key;
      }
    });
  });

  // A form marked data-once is sent once: a double click cannot send it twice.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      setTimeout(function () {
        form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
          b.disabled = true;
        });
      }, 0);
    });
  });

  // Live figures under "Points to use": the server computes them (no rule in the browser).
  var confirmForm = document.querySelector("form[data-live-quote]");
  if (confirmForm) {
    var pointsInput = confirmForm.querySelector("[name=redeem_points]");
    var useMax = confirmForm.querySelector("[data-use-max]");
    var timer = null;
    var show = function (name, text) {
      var place = confirmForm.querySelector('[data-live="' + name + '"]');
      if (place) { place.textContent = text; }
    };
    // The tier's and the campaigns' points, one line each ("Double points today: +23").
    var showLines = function (lines) {
      var list = confirmForm.querySelector('[data-live-list="earned_lines"]');
      if (!list) { return; }
      while (list.firstChild) { list.removeChild(list.firstChild); }
      lines.forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        list.appendChild(item);
      });
      list.hidden = lines.length === 0;
    };
    var errorBox = confirmForm.querySelector('[data-live="error"]');
    var refresh = function () {
      var body = new FormData(confirmForm);
      fetch(confirmForm.dataset.liveQuote, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (reply) {
          if (reply.error) {
            errorBox.textContent = reply.error; errorBox.hidden = false; return;
          }
          errorBox.hidden = true;
          ["paid_with_points", "cash_due", "points_earned"].forEach(function (name) {
            show(name, reply[name]);
          });
          showLines(reply.earned_lines || []);
        })
        .catch(function () {
          errorBox.textContent = confirmForm.dataset.offline;
          errorBox.hidden = false;
        });
    };
    pointsInput.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    });
    if (useMax) {
      useMax.addEventListener("click", function (event) {
        event.preventDefault();
        pointsInput.value = useMax.dataset.useMax;
        refresh();
        pointsInput.focus();
      });
    }
  }

  // "Add a line" copies the last line of the itemised basket, empty.
  document.querySelectorAll("[data-add-line]").forEach(function (button) {
    button.addEventListener("click", function () {
      var body = document.getElementById("line-rows");
      var last = body.lastElementChild.cloneNode(true);
      var number = body.children.length + 1;
      last.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/\d+$/, number));
      });
      body.appendChild(last);
      last.querySelector("input").focus();
    });
  });

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // Lock the screen after inactivity (the server enforces it too).
  var idleSeconds = parseInt(document.body.dataset.idleSeconds || "0", 10);
  var logout = document.getElementById("logout-form");
  if (idleSeconds > 0 && logout) {
    var idleTimer = null;
    var arm = function () {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(function () {
        logout.querySelector("[name=reason]").value = "idle";
        logout.submit();
      }, idleSeconds * 1000);
    };
    ["keydown", "pointerdown", "input"].forEach(function (name) {
      document.addEventListener(name, arm, true);
    });
    arm();
  }

  // Said last, once every listener above is in place: the browser tests wait for it.
  document.documentElement.setAttribute("data-script-ready", "");
})();
