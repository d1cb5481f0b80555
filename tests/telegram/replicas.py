"""N `porchlight run` children in webhook mode behind one balancer, as a deployment runs them.

Why: issue 11's replicas share one database and one public webhook URL; a story must start
them, kill one with SIGKILL in the middle of its work, start it again, and stop them all. Every
child gets the same WEBHOOK_URL (the balancer's) and WEBHOOK_SECRET, its own WEBHOOK_PORT on
127.0.0.1, and the emulator posts each update through the balancer to one of them.

    async with Replicas(emu, 1, database=db, officer_chat_id=chat, workdir=tmp) as replicas:
        ...
        replicas.kill(0)            # kill -9 the first child; the balancer skips it
        await replicas.restart(0)   # a new process on the same port
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from .balancer import Balancer
from .emulator import BotApiEmulator
from .process import BotProcess

WEBHOOK_PATH = "/porchlight/hook"
WEBHOOK_SECRET = "replica-Secret_for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Replicas:
    """The children (``processes``, one per port) and the balancer in front of them."""

    def __init__(
        self,
        emu: BotApiEmulator,
        count: int,
        *,
        database: str | Path,
        officer_chat_id: int,
        workdir: Path,
        env: dict[str, str] | None = None,
        log_level: str = "INFO",
    ) -> None:
        if count < 1:
            raise ValueError("at least one replica")
        self.emu = emu
        self.database = database
        self.officer_chat_id = officer_chat_id
        self.workdir = workdir
        self.env = dict(env or {})
        self.log_level = log_level
        self.ports = [free_port() for _ in range(count)]
        self.balancer = Balancer([f"http://127.0.0.1:{port}" for port in self.ports])
        self.processes: list[BotProcess] = []

    @property
    def webhook_url(self) -> str:
        return self.balancer.url + WEBHOOK_PATH

    def _process(self, index: int) -> BotProcess:
        env = {
            "WEBHOOK_URL": self.webhook_url,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(self.ports[index]),
            **self.env,
        }
        return BotProcess(
            self.emu,
            database=self.database,
            officer_chat_id=self.officer_chat_id,
            workdir=self.workdir,
            env=env,
            log_level=self.log_level,
        )

    async def start(self, timeout: float = 30.0) -> Replicas:  # noqa: ASYNC109
        """The balancer, then every child at once; returns when each one listens."""
        await self.balancer.start()
        self.processes = [self._process(i) for i in range(len(self.ports))]
        try:
            await asyncio.gather(*(p.start(timeout) for p in self.processes))
        except BaseException:
            await self.stop()
            raise
        return self

    def kill(self, index: int) -> None:
        """kill -9 one child: no shutdown, its connections reset, its port refuses."""
        self.processes[index].kill()

    async def restart(self, index: int, timeout: float = 30.0) -> BotProcess:  # noqa: ASYNC109
        """A new process in the place of child `index` (killed first if it still runs)."""
        self.processes[index].kill()
        self.processes[index] = self._process(index)
        return await self.processes[index].start(timeout)

    async def stop(self) -> list[int | None]:
        """SIGTERM every running child (they drain and exit), then the balancer; exit codes."""
        codes = await asyncio.gather(
            *(p.stop() for p in self.processes if p.popen is not None), return_exceptions=True
        )
        for process in self.processes:
            process.kill()
        await self.balancer.stop()
        return [code if isinstance(code, int) else None for code in codes]

    def logs(self, last: int = 40) -> str:
        return "\n".join(
            f"--- replica {i} (port {self.ports[i]}) ---\n{p.log(last)}"
            for i, p in enumerate(self.processes)
        )

    async def __aenter__(self) -> Replicas:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
