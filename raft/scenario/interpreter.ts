// Runs a scenario script (STYLE.md §10, after etcd-raft's datadriven tests): blocks of
//   command args
//   ----
//   expected output (no blank lines)
// separated by blank lines; `#` lines are comments. Returns the script with actual outputs, so a
// test can compare it to the file and a rewrite can replace it.
import { clusterHandlers, type Handler } from './handlers-cluster.js';
import { driveHandlers } from './handlers-drive.js';
import { ScenarioEnv } from './env.js';

const handlers: Record<string, Handler> = { ...clusterHandlers, ...driveHandlers };

export function runScript(script: string): string {
  const env = new ScenarioEnv();
  const lines = script.split('\n');
  const result: string[] = [];
  let k = 0;
  while (k < lines.length) {
    const line = lines[k];
    if (line.trim() === '' || line.startsWith('#')) {
      result.push(line);
      k++;
      continue;
    }
    const [name, ...args] = line.trim().split(/\s+/);
    const handler = handlers[name];
    if (!handler) throw new Error(`line ${k + 1}: unknown command ${name}`);
    k++;
    if (lines[k] === '----') k++;
    while (k < lines.length && lines[k].trim() !== '') k++; // skip the old expected output
    env.output = [];
    handler(env, args);
    if (name !== 'deliver' && name !== 'stabilize' && name !== 'drop') env.processReadies();
    result.push(line, '----', ...(env.output.length > 0 ? env.output : ['ok']));
  }
  return result.join('\n');
}
