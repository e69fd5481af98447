"""The home's files: owner-only whatever the umask, and a failed `init` leaves nothing behind."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthguard.ledger.home import Home
from synthguard.provenance.errors import InputError, LedgerError

ORIGIN = "test.synthguard.local/ledger"


@pytest.fixture(params=[0o000, 0o022], ids=["umask 000", "umask 022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under this umask, and put the old one back."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _everything(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


def _unreachable_db(tmp_path: Path) -> str:
    # Its folder does not exist, so SQLite cannot create the file: Ledger.create fails.
    return f"sqlite:///{tmp_path / 'no-such-folder' / 'ledger.db'}"


def test_the_home_is_owner_only_whatever_the_umask(
    umask: int, env: dict[str, str], passphrase: str, tmp_path: Path
) -> None:
    home = Home(tmp_path / "home")
    with home.init(passphrase, origin=ORIGIN) as ledger:
        # The genesis entry and checkpoint went through the WAL: -wal and -shm exist now.
        ledger.checkpoint()
        home.update_config("policy", {})  # config.json written a second time
        home.add_key(ledger, passphrase, rotate=False, reason=None)  # a second key file
        files = _everything(home.path)

        assert _mode(home.path) == 0o700
        assert _mode(home.path / "keys") == 0o700
        for name in ("config.json", "ledger.db", "ledger.db-wal", "ledger.db-shm"):
            assert _mode(home.path / name) == 0o600, name
        keys = sorted((home.path / "keys").iterdir())
        assert len(keys) == 2
        for key in keys:
            assert _mode(key) == 0o600, key.name
        wrong = {str(path): oct(_mode(path)) for path in files if _mode(path) & 0o077}
        assert not wrong, f"readable by others under umask {umask:03o}: {wrong}"
        assert not [path for path in files if path.name.endswith(".tmp")]


def test_an_existing_open_folder_becomes_owner_only(
    umask: int, env: dict[str, str], passphrase: str, tmp_path: Path
) -> None:
    path = tmp_path / "home"
    path.mkdir()
    path.chmod(0o755)

    Home(path).init(passphrase).close()

    assert _mode(path) == 0o700


def test_a_bad_origin_creates_nothing(env: dict[str, str], passphrase: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"origin 'two words' contains a space"):
        Home(tmp_path / "parent" / "home").init(passphrase, origin="two words")

    assert not (tmp_path / "parent").exists()


def test_a_failed_ledger_leaves_no_home(
    env: dict[str, str], passphrase: str, tmp_path: Path
) -> None:
    home = Home(tmp_path / "parent" / "home")

    with pytest.raises(LedgerError, match="cannot create a ledger"):
        home.init(passphrase, db=_unreachable_db(tmp_path))

    assert _everything(tmp_path) == []


def test_a_failure_in_an_existing_folder_removes_only_what_init_made(
    env: dict[str, str], passphrase: str, tmp_path: Path
) -> None:
    path = tmp_path / "home"
    (path / "keys").mkdir(parents=True)
    (path / "keys" / "old.key").write_text("an older key\n")
    (path / "notes.txt").write_text("not synthguard's\n")

    with pytest.raises(LedgerError, match="cannot create a ledger"):
        Home(path).init(passphrase, db=_unreachable_db(tmp_path))

    assert _everything(tmp_path) == [path, path / "keys", path / "keys/old.key", path / "notes.txt"]


def test_a_failure_in_an_existing_empty_folder_leaves_it_empty_and_ready(
    env: dict[str, str], passphrase: str, tmp_path: Path
) -> None:
    path = tmp_path / "home"
    path.mkdir()

    with pytest.raises(InputError, match=r"contains a '\+'"):
        Home(path).init(passphrase, origin="a+b")
    with pytest.raises(LedgerError):
        Home(path).init(passphrase, db=_unreachable_db(tmp_path))
    assert _everything(tmp_path) == [path]

    Home(path).init(passphrase, origin=ORIGIN).close()  # nothing half-made is in the way
    assert Home(path).config()["origin"] == ORIGIN


@pytest.mark.parametrize("where", ["in the home", "elsewhere by --db"])
def test_an_interrupt_after_the_ledger_is_made_removes_it(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    passphrase: str,
    tmp_path: Path,
    where: str,
) -> None:
    db = None if where == "in the home" else f"sqlite:///{tmp_path / 'elsewhere.db'}"

    def interrupted(path: Path, data: bytes) -> None:
        raise KeyboardInterrupt

    # config.json is the last thing init writes: the ledger and its WAL exist by then.
    monkeypatch.setattr("synthguard.ledger.home.write_private", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Home(tmp_path / "home").init(passphrase, db=db)

    assert _everything(tmp_path) == []
