// Operating errors of the volumes layer (STYLE.md §7). The admin API and CLI show them to users;
// the NBD door never sees them (a Volume throws NbdError, see volume.ts).
import { CairnError } from '../../dedup/index.js';

export type VolumeErrorCode =
  | 'VolumeNotFound'
  | 'VolumeExists'
  | 'SnapshotNotFound'
  | 'SnapshotExists'
  | 'InvalidVolumeName'
  | 'InvalidVolumeSize'
  | 'TooManyVolumes';

export const volumeErrorCodes: readonly VolumeErrorCode[] = [
  'VolumeNotFound', 'VolumeExists', 'SnapshotNotFound', 'SnapshotExists', 'InvalidVolumeName', 'InvalidVolumeSize', 'TooManyVolumes',
];

export class VolumeError extends CairnError<VolumeErrorCode> {}

export function isVolumeError(error: unknown): error is VolumeError {
  return error instanceof VolumeError;
}
