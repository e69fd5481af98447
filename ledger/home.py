"""The ledger home, `.synthguard/`: config, the SQLite ledger and the encrypted signing keys.

config.json holds what a later command needs to find things again: the ledger URL (unless
`--db` or `SYNTHGUARD_DB` overrides it), the key that signs (`active_key`) and the genesis key
id (`root_key`), which pins the trust anchor that `verify` checks entry 0 against. Optional
`provider` ({"name", "contact"}) and `model` ({"name", "version", "dependencies"}) say what the
transparency report states in its sections 1.1 and 1.2.

The home is 0700 and everything in it 0600, whatever the umask: none of it is anyone else's
business. A failed `init` leaves nothing behind, so that running it again just works.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthguard.ledger.home_paths import CONFIG_MAX_BYTES, HOME_DIR, home_folder, key_file
from synthguard.ledger.log import (
    DEFAULT_CHECKPOINT_INTERVAL,
    FILE_MODE,
    KeptCheckpoint,
    Ledger,
    check_origin,
    make_private_dir,
    sqlite_file,
    write_private,
)
from synthguard.provenance.errors import InputError, KeyringError
from synthguard.provenance.keys import SigningKey, VerifyingKey
from synthguard.provenance.named_file import read_home_file
from synthguard.provenance.record import KeyAction

DB_ENV = "SYNTHGUARD_DB"

Passphrase = Callable[[], str]


@dataclass(frozen=True)
class Joined:
    """What `Home.join` made: the new key, its public key file, and the pinned genesis key."""

    key_id: str
    public_key_file: Path
    root_key: str
    pinned: bool
    """Whether the genesis key was pinned by the caller (else trusted on first use)."""


class Home:
    """One `.synthguard/` folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def locate(cls, path: Path | None = None) -> Home:
        """The home at `path`, else `$SYNTHGUARD_HOME`, else `./.synthguard`."""
        return cls(home_folder(path))

    @property
    def config_path(self) -> Path:
        """Where config.json lives."""
        return self.path / "config.json"

    def config(self) -> dict[str, Any]:
        """Read config.json."""
        raw = read_home_file(self.config_path, "config file", CONFIG_MAX_BYTES)
        if raw is None:
            raise InputError(f"no synthguard home at {self.path} (run `synthguard init`)")
        try:
            data: Any = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise InputError(f"{self.config_path} is not readable JSON") from exc
        if not isinstance(data, dict):
            raise InputError(f"{self.config_path} is not a JSON object")
        return data

    def _write_config(self, config: dict[str, Any]) -> None:
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        write_private(self.config_path, text.encode("utf-8"))

    def db_url(self, override: str | None = None) -> str:
        """The ledger URL: `override`, else `$SYNTHGUARD_DB`, else config, else the SQLite file."""
        if override:
            return override
        if os.environ.get(DB_ENV):
            return os.environ[DB_ENV]
        configured = self.config().get("db") if self.config_path.exists() else None
        return str(configured) if configured else f"sqlite:///{self.path / 'ledger.db'}"

    def key_path(self, key_id: str) -> Path:
        """The encrypted key file of `key_id`."""
        return key_file(self.path, key_id)

    def public_key_path(self, key_id: str) -> Path:
        """Where `join` leaves the public half of its key, for a key holder to add."""
        return self.key_path(key_id).with_suffix(".pub")

    def holds_key(self, key_id: str) -> bool:
        """Whether this home keeps the encrypted private key of `key_id`."""
        return self.key_path(key_id).is_file()

    def init(
        self,
        passphrase: str,
        *,
        db: str | None = None,
        origin: str | None = None,
        checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL,
    ) -> Ledger:
        """Create the home, its first signing key and the ledger; a failure undoes all of it.

        Undoing removes only what this call made: a folder that was there before stays, with
        whatever it held before.
        """
        if origin is not None:
            check_origin(origin)
        with self._creating() as made:
            key = self._new_key(passphrase, made)
            url = self.db_url(db)
            made += self._prepare_sqlite(url)
            ledger = Ledger.create(
                url,
                key,
                origin=origin,
                checkpoint_interval=checkpoint_interval,
                kept=self.kept_checkpoint(),
            )
            try:
                config = {
                    "active_key": key.key_id,
                    "root_key": key.key_id,
                    "origin": ledger.origin,
                }
                if db or os.environ.get(DB_ENV):
                    config["db"] = url
                self._write_config(config)
            except BaseException:
                ledger.close()  # before its files go
                raise
        return ledger

    def join(self, passphrase: str, db: str, *, root_key: str | None = None) -> Joined:
        """Make this home a writer of the existing ledger at `db`, with a key of its own.

        The private key is made here and never leaves the home; the ledger lets it sign once a
        holder of an active key adds its public key (`keys add`, a signed `key_added` event).
        `root_key` pins the ledger's genesis key (a key id the operator got from the founding
        home); without it the genesis key the database names is pinned, trusted on first use.
        A failure undoes all of it, as for `init`.
        """
        with Ledger.open(db) as ledger:
            rows = ledger.keys()
            origin = ledger.origin
        if not rows:
            raise InputError(f"no ledger at {db} to join (run `synthguard init --db ...` first)")
        genesis = rows[0].key_id
        if root_key is not None and root_key != genesis:
            raise KeyringError(
                f"the ledger at {db} was founded by key {genesis}, not the pinned {root_key}"
            )
        with self._creating() as made:
            key = self._new_key(passphrase, made)
            public = self.public_key_path(key.key_id)
            write_private(public, (key.public.pem() + key.public.vkey(origin) + "\n").encode())
            made.append(public)
            self._write_config(
                {"active_key": key.key_id, "root_key": genesis, "origin": origin, "db": db}
            )
        return Joined(key.key_id, public, genesis, pinned=root_key is not None)

    @contextlib.contextmanager
    def _creating(self) -> Iterator[list[Path]]:
        """A new home's folders; on any failure, remove what was made (the list it yields
        takes the files the caller makes, which the folder listings below would miss)."""
        if self.config_path.exists():
            raise InputError(f"{self.path} is a synthguard home already")
        top = _first_missing(self.path)
        before = set(os.listdir(self.path)) if top is None else set()
        made: list[Path] = []
        try:
            make_private_dir(self.path)
            make_private_dir(self.path / "keys")
            yield made
        except BaseException:
            # BaseException too: a Ctrl-C halfway must not leave a home that `init` then refuses.
            if top is not None:
                made.append(top)
            elif self.path.is_dir():
                made += [self.path / name for name in set(os.listdir(self.path)) - before]
            _remove(made)
            raise

    def _new_key(self, passphrase: str, made: list[Path]) -> SigningKey:
        key = SigningKey.generate()
        key_path = self.key_path(key.key_id)
        if not key_path.exists():  # else save refuses, and the file is not ours to remove
            made.append(key_path)
        key.save(key_path, passphrase)
        return key

    def _prepare_sqlite(self, url: str) -> list[Path]:
        """Make the home's own SQLite file 0600 before SQLite does; return the files to undo.

        SQLite gives its -wal and -shm files the database file's permission bits.
        """
        database = sqlite_file(url)
        if database is None or database.exists():
            return []
        if database.absolute() == (self.path / "ledger.db").absolute():
            fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            try:
                os.fchmod(fd, FILE_MODE)
            finally:
                os.close(fd)
        return [
            database.with_name(database.name + tail) for tail in ("", "-wal", "-shm", "-journal")
        ]

    def update_config(self, key: str, value: Any) -> None:
        """Set one top-level entry of config.json (the file is rewritten whole, 0600)."""
        config = self.config()
        config[key] = value
        self._write_config(config)

    @property
    def folder_name(self) -> str:
        """The name of the folder the home belongs to: the home's own, or for a home named
        `.synthguard`, that of the folder holding it."""
        path = self.path.absolute()
        return (path.parent.name if path.name == HOME_DIR else path.name) or "dataset"

    def signer(self, passphrase: Passphrase) -> SigningKey:
        """Load the active signing key."""
        key_id = self.config().get("active_key")
        if not isinstance(key_id, str):
            raise KeyringError(f"{self.config_path} names no active key")
        return SigningKey.load(self.key_path(key_id), passphrase())

    def open(self, passphrase: Passphrase | None = None, db: str | None = None) -> Ledger:
        """Open the ledger, with the signing key when a passphrase source is given."""
        if passphrase is None:
            return Ledger.open(self.db_url(db), None, self.kept_checkpoint())
        # A signing handle signs only into the ledger whose genesis key the home pins.
        ledger = Ledger.open(
            self.db_url(db), self.signer(passphrase), self.kept_checkpoint(), self.root_key()
        )
        try:
            self._follow_rotation(ledger, passphrase)
        except BaseException:
            ledger.close()
            raise
        return ledger

    def _follow_rotation(self, ledger: Ledger, passphrase: Passphrase) -> None:
        """Sign with the key the active one was rotated to, when this home holds it.

        `keys rotate` commits its signed `key_rotated` entry, then names the new key in
        config.json; killed in between, the home named a retired key and could sign nothing
        again. The signed key events (not the `keys` table, nor config.json) say which key
        replaced it; its file is in this home's `keys/` only if this home made it."""
        signer = ledger.signer
        if signer is None:
            return
        # Unpinned: a ledger founded by another key is the writer's to refuse, with its reason.
        timeline, error = ledger.key_timeline(None, ledger.size())
        span = timeline.spans.get(signer.key_id)
        if error is not None or span is None or span.status != "retired":
            return  # the key may sign, or the ledger's own checks say what is wrong
        successor = next(
            (key_id for key_id, s in timeline.spans.items() if s.added_seq == span.ended_seq),
            None,
        )
        if successor is None or not self.key_path(successor).is_file():
            return
        ledger.signer = SigningKey.load(self.key_path(successor), passphrase())
        config = self.config()
        config["active_key"] = successor
        self._write_config(config)

    def kept_checkpoint(self) -> KeptCheckpoint:
        """The last checkpoint this home's keys signed, kept beside them (see `ledger.kept`)."""
        return KeptCheckpoint(self.path)

    def root_key(self) -> str | None:
        """The pinned genesis key id, if the home has one."""
        value = self.config().get("root_key")
        return value if isinstance(value, str) else None

    def add_key(self, ledger: Ledger, passphrase: str, *, rotate: bool, reason: str | None) -> str:
        """Make a key, record it (`key_added`, or `key_rotated` replacing the active one)."""
        new = SigningKey.generate()
        new.save(self.key_path(new.key_id), passphrase)
        action = KeyAction.ROTATED if rotate else KeyAction.ADDED
        try:
            ledger.append([ledger.key_event(action, new, reason=reason)])
        except BaseException:
            # A key the ledger never took is no key of this home; one it did take (the error
            # came after the commit) is kept. When the ledger cannot say, the file stays.
            with contextlib.suppress(Exception):
                rows = ledger.keys()
                taken = {row.key_id for row in rows}
                if new.key_id not in taken:
                    self.key_path(new.key_id).unlink(missing_ok=True)
            raise
        if rotate:
            config = self.config()
            config["active_key"] = new.key_id
            self._write_config(config)
            ledger.signer = new
        ledger.checkpoint()
        return new.key_id

    def admit_key(self, ledger: Ledger, key: VerifyingKey, reason: str | None) -> None:
        """Let another home's key sign (`key_added`, signed by this home's active key)."""
        rows = ledger.keys()
        if any(row.key_id == key.key_id for row in rows):
            raise InputError(f"key {key.key_id} is a key of this ledger already")
        ledger.append([ledger.key_event(KeyAction.ADDED, key, reason=reason)])
        ledger.checkpoint()

    def revoke_key(self, ledger: Ledger, key_id: str, reason: str | None) -> int | None:
        """Record that `key_id` may sign nothing from here on. A key the signed key events
        revoke already is left as it is: the entry that revoked it is returned, else None."""
        rows = ledger.keys()
        row = next((row for row in rows if row.key_id == key_id), None)
        if row is None:
            raise InputError(f"no key {key_id} in this ledger")
        if row.status == "revoked":
            return row.ended_seq
        if key_id == ledger.key_id:
            raise InputError(
                "the active key signs this ledger: `synthguard keys rotate` first, then revoke it"
            )
        ledger.append([ledger.key_event(KeyAction.REVOKED, key_id=key_id, reason=reason)])
        ledger.checkpoint()
        return None


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of `path` (itself included) that does not exist yet, if any."""
    missing = None
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            break
        missing = folder
    return missing


def _remove(paths: list[Path]) -> None:
    """Remove files and folders, newest first; a failure here must not hide the first one."""
    for path in reversed(paths):
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
