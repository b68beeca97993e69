// The alarm queue reloads itself when the server says an alarm arrived or
// moved a step. The events carry no data: the page asks again, and the
// server decides again what this user may see. The stream starts from the
// state the page was rendered after, so nothing in between is missed.
//
// On "my alarms" (a home-care worker's phone), an alarm that was not on the
// page before raises a notification through the service worker (/sw.js):
// a fixed title and text, no name or address, since they show on a locked
// screen. Asked for with a button, never on load.
(function () {
  "use strict";
  var script = document.currentScript;
  var data = (script && script.dataset) || {};

  function notifyNew(registration) {
    var shown = Array.prototype.map.call(
      document.querySelectorAll("#mine li.alarm[id]"), function (li) { return li.id; });
    var key = "trygg-mine-shown";
    var before = null;
    try { before = JSON.parse(window.sessionStorage.getItem(key)); } catch (e) { before = null; }
    try { window.sessionStorage.setItem(key, JSON.stringify(shown)); } catch (e) { /* private mode */ }
    if (!Array.isArray(before) || !registration || Notification.permission !== "granted") { return; }
    shown.forEach(function (id) {
      if (before.indexOf(id) >= 0) { return; }
      registration.showNotification(data.notifyTitle, {
        body: data.notifyBody,
        tag: id,
        renotify: true,
        requireInteraction: true,
        vibrate: [300, 150, 300, 150, 300]
      });
    });
  }

  function offerNotifications(registration) {
    var box = document.getElementById("notify");
    if (!box) { return; }
    var ask = document.getElementById("notify-ask");
    var on = document.getElementById("notify-on");
    var blocked = document.getElementById("notify-blocked");
    function show() {
      ask.hidden = Notification.permission !== "default";
      on.hidden = Notification.permission !== "granted";
      blocked.hidden = Notification.permission !== "denied";
      box.hidden = false;
    }
    ask.addEventListener("click", function () {
      Notification.requestPermission().then(function () {
        show();
        notifyNew(registration);
      });
    });
    show();
  }

  if (data.notifyTitle && "Notification" in window && "serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      offerNotifications(registration);
      notifyNew(registration);
    }, function () { /* no notifications: the page still updates itself */ });
  }

  if (!window.EventSource) { return; }
  var since = data.since;
  var source = new EventSource(
    "/alarms/events" + (since ? "?since=" + encodeURIComponent(since) : ""));
  source.addEventListener("changed", function () {
    source.close();
    window.location.reload();
  });
})();
