"""Where a ledger home keeps its files, found without opening the ledger: the folder, its
config and its key files.

Apart from `home` (which opens the ledger, and imports the database stack with it) so that the
command line can find the signing key's file before it imports anything heavy, and start
unlocking it (`synthguard.cli.entry`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from synthguard.provenance.errors import InputError
from synthguard.provenance.named_file import read_home_file

HOME_DIR = ".synthguard"
HOME_ENV = "SYNTHGUARD_HOME"
CONFIG_MAX_BYTES = 1 << 20
"""config.json holds a few settings, a policy and what the report states: a few KB."""


def home_folder(path: Path | None = None) -> Path:
    """The home at `path`, else `$SYNTHGUARD_HOME`, else `./.synthguard`."""
    if path is None:
        env = os.environ.get(HOME_ENV)
        path = Path(env) if env else Path.cwd() / HOME_DIR
    return path


def key_file(home: Path, key_id: str) -> Path:
    """The encrypted key file of `key_id` in the home at `home`."""
    return home / "keys" / f"{key_id.removeprefix('sha256:')[:16]}.key"


def active_key_file(home: Path) -> Path | None:
    """The file of the key the home's config.json names as active, or None when there is no
    readable config naming one (the command says why when it loads the key itself)."""
    try:
        raw = read_home_file(home / "config.json", "config file", CONFIG_MAX_BYTES)
        config = json.loads(raw.decode("utf-8")) if raw is not None else None
    except (InputError, ValueError):
        return None
    key_id = config.get("active_key") if isinstance(config, dict) else None
    return key_file(home, key_id) if isinstance(key_id, str) else None
