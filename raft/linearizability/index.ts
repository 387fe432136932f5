// Linearizability checking for client histories. Imports nothing of ours.
import { checkHistory, type HistoryOperation, type Verdict } from './checker.js';
import { kvModel, type KvModelInput, type KvModelOutput } from './model.js';

export { checkHistory, searchStepsMax, type HistoryOperation, type Verdict } from './checker.js';
export { kvModel, type KvModelInput, type KvModelOutput, type Model } from './model.js';

/** The simulation's record of one client operation; response null means pending. */
export interface KvRecord {
  readonly input: KvModelInput;
  readonly invoke: number;
  readonly response: number | null;
  readonly output: KvModelOutput | null;
}

export function checkKvHistory(records: readonly KvRecord[]): Verdict {
  // A get that never answered changes nothing and constrains nothing: leaving it out is exact,
  // and keeps the search from trying it at every point.
  const relevant = records.filter((record) => record.response !== null || record.input.op !== 'get');
  const history: HistoryOperation<KvModelInput, KvModelOutput>[] = relevant.map((record) => ({
    input: record.input,
    output: record.response === null || record.output === null ? undefined : record.output,
    call: record.invoke,
    return: record.response ?? Infinity,
  }));
  return checkHistory(kvModel, history);
}
