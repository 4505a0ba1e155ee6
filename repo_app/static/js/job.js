// Live progress of scan jobs: polls /api/jobs/<id> and updates progress bars in place.
// The page works without it (a <noscript> refresh); when the job ends, reload for the final table.
(function () {
  "use strict";
  const bars = document.querySelectorAll("progress[data-job]");
  const status = document.getElementById("job-status");
  if (!bars.length) return;
  const finished = (s) => s === "done" || s === "failed";
  async function poll() {
    let pending = 0;
    for (const bar of bars) {
      const id = bar.dataset.job;
      try {
        const r = await fetch("/api/jobs/" + id, { headers: { Accept: "application/json" } });
        if (!r.ok) continue;
        const j = await r.json();
        bar.max = j.pages_total;
        bar.value = j.pages_done + j.pages_failed;
        const counts = document.querySelector('[data-job-counts="' + id + '"]');
        if (counts) counts.textContent = j.pages_done + " ✓ · " + j.pages_failed + " ✗ · " + j.pages_total;
        if (status && status.dataset.status !== j.status) {
          const wasRunning = !finished(status.dataset.status);
          status.dataset.status = j.status;
          const labels = JSON.parse(status.dataset.labels || "{}");
          status.textContent = labels[j.status] || j.status;
          if (wasRunning && finished(j.status)) { window.location.reload(); return; }
        }
        if (!finished(j.status)) pending++;
      } catch (e) { pending++; }
    }
    if (pending) setTimeout(poll, 1000);
  }
  setTimeout(poll, 500);
})();
