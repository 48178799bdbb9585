#!/usr/bin/env python3
"""How long a commit's flush waits on this disk, alone and beside other writes.

Every audited read waits for its audit event's commit, and a commit waits for a WAL flush
(write + fdatasync). This probe makes such flushes (4 KiB, then fdatasync, in a loop) for
SECONDS each in three settings, and prints their latency:

  alone           nothing else writes;
  beside writes   another process writes RATE MB/s through the page cache and leaves the
                  write-back to the kernel (as PostgreSQL's backends do by default);
  ... flushed     the same writes, pushed to the disk every 256 KiB as they go (as
                  PostgreSQL's backend_flush_after = 256kB does).

  scripts/flush_stalls.py [DIRECTORY] [SECONDS] [RATE]     defaults: /tmp 40 8

Run it on the database host, in the directory that holds pg_wal. The writes need SECONDS plus
the kernel's dirty expiry (vm.dirty_expire_centisecs, 30 s by default) to reach the disk: keep
SECONDS at 40 or more. Uses about SECONDS * RATE MB of space, removed afterwards.
"""
import multiprocessing
import os
import sys
import time

CHUNK = 8192
FLUSH_EVERY = 256 << 10


def writer(path, rate_mb, seconds, flush):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    block, written, start = os.urandom(CHUNK), 0, time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            if written < (time.monotonic() - start) * rate_mb * 1e6:
                os.write(fd, block)
                written += CHUNK
                if flush and written % FLUSH_EVERY == 0:
                    os.fdatasync(fd)
            else:
                time.sleep(0.001)
    finally:
        os.close(fd)


def probe(path, seconds):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    size, block, offset, latencies = 64 << 20, os.urandom(4096), 0, []
    try:
        zeros = bytes(1 << 20)
        for at in range(0, size, len(zeros)):  # written out first, as PostgreSQL fills a WAL segment
            os.pwrite(fd, zeros, at)
        os.fsync(fd)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            began = time.perf_counter()
            os.pwrite(fd, block, offset)
            os.fdatasync(fd)
            latencies.append(time.perf_counter() - began)
            offset = (offset + 4096) % size
    finally:
        os.close(fd)
        os.unlink(path)
    return sorted(latencies)


def report(label, latencies):
    n = len(latencies)
    at = lambda q: latencies[min(n - 1, int(n * q))] * 1000  # noqa: E731
    slow = sum(1 for x in latencies if x > 0.025)
    print(f"{label:<16} {n:>8} {at(0.5):>8.2f} {at(0.99):>8.2f} {at(0.999):>8.2f} "
          f"{latencies[-1] * 1000:>8.1f} {slow:>8}")


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 40
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 8
    probe_path = os.path.join(directory, f"flush-probe-{os.getpid()}")
    writes_path = os.path.join(directory, f"flush-writes-{os.getpid()}")
    print(f"{'':<16} {'flushes':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>8} {'max ms':>8} {'>25 ms':>8}")
    report("alone", probe(probe_path, seconds))
    for label, flush in (("beside writes", False), ("... flushed", True)):
        os.sync()
        other = multiprocessing.Process(target=writer, args=(writes_path, rate, seconds, flush))
        other.start()
        try:
            report(label, probe(probe_path, seconds))
        finally:
            other.join()
            os.unlink(writes_path)


if __name__ == "__main__":
    main()
