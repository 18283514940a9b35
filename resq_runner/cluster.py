"""The Ray executor: a run's evaluations spread over the nodes of a Ray cluster that run a Docker engine.

Each evaluation is one Ray task that asks for the custom resource `docker: 1` (and no CPU), so it lands only on a
node started with `ray start --resources='{"docker": K}'`, at most K at a time per node. On the node the task runs
pipeline.Pipeline.run_task against that node's own Docker engine and sends back the Result with the task's log files.
The driver (the `resq run` process) is the only writer of results.jsonl and of the run's logs, so a cluster run
resumes exactly like a local one.

Images reach the nodes without a registry: each node builds the content-hashed images itself (the default), or
with `ship_images` the driver builds each task image once, `docker save`s it into Ray's object store, and a node
that lacks that image id loads it. The image id in each result row names the image that graded it.

A node lost mid-run: Ray runs its evaluations again on other nodes (NODE_LOSS_RETRIES times), then the runner's own
infra retries apply. Ray leaves a task that no node can take pending forever, so the cluster is checked for the
`docker` resource before anything is scheduled, and the wait for results has deadlines.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Generator, Iterator

import docker
import docker.errors

from . import environments, offline
from .errors import InfraError, ResqError, SetupError
from .grading.evaluate import STARTUP_MARGIN_S
from .models import ImageRef, Outcome, Record, Result, SystemSpec, TaskFolder, now_utc
from .pipeline import Pipeline
from .results import RunPaths
from .sandbox import Limits, connect, remove_run_containers
from .scheduling import Batch, RetryPolicy
from .systems import make_system
from .tasks import task_hash

DOCKER_RESOURCE = "docker"
NODE_LOSS_RETRIES = 2  # Ray runs an evaluation again this many times when its worker or node dies
POLL_S = 5.0
IMAGE_MARGIN_S = 1800.0  # a node's first evaluation may build its base, environment and task images
NO_DOCKER_GRACE_S = 120.0  # how long the run waits for a node with Docker to come back before it gives up
GRACE_VARIABLE = "RESQ_RAY_NO_DOCKER_GRACE_S"  # overrides it
SWEEP_TIMEOUT_S = 60.0


class NodeJob(Record):
    """One evaluation as the driver hands it to a node."""

    task: TaskFolder
    sample: int
    attempt: int
    run_id: str
    system: SystemSpec
    limits: Limits
    oracle_context: bool = False
    offline: bool = False
    environment: ImageRef | None = None  # set with shipped images: the task image's tag is derived from it
    shipped: ImageRef | None = None  # the task image the driver shipped, which must grade this task


class NodeReply(Record):
    """What a node sends back: the result and the files of its log folder (paths relative to it)."""

    result: Result | None = None
    logs: dict[str, bytes] = {}
    node: str = ""
    stop_error: str = ""  # an error the retry policy says stops the run (a task or input error): no result


# ---------------------------------------------------------------------------------------------------------------
# Driver side


class RayExecutor:
    """The Ray executor (scheduling.Executor): records one Result per evaluation as results come back."""

    def __init__(self, address: str, ship_images: bool):
        self.address, self.ship_images = address, ship_images

    @classmethod
    def connect(cls, address: str, *, ship_images: bool = False) -> "RayExecutor":
        """Joins the cluster and checks it can run evaluations at all, before the run writes anything."""
        ray = _import_ray()
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        _check_reachable(address)
        try:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        except Exception as exc:  # Ray raises ConnectionError, ValueError or RuntimeError depending on the cause
            raise SetupError(f"cannot join the Ray cluster at '{address}' ({_one_line(exc)}): start one with "
                             "`ray start --head --resources='{\"docker\": 2}'` or pass its HOST:PORT to --address")
        if not ray.cluster_resources().get(DOCKER_RESOURCE):
            ray.shutdown()
            raise SetupError(f"the Ray cluster at '{address}' has no node with the '{DOCKER_RESOURCE}' resource, so "
                             "no evaluation could ever start: on each machine with a Docker engine run `ray start "
                             f"--address=HEAD:PORT --resources='{{\"{DOCKER_RESOURCE}\": 2}}'`")
        return cls(address, ship_images)

    def run(self, batch: Batch, record: Callable[[Result], None]) -> None:
        ray = _import_ray()
        try:
            with contextlib.closing(_Schedule(batch, self.ship_images).results()) as rows:
                for result in rows:  # closing: a stop cancels what the cluster still runs, at once
                    record(result)
                    stop = batch.policy.stop_after(result)
                    if stop is not None:
                        raise stop
        finally:
            _sweep_nodes(batch.pipeline.run_id)
            ray.shutdown()


class _Schedule:
    """The driver's loop: submit every evaluation, collect them as they finish, retry infra errors after the
    policy's backoff (a retry waits in the backlog until it is due; the loop goes on collecting meanwhile).

    As in the local pool, later challenge parts are released through the batch's PartGate.
    """

    def __init__(self, batch: Batch, ship_images: bool):
        ray = _import_ray()
        self.pipeline, self.envs, self.policy = batch.pipeline, batch.envs, batch.policy
        self.remote = ray.remote(evaluate_on_node).options(
            num_cpus=0, resources={DOCKER_RESOURCE: 1}, max_retries=NODE_LOSS_RETRIES, retry_exceptions=False)
        self.shipped = _ship_images(batch) if ship_images else {}
        self.pending: dict[Any, NodeJob] = {}
        self.backlog: list[tuple[float, TaskFolder, int, int]] = []  # (due, task, sample, attempt)
        self.budget = self.pipeline.budget
        self.gate = batch.gate()
        self.stall_s = max((tf.task.timeout_s for tf, _ in batch.todo), default=0) + STARTUP_MARGIN_S + \
            IMAGE_MARGIN_S
        self.grace_s = float(os.environ.get(GRACE_VARIABLE, NO_DOCKER_GRACE_S))

    def results(self) -> Generator[Result, None, None]:
        ray = _import_ray()
        for tf, sample in self.gate.first():
            self._submit(tf, sample, 1)
        progress, docker_seen = time.monotonic(), time.monotonic()
        try:
            yield from self._release()
            while self.pending or self.backlog:
                yield from self._start_waiting()
                yield from self._release()  # a part whose earlier part the budget skipped is blocked
                if not self.pending:
                    time.sleep(min(POLL_S, self._next_due()))  # only retries waiting out their backoff
                    continue
                ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=min(POLL_S, self._next_due()))
                now = time.monotonic()
                if ready:
                    progress = now
                    yield from self._collect(ready)
                    yield from self._release()
                    continue
                if ray.cluster_resources().get(DOCKER_RESOURCE):
                    docker_seen = now
                elif now - docker_seen > self.grace_s:
                    raise ResqError(f"no node with the '{DOCKER_RESOURCE}' resource has been left in the cluster "
                                    f"for {self.grace_s:.0f} s; {len(self.pending)} evaluation(s) unfinished: "
                                    "start a node with Docker and run the same command again to resume")
                if now - progress > self.stall_s:
                    progress = now
                    yield from self._give_up_waiting()
                    yield from self._release()
        except BaseException:
            for ref in self.pending:
                ray.cancel(ref, force=True)
            raise

    def _submit(self, tf: TaskFolder, sample: int, attempt: int, delay: float = 0.0) -> None:
        self.backlog.append((time.monotonic() + delay, tf, sample, attempt))

    def _next_due(self) -> float:
        """Seconds until the next retry in the backlog falls due (POLL_S when none is waiting out its backoff)."""
        now = time.monotonic()
        return max(0.05, min((due - now for due, *_ in self.backlog if due > now), default=POLL_S))

    def _start_waiting(self) -> Iterator[Result]:
        """Without a budget everything due goes to Ray at once; with one, only as many as the cluster has Docker
        slots, each admitted by the budget as it starts (as the local pool admits a task when a worker takes it)."""
        ray = _import_ray()
        slots = max(1, int(ray.cluster_resources().get(DOCKER_RESOURCE, 1)))
        due = [entry for entry in self.backlog if entry[0] <= time.monotonic()]
        limit = slots if self.budget is not None else len(self.pending) + len(due)
        while due and len(self.pending) < limit:
            entry = due.pop(0)
            self.backlog.remove(entry)
            _due, tf, sample, attempt = entry
            refusal = self.budget.admit() if self.budget is not None else None
            if refusal is None:
                self._start(tf, sample, attempt)
                continue
            result = self.pipeline.skipped_budget(tf, sample, attempt, refusal)
            self.gate.record(result)
            yield result

    def _start(self, tf: TaskFolder, sample: int, attempt: int) -> None:
        image, blob = self.shipped.get(tf.task.id, (None, None))
        job = NodeJob(task=tf, sample=sample, attempt=attempt, run_id=self.pipeline.run_id,
                      system=self.pipeline.spec, limits=self.pipeline.limits, shipped=image,
                      oracle_context=self.pipeline.oracle_context, offline=offline.enabled(),
                      environment=self.envs.get(tf.task.environment.name) if image else None)
        # The blob travels inside a list so Ray does not fetch it to the node unless the node lacks the image.
        self.pending[self.remote.remote(job, [blob] if blob is not None else [])] = job

    def _collect(self, ready: list) -> Iterator[Result]:
        ray = _import_ray()
        for ref in ready:
            job = self.pending.pop(ref)
            try:
                reply = ray.get(ref)
                if reply.stop_error:
                    raise ResqError(reply.stop_error)
                result = _keep_logs(reply, self.pipeline.paths)
            except ray.exceptions.RayError as exc:
                result = failed_result(job, f"the cluster lost this evaluation: {_one_line(exc)[:300]}")
            if self.budget is not None:
                self.budget.settle(result)
            yield from self._retry_if_infra(job, result)

    def _give_up_waiting(self) -> Iterator[Result]:
        """No evaluation came back for longer than any could take: a wedged node. Cancel and retry elsewhere."""
        ray = _import_ray()
        stuck, self.pending = self.pending, {}
        for ref, job in stuck.items():
            ray.cancel(ref, force=True)
            result = failed_result(job, f"no evaluation came back from the cluster in {self.stall_s:.0f} s; cancelled")
            if self.budget is not None:
                self.budget.settle(result)
            yield from self._retry_if_infra(job, result)

    def _retry_if_infra(self, job: NodeJob, result: Result) -> Iterator[Result]:
        if self.policy.retries_after(result.outcome, job.attempt):
            self._submit(job.task, job.sample, job.attempt + 1, delay=self.policy.backoff_s(job.attempt))
        else:
            self.gate.record(result)
        yield result

    def _release(self) -> Iterator[Result]:
        ready, blocked = self.gate.release(self.pipeline.blocked_result)
        yield from blocked
        for tf, sample in ready:
            self._submit(tf, sample, 1)


def _check_reachable(address: str) -> None:
    """Ray retries an unreachable HOST:PORT for minutes; a refused connection is worth one line at once."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise SetupError(f"nothing answers at the Ray address '{address}' ({exc.strerror or exc}): start the head "
                         "with `ray start --head --port=PORT` there, or fix --address") from exc


