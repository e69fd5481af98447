"""Deduplication speed and quality against datasketch, side by side on one generated corpus.

    python benchmarks/dedup_bench.py [--docs 20000] [--rounds 3] [--update-docs 1000] [--sweep]

The corpus: documents of 50-300 words drawn from a seeded Zipf vocabulary of made-up words, 10 %
of them opening with one of five shared 20-word preambles; planted near-duplicates of earlier
documents at 1, 2, 5 and 10 % of words edited (substituted, inserted or deleted at random
places), and exact copies that differ in case, punctuation and zero-width spaces.

Three ways to the same signatures (128 permutations, affine32, seed 1), each from the same
normalised word lists: datasketch's per-shingle `MinHash.update`, datasketch's `MinHash.bulk`
(`update_batch` per document), and ours (`Shingler` + `MinHasher`). datasketch hashes each
shingle with xxh32 when xxhash is installed (its fastest option), else its default SHA-1.
The per-shingle baseline runs on the first --update-docs documents only (it is ~50x slower);
its docs/s is directly comparable, and its signatures, so its quality, are those of bulk.

End to end: datasketch's recipe (MinHashLSH at the threshold, candidates kept when the
estimated Jaccard reaches it) against `DedupGuard` (from raw text: normalisation, exact digest,
LSH below the threshold, exact-Jaccard confirmation). Quality is per document against the
ground truth: a document is a duplicate when its exact word-3-gram Jaccard with an earlier
document (kept or itself a copy) reaches the threshold (all pairs, found through rare shared
shingles; the script checks that no qualifying pair can share only common ones). Timings are
medians over rounds, ratios medians of per-round ratios; peak memory is tracemalloc's, in a
separate untimed pass.
--sweep adds the measurement behind the shingle sizes, on the prose of Python's own reference
manual (pydoc_data): Jaccard after 5 % word edits against Jaccard of unrelated texts.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH
from scipy import sparse

from synthguard.guards.dedup.guard import DEFAULT_THRESHOLD, DedupGuard
from synthguard.guards.dedup.minhash import MinHasher
from synthguard.guards.dedup.normalise import normalised_words
from synthguard.guards.dedup.shingles import ShingleParams, Shingler, hashfunc, shingle_strings
from synthguard.provenance.sample import Sample, as_sample

try:
    import xxhash

    BASELINE_HASH: Callable[[bytes], int] = xxhash.xxh32_intdigest
    BASELINE_HASH_NAME = "xxhash.xxh32_intdigest"
except ImportError:  # pragma: no cover - depends on the environment
    from datasketch.hashfunc import sha1_hash32

    BASELINE_HASH = sha1_hash32
    BASELINE_HASH_NAME = "datasketch sha1_hash32"

NUM_PERM, SEED, SCHEME = 128, 1, "affine32"
THRESHOLD = DEFAULT_THRESHOLD
RATES = (0.01, 0.02, 0.05, 0.10)
WORD_N = ShingleParams().word_n
SYLLABLES = ["ka", "to", "ri", "mon", "el", "sa", "ver", "lin", "qu", "da", "pe", "ro", "ti"]
SYLLABLES += ["ne", "ar", "is", "ul", "ga", "be", "fo", "sh", "ch", "ay", "om", "ex", "zu"]


# ---- the corpus ----


@dataclass
class Corpus:
    texts: list[str]
    planted: dict[int, float] = field(default_factory=dict)
    """Position of a planted copy -> its edit rate (0.0 for the exact copies)."""


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = 1 + min(int(rng.paretovariate(1.3)), 5)
        words.add("".join(rng.choice(SYLLABLES) for _ in range(syllables)))
    # Frequent words short, rare ones long, as in natural language (rank = list order).
    ranked = sorted(words)  # a set's order changes with the process's string hash seed
    return sorted(ranked, key=lambda word: (len(word) + rng.random() * 4, word))


def make_corpus(docs: int, seed: int) -> Corpus:
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    vocab = vocabulary(20_000, rng)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    weights /= weights.sum()

    def draw(n: int) -> list[str]:
        return [vocab[i] for i in nprng.choice(len(vocab), size=n, p=weights)]

    preambles = [draw(20) for _ in range(5)]
    per_rate, exact = docs // 40, docs // 100
    originals = docs - per_rate * len(RATES) - exact
    base = []
    for _ in range(originals):
        words = draw(rng.randint(50, 300))
        if rng.random() < 0.1:
            words = rng.choice(preambles) + words
        base.append(words)
    keyed: list[tuple[float, str, float | None]] = [
        (float(i), " ".join(w), None) for i, w in enumerate(base)
    ]
    for rate in (*RATES, 0.0):
        for _ in range(per_rate if rate else exact):
            source = rng.randrange(originals)
            if rate:
                text = " ".join(edit(base[source], rate, rng, vocab))
            else:
                text = disguise(" ".join(base[source]), rng)
            keyed.append((source + 0.5 + rng.random() * (originals - source), text, rate))
    keyed.sort(key=lambda item: item[0])
    corpus = Corpus([text for _, text, _ in keyed])
    corpus.planted = {i: rate for i, (_, _, rate) in enumerate(keyed) if rate is not None}
    return corpus


def edit(words: list[str], rate: float, rng: random.Random, vocab: list[str]) -> list[str]:
    copy = list(words)
    for _ in range(max(1, int(rate * len(words)))):
        i = rng.randrange(len(copy))
        op = rng.choice("sid")
        if op == "s":
            copy[i] = rng.choice(vocab)
        elif op == "i":
            copy.insert(i, rng.choice(vocab))
        elif len(copy) > 1:
            del copy[i]
    return copy


def disguise(text: str, rng: random.Random) -> str:
    words = text.split()
    i = rng.randrange(len(words))
    words[i] = words[i][:1] + "\u200b" + words[i][1:]
    return " ".join(words).capitalize().replace(" ", ",  ", 1) + "."


# ---- ground truth ----


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted arrays of distinct values (1.0 for two empty ones)."""
    shared = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - shared
    return shared / union if union else 1.0


