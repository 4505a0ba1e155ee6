"""A small cluster on one machine: two worker "hosts" in network namespaces, servers on a third.

Used by ``tests/test_scale_out.py`` and ``bench/scale_out.py``. Needs root and iproute2. The
layout, all inside this machine (a private /24 made here and removed afterwards)::

    bridge mbrXXXX 10.231.N.1/24   <- throwaway PostgreSQL (port 5440) and Redis (port 6390)
      veth -> netns mnsXXXXa 10.231.N.2  "host-a": mura worker -Q ocr,pdf,index,mura --beat
      veth -> netns mnsXXXXb 10.231.N.3  "host-b": mura worker -Q ocr

Both hosts share the store folder (as they would share an NFS mount) and reach the servers only
over their veth, as separate machines would over the network.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 5440
REDIS_PORT = 6390


def available() -> str | None:
    """Why the cluster cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "redis-server", "su"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    if not (PG_BIN / "initdb").exists():
        return f"needs PostgreSQL binaries in {PG_BIN}"
    probe = f"mnsprobe{uuid.uuid4().hex[:4]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@dataclass
class Cluster:
    """The servers' address and URLs, the namespaces, and the shared folders."""

    server_ip: str
    hosts: dict[str, tuple[str, str]]  # name -> (namespace, address)
    root: Path
    database_url: str = ""
    broker_url: str = ""
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """Settings of a Mura process on this cluster (MURA_HOME is per machine)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MURA_")}
        env.update(
            MURA_HOME=str(home),
            MURA_DATABASE_URL=self.database_url,
            MURA_BROKER_URL=self.broker_url,
            MURA_STORE_DIR=str(self.root / "shared-store"),
            MURA_INDEX_DIR=str(self.root / "shared-index"),
            MURA_SECRET_KEY="cluster",
            MURA_DEFAULT_ACCESS="public_domain",
            MURA_REVIEW_REQUIRED="false",
            OMP_THREAD_LIMIT="1",
            **extra,
        )
        return env

    def mura(self, *args: str, timeout: float = 300) -> str:
        """Run ``mura`` on this machine (the root namespace, e.g. a web node)."""
        proc = subprocess.run(
            [sys.executable, "-m", "mura.app.cli", *args],
            env=self.env(self.root / "web"), capture_output=True, text=True, timeout=timeout,
            cwd=ROOT,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"mura {args} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def start_worker(
        self, name: str, queues: str, concurrency: int = 1, beat: bool = False
    ) -> None:
        """Start ``mura worker --name NAME`` inside host NAME's namespace."""
        namespace, _address = self.hosts[name]
        home = self.root / name
        home.mkdir(exist_ok=True)
        log = open(home / "worker.log", "w")  # noqa: SIM115 (closed with the process)
        cmd = [
            "ip", "netns", "exec", namespace, sys.executable, "-m", "mura.app.cli", "worker",
            "--name", name, "-c", str(concurrency), "-Q", queues, "--beat" if beat else "--no-beat",
        ]  # fmt: skip
        self.workers[name] = subprocess.Popen(
            cmd, env=self.env(home), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while "ready" not in (home / "worker.log").read_text():
            if self.workers[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"worker {name} did not start:\n{(home / 'worker.log').read_text()}"
                )
            time.sleep(0.2)

    def stop_workers(self) -> None:
        """SIGTERM every worker's process group, then SIGKILL what is left."""
        for proc in self.workers.values():
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.workers.clear()


@contextmanager
def cluster(root: Path, subnet: int | None = None) -> Iterator[Cluster]:
    """Make the namespaces, the bridge and the servers; remove all of it afterwards."""
    tag = uuid.uuid4().hex[:4]
    subnet = subnet if subnet is not None else 100 + int(tag, 16) % 150
    net = f"10.231.{subnet}"
    bridge = f"mbr{tag}"
    made = Cluster(
        server_ip=f"{net}.1",
        hosts={"host-a": (f"mns{tag}a", f"{net}.2"), "host-b": (f"mns{tag}b", f"{net}.3")},
        root=root,
    )
    with ExitStack() as cleanup:
        _run("ip", "link", "add", bridge, "type", "bridge")
        cleanup.callback(subprocess.run, ["ip", "link", "del", bridge], capture_output=True)
        _run("ip", "addr", "add", f"{made.server_ip}/24", "dev", bridge)
        _run("ip", "link", "set", bridge, "up")
        for index, (namespace, address) in enumerate(made.hosts.values()):
            outside, inside = f"mvh{tag}{index}", f"mvn{tag}{index}"
            _run("ip", "netns", "add", namespace)
            cleanup.callback(subprocess.run, ["ip", "netns", "del", namespace], capture_output=True)
            _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            cleanup.callback(subprocess.run, ["ip", "link", "del", outside], capture_output=True)
            _run("ip", "link", "set", outside, "master", bridge, "up")
            _run("ip", "link", "set", inside, "netns", namespace)
            _run(
                "ip",
                "netns",
                "exec",
                namespace,
                "ip",
                "addr",
                "add",
                f"{address}/24",
                "dev",
                inside,
            )
            _run("ip", "netns", "exec", namespace, "ip", "link", "set", inside, "up")
            _run("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up")
        made.broker_url = _start_redis(made, cleanup)
        made.database_url = _start_postgresql(made, cleanup)
        cleanup.callback(made.stop_workers)  # runs first: workers before their servers
        yield made


def _start_redis(made: Cluster, cleanup: ExitStack) -> str:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--bind", made.server_ip, "--save", "",
         "--appendonly", "no", "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    cleanup.callback(_stop, proc)
    _wait_port(made.server_ip, REDIS_PORT)
    return f"redis://{made.server_ip}:{REDIS_PORT}/0"


def _start_postgresql(made: Cluster, cleanup: ExitStack) -> str:
    # Outside pytest's tmp folders (mode 700, root's): initdb and the server run as postgres.
    data = Path(tempfile.mkdtemp(prefix="mura-pg-"))
    cleanup.callback(shutil.rmtree, data, True)
    shutil.chown(data, "postgres")
    _as_postgres(f"{PG_BIN}/initdb -D {data} -A trust -U postgres --no-sync -E UTF8")
    subnet = made.server_ip.rsplit(".", 1)[0] + ".0/24"
    _as_postgres(f"echo 'host all all {subnet} trust' >> {data}/pg_hba.conf")  # the hosts' net
    options = f"-k /tmp -h {made.server_ip} -p {PG_PORT} -c fsync=off"
    _as_postgres(f"{PG_BIN}/pg_ctl -D {data} -o '{options}' -l {data}/log -w start")
    cleanup.callback(_as_postgres, f"{PG_BIN}/pg_ctl -D {data} -m immediate -w stop", False)
    _as_postgres(f"{PG_BIN}/createdb -h {made.server_ip} -p {PG_PORT} -U postgres mura")
    return f"postgresql://postgres@{made.server_ip}:{PG_PORT}/mura"


def _as_postgres(command: str, check: bool = True) -> None:
    proc = subprocess.run(["su", "postgres", "-c", command], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{command}: {proc.stderr.strip() or proc.stdout.strip()}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_port(host: str, port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port}")
