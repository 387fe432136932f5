// Method: hand-built histories with a known answer. Linearizable ones (including overlapping
// operations and pending ones) must be accepted; classic anomalies (stale read after a completed
// write, a lost write, a CAS that succeeded twice) must be rejected.
import { describe, expect, it } from 'vitest';
import { checkKvHistory, type KvRecord } from './index.js';

const put = (key: string, value: string, invoke: number, response: number | null): KvRecord => ({
  input: { op: 'put', key, value }, invoke, response, output: response === null ? null : { ok: true, value: null },
});
const get = (key: string, value: string | null, invoke: number, response: number): KvRecord => ({
  input: { op: 'get', key }, invoke, response, output: { ok: true, value },
});
const cas = (key: string, expected: string | null, value: string, ok: boolean, invoke: number, response: number | null): KvRecord => ({
  input: { op: 'cas', key, expected, value }, invoke, response, output: response === null ? null : { ok, value: expected },
});

describe('checkKvHistory', () => {
  it('accepts a sequential history', () => {
    expect(checkKvHistory([put('x', '1', 1, 2), get('x', '1', 3, 4), cas('x', '1', '2', true, 5, 6), get('x', '2', 7, 8)]).ok).toBe(true);
  });

  it('accepts a read overlapping a write returning either value', () => {
    expect(checkKvHistory([put('x', '1', 1, 10), get('x', null, 2, 3), get('x', '1', 4, 5)]).ok).toBe(true);
  });

  it('rejects a stale read after a completed write', () => {
    const verdict = checkKvHistory([put('x', '1', 1, 2), get('x', null, 3, 4)]);
    expect(verdict.ok).toBe(false);
    expect(verdict.detail).toContain('partition "x"');
  });

  it('rejects a read that goes back in time', () => {
    expect(checkKvHistory([put('x', '1', 1, 10), get('x', '1', 2, 3), get('x', null, 4, 5)]).ok).toBe(false);
  });

  it('rejects two successful CAS from the same expected value', () => {
    expect(checkKvHistory([cas('x', null, 'a', true, 1, 5), cas('x', null, 'b', true, 2, 6)]).ok).toBe(false);
  });

  it('accepts a pending write that took effect later', () => {
    expect(checkKvHistory([put('x', '1', 1, null), get('x', null, 2, 3), get('x', '1', 4, 5)]).ok).toBe(true);
  });

  it('accepts a pending write that never took effect', () => {
    expect(checkKvHistory([put('x', '1', 1, null), get('x', null, 2, 3), get('x', null, 8, 9)]).ok).toBe(true);
  });

  it('rejects a value nobody wrote', () => {
    expect(checkKvHistory([put('x', '1', 1, 2), get('x', '7', 3, 4)]).ok).toBe(false);
  });

  it('checks keys independently (partitioning)', () => {
    const history = [put('x', '1', 1, 2), put('y', '2', 1, 2), get('x', '1', 3, 4), get('y', null, 3, 4)];
    const verdict = checkKvHistory(history);
    expect(verdict.ok).toBe(false);
    expect(verdict.detail).toContain('partition "y"');
  });

  it('handles many concurrent operations through memoisation', () => {
    const history: KvRecord[] = [];
    for (let k = 0; k < 40; k++) history.push(put('x', String(k), k, 100 + k));
    history.push(get('x', '39', 200, 201));
    expect(checkKvHistory(history).ok).toBe(true);
  });
});
