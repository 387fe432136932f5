// Human sizes for the CLI and admin API: "10G", "512M", "65536" (binary units: K = 1024).
import { VolumeError } from './errors.js';

const units: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export function parseSize(text: string): number {
  const match = /^(\d+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!match) throw new VolumeError('InvalidVolumeSize', `bad size ${JSON.stringify(text)}: use a number with K/M/G/T`);
  const bytes = Number(match[1]) * units[match[2].toUpperCase()];
  if (!Number.isSafeInteger(bytes)) throw new VolumeError('InvalidVolumeSize', `size ${text} is too large`);
  return bytes;
}
