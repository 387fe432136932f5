// Durable trigger events (STYLE.md §5): one EventRecordV1 per (object event × matching bucket
// notification), or per async Invoke. Queued under f/q/<seq>; failed ones move to f/x/<seq>.
// Also the S3 event message shape (S3 User Guide, "Event message structure", version 2.1).
import type { FunctionNotificationV1 } from '../../gateway/service/records.js';
import type { ObjectEvent } from '../../gateway/service/objects.js';
import { parseFunctionName } from '../lambda-api/function-name.js';
import type { AccountId } from '../functions/records.js';

export interface EventRecordV1 {
  version: 1;
  seq: string;                 // 20 decimal digits: queue order
  kind: 's3' | 'invoke';
  account: AccountId;          // the function's account
  functionName: string;
  qualifier: string | null;
  payloadJson: string;
  orderKey: string;            // events with one key run one at a time, in seq order
  scopeBucket: string | null;  // the bucket the invocation's scoped credentials may touch
  attempts: number;
  nextAttemptMs: number;
  createdMs: number;
  lastError: string | null;
}

export const queuedKey = (seq: string): string => `f/q/${seq}`;
export const failedKey = (seq: string): string => `f/x/${seq}`;
export const queuedPrefix = 'f/q/';
export const failedPrefix = 'f/x/';

/** S3's matching rule: the event name against s3:ObjectCreated:* style patterns, then prefix/suffix. */
export function notificationMatches(config: FunctionNotificationV1, event: Pick<ObjectEvent, 'name' | 'key'>): boolean {
  const name = `s3:${event.name}`;
  const eventMatches = config.events.some((pattern) => pattern === name || (pattern.endsWith(':*') && name.startsWith(pattern.slice(0, -1))));
  return eventMatches && event.key.startsWith(config.prefix) && event.key.endsWith(config.suffix);
}

/** The function a notification names: its account (from the ARN) and name/qualifier. */
export function targetOf(functionArn: string): { account: AccountId; name: string; qualifier: string | null } | undefined {
  const parts = functionArn.split(':');
  if (parts.length < 7 || parts[0] !== 'arn' || parts[2] !== 'lambda') return undefined;
  try {
    const named = parseFunctionName(functionArn, parts[4]);
    return { account: parts[4] as AccountId, name: named.name, qualifier: named.qualifier ?? null };
  } catch {
    return undefined;
  }
}

/** S3 URL-encodes keys in event messages (form encoding: space as '+'); '/' stays. */
export function eventKeyEncoding(key: string): string {
  return key.split('/').map((segment) => encodeURIComponent(segment).replace(/%20/g, '+')).join('/');
}

export function s3EventJson(event: ObjectEvent, config: FunctionNotificationV1, region: string, seq: string): string {
  return JSON.stringify({
    Records: [{
      eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: region, eventTime: new Date(event.timeMs).toISOString(), eventName: event.name,
      userIdentity: { principalId: event.user }, requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': seq.slice(-16), 'x-amz-id-2': seq },
      s3: {
        s3SchemaVersion: '1.0', configurationId: config.id,
        bucket: { name: event.bucket.name, ownerIdentity: { principalId: event.bucket.owner }, arn: `arn:aws:s3:::${event.bucket.name}` },
        object: { key: eventKeyEncoding(event.key), size: event.size, eTag: event.etag.replace(/"/g, ''), sequencer: BigInt(seq).toString(16).toUpperCase().padStart(18, '0') },
      },
    }],
  });
}
