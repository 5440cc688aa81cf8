"""What the harness reads about processes: CPU time, memory, idleness; and how it stops the
ones it started (by PID only)."""

import os
import signal
import threading
import time

from .util import log

HZ = os.sysconf("SC_CLK_TCK")


def alive(pid):
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def cpu_seconds(pids):
    """utime + stime of every thread of the processes, in seconds."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return ticks / HZ


def status_kib(pid, field):
    """A `VmRSS`/`VmHWM` line of /proc/PID/status, in KiB (None when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def reset_peak_rss(pid):
    """Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`, Linux 4.0+); False if
    not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RssSampler(threading.Thread):
    """Samples VmRSS of `pid` every `interval` seconds until stopped; `peak_kib` also takes
    VmHWM at the end (reset at the start when allowed), whichever is larger."""

    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples = []
        self._done = threading.Event()
        self.hwm_reset = reset_peak_rss(pid)

    def run(self):
        while not self._done.is_set():
            kib = status_kib(self.pid, "VmRSS")
            if kib is not None:
                self.samples.append(kib)
            self._done.wait(self.interval)

    def stop(self):
        self._done.set()
        self.join()
        kib = status_kib(self.pid, "VmRSS")
        if kib is not None:
            self.samples.append(kib)
        hwm = status_kib(self.pid, "VmHWM") if self.hwm_reset else None
        sampled = max(self.samples) if self.samples else None
        self.peak_kib = max(v for v in (hwm, sampled, 0) if v is not None)
        self.sampled_kib, self.hwm_kib = sampled, hwm
        return self.peak_kib


def wait_quiet(pids, window=0.5, max_cpu=0.02, timeout=300):
    """Waits until the processes together used at most `max_cpu` seconds of CPU in each of two
    windows in a row, so that a timed run does not compete with the previous one's uploads.
    Returns the seconds waited (None if they never settled; the run goes ahead anyway)."""
    pids = [p for p in pids if p]
    start = time.monotonic()
    calm = 0
    last = cpu_seconds(pids)
    while time.monotonic() - start < timeout:
        time.sleep(window)
        now = cpu_seconds(pids)
        calm = calm + 1 if now - last <= max_cpu else 0
        last = now
        if calm >= 2:
            return round(time.monotonic() - start, 2)
    log(f"the daemons and the server did not settle within {timeout} s; measuring anyway")
    return None


def stop_pid(pid, timeout=15):
    """SIGTERM, then SIGKILL after `timeout` seconds, to a process this harness started; reaps it
    when it is our child."""
    if not pid or not alive(pid):
        _reap(pid)
        return
    try:
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.05)
    if alive(pid):
        log(f"pid {pid} did not stop after SIGTERM; sending SIGKILL")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
    _reap(pid)


def _reap(pid):
    if not pid:
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
