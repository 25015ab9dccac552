/* Table sorting and filtering, opening the chart tables for printing, the date picker's max. No inline script. */
(function () {
  "use strict";
  function cellValue(td) {
    var v = td.getAttribute("data-sort");
    if (v === null) { v = td.textContent.trim(); }
    var m = /^-?\d+(\.\d+)?/.exec(v);
    return m ? { n: parseFloat(m[0]) } : { s: v };
  }
  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) { return a.n - b.n; }
    return String(a.s !== undefined ? a.s : a.n).localeCompare(String(b.s !== undefined ? b.s : b.n), "zh-CN");
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      th.setAttribute("tabindex", "0");
      th.title = "点击排序";
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > col; });
        rows.sort(function (r1, r2) {
          var c = compare(cellValue(r1.cells[col]), cellValue(r2.cells[col]));
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    input.addEventListener("input", function () {
      var table = document.getElementById(input.getAttribute("data-table"));
      if (!table) { return; }
      var words = input.value.trim();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = words !== "" && r.textContent.indexOf(words) === -1;
      });
    });
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.charttable").forEach(function (d) { d.open = true; });
    if (window.rendaCharts) { window.rendaCharts.forEach(function (c) { c.resize(); }); }
  });
  var picker = document.getElementById("as_of");
  if (picker && !picker.max) {
    var d = new Date();
    picker.max = d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }
})();
