// Live updates: poll the page's JSON twin and patch statuses in place. No framework, no network beyond this server.
"use strict";
(function () {
  // The server's own tables (showcase.reporting.STATUS_STYLES, showcase.statuses.TERMINAL), given in the page.
  const STATUSES = JSON.parse(document.getElementById("statuses").textContent);
  const TERMINAL = new Set(STATUSES.terminal);
  const CLASSES = STATUSES.tones;

  function setBadge(el, status) {
    if (!el || el.textContent === status) return;
    el.textContent = status;
    el.className = "badge s-" + (CLASSES[status] || "idle");
  }

  function poll(url, every, apply) {
    let stopped = false;
    async function tick() {
      if (stopped) return;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
        if (response.ok && apply(await response.json()) === false) stopped = true;
      } catch (_) { /* the server may be restarting: try again next tick */ }
      if (!stopped) setTimeout(tick, every);
    }
    setTimeout(tick, every);
  }

  function applyExecution(data) {
    setBadge(document.getElementById("execution-status"), data.status);
    const duration = document.getElementById("execution-duration");
    if (duration) duration.textContent = data.duration_text;
    for (const step of data.steps) {
      const node = document.querySelector('.dag [data-step="' + CSS.escape(step.name) + '"]');
      if (node && node.dataset.status !== step.status) {
        node.dataset.status = step.status;
        node.setAttribute("class", "node status-" + step.status);
        const label = node.querySelector(".node-status");
        if (label) label.textContent = step.type + " · " + step.status;
      }
      setBadge(document.querySelector('[data-step-status="' + CSS.escape(step.name) + '"]'), step.status);
      const cell = document.querySelector('[data-step-duration="' + CSS.escape(step.name) + '"]');
      if (cell) cell.textContent = step.duration_text;
      const failure = document.querySelector('[data-step-failure="' + CSS.escape(step.name) + '"]');
      if (failure) failure.textContent = step.failure_reason || "";
    }
    const before = document.body.dataset.status;
    document.body.dataset.status = data.status;
    // A run that just ended: reload once for the failure reason and the retry button.
    if (TERMINAL.has(data.status) && before && !TERMINAL.has(before)) { location.reload(); return false; }
    return true;
  }

  function applyList(data) {
    for (const e of data.executions) {
      const badge = document.querySelector('[data-execution="' + CSS.escape(e.execution_id) + '"]');
      if (!badge) { location.reload(); return false; }  // a new execution started
      setBadge(badge, e.status);
    }
    return true;
  }

  function applyEndpoint(data) {
    for (const key of ["requests", "errors", "mean_latency_ms", "p95_latency_ms"]) {
      const cell = document.querySelector('[data-metric="' + key + '"]');
      const value = data[key];
      if (cell) cell.textContent = value === null ? "-" : (key === "mean_latency_ms" ? value.toFixed(2) : String(value));
    }
    return true;
  }

  const body = document.body.dataset;
  if (body.pollExecution) poll(body.pollExecution, 1000, applyExecution);
  if (body.pollList) poll(body.pollList, 2000, applyList);
  if (body.pollEndpoint) poll(body.pollEndpoint, 2000, applyEndpoint);

  // An error page's "Back" goes back in history (a link to the executions without script). No inline
  // script anywhere: the pages' Content-Security-Policy runs only this file.
  for (const link of document.querySelectorAll("a[data-back]")) {
    link.addEventListener("click", function (event) {
      if (history.length > 1) { event.preventDefault(); history.back(); }
    });
  }

  // Long-running executions: tell the reader the page is live.
  if (body.pollExecution && !TERMINAL.has(body.status || "")) document.title = "● " + document.title;
})();
