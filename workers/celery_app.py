"""The Celery app, made from the Flask app so every task runs inside an app context.

Settings follow docs/design-notes.md: late acknowledgement, one prefetched task per process, JSON
only,
no result backend (the database holds every outcome). On the embedded default the broker is kombu's
filesystem transport under MURA_HOME, which needs no server but may lose a running task when a
worker dies; the sweeper (``mura.workers.tasks.sweep``) makes that harmless.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery import Celery, Task
from flask import Flask

from mura.app.core import task_names
from mura.workers import memory

TASK_ROUTES = {name: {"queue": queue} for name, queue in task_names.QUEUE_OF.items()}


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app for ``app`` and keep it in ``app.extensions['celery']``."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(_settings(app))
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def _settings(app: Flask) -> dict:
    broker = app.config["BROKER_URL"]
    settings: dict = {
        "broker_url": broker,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Each pool process has its next page waiting in the worker: with one, a process that
        # finished a page waited for the next poll of the broker (~0.05 s a page on the
        # embedded broker, 2% of the wall time). Claims keep every page done once, and a
        # dead worker's waiting pages are sent again (jobs.sweep; Redis and RabbitMQ redeliver).
        "worker_prefetch_multiplier": 2,
        # A pool process still that big after a task is replaced (workers/memory.py).
        "worker_max_memory_per_child": memory.recycle_after_kib(
            app.config["WORKER_MEMORY_LIMIT_MB"]
        ),
        "task_default_queue": "mura",
        "task_routes": TASK_ROUTES,
        "task_create_missing_queues": True,
        "worker_hijack_root_logger": False,
        "include": ["mura.workers.tasks"],
        "beat_schedule": {
            "sweep": {
                "task": task_names.SWEEP,
                "schedule": timedelta(seconds=app.config["SWEEP_INTERVAL_S"]),
            },
            # Contracts that end are expired and their documents withdrawn (docs/rights.md).
            "rights": {
                "task": task_names.CHECK_RIGHTS,
                "schedule": timedelta(seconds=app.config["RIGHTS_CHECK_INTERVAL_S"]),
            },
            # Stored files re-hashed in a rolling cycle (repo_app/modules/preservation/fixity.py).
            "fixity": {
                "task": task_names.FIXITY_CHECK,
                "schedule": timedelta(seconds=app.config["FIXITY_INTERVAL_S"]),
            },
        },
        "beat_schedule_filename": str(Path(app.config["HOME"]) / "celerybeat-schedule"),
    }
    if app.config["EMBEDDED_BROKER"]:
        folder = Path(app.config["HOME"]) / "broker"
        (folder / "queue").mkdir(parents=True, exist_ok=True)
        settings["broker_transport_options"] = {
            # kombu's filesystem transport needs one folder for in and out (docs/design-notes.md).
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            # Exchange bindings; the default is ./control in the current directory.
            "control_folder": str(folder / "control"),
            "store_processed": False,
            # 1 s by default: 0.1 s brings send→start from ~650 ms to ~60 ms.
            "polling_interval": 0.1,
        }
        # Control messages (broadcasts) need a fanout exchange the filesystem transport lacks.
        settings["worker_enable_remote_control"] = False
        # kombu's transport with an atomic publish: a consumer could read a half-written
        # message, lose it and stop the worker (workers/fs_broker.py).
        settings["broker_transport"] = "mura.workers.fs_broker:Transport"
    elif broker.startswith(("redis://", "rediss://")):
        settings["broker_transport_options"] = {
            # Above the longest page (OCR timeout) plus the prefetch wait, or Redis redelivers
            # a page still being worked on.
            "visibility_timeout": app.config["OCR_TIMEOUT_S"] * 3,
        }
    return settings


def _ignore_sigterm_in_pool_process() -> None:
    """A pool process leaves SIGTERM to the worker's main process, which stops it in order.

    systemd (``KillMode=control-group``) and ``kill -- -PGID`` send SIGTERM to every process at
    once. A pool process that died of it could hold the pool's queue lock, and the main process
    then hung at exit in billiard's ``_help_stuff_finish`` waiting for that lock (30 s to
    minutes, until SIGKILL). Ignoring it, the running page finishes and the process leaves when
    the main process's warm shutdown tells it to. (billiard's ``reset_signals`` keeps an ignored
    SIGTERM ignored; time limits still end a process with SIGKILL.)
    """
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def connect_worker_signals(app: Flask) -> None:
    """Wire a worker's life to the app: fresh DB connections per child, sweep and heartbeat."""
    from celery.signals import worker_process_init, worker_ready, worker_shutdown

    from mura.app.extensions import db
    from mura.workers import heartbeat

    state: dict = {}
    memory.connect(app)  # RLIMIT_AS in each pool process

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_: object) -> None:
        # Connections inherited through fork() must not be shared with the parent.
        with app.app_context():
            db.engine.dispose(close=False)
        _ignore_sigterm_in_pool_process()

    @worker_ready.connect(weak=False)
    def _on_ready(**_: object) -> None:
        from mura.workers.periodic import PeriodicDuties

        # The heartbeat first: it needs no database, and `mura ingest --wait` must see this
        # worker even before `mura db upgrade` (it started a second worker beside it).
        if app.config["EMBEDDED_BROKER"]:
            state["heartbeat"] = heartbeat.start(Path(app.config["HOME"]))
        # The start-up sweep, then the rounds of sweeper, rights and fixity this worker gets
        # (every worker runs them; a database lease picks one per round: workers/periodic.py).
        state["periodic"] = PeriodicDuties(app).start()

    @worker_shutdown.connect(weak=False)
    def _on_shutdown(**_: object) -> None:
        if "periodic" in state:
            state["periodic"].stop()
        if "heartbeat" in state:
            state["heartbeat"].set()
