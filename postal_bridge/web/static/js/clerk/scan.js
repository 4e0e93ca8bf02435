/* The scan page (and the scan panel of a handover session) with JavaScript:
   * the code input stays focused, so a keyboard-wedge scanner (code + Enter) always lands in it;
   * an S10 code is checked on the device first (s10.js): a bad check digit is flagged at once and never sent;
   * every scan goes to the IndexedDB queue (queue.js) with its client_event_id and original time, then the queue
     is posted in batches to the JSON endpoint (X-CSRFToken); an entry leaves the queue when the server answered;
   * the result is shown big (icon + words + colour) with a tone (feedback.js) and added to the recent list;
   * "N chờ đồng bộ" shows what is waiting; the queue is sent again when the network returns and every few seconds;
   * the camera (camera.js) feeds the same path; the service worker (/clerk/sw.js) opens the page offline.
   Without JavaScript the same form posts one code and the page answers (POST-redirect-GET). */
(function (clerk) {
  "use strict";
  var form = document.getElementById("scan-form");
  if (!form) return;
  var input = document.getElementById("code");
  var modeField = document.getElementById("mode");
  var banner = document.getElementById("sync-banner");
  var resultBox = document.getElementById("scan-result");
  var recent = document.getElementById("recent");
  var strings = JSON.parse(document.getElementById("clerk-strings").textContent);
  var token = form.querySelector("input[name=csrf_token]").value;
  var user = form.dataset.user;
  var sessionId = form.dataset.session || "";
  var RETRY_MS = 10000;
  var BATCH = 100;
  var RECENT_SHOWN = 20;
  var sending = false;
  var again = false;
  var stopped = false; // signed out or refused: keep the queue, stop posting until the page is opened again

  form.classList.add("scan-form--js");

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /* ---- focus: the input takes every scan, without stealing focus from the other controls ---- */
  function refocus() {
    if (document.activeElement === input) return;
    var a = document.activeElement;
    if (!a || a === document.body || a === document.documentElement || a.closest("#scan-result, #recent, .scan-live")) {
      input.focus({ preventScroll: true });
    }
  }
  input.addEventListener("blur", function () { window.setTimeout(refocus, 0); });
  document.addEventListener("keydown", function (e) {
    // A wedge scanner types while nothing is focused (after a tap on the page): take the keys into the input.
    var a = document.activeElement;
    if ((!a || a === document.body) && e.key && e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
      input.focus();
    }
  }, true);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refocus(); });
  if (modeField && modeField.tagName === "SELECT") {
    modeField.addEventListener("change", function () {
      var hint = document.getElementById("mode-hint");
      var chosen = modeField.options[modeField.selectedIndex];
      if (hint && chosen) hint.textContent = chosen.dataset.hint || "";
      input.focus();
    });
  }

  /* ---- what the clerk sees and hears ---- */
  function field(name) { return resultBox.querySelector("[data-field=" + name + "]"); }

  function show(view) {
    resultBox.className = "scan-result scan-result--" + view.tone;
    resultBox.hidden = false;
    resultBox.dataset.event = view.client_event_id;
    resultBox.dataset.outcome = view.outcome || view.tone;
    field("icon").textContent = view.icon;
    field("headline").textContent = view.headline;
    field("code").textContent = view.code || "—";
    field("message").textContent = view.message || "";
    var moved = field("moved");
    moved.hidden = !view.moved;
    moved.textContent = view.moved ? view.status_before + " → " + view.status_after : "";
    var link = field("link");
    link.hidden = !view.item_url;
    if (view.item_url) link.querySelector("a").href = view.item_url;
  }

  function remember(view) {
    var empty = recent.querySelector("[data-empty]");
    if (empty) empty.remove();
    var li = recent.querySelector('[data-event="' + view.client_event_id + '"]');
    if (!li) {
      li = document.createElement("li");
      li.dataset.event = view.client_event_id;
      recent.insertBefore(li, recent.firstChild);
    }
    li.className = "recent__item recent__item--" + view.tone;
    li.dataset.outcome = view.outcome || view.tone;
    li.textContent = "";
    var icon = document.createElement("span");
    icon.className = "recent__icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = view.icon;
    var code = document.createElement("span");
    code.className = "recent__code code";
    if (view.item_url) {
      var a = document.createElement("a");
      a.href = view.item_url;
      a.textContent = view.code;
      code.appendChild(a);
    } else {
      code.textContent = view.code || "—";
    }
    var words = document.createElement("span");
    words.className = "recent__words";
    words.textContent = view.headline;
    li.append(icon, code, words);
    while (recent.children.length > RECENT_SHOWN) recent.removeChild(recent.lastChild);
  }

  function local(entry, outcome, tone, message) {
    return {
      client_event_id: entry.client_event_id,
      outcome: outcome,
      tone: tone,
      icon: strings.icons[tone],
      headline: outcome === "waiting" ? strings.waiting : strings.headlines[outcome],
      message: message,
      code: clerk.s10.spaced(entry.code),
      moved: false,
      item_url: ""
    };
  }

  function answer(view, sound) {
    show(view);
    remember(view);
    if (sound) clerk.feedback.beep(view.tone);
  }

  /* ---- the queue and the upload ---- */
  function updateBanner() {
    return clerk.queue.pending(user).then(function (rows) {
      var n = rows.length;
      banner.hidden = n === 0;
      banner.querySelector("[data-field=count]").textContent = String(n);
      banner.querySelector("[data-field=detail]").textContent = n && !navigator.onLine ? strings.offline : "";
      banner.dataset.count = String(n);
      return rows;
    });
  }

  function post(batch) {
    return fetch(form.dataset.api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token, Accept: "application/json" },
      body: JSON.stringify({
        scans: batch.map(function (e) {
          return {
            client_event_id: e.client_event_id,
            code: e.code,
            mode: e.mode,
            scanned_at: e.scanned_at,
            session_id: e.session_id || null
          };
        })
      })
    });
  }

  /* Send what waits, oldest first. A failed request leaves everything queued for the next try. */
  function flush() {
    if (stopped) return Promise.resolve();
    if (sending) {
      again = true;
      return Promise.resolve();
    }
    sending = true;
    var changed = false;
    function round() {
      return clerk.queue.pending(user).then(function (rows) {
        if (!rows.length) return null;
        var batch = rows.slice(0, BATCH);
        return post(batch).then(function (response) {
          if (response.status === 401 || response.status === 403 || response.status === 400) {
            // Signed out (or the session's CSRF token is gone): keep the scans for after signing in again.
            stopped = true;
            banner.querySelector("[data-field=detail]").textContent = strings.sign_in_again;
            return null;
          }
          if (response.status === 422) {
            // The server cannot take this batch as it is (not a network problem): say so, do not retry it forever.
            batch.forEach(function (e) { answer(local(e, "invalid", "bad", ""), e.client_event_id === resultBox.dataset.event); });
            return clerk.queue.remove(batch.map(function (e) { return e.client_event_id; })).then(function () { return null; });
          }
          if (!response.ok) return null; // a server error: keep, retry later
          return response.json().then(function (body) {
            var latest = resultBox.dataset.event;
            body.results.forEach(function (view) {
              var shown = view.client_event_id === latest;
              if (shown) show(view);
              remember(view);
              if (shown || batch.length === 1) clerk.feedback.beep(view.tone);
            });
            changed = true;
            return clerk.queue.remove(batch.map(function (e) { return e.client_event_id; })).then(function () {
              return rows.length > batch.length ? round() : null;
            });
          });
        });
      });
    }
    return round()
      .catch(function () { /* offline or the server unreachable: the queue keeps everything */ })
      .then(function () {
        sending = false;
        return updateBanner();
      })
      .then(function () {
        if (changed && sessionId) refreshSession();
        if (again) {
          again = false;
          return flush();
        }
        return null;
      });
  }

  /* On a handover session, redraw the tally and the lists (expected, scanned, missing, extra) from the server. */
  function refreshSession() {
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["session-live", "session-lists"].forEach(function (id) {
          var fresh = doc.getElementById(id);
          var old = document.getElementById(id);
          if (fresh && old) old.replaceWith(document.importNode(fresh, true));
        });
      })
      .catch(function () {});
  }

  /* One code from the wedge scanner, the keyboard or the camera. */
  function scanCode(raw) {
    var code = clerk.s10.normalise(raw);
    if (!code) return;
    var entry = {
      client_event_id: uuid(),
      code: code,
      mode: modeField ? modeField.value : "arrive",
      scanned_at: new Date().toISOString(),
      session_id: sessionId || null,
      user: user,
      queued_at: Date.now() + "-" + Math.random().toString(16).slice(2)
    };
    if (clerk.s10.looksLikeS10(code) && !clerk.s10.isValid(code)) {
      // Flagged on the device: a misread or mistyped label; nothing is sent.
      var bad = local(entry, "invalid_code", "bad", strings.bad_check_digit.replace("{code}", code));
      bad.code = code;
      answer(bad, true);
      return;
    }
    answer(local(entry, "waiting", "wait", strings.waiting_message), !navigator.onLine);
    clerk.queue.add(entry).then(updateBanner).then(flush);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var value = input.value;
    input.value = "";
    input.focus();
    scanCode(value);
  });

  window.addEventListener("online", flush);
  window.addEventListener("offline", updateBanner);
  window.setInterval(function () { if (navigator.onLine) flush(); }, RETRY_MS);

  clerk.camera.start({ form: form, strings: strings, onCode: scanCode, refocus: refocus });
  clerk.scan = { scanCode: scanCode, flush: flush };

  if ("serviceWorker" in navigator && form.dataset.sw) {
    navigator.serviceWorker.register(form.dataset.sw, { scope: form.dataset.swScope }).catch(function () {});
  }
  updateBanner().then(flush);
  input.focus();
})(window.clerk = window.clerk || {});
