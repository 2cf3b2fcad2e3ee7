"""What the ingestion tests share: throwaway table names, reading a table back, and
killing a command at random points before a last run that must finish."""

from __future__ import annotations

import random
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa


def new_table() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def table_rows(url: str, table: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            t = sa.Table(table, sa.MetaData(), autoload_with=conn)
            return [dict(r) for r in conn.execute(sa.select(t)).mappings()]
    finally:
        engine.dispose()


def kill_then_finish(
    command: list[str], cwd: Path, env: dict[str, str], rng: random.Random, runs: int = 4
) -> tuple[int, subprocess.CompletedProcess[str]]:
    """``command`` started ``runs`` times and SIGKILLed after a random 0.8-3 s (the
    start-up is part of the time at risk), then run to the end: how many runs were
    killed with work left, and the last run."""
    kills = 0
    for _ in range(runs):
        proc = subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    final = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    return kills, final
