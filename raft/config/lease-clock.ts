// The leader's view of lease deadlines. Expiry is a leader decision (thesis §6.3 discusses
// sessions expiring by a replicated, leader-chosen time): when a deadline passes, the leader
// proposes a `leaseExpire` entry, and only applying that entry deletes anything, so replicas and
// replays agree whatever their clocks say. A new leader knows no keep-alive times, so it grants
// every lease a full TTL from its election (a lease can only live longer than asked, never shorter).
export class LeaseClock {
  private readonly deadlines = new Map<number, number>();
  /** Leases whose expiry was proposed and not yet applied. */
  private readonly expiring = new Set<number>();

  /** A lease exists (granted, restored, or this node just became leader): full TTL from now. */
  refresh(lease: number, ttlMs: number, nowMs: number): void {
    this.deadlines.set(lease, nowMs + ttlMs);
  }

  forget(lease: number): void {
    this.deadlines.delete(lease);
    this.expiring.delete(lease);
  }

  /** Leadership changed: proposals in flight may be lost; decide again. */
  resetProposals(): void {
    this.expiring.clear();
  }

  /** Leases past their deadline and not yet proposed; marks them proposed. */
  due(nowMs: number, max: number): number[] {
    const due: number[] = [];
    for (const [lease, deadline] of this.deadlines) {
      if (due.length >= max) break;
      if (deadline > nowMs || this.expiring.has(lease)) continue;
      this.expiring.add(lease);
      due.push(lease);
    }
    return due;
  }

  /** A proposal failed: let the next tick try again. */
  retry(lease: number): void {
    this.expiring.delete(lease);
  }
}
