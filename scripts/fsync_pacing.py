#!/usr/bin/env python3
"""How a large file written at once holds back the fsyncs of a small appender on this disk.

The appender stands for the collector's raw log (a write and an fsync per group of
requests); the large file for a checkpoint. For each step given (MiB; 0 = written in one
go, then fsynced), writes 300 MiB in 1 MiB writes, fdatasync every step, and prints the
appender's fsync latencies meanwhile. `FileCheckpoints` syncs every 8 MiB for this reason.

    python3 scripts/fsync_pacing.py 0 8 0 8 0 8        # in a directory on the disk to test
"""
import os
import sys
import threading
import time


def appender(stop, latencies):
    fd = os.open("fsync_pacing.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    record = b"x" * 25_000
    while not stop.is_set():
        start = time.perf_counter()
        os.write(fd, record)
        os.fdatasync(fd)
        latencies.append(time.perf_counter() - start)
        time.sleep(0.002)
    os.close(fd)


def large(step):
    fd = os.open("fsync_pacing.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    chunk, unsynced = b"y" * (1 << 20), 0
    for _ in range(300):
        os.write(fd, chunk)
        unsynced += len(chunk)
        if step and unsynced >= step:
            os.fdatasync(fd)
            unsynced = 0
    os.fsync(fd)
    os.close(fd)
    os.rename("fsync_pacing.tmp", "fsync_pacing.big")


def main():
    for arg in sys.argv[1:] or ["0", "8"]:
        stop, latencies = threading.Event(), []
        thread = threading.Thread(target=appender, args=(stop, latencies))
        thread.start()
        time.sleep(1)
        before = len(latencies)
        start = time.perf_counter()
        large(int(arg) << 20)
        took = time.perf_counter() - start
        time.sleep(0.5)
        stop.set()
        thread.join()
        during = sorted(latencies[before:])
        ms = lambda q: during[min(len(during) - 1, int(len(during) * q))] * 1000
        print(f"step {arg} MiB: 300 MiB written in {took:.2f} s; appender fsyncs meanwhile "
              f"{len(during)}, p50 {ms(0.5):.1f} ms, p99 {ms(0.99):.1f} ms, max {during[-1] * 1000:.1f} ms")
    for name in ("fsync_pacing.log", "fsync_pacing.big"):
        os.remove(name)


if __name__ == "__main__":
    main()