def ground_truth(sets: list[np.ndarray], threshold: float) -> tuple[set[int], bool]:
    """Documents whose exact Jaccard with an earlier document reaches the threshold, and
    whether the candidate pairs (sharing a shingle held by at most 50 documents) provably
    include every pair at the threshold."""
    doc = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    values, inverse, df = np.unique(np.concatenate(sets), return_inverse=True, return_counts=True)
    rare = df[inverse] <= 50
    common_per_doc = np.bincount(doc[~rare], minlength=len(sets))
    sizes = np.array([len(s) for s in sets])
    complete = bool(np.all(common_per_doc < threshold * sizes))
    matrix = sparse.csr_matrix(
        (np.ones(int(rare.sum()), dtype=np.int32), (doc[rare], inverse[rare])),
        shape=(len(sets), len(values)),
    )
    shared = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    similar: set[int] = set()
    for i, j in zip(shared.row.tolist(), shared.col.tolist(), strict=True):
        if jaccard(sets[i], sets[j]) >= threshold:
            similar.add(j)
    # Any earlier document counts, kept or itself a copy: the guard's contract.
    return set(similar), complete


# ---- the three ways ----


def shingle_bytes(words: Sequence[list[str]], params: ShingleParams) -> list[list[bytes]]:
    return [[s.encode() for s in shingle_strings(w, "word", params)] for w in words]


def datasketch_update(words: Sequence[list[str]], params: ShingleParams) -> list[MinHash]:
    template = MinHash(NUM_PERM, SEED, scheme=SCHEME, hashfunc=BASELINE_HASH)
    out = []
    for shingles in shingle_bytes(words, params):
        m = template.copy()
        for shingle in shingles:
            m.update(shingle)
        out.append(m)
    return out


def datasketch_bulk(words: Sequence[list[str]], params: ShingleParams) -> list[MinHash]:
    return MinHash.bulk(
        shingle_bytes(words, params),
        num_perm=NUM_PERM,
        seed=SEED,
        scheme=SCHEME,
        hashfunc=BASELINE_HASH,
    )


