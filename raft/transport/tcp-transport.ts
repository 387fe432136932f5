// Raft messages over TCP on loopback. Each node listens once; toward each peer it keeps one
// outbound connection that only writes, and reads whatever peers connect inbound. So a message
// travels on its sender's connection and a restart on either side heals by reconnecting.
// Delivery is best effort (Raft paper §5.1: RPCs are retried; the core retransmits on heartbeats):
// queues are bounded and drop when full, a dead peer is retried with exponential backoff, and a
// bad frame or message closes the connection it came on without touching the node.
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { assert, type Message, type NodeId } from '../core/index.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { TransportError } from './errors.js';
import { encodeFrame, FrameDecoder } from './frame.js';
import {
  transportBackoffMsMax, transportBackoffMsMin, transportConnectMsMax, transportInboundConnectionsMax,
  transportQueueBytesMax, transportQueueFramesMax,
} from './limits.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface TransportOptions {
  readonly id: NodeId;
  readonly listen: PeerAddress;
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /** Called once per decoded message addressed to this node. */
  readonly onMessage: (message: Message) => void;
  /** Operating problems (bad frames, refused connections); the transport keeps going. */
  readonly onProblem?: (problem: Error) => void;
}

export interface TransportStats {
  sent: number;
  dropped: number;
  received: number;
  rejected: number;
}

export class TcpTransport {
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<Socket>();
  private closed = false;
  readonly stats: TransportStats = { sent: 0, dropped: 0, received: 0, rejected: 0 };

  private constructor(private readonly options: TransportOptions, private readonly server: Server) {
    for (const [id, address] of options.peers) {
      assert(id !== options.id, 'a node is not its own peer');
      this.links.set(id, new PeerLink(address, this.stats, (problem) => this.problem(problem)));
    }
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on options.listen and returns once the port is bound. */
  static async start(options: TransportOptions): Promise<TcpTransport> {
    const server = createServer();
    server.maxConnections = transportInboundConnectionsMax;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen.port, options.listen.host, () => { server.off('error', reject); resolve(); });
    });
    return new TcpTransport(options, server);
  }

  /** The port actually bound (useful when listening on port 0). */
  port(): number {
    const address = this.server.address();
    assert(address !== null && typeof address === 'object', 'transport is listening');
    return address.port;
  }

  /** Queues `message` for its peer; drops it when the peer is unknown or its queue is full. */
  send(message: Message): void {
    assert(message.from === this.options.id, `sending a message from ${message.from} on node ${this.options.id}`);
    const link = this.links.get(message.to);
    if (!link || this.closed) {
      this.stats.dropped++;
      return;
    }
    link.send(encodeFrame(encodeMessage(message)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) link.close();
    for (const socket of this.inbound) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.inbound.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const payload of decoder.push(chunk)) this.deliver(decodeMessage(payload));
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        this.stats.rejected++;
        this.problem(error);
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.inbound.delete(socket));
  }

  private deliver(message: Message): void {
    if (message.to !== this.options.id || this.closed) {
      this.stats.rejected++;
      return;
    }
    this.stats.received++;
    this.options.onMessage(message);
  }

  private problem(problem: Error): void {
    this.options.onProblem?.(problem);
  }
}

/** One outbound connection with its bounded queue and reconnect backoff. */
class PeerLink {
  private socket: Socket | null = null;
  private connected = false;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private backoffMs = transportBackoffMsMin;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly address: PeerAddress, private readonly stats: TransportStats, private readonly problem: (error: Error) => void) {
    this.connect();
  }

  send(frame: Buffer): void {
    if (this.connected && this.socket) {
      // Node buffers writes without bound; past the cap the peer is not keeping up: drop.
      if (this.socket.writableLength + frame.length > transportQueueBytesMax) {
        this.stats.dropped++;
        return;
      }
      this.socket.write(frame);
      this.stats.sent++;
      return;
    }
    if (this.queue.length >= transportQueueFramesMax || this.queuedBytes + frame.length > transportQueueBytesMax) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.socket?.destroy();
    this.queue = [];
    this.queuedBytes = 0;
  }

  private connect(): void {
    if (this.closed) return;
    const socket = createConnection({ host: this.address.host, port: this.address.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(transportConnectMsMax);
    socket.on('timeout', () => { if (!this.connected) socket.destroy(); });
    socket.on('connect', () => {
      socket.setTimeout(0);
      this.connected = true;
      this.backoffMs = transportBackoffMsMin;
      const queued = this.queue;
      this.queue = [];
      this.queuedBytes = 0;
      for (const frame of queued) this.send(frame);
    });
    // Outbound connections only write; anything read is a protocol violation by the peer.
    socket.on('data', () => socket.destroy());
    socket.on('error', (error) => { if (this.connected) this.problem(error); });
    socket.on('close', () => this.reconnectLater(socket));
  }

  private reconnectLater(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.connected = false;
    if (this.closed) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, transportBackoffMsMax);
    this.retry = setTimeout(() => { this.retry = null; this.connect(); }, delay);
  }
}
