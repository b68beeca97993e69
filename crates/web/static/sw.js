// Trygg's service worker: it only shows alarm notifications (see
// alarms.js) and, when one is tapped, brings back the page that raised it.
// It caches nothing and sees no request: pages with personal data never
// stay on the device.
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (windows) {
    var pages = ["/alarms", "/alarms/mine"];
    for (var i = 0; i < windows.length; i++) {
      if (pages.indexOf(new URL(windows[i].url).pathname) >= 0 && "focus" in windows[i]) {
        return windows[i].focus();
      }
    }
    return self.clients.openWindow("/alarms/mine");
  }));
});
