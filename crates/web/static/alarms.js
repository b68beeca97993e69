// The alarm queue reloads itself when the server says an alarm arrived or
// moved a step. The events carry no data: the page asks again, and the
// server decides again what this user may see.
(function () {
  "use strict";
  if (!window.EventSource) { return; }
  var source = new EventSource("/alarms/events");
  source.addEventListener("changed", function () {
    source.close();
    window.location.reload();
  });
})();
