"""`release create` killed at any moment: what is left is never a release `release verify`
accepts unless the ledger records it, the ledger still verifies, and rerunning the same command
finishes the release without recording it twice.

The kills are real SIGKILLs of a real CLI process. Most runs go under an audit hook
(`sys.addaudithook`) that counts the process's file-system events under the test's folder
(opens, renames, mkdirs, folder scans, SQLite connects) and SIGKILLs its own process at the Nth:
a dry run lists the events, and the kill points are a seeded sample of them plus the moments
that matter most (work folder made, manifest written, records just committed, just before and
just after the rename). A few runs of the `synthguard` entry point itself are killed after
seeded random delays.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import Run, alpaca, invoke, write_jsonl

from synthguard.ledger.home import Home
from synthguard.ledger.log.lineage import records_by_event
from synthguard.ledger.release.manifest import JSONL_FILE, MANIFEST_FILE
from synthguard.provenance.canonical import digest
from synthguard.provenance.record import Event

pytestmark = pytest.mark.slow

SAMPLES = 60
SEED = 20240917
RANDOM_POINTS = 8
TIMED_KILLS = 3
TIMEOUT = 120
SYNTHGUARD = Path(sys.executable).with_name("synthguard")

# argv: kill-at (0: never), folder prefix, event log, then the CLI's own arguments.
KILLER = """
import os, signal, sys
kill_at, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
WATCHED = {"open", "os.rename", "os.replace", "os.mkdir", "os.remove", "os.rmdir",
           "shutil.rmtree", "os.scandir", "sqlite3.connect"}
count = 0
def hook(event, args):
    global count
    if event not in WATCHED:
        return
    names = [os.fsdecode(a) for a in args if isinstance(a, (str, bytes))]
    if not any(name.startswith(root) for name in names):
        return
    count += 1
    os.write(log_fd, (event + " " + " ".join(names) + "\\n").encode())
    if count == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
sys.addaudithook(hook)
sys.argv = ["synthguard", *sys.argv[4:]]
from synthguard.cli.main import main
main()
"""


@dataclass(frozen=True)
class Scene:
    """A private copy of a home with SAMPLES screened samples, and where to release them."""

    root: Path
    passphrase: str

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def screened(self) -> Path:
        return self.root / "screened"

    @property
    def out(self) -> Path:
        return self.root / "releases" / "v1"

    def create_args(self) -> list[str]:
        return [
            *("--home", str(self.home), "release", "create", "v1"),
            *("--from", str(self.screened), "--out", str(self.out)),
        ]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHGUARD_")}
        return {**env, "SYNTHGUARD_PASSPHRASE": self.passphrase}

    def work_folders(self) -> list[Path]:
        parent = self.out.parent
        return sorted(parent.glob(f".{self.out.name}.*.tmp")) if parent.exists() else []

    def released(self) -> Counter[tuple[str, str]]:
        """(sample id, manifest digest) of every `released` record, counted."""
        with Home(self.home).open() as ledger:
            return Counter(
                (e.record.sample_id, str(e.record.detail["manifest"]))
                for e in records_by_event(ledger, [Event.RELEASED])
            )

    def kill_at_event(self, number: int) -> tuple[int, list[str]]:
        """Run `release create` under the killer; return its exit status and its events."""
        log = self.root / "events.log"
        process = subprocess.run(
            [
                *(sys.executable, "-c", KILLER, str(number), f"{self.root}/", str(log)),
                *self.create_args(),
            ],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=TIMEOUT,
        )
        assert "Traceback" not in process.stderr, process.stderr
        return process.returncode, log.read_text().splitlines()

    def kill_after(self, delay: float) -> int:
        """Run the `synthguard` entry point and SIGKILL it after `delay` seconds."""
        process = subprocess.Popen(
            [str(SYNTHGUARD), *self.create_args()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env(),
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        return process.wait(TIMEOUT)


@pytest.fixture(scope="module")
def template(
    home_template: Path, passphrase: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A home holding SAMPLES recorded and screened samples, and the screen's output."""
    root = tmp_path_factory.mktemp("kill") / "template"
    shutil.copytree(home_template, root / "home")
    source = write_jsonl(root / "samples.jsonl", (alpaca(i) for i in range(SAMPLES)))
    for args in (
        ("record", source, "--generator", "g", "--model", "m"),
        ("screen", source, "--out", root / "screened", "--guards", "unicode"),
    ):
        done = invoke(*args, home=root / "home", passphrase=passphrase)
        assert done.exit_code == 0, done.output
    return root


