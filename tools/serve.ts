// `cairn serve`: one node — S3 on its port (with the admin API beside it), printing endpoints and
// the root credentials it created on first start.
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { buildGateway } from '../gateway/app.js';
import { openNode, type CairnNode } from './node.js';
import { adminRoutes } from './admin-api.js';
import { ensureRootCredentials } from './root-credentials.js';
import { startGcTrigger } from './gc-trigger.js';
import { startNbdServer } from '../blockstore/nbd/index.js';

export interface ServeOptions {
  dataDir: string;
  host: string;
  s3Port: number;
  region: string;
  location: string;
  domains: string[];
  rootAccessKey?: string;
  rootSecretKey?: string;
  logLevel: string;
  gcIntervalMs: number;
  /** Lambda API port on `host` (default 9001); 0 picks a free one (tests). */
  lambdaPort?: number;
  /** NBD port on `host`; 0 picks a free one (tests). */
  nbdPort?: number;
}

export interface RunningServer {
  node: CairnNode;
  s3Port: number;
  lambdaPort: number;
  nbdPort: number;
  close(): Promise<void>;
}

export async function serve(options: ServeOptions, logger: Logger = pino({ level: options.logLevel })): Promise<RunningServer> {
  const node = await openNode({ dataDir: options.dataDir, region: options.region, location: options.location, logger });
  const root = await ensureRootCredentials(node, options);
  // Per-invocation scoped keys (compute/triggers, seed 7) sign like any user's, for one bucket only.
  const credentials = (accessKeyId: string) => node.users.lookup(accessKeyId) ?? node.compute.credentials.lookup(accessKeyId);
  const gateway = await buildGateway({
    services: node.s3, credentials, scopeOf: node.compute.credentials.bucketOf, domains: options.domains, clock: () => Date.now(), logger,
    plugins: [adminRoutes(node, logger)],
  });
  await gateway.listen({ host: options.host, port: options.s3Port });
  const address = gateway.server.address();
  const s3Port = typeof address === 'object' && address ? address.port : options.s3Port;
  const endpoint = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${s3Port}`;
  await node.compute.start(endpoint);
  const lambda = await node.compute.lambdaApi(credentials);
  await lambda.listen({ host: options.host, port: options.lambdaPort ?? 9001 });
  const lambdaAddress = lambda.server.address();
  const lambdaPort = typeof lambdaAddress === 'object' && lambdaAddress ? lambdaAddress.port : options.lambdaPort ?? 9001;
  const lambdaEndpoint = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${lambdaPort}`;
  await writeFile(join(options.dataDir, 'endpoint.json'), JSON.stringify({ s3: endpoint, lambda: lambdaEndpoint, pid: process.pid }), { mode: 0o600 });
  const nbd = await startNbdServer({ host: options.host, port: options.nbdPort ?? 10809, registry: node.volumes.exports, logger });
  const nbdEndpoint = `nbd://${options.host.includes(':') ? `[${options.host}]` : options.host}:${nbd.port}`;
  const gc = startGcTrigger(node, options.gcIntervalMs, logger);
  const memoryLog = startMemoryLog(logger);
  logger.info({ s3: endpoint, dataDir: options.dataDir, region: options.region }, 'cairn node serving');
  printBanner(endpoint, options.region, root, nbdEndpoint, lambdaEndpoint);
  return {
    node, s3Port, lambdaPort, nbdPort: nbd.port,
    async close() {
      gc.stop();
      memoryLog.stop();
      await lambda.close();
      await nbd.close();
      await gateway.close();
      await rm(join(options.dataDir, 'endpoint.json'), { force: true });
      await node.close();
    },
  };
}

const memoryLogIntervalMs = 10_000;

/** At debug level, where the process's memory is (issue 3 probes): V8 heap, Buffers, and RSS
 *  with its peak (VmHWM, Linux), so a peak can be told apart as heap, external or native. */
function startMemoryLog(logger: Logger): { stop(): void } {
  if (!logger.isLevelEnabled('debug')) return { stop() {} };
  const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    void readFile('/proc/self/status', 'utf8').catch(() => '').then((status) => {
      const peakKiB = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
      logger.debug({
        rssMiB: mib(usage.rss), rssPeakMiB: peakKiB === undefined ? undefined : Math.round(Number(peakKiB) / 1024),
        heapUsedMiB: mib(usage.heapUsed), heapTotalMiB: mib(usage.heapTotal), externalMiB: mib(usage.external), arrayBuffersMiB: mib(usage.arrayBuffers),
      }, 'memory');
    });
  }, memoryLogIntervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function printBanner(endpoint: string, region: string, root: { accessKeyId: string; secretAccessKey: string; created: boolean }, nbdEndpoint: string, lambdaEndpoint: string): void {
  const lines = [
    'Cairn is running.',
    `  S3 endpoint      ${endpoint}`,
    `  Lambda endpoint  ${lambdaEndpoint}`,
    `  NBD endpoint     ${nbdEndpoint}`,
    `  region           ${region}`,
    `  access key id    ${root.accessKeyId}`,
    `  secret key       ${root.created ? root.secretAccessKey : '(saved in the data dir: root-credentials.json)'}`,
    '',
    `  aws --endpoint-url ${endpoint} s3 mb s3://my-bucket`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
