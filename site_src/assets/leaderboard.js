/* zoocards leaderboard: sort by a column; show one group, one family or rows matching some words;
   hide latency columns, or every column in which no shown figure was re-run.
   Plain JavaScript with no dependency and no network access, so the site works offline.
   Loaded on every page (mkdocs extra_javascript); it does nothing where there is no
   #zc-leaderboard marker. Without it the table is whole, and still scrolls with its first
   column and scroll cue (zoocards.css). */
(function () {
  "use strict";

  // The figure of a cell without its status badge (a mismatch badge carries a number too).
  function cellText(cell) {
    var copy = cell.cloneNode(true);
    copy.querySelectorAll(".zc-badge").forEach(function (badge) { badge.remove(); });
    return copy.textContent.trim();
  }

  // What a cell holds, for the "not re-run" toggle: nothing, only figures not re-run, or
  // anything else (a re-run figure, a figure measured here, a name, an input size).
  var EMPTY = 0, NOT_RUN = 1, SHOWN = 2;
  function cellState(cell) {
    if (cellText(cell) === "") return EMPTY;
    var badges = cell.querySelectorAll(".zc-badge");
    if (!badges.length) return SHOWN;
    for (var i = 0; i < badges.length; i += 1) {
      if (!badges[i].classList.contains("zc-not_run")) return SHOWN;
    }
    return NOT_RUN;
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

  // The family page a row links to: "../models/resnet.md", "../../models/resnet/#model-resnet50" -> "resnet".
  var FAMILY_LINK = /(?:^|\/)models\/([^\/#?]+?)(?:\.md|\.html)?(?:[\/#?]|$)/;
  function familyOf(row) {
    var links = row.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i += 1) {
      var found = FAMILY_LINK.exec(links[i].getAttribute("href"));
      if (found) return decodeURIComponent(found[1]);
    }
    return "";
  }

  function option(value, text) {
    var item = document.createElement("option");
    item.value = value;
    item.textContent = text;
    return item;
  }

  function labelled(text, control) {
    var label = document.createElement("label");
    label.className = "zc-control";
    label.appendChild(document.createTextNode(text + " "));
    label.appendChild(control);
    return label;
  }

  function init() {
    var marker = document.getElementById("zc-leaderboard");
    if (!marker || marker.dataset.ready) return;
    var table = findTable(marker);
    if (!table || !table.tBodies.length) return;
    marker.dataset.ready = "true";
    table.setAttribute("data-zc-leaderboard", "");  // an attribute, not a class: Material styles only class-less tables
    // Its scroll box (Material's wrapper) gets a screen's height, so the header can stay in view.
    var scroller = table.closest(".md-typeset__scrollwrap");
    if (scroller) scroller.classList.add("zc-leaderboard-scroll");
    var body = table.tBodies[0];
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var rows = Array.prototype.slice.call(body.rows);
    var groups = [];
    try { groups = JSON.parse(marker.dataset.groups || "[]"); } catch (error) { groups = []; }
    var groupOf = {};
    groups.forEach(function (group) { group[1].forEach(function (family) { groupOf[family[0]] = group[0]; }); });
    // Per row, worked out once: its family, its group, its text for the filter and each cell's state.
    var info = rows.map(function (row, index) {
      row.dataset.order = String(index);
      var family = familyOf(row);
      return {
        family: family,
        group: groupOf[family] || "",
        text: row.textContent.toLowerCase(),
        states: Array.prototype.map.call(row.cells, cellState),
      };
    });
    rows.forEach(function (row, index) { row.zcInfo = info[index]; });

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

    // A column is hidden when its checkbox is off, or when the toggle is on and no shown row has
    // anything in it but figures not re-run.
    var switchedOff = headers.map(function () { return false; });
    var hideNotRun = document.createElement("input");
    hideNotRun.type = "checkbox";
    function showColumns() {
      var shown = rows.filter(function (row) { return !row.hidden; });
      headers.forEach(function (header, column) {
        var hide = switchedOff[column];
        if (!hide && hideNotRun.checked) {
          hide = !shown.some(function (row) { return row.zcInfo.states[column] === SHOWN; });
        }
        var display = hide ? "none" : "";
        if (header.style.display === display) return;
        header.style.display = display;
        rows.forEach(function (row) { row.cells[column].style.display = display; });
      });
    }
    hideNotRun.addEventListener("change", showColumns);

    // The filters: a group, a family of it, and words that must all occur in the row.
    var filter = document.createElement("input");
    filter.type = "search";
    filter.className = "zc-filter";
    filter.placeholder = marker.dataset.filterLabel || "Filter";
    filter.setAttribute("aria-label", filter.placeholder);
    var groupSelect = document.createElement("select");
    groupSelect.appendChild(option("", marker.dataset.allGroups || "All groups"));
    groups.forEach(function (group) { groupSelect.appendChild(option(group[0], group[0] + " (" + group[1].length + ")")); });
    var familySelect = document.createElement("select");
    function listFamilies() {
      var keep = familySelect.value;
      familySelect.textContent = "";
      familySelect.appendChild(option("", marker.dataset.allFamilies || "All families"));
      groups.forEach(function (group) {
        if (groupSelect.value && group[0] !== groupSelect.value) return;
        var block = document.createElement("optgroup");
        block.label = group[0];
        group[1].forEach(function (family) { block.appendChild(option(family[0], family[1])); });
        familySelect.appendChild(block);
      });
      familySelect.value = keep;
      if (familySelect.value !== keep) familySelect.value = "";  // the family is not in the chosen group
    }
    var count = document.createElement("span");
    count.className = "zc-count";
    count.setAttribute("aria-live", "polite");
    function apply() {
      var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      var group = groupSelect.value, family = familySelect.value;
      var shown = 0;
      rows.forEach(function (row) {
        var rowInfo = row.zcInfo;
        var match = (!group || rowInfo.group === group) && (!family || rowInfo.family === family) &&
          words.every(function (word) { return rowInfo.text.indexOf(word) !== -1; });
        row.hidden = !match;
        if (match) shown += 1;
      });
      count.textContent = shown + " / " + rows.length + " " + (marker.dataset.countLabel || "");
      showColumns();
    }
    filter.addEventListener("input", apply);
    groupSelect.addEventListener("change", function () { listFamilies(); apply(); });
    familySelect.addEventListener("change", apply);
    listFamilies();
    if (groups.length) {
      marker.appendChild(labelled(marker.dataset.groupLabel || "Group", groupSelect));
      marker.appendChild(labelled(marker.dataset.familyLabel || "Family", familySelect));
    }
    marker.appendChild(filter);
    marker.appendChild(count);
    var toggle = document.createElement("label");
    toggle.className = "zc-control";
    toggle.appendChild(hideNotRun);
    toggle.appendChild(document.createTextNode(" " + (marker.dataset.hideNotRunLabel || "Hide columns not re-run")));
    marker.appendChild(toggle);

    // One checkbox per latency column, folded away: a large zoo has a dozen of them.
    var toggles = document.createElement("details");
    toggles.className = "zc-toggles";
    var boxes = document.createElement("div");
    headers.forEach(function (header, column) {
      if (!header.querySelector(".zc-col-latency")) return;
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = true;
      box.addEventListener("change", function () { switchedOff[column] = !box.checked; showColumns(); });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + header.textContent.trim()));
      boxes.appendChild(label);
    });
    if (boxes.childNodes.length) {
      var title = document.createElement("summary");
      title.textContent = (marker.dataset.columnsLabel || "Columns") + " (" + boxes.childNodes.length + ")";
      toggles.appendChild(title);
      toggles.appendChild(boxes);
      marker.appendChild(toggles);
    }
    apply();
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
