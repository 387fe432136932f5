// Safety invariants checked as the world runs (Raft paper Figure 3): election safety, log
// matching, leader completeness, state-machine safety, and "no committed entry is ever lost"
// (every committed index keeps one (term, data) forever, and every new leader holds it).
import type { Entry, NodeId, Term } from '../core/index.js';
import type { SimNode } from './sim-node.js';

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolation';
  }
}

function check(condition: boolean, message: () => string): void {
  if (!condition) throw new InvariantViolation(message());
}

interface Recorded {
  readonly term: Term;
  readonly entry: Entry;
  /** The term of the leader that committed it; Infinity when only seen applied. */
  readonly committedInTerm: number;
}

function sameEntry(left: Entry, right: Entry): boolean {
  if (left === right) return true;
  if (left.term !== right.term || left.index !== right.index || left.type !== right.type) return false;
  if (left.data.length !== right.data.length) return false;
  for (let k = 0; k < left.data.length; k++) if (left.data[k] !== right.data[k]) return false;
  return true;
}

export class InvariantChecker {
  private readonly leaders = new Map<number, NodeId>();
  /** (index, term) -> the entry and the term before it: log matching by induction. */
  private readonly logged = new Map<string, { entry: Entry; previousTerm: Term | null }>();
  /** index -> the one entry committed there. */
  private readonly committed = new Map<number, Recorded>();
  private committedMax = 0;
  private readonly leaderSeen = new Map<NodeId, number>();

  /** Election safety (§5.2) and, on each new leadership, leader completeness (§5.4). */
  afterStep(node: SimNode): void {
    const raft = node.raft;
    if (!raft) return;
    const status = raft.status();
    if (status.role !== 'leader') return;
    const holder = this.leaders.get(status.term);
    check(holder === undefined || holder === node.id, () => `election safety: ${holder} and ${node.id} both lead term ${status.term}`);
    this.leaders.set(status.term, node.id);
    if (this.leaderSeen.get(node.id) !== status.term) {
      this.leaderSeen.set(node.id, status.term);
      // §5.4: entries committed in earlier terms only. Votes granted before a commit may reach a
      // candidate after it (delay, pause), electing a leader of an older term that lacks it.
      for (const [index, recorded] of this.committed) {
        if (recorded.committedInTerm >= status.term || index <= raft.snapshotIndex()) continue;
        check(raft.termAt(index) === recorded.term, () => `leader completeness: leader ${node.id} term ${status.term} has term ${raft.termAt(index)} at ${index}, committed in term ${recorded.committedInTerm} as ${index}@${recorded.term}`);
      }
    }
    // Record what this leader has committed: committed entries never change (§5.4.3).
    for (let index = this.committedMax + 1; index <= status.commit; index++) {
      const entry = raft.entryAt(index);
      if (entry) this.recordCommitted(entry, `leader ${node.id}`, status.term);
    }
  }

  /** Log matching (§5.3): same (index, term) means same entry and same predecessor term. */
  persisted(node: SimNode, entries: readonly Entry[]): void {
    const raft = node.raft!;
    for (const entry of entries) {
      const previousTerm = raft.termAt(entry.index - 1);
      const key = `${entry.index}:${entry.term}`;
      const seen = this.logged.get(key);
      if (!seen) {
        this.logged.set(key, { entry, previousTerm });
        continue;
      }
      check(sameEntry(seen.entry, entry), () => `log matching: node ${node.id} holds a different entry at ${key}`);
      check(seen.previousTerm === null || previousTerm === null || seen.previousTerm === previousTerm,
        () => `log matching: node ${node.id} at ${key} follows term ${previousTerm}, others ${seen.previousTerm}`);
    }
  }

  /** State-machine safety (§5.4.3): nobody applies a different entry at an index. */
  applied(node: SimNode, entry: Entry): void {
    this.recordCommitted(entry, `node ${node.id} applying`, Infinity);
  }

  private recordCommitted(entry: Entry, who: string, committedInTerm: number): void {
    const recorded = this.committed.get(entry.index);
    if (recorded) {
      check(sameEntry(recorded.entry, entry), () => `state-machine safety: ${who} has ${entry.index}@${entry.term}, committed ${entry.index}@${recorded.term}`);
      return;
    }
    this.committed.set(entry.index, { term: entry.term, entry, committedInTerm });
    if (entry.index > this.committedMax) this.committedMax = entry.index;
  }

  /** At the end: the final leader still holds every committed entry (nothing was lost). */
  finalCheck(leader: SimNode): void {
    const raft = leader.raft!;
    for (const [index, recorded] of this.committed) {
      if (index <= raft.snapshotIndex()) continue;
      check(raft.termAt(index) === recorded.term, () => `committed entry lost: ${index}@${recorded.term} missing on final leader ${leader.id}`);
    }
  }

  committedCount(): number {
    return this.committedMax;
  }
}