def _keep_logs(reply: NodeReply, paths: RunPaths) -> Result:
    """Writes the node's log files into the driver's run folder; the row points at them."""
    result = reply.result
    assert result is not None, "a reply without a result carries a stop_error"
    log_dir = paths.task_logs(result.task_id, result.attempt, result.sample)
    log_dir.mkdir(parents=True, exist_ok=True)
    for name, content in reply.logs.items():
        target = (log_dir / name).resolve()
        if log_dir.resolve() in target.parents:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    return result.model_copy(update={"log_dir": str(log_dir), "node": reply.node})


def _ship_images(batch: Batch) -> dict[str, tuple[ImageRef, object]]:
    """Builds each task's image here once (as Pipeline does) and puts its `docker save` tarball in the object store."""
    ray = _import_ray()
    blobs: dict[str, object] = {}
    shipped: dict[str, tuple[ImageRef, object]] = {}
    for tf, _ in batch.todo:
        image = batch.pipeline.task_image(tf, batch.envs[tf.task.environment.name])  # what a local run would use
        if image.id not in blobs:
            blobs[image.id] = ray.put(save_image(batch.pipeline.client, image))
        shipped[tf.task.id] = (image, blobs[image.id])
    return shipped


def _sweep_nodes(run_id: str) -> None:
    """Cleans up after the run on every live Docker node (a cancelled or lost evaluation may have left things)."""
    ray = _import_ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    sweep = ray.remote(sweep_node)
    refs = [sweep.options(num_cpus=0, max_retries=0,
                          scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))
            .remote(run_id) for node in ray.nodes()
            if node.get("Alive") and node.get("Resources", {}).get(DOCKER_RESOURCE)]
    if refs:
        ray.wait(refs, num_returns=len(refs), timeout=SWEEP_TIMEOUT_S)


