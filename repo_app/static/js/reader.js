// The reader without a mouse: arrow keys turn pages, "n"/"p" jump between matches, "+"/"-"
// zoom, "s" shows one or two pages, "f" is full screen; the first match is scrolled into view
// when zoomed in; a zoomed scan is dragged with the mouse (fingers scroll it natively); "Copy"
// copies the permalink. Everything here is an enhancement: the page works the same without
// JavaScript (links, forms, SVG highlights), except full screen, which needs it.
//
// Full screen (the Fullscreen API) is the whole reader article. Leaving the page would leave
// full screen, so there the page links are followed by fetching the next page and putting its
// reader in place of this one (same URL, same HTML as without script; history is kept).
(function () {
  "use strict";
  var reader = document.getElementById("reader");
  if (!reader) { return; }
  var NAV = "a.prev-page, a.next-page, a.prev-hit, a.next-hit, a.zoom-in, a.zoom-out, a.spread-toggle, ol.thumbs a, figcaption.sheet-number a, ol.hit-pages a";

  function inFullscreen() { return document.fullscreenElement === reader; }

  function go(href) {
    if (!inFullscreen() || !window.fetch || !window.DOMParser) { window.location.href = href; return; }
    fetch(href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      var next = new DOMParser().parseFromString(html, "text/html");
      var fresh = next.getElementById("reader");
      if (!fresh) { throw new Error("no reader"); }
      reader.className = fresh.className;
      reader.setAttribute("data-seq", fresh.getAttribute("data-seq"));
      reader.innerHTML = fresh.innerHTML;
      document.title = next.title;
      history.pushState(null, "", href);
      enhance();
    }).catch(function () { window.location.href = href; });
  }

  function follow(selector) {
    var link = reader.querySelector(selector);
    if (link && link.href) { go(link.href); return true; }
    return false;
  }

  function toggleFullscreen() {
    if (inFullscreen()) { document.exitFullscreen(); }
    else if (document.fullscreenEnabled) { reader.requestFullscreen().catch(function () {}); }
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
    else if (event.key === "+" || event.key === "=") { done = follow("a.zoom-in"); }
    else if (event.key === "-" || event.key === "−") { done = follow("a.zoom-out"); }
    else if (event.key === "s") { done = follow("a.spread-toggle"); }
    else if (event.key === "f" && document.fullscreenEnabled) { toggleFullscreen(); done = true; }
    if (done) { event.preventDefault(); }
  });

  // The full-screen button; in full screen, page links swap the reader in place (see above).
  reader.addEventListener("click", function (event) {
    if (!event.target.closest) { return; }
    if (event.target.closest("button.fullscreen")) { toggleFullscreen(); return; }
    if (!inFullscreen() || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    var link = event.target.closest(NAV);
    if (link && link.href) { event.preventDefault(); go(link.href); }
  });
  document.addEventListener("fullscreenchange", function () {
    var button = reader.querySelector("button.fullscreen");
    if (!button) { return; }
    var on = inFullscreen();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = button.getAttribute(on ? "data-leave" : "data-enter");
  });
  window.addEventListener("popstate", function () {
    if (inFullscreen()) { go(window.location.href); } else { window.location.reload(); }
  });

  // Drag a zoomed scan with the mouse (touch scrolls it natively).
  var drag = null;
  reader.addEventListener("pointerdown", function (event) {
    var viewport = event.target.closest ? event.target.closest(".scan-viewport") : null;
    if (!viewport || event.pointerType !== "mouse" || event.button !== 0) { return; }
    if (viewport.scrollWidth <= viewport.clientWidth && viewport.scrollHeight <= viewport.clientHeight) { return; }
    if (event.target.closest("a")) { return; }
    drag = { viewport: viewport, x: event.clientX, y: event.clientY, left: viewport.scrollLeft, top: viewport.scrollTop };
    viewport.classList.add("panning");
    event.preventDefault();
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    drag.viewport.scrollLeft = drag.left - (event.clientX - drag.x);
    drag.viewport.scrollTop = drag.top - (event.clientY - drag.y);
  });
  document.addEventListener("pointerup", function () {
    if (drag) { drag.viewport.classList.remove("panning"); drag = null; }
  });

  function enhance() {
    var button = reader.querySelector("button.fullscreen");
    if (button && document.fullscreenEnabled) {
      button.hidden = false;
      var on = inFullscreen();
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = button.getAttribute(on ? "data-leave" : "data-enter");
    }
    var viewport = reader.querySelector(".scan-viewport");
    // Bring the first match into view inside a zoomed scan (the viewport scrolls on its own).
    var first = reader.querySelector("svg.highlights rect.hl");
    function reveal() {
      if (!viewport) { return; }
      if (viewport.scrollWidth > viewport.clientWidth || viewport.scrollHeight > viewport.clientHeight) {
        viewport.classList.add("can-pan");
      }
      if (!first) { return; }
      var box = first.getBoundingClientRect();
      var frame = viewport.getBoundingClientRect();
      viewport.scrollLeft += box.left - frame.left - frame.width / 3;
      viewport.scrollTop += box.top - frame.top - frame.height / 3;
    }
    var image = reader.querySelector("img.scan-image");
    if (image && !image.complete) { image.addEventListener("load", reveal); } else { reveal(); }

    // "Copy" buttons next to read-only fields (hidden without JavaScript).
    Array.prototype.forEach.call(reader.querySelectorAll("button.copy[data-copy]"), function (copy) {
      var field = document.getElementById(copy.getAttribute("data-copy"));
      if (!field || !navigator.clipboard) { return; }
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          copy.setAttribute("aria-live", "polite");
          copy.textContent = copy.textContent.replace(/…?$/, " ✓");
        });
      });
    });
  }
  enhance();
}());
