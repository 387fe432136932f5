// Lambda deployment packages: a zip of the function's files. Unzips into FunctionCode with the
// package limits enforced while unzipping (fflate streams entry by entry through the filter).
import { unzipSync } from 'fflate';
import { DriverError, type FunctionCode } from './driver.js';
import { codeBytesMax, codeFilesMax } from './limits.js';

export function functionCodeFromZip(zip: Uint8Array, handler: string): FunctionCode {
  let count = 0;
  let total = 0;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip, {
      filter: (file) => {
        if (file.name.endsWith('/')) return false; // directories carry no content
        count++;
        total += file.originalSize;
        if (count > codeFilesMax || total > codeBytesMax) throw new DriverError('CodeInvalid', `package exceeds ${codeFilesMax} files or ${codeBytesMax} bytes unzipped`);
        return true;
      },
    });
  } catch (error) {
    if (error instanceof DriverError) throw error;
    throw new DriverError('CodeInvalid', `could not unzip the deployment package: ${error instanceof Error ? error.message : String(error)}`);
  }
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const files: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(entries)) files[name.replace(/^\.\//, '')] = decoder.decode(bytes);
  return { files, handler };
}