def failed_result(job: NodeJob, reason: str) -> Result:
    """An infra_error row for an evaluation that produced no result of its own."""
    return Result(run_id=job.run_id, task_id=job.task.task.id, task_hash=task_hash(job.task), system=job.system,
                  sample=job.sample, attempt=job.attempt, outcome=Outcome.infra_error, reason=reason,
                  started_at=now_utc(), finished_at=now_utc())


# ---------------------------------------------------------------------------------------------------------------
# Node side (runs inside Ray workers)


def evaluate_on_node(job: NodeJob, blob: list) -> NodeReply:
    """One evaluation through pipeline.Pipeline on this node's Docker engine, logged into a scratch folder. An
    error the retry policy says stops the run (a task or input error) goes back as `stop_error`."""
    node = _node_id()
    if job.offline:
        offline.enable()
    with tempfile.TemporaryDirectory(prefix=_scratch_prefix(job.run_id)) as scratch:
        try:
            if not job.task.root.is_dir():
                raise SetupError(f"{job.task.root}: the suite is not on this node; put it at the same path on "
                                 "every node")
            client = connect()
            environment = _node_environment(client, job, blob)
            pipeline = Pipeline(client, make_system(job.system), job.system, job.run_id, RunPaths(Path(scratch)),
                                job.limits, oracle_context=job.oracle_context)
        except (InfraError, ResqError, docker.errors.DockerException) as exc:
            return NodeReply(result=failed_result(job, f"node {node[:12]}: {_one_line(exc)}"), node=node)
        try:
            result = pipeline.run_task(job.task, environment, job.attempt, threading.Event(), job.sample)
        except Exception as exc:
            if RetryPolicy().stops_run(exc):
                return NodeReply(node=node, stop_error=f"{job.task.ref}: {_one_line(exc)}")
            raise
        log_dir = Path(result.log_dir)
        logs = {path.relative_to(log_dir).as_posix(): path.read_bytes()
                for path in sorted(log_dir.rglob("*")) if path.is_file()}
    return NodeReply(result=result, logs=logs, node=node)


