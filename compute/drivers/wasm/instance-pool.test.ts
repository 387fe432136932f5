// InstancePool relies on the glue dirtying the same pages in every fresh instance of one size
// (it scans only the first). Method: make fresh instances directly and compare their page sets.
import { describe, expect, it } from 'vitest';
import { capturePages } from './image.js';
import { loadQuickJsBuild, newBlankInstance } from './quickjs-internals.js';

describe('blank instances', () => {
  it('fresh instances of one build and size dirty the same pages with the same bytes', async () => {
    const build = await loadQuickJsBuild();
    const captures = [];
    for (let i = 0; i < 3; i++) captures.push(capturePages(new Uint8Array((await newBlankInstance(build, 256, 512)).memory.buffer)));
    for (const capture of captures.slice(1)) {
      expect(Array.from(capture.pageIndexes)).toEqual(Array.from(captures[0].pageIndexes));
      expect(Buffer.compare(capture.pages, captures[0].pages)).toBe(0);
    }
  });
});
