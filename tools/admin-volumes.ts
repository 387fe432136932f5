// Volume actions of the admin API (/_cairn/admin/volumes…), shared by HTTP and the offline CLI
// like the rest of admin-api.ts: parse into a typed action first, then run it (STYLE.md §2).
import { parseSize, type VolumeService } from '../blockstore/volumes/index.js';

export type VolumeAction =
  | { kind: 'volume-create'; name: string; sizeBytes: number }
  | { kind: 'volume-list' }
  | { kind: 'volume-info'; name: string }
  | { kind: 'volume-resize'; name: string; sizeBytes: number }
  | { kind: 'volume-delete'; name: string; snap?: string }
  | { kind: 'volume-snapshot'; name: string; snap: string }
  | { kind: 'volume-snapshots'; name: string }
  | { kind: 'volume-clone'; name: string; snap: string; target: string };

/** `NAME@SNAP` → its two halves; a missing half is an empty string (rejected as a bad name). */
function splitSnapshot(text: string): [string, string | undefined] {
  const at = text.indexOf('@');
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

export function parseVolumeAction(route: string, required: (name: string) => string): VolumeAction | undefined {
  switch (route) {
    case 'POST /volumes': return { kind: 'volume-create', name: required('name'), sizeBytes: parseSize(required('size')) };
    case 'GET /volumes': return { kind: 'volume-list' };
    case 'GET /volume': return { kind: 'volume-info', name: required('name') };
    case 'PUT /volume/size': return { kind: 'volume-resize', name: required('name'), sizeBytes: parseSize(required('size')) };
    case 'POST /volume/delete': {
      const [name, snap] = splitSnapshot(required('name'));
      return { kind: 'volume-delete', name, ...(snap !== undefined ? { snap } : {}) };
    }
    case 'POST /snapshots': return { kind: 'volume-snapshot', name: required('name'), snap: required('snap') };
    case 'GET /snapshots': return { kind: 'volume-snapshots', name: required('name') };
    case 'POST /clones': {
      const [name, snap] = splitSnapshot(required('source'));
      return { kind: 'volume-clone', name, snap: snap ?? '', target: required('name') };
    }
  }
  return undefined;
}

export async function runVolumeAction(volumes: VolumeService, action: VolumeAction): Promise<unknown> {
  switch (action.kind) {
    case 'volume-create': return volumes.create(action.name, action.sizeBytes);
    case 'volume-list': return volumes.list();
    case 'volume-info': return volumes.info(action.name);
    case 'volume-resize': return volumes.resize(action.name, action.sizeBytes);
    case 'volume-delete':
      if (action.snap !== undefined) await volumes.deleteSnapshot(action.name, action.snap);
      else await volumes.delete(action.name);
      return { deleted: action.snap !== undefined ? `${action.name}@${action.snap}` : action.name };
    case 'volume-snapshot': return volumes.snapshot(action.name, action.snap);
    case 'volume-snapshots': return volumes.snapshots(action.name);
    case 'volume-clone': return volumes.clone(action.name, action.snap, action.target);
  }
}
