// Draws the SLA dashboard's trend chart (attainment per month, met and breached counts)
// from the JSON the page embeds with json_script.
(function () {
  "use strict";

  var source = document.getElementById("sla-trend-data");
  var canvas = document.getElementById("sla-trend-chart");
  if (!source || !canvas || !window.Chart) {
    return;
  }
  var data = JSON.parse(source.textContent);
  // Same typeface as the page, which also covers Chinese labels.
  window.Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
  window.Chart.defaults.color = "#5b6577";

  window.slaTrendChart = new window.Chart(canvas, {
    data: {
      labels: data.labels,
      datasets: [
        {
          type: "line",
          label: data.percent_label,
          data: data.percent,
          yAxisID: "percent",
          borderColor: "#2456a6",
          backgroundColor: "#2456a6",
          spanGaps: true,
          tension: 0.2,
          order: 0
        },
        {
          type: "bar",
          label: data.met_label,
          data: data.met,
          yAxisID: "count",
          stack: "clocks",
          backgroundColor: "#8fd19e",
          borderRadius: 3,
          maxBarThickness: 28,
          order: 1
        },
        {
          type: "bar",
          label: data.breached_label,
          data: data.breached,
          yAxisID: "count",
          stack: "clocks",
          backgroundColor: "#f08c8c",
          borderRadius: 3,
          maxBarThickness: 28,
          order: 1
        }
      ]
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        percent: {
          position: "left",
          min: 0,
          max: 100,
          ticks: { callback: function (value) { return value + " %"; } }
        },
        count: {
          position: "right",
          beginAtZero: true,
          stacked: true,
          grid: { drawOnChartArea: false },
          ticks: { precision: 0 }
        },
        x: { stacked: true, grid: { display: false } }
      },
      plugins: { legend: { position: "bottom" } }
    }
  });
})();
