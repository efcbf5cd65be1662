/**
 * The credit balance as this tab last learnt it, shared by everything that shows it (the
 * header, the credits page, the editor). Any API answer that carries a balance (generating
 * clips, a remake, a `credits.changed` event) publishes it here, so all of them agree even
 * when no live event arrives.
 */

import { useEffect, useSyncExternalStore } from "react";

let latest: number | null = null;
const listeners = new Set<() => void>();

export function publishBalance(balance: number): void {
  if (balance === latest) return;
  latest = balance;
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * The current balance. A component's server-rendered `initial` is published when it mounts
 * (it is the freshest word at that moment); anything learnt later replaces it.
 */
export function useBalance(initial: number): number {
  useEffect(() => {
    publishBalance(initial);
  }, [initial]);
  const known = useSyncExternalStore(
    subscribe,
    () => latest,
    () => null,
  );
  return known ?? initial;
}
