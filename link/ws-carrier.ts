/**
 * A WebSocket as the byte stream under an HTTP/2 session: the agent link in WebSocket mode (both
 * ends) and the replica relay. It is ws's `createWebSocketStream` with one change: `end()`
 * completes once the WebSocket's close has begun, instead of when its TCP socket has finished.
 *
 * Why: HTTP/2 runs over a non-native stream through Node's JS stream socket, which cannot take a
 * write while a shutdown waits for the stream's end callback; it throws ERR_INTERNAL_ASSERTION
 * from a callback, out of reach of any try/catch, which ends the process. ws calls that callback
 * only when the TCP socket has finished, and with a peer that went away (an agent killed or
 * stopping) it may not finish before the session writes its last frames (a GOAWAY as it is
 * destroyed). Seen in the agent's unit tests, about one teardown in five.
 */
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket } from 'ws';

export function webSocketCarrier(ws: WebSocket): Duplex {
  const carrier = createWebSocketStream(ws);
  carrier._final = (callback: (error?: Error | null) => void) => {
    // the close frame goes after whatever was sent before it, as ws's own end does
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
    callback();
  };
  // writes after the end, or with the socket gone, error: the session's own close handles it
  carrier.on('error', () => {});
  return carrier;
}
