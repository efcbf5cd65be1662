/**
 * The Echoes service worker: the app shell and an offline page, the pages and data a person
 * has seen, and the clips, videos and posters they watched, so all of those open and play
 * without a connection. Also shows Web Push notifications.
 *
 * Registered by components/pwa-runtime.tsx as `/sw.js?v=<build id>`: each build installs a
 * new worker, which precaches that build's shell and drops the previous one.
 *
 * Caches (the window reads the last two too, see lib/offline-cache.ts; keep names in step):
 *   echoes-shell-<v>  the offline page, its scripts and styles, icons    (per build)
 *   echoes-static     /_next/static files, immutable and content-hashed  (cache first)
 *   echoes-pages      pages visited and API reads (network first, cache when offline)
 *   echoes-media      watched videos and seen images, keyed by path      (cache first)
 *
 * Media URLs are signed and expire (`/media/<key>?exp=…&sig=…`), but a key names one file
 * forever, so media is cached under its path alone: tomorrow's fresh signature finds
 * today's copy. Video players ask for byte ranges; a cached whole file answers any range.
 */

/* eslint-env serviceworker */

const VERSION = new URL(self.location.href).searchParams.get("v") || "dev";
const SHELL_CACHE = `echoes-shell-${VERSION}`;
const STATIC_CACHE = "echoes-static";
const PAGES_CACHE = "echoes-pages";
const MEDIA_CACHE = "echoes-media";
const OFFLINE_URL = "/offline";
const SHELL_URLS = [OFFLINE_URL, "/manifest.webmanifest", "/icon.svg", "/icons/icon-192.png", "/icons/icon-512.png", "/samples/before.jpg", "/samples/after.mp4"];
/** API reads worth keeping for offline viewing; everything else under /api goes straight through. */
const CACHED_API_READS = [/^\/api\/me$/, /^\/api\/try\/[^/]+$/, /^\/api\/projects(\/[^/]+)?$/, /^\/api\/projects\/[^/]+\/renders$/, /^\/api\/renders\/[^/]+$/, /^\/api\/music$/, /^\/api\/credits(\/packs)?$/];
const MAX_MEDIA_ENTRIES = 150;
const MAX_PAGE_ENTRIES = 80;
const MAX_KEPT_VIDEO_BYTES = 200 * 1024 * 1024;

// --------------------------------------------------------------------------- lifecycle

self.addEventListener("install", (event) => {
  event.waitUntil(precacheShell().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((name) => name.startsWith("echoes-shell-") && name !== SHELL_CACHE).map((name) => caches.delete(name)));
      if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
      await self.clients.claim();
      await keepOpenPages();
    })(),
  );
});

/**
 * The page that installed the worker loaded before the worker could see it; keep a copy of
 * every open page now, so even the very first page opens offline next time.
 */
async function keepOpenPages() {
  const windows = await self.clients.matchAll({ type: "window" });
  await Promise.all(
    windows.map(async (client) => {
      const url = new URL(client.url);
      if (url.origin !== self.location.origin || url.pathname === OFFLINE_URL) return;
      try {
        const response = await fetch(client.url, { credentials: "same-origin", headers: { accept: "text/html" } });
        if (response.ok && !response.redirected && (response.headers.get("content-type") || "").includes("text/html")) {
          await keep(PAGES_CACHE, pageKey(client.url), response, MAX_PAGE_ENTRIES);
        }
      } catch (error) {
        // Offline or the server is down: the page is kept on its next visit instead.
      }
    }),
  );
}

