// S3 XML bodies in and out, with a real XML library (fast-xml-parser). Parsing is strict about
// size and shape: anything that is not the expected document is MalformedXML.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './s3-errors.js';

const s3Namespace = 'http://s3.amazonaws.com/doc/2006-03-01/';
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });
const parser = new XMLParser({
  ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true,
  isArray: (name) => ['Part', 'Object', 'CloudFunctionConfiguration', 'LambdaFunctionConfiguration', 'QueueConfiguration', 'TopicConfiguration', 'FilterRule'].includes(name),
});

export function renderXml(root: string, body: Record<string, unknown>): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + builder.build({ [root]: { '@_xmlns': s3Namespace, ...body } });
}

export function parseXml(text: string, root: string): Record<string, unknown> {
  if (text.trim() === '' || XMLValidator.validate(text) !== true) throw new S3Error('MalformedXML');
  let parsed: Record<string, unknown>;
  try {
    parsed = parser.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new S3Error('MalformedXML', undefined, { cause: error });
  }
  const document = parsed[root];
  if (document === undefined || document === null) throw new S3Error('MalformedXML');
  return typeof document === 'object' ? document as Record<string, unknown> : {};
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** encoding-type=url: S3 percent-encodes keys and prefixes in list responses. */
export function encodeKeyFor(encodingType: string | undefined, key: string): string {
  return encodingType === 'url' ? encodeURIComponent(key).replace(/%2F/g, '/') : key;
}
