// The impact graph of a CI page: draws the JSON that the impact panel carries in its
// data-graph attribute with Cytoscape.js, and redraws it whenever htmx swaps the panel.
(function () {
  "use strict";

  var COLOURS = { start: "#2456a6", service: "#e8590c", other: "#adb5bd" };

  function elements(data) {
    return data.nodes.concat(data.edges);
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
    var roots = data.nodes.filter(function (node) {
      return node.data.start;
    }).map(function (node) {
      return "#" + node.data.id;
    });
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
      layout: {
        name: "breadthfirst",
        directed: false,
        roots: roots,
        spacingFactor: 1.1,
        padding: 24,
        animate: false
      }
    });
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
