// Trygg's service worker: it only shows alarm notifications (see
// alarms.js) and opens "my alarms" when one is tapped. It caches nothing and
// sees no request: pages with personal data never stay on the device.
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (new URL(windows[i].url).pathname === "/alarms/mine" && "focus" in windows[i]) {
        return windows[i].focus();
      }
    }
    return self.clients.openWindow("/alarms/mine");
  }));
});
