// Keyboard shortcuts for the review queue (and for acting on the selection), select-all and bulk counts, and confirmation of risky buttons.
// Everything here is an enhancement: every action is a plain form that works without JavaScript.
(function () {
  "use strict";

  function isTyping(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  // Confirmation for buttons marked data-confirm (bulk actions, splits, removals, approvals).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("[data-resource]")); }
  var current = null;

  function setCurrent(card, focus) {
    if (!card) { return; }
    if (current) { current.classList.remove("is-current"); }
    current = card;
    card.classList.add("is-current");
    if (focus !== false) {
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var list = cards();
    if (!list.length) { return; }
    var index = current ? list.indexOf(current) : -1;
    setCurrent(list[Math.max(0, Math.min(list.length - 1, index + step))]);
  }

  function clickIn(card, selector) {
    var element = card && card.querySelector(selector);
    if (element) { element.click(); return true; }
    return false;
  }

  function updateCount() {
    var counter = document.querySelector("[data-selected-count]");
    if (!counter) { return; }
    var n = document.querySelectorAll("input[data-action=select]:checked").length;
    counter.textContent = n ? n + " selected" : "";
  }

  function bulkButton(action) {
    var selected = document.querySelector("input[data-action=select]:checked");
    return selected ? document.querySelector("#bulk button[value=" + action + "]") : null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    // Enter in the bulk bar's reason rejects the selection (a plain form would submit its first button: Approve).
    if (event.key === "Enter" && event.target.id === "bulk-reason") {
      var reject = bulkButton("reject");
      if (reject) { reject.click(); event.preventDefault(); }
      return;
    }
    if (isTyping(event.target)) { return; }
    var help = document.getElementById("shortcuts");
    var card;
    switch (event.key) {
      case "?":
        if (help && help.showModal) { help.showModal(); event.preventDefault(); }
        return;
      case "j": move(1); event.preventDefault(); return;
      case "k": move(-1); event.preventDefault(); return;
      case "A":  // shift+a: approve every selected resource (the bulk bar's button, with its confirmation)
        if (bulkButton("approve")) { bulkButton("approve").click(); event.preventDefault(); }
        return;
      case "R":  // shift+r: to the bulk bar's reason; Enter there rejects every selected resource
        if (bulkButton("reject")) { document.getElementById("bulk-reason").focus(); event.preventDefault(); }
        return;
      case "u":
        var undo = document.querySelector("[data-shortcut=u]");
        if (undo) { undo.click(); event.preventDefault(); }
        return;
    }
    card = current || (document.querySelectorAll("[data-resource]").length === 1 ? cards()[0] : null);
    if (!card) { return; }
    if (event.key === "a" && clickIn(card, "[data-action=approve]")) { event.preventDefault(); }
    else if (event.key === "e" && clickIn(card, "[data-action=edit]")) { event.preventDefault(); }
    else if (event.key === "x") {
      var box = card.querySelector("[data-action=select]");
      if (box) { box.checked = !box.checked; updateCount(); event.preventDefault(); }
    } else if (event.key === "r") {
      var reason = card.querySelector("[data-action=reason]");
      if (reason) { reason.focus(); event.preventDefault(); }
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "select-all") {
      document.querySelectorAll("input[data-action=select]").forEach(function (box) { box.checked = event.target.checked; });
    }
    if (event.target.matches && event.target.matches("input[data-action=select], #select-all")) { updateCount(); }
  });

  document.addEventListener("focusin", function (event) {
    var card = event.target.closest ? event.target.closest("[data-resource]") : null;
    if (card && card !== current && cards().length > 1) { setCurrent(card, false); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var selectAll = document.querySelector(".select-all");
    if (selectAll) { selectAll.hidden = false; }
    // After an action the page comes back at the next resource (#r-<id>): make it the current one.
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.hasAttribute("data-resource")) { setCurrent(target); }
    else if (cards().length > 1) { setCurrent(cards()[0], false); }
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
