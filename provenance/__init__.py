"""What a sample is and who vouches for it: records, signatures, and the generator middleware.

The public face is a few names; everything else lives in the modules that say what they do.
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
