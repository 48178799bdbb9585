// "Redigera plan" without a full reload: the row buttons (Lägg till, Ta bort, Flytta upp,
// Flytta ned) change the form in place. Without this script each of them posts the form and
// the service draws it again, changed; the names, labels and focus are the same either way.
// "Spara plan" always posts. Nothing is stored in the browser.
(function () {
  "use strict";
  var form = document.querySelector("form.plan-form");
  if (!form) {
    return;
  }
  var kinds = {
    goal: { selector: ".goal-row", count: "goal_count", word: "mål", heading: "f-goals" },
    measure: { selector: "fieldset.measure", count: "measure_count", word: "insats", heading: "f-measures" }
  };
  var pattern = { goal: /goal([_-])\d+/g, measure: /\bm\d+(?=[-_])/g };

  function rows(kind) {
    return Array.prototype.slice.call(form.querySelectorAll(kinds[kind].selector));
  }

  function rewrite(kind, text, n) {
    return kind === "goal" ? text.replace(pattern.goal, "goal$1" + n) : text.replace(pattern.measure, "m" + n);
  }

  function button(value, text, hidden) {
    var b = document.createElement("button");
    b.type = "submit";
    b.name = "action";
    b.value = value;
    b.className = "button-row";
    b.appendChild(document.createTextNode(text));
    var span = document.createElement("span");
    span.className = "visually-hidden";
    span.textContent = " " + hidden;
    b.appendChild(span);
    return b;
  }

  // Names, ids, labels and buttons follow each row's place, as the service draws them.
  function renumber(kind) {
    var all = rows(kind);
    all.forEach(function (row, n) {
      row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && !(attr === "name" && value === "action")) {
            el.setAttribute(attr, rewrite(kind, value, n));
          }
        });
      });
      var title = kind === "goal" ? row.querySelector("label") : row.querySelector("legend");
      title.textContent = (kind === "goal" ? "Mål " : "Insats ") + (n + 1);
      var tools = row.querySelector(".row-tools");
      var which = kinds[kind].word + " " + (n + 1);
      tools.textContent = "";
      if (n > 0) {
        tools.appendChild(button("up_" + kind + ":" + n, "Flytta upp", which));
      }
      if (n < all.length - 1) {
        tools.appendChild(button("down_" + kind + ":" + n, "Flytta ned", which));
      }
      tools.appendChild(button("remove_" + kind + ":" + n, "Ta bort", which));
    });
    form.querySelector('input[name="' + kinds[kind].count + '"]').value = all.length;
  }

  // A new row: a copy of the last one, emptied, without its errors.
  function emptied(row) {
    var copy = row.cloneNode(true);
    copy.classList.remove("invalid");
    copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
    copy.querySelectorAll(".invalid").forEach(function (e) { e.classList.remove("invalid"); });
    copy.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
    copy.querySelectorAll("[aria-describedby]").forEach(function (e) {
      var kept = e.getAttribute("aria-describedby").split(" ").filter(function (id) { return id.indexOf("e-") !== 0; });
      if (kept.length) {
        e.setAttribute("aria-describedby", kept.join(" "));
      } else {
        e.removeAttribute("aria-describedby");
      }
    });
    copy.querySelectorAll("[autofocus]").forEach(function (e) { e.removeAttribute("autofocus"); });
    copy.querySelectorAll("input, textarea").forEach(function (e) {
      e.value = "";
      if (e.tagName === "TEXTAREA") {
        e.textContent = "";
      }
    });
    copy.querySelectorAll("select").forEach(function (e) {
      e.selectedIndex = 0;
      e.querySelectorAll("option[selected]").forEach(function (o) { o.removeAttribute("selected"); });
    });
    return copy;
  }

  function firstField(row) {
    return row.querySelector("textarea, select, input:not([type=hidden])");
  }

  form.addEventListener("click", function (event) {
    var target = event.target.closest('button[name="action"]');
    var m = target && /^(add|remove|up|down)_(goal|measure)(?::(\d+))?$/.exec(target.value);
    if (!m) {
      return;
    }
    var verb = m[1], kind = m[2], n = m[3] === undefined ? -1 : Number(m[3]);
    var all = rows(kind);
    var focus = null;
    if (verb === "add") {
      if (!all.length) {
        return; // the service draws the first row
      }
      var row = emptied(all[all.length - 1]);
      all[all.length - 1].after(row);
      focus = row;
    } else if (n < 0 || n >= all.length) {
      return;
    } else if (verb === "remove") {
      all[n].remove();
      focus = document.getElementById(kinds[kind].heading);
    } else if (verb === "up" && n > 0) {
      all[n - 1].before(all[n]);
      focus = all[n];
    } else if (verb === "down" && n < all.length - 1) {
      all[n + 1].after(all[n]);
      focus = all[n];
    }
    event.preventDefault();
    renumber(kind);
    if (focus) {
      (focus.matches("h2") ? focus : firstField(focus)).focus();
    }
  });
})();
