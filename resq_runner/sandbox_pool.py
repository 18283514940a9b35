"""A small pool of fresh containers per image, made ahead, so that creating, starting and removing evaluation
containers happens beside the evaluations instead of in their way.

Each container is handed out once (`take`) and removed after use (`release`), never reused: a pool container is
exactly as fresh as one made on the spot, only earlier. With `start_ahead`, it is also started ahead: its command
must then wait for its inputs before doing anything (an eval container's boot.py waits for the tar on its stdin), so
nothing of any task has run in it when it is taken. The runner says which images its remaining tasks need
(`expect`), in order, and the pool keeps at most `size` idle containers for the earliest of them. Background
threads (one by default) do the making and the removing; `close` removes whatever is left. Knows nothing of tasks
or grading.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from typing import Callable, Iterable

from .sandbox import Sandbox

POOL_LABEL = "resq.pool"
TAKE_WAIT_S = 60.0  # how long `take` waits for a container already being created before making its own

CreateSandbox = Callable[[str, dict[str, str]], Sandbox]


class ContainerPool:
    """`create(image_tag, labels)` must return a created, not started, Sandbox carrying those labels."""

    def __init__(self, create: CreateSandbox, size: int = 2, start_ahead: bool = False, threads: int = 1):
        """`threads` background threads make and remove containers (one per worker keeps up with the workers)."""
        self.size = max(1, size)
        self.start_ahead = start_ahead
        self.labels = {POOL_LABEL: secrets.token_hex(6)}
        self._create = create
        self._cond = threading.Condition()
        self._idle: dict[str, deque[Sandbox]] = {}
        self._wanted: dict[str, int] = {}  # image -> evaluations still to come, in order of first need
        self._creating: Counter[str] = Counter()
        self._failed: set[str] = set()  # images whose creation failed (often: not built yet); retried on take
        self._used: deque[Sandbox] = deque()
        self._removing = 0
        self._closed = False
        self._workers = [threading.Thread(target=self._work, name=f"resq-pool-{n}", daemon=True)
                         for n in range(max(1, threads))]
        for worker in self._workers:
            worker.start()

    def expect(self, images: Iterable[str]) -> None:
        """One entry per evaluation to come (an image may repeat)."""
        with self._cond:
            for image in images:
                self._wanted[image] = self._wanted.get(image, 0) + 1
            self._cond.notify_all()

    def take(self, image: str) -> Sandbox:
        """A fresh container of `image`: a waiting one, the one being made, or a new (not started) one."""
        with self._cond:
            self._count_down(image)
            self._cond.wait_for(lambda: self._idle.get(image) or not self._creating[image], timeout=TAKE_WAIT_S)
            sandbox = self._idle[image].popleft() if self._idle.get(image) else None
            if image not in self._wanted:  # no evaluation of this image to come: spares go
                self._used.extend(self._idle.pop(image, ()))
            self._cond.notify_all()
            if sandbox is not None:
                return sandbox
            self._failed.discard(image)  # the caller needs the image now, so it should exist
        return self._create(image, dict(self.labels))

    def release(self, sandbox: Sandbox) -> None:
        """Hand back a used container: it is removed in the background, never handed out again."""
        with self._cond:
            self._used.append(sandbox)
            self._cond.notify_all()

    def idle(self, image: str) -> int:
        with self._cond:
            return len(self._idle.get(image, ()))

    def backlog(self) -> int:
        """Used containers not yet removed (the one being removed included)."""
        with self._cond:
            return len(self._used) + self._removing

    def close(self) -> None:
        """Stop making containers and remove every idle and used one."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for worker in self._workers:
            worker.join()
        with self._cond:
            leftovers = [s for queue in self._idle.values() for s in queue] + list(self._used)
            self._idle.clear()
            self._used.clear()
        for sandbox in leftovers:
            sandbox.remove()

    def __enter__(self) -> "ContainerPool":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- the background thread ----------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._next_job() is not None)
                if self._closed:
                    return
                kind, item = self._next_job()
                if kind == "create":
                    self._creating[item] += 1
                else:
                    self._used.popleft()
                    self._removing += 1
            if kind == "create":
                self._create_idle(item)
            else:
                item.remove()
                with self._cond:
                    self._removing -= 1

    def _next_job(self):
        """Creating comes first (an evaluation may be waiting for it); removing fills the gaps."""
        image = self._image_to_fill()
        if image is not None:
            return "create", image
        if self._used:
            return "remove", self._used[0]
        return None

    def _image_to_fill(self) -> str | None:
        ready = sum(len(q) for q in self._idle.values()) + sum(self._creating.values())
        if ready >= self.size:
            return None
        for image, wanted in self._wanted.items():
            have = len(self._idle.get(image, ())) + self._creating[image]
            if image not in self._failed and have < min(self.size, wanted):
                return image
        return None

    def _create_idle(self, image: str) -> None:
        try:
            sandbox = self._create(image, dict(self.labels))
        except Exception:  # noqa: BLE001  (the evaluation that needs it makes its own and reports the error)
            sandbox = None
        if sandbox is not None and self.start_ahead:
            try:
                sandbox.start()
            except Exception:  # noqa: BLE001  (as above: the taker makes its own)
                sandbox.remove()
                sandbox = None
        with self._cond:
            self._creating[image] -= 1
            if sandbox is None:
                self._failed.add(image)
            elif self._closed:
                self._used.append(sandbox)
            else:
                self._idle.setdefault(image, deque()).append(sandbox)
            self._cond.notify_all()

    def _count_down(self, image: str) -> None:
        if self._wanted.get(image, 0) > 1:
            self._wanted[image] -= 1
        else:
            self._wanted.pop(image, None)
