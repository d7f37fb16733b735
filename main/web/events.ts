/**
 * The `/events` WebSocket: every backend event goes to every connected tab as one JSON text frame.
 * Clients only listen (anything they send is ignored); a client that stops answering pings or lets
 * its queue grow past a bound is dropped, and its tab reconnects (httpTransport backs off and retries).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocket, WebSocketServer } from 'ws';

import type { Backend } from '../backend/types.ts';

const PING_INTERVAL_MS = 30_000;
/** A tab that has not read this much of its queue is stuck; it reconnects and rereads state. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export interface EventHub {
  accept(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly clientCount: number;
  close(): void;
}

export function createEventHub(backend: Backend): EventHub {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const alive = new WeakSet<WebSocket>();

  const unsubscribe = backend.onEvent((event) => {
    const data = JSON.stringify(event);
    for (const client of wss.clients) {
      if (client.readyState !== WebSocket.OPEN) continue;
      if (client.bufferedAmount > MAX_BUFFERED_BYTES) client.terminate();
      else client.send(data);
    }
  });

  const pinger = setInterval(() => {
    for (const client of wss.clients) {
      if (!alive.has(client)) {
        client.terminate();
        continue;
      }
      alive.delete(client);
      client.ping();
    }
  }, PING_INTERVAL_MS);
  pinger.unref();

  return {
    accept(request, socket, head) {
      wss.handleUpgrade(request, socket, head, (client) => {
        alive.add(client);
        client.on('pong', () => alive.add(client));
        client.on('error', () => client.terminate());
      });
    },
    get clientCount() {
      return wss.clients.size;
    },
    close() {
      unsubscribe();
      clearInterval(pinger);
      // Tabs reconnect on their own (with backoff), so there is no close handshake to wait for.
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

/** Refuses an upgrade with a plain HTTP status (the handshake never completes). */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
