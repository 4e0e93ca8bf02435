/* The device's queue of scans not yet confirmed by the server (IndexedDB, so it survives a closed tab, a dead
   battery or a day without network). Each entry: {client_event_id (uuid), code, mode, scanned_at (the original
   time, ISO 8601), session_id, user}. An entry leaves the queue only when the server has answered for it; the
   server dedupes client_event_id, so uploading an entry twice records it once. */
(function (clerk) {
  "use strict";
  var DB = "postal-bridge-clerk";
  var STORE = "scans";
  var memory = []; // used only where IndexedDB is unavailable (private windows of some browsers)
  var opening = null;

  function open() {
    if (!window.indexedDB) return Promise.resolve(null);
    if (!opening) {
      opening = new Promise(function (resolve) {
        var req;
        try {
          req = window.indexedDB.open(DB, 1);
        } catch (e) {
          resolve(null);
          return;
        }
        req.onupgradeneeded = function () {
          var store = req.result.createObjectStore(STORE, { keyPath: "client_event_id" });
          store.createIndex("user", "user", { unique: false });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { resolve(null); };
        req.onblocked = function () { resolve(null); };
      });
    }
    return opening;
  }

  function run(mode, work) {
    return open().then(function (db) {
      if (!db) {
        var direct = work(null);
        return direct && direct.result !== undefined ? direct.result : direct;
      }
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var answer = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(answer && answer.result !== undefined ? answer.result : answer); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function add(entry) {
    return run("readwrite", function (store) {
      if (!store) {
        memory.push(entry);
        return null;
      }
      store.put(entry);
      return null;
    });
  }

  /* The user's queued scans, oldest first (another account's scans on a shared device stay for that account). */
  function pending(user) {
    return run("readonly", function (store) {
      if (!store) return { result: memory.filter(function (e) { return e.user === user; }) };
      return store.index("user").getAll(user);
    }).then(function (rows) {
      return (rows || []).slice().sort(function (a, b) {
        return a.queued_at < b.queued_at ? -1 : a.queued_at > b.queued_at ? 1 : 0;
      });
    });
  }

  function remove(ids) {
    return run("readwrite", function (store) {
      if (!store) {
        memory = memory.filter(function (e) { return ids.indexOf(e.client_event_id) < 0; });
        return null;
      }
      ids.forEach(function (id) { store.delete(id); });
      return null;
    });
  }

  clerk.queue = { add: add, pending: pending, remove: remove };
})(window.clerk = window.clerk || {});
