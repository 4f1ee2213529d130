// The store floor: live greeting cards over SSE (htmx sse extension), a polling fallback, the kiosk's
// reset and loyalty QR scan. Hooked by data-* attributes only (strict CSP, no inline scripts).
(function () {
  "use strict";

  var POLL_MS = 5000;

  function updateEmptyStates() {
    document.querySelectorAll("[data-empty-for]").forEach(function (el) {
      var list = document.querySelector(el.dataset.emptyFor);
      el.hidden = !!(list && list.children.length);
    });
  }

  // Apply one pushed message: each top-level element with an id replaces its twin, or is added to the
  // container named by data-into, or (data-remove) takes its twin away. Idempotent, so a message that
  // arrives twice, or after a poll already showed the card, changes nothing.
  function applyPush(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    Array.prototype.slice.call(template.content.children).forEach(function (el) {
      if (!el.id) return;
      var current = document.getElementById(el.id);
      if (el.hasAttribute("data-remove")) {
        if (current) current.remove();
        return;
      }
      if (current) {
        // An associate typing a note in this card keeps her text: only the "who is helping" part updates.
        if (current.contains(document.activeElement) && document.activeElement.matches("input, textarea")) {
          current.className = el.className;
          var fresh = el.querySelector(".helping, .btn-claim");
          var stale = current.querySelector(".helping, .btn-claim");
          if (fresh && stale) { stale.replaceWith(fresh); htmx.process(fresh); }
          return;
        }
        current.replaceWith(el);
      } else {
        var into = document.querySelector(el.dataset.into || "");
        if (!into) return;
        into.prepend(el);
        el.classList.add("is-arriving");
      }
      htmx.process(el);
      if (el.dataset.arrival) {
        window.requestAnimationFrame(function () {
          document.dispatchEvent(new CustomEvent("floor:card", { detail: { id: el.dataset.arrival, state: el.className } }));
        });
      }
    });
    updateEmptyStates();
  }

  function floor() {
    var root = document.querySelector("[data-floor]");
    if (!root) return;
    var status = root.querySelector("[data-connection]");
    var pollTimer = null;
    var hadError = false;

    function setStatus(text) { if (status) status.textContent = text; }

    function refresh() {
      htmx.ajax("GET", root.dataset.feedUrl, { target: "#floor-feed", swap: "outerHTML" }).then(updateEmptyStates);
    }

    root.addEventListener("htmx:sseBeforeMessage", function (event) {
      event.preventDefault(); // we place the fragments ourselves (insert, replace or remove by id)
      applyPush(event.detail.data);
    });
    root.addEventListener("htmx:sseOpen", function () {
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
      if (hadError) refresh(); // catch up on what happened while disconnected
      hadError = false;
      setStatus("");
      root.dataset.live = "sse";
    });
    root.addEventListener("htmx:sseError", function () {
      hadError = true;
      root.dataset.live = "poll";
      setStatus("Live updates paused: refreshing every few seconds.");
      if (!pollTimer) pollTimer = setInterval(refresh, POLL_MS);
    });
    document.body.addEventListener("floor:error", function (event) {
      setStatus(event.detail.value || "");
    });
    document.body.addEventListener("htmx:afterSwap", updateEmptyStates);
  }

  // Kiosk: go back to the check-in screen after a while, so the next visitor starts fresh.
  function kioskReset() {
    var el = document.querySelector("[data-reset-after]");
    if (!el) return;
    var seconds = parseInt(el.dataset.resetAfter, 10) || 20;
    var timer;
    function arm() {
      clearTimeout(timer);
      timer = setTimeout(function () { window.location.assign(el.dataset.resetUrl); }, seconds * 1000);
    }
    ["pointerdown", "keydown", "input"].forEach(function (name) { document.addEventListener(name, arm, { passive: true }); });
    arm();
  }

  // Kiosk: scan a loyalty QR code with the device's camera, where the browser can (BarcodeDetector).
  function loyaltyScan() {
    var button = document.querySelector("[data-scan]");
    if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var form = document.querySelector(button.dataset.scan);
      var video = document.querySelector("[data-scan-video]");
      var detector = new window.BarcodeDetector({ formats: ["qr_code", "code_128", "ean_13"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" } }).then(function (stream) {
        video.hidden = false;
        video.srcObject = stream;
        video.play();
        var tries = 0;
        (function look() {
          detector.detect(video).then(function (codes) {
            if (codes.length) {
              stream.getTracks().forEach(function (t) { t.stop(); });
              form.querySelector("[name=loyalty_id]").value = codes[0].rawValue;
              form.submit();
            } else if (tries++ < 300) {
              window.requestAnimationFrame(look);
            } else {
              stream.getTracks().forEach(function (t) { t.stop(); });
              video.hidden = true;
            }
          });
        })();
      }).catch(function () { button.hidden = true; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    floor();
    kioskReset();
    loyaltyScan();
  });
})();
