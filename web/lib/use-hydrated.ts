import { useSyncExternalStore } from "react";

const subscribe = () => () => {};

/**
 * False in the server render (and so for people without JavaScript), true once React runs
 * in the browser. Lets a component render its plain-HTML fallback first and enhance after.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
