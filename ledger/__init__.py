"""Where records live and how anyone checks them: the log, screening state, releases, reports.

    from synthguard.ledger import Home, compute_report, verify_ledger

    home = Home.locate()
    with home.open(passphrase) as ledger:
        print(verify_ledger(ledger).ok)
        report = compute_report(ledger, stated=...)

Inside, one folder per subsystem, each with its own front door:

- `log/`: the append-only log (tables, RFC 6962 tree, checkpoints, key timeline, lineage
  readers, verify). Every SQL statement of the project is here.
- `report/`: the transparency report, computed from the log and rendered (HTML, Markdown, JSON,
  dataset card, Croissant).
- `release/`: signed release folders: create, manifest, bundle, policy, verify.
- `integrations/`: Hugging Face datasets and distilabel.

and the modules that tie them to a user's work: `home` (the folder, its config and keys),
`screening` (the quarantine fold and its overrides), `review`, `audit`.

The names load on first use (PEP 562, by `lazy_loader` from the stub `__init__.pyi`, which
type checkers read), so importing `synthguard.ledger.home` or the log does not pull in the
report and release stacks.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
