// Draws the dashboard's chart from the figures in <script type="application/json" id="chart-data">
// with the vendored Chart.js (no inline script under the CSP). Suppressed figures are null in the
// data and are drawn as gaps; the table under the chart has every figure and says "suppressed".
(function () {
  'use strict'
  var source = document.getElementById('chart-data')
  var canvas = document.getElementById('dashboard-chart')
  if (!source || !canvas || typeof window.Chart === 'undefined') {
    return
  }
  var figures = JSON.parse(source.textContent)
  // Colour-blind-safe palette (Okabe and Ito), repeated when a table has more columns.
  var palette = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000']
  var datasets = figures.datasets.map(function (series, index) {
    var colour = palette[index % palette.length]
    return { label: series.label, data: series.data, backgroundColor: colour, borderColor: colour }
  })
  new window.Chart(canvas, {
    type: 'bar',
    data: { labels: figures.labels, datasets: datasets },
    options: {
      animation: false,
      responsive: true,
      plugins: {
        title: { display: false, text: figures.title },
        legend: { display: datasets.length > 1, position: 'bottom' },
        tooltip: {
          callbacks: {
            label: function (context) {
              var value = context.raw === null ? 'suppressed' : context.formattedValue
              return context.dataset.label + ': ' + value
            }
          }
        }
      },
      scales: { y: { beginAtZero: true } }
    }
  })
})()