MakeScene = Callable[[str], Scene]


@pytest.fixture
def scenes(template: Path, passphrase: str, tmp_path: Path) -> MakeScene:
    """`scenes(label)`: a fresh copy of the template."""

    def make(label: str) -> Scene:
        root = tmp_path / label
        shutil.copytree(template, root)
        return Scene(root, passphrase)

    return make


def state(scene: Scene) -> str:
    """What a kill left: nothing, the work folder (recorded or not), or the release."""
    recorded = sum(scene.released().values())
    assert recorded in (0, SAMPLES), f"{recorded} released records: half a transaction"
    if scene.out.exists():
        return "released"
    if not scene.work_folders():
        assert recorded == 0
        return "nothing"
    return "recorded, not moved" if recorded else "work folder, unrecorded"


def check_kill(run: Run, scene: Scene, what: str) -> str:
    """The checks after a kill, then a rerun and the checks after it; return the kill's state."""
    left = state(scene)
    if scene.out.exists():
        verified = run("release", "verify", scene.out)
        if verified.exit_code == 0:  # accepted: then it must be recorded, once
            manifest = digest((scene.out / MANIFEST_FILE).read_bytes())
            assert {m for _, m in scene.released()} == {manifest}, what
    for work in scene.work_folders():
        refused = run("release", "verify", work)
        assert refused.exit_code == 1, f"{what}: {work.name} verified: {refused.output}"
    assert run("verify", home=scene.home).exit_code == 0, what

    rerun = run(*scene.create_args()[2:], home=scene.home)
    if left == "released":
        assert rerun.exit_code == 2, f"{what}: {rerun.output}"
        assert "exists already" in rerun.stderr
    else:
        assert rerun.exit_code == 0, f"{what} ({left}): {rerun.output}"

    verified = run("release", "verify", scene.out)
    assert verified.exit_code == 0, f"{what} ({left}): {verified.output}"
    assert scene.work_folders() == [], what
    assert run("verify", home=scene.home).exit_code == 0, what
    manifest = digest((scene.out / MANIFEST_FILE).read_bytes())
    released = scene.released()
    assert set(released.values()) == {1}, f"{what} ({left}): recorded twice"
    assert {m for _, m in released} == {manifest}, f"{what} ({left})"
    assert len(released) == SAMPLES == len((scene.out / JSONL_FILE).read_text().splitlines())
    return left


def first(events: list[str], *parts: str, after: int = 0) -> int:
    """The number (1-based) of the first event after `after` holding all of `parts`."""
    for number, event in enumerate(events[after:], after + 1):
        if all(part in event for part in parts):
            return number
    raise AssertionError(f"no event with {parts} in {events}")


def kill_points(scene: Scene, events: list[str]) -> dict[int, str]:
    """Kill points by event number: the moments that matter, and a seeded sample of all."""
    out = str(scene.out)
    work = first(events, "os.mkdir", f"/.{scene.out.name}.")
    rename = first(events, "os.rename", f" {out}")
    # The last event on the work folder before the rename is its sync; the records commit next.
    synced = max(n for n, e in enumerate(events[:rename], 1) if f"/.{scene.out.name}." in e)
    points = {
        work: "work folder made",
        first(events, "open", MANIFEST_FILE, " w"): "manifest about to be written",
        synced + 1: "records just committed",
        rename: "just before the rename",
        rename + 1: "just after the rename",
    }
    rng = random.Random(SEED)
    others = [n for n in range(1, len(events) + 1) if n not in points]
    for number in rng.sample(others, min(RANDOM_POINTS, len(others))):
        points[number] = f"event {number}: {events[number - 1]}"
    return dict(sorted(points.items()))


def test_a_create_killed_at_any_event_is_finished_by_a_rerun_and_recorded_once(
    run: Run, scenes: MakeScene
) -> None:
    dry = scenes("dry")
    status, events = dry.kill_at_event(0)
    assert status == 0
    assert run("release", "verify", dry.out).exit_code == 0

    seen: Counter[str] = Counter()
    for number, what in kill_points(dry, events).items():
        scene = scenes(f"kill-{number}")
        status, _ = scene.kill_at_event(number)
        assert status == -signal.SIGKILL, f"{what}: exit {status}"
        seen[check_kill(run, scene, f"killed at {what}")] += 1

    assert set(seen) == {"nothing", "work folder, unrecorded", "recorded, not moved", "released"}
    assert sum(seen.values()) >= 10


