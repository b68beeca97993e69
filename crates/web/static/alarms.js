// The alarm queue reloads itself when the server says an alarm arrived or
// moved a step. The events carry no data: the page asks again, and the
// server decides again what this user may see. The stream starts from the
// state the page was rendered after, so nothing in between is missed.
//
// An item the page marks `data-notify` (an untaken or escalated alarm in
// the queue, an alarm sent to me on "my alarms") that was not on the page
// before raises a notification through the service worker (/sw.js), with
// the item's fixed title and the page's fixed text: no name or address,
// since they show on a locked screen. A notification of an item the page no
// longer shows is closed. Asked for with a button, never on load.
(function () {
  "use strict";
  var script = document.currentScript;
  var data = (script && script.dataset) || {};

  function notifyNew(registration) {
    var items = document.querySelectorAll("[data-notify-key]");
    var shown = Array.prototype.map.call(items, function (el) { return el.dataset.notifyKey; });
    var key = "trygg-notified:" + window.location.pathname;
    var before = null;
    try { before = JSON.parse(window.sessionStorage.getItem(key)); } catch (e) { before = null; }
    try { window.sessionStorage.setItem(key, JSON.stringify(shown)); } catch (e) { /* private mode */ }
    if (!registration || Notification.permission !== "granted") { return; }
    // This page's notifications of what it no longer shows (taken by a
    // colleague, closed, escalated since) are stale: gone.
    var scope = data.notifyScope || "";
    registration.getNotifications().then(function (open) {
      open.forEach(function (n) {
        if (scope && n.tag.indexOf(scope) === 0 && shown.indexOf(n.tag) < 0) { n.close(); }
      });
    });
    if (!Array.isArray(before)) { return; }
    Array.prototype.forEach.call(items, function (el) {
      var id = el.dataset.notifyKey;
      if (before.indexOf(id) >= 0) { return; }
      registration.showNotification(el.dataset.notify, {
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

  if (data.notifyBody && "Notification" in window && "serviceWorker" in navigator) {
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
