// Method: drive ConfigStateMachine with command sequences as the log would deliver them, and
// check results, watch events, retry deduplication, and that a replay — from the start or from a
// snapshot taken midway — reaches the same bytes (replicas agree, thesis §2.1).
import { describe, expect, it } from 'vitest';
import type { CommandV1, Operation } from './command.js';
import { decodeCommand, encodeCommand } from './command.js';
import { configClientWindowMax, configWatchEventsMax } from './limits.js';
import { ConfigStateMachine } from './state-machine.js';
import { decodeState, encodeState } from './state-snapshot.js';

let seq = 0;
const command = (operation: Operation, client = 'c1', at = ++seq): CommandV1 => ({ version: 1, client, seq: at, operation });
const put = (key: string, value: string, expectedVersion: number | null = null, lease: number | null = null): Operation =>
  ({ op: 'put', key, value, lease, expectedVersion });

describe('config state machine', () => {
  it('CAS on a version: 0 creates, a matching version swaps, a stale one changes nothing', () => {
    const machine = new ConfigStateMachine();
    expect(machine.apply(command(put('a', 'one', 0))).ok).toBe(true);
    expect(machine.apply(command(put('a', 'again', 0)))).toMatchObject({ ok: false, reason: 'VersionMismatch', kv: { value: 'one', version: 1 } });
    expect(machine.apply(command(put('a', 'two', 1)))).toMatchObject({ ok: true, kv: { value: 'two', version: 2, createRevision: 1, modRevision: 2 } });
    expect(machine.apply(command(put('a', 'three', 1))).ok).toBe(false);
    expect(machine.apply(command({ op: 'delete', key: 'a', expectedVersion: 1 })).reason).toBe('VersionMismatch');
    expect(machine.apply(command({ op: 'delete', key: 'a', expectedVersion: 2 })).ok).toBe(true);
    expect(machine.get('a')).toBeNull();
    expect(machine.apply(command({ op: 'delete', key: 'a', expectedVersion: null })).reason).toBe('KeyNotFound');
    expect(machine.apply(command(put('a', 'reborn', 0)))).toMatchObject({ ok: true, kv: { version: 1, createRevision: 4 } });
    expect(machine.revision).toBe(4);
  });

  it('a retried request id is applied once and answered from the cache', () => {
    const machine = new ConfigStateMachine();
    const first = command(put('k', 'v', 0), 'retrier', 1);
    const result = machine.apply(first);
    expect(machine.apply(first)).toBe(result);
    expect(machine.apply(decodeCommand(encodeCommand(first)))).toBe(result);
    expect(machine.get('k')?.version).toBe(1);
    // Requests in flight together (seq 3 before 2) are each applied once.
    machine.apply(command(put('k', 'x'), 'retrier', 3));
    machine.apply(command(put('k', 'y'), 'retrier', 2));
    expect(machine.get('k')?.version).toBe(3);
    for (let at = 4; at < 4 + configClientWindowMax; at++) machine.apply(command(put('k', String(at)), 'retrier', at));
    expect(machine.apply(first).reason).toBe('StaleRequest');
    expect(machine.get('k')?.version).toBe(3 + configClientWindowMax);
  });

  it('lease expiry deletes its keys in one revision, and a replay from a snapshot agrees', () => {
    const log: CommandV1[] = [
      command({ op: 'leaseGrant', ttlMs: 1000 }),
      command(put('session/a', '1', null, 1)),
      command(put('session/b', '2', null, 1)),
      command(put('other', '3')),
      command(put('session/c', '4', null, 7)),
      { version: 1, client: '', seq: 0, operation: { op: 'leaseExpire', lease: 1 } },
      { version: 1, client: '', seq: 0, operation: { op: 'leaseExpire', lease: 1 } },
    ];
    const whole = new ConfigStateMachine();
    const results = log.map((entry) => whole.apply(entry));
    expect(results[0].lease).toBe(1);
    expect(results[4].reason).toBe('LeaseNotFound');
    expect(results[5]).toMatchObject({ ok: true, revision: 4 });
    expect(results[6].reason).toBe('LeaseNotFound');
    expect(whole.range('').kvs.map((kv) => kv.key)).toEqual(['other']);
    expect(whole.watch('session/', 3)).toEqual([
      { revision: 4, type: 'delete', key: 'session/a', kv: null },
      { revision: 4, type: 'delete', key: 'session/b', kv: null },
    ]);
    for (let cut = 0; cut <= log.length; cut++) {
      const replica = new ConfigStateMachine();
      log.slice(0, cut).forEach((entry) => replica.apply(entry));
      const restored = decodeState(encodeState(replica));
      log.slice(cut).forEach((entry) => restored.apply(entry));
      expect(encodeState(restored)).toEqual(encodeState(whole));
    }
  });

  it('watches see every change under a prefix after a revision, in order, and report compaction', () => {
    const machine = new ConfigStateMachine();
    machine.apply(command(put('a/1', 'x')));
    machine.apply(command(put('b/1', 'y')));
    machine.apply(command(put('a/2', 'z')));
    machine.apply(command({ op: 'delete', key: 'a/1', expectedVersion: null }));
    expect(machine.watch('a/', 0).map((event) => [event.revision, event.type, event.key])).toEqual([[1, 'put', 'a/1'], [3, 'put', 'a/2'], [4, 'delete', 'a/1']]);
    expect(machine.watch('a/', 3).map((event) => event.revision)).toEqual([4]);
    expect(machine.watch('a/', 4)).toEqual([]);
    for (let k = 0; k < configWatchEventsMax; k++) machine.apply(command(put('c', String(k))));
    expect(() => machine.watch('a/', 3)).toThrow(/Compacted/);
    expect(machine.watch('c', machine.revision - 1)).toHaveLength(1);
  });
});
