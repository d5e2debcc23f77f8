// Draws the dashboard's charts with the vendored Chart.js (analytics/vendor/chart.umd.min.js).
(function () {
  "use strict";
  var source = document.getElementById("analytics-charts");
  if (!source || typeof window.Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var common = { responsive: true, maintainAspectRatio: false, animation: false };

  new window.Chart(document.getElementById("chart-funnel"), {
    type: "bar",
    data: { labels: data.funnel.labels, datasets: [{ label: "Conversations", data: data.funnel.counts, backgroundColor: "#417690" }] },
    options: Object.assign({ indexAxis: "y", plugins: { title: { display: true, text: "Funnel" }, legend: { display: false } } }, common),
  });
  new window.Chart(document.getElementById("chart-dropoff"), {
    type: "bar",
    data: {
      labels: data.dropoff.labels,
      datasets: [
        { label: "Answered", data: data.dropoff.answered, backgroundColor: "#79aec8" },
        { label: "Left there", data: data.dropoff.left, backgroundColor: "#ba2121" },
      ],
    },
    options: Object.assign({ plugins: { title: { display: true, text: "Drop-off per question" } }, scales: { x: { stacked: true }, y: { stacked: true } } }, common),
  });
  new window.Chart(document.getElementById("chart-fallback"), {
    type: "line",
    data: { labels: data.fallback.labels, datasets: [{ label: "% not understood", data: data.fallback.rates, borderColor: "#ba2121", pointRadius: 0 }] },
    options: Object.assign({ plugins: { title: { display: true, text: "Fallback rate per day (UTC)" } }, scales: { y: { beginAtZero: true } } }, common),
  });
})();
