# Drives random 4 KiB-page writes with periodic FLUSH and occasional FUA into an NBD export
# through libnbd (a real client), logging each acknowledgement on stdout, until the server dies.
# Page content is a function of (seed, write, page), so the test can tell which write a page holds.
# Usage: nbd-crash-writer.py URI SEED PAGES WRITES_MAX
import random
import struct
import sys

import nbd

uri, seed, pages, writes_max = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
handle = nbd.NBD()
handle.connect_uri(uri)


def page_bytes(write, page):
    return struct.pack('<IIII', seed, write, page, 0xC0FFEE) * 256


def log(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


for write in range(1, writes_max + 1):
    first = rng.randrange(pages)
    count = min(1 + rng.randrange(16), pages - first)
    fua = rng.randrange(10) == 0
    log('S %d %d %d' % (write, first, count))
    data = b''.join(page_bytes(write, page) for page in range(first, first + count))
    handle.pwrite(data, first * 4096, nbd.CMD_FLAG_FUA if fua else 0)
    log('%s %d' % ('U' if fua else 'W', write))
    if write % 8 == 0:
        handle.flush()
        log('F %d' % write)
