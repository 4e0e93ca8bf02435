/* The phone's camera as a scanner: getUserMedia + BarcodeDetector (QR and Code128). Where the browser has no
   native BarcodeDetector for both formats, the vendored ponyfill (static/vendor/barcode-detector, zxing-wasm) is
   imported from our own origin, with its .wasm located at our static URL (never a CDN). A code read is handed to
   scan.js exactly like a wedge scan; the same code is not taken again for a few seconds. */
(function (clerk) {
  "use strict";
  var FORMATS = ["qr_code", "code_128"];
  var REPEAT_MS = 3000;
  var INTERVAL_MS = 200;

  function detector(form) {
    var Native = window.BarcodeDetector;
    var native = Native && Native.getSupportedFormats
      ? Native.getSupportedFormats().then(function (have) {
          return FORMATS.every(function (f) { return have.indexOf(f) >= 0; }) ? new Native({ formats: FORMATS }) : null;
        }).catch(function () { return null; })
      : Promise.resolve(null);
    return native.then(function (found) {
      if (found) return found;
      var wasm = new URL(form.dataset.wasm, document.baseURI).href;
      return import(new URL(form.dataset.polyfill, document.baseURI).href).then(function (mod) {
        mod.prepareZXingModule({
          overrides: {
            locateFile: function (path, prefix) { return /\.wasm$/.test(path) ? wasm : prefix + path; }
          },
          fireImmediately: true
        });
        return new mod.BarcodeDetector({ formats: FORMATS });
      });
    });
  }

  function start(options) {
    var form = options.form;
    var box = document.getElementById("camera");
    var video = document.getElementById("camera-video");
    var status = document.getElementById("camera-status");
    var startButton = document.getElementById("camera-start");
    var stopButton = document.getElementById("camera-stop");
    var stream = null;
    var timer = null;
    var reader = null;
    var lastCode = "";
    var lastAt = 0;
    var busy = false;

    if (!box || !startButton || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    startButton.hidden = false;

    function say(text) { status.textContent = text; }

    function stop() {
      if (timer) window.clearInterval(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      video.srcObject = null;
      box.hidden = true;
      startButton.hidden = false;
      options.refocus();
    }

    function tick() {
      if (busy || !reader || video.readyState < 2) return;
      busy = true;
      reader.detect(video).then(function (codes) {
        codes.forEach(function (c) {
          var code = (c.rawValue || "").trim();
          var now = Date.now();
          if (!code || (code === lastCode && now - lastAt < REPEAT_MS)) return;
          lastCode = code;
          lastAt = now;
          say(options.strings.camera_read.replace("{code}", code));
          options.onCode(code);
        });
      }).catch(function () { /* a frame the reader could not take: try the next one */ })
        .then(function () { busy = false; });
    }

    startButton.addEventListener("click", function () {
      box.hidden = false;
      startButton.hidden = true;
      say(options.strings.camera_starting);
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          return video.play();
        })
        .then(function () { return detector(form); })
        .then(function (d) {
          reader = d;
          say(options.strings.camera_ready);
          timer = window.setInterval(tick, INTERVAL_MS);
        })
        .catch(function (err) {
          var denied = err && (err.name === "NotAllowedError" || err.name === "NotFoundError" || err.name === "NotReadableError");
          if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
          stream = null;
          box.hidden = false;
          say(denied ? options.strings.camera_denied : options.strings.camera_unsupported);
        });
    });
    stopButton.addEventListener("click", stop);
    window.addEventListener("pagehide", function () { if (stream) stop(); });
  }

  clerk.camera = { start: start };
})(window.clerk = window.clerk || {});
