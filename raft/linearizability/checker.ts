// Linearizability checking after Wing & Gong (1993) with Lowe's memoisation ("Testing for
// linearizability", 2017), the algorithm Porcupine implements: walk the history's call/return
// events in time order; at a call, try to linearize that operation now (the model accepts its
// output), lift it out of the list and restart from the head; at a return whose call was not
// linearized, backtrack. A (linearized set, state) pair seen before is never explored twice.
// Pending operations return at +infinity, so they may take effect at any point after their call,
// or never matter.
import type { Model } from './model.js';

export interface HistoryOperation<Input, Output> {
  readonly input: Input;
  /** Absent for a pending operation. */
  readonly output?: Output;
  readonly call: number;
  /** Infinity for a pending operation. */
  readonly return: number;
}

export interface Verdict {
  readonly ok: boolean;
  readonly detail: string;
}

/** Bounds the search; a history that needs more is reported, never silently accepted. */
export const searchStepsMax = 5_000_000;

interface Event {
  readonly id: number;
  readonly isCall: boolean;
  readonly time: number;
  match: Event | null;
  prev: Event | null;
  next: Event | null;
}

export function checkHistory<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly HistoryOperation<Input, Output>[],
): Verdict {
  const parts = new Map<string, HistoryOperation<Input, Output>[]>();
  for (const operation of history) {
    const key = model.partition ? model.partition(operation.input) : '';
    const part = parts.get(key) ?? [];
    part.push(operation);
    parts.set(key, part);
  }
  for (const [key, part] of parts) {
    const verdict = checkPart(model, part);
    if (!verdict.ok) return { ok: false, detail: `partition ${JSON.stringify(key)}: ${verdict.detail}` };
  }
  return { ok: true, detail: `${history.length} operations in ${parts.size} partitions` };
}

function buildEvents<Input, Output>(part: readonly HistoryOperation<Input, Output>[]): Event {
  const events: Event[] = [];
  part.forEach((operation, id) => {
    const call: Event = { id, isCall: true, time: operation.call, match: null, prev: null, next: null };
    const ret: Event = { id, isCall: false, time: operation.return, match: null, prev: null, next: null };
    call.match = ret;
    events.push(call, ret);
  });
  // Calls before returns at equal times: touching intervals are treated as concurrent.
  events.sort((left, right) => left.time - right.time || Number(right.isCall) - Number(left.isCall));
  const head: Event = { id: -1, isCall: false, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const event of events) {
    last.next = event;
    event.prev = last;
    last = event;
  }
  return head;
}

function lift(call: Event): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Event): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

function checkPart<State, Input, Output>(model: Model<State, Input, Output>, part: readonly HistoryOperation<Input, Output>[]): Verdict {
  const head = buildEvents(part);
  const linearized = new Uint32Array(Math.ceil(part.length / 32) + 1);
  const seen = new Set<string>();
  const stack: { call: Event; state: State }[] = [];
  let state = model.init();
  let event = head.next;
  let longest = 0;
  for (let steps = 0; head.next !== null; steps++) {
    if (steps > searchStepsMax) return { ok: false, detail: `undecided: search exceeded ${searchStepsMax} steps (treated as a failure)` };
    if (event!.isCall) {
      const operation = part[event!.id];
      const result = model.step(state, operation.input, operation.output);
      if (result.ok) {
        linearized[event!.id >>> 5] ^= 1 << (event!.id & 31);
        const key = `${linearized.join(',')}|${model.stateKey(result.state)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ call: event!, state });
          state = result.state;
          lift(event!);
          longest = Math.max(longest, stack.length);
          event = head.next;
          continue;
        }
        linearized[event!.id >>> 5] ^= 1 << (event!.id & 31);
      }
      event = event!.next;
    } else {
      // A return whose operation is not linearized yet: this branch is dead.
      const top = stack.pop();
      if (!top) return { ok: false, detail: `no linearization; longest prefix ${longest} of ${part.length} operations` };
      state = top.state;
      linearized[top.call.id >>> 5] ^= 1 << (top.call.id & 31);
      unlift(top.call);
      event = top.call.next;
    }
  }
  return { ok: true, detail: `${part.length} operations` };
}
