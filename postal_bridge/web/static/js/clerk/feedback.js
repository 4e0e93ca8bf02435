/* Instant feedback for a scan: a short WebAudio tone that differs by outcome (so the clerk need not look), a
   vibration where the phone has one. The words, icon and colour are set by scan.js: sound is never the only signal. */
(function (clerk) {
  "use strict";
  var context = null;
  // [frequency Hz, duration s, gap before the next tone s, wave]
  var TONES = {
    ok: [[1046, 0.09, 0, "sine"]],
    info: [[784, 0.09, 0.05, "sine"], [784, 0.09, 0, "sine"]],
    warn: [[523, 0.12, 0.07, "triangle"], [523, 0.12, 0, "triangle"]],
    bad: [[196, 0.4, 0, "square"]],
    wait: [[659, 0.06, 0, "sine"]]
  };
  var VIBRATE = { ok: 40, info: [40, 60, 40], warn: [80, 60, 80], bad: 400, wait: 20 };
  var played = [];

  function audio() {
    if (context) return context;
    var Ctor = window.AudioContext || window.webkitAudioContext;
    if (!Ctor) return null;
    try {
      context = new Ctor();
    } catch (e) {
      context = null;
    }
    return context;
  }

  /* Browsers start audio only after a gesture: the first key or tap unlocks it (a wedge scanner's Enter counts). */
  function unlock() {
    var ctx = audio();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(function () {});
  }
  document.addEventListener("keydown", unlock, { capture: true });
  document.addEventListener("pointerdown", unlock, { capture: true });

  function beep(tone) {
    var steps = TONES[tone] || TONES.info;
    played.push(tone);
    if (played.length > 50) played.shift();
    if (navigator.vibrate) {
      try { navigator.vibrate(VIBRATE[tone] || 40); } catch (e) { /* not allowed without a gesture: fine */ }
    }
    var ctx = audio();
    if (!ctx) return;
    var at = ctx.currentTime + 0.01;
    steps.forEach(function (s) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = s[3];
      osc.frequency.value = s[0];
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + s[1]);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + s[1] + 0.02);
      at += s[1] + s[2];
    });
  }

  clerk.feedback = { beep: beep, played: played };
})(window.clerk = window.clerk || {});
