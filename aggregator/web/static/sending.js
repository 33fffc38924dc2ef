// The send's live progress: polls its JSON once a second and updates the figures in place until it is sent;
// a form marked data-once is submitted only once (a double click sends one request).
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once")) { return; }
    if (form.getAttribute("data-submitted")) { event.preventDefault(); return; }
    form.setAttribute("data-submitted", "yes");
  });

  var panel = document.getElementById("send-progress");
  if (!panel || !window.fetch) { return; }
  var url = panel.getAttribute("data-progress-url");
  var bar = document.getElementById("send-bar");
  var state = document.getElementById("send-state");
  var controls = document.getElementById("send-controls");

  function show(data) {
    var done = data.total - data.pending;
    ["sent", "pending", "failed", "bounced", "skipped", "total"].forEach(function (name) {
      var field = panel.querySelector('[data-field="' + name + '"]');
      if (field) { field.textContent = String(data[name]); }
    });
    panel.querySelector('[data-field="done"]').textContent = String(done);
    bar.max = Math.max(data.total, 1);
    bar.value = done;
    bar.textContent = done + " of " + data.total;
    if (data.status === "sent") {
      state.textContent = "This issue is sent.";
      if (controls) { controls.hidden = true; }
      panel.querySelector("[data-refresh-note]").textContent = "All done.";
      return false;
    }
    state.textContent = data.paused ? "The send is paused." : "The send is under way.";
    if (controls) {
      controls.querySelector('[data-when="running"]').hidden = data.paused;
      controls.querySelector('[data-when="paused"]').hidden = !data.paused;
    }
    return true;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data === null || show(data)) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
}());
