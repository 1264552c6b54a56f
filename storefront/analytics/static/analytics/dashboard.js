/* Draws the sales chart of the staff dashboard from the JSON that the page embeds
   (#sales-chart-data: {currency, interval, series: [{period_start, orders, items, revenue}]}).
   Chart.js is served from this app's static files: no CDN. */
(function () {
  "use strict";

  function drawSalesChart() {
    var canvas = document.getElementById("sales-chart");
    var source = document.getElementById("sales-chart-data");
    if (!canvas || !source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var series = data.series;
    // Amounts show two decimals, as everywhere in the admin: the tooltip shows the server's
    // decimal string itself, the axis its ticks rounded to the cent.
    function revenueLabel(context) {
      if (context.dataset.yAxisID !== "revenue") {
        return context.dataset.label + ": " + context.formattedValue;
      }
      return context.dataset.label + ": " + series[context.dataIndex].revenue;
    }
    new window.Chart(canvas, {
      data: {
        labels: series.map(function (point) { return point.period_start; }),
        datasets: [
          {
            type: "bar",
            label: "Revenue (" + data.currency + ")",
            // Amounts arrive as decimal strings; the chart only needs them for drawing.
            data: series.map(function (point) { return Number(point.revenue); }),
            backgroundColor: "rgba(65, 118, 144, 0.7)",
            yAxisID: "revenue",
            order: 2
          },
          {
            type: "line",
            label: "Orders",
            data: series.map(function (point) { return point.orders; }),
            borderColor: "rgb(194, 78, 0)",
            backgroundColor: "rgb(194, 78, 0)",
            yAxisID: "orders",
            order: 1
          }
        ]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { tooltip: { callbacks: { label: revenueLabel } } },
        scales: {
          revenue: { type: "linear", position: "left", beginAtZero: true,
                     ticks: { callback: function (value) { return Number(value).toFixed(2); } },
                     title: { display: true, text: data.currency } },
          orders: { type: "linear", position: "right", beginAtZero: true,
                    ticks: { precision: 0 }, grid: { drawOnChartArea: false },
                    title: { display: true, text: "orders" } }
        }
      }
    });
    canvas.dataset.chartReady = "true";
  }

  document.addEventListener("DOMContentLoaded", drawSalesChart);
})();
