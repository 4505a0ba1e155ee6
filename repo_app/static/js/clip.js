// The clipping screen: draw, move, resize and order rectangles on a page of an issue, accept
// the blocks the OCR found, see the OCR text of the selection, save it all as an article.
// Regions are kept in pixels of the stored page image, per issue in sessionStorage, so going
// to another page of the issue (or a refused save) loses nothing.
(function () {
  "use strict";
  const stage = document.getElementById("clip-stage");
  if (!stage) return;
  const overlay = document.getElementById("clip-overlay");
  const list = document.getElementById("clip-regions");
  const empty = document.getElementById("clip-empty");
  const textBox = document.getElementById("clip-text");
  const form = document.getElementById("clip-form");
  const field = document.getElementById("clip-regions-field");
  const labels = document.getElementById("clip-labels").dataset;
  const status = document.getElementById("clip-status");
  const proposals = JSON.parse(document.getElementById("clip-proposals").textContent || "[]");
  const page = Number(stage.dataset.page);
  const width = Number(stage.dataset.width);
  const height = Number(stage.dataset.height);
  const key = "mura-clip-" + stage.dataset.document;
  const MIN = 8; // stored pixels: smaller drags are clicks

  let regions = load(key);
  if (!regions.length && new URLSearchParams(location.search).get("retry")) {
    regions = load(key + "-sent"); // the save was refused: its regions come back
  }
  let chosen = regions.length ? regions.length - 1 : -1;
  let drag = null;
  let splitting = -1; // the region to split at the next click, or -1

  function load(name) {
    try { return JSON.parse(sessionStorage.getItem(name) || "[]"); } catch (e) { return []; }
  }
  function store() { sessionStorage.setItem(key, JSON.stringify(regions)); }
  function scale() { return stage.getBoundingClientRect().width / width; }
  function clamp(r) {
    r.w = Math.max(1, Math.min(Math.round(r.w), width));
    r.h = Math.max(1, Math.min(Math.round(r.h), height));
    r.x = Math.max(0, Math.min(Math.round(r.x), width - r.w));
    r.y = Math.max(0, Math.min(Math.round(r.y), height - r.h));
    return r;
  }
  function place(el, r) {
    const s = scale();
    el.style.left = r.x * s + "px";
    el.style.top = r.y * s + "px";
    el.style.width = r.w * s + "px";
    el.style.height = r.h * s + "px";
  }
  function point(event) {
    const box = stage.getBoundingClientRect();
    const s = scale();
    return { x: (event.clientX - box.left) / s, y: (event.clientY - box.top) / s };
  }
  function same(a, b) { return a.page === b.page && a.x === b.x && a.y === b.y && a.w === b.w && a.h === b.h; }

  function render() {
    overlay.textContent = "";
    for (const p of proposals) {
      if (regions.some((r) => same(r, p))) continue;
      const el = document.createElement("div");
      el.className = "clip-proposal";
      el.title = labels.proposal;
      el.dataset.proposal = "1";
      place(el, p);
      el.addEventListener("pointerdown", (e) => {
        e.stopPropagation();
        regions.push(Object.assign({}, p));
        chosen = regions.length - 1;
        changed();
      });
      overlay.appendChild(el);
    }
    regions.forEach((r, i) => {
      if (r.page !== page) return;
      const el = document.createElement("div");
      el.className = "clip-box" + (i === chosen ? " chosen" : "");
      el.dataset.index = String(i);
      place(el, r);
      const number = document.createElement("span");
      number.className = "clip-number";
      number.textContent = String(i + 1);
      const handle = document.createElement("span");
      handle.className = "clip-handle";
      el.append(number, handle);
      el.addEventListener("pointerdown", (e) => {
        e.stopPropagation();
        chosen = i;
        const start = point(e);
        drag = { mode: e.target === handle ? "resize" : "move", index: i, start, from: Object.assign({}, r) };
        stage.setPointerCapture(e.pointerId);
        render();
      });
      overlay.appendChild(el);
    });
    list.textContent = "";
    regions.forEach((r, i) => {
      const li = document.createElement("li");
      if (i === chosen) li.className = "chosen";
      li.dataset.index = String(i);
      const what = document.createElement("span");
      what.textContent = labels.page + " " + r.page + ": " + r.x + "," + r.y + "," + r.w + "," + r.h;
      li.appendChild(what);
      const buttons = [["up", labels.up], ["down", labels.down], ["merge", labels.merge], ["split", labels.split], ["remove", labels.remove]];
      for (const [name, label] of buttons) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "secondary clip-" + name;
        b.textContent = label;
        b.addEventListener("click", () => act(name, i));
        li.appendChild(b);
      }
      list.appendChild(li);
    });
    empty.hidden = regions.length > 0;
    textBox.textContent = regions.map((r) => r.text || "").filter(Boolean).join("\n\n");
    if (field) field.value = JSON.stringify(regions.map(({ page, x, y, w, h }) => ({ page, x, y, w, h })));
  }

  function act(name, i) {
    if (i < 0 || i >= regions.length) return;
    if (name === "split") {
      // The next click on the page says where: the server cuts between the OCR's lines.
      if (regions[i].page !== page) return;
      splitting = i;
      chosen = i;
      stage.classList.add("splitting");
      status.textContent = labels.splitting;
      render();
      return;
    }
    if (name === "remove") {
      regions.splice(i, 1);
      chosen = Math.min(i, regions.length - 1);
    } else if (name === "merge") {
      // One rectangle around this region and the next of the same page (two blocks the OCR
      // split, one article).
      const next = regions[i + 1];
      const r = regions[i];
      if (!next || next.page !== r.page) return;
      const x1 = Math.max(r.x + r.w, next.x + next.w);
      const y1 = Math.max(r.y + r.h, next.y + next.h);
      r.x = Math.min(r.x, next.x);
      r.y = Math.min(r.y, next.y);
      r.w = x1 - r.x;
      r.h = y1 - r.y;
      delete r.sig;
      regions.splice(i + 1, 1);
      chosen = i;
    } else {
      const j = name === "up" ? i - 1 : i + 1;
      if (j < 0 || j >= regions.length) return;
      [regions[i], regions[j]] = [regions[j], regions[i]];
      chosen = j;
    }
    changed();
  }

  let pending = null;
  function changed() {
    store();
    render();
    clearTimeout(pending);
    pending = setTimeout(fetchTexts, 150);
  }
  async function fetchTexts() {
    for (const r of regions) {
      if (r.page !== page) continue;
      const sig = [r.x, r.y, r.w, r.h].join(",");
      if (r.sig === sig) continue;
      const url = stage.dataset.textUrl + "?x=" + r.x + "&y=" + r.y + "&w=" + r.w + "&h=" + r.h;
      try {
        const answer = await fetch(url, { headers: { Accept: "application/json" } });
        if (!answer.ok) continue;
        r.text = (await answer.json()).text;
        r.sig = sig;
      } catch (e) { /* the text shows on the next change */ }
    }
    store();
    render();
  }

  function stopSplitting(message) {
    splitting = -1;
    stage.classList.remove("splitting");
    status.textContent = message || "";
  }
  async function split(i, at, axis) {
    const r = regions[i];
    const url = stage.dataset.splitUrl + "?x=" + r.x + "&y=" + r.y + "&w=" + r.w + "&h=" + r.h +
      "&at=" + Math.round(axis === "x" ? at.x : at.y) + "&axis=" + axis;
    let answer = null;
    try {
      answer = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await answer.json();
      if (!answer.ok) { stopSplitting(body.error || labels.splitFailed); return; }
      if (regions[i] !== r) { stopSplitting(labels.splitFailed); return; } // changed meanwhile
      regions.splice(i, 1, body.regions[0], body.regions[1]);
      chosen = i + 1;
      stopSplitting("");
      changed();
    } catch (e) {
      stopSplitting(labels.splitFailed);
    }
  }
  // Capture: in split mode a click anywhere on the page (also on a rectangle) is the cut.
  stage.addEventListener("pointerdown", (e) => {
    if (splitting < 0 || e.button !== 0) return;
    e.stopImmediatePropagation();
    e.preventDefault();
    split(splitting, point(e), e.shiftKey ? "x" : "y");
  }, true);
  stage.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    const start = point(e);
    const r = { page, x: start.x, y: start.y, w: 0, h: 0 };
    drag = { mode: "draw", region: r, start };
    stage.setPointerCapture(e.pointerId);
  });
  stage.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const at = point(e);
    const dx = at.x - drag.start.x;
    const dy = at.y - drag.start.y;
    if (drag.mode === "draw") {
      const r = drag.region;
      r.x = Math.min(drag.start.x, at.x);
      r.y = Math.min(drag.start.y, at.y);
      r.w = Math.abs(dx);
      r.h = Math.abs(dy);
      let ghost = overlay.querySelector(".clip-box.drawing");
      if (!ghost) {
        ghost = document.createElement("div");
        ghost.className = "clip-box drawing chosen";
        overlay.appendChild(ghost);
      }
      place(ghost, r);
    } else {
      const r = regions[drag.index];
      if (drag.mode === "move") {
        r.x = drag.from.x + dx;
        r.y = drag.from.y + dy;
      } else {
        r.w = drag.from.w + dx;
        r.h = drag.from.h + dy;
      }
      clamp(r);
      const el = overlay.querySelector('.clip-box[data-index="' + drag.index + '"]');
      if (el) place(el, r);
    }
  });
  stage.addEventListener("pointerup", () => {
    if (!drag) return;
    if (drag.mode === "draw") {
      const r = drag.region;
      if (r.w >= MIN && r.h >= MIN) {
        regions.push(clamp(r));
        chosen = regions.length - 1;
      }
    }
    drag = null;
    changed();
  });

  document.addEventListener("keydown", (e) => {
    const typing = e.target.closest && e.target.closest("input, textarea, select");
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape" && splitting >= 0) {
      stopSplitting("");
      render();
      return;
    }
    const r = regions[chosen];
    const step = 10;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (r && moves[e.key] && r.page === page) {
      const [dx, dy] = moves[e.key];
      if (e.shiftKey) { r.w += dx; r.h += dy; } else { r.x += dx; r.y += dy; }
      clamp(r);
      e.preventDefault();
      changed();
    } else if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      act("remove", chosen);
    } else if (e.key === "k" || e.key === "K") {
      act("split", chosen);
    } else if (e.key === "m" || e.key === "M") {
      act("merge", chosen);
    } else if (e.key === "[") {
      act("up", chosen);
    } else if (e.key === "]") {
      act("down", chosen);
    } else if (e.key === "n" || e.key === "N") {
      const next = document.querySelector('[data-page-link="' + (page + 1) + '"]');
      if (next) next.click();
    } else if ((e.key === "s" || e.key === "S") && form) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  if (form) {
    form.addEventListener("submit", () => {
      render();
      sessionStorage.setItem(key + "-sent", JSON.stringify(regions));
      sessionStorage.removeItem(key);
    });
    document.getElementById("clip-clear").addEventListener("click", () => {
      regions = [];
      chosen = -1;
      changed();
    });
  }
  window.addEventListener("resize", render);
  const img = document.getElementById("clip-image");
  if (img.complete) changed(); else img.addEventListener("load", changed);
})();
