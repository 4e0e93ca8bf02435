/* The item page's outcome forms with JavaScript: the fields for an authorised receiver show only when that
   receiver is chosen, the refuser's fields only for "Người nhận từ chối nhận". Without JavaScript every field shows
   and the service checks what applies. */
(function () {
  "use strict";
  function toggle(radios, block, wanted) {
    if (!block || !radios.length) return;
    function update() {
      var chosen = Array.prototype.find.call(radios, function (r) { return r.checked; });
      block.hidden = !(chosen && chosen.value === wanted);
    }
    Array.prototype.forEach.call(radios, function (r) { r.addEventListener("change", update); });
    update();
  }
  toggle(document.querySelectorAll("input[data-receiver]"), document.querySelector("[data-authorised]"), "authorised");
  toggle(document.querySelectorAll("input[data-reason]"), document.querySelector("[data-refuser]"), "recipient_refused");
})();
