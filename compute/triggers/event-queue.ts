// The durable event queue (at-least-once). The sink side turns an object change into queued
// EventRecordV1s whose MetaOps ride in the SAME batch as the object change (ObjectEventSink), so
// a kill -9 loses neither; async Invokes are queued the same way. The dispatcher drains the queue:
// per object key one event at a time in queue order, a bounded number in flight, retries with
// exponential backoff, and after eventAttemptsMax attempts the record moves to the failed list.
// A record is deleted only after its invocation finished, so a crash mid-invocation redelivers.
import { randomUUID } from 'node:crypto';
import type { MetaOp, MetaStore } from '../../blockstore/meta/index.js';
import type { FunctionNotificationV1 } from '../../gateway/service/records.js';
import type { ObjectEvent, ObjectEventSink } from '../../gateway/service/objects.js';
import type { BucketRecordV1 } from '../../gateway/service/records.js';
import { assert } from '../../dedup/errors.js';
import * as limits from '../limits.js';
import { decodeJson, encodeJson, prefixEnd, type AccountId } from '../functions/records.js';
import {
  failedKey, failedPrefix, notificationMatches, queuedKey, queuedPrefix, s3EventJson, targetOf, type EventRecordV1,
} from './event-records.js';

export interface DeliveryOutcome { ok: boolean; error?: string }
export type Deliver = (record: EventRecordV1) => Promise<DeliveryOutcome>;

export interface EventQueueDeps {
  meta: MetaStore;
  clock: () => number;
  region: string;
  onError?: (error: unknown, what: string) => void;
}

