// The impact graph of a CI page: draws the JSON that the impact panel carries in its
// data-graph attribute with Cytoscape.js, and redraws it whenever htmx swaps the panel.
(function () {
  "use strict";

  var COLOURS = { start: "#2456a6", service: "#e8590c", other: "#adb5bd" };

  function elements(data) {
    return data.nodes.concat(data.edges);
  }

  // Rows by distance from the CI (the CI on top), at most PER_ROW CIs a row, so that a
  // failure's reach reads from top to bottom; each row is centred.
  var PER_ROW = 10;
  var X_GAP = 150;
  var Y_GAP = 90;

  function layeredPositions(cy) {
    var levels = {};
    cy.nodes().forEach(function (node) {
      var distance = node.data("distance") || 0;
      (levels[distance] = levels[distance] || []).push(node.id());
    });
    var positions = {};
    var row = 0;
    Object.keys(levels).map(Number).sort(function (a, b) {
      return a - b;
    }).forEach(function (distance) {
      var ids = levels[distance];
      for (var start = 0; start < ids.length; start += PER_ROW) {
        var chunk = ids.slice(start, start + PER_ROW);
        chunk.forEach(function (id, index) {
          positions[id] = { x: (index - (chunk.length - 1) / 2) * X_GAP, y: row * Y_GAP };
        });
        row += 1;
      }
    });
    return function (node) {
      return positions[node.id()];
    };
  }

  function draw() {
    var container = document.querySelector("[data-ci-graph]");
    if (!container || !window.cytoscape) {
      return;
    }
    var data = JSON.parse(container.dataset.graph);
    if (window.cmdbGraph) {
      window.cmdbGraph.destroy();
    }
    var font = window.getComputedStyle(document.body).fontFamily;
    var cy = window.cytoscape({
      container: container,
      elements: elements(data),
      wheelSensitivity: 0.3,
      minZoom: 0.2,
      maxZoom: 2.5,
      style: [
        {
          selector: "node",
          style: {
            "background-color": COLOURS.other,
            label: "data(label)",
            "font-family": font,
            "font-size": 11,
            color: "#212529",
            "text-valign": "bottom",
            "text-margin-y": 4,
            "text-wrap": "ellipsis",
            "text-max-width": 140,
            width: 22,
            height: 22
          }
        },
        { selector: "node[service != '']", style: { "background-color": COLOURS.service, shape: "round-rectangle" } },
        {
          selector: "node[?start]",
          style: { "background-color": COLOURS.start, width: 30, height: 30, "font-weight": "bold" }
        },
        { selector: "node[status = 'retired']", style: { opacity: 0.5 } },
        {
          selector: "edge",
          style: {
            width: 1.5,
            "line-color": "#ced4da",
            "target-arrow-color": "#ced4da",
            "target-arrow-shape": "triangle",
            "curve-style": "bezier",
            label: "data(label)",
            "font-family": font,
            "font-size": 9,
            color: "#6c757d",
            "text-rotation": "autorotate",
            "text-background-color": "#fbfcfe",
            "text-background-opacity": 1,
            "text-background-padding": 1
          }
        }
      ],
      layout: { name: "preset" }
    });
    // Roots as a collection: CI ids are numbers, and "#12" is no valid selector, so a
    // selector string would match nothing and flatten every CI onto one row.
    // Lay out only once the container has its size (right after an htmx swap it may not
    // yet), and never zoom a small graph up to giant nodes.
    function layout() {
      if (!container.clientHeight) {
        window.requestAnimationFrame(layout);
        return;
      }
      cy.resize();
      cy.layout({
        name: "preset",
        positions: layeredPositions(cy),
        fit: true,
        padding: 30,
        animate: false
      }).run();
      if (cy.zoom() > 1.2) {
        cy.zoom(1.2);
        cy.center();
      }
    }
    layout();
    cy.on("tap", "node", function (event) {
      var node = event.target;
      if (node.data("start")) {
        return;
      }
      window.location.href = container.dataset.ciUrl.replace("/0/", "/" + node.id() + "/");
    });
    cy.on("mouseover", "node", function () {
      container.classList.add("is-pointing");
    });
    cy.on("mouseout", "node", function () {
      container.classList.remove("is-pointing");
    });
    // Exposed for the browser tests and for people poking at the page.
    window.cmdbGraph = cy;
  }

  document.addEventListener("DOMContentLoaded", draw);
  if (document.readyState !== "loading") {
    draw();
  }
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "impact-panel") {
      draw();
    }
  });
})();
