"""Recording from the libraries that generate data: Hugging Face `datasets` and distilabel.

    from synthguard.ledger.integrations import record_map

    with Recorder(ledger) as recorder:
        dataset = dataset.map(record_map(recorder, generator), batched=True)

The distilabel step needs distilabel installed, so it is not imported here: take `RecordStep`
from `synthguard.ledger.integrations.distilabel`.
"""

from synthguard.ledger.integrations.datasets import RecordMap, record_map

__all__ = [
    "RecordMap",
    "record_map",
]
