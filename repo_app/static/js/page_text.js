// Correction screen: zoom the page image in place (the zoom links reload the page without it,
// which would lose text typed and not saved yet).
(function () {
  "use strict";
  const image = document.getElementById("page-image");
  const tools = document.getElementById("zoom-tools");
  if (!image || !tools) return;
  tools.addEventListener("click", function (event) {
    const link = event.target.closest("a.zoom-step");
    if (!link) return;
    event.preventDefault();
    const zoom = link.dataset.zoom;
    image.src = link.dataset.src;
    image.width = Number(link.dataset.width);
    image.classList.toggle("zoomed", zoom !== "0");
    for (const other of tools.querySelectorAll("a.zoom-step")) {
      const current = other === link;
      other.classList.toggle("current", current);
      if (current) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    }
    tools.dataset.zoom = zoom;
  });
})();
