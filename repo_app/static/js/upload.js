// The upload form checks the chosen files before sending them: a file whose first bytes are not
// those of a page image or a PDF (a text file renamed .png, an empty file) is named on the form,
// and the form is not sent, so the files and fields chosen stay as they are. The server checks
// again (modules/digitization/ingest.py, refuse_unusable): this only saves a round trip.
// Files may also be dropped onto the form (added to those chosen, each once); without script
// the file field works as any other.
(function () {
  "use strict";
  const input = document.getElementById("files");
  const form = input && input.form;
  const list = document.getElementById("files-check");
  if (!form || !list) return;
  const words = list.dataset;

  function startsWith(bytes, signature, offset) {
    return signature.every((b, i) => bytes[(offset || 0) + i] === b);
  }

  function kind(bytes) {
    if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47])) return "png";
    if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
    if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return "tiff";
    if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d])) return "pdf";
    if (startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])) return "jp2";
    if (startsWith(bytes, [0xff, 0x4f, 0xff, 0x51])) return "j2k";
    if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return "webp";
    if (startsWith(bytes, [0x42, 0x4d])) return "bmp";
    return null;
  }

  async function problems() {
    const found = [];
    for (const file of input.files) {
      if (file.size === 0) {
        found.push(file.name + " (" + words.empty + ")");
        continue;
      }
      const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
      if (!kind(head)) found.push(file.name + " (" + words.notImage + ")");
    }
    return found;
  }

  function show(found) {
    list.replaceChildren(...found.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
    list.hidden = found.length === 0;
    input.setAttribute("aria-invalid", found.length ? "true" : "false");
  }

  const zone = document.getElementById("files-drop");
  const chosen = document.createElement("p");

  function hasFiles(event) {
    return event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
  }

  function showChosen() {
    const names = Array.from(input.files, (file) => file.name);
    chosen.textContent = names.length ? zone.dataset.chosen + " " + names.join(", ") : "";
  }

  function add(files) {
    const all = new DataTransfer();
    const seen = new Set();
    for (const file of [...input.files, ...files]) {
      const key = file.name + "\u0000" + file.size + "\u0000" + file.lastModified;
      if (seen.has(key)) continue;
      seen.add(key);
      all.items.add(file);
    }
    input.files = all.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  if (zone && typeof DataTransfer === "function") {
    const hint = document.createElement("p");
    hint.className = "drop-hint";
    hint.textContent = zone.dataset.hint;
    chosen.className = "drop-chosen";
    chosen.id = "files-chosen";
    chosen.setAttribute("aria-live", "polite");
    zone.append(hint, chosen);
    let depth = 0;
    form.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      zone.classList.add("dragging");
    });
    form.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    form.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) zone.classList.remove("dragging");
    });
    form.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();  // not the browser opening the file in place of the form
      depth = 0;
      zone.classList.remove("dragging");
      add(event.dataTransfer.files);
    });
    input.addEventListener("change", showChosen);
  }

  input.addEventListener("change", async () => show(await problems()));
  form.addEventListener("submit", async (event) => {
    if (form.dataset.checked === "yes") return;
    event.preventDefault();
    const found = await problems();
    show(found);
    if (found.length === 0) {
      form.dataset.checked = "yes";
      form.requestSubmit();
    } else {
      input.focus();
    }
  });
})();
