/**
 * Web Push on this device: subscribe with the API's VAPID key, tell the API, and undo both.
 *
 * Permission is only ever asked for from a person's own action (the "Tell me when it's
 * ready" button after starting a generation, or the switch in Settings): browsers block
 * prompts that come out of nowhere, and people rightly distrust them.
 */

import { api, request } from "@/lib/api/client";

export type PushState = "unsupported" | "denied" | "off" | "on";

export function pushSupported(): boolean {
  return typeof window !== "undefined" && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function applicationServerKey(base64url: string): Uint8Array<ArrayBuffer> {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  const raw = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function currentSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration();
  return (await registration?.pushManager.getSubscription()) ?? null;
}

/** Whether this device gets notifications now (and whether it could). */
export async function pushState(): Promise<PushState> {
  if (!pushSupported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  return (await currentSubscription()) ? "on" : "off";
}

/**
 * Asks for permission (if not yet given), subscribes this browser and registers the
 * subscription with the API. Resolves to the resulting state; throws when the browser's push
 * service or the API refuses.
 */
export async function subscribeToPush(): Promise<PushState> {
  if (!pushSupported()) return "unsupported";
  const permission = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
  if (permission === "denied") return "denied";
  if (permission !== "granted") return "off";
  const registration = await navigator.serviceWorker.ready;
  const { publicKey } = await request(() => api.GET("/api/push/key"));
  const subscription =
    (await registration.pushManager.getSubscription()) ??
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: applicationServerKey(publicKey) }));
  const json = subscription.toJSON();
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) throw new Error("The browser gave an incomplete push subscription.");
  await request(() =>
    api.POST("/api/push/subscriptions", {
      body: { endpoint: json.endpoint!, expirationTime: json.expirationTime ?? null, keys: { p256dh: json.keys!.p256dh!, auth: json.keys!.auth! } },
    }),
  );
  return "on";
}

/** Stops notifications on this device, at the API and in the browser. */
export async function unsubscribeFromPush(): Promise<PushState> {
  if (!pushSupported()) return "unsupported";
  const subscription = await currentSubscription();
  if (subscription) {
    try {
      await request(() => api.DELETE("/api/push/subscriptions", { body: { endpoint: subscription.endpoint } }));
    } finally {
      await subscription.unsubscribe();
    }
  }
  return Notification.permission === "denied" ? "denied" : "off";
}
