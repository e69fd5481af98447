"""Recording from the libraries that generate data: Hugging Face `datasets` and distilabel.

from synthguard.ledger.integrations import record_map

dataset = record_map(dataset, generate, recorder=recorder, generator=generator)
"""

from synthguard.ledger.integrations.datasets import RecordMap, record_map

__all__ = [
    "RecordMap",
    "record_map",
]
