"""Measurements of one benchmark run, in the shape the report reads."""

from dataclasses import dataclass, field
from datetime import datetime

from bench.floors import CryptoFloor
from bench.load import PhaseResult


@dataclass(frozen=True)
class WarmUp:
    throughput: float
    requests: int
    errors: int


def _at(phases: list[PhaseResult], concurrency: int) -> PhaseResult | None:
    return next((phase for phase in phases if phase.concurrency == concurrency), None)


@dataclass
class DataSetResult:
    """The exchange phases of one data set, and what one exchange asked of the
    database."""

    name: str
    seed_seconds: float | None = None
    row_counts: dict[str, int] = field(default_factory=dict)
    targets: int = 0
    captured: object = None
    plans: list[tuple[str, list[str]]] = field(default_factory=list)
    exchange: list[PhaseResult] = field(default_factory=list)

    def exchange_at(self, concurrency: int) -> PhaseResult | None:
        return _at(self.exchange, concurrency)


@dataclass
class RunResult:
    started_at: datetime
    machine: dict[str, str]
    workers: int
    worker_class: str
    threads: int
    duration: int
    concurrencies: list[int]
    rate_limit: str = ""
    gunicorn_settings: dict[str, str] = field(default_factory=dict)
    worker_boots_at_warm_up: int = 0
    worker_boots_total: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    crypto_before: CryptoFloor | None = None
    crypto_after: CryptoFloor | None = None
    warm_ups: dict[str, WarmUp] = field(default_factory=dict)
    audience: list[PhaseResult] = field(default_factory=list)
    data_sets: list[DataSetResult] = field(default_factory=list)
    jwks_fetches_in_process: int = 0
    jwks_fetches_at_warm_up: int = 0
    jwks_fetches_total: int = 0
    issuer_requests: list[str] = field(default_factory=list)
    replay_first: list[int] = field(default_factory=list)
    replay_second: list[tuple[int, str | None]] = field(default_factory=list)
    duplicate_jtis: int = 0
    log_problems: list[str] = field(default_factory=list)
    finished_at: datetime | None = None
    load_average_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    wall_seconds: float = 0.0

    def audience_at(self, concurrency: int) -> PhaseResult | None:
        return _at(self.audience, concurrency)

    @property
    def jwks_fetches_after_warm_up(self) -> int:
        return self.jwks_fetches_total - self.jwks_fetches_at_warm_up

    @property
    def crypto(self) -> CryptoFloor:
        """The faster of the measurements before and after the load phases.

        Other programs on the machine only ever slow the floor down, so the
        faster measurement is the closer one.
        """
        before, after = self.crypto_before, self.crypto_after
        if after is None:
            return before
        return CryptoFloor(
            max(before.single_process, after.single_process),
            max(before.all_cores, after.all_cores),
            before.processes,
        )
