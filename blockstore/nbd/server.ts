// The NBD server shell on node:net: accepts connections, runs the handshake, then transmission.
// One connection's failure (malformed bytes, a device AssertionError) closes that connection
// only. Loopback by default is the caller's choice of `host`; there is no TLS (proto.md "NOTLS mode").
import { type Socket, createServer } from 'node:net';
import { assert } from '../../dedup/errors.js';
import type { ExportRegistry } from './block-device.js';
import { HardDisconnect, negotiate } from './handshake.js';
import { nbdConnectionsMax, nbdHandshakeTimeoutMs, nbdShutdownGraceMs } from './limits.js';
import { type NbdLogger, stderrErrorLogger } from './logger.js';
import { ConnectionEnded, SocketReader } from './socket-reader.js';
import { Transmission } from './transmission.js';

export interface NbdServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  registry: ExportRegistry;
  logger?: NbdLogger;
}

export interface NbdServer {
  readonly port: number;
  /** Stops accepting, lets running requests finish (up to nbdShutdownGraceMs), then closes every connection. */
  close(): Promise<void>;
}

interface Connection { socket: Socket; transmission: Transmission | undefined; finished: Promise<void> }

export async function startNbdServer(options: NbdServerOptions): Promise<NbdServer> {
  const logger = options.logger ?? stderrErrorLogger;
  const connections = new Set<Connection>();
  // Accepted paused: the connection's SocketReader adopts the handle before anything is read. The
  // adopted socket is not the server's, so the connection cap is counted here.
  const server = createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
    if (connections.size >= nbdConnectionsMax) {
      accepted.destroy();
      return;
    }
    const reader = SocketReader.adopt(accepted);
    const connection: Connection = { socket: reader.socket, transmission: undefined, finished: Promise.resolve() };
    connection.finished = serveConnection(connection, reader, options.registry, logger).finally(() => connections.delete(connection));
    connections.add(connection);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  assert(address !== null && typeof address === 'object', 'a TCP server has an address');
  logger.info({ host: options.host, port: address.port }, 'nbd: listening');
  return {
    port: address.port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) {
        if (connection.transmission) connection.transmission.stop();
        else connection.socket.destroy(); // still haggling: nothing to finish
      }
      const grace = new Promise<void>((resolve) => setTimeout(resolve, nbdShutdownGraceMs).unref());
      await Promise.race([Promise.allSettled([...connections].map((connection) => connection.finished)), grace]);
      for (const connection of connections) connection.socket.destroy();
      await closed;
    },
  };
}

async function serveConnection(connection: Connection, reader: SocketReader, registry: ExportRegistry, logger: NbdLogger): Promise<void> {
  const { socket } = connection;
  socket.on('error', (error) => logger.info({ err: error }, 'nbd: socket error'));
  const send = (bytes: Buffer) => {
    if (!socket.destroyed) socket.write(bytes);
  };
  const timer = setTimeout(() => socket.destroy(), nbdHandshakeTimeoutMs).unref();
  let negotiated;
  try {
    negotiated = await negotiate(reader, send, registry);
  } catch (error) {
    if (error instanceof HardDisconnect) logger.warn({ reason: error.message }, 'nbd: handshake violation; closing the connection');
    else if (!(error instanceof ConnectionEnded)) logger.error({ err: error }, 'nbd: handshake failed; closing the connection');
    socket.destroy();
    return;
  } finally {
    clearTimeout(timer);
  }
  if (!negotiated) {
    socket.end(); // NBD_OPT_ABORT: the client drops the connection after our ACK; so may we.
    return;
  }
  connection.transmission = new Transmission(socket, reader, negotiated.device, negotiated.session, logger);
  try {
    await connection.transmission.serve();
  } finally {
    await negotiated.device.close?.().catch((error: unknown) => logger.warn({ err: error }, 'nbd: device close failed'));
  }
}
