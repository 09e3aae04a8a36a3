// Live ticket changes over the GraphQL subscription, shared by the helpdesk and the portal.
import { useEffect, useRef } from 'react';
import { subscribe } from '../api/client';
import { markLive } from './ui';

/** A live change: a ticket's event, or `resync` (reload what is shown: changes may have been missed). */
export type LiveEvent = { kind: string; ticketId: string | null };
const RESYNC: LiveEvent = { kind: 'resync', ticketId: null };

/** Subscribes to `subscription` (a `ticketEvents` subscription) and calls `onEvent` at most every
 * 250 ms: with a ticket's event, or with `resync` once the subscription is live or after it
 * missed changes. */
export function useLiveTickets(token: string, subscription: string, onEvent: (ev: LiveEvent) => void) {
  const ref = useRef(onEvent);
  ref.current = onEvent;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let pending: LiveEvent | undefined;
    const off = subscribe<{ ticketEvents: LiveEvent }>(token, subscription, (d) => {
      const ev = d.ticketEvents;
      if (ev.kind === RESYNC.kind) markLive();
      // A burst about one ticket is that ticket's event; anything more is a resync, so a page
      // showing one ticket never misses its change behind another's.
      pending = !pending || (pending.ticketId === ev.ticketId && ev.kind !== RESYNC.kind) ? ev : RESYNC;
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (pending) ref.current(pending);
        pending = undefined;
      }, 250);
    });
    return () => {
      clearTimeout(timer);
      off();
    };
  }, [token, subscription]);
}
