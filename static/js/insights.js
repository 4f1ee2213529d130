/* Manager dashboards: draw each <canvas data-chart="ID"> from the JSON in <script id="ID"
 * type="application/json"> (written by Django's json_script; data blocks are not executed, so the
 * strict CSP is happy). The table behind every chart is in the page for screen readers and print. */
(function () {
  "use strict";

  var PALETTE = ["#1f4e5f", "#b4552d", "#5a8f3e", "#c49a1b", "#6b5b95", "#2a8c9e", "#a0436b", "#7a7a7a", "#3d6fb6", "#8d6e3f"];
  var TONES = { bad: "#a12a2a", good: "#1d6b3a" };

  function colour(dataset, index) {
    return TONES[dataset.tone] || PALETTE[index % PALETTE.length];
  }

  function money(value) {
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: 0 });
  }

  function build(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || !window.Chart || canvas.dataset.built) return;
    canvas.dataset.built = "1";
    var spec = JSON.parse(source.textContent);
    var round = spec.type === "doughnut";
    var axes = {};
    var datasets = spec.datasets.map(function (d, i) {
      var c = colour(d, i);
      var ds = {
        label: d.label,
        data: d.data,
        type: d.type || undefined,
        backgroundColor: round ? spec.labels.map(function (_l, j) { return PALETTE[j % PALETTE.length]; }) : c,
        borderColor: round ? "#fff" : c,
        borderWidth: d.type === "line" || spec.type === "line" ? 3 : 1,
        pointRadius: 3,
        spanGaps: true,
        tension: 0.25,
        order: d.type === "line" ? 0 : 1
      };
      if (!round && d.axis) {
        var id = spec.horizontal ? (d.axis === "score" ? "x2" : "x") : (d.axis === "score" ? "y2" : "y");
        ds[spec.horizontal ? "xAxisID" : "yAxisID"] = id;
        axes[id] = d.axis;
      }
      return ds;
    });
    var scales = {};
    if (!round) {
      var valueAxis = spec.horizontal ? "x" : "y";
      var categoryAxis = spec.horizontal ? "y" : "x";
      scales[categoryAxis] = { stacked: !!spec.stacked, grid: { display: false }, ticks: { autoSkip: true } };
      scales[valueAxis] = { stacked: !!spec.stacked, beginAtZero: true };
      if (axes[valueAxis] === "money") scales[valueAxis].ticks = { callback: money };
      Object.keys(axes).forEach(function (id) {
        if (axes[id] === "score") {
          scales[id] = {
            position: spec.horizontal ? "top" : "right",
            min: spec.scoreRange ? spec.scoreRange[0] : undefined,
            max: spec.scoreRange ? spec.scoreRange[1] : undefined,
            grid: { drawOnChartArea: id === valueAxis }
          };
        }
      });
      if (!Object.keys(axes).length && spec.scoreRange) {
        scales[valueAxis].min = spec.scoreRange[0];
        scales[valueAxis].max = spec.scoreRange[1];
      }
    }
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: spec.horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: round ? "right" : "bottom", labels: { boxWidth: 14, font: { size: 13 } } } },
        scales: scales
      }
    });
  }

  function openTablesForPrint() {
    document.querySelectorAll("details.chart-table").forEach(function (d) { d.open = true; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.Chart) {
      window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      window.Chart.defaults.color = "#4a5a64";
    }
    document.querySelectorAll("canvas[data-chart]").forEach(build);
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { openTablesForPrint(); window.print(); });
    });
    window.addEventListener("beforeprint", openTablesForPrint);
    // Parts swapped in by htmx (figures the worker has just counted) bring their own charts.
    document.body.addEventListener("htmx:load", function (event) {
      event.detail.elt.querySelectorAll("canvas[data-chart]").forEach(build);
    });
  });
})();
