// mhd live pages: keeps the figures marked `data-live` up to date from the WebSocket
// /ws/dashboard, reconnects with backoff, refreshes relative times, announces changes, and
// handles the page's preferences (contrast, text size) and notifications.
//
// Rules: text is only ever written with textContent or attributes, never as markup; no inline
// script or handler is needed, so the pages can run under `script-src 'self'`.
(() => {
  "use strict";

  const doc = document;
  const root = doc.documentElement;
  const PREFS = "mhd.prefs";
  const DASH = "—";

  // ---- formatting, as the server formats the same figures ----

  const thousands = (n) => Math.round(Number(n) || 0).toLocaleString("en-US");
  const percentRatio = (r) => (r == null || !isFinite(r) ? DASH : (r * 100).toFixed(1) + "%");
  const clampPct = (p) => (isFinite(p) ? Math.min(100, Math.max(0, p)) : 0);
  const num = (v) => String(Math.round(v * 100) / 100);
  const durationMs = (ms) => {
    if (ms == null || !isFinite(ms)) return DASH;
    if (ms < 1000) return ms.toFixed(1) + "ms";
    if (ms < 60000) return (ms / 1000).toFixed(1) + "s";
    if (ms < 3600000) return (ms / 60000).toFixed(1) + "m";
    return (ms / 3600000).toFixed(1) + "h";
  };
  const figureText = (key, v) => {
    if (v == null || !isFinite(v)) return DASH;
    if (key === "operations_per_second") return v.toFixed(2);
    if (key === "errors_per_minute") return v.toFixed(1);
    return durationMs(v);
  };
  const bytesText = (b) => (b >= 1073741824 ? (b / 1073741824).toFixed(1) + " GB" : (b / 1048576).toFixed(0) + " MB");
  const memoryText = (p, b) => {
    const hasP = p != null && isFinite(p);
    const hasB = b != null && isFinite(b);
    if (hasP && hasB) return p.toFixed(1) + "% · " + bytesText(b);
    if (hasP) return p.toFixed(1) + "%";
    if (hasB) return bytesText(b);
    return "no data";
  };
  const changeText = (c) => {
    if (c == null || !isFinite(c)) return "no previous window to compare";
    return (c >= 0 ? "+" : "") + c.toFixed(1) + "% vs the previous window";
  };
  const relative = (t, now) => {
    let secs = Math.trunc((now - t) / 1000);
    const future = secs < 0;
    if (future) secs = -secs;
    if (secs < 60) return "just now";
    const amount =
      secs < 3600 ? Math.floor(secs / 60) + "m" : secs < 86400 ? Math.floor(secs / 3600) + "h" : Math.floor(secs / 86400) + "d";
    return future ? "in " + amount : amount + " ago";
  };
  const HEALTH = {
    healthy: { symbol: "●", word: "Healthy", cls: "ok" },
    at_risk: { symbol: "▲", word: "At risk", cls: "warn" },
    critical: { symbol: "✗", word: "Critical", cls: "bad" },
  };

  // ---- writing into the page ----

  // A section marked `data-live-frozen` shows a span of the reader's choosing (the live page
  // over the last day, say): the pushed figures, of the last five minutes, are not written into
  // it; it is read again from the server instead (`data-live-refresh`).
  const every = (sel) => Array.from(doc.querySelectorAll(sel));
  const all = (sel) => every(sel).filter((el) => !el.closest("[data-live-frozen]"));
  const setText = (key, text) => {
    for (const el of all('[data-live="' + key + '"]')) {
      if (el.textContent !== text) el.textContent = text;
    }
  };

  const announcer = doc.querySelector("[data-live-announce]");
  const announce = (text) => {
    if (!announcer) return;
    // Clear first so the same sentence twice is still read.
    announcer.textContent = "";
    setTimeout(() => {
      announcer.textContent = text;
    }, 100);
  };

  let lastHealth = null;
  const applyHealth = (h) => {
    const badge = HEALTH[h];
    if (!badge) return;
    for (const el of all('[data-live="overall_health"]')) {
      el.classList.remove("ok", "warn", "bad");
      el.classList.add(badge.cls);
      const sym = doc.createElement("span");
      sym.setAttribute("aria-hidden", "true");
      sym.textContent = badge.symbol;
      el.replaceChildren(sym, doc.createTextNode(" " + badge.word));
    }
    if (lastHealth !== null && lastHealth !== h) {
      announce("Overall health changed to " + badge.word + ".");
      if (h === "critical") notify("Migration health is critical", "The overall health just became critical.");
    }
    lastHealth = h;
  };

  const applyBar = (p) => {
    for (const holder of all('[data-live="progress_bar"]')) {
      const bar = holder.querySelector('[role="progressbar"]');
      if (!bar) continue;
      bar.setAttribute("aria-valuenow", num(p));
      bar.setAttribute("aria-valuetext", num(p) + "%");
      const fill = bar.querySelector(".pf");
      if (fill) fill.setAttribute("width", num(p));
    }
  };

  // `progress:update` and the summary of `initial_data` share these fields.
  const applyProgress = (d) => {
    if (!d) return;
    if (typeof d.migration_progress === "number") {
      const p = clampPct(d.migration_progress);
      setText("migration_progress", p.toFixed(1) + "%");
      applyBar(p);
    }
    const k = d.key_metrics;
    if (k) {
      setText("datasets_migrated", thousands(k.datasets_migrated));
      setText("datasets_total", thousands(k.datasets_total));
      setText("success_rate", percentRatio(k.success_rate));
      setText("rollback_count", thousands(k.rollback_count));
    }
    if ("estimated_completion" in d) {
      const e = d.estimated_completion;
      setText("estimated_completion", e ? e.p85 : DASH);
      if (e) {
        setText("completion_range", "P50 " + e.p50 + " – P95 " + e.p95);
        const days = Math.abs(e.slip_days) + (Math.abs(e.slip_days) === 1 ? " day" : " days");
        const slip =
          e.slip_days > 0
            ? days + " after the planned end " + e.planned_end
            : e.slip_days < 0
              ? days + " before the planned end " + e.planned_end
              : "on the planned end " + e.planned_end;
        for (const el of all('[data-live="completion_slip"]')) {
          el.classList.remove("ok", "warn");
          el.classList.add(e.slip_days > 0 ? "warn" : "ok");
          const sym = doc.createElement("span");
          sym.setAttribute("aria-hidden", "true");
          sym.textContent = e.slip_days > 0 ? "⚠" : "✓";
          el.replaceChildren(sym, doc.createTextNode(" " + slip));
        }
      }
    }
    if (d.overall_health) applyHealth(d.overall_health);
  };

  const FIGURES = ["operations_per_second", "errors_per_minute", "mean_duration_ms", "p95_duration_ms"];
  const applyLive = (m) => {
    if (!m) return;
    for (const key of FIGURES) {
      const f = m[key];
      if (!f) continue;
      setText(key, figureText(key, f.value));
      for (const el of all('[data-live-change="' + key + '"]')) el.textContent = changeText(f.change_percent);
    }
    const pct = m.memory_percent || null;
    const bytes = m.memory_bytes || null;
    setText("memory", memoryText(pct && pct.value, bytes && bytes.value));
    const mem = pct || bytes;
    for (const el of all('[data-live-change="memory"]')) {
      el.textContent = mem ? changeText(mem.change_percent) : "no memory samples in the last two windows";
    }
    if (typeof m.active_migrations === "number") setText("active_migrations", thousands(m.active_migrations));
    if (typeof m.operations === "number") setText("window_operations", thousands(m.operations));
    if (typeof m.errors === "number") setText("window_errors", thousands(m.errors));
    if (m.generated_at) {
      for (const el of all('[data-live="live_as_of"]')) {
        el.setAttribute("datetime", m.generated_at);
        el.textContent = new Date(m.generated_at).toLocaleString();
      }
    }
  };

  let failing = null;
  const applyTests = (view) => {
    if (!view || !Array.isArray(view.suites)) return;
    const now = new Set();
    for (const s of view.suites) {
      for (const t of s.failing_tests || []) now.add(s.name + " › " + t.name);
    }
    if (failing !== null) {
      const fresh = Array.from(now).filter((n) => !failing.has(n));
      if (fresh.length === 1) announce("New failing test: " + fresh[0] + ".");
      else if (fresh.length > 1) announce(fresh.length + " new failing tests, among them " + fresh[0] + ".");
    }
    failing = now;
    setText("failing_total", thousands(view.failing_total));
  };

  // ---- sections read again from the server ----
  // A section marked `data-live-refresh` (the resource page's, the live metrics with their
  // charts, the charts and lists over time, the time range picker) shows what the pushes do
  // not carry: when a push says the data changed, the page's own HTML is fetched again (at
  // most every 10 s), with the page's query string so that its time range is kept, and the
  // section is replaced by its fresh copy. So every chart is drawn by the server alone, by one
  // set of geometry rules, and the pushed figures beside it update at once. The new nodes come from this
  // server's rendered page, parsed by DOMParser (which runs no script), never from pushed text.
  // A section holding the keyboard focus is left alone, so reading it is not interrupted.
  const REFRESH_MS = 10000;
  let refreshedAt = 0;
  let refreshTimer = null;
  const refreshSections = () => {
    if (refreshTimer || !doc.querySelector("[data-live-refresh][id]")) return;
    const wait = Math.max(0, refreshedAt + REFRESH_MS - Date.now());
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refreshedAt = Date.now();
      fetch(location.pathname + location.search, { headers: { Accept: "text/html" }, cache: "no-store" })
        .then((r) => (r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status))))
        .then((html) => {
          const fresh = new DOMParser().parseFromString(html, "text/html");
          for (const el of every("[data-live-refresh][id]")) {
            const next = fresh.getElementById(el.id);
            if (!next || !next.hasAttribute("data-live-refresh") || el.contains(doc.activeElement)) continue;
            el.replaceWith(doc.importNode(next, true));
          }
          refreshTimes();
        })
        .catch(() => {});
    }, wait);
  };

  // ---- alerts ----
  // `alert:new`, `alert:resolved` and `alert:updated` each carry one alert (or silence). New and
  // resolved alerts are announced; a critical one raises a browser notification when the user
  // allowed them. Then the overview's counts of firing alerts are read again from the API, and
  // the alerts panel (`data-alerts-panel`) is replaced by its fresh copy from this server's page,
  // parsed by DOMParser as above. A panel holding the keyboard focus waits until it loses it,
  // so nobody's typing is thrown away.
  const SEVERITIES = ["critical", "error", "warning", "info"];
  const applyAlertCounts = (active) => {
    if (!Array.isArray(active)) return;
    const n = { critical: 0, error: 0, warning: 0, info: 0 };
    for (const a of active) {
      if (a && a.state === "firing" && a.severity in n) n[a.severity] += 1;
    }
    for (const s of SEVERITIES) setText("alerts_" + s, String(n[s]));
  };
  // The title names the component already ("… on storage").
  const alertWords = (a) => (a.severity || "") + " alert: " + (a.title || "");
  let alertsTimer = null;
  let alertsWaiting = false;
  const refreshAlerts = () => {
    if (alertsTimer) return;
    alertsTimer = setTimeout(() => {
      alertsTimer = null;
      if (doc.querySelector('[data-live="alerts_critical"]')) {
        fetch("/api/v1/alerts?state=firing&limit=1000", { cache: "no-store" })
          .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
          .then((d) => applyAlertCounts(d.active))
          .catch(() => {});
      }
      const panel = doc.querySelector("[data-alerts-panel]");
      if (!panel) return;
      if (panel.contains(doc.activeElement)) {
        alertsWaiting = true;
        return;
      }
      fetch(location.pathname + location.search, { headers: { Accept: "text/html" }, cache: "no-store" })
        .then((r) => (r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status))))
        .then((html) => {
          const fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-alerts-panel]");
          const now = doc.querySelector("[data-alerts-panel]");
          if (!fresh || !now) return;
          if (now.contains(doc.activeElement)) {
            alertsWaiting = true;
            return;
          }
          now.replaceWith(doc.importNode(fresh, true));
          refreshTimes();
        })
        .catch(() => {});
    }, 300);
  };
  doc.addEventListener("focusout", () => {
    setTimeout(() => {
      const panel = doc.querySelector("[data-alerts-panel]");
      if (alertsWaiting && panel && !panel.contains(doc.activeElement)) {
        alertsWaiting = false;
        refreshAlerts();
      }
    }, 0);
  });

  // The panel's forms work without this script (they post and come back); with it they are
  // sent to the API and the panel is redrawn, keeping the page where it is.
  const showNotice = (form, text, error) => {
    const panel = form.closest("[data-alerts-panel]");
    const p = panel && panel.querySelector("[data-alerts-notice]");
    if (!p) return;
    p.hidden = false;
    p.className = error ? "alert" : "done";
    p.textContent = text;
  };
  const sendAlertForm = (form) => {
    const data = new FormData(form);
    const field = (k) => {
      const v = data.get(k);
      return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
    };
    let url;
    let method = "POST";
    let body = null;
    let done;
    if (form.hasAttribute("data-alert-ack")) {
      url = "/api/v1/alerts/acknowledge/" + encodeURIComponent(form.getAttribute("data-alert-ack"));
      body = { by: field("by"), comment: field("comment") };
      done = "Alert " + form.getAttribute("data-alert-ack") + " acknowledged.";
    } else if (form.hasAttribute("data-alert-silence")) {
      url = "/api/v1/alerts/silences";
      body = {
        rule: field("rule"),
        component: field("component"),
        duration: field("duration") || "",
        comment: field("comment"),
        by: field("by"),
      };
      done = "Silence added.";
    } else if (form.hasAttribute("data-alert-unsilence")) {
      url = "/api/v1/alerts/silences/" + encodeURIComponent(form.getAttribute("data-alert-unsilence"));
      method = "DELETE";
      done = "Silence removed.";
    } else {
      return false;
    }
    const init = { method, cache: "no-store", headers: {} };
    const csrf = doc.querySelector('meta[name="csrf-token"]');
    if (csrf) init.headers["X-CSRF-Token"] = csrf.getAttribute("content");
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    fetch(url, init)
      .then((r) => r.json().catch(() => ({})).then((j) => ({ ok: r.ok, j })))
      .then(({ ok, j }) => {
        let text = ok ? done : (j && j.error && j.error.message) || "The request failed.";
        // A second acknowledgement says whose it replaced.
        if (ok && j && j.replaced && typeof j.replaced.by === "string") {
          text = "Alert " + j.alert_id + " acknowledged, replacing " + j.replaced.by + "'s acknowledgement.";
        }
        announce(text);
        showNotice(form, text, !ok);
        if (ok) {
          if (form.contains(doc.activeElement)) doc.activeElement.blur();
          refreshAlerts();
        }
      })
      .catch(() => {
        const text = "The request failed: the server cannot be reached.";
        announce(text);
        showNotice(form, text, true);
      });
    return true;
  };
  doc.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (form instanceof HTMLFormElement && form.closest("[data-alerts-panel]") && sendAlertForm(form)) {
      ev.preventDefault();
    }
  });

  // ---- relative times ----

  const refreshTimes = () => {
    const now = Date.now();
    for (const el of all("time[datetime][data-relative]")) {
      const t = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(t)) el.textContent = relative(t, now);
    }
  };

  // ---- connection ----

  const tools = doc.querySelector("[data-live-tools]");
  const status = doc.querySelector("[data-live-status]");
  const setStatus = (text, on) => {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("on", on);
    status.classList.toggle("off", !on);
  };

  // A page showing a chosen time range (the picker carries `data-range-query`) takes its test
  // results from the server's page for that range, never from the pushes, which are as of now.
  const ranged = doc.querySelector("[data-range-query]") !== null;
  const handle = (msg) => {
    const d = msg.data;
    switch (msg.type) {
      case "initial_data":
        if (d.summary) applyProgress(d.summary);
        applyLive(d.live);
        if (!ranged) applyTests(d.tests);
        applyAlertCounts(d.alerts);
        break;
      case "progress:update":
        applyProgress(d);
        refreshSections();
        break;
      case "metrics:update":
        applyLive(d);
        refreshSections();
        break;
      case "test:results":
        if (!ranged) applyTests(d);
        refreshSections();
        break;
      case "alert:new":
        announce("New " + alertWords(d) + ".");
        if (d.severity === "critical") notify("Critical alert", d.title || "", "mhd-alert-" + d.id);
        refreshAlerts();
        break;
      case "alert:resolved":
        announce("Resolved " + alertWords(d) + ".");
        refreshAlerts();
        break;
      case "alert:updated":
        refreshAlerts();
        break;
      default:
        // resync (a fresh initial_data follows), subscribed, error: nothing to show.
        break;
    }
  };

  let delay = 1000;
  let socket = null;
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    try {
      socket = new WebSocket(scheme + "//" + location.host + "/ws/dashboard");
    } catch (_) {
      retry();
      return;
    }
    socket.addEventListener("open", () => {
      delay = 1000;
      setStatus("Live updates: connected", true);
    });
    socket.addEventListener("message", (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      if (msg && typeof msg.type === "string") handle(msg);
    });
    socket.addEventListener("close", () => {
      socket = null;
      retry();
    });
  };
  const retry = () => {
    // Signed out (the session ended, or another tab signed out): back to the sign-in page.
    fetch("/api/v1/auth/whoami", { cache: "no-store" })
      .then((r) => (r.ok ? r.json() : null))
      .then((me) => {
        if (me && me.sign_in_required && me.kind === "anonymous") {
          location.assign("/signin?next=" + encodeURIComponent(location.pathname + location.search));
        } else {
          backoff();
        }
      })
      .catch(backoff);
  };
  const backoff = () => {
    // Exponential backoff from 1 s to 30 s, with jitter so many pages do not return at once.
    const wait = Math.min(30000, delay) * (0.5 + Math.random() / 2);
    delay = Math.min(30000, delay * 2);
    setStatus("Live updates: offline, retrying in " + Math.ceil(wait / 1000) + " s", false);
    setTimeout(connect, wait);
  };

  // ---- preferences ----

  const readPrefs = () => {
    try {
      return JSON.parse(localStorage.getItem(PREFS)) || {};
    } catch (_) {
      return {};
    }
  };
  const prefs = Object.assign({ contrast: false, font: 0 }, readPrefs());
  const savePrefs = () => {
    try {
      localStorage.setItem(PREFS, JSON.stringify(prefs));
    } catch (_) {
      // Private mode: the preference lasts for this page only.
    }
  };
  const FONT_CLASSES = { "-1": "fs-1", 1: "fs1", 2: "fs2", 3: "fs3" };
  const applyPrefs = () => {
    root.classList.toggle("hc", !!prefs.contrast);
    for (const c of Object.values(FONT_CLASSES)) root.classList.remove(c);
    if (FONT_CLASSES[prefs.font]) root.classList.add(FONT_CLASSES[prefs.font]);
    const b = doc.querySelector('[data-action="contrast"]');
    if (b) b.setAttribute("aria-pressed", prefs.contrast ? "true" : "false");
  };

  // ---- notifications ----

  const canNotify = "Notification" in window;
  const notify = (title, body, tag = "mhd-health") => {
    if (!canNotify || Notification.permission !== "granted") return;
    try {
      new Notification(title, { body, tag });
    } catch (_) {
      // Some browsers only notify through the service worker.
      if (navigator.serviceWorker) {
        navigator.serviceWorker.ready.then((r) => r.showNotification(title, { body, tag })).catch(() => {});
      }
    }
  };
  const notifyButton = doc.querySelector('[data-action="notify"]');
  const showNotifyState = () => {
    if (!notifyButton) return;
    if (!canNotify || Notification.permission === "denied") {
      notifyButton.hidden = true;
    } else if (Notification.permission === "granted") {
      notifyButton.hidden = false;
      notifyButton.disabled = true;
      notifyButton.textContent = "Notifications on";
    } else {
      notifyButton.hidden = false;
    }
  };

  const actions = {
    notify: () => {
      if (!canNotify) return;
      // Asked for only here, in answer to the click.
      Notification.requestPermission().then(() => {
        showNotifyState();
        if (Notification.permission === "granted") announce("You will be notified when the health becomes critical or a critical alert fires.");
      });
    },
    contrast: () => {
      prefs.contrast = !prefs.contrast;
      applyPrefs();
      savePrefs();
    },
    "font-up": () => {
      prefs.font = Math.min(3, (prefs.font || 0) + 1);
      applyPrefs();
      savePrefs();
    },
    "font-down": () => {
      prefs.font = Math.max(-1, (prefs.font || 0) - 1);
      applyPrefs();
      savePrefs();
    },
  };

  // ---- scrolled charts ----
  // A chart wider than its scrolling frame (the timeline's Gantt chart on a phone) opens
  // scrolled so its "today" marker is in the middle, not at week 1. Only the frame scrolls,
  // so nothing else on the page moves.
  const showToday = () => {
    for (const frame of all(".tw[data-scroll-today]")) {
      if (frame.scrollWidth <= frame.clientWidth) continue;
      const mark = frame.querySelector("svg > path.td");
      if (!mark) continue;
      const at = mark.getBoundingClientRect().left - frame.getBoundingClientRect().left;
      frame.scrollLeft += at - frame.clientWidth / 2;
    }
  };

  // ---- start ----

  showToday();
  applyPrefs();
  showNotifyState();
  doc.addEventListener("click", (ev) => {
    const b = ev.target instanceof Element ? ev.target.closest("button[data-action]") : null;
    if (b && actions[b.dataset.action]) actions[b.dataset.action]();
  });
  if (tools) tools.hidden = false;
  refreshTimes();
  setInterval(refreshTimes, 30000);
  if ("WebSocket" in window) connect();
  else setStatus("Live updates: not supported by this browser", false);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }
})();
