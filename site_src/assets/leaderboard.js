/* zoocards leaderboard: sort by a column, filter rows, hide latency columns.
   Plain JavaScript with no dependency and no network access, so the site works offline.
   Loaded on every page (mkdocs extra_javascript); it does nothing where there is no
   #zc-leaderboard marker. */
(function () {
  "use strict";

  // The figure of a cell without its status badge (a mismatch badge carries a number too).
  function cellText(cell) {
    var copy = cell.cloneNode(true);
    copy.querySelectorAll(".zc-badge").forEach(function (badge) { badge.remove(); });
    return copy.textContent.trim();
  }

  function asNumber(text) {
    return /^[-+]?\d+(\.\d+)?$/.test(text) ? parseFloat(text) : null;
  }

  // Numbers by value, before text; text in natural order ("B2" before "B10"); empty last.
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  function compareKeys(a, b) {
    if (a.number !== null && b.number !== null) return a.number - b.number;
    if (a.number !== null) return -1;
    if (b.number !== null) return 1;
    return collator.compare(a.text, b.text);
  }

  function findTable(marker) {
    for (var node = marker.nextElementSibling; node; node = node.nextElementSibling) {
      var table = node.matches("table") ? node : node.querySelector("table");
      if (table) return table;
    }
    return null;
  }

  function init() {
    var marker = document.getElementById("zc-leaderboard");
    if (!marker || marker.dataset.ready) return;
    var table = findTable(marker);
    if (!table || !table.tBodies.length) return;
    marker.dataset.ready = "true";
    table.setAttribute("data-zc-leaderboard", "");  // an attribute, not a class: Material styles only class-less tables
    var body = table.tBodies[0];
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, index) { row.dataset.order = String(index); });

    function sortBy(column, descending) {
      var keyed = rows.map(function (row) {
        var text = cellText(row.cells[column]);
        return { row: row, text: text, number: asNumber(text), order: Number(row.dataset.order) };
      });
      keyed.sort(function (a, b) {
        var emptyA = a.text === "", emptyB = b.text === "";
        if (emptyA !== emptyB) return emptyA ? 1 : -1;  // rows without the figure stay at the bottom
        var order = compareKeys(a, b);
        if (descending) order = -order;
        return order || a.order - b.order;
      });
      keyed.forEach(function (item) { body.appendChild(item.row); });
      headers.forEach(function (header, index) {
        header.setAttribute("aria-sort", index === column ? (descending ? "descending" : "ascending") : "none");
      });
    }

    headers.forEach(function (header, column) {
      header.classList.add("zc-sortable");
      header.tabIndex = 0;
      header.setAttribute("aria-sort", "none");
      function activate() { sortBy(column, header.getAttribute("aria-sort") === "ascending"); }
      header.addEventListener("click", activate);
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); activate(); }
      });
    });

    // The filter: every word typed must occur somewhere in the row.
    var filter = document.createElement("input");
    filter.type = "search";
    filter.className = "zc-filter";
    filter.placeholder = marker.dataset.filterLabel || "Filter";
    filter.setAttribute("aria-label", filter.placeholder);
    var count = document.createElement("span");
    count.className = "zc-count";
    function showCount(shown) { count.textContent = shown + " / " + rows.length + " " + (marker.dataset.countLabel || ""); }
    filter.addEventListener("input", function () {
      var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var text = row.textContent.toLowerCase();
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        row.hidden = !match;
        if (match) shown += 1;
      });
      showCount(shown);
    });
    showCount(rows.length);
    marker.appendChild(filter);
    marker.appendChild(count);

    // One checkbox per latency column.
    var toggles = document.createElement("span");
    toggles.className = "zc-toggles";
    headers.forEach(function (header, column) {
      if (!header.querySelector(".zc-col-latency")) return;
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = true;
      box.addEventListener("change", function () {
        var display = box.checked ? "" : "none";
        header.style.display = display;
        rows.forEach(function (row) { row.cells[column].style.display = display; });
      });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + header.textContent.trim()));
      toggles.appendChild(label);
    });
    if (toggles.childNodes.length) {
      var title = document.createElement("span");
      title.className = "zc-toggles-title";
      title.textContent = (marker.dataset.columnsLabel || "Columns") + ":";
      toggles.insertBefore(title, toggles.firstChild);
      marker.appendChild(toggles);
    }
  }

  // Material's document$ fires on every page load (and on instant navigation, if enabled).
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
