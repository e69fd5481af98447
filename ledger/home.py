"""The ledger home, `.synthguard/`: config, the SQLite ledger and the encrypted signing keys.

config.json holds what a later command needs to find things again: the ledger URL (unless
`--db` or `SYNTHGUARD_DB` overrides it), the key that signs (`active_key`) and the genesis key
id (`root_key`), which pins the trust anchor that `verify` checks entry 0 against.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from synthguard.ledger.policy import Policy
from synthguard.ledger.store import DEFAULT_CHECKPOINT_INTERVAL, Ledger
from synthguard.provenance.errors import InputError, KeyringError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import KeyAction

HOME_DIR = ".synthguard"
DB_ENV = "SYNTHGUARD_DB"
HOME_ENV = "SYNTHGUARD_HOME"

Passphrase = Callable[[], str]


class Home:
    """One `.synthguard/` folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def locate(cls, path: Path | None = None) -> Home:
        """The home at `path`, else `$SYNTHGUARD_HOME`, else `./.synthguard`."""
        if path is None:
            env = os.environ.get(HOME_ENV)
            path = Path(env) if env else Path.cwd() / HOME_DIR
        return cls(path)

    @property
    def config_path(self) -> Path:
        """Where config.json lives."""
        return self.path / "config.json"

    def config(self) -> dict[str, Any]:
        """Read config.json."""
        try:
            data: Any = json.loads(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError(f"no synthguard home at {self.path} (run `synthguard init`)") from exc
        except (OSError, ValueError) as exc:
            raise InputError(f"{self.config_path} is not readable JSON") from exc
        if not isinstance(data, dict):
            raise InputError(f"{self.config_path} is not a JSON object")
        return data

    def _write_config(self, config: dict[str, Any]) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.config_path)

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
        return self.path / "keys" / f"{key_id.removeprefix('sha256:')[:16]}.key"

    def init(
        self,
        passphrase: str,
        *,
        db: str | None = None,
        origin: str | None = None,
        checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL,
    ) -> Ledger:
        """Create the home, its first signing key and the ledger."""
        if self.config_path.exists():
            raise InputError(f"{self.path} is a synthguard home already")
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "keys").mkdir(mode=0o700, exist_ok=True)
        key = SigningKey.generate()
        key.save(self.key_path(key.key_id), passphrase)
        url = self.db_url(db)
        ledger = Ledger.create(url, key, origin=origin, checkpoint_interval=checkpoint_interval)
        config = {"active_key": key.key_id, "root_key": key.key_id, "origin": ledger.origin}
        if db or os.environ.get(DB_ENV):
            config["db"] = url
        self._write_config(config)
        return ledger

    def set_policy(self, policy: Mapping[str, Any]) -> None:
        """Set the release policy (checked first: an unknown key or bad value is refused)."""
        Policy.from_config(policy)
        config = self.config()
        config["policy"] = dict(policy)
        self._write_config(config)

    def signer(self, passphrase: Passphrase) -> SigningKey:
        """Load the active signing key."""
        key_id = self.config().get("active_key")
        if not isinstance(key_id, str):
            raise KeyringError(f"{self.config_path} names no active key")
        return SigningKey.load(self.key_path(key_id), passphrase())

    def open(self, passphrase: Passphrase | None = None, db: str | None = None) -> Ledger:
        """Open the ledger, with the signing key when a passphrase source is given."""
        signer = self.signer(passphrase) if passphrase is not None else None
        return Ledger.open(self.db_url(db), signer)

    def root_key(self) -> str | None:
        """The pinned genesis key id, if the home has one."""
        value = self.config().get("root_key")
        return value if isinstance(value, str) else None

    def add_key(self, ledger: Ledger, passphrase: str, *, rotate: bool, reason: str | None) -> str:
        """Make a key, record it (`key_added`, or `key_rotated` replacing the active one)."""
        new = SigningKey.generate()
        new.save(self.key_path(new.key_id), passphrase)
        action = KeyAction.ROTATED if rotate else KeyAction.ADDED
        ledger.append([ledger.key_event(action, new, reason=reason)])
        if rotate:
            config = self.config()
            config["active_key"] = new.key_id
            self._write_config(config)
            ledger.signer = new
        ledger.checkpoint()
        return new.key_id

    def revoke_key(self, ledger: Ledger, key_id: str, reason: str | None) -> None:
        """Record that `key_id` may sign nothing from here on."""
        rows = ledger.keys()
        if all(row.key_id != key_id for row in rows):
            raise InputError(f"no key {key_id} in this ledger")
        if key_id == ledger.key_id:
            raise InputError(
                "the active key signs this ledger: `synthguard keys rotate` first, then revoke it"
            )
        ledger.append([ledger.key_event(KeyAction.REVOKED, key_id=key_id, reason=reason)])
        ledger.checkpoint()
