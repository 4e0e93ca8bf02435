/* UPU S10 item identifiers (EB123456785VN): the same check as postal_bridge/domain/s10.py, on the device, so a
   misread label is flagged at once, even offline. Other courier codes are not S10 and pass through unchecked. */
(function (clerk) {
  "use strict";
  var PATTERN = /^[A-Z]{2}[0-9]{9}[A-Z]{2}$/;
  var WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7];

  /* The code as typed or scanned, without spaces, in capitals (a wedge scanner may add spaces or lower case). */
  function normalise(code) {
    return String(code || "").replace(/\s+/g, "").toUpperCase();
  }

  /* Check digit for an 8-digit serial: 11 − (Σ dᵢ·wᵢ mod 11), with 10 → 0 and 11 → 5. */
  function checkDigit(serial) {
    if (!/^[0-9]{8}$/.test(serial)) throw new RangeError("an S10 serial is exactly 8 digits");
    var sum = 0;
    for (var i = 0; i < 8; i++) sum += Number(serial[i]) * WEIGHTS[i];
    var c = 11 - (sum % 11);
    return c === 10 ? 0 : c === 11 ? 5 : c;
  }

  /* Shaped like an S10 id (two letters, nine digits, two letters), whatever its check digit. */
  function looksLikeS10(code) {
    return PATTERN.test(normalise(code));
  }

  function isValid(code) {
    var c = normalise(code);
    return PATTERN.test(c) && checkDigit(c.slice(2, 10)) === Number(c[10]);
  }

  /* "EB 123 456 785 VN" as on labels; other codes unchanged. */
  function spaced(code) {
    var c = normalise(code);
    if (!isValid(c)) return String(code || "");
    return c.slice(0, 2) + " " + c.slice(2, 5) + " " + c.slice(5, 8) + " " + c.slice(8, 11) + " " + c.slice(11);
  }

  clerk.s10 = { normalise: normalise, checkDigit: checkDigit, looksLikeS10: looksLikeS10, isValid: isValid, spaced: spaced };
})(window.clerk = window.clerk || {});
