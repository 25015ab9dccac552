/* The overview's charts (ECharts, vendored). Data comes from the page's JSON block; every chart has
   its table beside it (the 表格 toggle). Hover shows the fraction, never only a percentage. */
(function () {
  "use strict";
  var block = document.getElementById("chart-data");
  if (!block || !window.echarts) { return; }
  var data = JSON.parse(block.textContent);
  var narrow = window.innerWidth < 640;
  var RED = "#c62828", GREEN = "#2e7d32", GREY = "#bdbdbd";
  var PALETTE = ["#1d5fbf", "#5b8ff9", "#61ddaa", "#f6bd16", "#7262fd", "#78d3f8"];
  var charts = [];
  var waiting = 0;
  window.rendaCharts = charts;
  function drawn() { if (waiting === 0) { document.body.setAttribute("data-charts", "drawn"); } }
  function make(id, option, empty) {
    var el = document.getElementById(id);
    if (!el) { return; }
    if (empty) { el.textContent = empty; el.className += " empty"; return; }
    var c = echarts.init(el, null, { renderer: "canvas" });
    waiting += 1;
    c.on("finished", function once() { c.off("finished", once); waiting -= 1; drawn(); });
    c.setOption(option);
    charts.push(c);
  }
  var base = { textStyle: { fontFamily: '"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif' }, animation: false };
  function merge(a, b) { var o = {}; for (var k in a) { o[k] = a[k]; } for (var j in b) { o[j] = b[j]; } return o; }

  var r = data.rates;
  var anyRate = r.series.some(function (s) {
    return s.data.some(function (d) { return d && d.value !== null && d.value !== undefined; });
  });
  make("chart-rates", merge(base, {
    color: PALETTE,
    legend: { top: 0, type: "scroll" },
    grid: { left: 40, right: 12, top: 36, bottom: 60 },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (ps) {
      var lines = [ps[0].axisValue];
      ps.forEach(function (p) {
        var d = p.data || {};
        lines.push(p.marker + p.seriesName + "：" + (d.value === null || d.value === undefined ? "—（无可计算的事项）" : d.value + "%（" + d.frac + "）"));
      });
      return lines.join("<br>");
    } },
    xAxis: { type: "category", data: r.labels, axisLabel: { interval: 0, rotate: r.labels.length > 6 ? 35 : 0 } },
    yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    series: r.series.map(function (s) {
      return { name: s.name, type: "bar", data: s.data, barMaxWidth: 14,
        markLine: s.total === null ? undefined : { symbol: "none", silent: false, label: { show: false },
          lineStyle: { type: "dashed" }, data: [{ yAxis: s.total, name: "全辖区 " + s.total + "%（" + s.total_frac + "）" }],
          tooltip: { formatter: function (p) { return s.name + " 全辖区：" + p.name; } } } };
    })
  }), !r.labels.length ? "辖区内还没有乡镇（街道）。"
    : anyRate ? null : "暂无可计算的比率：本年度还没有到期、答复或评价的建议（分母均为 0）。");

  var t = data.trend;
  make("chart-trend", merge(base, {
    color: [RED],
    grid: { left: 40, right: 16, top: 20, bottom: 30 },
    tooltip: { trigger: "axis", formatter: function (ps) { return ps[0].axisValue + " 月末：逾期 " + ps[0].value + " 件"; } },
    xAxis: { type: "category", data: t.labels },
    yAxis: { type: "value", minInterval: 1, axisLabel: { formatter: "{value} 件" } },
    series: [{ type: "line", data: t.data, areaStyle: { opacity: 0.12 }, symbolSize: 6 }]
  }));

  var u = data.units;
  make("chart-units", merge(base, {
    grid: { left: 110, right: 60, top: 10, bottom: 24 },
    tooltip: { trigger: "item", formatter: function (p) {
      var d = p.data; return p.name + "<br>满意率：" + d.value + "%（" + d.frac + "）<br>不满意：" + d.unsatisfied + " 件" + (d.over ? "（超限）" : "");
    } },
    xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", data: u.labels, axisLabel: { width: 100, overflow: "truncate" } },
    series: [{ type: "bar", barMaxWidth: 14, data: u.data.map(function (d) {
      return { value: d.value, frac: d.frac, over: d.over, unsatisfied: d.unsatisfied, itemStyle: { color: d.over ? RED : "#1d5fbf" } };
    }), label: { show: true, position: "right", formatter: function (p) { return p.data.over ? p.value + "% 超限" : p.value + "%"; } } }]
  }), u.labels.length ? null : "还没有代表评价。");

  var c = data.cadence;
  var colour = { held: GREEN, missed: RED, pending: GREY };
  var word = { held: "已召开", missed: "未召开", pending: "未到期" };
  make("chart-cadence", merge(base, {
    grid: { left: 110, right: 70, top: 24, bottom: 24 },
    tooltip: { trigger: "item", formatter: function (p) {
      var d = p.data; return c.labels[d.value[1]] + " 第" + (d.value[0] + 1) + "季度：" + word[d.state] + (d.n ? "（" + d.n + " 次）" : "") + "<br>最长间隔：" + (c.gaps[d.value[1]] || "—");
    } },
    xAxis: { type: "category", data: narrow ? ["一季度", "二季度", "三季度", "四季度"] : ["第一季度", "第二季度", "第三季度", "第四季度"],
      position: "top", splitLine: { show: true }, axisLabel: { interval: 0 } },
    yAxis: { type: "category", data: c.labels, inverse: true, axisLabel: { width: 100, overflow: "truncate" } },
    series: [{ type: "scatter", symbol: "roundRect", symbolSize: [34, 16], data: c.points.map(function (p) {
      return { value: [p.x, p.y], n: p.n, state: p.state, itemStyle: { color: colour[p.state] } };
    }), label: { show: true, color: "#fff", fontSize: 10, formatter: function (p) { return p.data.n ? String(p.data.n) : ""; } } }]
  }), c.labels.length ? null : "没有乡镇（街道办事处不召开主席团会议）。");

  drawn();
  window.addEventListener("resize", function () { charts.forEach(function (x) { x.resize(); }); });
})();
