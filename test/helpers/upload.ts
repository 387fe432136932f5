// A small streaming multipart uploader over the real SDK commands, so tests can send hundreds
// of MiB without buffering them (what @aws-sdk/lib-storage does, without the extra dependency).
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';

const partBytes = 16 * 1024 * 1024;

export class Upload {
  constructor(private readonly s3: S3Client, private readonly input: { Bucket: string; Key: string; Body: Readable }) {}

  async done(): Promise<string> {
    const { Bucket, Key } = this.input;
    const created = await this.s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const parts: { ETag: string; PartNumber: number }[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      const PartNumber = parts.length + 1;
      const result = await this.s3.send(new UploadPartCommand({ Bucket, Key, UploadId: created.UploadId, PartNumber, Body: Buffer.concat(pending) }));
      parts.push({ ETag: result.ETag!, PartNumber });
      pending = [];
      pendingBytes = 0;
    };
    for await (const piece of this.input.Body as AsyncIterable<Buffer>) {
      pending.push(piece);
      pendingBytes += piece.length;
      if (pendingBytes >= partBytes) await flush();
    }
    if (pendingBytes > 0 || parts.length === 0) await flush();
    const done = await this.s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: created.UploadId, MultipartUpload: { Parts: parts } }));
    return done.ETag!;
  }
}
