// mhd service worker: the pages are fetched from the network first; the last successful copy
// of each is kept, so the last seen dashboard still shows when the server cannot be reached.
// The API and the WebSocket are never cached: they must be live or fail.
"use strict";

const CACHE = "mhd-pages-v1";

self.addEventListener("install", () => {
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

const cacheable = (request) => {
  if (request.method !== "GET") return false;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/ws/")) return false;
  if (url.pathname === "/sw.js" || url.pathname === "/metrics") return false;
  return request.mode === "navigate" || url.pathname.startsWith("/assets/");
};

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (!cacheable(request)) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok && response.type === "basic") {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request, copy)));
        }
        return response;
      })
      .catch(() =>
        caches.match(request, { ignoreSearch: true }).then(
          (cached) =>
            cached ||
            new Response("<!DOCTYPE html><title>Offline</title><p>The dashboard server cannot be reached and this page was not seen before.</p>", {
              status: 503,
              headers: { "Content-Type": "text/html; charset=utf-8" },
            }),
        ),
      ),
  );
});
