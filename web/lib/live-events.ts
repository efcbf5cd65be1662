/**
 * Live status for the page: the API's Server-Sent Events (`GET /api/events`), with polling as
 * the fallback whenever the stream is not open (no EventSource, the connection dropped and is
 * being retried, the API refused the stream), and a slower check while it is open.
 *
 * One EventSource per tab, shared by every component that listens (the header's balance, the
 * clip grid, the render panel); it opens with the first listener and closes a little after the
 * last one leaves, so moving between pages does not reconnect.
 *
 * The API answers an expired access cookie with 401, which closes the stream for good; the
 * first such close renews the session and reopens at once instead of waiting.
 *
 * Events are notifications, not the record: on (re)connecting and on `stream.reset` each
 * listener reloads its state over REST with its `refresh`, so nothing missed stays missing.
 */

import { useEffect, useRef, useState } from "react";

import { refreshSession } from "@/lib/api/client";
import type { LiveEvent } from "@/lib/api/types";

const EVENT_NAMES: LiveEvent["type"][] = ["clip.status", "clip.progress", "render.status", "render.progress", "credits.changed", "music.status", "stream.reset"];

/** How often `refresh` runs while the stream is down and the listener is `active`. */
const POLL_INTERVAL_MS = 2_500;
/**
 * While the stream is open and something is in progress, `refresh` still runs this often: a
 * safety net for events that never arrive (a buffering proxy, a publisher that is down), so
 * a finished clip can't sit unnoticed.
 */
const LIVE_CHECK_INTERVAL_MS = 5_000;
/** A stream that has not opened after this long counts as down (polling starts). */
const CONNECT_GRACE_MS = 4_000;
/** After the API closes the stream for good (401, 5xx), open it again this much later. */
const REOPEN_DELAY_MS = 15_000;
/** The stream stays open this long after the last listener leaves (a page change). */
const LINGER_MS = 5_000;

export type LiveMode = "connecting" | "live" | "polling";

interface Listener {
  onEvent: (event: LiveEvent) => void;
  onOpen: () => void;
  onMode: (mode: LiveMode) => void;
}

class LiveStream {
  private listeners = new Set<Listener>();
  private source: EventSource | null = null;
  private mode: LiveMode = "connecting";
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private reopenTimer: ReturnType<typeof setTimeout> | undefined;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether a refresh was already tried since the stream last opened (one per outage). */
  private refreshTried = false;
  /** A refresh after a close is running; the stream reopens when it settles. */
  private renewing = false;

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    clearTimeout(this.lingerTimer);
    listener.onMode(this.mode);
    if (!this.source && !this.reopenTimer && !this.renewing) this.open();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.lingerTimer = setTimeout(() => this.close(), LINGER_MS);
    };
  }

  private setMode(mode: LiveMode) {
    this.mode = mode;
    for (const listener of this.listeners) listener.onMode(mode);
  }

  private open = () => {
    this.reopenTimer = undefined;
    if (typeof EventSource === "undefined") {
      this.setMode("polling");
      return;
    }
    this.setMode("connecting");
    const source = new EventSource("/api/events");
    this.source = source;
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      if (source.readyState !== EventSource.OPEN) this.setMode("polling");
    }, CONNECT_GRACE_MS);
    source.onopen = () => {
      clearTimeout(this.graceTimer);
      this.refreshTried = false;
      this.setMode("live");
      for (const listener of this.listeners) listener.onOpen();
    };
    source.onerror = () => {
      this.setMode("polling");
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        if (this.source === source) this.source = null;
        if (this.listeners.size > 0) this.reopenAfterClose();
      }
    };
    const dispatch = (message: MessageEvent<string>) => {
      let event: LiveEvent;
      try {
        event = JSON.parse(message.data) as LiveEvent;
      } catch {
        return;
      }
      for (const listener of this.listeners) {
        if (event.type === "stream.reset") listener.onOpen();
        else listener.onEvent(event);
      }
    };
    for (const name of EVENT_NAMES) source.addEventListener(name, dispatch as EventListener);
  };

  /**
   * EventSource doesn't say why the API closed the stream, so the first close since it last
   * opened tries a session refresh: when that renews the cookies (the access cookie had
   * expired) the stream reopens at once, otherwise after the usual delay.
   */
  private reopenAfterClose() {
    const later = () => {
      if (this.listeners.size > 0 && !this.source && !this.reopenTimer) this.reopenTimer = setTimeout(this.open, REOPEN_DELAY_MS);
    };
    if (this.refreshTried) {
      later();
      return;
    }
    this.refreshTried = true;
    this.renewing = true;
    void refreshSession()
      .catch(() => false)
      .then((renewed) => {
        this.renewing = false;
        if (renewed && this.listeners.size > 0 && !this.source && !this.reopenTimer) this.open();
        else later();
      });
  }

  private close() {
    clearTimeout(this.graceTimer);
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    this.source?.close();
    this.source = null;
    this.mode = "connecting";
  }
}

let shared: LiveStream | null = null;

interface LiveOptions {
  /** Called for every event the stream delivers. */
  onEvent: (event: LiveEvent) => void;
  /** Reloads the listener's state over REST: on (re)connecting, on `stream.reset`, and to poll. */
  refresh: () => void | Promise<void>;
  /** Whether something is in progress; polling only runs while this is true. */
  active: boolean;
  /** Off until there is something to follow (a visitor before their free try has no stream). */
  enabled?: boolean;
}

/** Follows the person's live events; returns how updates currently arrive. */
export function useLiveEvents({ onEvent, refresh, active, enabled = true }: LiveOptions): LiveMode {
  const [mode, setMode] = useState<LiveMode>("connecting");
  const handlers = useRef({ onEvent, refresh });
  useEffect(() => {
    handlers.current = { onEvent, refresh };
  });

  useEffect(() => {
    if (!enabled) return;
    shared ??= new LiveStream();
    return shared.subscribe({
      onEvent: (event) => handlers.current.onEvent(event),
      onOpen: () => void handlers.current.refresh(),
      onMode: setMode,
    });
  }, [enabled]);

  useEffect(() => {
    if (!enabled || !active) return;
    const timer = setInterval(() => void handlers.current.refresh(), mode === "live" ? LIVE_CHECK_INTERVAL_MS : POLL_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [enabled, active, mode]);

  return mode;
}
