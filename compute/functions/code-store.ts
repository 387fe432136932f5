// Deployment packages in the blockstore: the zip is validated (it must unzip within the package
// limits), stored as a blob, and unpacked again on demand into the driver's FunctionCode, with a
// small cache keyed by the zip's sha256 (identical zips share one entry and one set of chunks).
import type { BlobStore, WrittenBlob } from '../../blockstore/blobs/index.js';
import { DriverError, functionCodeFromZip, type FunctionCode } from '../drivers/index.js';
import { invalid, LambdaError } from '../errors.js';
import { codeCacheEntriesMax, zipBytesMax } from '../limits.js';
import { codeSha256Of, type FunctionConfigV1 } from './records.js';

export interface StoredZip {
  written: WrittenBlob;
  sealedCode: string;
  codeSha256: string;
  codeSize: number;
}

export class CodeStore {
  private readonly cache = new Map<string, Readonly<Record<string, string>>>();

  constructor(private readonly blobs: BlobStore) {}

  /** Lambda's CreateFunction/UpdateFunctionCode checks: the zip must unzip; the handler is checked at invoke. */
  async store(zip: Uint8Array, handler: string): Promise<StoredZip> {
    if (zip.byteLength === 0) throw invalid('Code.ZipFile must not be empty.');
    if (zip.byteLength > zipBytesMax) throw new LambdaError('RequestTooLargeException', `Unzipped size must be smaller than ${zipBytesMax} bytes`);
    let files: Readonly<Record<string, string>>;
    try {
      files = functionCodeFromZip(zip, handler).files;
    } catch (error) {
      if (error instanceof DriverError) throw invalid('Could not unzip uploaded file. Please check your file, then try to upload again.');
      throw error;
    }
    const written = await this.blobs.write(once(Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength)), { saltIndex: 0 });
    const codeSha256 = codeSha256Of(zip);
    this.remember(codeSha256, files);
    return { written, sealedCode: this.blobs.sealManifest(written.manifest).toString('base64'), codeSha256, codeSize: zip.byteLength };
  }

  abandon(stored: StoredZip): void {
    this.blobs.abandon(stored.written);
  }

  async zipOf(config: FunctionConfigV1): Promise<Buffer> {
    return this.blobs.readAll(this.blobs.openManifest(Buffer.from(config.sealedCode, 'base64')));
  }

  async codeOf(config: FunctionConfigV1): Promise<FunctionCode> {
    let files = this.cache.get(config.codeSha256);
    if (!files) {
      files = functionCodeFromZip(await this.zipOf(config), config.handler).files;
      this.remember(config.codeSha256, files);
    }
    return { files, handler: config.handler };
  }

  private remember(codeSha256: string, files: Readonly<Record<string, string>>): void {
    this.cache.delete(codeSha256);
    this.cache.set(codeSha256, files);
    while (this.cache.size > codeCacheEntriesMax) this.cache.delete(this.cache.keys().next().value!);
  }
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}
