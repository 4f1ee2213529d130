// Clienteling front-end glue. No inline scripts anywhere (strict CSP): behaviour hangs off data-* attributes.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Shared tablets lock themselves when nobody touches them; the server enforces the same limit.
  function idleLock() {
    var seconds = parseInt(document.body.dataset.idleLock || "0", 10);
    var url = document.body.dataset.lockUrl;
    if (!seconds || !url) return;
    var timer;
    function reset() {
      clearTimeout(timer);
      timer = setTimeout(function () { window.location.assign(url); }, seconds * 1000);
    }
    ["pointerdown", "keydown", "scroll", "touchstart"].forEach(function (name) {
      document.addEventListener(name, reset, { passive: true });
    });
    reset();
  }

  // On-screen PIN pad for the lock screen.
  function pinPad() {
    var form = document.querySelector("[data-pin-form]");
    if (!form) return;
    var input = form.querySelector("input[name=pin]");
    form.querySelectorAll("[data-digit]").forEach(function (key) {
      key.addEventListener("click", function () {
        if (input.value.length < 8) input.value += key.dataset.digit;
      });
    });
    var clear = form.querySelector("[data-clear]");
    if (clear) clear.addEventListener("click", function () { input.value = ""; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    idleLock();
    pinPad();
  });
})();
