// The atlas's only script: ← → follow the page's prev/next links, the search box opens `layer:index`,
// and a layer page's units can be sorted. ATLAS_INDEX (atlas-index.js) lists every layer and unit.
(function () {
  "use strict";
  var root = document.body.dataset.root || "";
  var here = document.body.dataset.layer;
  var layers = (window.ATLAS_INDEX || {layers: []}).layers;

  document.addEventListener("keydown", function (event) {
    var typing = /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName);
    var rel = {ArrowLeft: "prev", ArrowRight: "next"}[event.key];
    if (typing || !rel || event.altKey || event.ctrlKey || event.metaKey) return;
    var link = document.querySelector('a[rel="' + rel + '"]');
    if (link) location.href = link.href;
  });

  function findLayer(name) {
    var lower = name.toLowerCase();
    var exact = layers.filter(function (l) { return l.name.toLowerCase() === lower || l.stem === name; });
    if (exact.length) return exact[0];
    var partial = layers.filter(function (l) { return l.name.toLowerCase().indexOf(lower) >= 0; });
    return partial.length === 1 ? partial[0] : null;
  }

  function unitPage(layer, index) {
    return root + layer.stem + "/unit_" + ("000" + index).slice(-4) + ".html";
  }

  // `layer:index`, `layer` (its page) or, on a layer's pages, a bare `index`: the URL, or a message why not.
  function resolve(query) {
    var text = query.trim(), colon = text.lastIndexOf(":"), bare = /^\d+$/.test(text);
    var name = colon >= 0 ? text.slice(0, colon).trim() : (bare ? here : text);
    var number = colon >= 0 ? text.slice(colon + 1).trim() : (bare ? text : "");
    if (!name) return {message: "type layer:index, e.g. " + (layers[0] ? layers[0].name + ":0" : "conv1:0")};
    var layer = findLayer(name);
    if (!layer) return {message: "no layer '" + name + "' here; layers: " + layers.map(function (l) {
      return l.name; }).join(", ")};
    if (number === "") return {url: root + layer.stem + "/index.html"};
    var index = /^\d+$/.test(number) ? parseInt(number, 10) : -1;
    if (layer.units.indexOf(index) < 0) return {message: layer.name + " has units " + layer.span + " here"};
    return {url: unitPage(layer, index)};
  }

  var form = document.getElementById("search");
  if (form) form.addEventListener("submit", function (event) {
    event.preventDefault();
    var found = resolve(document.getElementById("search-box").value);
    if (found.url) location.href = found.url;
    else document.getElementById("search-message").textContent = found.message;
  });

  var sort = document.getElementById("sort");
  var grid = document.getElementById("units");
  var keys = {
    index: function (f) { return [+f.dataset.index]; },
    activation: function (f) { return [-f.dataset.activation, +f.dataset.index]; },
    dead: function (f) { return [+f.dataset.alive, +f.dataset.index]; }
  };
  function compare(a, b) {
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  }
  if (sort && grid) sort.addEventListener("change", function () {
    var key = keys[sort.value];
    Array.from(grid.children).map(function (f) { return [key(f), f]; })
      .sort(function (a, b) { return compare(a[0], b[0]); })
      .forEach(function (pair) { grid.appendChild(pair[1]); });
  });
})();
