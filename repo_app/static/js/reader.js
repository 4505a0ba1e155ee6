// The reader without a mouse: arrow keys turn pages, "n"/"p" jump between matches; the first
// match is scrolled into view when zoomed in; "Copy" copies the permalink. Everything here is
// an enhancement: the page works the same without JavaScript (links, forms, SVG highlights).
(function () {
  "use strict";
  var reader = document.getElementById("reader");
  if (!reader) { return; }

  function follow(selector) {
    var link = reader.querySelector(selector);
    if (link && link.href) { window.location.href = link.href; return true; }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable)) {
      return;
    }
    var done = false;
    if (event.key === "ArrowLeft") { done = follow("a.prev-page"); }
    else if (event.key === "ArrowRight") { done = follow("a.next-page"); }
    else if (event.key === "n") { done = follow("a.next-hit"); }
    else if (event.key === "p") { done = follow("a.prev-hit"); }
    if (done) { event.preventDefault(); }
  });

  // Bring the first match into view inside a zoomed scan (the viewport scrolls on its own).
  var viewport = reader.querySelector(".scan-viewport");
  var first = reader.querySelector("svg.highlights rect.hl");
  function reveal() {
    if (!viewport || !first) { return; }
    var box = first.getBoundingClientRect();
    var frame = viewport.getBoundingClientRect();
    viewport.scrollLeft += box.left - frame.left - frame.width / 3;
    viewport.scrollTop += box.top - frame.top - frame.height / 3;
  }
  var image = reader.querySelector("img.scan-image");
  if (image && !image.complete) { image.addEventListener("load", reveal); } else { reveal(); }

  // "Copy" buttons next to read-only fields (hidden without JavaScript).
  Array.prototype.forEach.call(reader.querySelectorAll("button.copy[data-copy]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.setAttribute("aria-live", "polite");
        button.textContent = button.textContent.replace(/…?$/, " ✓");
      });
    });
  });
}());
