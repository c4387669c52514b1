"""Worker processes never outlive the process that started them.

uvicorn's supervisor stops its workers when it is asked to, but a supervisor killed outright
(SIGKILL, the OOM killer) cannot: its workers would go on holding the port and the output files.
Linux can deliver a signal to a process when its parent dies; a worker asks for SIGTERM, which
runs the normal shutdown (drain, then everything acknowledged is flushed).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def follow_parent() -> None:
    """In a worker started by the supervisor: stop when the supervisor goes. Elsewhere: nothing."""
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("could not ask to be stopped with the supervisor (errno %d)", ctypes.get_errno())
        return
    if os.getppid() != parent.pid:  # the supervisor died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