def ours(words: Sequence[list[str]], params: ShingleParams) -> np.ndarray:
    batch = Shingler(params).shingle(words)
    return MinHasher(NUM_PERM, SEED, SCHEME).signatures(batch.hashes, batch.offsets)


def datasketch_dedup(minhashes: list[MinHash], lsh_params: tuple[int, int]) -> set[int]:
    """datasketch's recipe: LSH at the threshold, candidates by estimated Jaccard."""
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=lsh_params)
    flagged = set()
    for i, m in enumerate(minhashes):
        if any(m.jaccard(minhashes[key]) >= THRESHOLD for key in lsh.query(m)):
            flagged.add(i)
        else:
            lsh.insert(i, m)
    return flagged


def guard_dedup(samples: list[Sample]) -> set[int]:
    guard = DedupGuard()
    flagged = set()
    for start in range(0, len(samples), 1000):
        for verdict in guard.check(samples[start : start + 1000]):
            assert verdict.position is not None
            flagged.add(verdict.position)
    return flagged


# ---- measuring ----


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def peak_mib(call: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def quality(flagged: set[int], truth: set[int], corpus: Corpus, n: int) -> dict[str, float]:
    tp = len(flagged & truth)
    precision = tp / len(flagged) if flagged else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {"precision": precision, "recall": recall, "f1": f1}
    for rate in (0.0, *RATES):
        planted = [i for i, r in corpus.planted.items() if r == rate and i < n]
        out[f"recall@{rate:.0%}"] = sum(i in flagged for i in planted) / max(len(planted), 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--update-docs", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", action="store_true", help="also measure shingle sizes")
    args = parser.parse_args()
    started = time.perf_counter()

    corpus = make_corpus(args.docs, args.seed)
    samples = [as_sample(text) for text in corpus.texts]
    words = [normalised_words(text) for text in corpus.texts]
    params = ShingleParams()
    head = words[: args.update_docs]
    guard = DedupGuard()
    lsh_params = guard.shape  # datasketch's own optimiser would take ~10 s per index
    print(
        f"dedup benchmark: {len(samples):,} docs ({len(corpus.planted):,} planted copies: "
        f"{sum(r == 0 for r in corpus.planted.values())} exact, the rest "
        f"{', '.join(f'{r:.0%}' for r in RATES)} word edits); threshold {THRESHOLD}, "
        f"{NUM_PERM} permutations {SCHEME} seed {SEED}; {args.rounds} rounds; "
        f"datasketch hashes with {BASELINE_HASH_NAME}"
    )

    sets = [np.unique(s) for s in shingle_sets(words, params)]
    truth, complete = ground_truth(sets, THRESHOLD)
    print(
        f"ground truth: {len(truth):,} documents with exact Jaccard >= {THRESHOLD} to an earlier "
        f"one (all such pairs found: {'yes' if complete else 'NOT PROVEN'})"
    )

    identical = identical_with_our_hash(words[:300], params)
    print(
        "our signatures bit-identical to datasketch MinHash.bulk with the same hash function "
        f"(shingles.hashfunc), 300 docs: {'yes' if identical else 'NO'}"
    )

    sig: dict[str, list[float]] = {"update": [], "bulk": [], "ours": []}
    e2e: dict[str, list[float]] = {"update": [], "bulk": [], "ours": []}
    sig_ratio: dict[str, list[float]] = {"update": [], "bulk": []}
    e2e_ratio: list[float] = []
    flagged: dict[str, set[int]] = {}
    for _ in range(args.rounds):
        t_update, few = timed(lambda: datasketch_update(head, params))
        t_bulk, minhashes = timed(lambda: datasketch_bulk(words, params))
        t_ours, _unused = timed(lambda: ours(words, params))
        sig["update"].append(len(head) / t_update)
        sig["bulk"].append(len(words) / t_bulk)
        sig["ours"].append(len(words) / t_ours)
        sig_ratio["update"].append(sig["ours"][-1] / sig["update"][-1])
        sig_ratio["bulk"].append(sig["ours"][-1] / sig["bulk"][-1])
        t_few, _unused = timed(lambda m=few: datasketch_dedup(m, lsh_params))
        t_lsh, flagged["bulk"] = timed(lambda m=minhashes: datasketch_dedup(m, lsh_params))
        t_guard, flagged["ours"] = timed(lambda: guard_dedup(samples))
        e2e["update"].append(len(head) / (t_update + t_few))
        e2e["bulk"].append(len(words) / (t_bulk + t_lsh))
        e2e["ours"].append(len(samples) / t_guard)
        e2e_ratio.append(e2e["ours"][-1] / e2e["bulk"][-1])

    memory = {
        "update": peak_mib(lambda: datasketch_dedup(datasketch_update(head, params), lsh_params)),
        "bulk": peak_mib(lambda: datasketch_dedup(datasketch_bulk(words, params), lsh_params)),
        "ours": peak_mib(lambda: guard_dedup(samples)),
    }
    scores = {
        "bulk": quality(flagged["bulk"], truth, corpus, len(samples)),
        "ours": quality(flagged["ours"], truth, corpus, len(samples)),
    }

    med = statistics.median
    header = (
        f"{'method':<34}{'sig docs/s':>11}{'ours is':>9}{'e2e docs/s':>11}{'peak MiB':>10}"
        f"{'prec':>7}{'recall':>7}{'F1':>7}   recall at exact / 1% / 2% / 5% / 10% edits"
    )
    print()
    print(header)
    print("-" * len(header))
    rows = [
        (f"datasketch update ({len(head):,}-doc subset)", "update", "bulk"),
        ("datasketch bulk + MinHashLSH", "bulk", "bulk"),
        ("ours: Shingler+MinHasher, DedupGuard", "ours", "ours"),
    ]
    for label, key, score_key in rows:
        e2e_rate = med(e2e[key])
        ratio = f"x{med(sig_ratio[key]):.1f}" if key in sig_ratio else "-"
        s = scores[score_key]
        by_rate = " / ".join(f"{s[f'recall@{r:.0%}']:.3f}" for r in (0.0, *RATES))
        print(
            f"{label:<34}{med(sig[key]):>11,.0f}{ratio:>9}{e2e_rate:>11,.0f}{memory[key]:>10.1f}"
            f"{s['precision']:>7.3f}{s['recall']:>7.3f}{s['f1']:>7.3f}   {by_rate}"
        )
    print(
        "('ours is': median over rounds of our signature docs/s over the baseline's in the same "
        "round; the update row's quality is bulk's, its signatures being the same)"
    )
    s = scores["ours"]
    upto5 = min(s[f"recall@{r:.0%}"] for r in (0.0, 0.01, 0.02, 0.05))
    targets = [
        (">= 10x the per-shingle baseline", med(sig_ratio["update"]) >= 10),
        (">= 3x bulk", med(sig_ratio["bulk"]) >= 3),
        ("F1 >= 0.95", s["f1"] >= 0.95),
        ("recall >= 0.98 up to 5 % edits", upto5 >= 0.98),
    ]
    print(
        "targets: "
        + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets)
        + f" (end to end ours is x{med(e2e_ratio):.1f} bulk + MinHashLSH)"
    )
    if args.sweep:
        sweep()
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0 if all(ok for _, ok in targets) and identical else 1


