// Draws the dashboard charts from the JSON that the page embeds with json_script.
(function () {
  "use strict";

  var source = document.getElementById("volume-chart-data");
  var canvas = document.getElementById("volume-chart");
  if (!source || !canvas || !window.Chart) {
    return;
  }
  var data = JSON.parse(source.textContent);
  var colours = { opened: "#2456a6", resolved: "#2f9e44" };
  // Same typeface as the page, which also covers Chinese labels.
  window.Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
  window.Chart.defaults.color = "#5b6577";

  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: data.datasets.map(function (dataset) {
        return {
          label: dataset.label,
          data: dataset.data,
          backgroundColor: colours[dataset.key] || "#868e96",
          borderRadius: 4,
          maxBarThickness: 28
        };
      })
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        y: { beginAtZero: true, suggestedMax: 10, ticks: { precision: 0 } },
        x: { grid: { display: false } }
      },
      plugins: { legend: { position: "bottom" } }
    }
  });
})();
