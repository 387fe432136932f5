// Directory fsync: a created or unlinked file is durable only once its directory entry is.
import { open } from 'node:fs/promises';

export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