def shingle_sets(words: Sequence[list[str]], params: ShingleParams) -> list[np.ndarray]:
    batch = Shingler(params).shingle(words)
    return [batch.shingles(i) for i in range(len(batch))]


def identical_with_our_hash(words: Sequence[list[str]], params: ShingleParams) -> bool:
    theirs = MinHash.bulk(
        [shingle_strings(w, "word", params) for w in words],
        num_perm=NUM_PERM,
        seed=SEED,
        scheme=SCHEME,
        hashfunc=hashfunc("word"),
    )
    mine = ours(words, params)
    return all(np.array_equal(m.hashvalues, mine[i]) for i, m in enumerate(theirs))


# ---- the shingle-size measurement (--sweep) ----


def sweep() -> None:
    import pydoc_data.topics

    rng = random.Random(5)
    texts = list(pydoc_data.topics.topics.values())
    paragraphs = [normalised_words(p) for t in texts for p in re.split(r"\n\s*\n", t)]
    # The manual repeats some passages word for word: keep one of each.
    paragraphs = [list(p) for p in dict.fromkeys(tuple(p) for p in paragraphs if len(p) >= 50)]
    sentences = [normalised_words(s) for t in texts for s in re.split(r"(?<=[.!?:])\s+", t)]
    sentences = [list(s) for s in dict.fromkeys(tuple(s) for s in sentences if 5 <= len(s) < 24)]
    vocab = sorted({w for p in paragraphs for w in p})

    def j(a: list[str], b: list[str]) -> float:
        x, y = set(a), set(b)
        return len(x & y) / len(x | y)

    print()
    print(f"shingle sizes on Python's reference prose ({len(paragraphs)} paragraphs of 50+ words)")
    print(f"{'word n':>7}{'J 5% edits p1':>15}{'unrelated p99':>15}{'unrelated p99.9':>17}")
    pairs = list(combinations(range(len(paragraphs)), 2))
    for n in (1, 2, 3, 4):
        p = ShingleParams(word_n=n, word_from=max(16, n))
        sh = [shingle_strings(x, "word", p) for x in paragraphs]
        edited = [
            j(sh[i], shingle_strings(edit(x, 0.05, rng, vocab), "word", p))
            for i, x in enumerate(paragraphs)
        ]
        sets = [set(s) for s in sh]
        unrelated = np.array([len(sets[a] & sets[b]) / len(sets[a] | sets[b]) for a, b in pairs])
        print(
            f"{n:>7}{np.percentile(edited, 1):>15.3f}{np.percentile(unrelated, 99):>15.3f}"
            f"{np.percentile(unrelated, 99.9):>17.3f}"
        )
    print(f"one word substituted in sentences of 5-23 words ({len(sentences)} sentences)")
    print(
        f"{'short-text shingles':>20}{'caught at 0.65':>15}{'at 5 words':>11}{'at 8':>6}"
        f"{'at 12':>6}{'unrelated p99.9':>17}"
    )
    sentence_pairs = [tuple(rng.sample(range(len(sentences)), 2)) for _ in range(50_000)]
    shinglings: list[tuple[str, Callable[[list[str]], list[str]]]] = [
        (f"character {n}-grams", partial(char_grams, n=n)) for n in (3, 4, 5)
    ]
    shinglings += [
        ("distinct words" if n == 1 else f"word {n}-grams", partial(short_grams, n=n))
        for n in (1, 2)
    ]
    for name, shingle in shinglings:
        sh = [shingle(x) for x in sentences]
        subs = []
        for i, x in enumerate(sentences):
            y = list(x)
            y[rng.randrange(len(y))] = rng.choice(vocab)
            subs.append(j(sh[i], shingle(y)))
        caught = np.array(subs) >= 0.65
        lengths = np.array([len(x) for x in sentences])
        sets = [set(s) for s in sh]
        unrelated = np.array(
            [len(sets[a] & sets[b]) / len(sets[a] | sets[b]) for a, b in sentence_pairs]
        )
        at = " ".join(f"{caught[lengths == n].mean():>5.2f}" for n in (5, 8, 12))
        print(f"{name:>20}{caught.mean():>15.3f}{at:>23}{np.percentile(unrelated, 99.9):>17.3f}")


def short_grams(words: list[str], n: int) -> list[str]:
    """The guard's short-text shingles with word n-grams of size n."""
    return shingle_strings(words, "short", ShingleParams(short_n=n))


def char_grams(words: list[str], n: int) -> list[str]:
    """The character n-grams of a normalised text (the measurement's alternative)."""
    text = " ".join(words)
    return [text[i : i + n] for i in range(max(len(text) - n + 1, 1))]


if __name__ == "__main__":
    sys.exit(main())
