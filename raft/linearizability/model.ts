// A sequential specification the checker tests histories against, and the KV one the simulation
// needs. A model may split a history into independent parts (by key): linearizability is
// compositional (Herlihy & Wing 1990, §3.3), so each part is checked alone.

export interface Model<State, Input, Output> {
  init(): State;
  /** output undefined: the operation is pending, any outcome is acceptable. */
  step(state: State, input: Input, output: Output | undefined): { ok: boolean; state: State };
  /** A canonical string for the memo table. */
  stateKey(state: State): string;
  partition?(input: Input): string;
}

export type KvModelInput =
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string };

export interface KvModelOutput {
  readonly ok: boolean;
  readonly value: string | null;
}

/** One register per key: get returns it, put sets it, cas sets it when it equals `expected`. */
export const kvModel: Model<string | null, KvModelInput, KvModelOutput> = {
  init: () => null,
  step(state, input, output) {
    if (input.op === 'get') return { ok: output === undefined || output.value === state, state };
    if (input.op === 'put') return { ok: true, state: input.value };
    const swapped = state === input.expected;
    if (output === undefined) return { ok: true, state: swapped ? input.value : state };
    return { ok: output.ok === swapped, state: swapped ? input.value : state };
  },
  stateKey: (state) => (state === null ? '\u0000' : `=${state}`),
  partition: (input) => input.key,
};
