"""Run a command whose wall clock can be jumped while it runs (the fault suite's ``clock_jump``).

    SKEWCLOCK_FILE=/tmp/offset python -m loadtests.skewclock python -m gateway serve --port 8001
    echo 600 > /tmp/offset      # the gateway's wall clock is now 10 minutes fast
    echo -600 > /tmp/offset     # and now 10 minutes slow

The command runs with a tiny preloaded library (C, built here with the machine's ``cc`` on first
use and kept in the temporary directory) that adds an offset, in seconds (a float; a missing or
unreadable file is 0), to every ``CLOCK_REALTIME`` reading of the process: ``clock_gettime``,
``gettimeofday`` and ``time``. So ``time.time``, ``time.time_ns``, ``datetime.now`` (which reads
the clock in C) and every library's idea of "now" follow it, as on a machine whose clock was
stepped. The file's mtime is looked at no more than every 50 ms, so a write takes effect within
that.

``CLOCK_MONOTONIC`` (the event loop's clock, uvloop's included) is left alone: a wall-clock jump
on a real machine (an NTP step, a VM resumed) does not move it either.

Why not patch Python: ``datetime.datetime`` cannot be given a new ``now`` (a C type), and
replacing the class with a subclass before the gateway imports it breaks msgspec, which then
takes every ``datetime`` annotation for an unknown class (``Expected `SkewedDatetime`, got
`str```). libfaketime would do the same as the library here, but it is not on the machines.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ENV = "SKEWCLOCK_FILE"

SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static const char *offset_path;
static int64_t offset_ns;              /* read and written atomically: threads share it */
static int64_t checked_ns = INT64_MIN; /* when the file was last looked at (monotonic) */
static int64_t seen_mtime_ns = -1;

static void load_real(void) {
    if (!real_clock_gettime) {
        real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
        offset_path = getenv("SKEWCLOCK_FILE");
    }
}

/* Re-read the offset when the file changed; at most every 50 ms, by one thread at a time. */
static void refresh(void) {
    struct timespec mono;
    if (!offset_path || real_clock_gettime(CLOCK_MONOTONIC, &mono) != 0) return;
    int64_t now = (int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec;
    int64_t last = __atomic_load_n(&checked_ns, __ATOMIC_RELAXED);
    if (last != INT64_MIN && now - last < 50000000) return;
    if (!__atomic_compare_exchange_n(&checked_ns, &last, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return;
    struct stat st;
    if (stat(offset_path, &st) != 0) {
        __atomic_store_n(&offset_ns, 0, __ATOMIC_RELAXED);
        seen_mtime_ns = -1;
        return;
    }
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (mtime == seen_mtime_ns) return;
    int fd = open(offset_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char text[64];
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got <= 0) return; /* being written: looked at again in 50 ms */
    text[got] = 0;
    char *end;
    double seconds = strtod(text, &end);
    if (end == text) return;
    seen_mtime_ns = mtime;
    __atomic_store_n(&offset_ns, (int64_t)(seconds * 1e9), __ATOMIC_RELAXED);
}

static void shift(struct timespec *ts) {
    refresh();
    int64_t total = (int64_t)ts->tv_nsec + __atomic_load_n(&offset_ns, __ATOMIC_RELAXED);
    int64_t seconds = total / 1000000000, rest = total % 1000000000;
    if (rest < 0) { rest += 1000000000; seconds -= 1; }
    ts->tv_sec += seconds;
    ts->tv_nsec = rest;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    load_real();
    int rc = real_clock_gettime(clock, ts);
    if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) shift(ts);
    return rc;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec ts;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    if (rc == 0 && tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
    return rc;
}

time_t time(time_t *out) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
"""


def library() -> Path:
    """The preloadable library, built once per version of :data:`SOURCE` (needs ``cc``).

    Raises:
        RuntimeError: when there is no C compiler or the build fails.
    """
    digest = hashlib.sha256(SOURCE.encode()).hexdigest()[:12]
    built = Path(tempfile.gettempdir()) / f"skewclock-{digest}.so"
    if built.exists():
        return built
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("skewclock needs a C compiler (cc) to build its preloaded library")
    work = Path(tempfile.mkdtemp(prefix="skewclock-"))
    try:
        source = work / "skewclock.c"
        source.write_text(SOURCE, encoding="ascii")
        partial = work / "skewclock.so"
        done = subprocess.run(  # noqa: S603 - our own argv
            [compiler, "-shared", "-fPIC", "-O2", "-o", str(partial), str(source), "-ldl"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"building skewclock failed: {done.stderr.strip()}")
        os.replace(partial, built)  # atomic: two runs building at once both end with a whole file
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return built


def environment(offset_file: str | os.PathLike[str], base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (this process's environment by default) with the library preloaded and the offset
    file named: what a child needs to run on the skewed clock."""
    env = dict(os.environ if base is None else base)
    preload = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = f"{library()} {preload}".strip()
    env[ENV] = str(offset_file)
    return env


def jump(offset_file: str | os.PathLike[str], seconds: float) -> None:
    """Set the skewed clock to real time plus ``seconds`` (written whole, then renamed in)."""
    path = Path(offset_file)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(f"{seconds}\n", encoding="ascii")
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    offset_file = os.environ.get(ENV)
    if not args or not offset_file:
        print(f"usage: {ENV}=FILE python -m loadtests.skewclock COMMAND [ARGS...]", file=sys.stderr)
        return 2
    os.execvpe(args[0], args, environment(offset_file))  # noqa: S606 - the caller's own command; never returns
    return 1


if __name__ == "__main__":
    sys.exit(main())
