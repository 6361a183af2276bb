/* zchaos report pages: interaction only (the pictures are complete without it).
 * One copy per run folder (reports/<run-id>/assets/), shared by every page of the run.
 * No network, no dependencies: hover and click on operations, violation and log links,
 * log tabs, sortable tables. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  /* -- sortable tables (run index) ------------------------------------------------ */
  $$("table.sortable").forEach(function (table) {
    $$("th", table).forEach(function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        $$("th", table).forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var numeric = th.dataset.type === "num";
        var body = table.tBodies[0];
        var rows = $$("tr", body);
        rows.sort(function (a, b) {
          var x = a.cells[col] ? a.cells[col].dataset.v || "" : "";
          var y = b.cells[col] ? b.cells[col].dataset.v || "" : "";
          var r = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  var dataEl = $("#zc-data");
  if (!dataEl) { document.body.dataset.ready = "1"; return; }
  var data = JSON.parse(dataEl.textContent);
  var S = data.s, ops = data.ops;
  data.why = data.why || {};
  var OUTCOME = { ok: "answered", gave_up: "client gave up", open: "never answered" };
  var tip = $("#tip"), detail = $("#opdetail");

  function opSummary(i) {
    var o = ops[i];
    var end = o[3] === null ? "…" : o[3].toFixed(3);
    var outcome = S[o[4]];
    var lat = outcome === "ok" && o[3] !== null ? ((o[3] - o[2]) * 1000).toFixed(1) + " ms" : "";
    return o[0] + "  (" + S[o[1]] + ")\n" + (OUTCOME[outcome] || outcome) +
      (lat ? " after " + lat : "") +
      "\n" + o[2].toFixed(3) + " → " + end + " s, " + o[5] + " attempt" + (o[5] > 1 ? "s" : "") +
      (o[6] ? "\nnamed in a contract violation" : "");
  }

  function showOp(i) {
    var o = ops[i];
    $$("svg .op.hl").forEach(function (r) { r.classList.remove("hl"); });
    var rect = $('#ops rect[data-i="' + i + '"]');
    if (rect) { rect.classList.add("hl"); }
    var rows = o[7].map(function (e) {
      return "<tr><td class='num'>" + e[0].toFixed(3) + "</td><td>" + esc(S[e[1]]) +
        "</td><td><b>" + esc(S[e[2]]) + "</b></td><td class='mono'>" + esc(S[e[3]]) +
        "</td></tr>";
    }).join("");
    detail.innerHTML = "<button class='close' aria-label='close'>×</button>" +
      "<h3>operation " + esc(o[0]) + "</h3><p>" + esc(opSummary(i)).replace(/\n/g, "<br>") +
      "</p>" + (data.why[i] || []).map(function (w) {
        return "<p style='color:#a0111b'><b>violation</b> " + esc(w) + "</p>";
      }).join("") + "<table class='grid'><thead><tr><th class='num'>t (s)</th><th>node</th><th>event</th>" +
      "<th>fields</th></tr></thead><tbody>" + rows + "</tbody></table>";
    detail.classList.add("on");
    $("button.close", detail).addEventListener("click", function () {
      detail.classList.remove("on");
    });
  }

  var opsLayer = $("#ops");
  if (opsLayer) {
    opsLayer.addEventListener("mousemove", function (ev) {
      var i = ev.target.dataset ? ev.target.dataset.i : undefined;
      if (i === undefined) { tip.style.display = "none"; return; }
      tip.textContent = opSummary(+i);
      tip.style.display = "block";
      tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
      tip.style.top = (ev.clientY + 14) + "px";
    });
    opsLayer.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    opsLayer.addEventListener("click", function (ev) {
      var i = ev.target.dataset ? ev.target.dataset.i : undefined;
      if (i !== undefined) { showOp(+i); }
    });
  }

  function flash(el) {
    if (!el) { return; }
    el.scrollIntoView({ block: "center", inline: "center", behavior: "auto" });
    el.classList.add("hl");
  }

  function showViolation(anchor) {
    var mark = document.getElementById(anchor);
    if (!mark) { return false; }
    $$(".vmark.hl, #ops .hl, ol.viols li.hl").forEach(function (e) { e.classList.remove("hl"); });
    var idx = (mark.getAttribute("data-ops") || "").split(" ").filter(Boolean);
    idx.forEach(function (i) {
      var r = $('#ops rect[data-i="' + i + '"]');
      if (r) { r.classList.add("hl"); }
    });
    flash(mark);
    var item = document.getElementById(anchor + "-item");
    if (item) { item.classList.add("hl"); }
    if (idx.length) { showOp(+idx[0]); }
    return true;
  }

  $$("a.vlink").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      if (showViolation(a.dataset.viol)) { ev.preventDefault(); }
    });
  });
  $$("svg .vmark").forEach(function (m) {
    m.addEventListener("click", function () {
      showViolation(m.id);
      var item = document.getElementById(m.id + "-item");
      if (item) { item.scrollIntoView({ block: "center" }); }
    });
  });
  $$("a.oplink").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      var rect = document.getElementById(a.getAttribute("href").slice(1));
      if (!rect) { return; }
      ev.preventDefault();
      flash(rect);
      showOp(+rect.dataset.i);
    });
  });

  /* -- log panes --------------------------------------------------------------- */
  var tabs = $$(".tabs button");
  function showPane(id) {
    $$(".logpane").forEach(function (p) { p.classList.toggle("hidden", p.id !== id); });
    tabs.forEach(function (b) { b.classList.toggle("on", b.dataset.pane === id); });
  }
  tabs.forEach(function (b) {
    b.addEventListener("click", function () { showPane(b.dataset.pane); });
  });
  if (tabs.length) { showPane(tabs[0].dataset.pane); }

  function showLogLine(id) {
    var line = document.getElementById(id);
    if (!line || !line.classList.contains("ll")) { return false; }
    var pane = line.closest(".logpane");
    showPane(pane.id);
    $$(".ll.hl, .ll.target").forEach(function (l) { l.classList.remove("hl", "target"); });
    var t = parseFloat(line.dataset.t);
    if (!isNaN(t)) {
      $$(".ll", pane).forEach(function (l) {
        var lt = parseFloat(l.dataset.t);
        if (!isNaN(lt) && Math.abs(lt - t) <= 1.0) { l.classList.add("hl"); }
      });
    }
    line.classList.add("target");
    $("#logs").scrollIntoView({ block: "start" });
    pane.scrollTop = line.offsetTop - pane.offsetTop - pane.clientHeight / 3;
    return true;
  }
  $$("a.loglink").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      if (showLogLine(a.getAttribute("href").slice(1))) { ev.preventDefault(); }
    });
  });
  if (location.hash) {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!showLogLine(id) && id.indexOf("viol-") === 0) { showViolation(id); }
  }
  document.body.dataset.ready = "1";
})();
