// PutBucketNotificationConfiguration / GetBucketNotificationConfiguration. The configuration is
// kept on the bucket record; the compute tier reads it to turn object events into invocations.
import { S3Error } from '../s3-errors.js';
import { parseXml } from '../xml.js';
import { readSmallBody } from '../body.js';
import { sendXml } from './bucket-routes.js';
import type { S3Call } from './context.js';

import type { FunctionNotificationV1 } from '../service/records.js';

export type { FunctionNotificationV1 };

const knownEvents = /^s3:(ObjectCreated|ObjectRemoved):(\*|Put|Post|Copy|CompleteMultipartUpload|Delete|DeleteMarkerCreated)$/;

export function parseNotification(document: Record<string, unknown>): FunctionNotificationV1[] {
  if (document.QueueConfiguration || document.TopicConfiguration) throw new S3Error('InvalidArgument', 'Only LambdaFunctionConfiguration destinations are supported by Cairn.');
  const configs = (document.CloudFunctionConfiguration ?? document.LambdaFunctionConfiguration ?? []) as Record<string, unknown>[];
  return configs.map((config, index) => {
    const functionArn = String(config.CloudFunction ?? config.LambdaFunctionArn ?? '');
    if (!functionArn) throw new S3Error('InvalidArgument', 'A LambdaFunctionConfiguration needs a CloudFunction (function ARN).');
    const events = ([] as unknown[]).concat(config.Event ?? []).map(String);
    if (events.length === 0 || events.some((event) => !knownEvents.test(event))) throw new S3Error('InvalidArgument', 'The event is not supported for notifications', { extra: { ArgumentName: 'Event' } });
    let prefix = '';
    let suffix = '';
    const rules = ((config.Filter as Record<string, unknown> | undefined)?.S3Key as Record<string, unknown> | undefined)?.FilterRule as Record<string, unknown>[] | undefined;
    for (const rule of rules ?? []) {
      const name = String(rule.Name ?? '').toLowerCase();
      if (name === 'prefix') prefix = String(rule.Value ?? '');
      else if (name === 'suffix') suffix = String(rule.Value ?? '');
      else throw new S3Error('InvalidArgument', 'FilterRule name must be either prefix or suffix', { extra: { ArgumentName: 'FilterRule' } });
    }
    return { id: String(config.Id ?? `notification-${index + 1}`), functionArn, events, prefix, suffix };
  });
}

export async function putBucketNotification(call: S3Call): Promise<void> {
  const bucket = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  const body = (await readSmallBody(call.request, call.auth)).toString('utf8');
  const document = body.includes('<NotificationConfiguration') && !/<NotificationConfiguration[^>]*\/>/.test(body) && /<\w+Configuration>/.test(body)
    ? parseXml(body, 'NotificationConfiguration') : {};
  const notification = parseNotification(document);
  await call.services.buckets.update({ ...bucket, notification });
  call.reply.code(200).send();
}

export async function getBucketNotification(call: S3Call): Promise<void> {
  const bucket = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  const configs = (bucket.notification ?? []) as FunctionNotificationV1[];
  sendXml(call, 200, 'NotificationConfiguration', {
    CloudFunctionConfiguration: configs.map((config) => ({
      Id: config.id, CloudFunction: config.functionArn, Event: config.events,
      ...(config.prefix || config.suffix ? { Filter: { S3Key: { FilterRule: [
        ...(config.prefix ? [{ Name: 'prefix', Value: config.prefix }] : []),
        ...(config.suffix ? [{ Name: 'suffix', Value: config.suffix }] : []),
      ] } } } : {}),
    })),
  });
}
