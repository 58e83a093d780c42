// Draws the dashboard's chart from the figures in <script type="application/json" id="chart-data">
// with the vendored Chart.js (no inline script under the CSP): a horizontal bar chart of one
// figure by prison, region or category ("kind": "bar"), or a line of one figure by quarter
// ("kind": "line"). A figure that has no bar or dot of its own says why: "marks" names it for
// each point, and a suppressed or unpublished one is drawn as a labelled band across its slot
// (hatched when suppressed), never as 0 and never as a gap that looks like nothing.
(function () {
  'use strict'
  var source = document.getElementById('chart-data')
  var canvas = document.getElementById('dashboard-chart')
  if (!source || !canvas || typeof window.Chart === 'undefined') {
    return
  }
  var figures = JSON.parse(source.textContent)
  var horizontal = figures.kind === 'bar'
  var ink = '#0b0c0c'
  var blue = '#0072B2' // Okabe and Ito's blue: safe for colour-blind readers, 5:1 on white
  var grey = '#505a5f'

  // Bars are drawn one a row, so a long list stays readable on a phone: the box grows with it.
  if (horizontal) {
    canvas.parentNode.style.height = Math.max(160, figures.labels.length * 34 + 60) + 'px'
  }

  function hatch (context) {
    var tile = document.createElement('canvas')
    tile.width = tile.height = 8
    var pen = tile.getContext('2d')
    pen.fillStyle = '#ffffff'
    pen.fillRect(0, 0, 8, 8)
    pen.strokeStyle = grey
    pen.lineWidth = 1.5
    pen.beginPath()
    pen.moveTo(0, 8)
    pen.lineTo(8, 0)
    pen.moveTo(-2, 2)
    pen.lineTo(2, -2)
    pen.moveTo(6, 10)
    pen.lineTo(10, 6)
    pen.stroke()
    return context.createPattern(tile, 'repeat')
  }

  function label (context, text, x, y, rotate) {
    context.save()
    context.translate(x, y)
    if (rotate) {
      context.rotate(-Math.PI / 2)
    }
    context.font = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif'
    context.textAlign = horizontal ? 'left' : 'center'
    context.textBaseline = 'middle'
    var width = context.measureText(text).width
    context.fillStyle = '#ffffff'
    context.fillRect(horizontal ? -3 : -width / 2 - 3, -9, width + 6, 18)
    context.fillStyle = ink
    context.fillText(text, 0, 0)
    context.restore()
  }

  // Draws each mark after the bars or the line, so a band never hides a published figure.
  var marks = {
    id: 'continuumMarks',
    afterDatasetsDraw: function (chart) {
      var context = chart.ctx
      var area = chart.chartArea
      var axis = horizontal ? chart.scales.y : chart.scales.x
      var count = figures.labels.length
      var slot = (horizontal ? area.bottom - area.top : area.right - area.left) / Math.max(count, 1)
      var band = Math.min(slot * 0.8, horizontal ? 26 : 48)
      figures.marks.forEach(function (mark, index) {
        if (!mark) {
          return
        }
        var centre = axis.getPixelForValue(index)
        if (mark === 'no member service') {
          // A known zero keeps its 0 and the reason is written beside it; an average there has
          // no families to stand on, so only the reason is written.
          var text = figures.data[index] === null ? mark : '0: ' + mark
          var at = horizontal ? chart.scales.x.getPixelForValue(0) + 6 : centre
          label(context, text, at, horizontal ? centre : area.top + 12, false)
          return
        }
        context.save()
        context.fillStyle = mark === 'suppressed' ? hatch(context) : '#f3f2f1'
        context.strokeStyle = grey
        if (horizontal) {
          context.fillRect(area.left, centre - band / 2, area.right - area.left, band)
          context.strokeRect(area.left, centre - band / 2, area.right - area.left, band)
        } else {
          context.fillRect(centre - band / 2, area.top, band, area.bottom - area.top)
          context.strokeRect(centre - band / 2, area.top, band, area.bottom - area.top)
        }
        context.restore()
        if (horizontal) {
          label(context, mark, area.left + 8, centre, false)
        } else {
          label(context, mark, centre, (area.top + area.bottom) / 2, true)
        }
      })
    }
  }

  var dataset = {
    label: figures.series,
    data: figures.data,
    backgroundColor: blue,
    borderColor: blue,
    borderWidth: horizontal ? 0 : 3,
    pointRadius: 5,
    pointHoverRadius: 7,
    spanGaps: false
  }
  new window.Chart(canvas, {
    type: horizontal ? 'bar' : 'line',
    data: { labels: figures.labels, datasets: [dataset] },
    plugins: [marks],
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: horizontal ? 'y' : 'x',
      plugins: {
        title: { display: false, text: figures.title },
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: function (context) {
              var mark = figures.marks[context.dataIndex]
              return context.dataset.label + ': ' + (mark || context.formattedValue)
            }
          }
        }
      },
      scales: {
        x: horizontal
          ? { beginAtZero: true, title: { display: true, text: figures.series, color: ink } }
          : { offset: true, ticks: { autoSkip: false, maxRotation: 0, color: ink } },
        y: horizontal
          ? { ticks: { autoSkip: false, color: ink } }
          : { beginAtZero: true, title: { display: true, text: figures.series, color: ink } }
      }
    }
  })
})()
