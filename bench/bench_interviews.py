"""Interview capacity: N concurrent spoken interviews on ONE agent worker, against the real stack.

What runs (all on 127.0.0.1, started here, stopped at the end): Postgres + PostgREST + the
`/rest/v1` gateway and the LiveKit server (devstack), the token server (built and served as the
test fixtures do, in a thread of this process; LiveKit's webhooks go to it), the local Realtime
server (`python -m realtime_local --rehearsal`: the rehearsal interviewer, replying at once,
audio paced at real time) and, for each N, a fresh `python -m agent start` worker with
`AGENT_CAPACITY=N`; every other worker setting is the product's default.

The candidates are one separate process for all of them (bench/interview_candidates.py:
asyncio, the livekit `rtc` SDK, answers synthesised once and cached, ready-made frames), in a
process group of its own and pinned to one CPU (`--candidate-cpu`). Each creates its interview
through the token server, joins through `POST /api/join` (the path that dispatches the
interviewer), answers every question with a recorded espeak-ng answer and stays until the
interviewer ends the interview and deletes the room.

Figures per N (a Markdown table; asserts nothing):

- reply: the end of the candidate's answer (its last audio at the microphone) -> the first loud
  interviewer frame the candidate receives, p50 / p95 / p99 over every answer; then the same
  minus the server-side silence window (`SERVER_VAD_SILENCE_MS`), which the local server, like
  OpenAI's, waits out before it ends the turn. A reply runs the rehearsal's tools first
  (store_answer, store_feedback, then fetch_next_question or end_interview).
- greeting: `POST /api/join` -> the first loud interviewer frame (dispatch, job start, session,
  the first tool call and the greeting), p50 / p95.
- stalls: pauses over 100 ms inside an interviewer utterance. The local server speaks a steady
  tone (`--no-espeak`), so any quiet run inside one is audio that did not arrive ("audio"); wall
  clock gaps between received frames are counted too ("arrival"; includes the candidates' own
  lateness). A pause of 2 s or more starts a new utterance (the goodbye after closing words).
- failed (the interview did not end `completed`) / hung (an interviewer came, the conversation
  stopped) / without an interviewer; and how many the worker admitted.
- the worker's CPU: CPU time of its whole process tree (main process, forkserver, job
  processes; psutil, sampled every 0.25 s) over the run, divided by the interview-seconds
  (each interview's join -> end): the fraction of a core one running interview costs. The
  candidates' process and the other services are not in that tree.
- memory: PSS of each job process (psutil `memory_full_info().pss`, its peak while the run
  lasts), mean and max, and the peak PSS of the whole worker tree.

A burst row (`--burst 8`): that many candidates joining within one second, for the greeting.
Runs stop at the first N that breaks (any interview not completed). Bounded: per run
(`--run-timeout`) and overall (`--timeout`).

    uv run --frozen python bench/bench_interviews.py [--n 1,4,8,16,24,32] [--questions 3]
        [--burst 8] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.settings import AgentSettings
from bench.interview_figures import STALL_S, UTTERANCE_GAP_S, fmt_seconds, markdown_table
from devstack import LiveKitServer, SupabaseStack
from devstack.proc import ManagedProcess, free_port
from devstack.tools import REPO_ROOT
from tests.fixtures.realtime import RealtimeProcess
from tests.fixtures.token_server import serve, token_server_settings

log = logging.getLogger("bench.interviews")

ANSWERS = [
    "I would start with the logs and reproduce the failure on my machine.",
    "I split the migration into small steps behind a feature flag.",
    "We measured first, then cached the slowest query and the page got fast.",
    "I would ask the team what they need, then write it down and agree on it.",
]
QUICK_ANSWERS = ["I would start with the logs."]
CANDIDATES_SCRIPT = Path(__file__).with_name("interview_candidates.py")


# ---- the worker's process tree ---------------------------------------------------------------


@dataclass
class TreeSampler:
    """CPU time and PSS of a process and all its descendants, sampled in a thread."""

    root_pid: int
    interval: float = 0.25
    pss_every: float = 2.0
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, cpu s)
    job_pss: dict[int, int] = field(default_factory=dict)  # pid -> peak PSS (bytes)
    tree_pss_peak: int = 0
    jobs_peak: int = 0
    _base: dict[int, float] = field(default_factory=dict)
    _last: dict[int, float] = field(default_factory=dict)
    _kinds: dict[int, str] = field(default_factory=dict)
    _procs: dict[int, psutil.Process] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._sample(first=True, pss=False)
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self._sample(first=False, pss=False)

    def cpu_between(self, start: float, end: float) -> float:
        return self._cpu_at(end) - self._cpu_at(start)

    def _cpu_at(self, t: float) -> float:
        points = self.timeline
        if not points:
            return 0.0
        if t <= points[0][0]:
            return points[0][1]
        for (t0, c0), (t1, c1) in itertools.pairwise(points):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * ((t - t0) / (t1 - t0) if t1 > t0 else 0.0)
        return points[-1][1]

    def job_pids(self) -> list[int]:
        return [pid for pid, kind in self._kinds.items() if kind == "job"]

    def _run(self) -> None:
        next_pss = time.monotonic()
        while not self._stop.wait(self.interval):
            pss = time.monotonic() >= next_pss
            if pss:
                next_pss = time.monotonic() + self.pss_every
            self._sample(first=False, pss=pss)

    def _tree(self) -> list[psutil.Process]:
        try:
            root = self._procs.setdefault(self.root_pid, psutil.Process(self.root_pid))
            found = [root, *root.children(recursive=True)]
        except psutil.Error:
            return []
        # The same Process objects each time: psutil keeps their identity (pid reuse) checks.
        return [self._procs.setdefault(p.pid, p) for p in found]

    def _kind(self, proc: psutil.Process) -> str:
        kind = self._kinds.get(proc.pid)
        if kind is None:
            try:
                if proc.pid == self.root_pid:
                    kind = "main"
                elif "forkserver" in " ".join(proc.cmdline()) and proc.ppid() == self.root_pid:
                    kind = "forkserver"
                elif self._kinds.get(proc.ppid()) == "forkserver":
                    kind = "job"  # job processes are forked from the forkserver
                else:
                    kind = "other"
            except psutil.Error:
                kind = "other"
            self._kinds[proc.pid] = kind
        return kind

    def _sample(self, *, first: bool, pss: bool) -> None:
        now = time.monotonic()
        tree = self._tree()
        total_pss = 0
        jobs = 0
        for proc in sorted(tree, key=lambda p: p.pid):
            kind = self._kind(proc)
            try:
                times = proc.cpu_times()
                cpu = times.user + times.system
                if pss:
                    value = int(proc.memory_full_info().pss)
                    total_pss += value
                    if kind == "job":
                        self.job_pss[proc.pid] = max(self.job_pss.get(proc.pid, 0), value)
            except psutil.Error:
                continue
            jobs += kind == "job"
            if proc.pid not in self._base:
                # A process already there at the first sample counts from then; a later one
                # from its birth (forked children start at zero).
                self._base[proc.pid] = cpu if first else 0.0
            self._last[proc.pid] = cpu
        self.jobs_peak = max(self.jobs_peak, jobs)
        if pss:
            self.tree_pss_peak = max(self.tree_pss_peak, total_pss)
        total = sum(self._last[pid] - self._base[pid] for pid in self._last)
        self.timeline.append((now, total))


# ---- the services ----------------------------------------------------------------------------


@dataclass
class Stack:
    work: Path
    livekit: LiveKitServer
    supabase: SupabaseStack
    realtime: RealtimeProcess
    token_url: str
    api_key: str
    agent_name: str
    stoppers: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self.stoppers):
            with contextlib.suppress(Exception):
                stop()


def start_stack(work: Path, questions: int) -> Stack:
    token_port = free_port()
    livekit = LiveKitServer(
        work / "livekit",
        api_key="benchkey",
        api_secret=secrets.token_urlsafe(32),
        webhook_urls=[f"http://127.0.0.1:{token_port}/webhooks/livekit"],
    )
    (work / "pg").mkdir()
    (work / "pg").chmod(0o755)  # Postgres runs as `postgres` when started by root
    supabase = SupabaseStack(
        work / "supabase",
        pg_data_dir=work / "pg" / "data",
        jwt_secret=secrets.token_urlsafe(32),
        durable=False,
    )
    # Replies without espeak: a steady tone, so a quiet run inside one is a stall, and no
    # blocking synthesis in the server's event loop skews the figures.
    realtime = RealtimeProcess(work / "realtime", rehearsal=True, pace=1.0)
    realtime.proc.argv += ["--questions", str(questions), "--no-espeak"]
    api_key = secrets.token_urlsafe(32)
    agent_name = f"interviewer-bench-{secrets.token_hex(3)}"
    stack = Stack(work, livekit, supabase, realtime, "", api_key, agent_name)
    try:
        supabase.start()
        stack.stoppers.append(supabase.stop)
        livekit.start()
        stack.stoppers.append(livekit.stop)
        realtime.start()
        stack.stoppers.append(realtime.stop)
        settings = token_server_settings(
            livekit,
            supabase,
            port=token_port,
            api_key=api_key,
            outbox_dir=work / "token-outbox",
            agent_name=agent_name,
        )
        thread, stack.token_url = serve(settings, token_port)
        stack.stoppers.append(thread.stop)
    except BaseException:
        stack.stop()
        raise
    return stack


@dataclass(frozen=True)
class WorkerConfig:
    capacity: int
    silence_ms: int
    idle_processes: int | None
    cpu_guard: float | None

    def env(self, stack: Stack, outbox: Path) -> dict[str, str]:
        env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "LIVEKIT_URL": stack.livekit.url,
            "LIVEKIT_API_KEY": stack.livekit.api_key,
            "LIVEKIT_API_SECRET": stack.livekit.api_secret,
            "SUPABASE_URL": stack.supabase.url,
            "SUPABASE_SERVICE_ROLE_KEY": stack.supabase.service_role_key,
            "OPENAI_BASE_URL": stack.realtime.base_url,
            "OPENAI_API_KEY": "local-bench-key",
            "REHEARSAL_MODEL": "true",
            "AGENT_NAME": stack.agent_name,
            "AGENT_HEALTH_PORT": "0",
            "AGENT_CAPACITY": str(self.capacity),
            "AGENT_DRAIN_TIMEOUT": "5",
            "SERVER_VAD_SILENCE_MS": str(self.silence_ms),
            "OUTBOX_DIR": str(outbox),
            "LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE": "0",
        }
        if self.idle_processes is not None:
            env["AGENT_IDLE_PROCESSES"] = str(self.idle_processes)
        if self.cpu_guard is not None:
            env["AGENT_CPU_GUARD"] = str(self.cpu_guard)
        return env


def start_worker(stack: Stack, config: WorkerConfig, run_dir: Path) -> ManagedProcess:
    worker = ManagedProcess(
        "agent-worker",
        [sys.executable, "-m", "agent", "start"],
        run_dir / "agent.log",
        env=config.env(stack, run_dir / "outbox"),
        cwd=REPO_ROOT,
    )
    worker.start()
    worker.wait_ready(lambda: "registered worker" in worker.log_tail(400), 90, "it registered")
    return worker


def wait_until_settled(worker: ManagedProcess, warm: int, timeout: float = 60.0) -> bool:
    """Until the warm job processes exist and the worker's tree is quiet (prewarm done);
    False if that did not happen within `timeout`."""
    assert worker.pid is not None
    deadline = time.monotonic() + timeout
    sampler = TreeSampler(worker.pid)
    sampler.start()
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            points = sampler.timeline
            if len(sampler.job_pids()) >= warm and len(points) >= 5:
                (t0, c0), (t1, c1) = points[-5], points[-1]
                if (c1 - c0) / max(t1 - t0, 1e-6) < 0.05:
                    return True
    finally:
        sampler.stop()
    return False


# ---- one run ---------------------------------------------------------------------------------


@dataclass
class RunResult:
    label: str
    n: int
    capacity: int
    records: list[dict[str, Any]]
    sampler: TreeSampler
    candidates_cpu_s: float  # the candidates' process from the first join to the end
    candidates_wall_s: float
    wall_s: float
    jobs_started: int
    error: str | None = None

    def outcomes(self) -> dict[str, int]:
        counts = {"completed": 0, "failed": 0, "hung": 0, "no_interviewer": 0}
        for r in self.records:
            counts[r["outcome"] if r["outcome"] in counts else "hung"] += 1
        counts["no_interviewer"] += self.n - len(self.records)
        return counts

    @property
    def broke(self) -> bool:
        return self.error is not None or self.outcomes()["completed"] < self.n


def run_once(
    stack: Stack,
    config: WorkerConfig,
    *,
    label: str,
    n: int,
    questions: int,
    answers: list[str],
    join_offsets: list[float],
    run_timeout: float,
    candidate_cpu: int | None,
) -> RunResult:
    run_dir = stack.work / f"run-{label.replace(' ', '-')}"
    run_dir.mkdir()
    t0 = time.monotonic()
    worker = start_worker(stack, config, run_dir)
    t1 = time.monotonic()
    candidates: ManagedProcess | None = None
    sampler: TreeSampler | None = None
    try:
        warm = min(config.idle_processes or _default_idle(), config.capacity)
        settled = wait_until_settled(worker, warm)
        # What else keeps this machine busy (other users' processes) skews every figure.
        busy = psutil.cpu_percent(interval=1.0) / 100 * (os.cpu_count() or 1)
        print(
            f"run {label}: worker registered in {t1 - t0:.1f} s, "
            + ("settled" if settled else "NOT settled")
            + f" {time.monotonic() - t1:.1f} s later; machine busy before the run: "
            + f"{busy:.2f} cores"
        )
        assert worker.pid is not None
        sampler = TreeSampler(worker.pid)
        sampler.start()
        started = time.monotonic()
        spec = {
            "base_url": stack.token_url,
            "n": n,
            "questions": questions,
            "answers": answers,
            "join_offsets_s": join_offsets,
            "greeting_timeout_s": 90.0,
            "step_timeout_s": 45.0,
            "deadline": started + run_timeout,
            "cpu": candidate_cpu,
        }
        spec_path, out_path = run_dir / "spec.json", run_dir / "candidates.json"
        spec_path.write_text(json.dumps(spec))
        candidates = ManagedProcess(
            "candidates",
            [sys.executable, str(CANDIDATES_SCRIPT), str(spec_path), str(out_path)],
            run_dir / "candidates.log",
            env={**os.environ, "BENCH_API_KEY": stack.api_key},
            cwd=REPO_ROOT,
        )
        candidates.start()
        deadline = started + run_timeout + 30
        while candidates.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        sampler.stop()
        error = None
        if candidates.running():
            error = "the candidates' process did not finish in time"
        elif not out_path.exists():
            error = f"the candidates' process failed:\n{candidates.log_tail(15)}"
        result: dict[str, Any] = (
            json.loads(out_path.read_text())
            if out_path.exists()
            else {"records": [], "finished": time.monotonic()}
        )
        return RunResult(
            label=label,
            n=n,
            capacity=config.capacity,
            records=result["records"],
            sampler=sampler,
            candidates_cpu_s=float(result.get("run_cpu_s", 0.0)),
            candidates_wall_s=float(result["finished"]) - float(result.get("run_from", started)),
            wall_s=float(result["finished"]) - started,
            jobs_started=worker.log_path.read_text(errors="replace").count("interview job started"),
            error=error,
        )
    finally:
        if sampler is not None:
            sampler.stop()
        if candidates is not None:
            candidates.stop()
        worker.stop()
        _keep_logs(run_dir, label)


LOGS_DIR = REPO_ROOT / ".local" / "bench" / "logs"


def _keep_logs(run_dir: Path, label: str) -> None:
    """The worker's and the candidates' logs of the last run of each N outlive the work dir."""
    LOGS_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("agent.log", "candidates.log", "candidates.json"):
        with contextlib.suppress(OSError):
            shutil.copy(run_dir / name, LOGS_DIR / f"{label.replace(' ', '-')}-{name}")


def _default_idle() -> int:
    default = AgentSettings.model_fields["agent_idle_processes"].default
    return int(default)


# ---- figures ---------------------------------------------------------------------------------

HEADER = [
    "N",
    "admitted",
    "reply p50 / p95 / p99 (s)",
    "minus silence window (s)",
    "greeting p50 / p95 (s)",
    f"stalls {STALL_S * 1000:.0f} ms-{UTTERANCE_GAP_S:.0f} s: audio / arrival",
    "failed / hung / no interviewer",
    "worker CPU per interview (cores)",
    "PSS per job mean / max (MB)",
    "worker PSS total (MB)",
]


def row(result: RunResult, silence_s: float) -> list[str]:
    records = result.records
    replies = [x for r in records for x in r["replies_s"]]
    greetings = [r["greeting_s"] for r in records if r["greeting_s"] is not None]
    audio = sum(len(r["audio_stalls_s"]) for r in records)
    arrival = sum(len(r["arrival_gaps_s"]) for r in records)
    worst = max((x for r in records for x in r["audio_stalls_s"]), default=0.0)
    outcomes = result.outcomes()
    with_interviewer = [r for r in records if r["interviewer_at"] is not None]
    interview_s = sum(
        (r["ended_at"] or r["join_at"] + result.wall_s) - r["join_at"] for r in with_interviewer
    )
    cpu = "-"
    if with_interviewer and interview_s > 0:
        starts = min(r["join_at"] for r in with_interviewer)
        ends = max(r["ended_at"] or starts + result.wall_s for r in with_interviewer)
        cpu = f"{result.sampler.cpu_between(starts, ends) / interview_s:.3f}"
    mb = 1024 * 1024
    pss = [v / mb for v in result.sampler.job_pss.values()]
    pss_text = f"{sum(pss) / len(pss):.0f} / {max(pss):.0f}" if pss else "-"
    stalls = f"{audio} / {arrival}" + (f" (worst {worst * 1000:.0f} ms)" if audio else "")
    return [
        result.label,
        f"{len(with_interviewer)} (jobs {result.jobs_started}, capacity {result.capacity})",
        fmt_seconds(replies, (0.5, 0.95, 0.99)),
        fmt_seconds(replies, (0.5, 0.95, 0.99), offset=silence_s),
        fmt_seconds(greetings, (0.5, 0.95)),
        stalls,
        f"{outcomes['failed']} / {outcomes['hung']} / {outcomes['no_interviewer']}",
        cpu,
        pss_text,
        f"{result.sampler.tree_pss_peak / mb:.0f}",
    ]


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = psutil.virtual_memory().total / 1024**3
    return f"{os.cpu_count()} CPUs ({model}), {ram:.1f} GiB RAM"


# ---- main ------------------------------------------------------------------------------------


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", default="1,4,8,16,24,32", help="interview counts, comma-separated")
    p.add_argument("--questions", type=int, default=3, help="questions (answers) per interview")
    p.add_argument("--burst", type=int, default=8, help="candidates joining within 1 s (0: none)")
    p.add_argument("--join-every", type=float, default=0.5, help="seconds between joins")
    p.add_argument("--quick", action="store_true", help="N=1,2, one short answer, no burst")
    p.add_argument("--run-timeout", type=float, default=420.0, help="bound on one run (s)")
    p.add_argument("--timeout", type=float, default=2700.0, help="bound on everything (s)")
    p.add_argument("--idle-processes", type=int, help="AGENT_IDLE_PROCESSES (default: product)")
    p.add_argument("--cpu-guard", type=float, help="AGENT_CPU_GUARD (default: product)")
    p.add_argument(
        "--candidate-cpu",
        type=int,
        default=(os.cpu_count() or 1) - 1,
        help="CPU the candidates' process is pinned to (-1: not pinned)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.questions, args.burst = "1,2", 1, 0
    return args


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    counts = [int(x) for x in str(args.n).split(",") if x.strip()]
    answers = QUICK_ANSWERS if args.quick else ANSWERS
    silence_ms = AgentSettings().server_vad_silence_ms
    candidate_cpu = None if args.candidate_cpu < 0 else args.candidate_cpu
    overall = time.monotonic() + args.timeout
    signal.signal(signal.SIGTERM, _raise_stop)

    print(f"machine: {machine()}")
    print(
        f"worker: one `python -m agent start`, AGENT_CAPACITY=N, "
        f"AGENT_IDLE_PROCESSES={args.idle_processes or f'{_default_idle()} (default)'}, "
        f"AGENT_CPU_GUARD={args.cpu_guard or 'default'}, SERVER_VAD_SILENCE_MS={silence_ms}"
    )
    print(
        "candidates: one process for all (asyncio, livekit rtc), cached espeak-ng answers, "
        + (f"pinned to CPU {candidate_cpu}" if candidate_cpu is not None else "not pinned")
        + ", own process group; the worker's figures come from its own process tree only"
    )
    print(
        f"interviews: {args.questions} questions each, joins {args.join_every} s apart; "
        "realtime_local rehearsal interviewer, instant replies, tone voice at real time"
    )
    sys.stdout.flush()

    work = Path(tempfile.mkdtemp(prefix="iv-bench-interviews-"))
    work.chmod(0o755)
    stack: Stack | None = None
    results: list[RunResult] = []
    silence_s = silence_ms / 1000
    try:
        t0 = time.monotonic()
        stack = start_stack(work, args.questions)
        print(f"stack ready in {time.monotonic() - t0:.1f} s")
        plan: list[tuple[str, int, list[float]]] = [
            (str(n), n, [i * args.join_every for i in range(n)]) for n in counts
        ]
        if args.burst > 0:
            k = args.burst
            plan.append((f"burst {k}", k, [i / k for i in range(k)]))
        broken = False
        for label, n, offsets in plan:
            burst = label.startswith("burst")
            if broken and not burst:
                continue
            left = overall - time.monotonic()
            if left < 60:
                print(f"(stopping: the overall bound of {args.timeout:.0f} s is near)")
                break
            config = WorkerConfig(n, silence_ms, args.idle_processes, args.cpu_guard)
            result = run_once(
                stack,
                config,
                label=label,
                n=n,
                questions=args.questions,
                answers=answers,
                join_offsets=offsets,
                run_timeout=min(args.run_timeout, left - 30),
                candidate_cpu=candidate_cpu,
            )
            results.append(result)
            cores = result.candidates_cpu_s / max(result.candidates_wall_s, 1e-6)
            print(
                f"run {label}: {result.wall_s:.0f} s; the candidates' process used "
                f"{cores:.2f} cores while they talked ({cores / max(n, 1):.3f} per candidate)"
                + (f"; {result.error}" if result.error else "")
            )
            if result.broke:
                print(f"  logs of this run: {LOGS_DIR}/{label.replace(' ', '-')}-*")
            for r in result.records:
                if r["outcome"] != "completed":
                    print(
                        f"  interview {r['index']}: {r['outcome']} ({r['error']}; "
                        f"{r['answers_given']} answers, {len(r['replies_s'])} replies heard, "
                        f"stored status {r['status']})"
                    )
            print(markdown_table(HEADER, [row(result, silence_s)]))
            sys.stdout.flush()
            if result.broke and not burst:
                print(f"(the run of {label} broke: no larger N)")
                broken = True
    except (KeyboardInterrupt, _Stop):
        print("(interrupted)")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if stack is not None:
            stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"all runs ({machine()}):")
    print(markdown_table(HEADER, [row(r, silence_s) for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
