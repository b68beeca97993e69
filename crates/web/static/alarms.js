// The alarm queue reloads itself when the server says an alarm arrived or
// moved a step. The events carry no data: the page asks again, and the
// server decides again what this user may see. The stream starts from the
// state the page was rendered after, so nothing in between is missed.
(function () {
  "use strict";
  if (!window.EventSource) { return; }
  var since = document.currentScript && document.currentScript.dataset.since;
  var source = new EventSource(
    "/alarms/events" + (since ? "?since=" + encodeURIComponent(since) : ""));
  source.addEventListener("changed", function () {
    source.close();
    window.location.reload();
  });
})();
