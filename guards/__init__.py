"""What stands between generated rows and a training set: guards that judge samples, and the
screen that runs them and signs every verdict.

    from synthguard.guards import default_guards, screen_file

    with home.open(passphrase) as ledger, Recorder(ledger) as recorder:
        guards, notes = default_guards(home, names=["unicode", "dedup"], ledger=ledger)
        screening = screen_file(Path("rows.jsonl"), Path("screened"), guards, recorder)
    print(len(screening.result.accepted), "accepted")

Inside: `verdict`, `screen`, `pipeline`, `errors`, `model_card`, `embedding` (the sentence
encoder), `protected_sets`; the guards `decontamination`, `self_instruct`, `quarantine`; and the
subsystems `dedup/`, `backdoor/`, `toxicity/`, `semantic/` (each its own front door).

The names load on first use (PEP 562, by `lazy_loader` from the stub `__init__.pyi`, which
type checkers read), so importing a subsystem such as `synthguard.guards.dedup` does not pull
in the screen, the other guards and the ledger.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