def test_the_entry_point_killed_after_random_delays(run: Run, scenes: MakeScene) -> None:
    dry = scenes("dry")
    began = time.monotonic()
    assert subprocess.run([str(SYNTHGUARD), *dry.create_args()], env=dry.env()).returncode == 0
    took = time.monotonic() - began

    rng = random.Random(SEED)
    killed = 0
    for i in range(TIMED_KILLS):
        delay = rng.uniform(0.3, 0.9) * took
        scene = scenes(f"timed-{i}")
        status = scene.kill_after(delay)
        if status == 0:
            continue  # finished before the kill (a fast run): the dry run checked that
        assert status == -signal.SIGKILL
        check_kill(run, scene, f"killed after {delay:.2f}s")
        killed += 1
    assert killed > 0


def test_a_live_run_s_work_folder_is_left_alone(run: Run, scenes: MakeScene) -> None:
    scene = scenes("live")
    live = scene.out.with_name(f".{scene.out.name}.0123abcd.tmp")
    live.mkdir(parents=True)
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a running `release create` holds it
        refused = run(*scene.create_args()[2:], home=scene.home)
    finally:
        os.close(fd)

    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"synthguard: error: another `release create` is writing {scene.out} "
        f"(in {live.name}): wait for it to end"
    ]
    assert scene.work_folders() == [live]
    assert not scene.out.exists()
    assert scene.released() == Counter()


def test_a_dead_run_s_unrecorded_work_folder_is_removed(run: Run, scenes: MakeScene) -> None:
    scene = scenes("dead")
    dead = scene.out.with_name(f".{scene.out.name}.0123abcd.tmp")
    dead.mkdir(parents=True)
    (dead / MANIFEST_FILE).write_bytes(b'{"half a manifest')

    created = run(*scene.create_args()[2:], home=scene.home)

    assert created.exit_code == 0, created.output
    assert scene.work_folders() == []
    assert run("release", "verify", scene.out).exit_code == 0
    assert set(scene.released().values()) == {1}


def unmoved(run: Run, scene: Scene) -> Path:
    """A release recorded but not moved to OUT, as a kill before the rename leaves it."""
    assert run(*scene.create_args()[2:], home=scene.home).exit_code == 0
    work = scene.out.with_name(f".{scene.out.name}.0123abcd.tmp")
    scene.out.rename(work)
    return work


def test_a_recorded_unmoved_release_is_moved_not_recorded_again(
    run: Run, scenes: MakeScene
) -> None:
    scene = scenes("unmoved")
    work = unmoved(run, scene)
    manifest = (work / MANIFEST_FILE).read_bytes()

    rerun = run(*scene.create_args()[2:], home=scene.home)

    assert rerun.exit_code == 0, rerun.output
    assert (scene.out / MANIFEST_FILE).read_bytes() == manifest
    assert scene.work_folders() == []
    assert set(scene.released().values()) == {1}
    assert run("release", "verify", scene.out).exit_code == 0


def test_a_recorded_unmoved_release_is_not_taken_for_another(run: Run, scenes: MakeScene) -> None:
    scene = scenes("another")
    work = unmoved(run, scene)

    other = run(*scene.create_args()[2:4], "v2", *scene.create_args()[5:], home=scene.home)

    assert other.exit_code == 2
    assert other.stderr.splitlines() == [
        f"synthguard: error: {work} holds release 'v1' of {SAMPLES} samples, recorded in the "
        f"ledger but never moved to {scene.out}: rerun that `release create`, or move the "
        "folder there"
    ]
    assert work.exists()
    assert not scene.out.exists()


def test_a_damaged_recorded_release_is_not_finished(run: Run, scenes: MakeScene) -> None:
    scene = scenes("damaged")
    work = unmoved(run, scene)
    with (work / JSONL_FILE).open("ab") as data:
        data.write(b"\n")

    rerun = run(*scene.create_args()[2:], home=scene.home)

    assert rerun.exit_code == 2
    assert f"its {JSONL_FILE} is not the one its manifest signed" in rerun.stderr
    assert not scene.out.exists()
    assert set(scene.released().values()) == {1}