def _node_environment(client: docker.DockerClient, job: NodeJob, blob: list) -> ImageRef:
    if job.shipped is not None and job.environment is not None:
        ray = _import_ray()
        load_shipped_image(client, job.shipped, lambda: ray.get(blob[0]))
        return job.environment
    name = job.task.task.environment.name
    with _node_lock(f"environment-{name}"):  # several workers of one node would otherwise build it side by side
        return environments.ensure_environment(client, name, log=lambda _m: None)


def load_shipped_image(client: docker.DockerClient, image: ImageRef, fetch: Callable[[], bytes]) -> None:
    """Makes `image.tag` name exactly the image `image.id` on this engine, loading the tarball only if needed."""
    try:
        client.images.get(image.id)
    except docker.errors.ImageNotFound:
        client.images.load(fetch())
        try:
            client.images.get(image.id)
        except docker.errors.ImageNotFound as exc:
            raise InfraError(f"the shipped tarball of {image.tag} did not hold image {image.id}") from exc
    repository, tag = image.tag.rsplit(":", 1)
    client.images.get(image.id).tag(repository, tag)  # the tag may name an image this node built itself


def save_image(client: docker.DockerClient, image: ImageRef) -> bytes:
    return b"".join(client.images.get(image.tag).save(named=True))


def sweep_node(run_id: str) -> list[str]:
    """The run's containers on this node's engine, and scratch folders of workers killed mid-evaluation."""
    for folder in Path(tempfile.gettempdir()).glob(_scratch_prefix(run_id) + "*"):
        shutil.rmtree(folder, ignore_errors=True)
    return remove_run_containers(connect(), run_id)


def _scratch_prefix(run_id: str) -> str:
    return f"resq-node-{run_id}-"


class _node_lock:
    def __init__(self, name: str):
        self.path = environments.cache_dir() / "locks" / name

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc_info):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise SetupError("--executor ray needs Ray: pip install 'resq-runner[ray]'") from exc
    return ray


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
