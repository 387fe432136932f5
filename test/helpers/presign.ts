// Presigned URLs made with the SDK's own signer (@smithy/signature-v4), not ours.
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from './sha256.js';
import type { CairnProcess } from './cairn-process.js';

export async function getSignedUrl(cairn: CairnProcess, method: string, bucket: string, key: string, expiresIn: number): Promise<string> {
  const url = new URL(`${cairn.endpoint}/${bucket}/${encodeURIComponent(key)}`);
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: { accessKeyId: cairn.accessKeyId, secretAccessKey: cairn.secretAccessKey }, sha256: Sha256 as never, uriEscapePath: false });
  const presigned = await signer.presign({
    method, protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {}, headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  }, { expiresIn });
  const query = new URLSearchParams(presigned.query as Record<string, string>).toString();
  return `${url.origin}${url.pathname}?${query}`;
}
