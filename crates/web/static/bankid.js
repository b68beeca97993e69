// BankID login: a new QR frame every second, status every second (the
// server collects from BankID at most every two seconds).
(function () {
  "use strict";
  var qr = document.getElementById("qr");
  var status = document.getElementById("status");
  var lang = document.documentElement.lang || "sv";
  var stopped = false;
  function tick() {
    if (stopped) { return; }
    qr.src = "/login/bankid/qr?t=" + Date.now();
    fetch("/login/bankid/status?lang=" + lang, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.message) { status.textContent = s.message; }
        if (s.state !== "pending") {
          stopped = true;
          if (s.next) { window.location.assign(s.next); }
        }
      })
      .catch(function () { /* keep trying; the server may be restarting */ });
  }
  window.setInterval(tick, 1000);
})();