export class EventQueue implements ObjectEventSink {
  private readonly pending: EventRecordV1[] = [];   // ascending seq
  private readonly inFlightKeys = new Set<string>();
  private readonly created = new WeakMap<ObjectEvent, EventRecordV1[]>();
  private inFlight = 0;
  private lastSeq = 0n;
  private deliver: Deliver | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: EventQueueDeps) {}

  /** Loads queued events left by an earlier run (kill -9 included) and starts draining. */
  async start(deliver: Deliver): Promise<void> {
    for await (const [, value] of this.deps.meta.iterate({ gte: queuedPrefix, lt: prefixEnd(queuedPrefix), limit: limits.eventQueueLoadMax })) {
      const record = decodeJson<EventRecordV1>(value, 'event');
      this.pending.push({ ...record, nextAttemptMs: 0 });
      if (BigInt(record.seq) > this.lastSeq) this.lastSeq = BigInt(record.seq);
    }
    this.deliver = deliver;
    this.pump();
  }

  // ---- ObjectEventSink: called inside ObjectService's commit, before and after the batch.
  opsFor(event: ObjectEvent): MetaOp[] {
    const configs = (event.bucket.notification ?? []) as FunctionNotificationV1[];
    const records: EventRecordV1[] = [];
    for (const config of configs) {
      if (!notificationMatches(config, event)) continue;
      const target = targetOf(config.functionArn);
      if (!target) continue;
      const seq = this.nextSeq();
      records.push(this.record(seq, 's3', target.account, target.name, target.qualifier, s3EventJson(event, config, this.deps.region, seq), `${event.bucket.name}/${event.key}`, event.bucket.name));
    }
    if (records.length === 0) return [];
    this.created.set(event, records);
    return records.map((record) => ({ type: 'put', key: queuedKey(record.seq), value: encodeJson(record) }));
  }

  committed(event: ObjectEvent): void {
    const records = this.created.get(event);
    if (!records) return;
    this.created.delete(event);
    this.pending.push(...records);
    this.pump();
  }

  /** Seed 16 hint: the notification configs that a future object under `key` would fire. */
  targetsFor(bucket: BucketRecordV1, key: string): { account: AccountId; name: string; qualifier: string | null }[] {
    const configs = (bucket.notification ?? []) as FunctionNotificationV1[];
    return configs.filter((config) => notificationMatches(config, { name: 'ObjectCreated:CompleteMultipartUpload', key }))
      .map((config) => targetOf(config.functionArn)).filter((target) => target !== undefined);
  }

  /** Invoke with InvocationType Event: durable before the 202. */
  async enqueueInvoke(account: AccountId, name: string, qualifier: string | undefined, payloadJson: string): Promise<string> {
    const seq = this.nextSeq();
    const requestId = randomUUID();
    const record = this.record(seq, 'invoke', account, name, qualifier ?? null, payloadJson, `invoke/${requestId}`, null);
    await this.deps.meta.batch([{ type: 'put', key: queuedKey(seq), value: encodeJson(record) }]);
    this.pending.push(record);
    this.pump();
    return requestId;
  }

  async listFailed(account: AccountId): Promise<unknown[]> {
    const failed: unknown[] = [];
    for await (const [, value] of this.deps.meta.iterate({ gte: failedPrefix, lt: prefixEnd(failedPrefix), limit: limits.eventQueueLoadMax })) {
      const record = decodeJson<EventRecordV1>(value, 'event');
      if (record.account !== account) continue;
      failed.push({ Sequence: record.seq, Kind: record.kind, FunctionName: record.functionName, Qualifier: record.qualifier, Attempts: record.attempts,
        LastError: record.lastError, CreatedMs: record.createdMs, Payload: record.payloadJson });
      if (failed.length >= limits.failedEventsListMax) break;
    }
    return failed;
  }

  get depth(): number {
    return this.pending.length + this.inFlight;
  }

  /** Resolves when nothing is queued or running (tests, bench, shutdown). */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private record(seq: string, kind: EventRecordV1['kind'], account: AccountId, functionName: string, qualifier: string | null,
    payloadJson: string, orderKey: string, scopeBucket: string | null): EventRecordV1 {
    return { version: 1, seq, kind, account, functionName, qualifier, payloadJson, orderKey, scopeBucket, attempts: 0, nextAttemptMs: 0, createdMs: this.deps.clock(), lastError: null };
  }

  /** Monotonic across restarts while the clock is: microseconds since the epoch, bumped on ties. */
  private nextSeq(): string {
    const now = BigInt(this.deps.clock()) * 1000n;
    this.lastSeq = now > this.lastSeq ? now : this.lastSeq + 1n;
    return this.lastSeq.toString().padStart(20, '0');
  }

  private pump(): void {
    if (!this.deliver || this.closed) return;
    const now = this.deps.clock();
    const blocked = new Set<string>(this.inFlightKeys);
    let wakeAtMs = Infinity;
    for (let index = 0; index < this.pending.length && this.inFlight < limits.eventsInFlightMax; index++) {
      const record = this.pending[index];
      if (blocked.has(record.orderKey)) continue;
      blocked.add(record.orderKey); // later events on this key wait for this one
      if (record.nextAttemptMs > now) {
        wakeAtMs = Math.min(wakeAtMs, record.nextAttemptMs);
        continue;
      }
      this.pending.splice(index--, 1);
      this.run(record);
    }
    if (wakeAtMs !== Infinity) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => { this.timer = undefined; this.pump(); }, Math.max(1, wakeAtMs - now));
    }
    if (this.depth === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private run(record: EventRecordV1): void {
    this.inFlight++;
    this.inFlightKeys.add(record.orderKey);
    const finish = async (outcome: DeliveryOutcome): Promise<void> => {
      const attempts = record.attempts + 1;
      if (outcome.ok) await this.deps.meta.batch([{ type: 'del', key: queuedKey(record.seq) }]);
      else if (attempts >= limits.eventAttemptsMax) {
        const failed: EventRecordV1 = { ...record, attempts, lastError: outcome.error ?? 'unknown' };
        await this.deps.meta.batch([{ type: 'del', key: queuedKey(record.seq) }, { type: 'put', key: failedKey(record.seq), value: encodeJson(failed) }]);
      } else {
        const backoffMs = Math.min(limits.eventBackoffMsMax, limits.eventBackoffMsBase * 2 ** (attempts - 1));
        const retry: EventRecordV1 = { ...record, attempts, lastError: outcome.error ?? 'unknown', nextAttemptMs: this.deps.clock() + backoffMs };
        await this.deps.meta.batch([{ type: 'put', key: queuedKey(record.seq), value: encodeJson(retry) }]);
        this.insertPending(retry);
      }
    };
    void this.deliver!(record)
      .catch((error: unknown) => ({ ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }))
      .then(finish)
      .catch((error: unknown) => this.deps.onError?.(error, 'event queue'))
      .finally(() => {
        this.inFlight--;
        this.inFlightKeys.delete(record.orderKey);
        assert(this.inFlight >= 0, 'in-flight count');
        this.pump();
      });
  }

  private insertPending(record: EventRecordV1): void {
    let index = this.pending.length;
    while (index > 0 && this.pending[index - 1].seq > record.seq) index--;
    this.pending.splice(index, 0, record);
  }
}
