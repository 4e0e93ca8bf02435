/* The clerk's service worker (scope /clerk/): the scan page and its files open without a network.
   Pages: network first, the last good copy when offline. Files: from the cache (their URLs carry ?v=). Posts and
   the JSON endpoint always go to the network; the page's IndexedDB queue keeps scans made offline. */
"use strict";
var CACHE = "clerk-{{ version }}";
var ASSETS = {{ assets|tojson }};
var PAGES = {{ pages|tojson }};

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(ASSETS).then(function () {
        return Promise.all(PAGES.map(function (url) {
          return fetch(url, { credentials: "same-origin", redirect: "manual" }).then(function (r) {
            if (r.ok && r.type === "basic") return cache.put(url, r);
            return null;
          }).catch(function () { return null; });
        }));
      });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("clerk-") === 0 && n !== CACHE; })
        .map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isPage(request, url) {
  return request.mode === "navigate" && url.origin === self.location.origin && url.pathname.indexOf("/clerk/") === 0;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/clerk/api/") === 0) return;
  if (isPage(request, url)) {
    var key = url.pathname; // the page without ?r=…: one copy per page
    event.respondWith(
      fetch(request).then(function (response) {
        // The page as drawn fresh, not one showing a result (?r=…) of the no-JavaScript form
        if (response.ok && !response.redirected && response.type === "basic" && !url.searchParams.has("r")) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
        }
        return response;
      }).catch(function () {
        return caches.match(key).then(function (hit) { return hit || Response.error(); });
      })
    );
    return;
  }
  event.respondWith(
    caches.match(request).then(function (hit) { return hit || fetch(request); })
  );
});
