// The review queue's actions done in place: approve, reject, reopen and feature post in the background, the
// row says what happened with an Undo beside it, and focus moves to the next row. app.js keeps the keys
// (j/k/a/r/e/x/u); this adds f. Without JavaScript, or when the answer is not what we expect, the forms post
// as plain forms and the page comes back as before.
(function () {
  "use strict";

  var live = null;

  function announce(text) {
    if (!live) {
      live = document.createElement("p");
      live.className = "visually-hidden";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = text;
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-resource]")); }

  function nextOpenRow(row) {
    var list = rows();
    for (var i = list.indexOf(row) + 1; i < list.length; i++) {
      if (!list[i].classList.contains("is-done")) { return list[i]; }
    }
    return null;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function send(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (reply) {
      var type = reply.headers.get("Content-Type") || "";
      if (!reply.ok || type.indexOf("application/json") === -1) { throw new Error("unexpected answer"); }
      return reply.json();
    });
  }

  function messageHtml(data) {
    return data.messages.map(function (m) { return m.html; }).join(" ");
  }

  function textOf(html) {
    var box = document.createElement("div");
    box.innerHTML = html;
    return box.textContent;
  }

  function retireUndos() {
    document.querySelectorAll("[data-row-undo]").forEach(function (button) { button.remove(); });
    var top = document.querySelector(".messages .undo");
    if (top) { top.remove(); }
  }

  function adjustCount(step) {
    var lead = document.querySelector("[data-queue-count]");
    var match = lead && lead.textContent.match(/^([\d,]+)(\+?)/);
    if (!match || match[2]) { return; }
    var n = Math.max(0, parseInt(match[1].replace(/,/g, ""), 10) + step);
    lead.textContent = n.toLocaleString("en-GB") + lead.textContent.slice(match[0].length);
  }

  function showError(row, html) {
    var note = row.querySelector(".row__error") || document.createElement("p");
    note.className = "row__error message message--error";
    note.innerHTML = html;
    row.appendChild(note);
    announce(textOf(html));
  }

  function undo(row, saved, button) {
    var body = new FormData();
    body.append("csrf_token", csrfToken());
    button.disabled = true;
    send(document.querySelector("[data-undo-url]").getAttribute("data-undo-url"), body).then(function (data) {
      if (data.messages.some(function (m) { return m.category === "error"; })) {
        button.disabled = false;
        showError(row, messageHtml(data));
        return;
      }
      row.innerHTML = saved;
      row.classList.remove("is-done");
      adjustCount(1);
      announce(textOf(messageHtml(data)));
      row.focus();
    }).catch(function () { window.location.reload(); });
  }

  function done(row, data) {
    var saved = row.innerHTML;
    retireUndos();
    row.classList.add("is-done");
    row.innerHTML = "";
    var line = document.createElement("p");
    line.className = "row__done";
    line.innerHTML = messageHtml(data);
    row.appendChild(line);
    if (data.undo) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button--small button--quiet";
      button.setAttribute("data-row-undo", "");
      button.setAttribute("data-shortcut", "u");
      button.textContent = "Undo";
      button.addEventListener("click", function () { undo(row, saved, button); });
      line.appendChild(document.createTextNode(" "));
      line.appendChild(button);
    }
    adjustCount(-1);
    announce(textOf(line.innerHTML));
    var next = nextOpenRow(row);
    (next || row).focus();
  }

  function featured(form, data) {
    var value = form.querySelector("input[name=featured]");
    var button = form.querySelector("[data-action=feature]");
    var now = value.value === "1";
    value.value = now ? "0" : "1";
    button.setAttribute("aria-pressed", now ? "true" : "false");
    announce(textOf(messageHtml(data)));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var row = form.closest && form.closest("[data-resource]");
    if (!form.hasAttribute("data-inplace") || !row || !window.fetch || event.defaultPrevented) { return; }
    event.preventDefault();
    var isFeature = !!form.querySelector("input[name=featured]");
    send(form.action, new FormData(form, event.submitter)).then(function (data) {
      if (data.messages.some(function (m) { return m.category === "error"; })) {
        showError(row, messageHtml(data));
      } else if (isFeature) {
        featured(form, data);
      } else {
        done(row, data);
      }
    }).catch(function () { form.submit(); });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "f" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    var row = document.querySelector("[data-resource].is-current");
    var button = row && row.querySelector("[data-action=feature]");
    if (button) { button.click(); event.preventDefault(); }
  });
})();
