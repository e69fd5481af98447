"""Signed releases: a folder of data files, a DSSE-signed in-toto manifest, and a bundle of
the ledger's records and proofs, which anyone can check offline.

    from synthguard.ledger.release import create_release, verify_release

    result = create_release(ledger, "v1", Path("screened"), Path("releases/v1"))
    report = verify_release(Path("releases/v1"), trusted=[publisher_key])
"""

from synthguard.ledger.release.bundle import BundleReader, open_regular
from synthguard.ledger.release.create import SCREEN_QUARANTINED, ReleaseResult, create_release
from synthguard.ledger.release.manifest import (
    BUNDLE_FILE,
    JSONL_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PREDICATE_TYPE,
    BreachRef,
    CheckpointRef,
    Statement,
    encode_hash,
    sample_root,
)
from synthguard.ledger.release.policy import Breach, FiguresOf, Policy, PolicyFigures, check_policy
from synthguard.ledger.release.verify import (
    ReleaseReport,
    count_bundle_lines,
    file_digest,
    manifest_statement,
    read_manifest,
    read_public_keys,
    signed_files,
    verify_release,
)

__all__ = [
    "BUNDLE_FILE",
    "JSONL_FILE",
    "MANIFEST_FILE",
    "PARQUET_FILE",
    "PREDICATE_TYPE",
    "SCREEN_QUARANTINED",
    "Breach",
    "BreachRef",
    "BundleReader",
    "CheckpointRef",
    "FiguresOf",
    "Policy",
    "PolicyFigures",
    "ReleaseReport",
    "ReleaseResult",
    "Statement",
    "check_policy",
    "count_bundle_lines",
    "create_release",
    "encode_hash",
    "file_digest",
    "manifest_statement",
    "open_regular",
    "read_manifest",
    "read_public_keys",
    "sample_root",
    "signed_files",
    "verify_release",
]
