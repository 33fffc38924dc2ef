// The issue page: drag and drop of items (within and across sections) and of sections, with SortableJS; the
// whole order is saved after each drop. The intro's Markdown is previewed as it is typed. Every move also has
// a button (a plain form), so nothing here is needed to compose an issue by keyboard or without scripts.
(function () {
  "use strict";

  function token() {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function post(url, fields) {
    var body = new FormData();
    body.append("csrf_token", token());
    Object.keys(fields).forEach(function (key) { body.append(key, fields[key]); });
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (reply) {
      return reply.json().then(function (data) { data.httpOk = reply.ok; return data; });
    });
  }

  function layout(root) {
    return Array.prototype.map.call(root.querySelectorAll("[data-section]"), function (section) {
      var ids = Array.prototype.map.call(section.querySelectorAll("[data-item]"), function (item) {
        return parseInt(item.getAttribute("data-item"), 10);
      });
      return [section.getAttribute("data-section"), ids];
    });
  }

  function renumber(root) {
    root.querySelectorAll("[data-section]").forEach(function (section) {
      var items = section.querySelectorAll("[data-item]");
      items.forEach(function (item, index) {
        var number = item.querySelector(".issue-item__number");
        if (number) { number.textContent = String(index + 1); }
        var select = item.querySelector("select[name=section]");
        if (select) { select.value = section.getAttribute("data-section"); }
      });
      var count = section.querySelector("h2 .muted");
      if (count) { count.textContent = "(" + items.length + ")"; }
    });
  }

  function save(root) {
    var status = document.querySelector("[data-order-status]");
    post(root.getAttribute("data-compose"), { layout: JSON.stringify(layout(root)) }).then(function (data) {
      if (!data.ok) { throw new Error(data.message); }
      renumber(root);
      if (status) { status.textContent = data.message; }
    }).catch(function (error) {
      if (status) { status.textContent = (error && error.message) || "The order was not saved; reloading."; }
      window.setTimeout(function () { window.location.reload(); }, 1500);
    });
  }

  function setUpDragging() {
    var root = document.querySelector("[data-compose]");
    if (!root || !window.Sortable) { return; }
    var options = { animation: 120, onEnd: function () { save(root); } };
    root.querySelectorAll("[data-items]").forEach(function (list) {
      window.Sortable.create(list, Object.assign({ group: "items", handle: ".drag-handle", draggable: "[data-item]" }, options));
    });
    var sections = root.querySelector("[data-sections]");
    if (sections) {
      window.Sortable.create(sections, Object.assign({ handle: ".drag-handle--section", draggable: "[data-section]" }, options));
    }
  }

  function setUpIntroPreview() {
    var form = document.querySelector("[data-intro-preview]");
    var area = form && form.querySelector("textarea");
    var preview = document.getElementById("intro-preview");
    if (!area || !preview) { return; }
    var timer = null;
    area.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        post(form.getAttribute("data-intro-preview"), { intro: area.value }).then(function (data) {
          if (data.httpOk) { preview.innerHTML = data.html; }
        });
      }, 300);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpDragging();
    setUpIntroPreview();
  });
})();
