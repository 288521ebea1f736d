"""The long-lived Node process that runs transformers.js (``driver.js``), and its JSON-lines protocol.

One process per Python process (a run, a sweep worker), started on first use and closed at exit; its
requests are serialized by a lock. Arrays come back as raw little-endian files in a temporary directory
per request, read into numpy and deleted. The process's versions (Node, transformers.js, sharp, libvips,
onnxruntime-node) are checked against the committed lockfile when it starts: a drifted install is an
error, not a silent different runtime.
"""

from __future__ import annotations

import atexit
import json
import queue
import subprocess
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from parity.errors import ParityError
from parity.trace import sealed

from . import npm_install

DRIVER = Path(__file__).resolve().parent / "driver.js"
#: a request taking longer than this is a hung process (the largest fixture takes about a second)
TIMEOUT_S = 300
_DTYPES = {"uint8": np.uint8, "float32": np.float32, "int64": np.int64, "bool": np.bool_}
#: packages whose versions the driver reports and the lockfile pins
LOCKED = ("@huggingface/transformers", "sharp", "onnxruntime-node")


class NodeRuntime:
    """``node driver.js`` with the installed node_modules; ``request`` sends one command."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._replies: queue.Queue = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=20)
        self._stderr_pump: threading.Thread | None = None
        self._next_id = 0
        self.versions: dict[str, str] = {}
        self.classes: list[str] = []
        atexit.register(self.close)

    def _start(self) -> None:
        try:
            node_modules = npm_install.ensure_node_modules(install=False)
            node = npm_install.node_executable()
        except npm_install.NodeSetupError as e:
            raise ParityError(f"transformers-js: {e}") from None
        self._proc = subprocess.Popen([node, str(DRIVER), str(node_modules)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self._replies = queue.Queue()
        threading.Thread(target=_pump, args=(self._proc.stdout, self._replies.put, True), daemon=True).start()
        self._stderr_pump = threading.Thread(target=_pump, args=(self._proc.stderr, self._stderr.append, False),
                                             daemon=True)
        self._stderr_pump.start()
        hello = self._send({"cmd": "hello"})
        self.versions, self.classes = hello["versions"], hello["classes"]
        drift = [f"{p} {self.versions[p]} (lockfile {npm_install.locked_version(p)})" for p in LOCKED
                 if self.versions[p] != npm_install.locked_version(p)]
        if drift:
            self.close()
            raise ParityError(f"transformers-js: installed versions differ from package-lock.json: {'; '.join(drift)}")

    def _send(self, msg: dict) -> dict:
        self._next_id += 1
        msg = {**msg, "id": self._next_id}
        try:
            self._proc.stdin.write(json.dumps(msg) + "\n")
            self._proc.stdin.flush()
            line = self._replies.get(timeout=TIMEOUT_S)
        except BrokenPipeError:
            line = None
        except queue.Empty:
            self._fail(f"did not answer within {TIMEOUT_S} s")
        if line is None:
            self._fail("exited")
        reply = json.loads(line)
        if reply.get("id") != msg["id"]:
            self._fail(f"answered request {reply.get('id')} to request {msg['id']}")
        if not reply["ok"]:
            raise ParityError(f"transformers.js: {reply['error']}")
        return reply

    def _fail(self, why: str) -> None:
        """Close the process (the next request starts a new one) and raise with its last stderr lines."""
        self.close()
        if self._stderr_pump is not None:
            self._stderr_pump.join(timeout=2)  # the process is gone: its stderr ends
        tail = " | ".join(s for s in self._stderr if s.strip())[-400:]
        raise ParityError(f"transformers-js: the Node process {why}" + (f": {tail}" if tail else ""))

    def request(self, msg: dict) -> dict:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            return self._send(msg)

    def hello(self) -> dict:
        """Versions and exported image processor classes of the running process."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            return {"versions": dict(self.versions), "classes": list(self.classes)}

    def run(self, js_class: str, kind: str, config: dict, image_path: str | None, rgb: np.ndarray | None,
            observe: bool = True) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Run processor ``js_class`` built from ``config`` on a file (decoded by transformers.js) or on
        given RGB pixels; -> (arrays by name, info). ``observe`` records intermediates (driver.js)."""
        with tempfile.TemporaryDirectory(prefix="parity-tjs-") as out:
            if rgb is not None:
                raw = Path(out) / "input.rgb"
                np.ascontiguousarray(rgb, dtype=np.uint8).tofile(raw)
                image = {"raw": str(raw), "height": int(rgb.shape[0]), "width": int(rgb.shape[1])}
            else:
                image = {"path": str(Path(image_path).resolve())}
            reply = self.request({"cmd": "run", "class": js_class, "kind": kind, "config": config,
                                  "image": image, "out": out, "observe": observe})
            # read-only from the start: nothing else holds these arrays, so traces keep them without a copy
            arrays = {name: sealed(np.fromfile(a["file"], dtype=_DTYPES[a["dtype"]])).reshape(a["shape"])
                      for name, a in reply["arrays"].items()}
        return arrays, reply["info"]

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


def _pump(stream, sink, mark_end: bool) -> None:
    """Feed the lines of ``stream`` to ``sink`` (then None at end of stream when ``mark_end``)."""
    for line in stream:
        sink(line.rstrip("\n"))
    if mark_end:
        sink(None)


#: the process every transformers-js run of this Python process shares
RUNTIME = NodeRuntime()
