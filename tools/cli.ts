#!/usr/bin/env node
// `cairn` — the command line. The only place (with tools/serve.ts) that reads argv and the
// environment; everything else is handed its configuration.
import { parseArgs } from 'node:util';
// Each command imports only what it runs: `serve` pulls in fastify, the compute tier and wasm,
// which cost seconds of startup that `cairn user add` or a raft config-node never needs.

const usage = `usage: cairn <command> [options]
  serve                 [--data DIR] [--host 127.0.0.1] [--s3-port 9000] [--nbd-port 10809] [--region us-east-1] [--location LABEL]
  user add NAME         prints a new access key pair for NAME
  user list
  bucket redundancy BUCKET --salts R --by user|time|location [--window SECONDS]
  gc | scrub | stats    collect garbage, verify every chunk, show store figures
  volume create NAME --size 10G | list | info NAME | resize NAME --size S | delete NAME[@SNAP]
  volume snapshot NAME SNAP | snapshots NAME | clone NAME@SNAP NEWNAME   (sizes: K/M/G/T)
  config-node --id N --peers 1=HOST:PORT,2=... --client-port P [--data DIR] [--compact-every N]   one raft config-service member
common: --data DIR (default ./data)`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      data: { type: 'string', default: './data' }, host: { type: 'string', default: '127.0.0.1' },
      's3-port': { type: 'string', default: '9000' }, region: { type: 'string', default: 'us-east-1' },
      location: { type: 'string', default: 'local' }, domain: { type: 'string', multiple: true },
      salts: { type: 'string' }, by: { type: 'string' }, size: { type: 'string' }, window: { type: 'string' }, 'log-level': { type: 'string', default: 'info' },
      'nbd-port': { type: 'string', default: '10809' }, 'lambda-port': { type: 'string', default: '9001' },
      help: { type: 'boolean', short: 'h' },
      id: { type: 'string' }, peers: { type: 'string' }, 'client-port': { type: 'string' }, 'compact-every': { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(usage + '\n');
    return;
  }
  if (command === 'serve') {
    const { serve } = await import('./serve.js');
    const server = await serve({
      dataDir: values.data!, host: values.host!, s3Port: Number(values['s3-port']), region: values.region!, location: values.location!,
      domains: values.domain ?? ['localhost', 's3.localhost'], logLevel: values['log-level']!, gcIntervalMs: 60_000, lambdaPort: Number(values['lambda-port']), nbdPort: Number(values['nbd-port']),
      rootAccessKey: process.env.CAIRN_ROOT_ACCESS_KEY, rootSecretKey: process.env.CAIRN_ROOT_SECRET_KEY,
    });
    const stop = () => { server.close().then(() => process.exit(0), () => process.exit(1)); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  if (command === 'config-node') {
    const { runConfigNode } = await import('./config-node.js');
    const stop = await runConfigNode({ id: values.id, peers: values.peers, dataDir: values.data!, host: values.host!, clientPort: values['client-port'], compactEvery: values['compact-every'] });
    const exit = () => { stop().then(() => process.exit(0), () => process.exit(1)); };
    process.once('SIGINT', exit);
    process.once('SIGTERM', exit);
    return;
  }
  const { runAdminCommand } = await import('./admin-command.js');
  const result = await runAdminCommand(command, rest, { dataDir: values.data!, region: values.region!, salts: values.salts, by: values.by, window: values.window, size: values.size });
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`cairn: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
