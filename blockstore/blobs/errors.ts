// Operating errors of blockstore/blobs (STYLE.md §7). Doors map unknown codes to 500 / EIO, which
// is right for this one: the node failed, not the client.
import { CairnError } from '../../dedup/errors.js';

export type BlobErrorCode =
  | 'SealWorkerFailed'; // a seal-pool worker thread died with the job in hand (the job did not run)

export const blobErrorCodes: readonly BlobErrorCode[] = ['SealWorkerFailed'];

export class BlobError extends CairnError<BlobErrorCode> {}
