// The catalogue record picker of the upload form: search as you type, pick a record, and the
// form's title, authors, type, year and languages are filled from it (the server links the
// uploaded document to the record and derives its description from the record anyway).
(function () {
  "use strict";
  var box = document.querySelector(".record-picker");
  if (!box) { return; }
  var input = document.getElementById("record-search");
  var list = document.getElementById("record-results");
  var hidden = document.getElementById("record_id");
  var chosen = document.getElementById("record-chosen");
  var timer = null;

  function setField(id, value) {
    var el = document.getElementById(id);
    if (el && value !== null && value !== undefined && value !== "") { el.value = value; }
  }

  function choose(record) {
    hidden.value = record.id;
    chosen.textContent = "#" + record.id + " " + record.title + (record.year ? ", " + record.year : "");
    setField("title", record.title);
    setField("authors", (record.authors || []).join("\n"));
    setField("doc_type", record.doc_type);
    setField("year", record.year);
    setField("langs", record.langs);
    list.innerHTML = "";
  }

  function show(records) {
    list.innerHTML = "";
    records.forEach(function (record) {
      var item = document.createElement("li");
      item.setAttribute("role", "option");
      item.tabIndex = 0;
      item.textContent = record.title + (record.authors.length ? " / " + record.authors.join("; ") : "") +
        (record.year ? ", " + record.year : "") + (record.host ? " // " + record.host : "");
      item.addEventListener("click", function () { choose(record); });
      item.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); choose(record); } });
      list.appendChild(item);
    });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2) { list.innerHTML = ""; return; }
    timer = setTimeout(function () {
      fetch(box.dataset.searchUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.json(); }).then(show).catch(function () { list.innerHTML = ""; });
    }, 200);
  });

  var preset = new URLSearchParams(window.location.search).get("record_id") || hidden.value;
  if (preset && /^\d+$/.test(preset)) {
    fetch(box.dataset.recordUrl.replace(/0\.json$/, preset + ".json"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; }).then(function (r) { if (r) { choose(r); } });
  }
}());
