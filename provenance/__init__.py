"""What a sample is and who vouches for it: records, signatures, and the generator middleware.

    from synthguard.provenance import Generator, Recorder, track

    with Recorder(ledger) as recorder:

        @track(recorder, generator=Generator(name="self-instruct", model="gpt-4o-mini"))
        def generate(prompt: str) -> dict[str, str]: ...

        recorder.generated(row, Generator(name="distil", model="llama-3-8b"))

The public face is these few names; the rest lives in modules named for what they do:
`canonical` (RFC 8785, digests), `sample`, `reader` (JSONL, Parquet, Hugging Face datasets),
`record` (lineage records), `keys` (Ed25519), `dsse` (envelopes), `recorder` and its
`commit_thread`, `middleware` (`track`), `errors` (the one error hierarchy of the project).
Nothing here stores anything: the ledger is handed in (anything with `append(records)`).
"""

from synthguard.provenance.middleware import track
from synthguard.provenance.record import Event, Generator, Origin, Source
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import FieldMapping, sample_from_row

__all__ = [
    "Event",
    "FieldMapping",
    "Generator",
    "Origin",
    "Recorder",
    "Source",
    "sample_from_row",
    "track",
]