/** Caches the offline page and every script, style and font it loads, plus the icons. */
async function precacheShell() {
  const cache = await caches.open(SHELL_CACHE);
  await Promise.all(
    SHELL_URLS.map(async (url) => {
      const response = await fetch(url, { cache: "reload", credentials: "omit" });
      if (!response.ok) throw new Error(`precache: ${url} answered ${response.status}`);
      if (url === OFFLINE_URL) {
        const html = await response.clone().text();
        const assets = new Set(Array.from(html.matchAll(/(?:src|href)="(\/_next\/static\/[^"]+)"/g), (match) => match[1].replace(/&amp;/g, "&")));
        await Promise.all(Array.from(assets, (asset) => cache.add(asset)));
      }
      await cache.put(url, response);
    }),
  );
}

// --------------------------------------------------------------------------- routing

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate") {
    event.respondWith(navigation(event));
  } else if (url.pathname.startsWith("/media/")) {
    if (url.searchParams.has("dl")) return; // downloads go straight to the network
    if (request.destination === "image") event.respondWith(mediaImage(event, url));
    else if (request.destination === "video" || request.destination === "audio") event.respondWith(mediaStream(request, url));
  } else if (url.pathname.startsWith("/api/")) {
    if (CACHED_API_READS.some((pattern) => pattern.test(url.pathname)) && !request.headers.has("range")) event.respondWith(apiRead(event));
  } else if (url.pathname.startsWith("/_next/static/")) {
    event.respondWith(cacheFirst(request, STATIC_CACHE));
  } else if (SHELL_URLS.includes(url.pathname) || url.pathname.startsWith("/icons/")) {
    event.respondWith(shellAsset(request));
  }
});

/** Icons, the manifest and the landing page's sample photo and video, from the shell when there. */
async function shellAsset(request) {
  const cached = await caches.match(request.url, { cacheName: SHELL_CACHE, ignoreSearch: true });
  if (cached) return answerRange(cached, request.headers.get("range"));
  return cacheFirst(request, STATIC_CACHE);
}

async function cacheFirst(request, cacheName) {
  const cached = await caches.match(request, { cacheName });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic" && !request.headers.has("range")) {
    const copy = response.clone();
    caches.open(cacheName).then((cache) => cache.put(request, copy));
  }
  return response;
}

/** Pages: the network first (so they are current); offline, the copy last seen, else /offline. */
async function navigation(event) {
  const { request } = event;
  try {
    const response = (await event.preloadResponse) || (await fetch(request));
    const html = (response.headers.get("content-type") || "").includes("text/html");
    if (response.ok && html && !response.redirected) {
      const copy = response.clone();
      event.waitUntil(keep(PAGES_CACHE, pageKey(request.url), copy, MAX_PAGE_ENTRIES));
    }
    return response;
  } catch (error) {
    const cache = await caches.open(PAGES_CACHE);
    const cached = (await cache.match(pageKey(request.url))) || (await cache.match(request.url, { ignoreSearch: true }));
    if (cached) return cached;
    const offline = await caches.match(OFFLINE_URL, { cacheName: SHELL_CACHE });
    return offline || Response.error();
  }
}

/** API reads: the network first; offline, the last answer seen, so pages still show their state. */
async function apiRead(event) {
  const { request } = event;
  try {
    const response = await fetch(request);
    if (response.ok && (response.headers.get("content-type") || "").includes("json")) {
      const copy = response.clone();
      event.waitUntil(keep(PAGES_CACHE, request.url, copy, MAX_PAGE_ENTRIES));
    }
    return response;
  } catch (error) {
    const cached = await caches.match(request.url, { cacheName: PAGES_CACHE });
    if (cached) return cached;
    throw error;
  }
}

/** A page's cache key: the address without Next's router parameters. */
function pageKey(href) {
  const url = new URL(href);
  url.searchParams.delete("_rsc");
  url.hash = "";
  return url.toString();
}

/** A media file's cache key: its path, without the signature that changes on every link. */
function mediaKey(url) {
  return `${url.origin}${url.pathname}`;
}

async function keep(cacheName, key, response, maxEntries) {
  const cache = await caches.open(cacheName);
  await cache.put(key, response);
  const keys = await cache.keys();
  // Cache keys come back in insertion order: the oldest go first.
  await Promise.all(keys.slice(0, Math.max(0, keys.length - maxEntries)).map((old) => cache.delete(old)));
}

