/* Counter request screen: type-ahead for the ward field (our own JSON, local data only) and a scan box that is ready
   for the next scan. Everything works without this file: the "Tìm" button searches on the server. */
(function () {
  "use strict";

  var code = document.getElementById("code");
  if (code) {
    code.addEventListener("focus", function () { code.select(); });
  }

  var ward = document.getElementById("ward_query");
  var province = document.getElementById("province_code");
  var list = document.getElementById("ward-options");
  if (!ward || !province || !list) { return; }
  var template = ward.getAttribute("data-wards-url");  // …/provinces/00/wards
  var timer = null;
  var asked = "";

  function fill(rows) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    rows.forEach(function (row) {
      var option = document.createElement("option");
      option.value = row.name;
      list.appendChild(option);
    });
  }

  function search() {
    var q = ward.value.trim();
    var p = province.value;
    if (!p || q.length < 1 || q + "|" + p === asked) { return; }
    asked = q + "|" + p;
    var url = template.replace("/00/", "/" + encodeURIComponent(p) + "/") + "?q=" + encodeURIComponent(q);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) { if (Array.isArray(rows)) { fill(rows); } })
      .catch(function () { /* the server-side search still works */ });
  }

  ward.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(search, 200);
  });
  province.addEventListener("change", function () { asked = ""; fill([]); });
})();