// --------------------------------------------------------------------------- media

/** Posters and thumbnails: kept the first time they are shown. */
async function mediaImage(event, url) {
  const key = mediaKey(url);
  const cached = await caches.match(key, { cacheName: MEDIA_CACHE });
  if (cached) return cached;
  const response = await fetch(event.request);
  if (response.status === 200) {
    const copy = response.clone();
    event.waitUntil(keep(MEDIA_CACHE, key, copy, MAX_MEDIA_ENTRIES));
  }
  return response;
}

/**
 * Video and audio: from the cache when this file was watched before (answering the player's
 * byte range from the whole file), else straight from the network. A video is kept when the
 * page reports it playing (see the "keep-media" message), so what is cached is what was watched.
 */
async function mediaStream(request, url) {
  const cached = await caches.match(mediaKey(url), { cacheName: MEDIA_CACHE });
  if (!cached) return fetch(request);
  return answerRange(cached, request.headers.get("range"));
}

/** A 206 slice of a cached whole-file response for `Range: bytes=a-b` (single ranges, as players ask). */
async function answerRange(cached, range) {
  if (!range) return cached;
  const blob = await cached.blob();
  const size = blob.size;
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  let start;
  let end;
  if (match && match[1] !== "") {
    start = Number(match[1]);
    end = match[2] !== "" ? Math.min(Number(match[2]), size - 1) : size - 1;
  } else if (match && match[2] !== "") {
    start = Math.max(size - Number(match[2]), 0);
    end = size - 1;
  }
  if (start === undefined || start >= size || start > end) {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${size}` } });
  }
  const slice = blob.slice(start, end + 1);
  return new Response(slice, {
    status: 206,
    statusText: "Partial Content",
    headers: {
      "Content-Type": cached.headers.get("Content-Type") || "application/octet-stream",
      "Content-Range": `bytes ${start}-${end}/${size}`,
      "Content-Length": String(slice.size),
      "Accept-Ranges": "bytes",
    },
  });
}

const keeping = new Map();

/** Downloads a watched video whole and keeps it under its path (once, however often asked). */
function keepMedia(href) {
  const url = new URL(href, self.location.origin);
  if (url.origin !== self.location.origin || !url.pathname.startsWith("/media/")) return Promise.resolve();
  const key = mediaKey(url);
  if (keeping.has(key)) return keeping.get(key);
  const job = (async () => {
    if (await caches.match(key, { cacheName: MEDIA_CACHE })) return;
    const response = await fetch(url.toString(), { credentials: "same-origin" });
    const length = Number(response.headers.get("Content-Length") || "0");
    if (response.status !== 200 || length > MAX_KEPT_VIDEO_BYTES) return;
    await keep(MEDIA_CACHE, key, response, MAX_MEDIA_ENTRIES);
  })()
    .catch(() => undefined)
    .finally(() => keeping.delete(key));
  keeping.set(key, job);
  return job;
}

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type === "keep-media" && typeof message.url === "string") {
    const done = keepMedia(message.url);
    event.waitUntil(done);
    if (event.ports && event.ports[0]) done.then(() => event.ports[0].postMessage({ kept: message.url }));
  }
});

// --------------------------------------------------------------------------- push

self.addEventListener("push", (event) => {
  let notice = {};
  try {
    notice = event.data ? event.data.json() : {};
  } catch (error) {
    notice = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(notice.title || "Echoes", {
      body: notice.body || "",
      tag: notice.tag || undefined,
      renotify: Boolean(notice.tag),
      icon: "/icons/icon-192.png",
      badge: "/icons/icon-192.png",
      data: { url: typeof notice.url === "string" ? notice.url : "/dashboard" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || "/dashboard", self.location.origin);
  const url = target.origin === self.location.origin ? target.toString() : new URL("/dashboard", self.location.origin).toString();
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((client) => new URL(client.url).pathname === new URL(url).pathname);
      if (open) return open.focus();
      return self.clients.openWindow(url);
    })(),
  );
});
