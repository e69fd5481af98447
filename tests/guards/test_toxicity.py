"""The toxicity guard's backends: alt-profanity-check on real sentences, Detoxify through its own
loading code with a tiny BERT checkpoint and tokenizer folder built here, and the choice `auto`
makes between them and the offline ensemble (whose own tests are in test_toxicity_ensemble.py).

The Detoxify tests need the toxicity extra (torch, transformers, detoxify), which `make test`
installs. Without it they skip, with the reason, except under CI (`CI` set), where a missing
extra is a failure: CI must run them.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import toxicity_support as support

from synthguard.guards.model_card import file_digest
from synthguard.guards.toxicity import (
    DETOXIFY_CHECKPOINTS,
    DetoxifyBackend,
    EnsembleBackend,
    OfflineBackend,
    ToxicityGuard,
    text_windows,
    torch_hub_dir,
    unmasked,
)
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import sample_from_row

# A labelled sample written for these tests: clearly toxic (insults, threats, identity attacks,
# with and without profanity) and clearly clean (with look-alikes: kill -9, "beat the eggs",
# Scunthorpe, Dick Van Dyke, an assassination in a history lesson).
TOXIC = [
    "You are a worthless idiot and nobody will ever love you.",
    "Shut up, you stupid moron, nobody asked for your garbage opinion.",
    "I will find where you live and I will kill you.",
    "You're a pathetic loser, go crawl back under your rock.",
    "What a fucking retard, how can anyone be this dumb?",
    "Fuck off and die, you piece of shit.",
    "This author is a brainless clown who should be ashamed to exist.",
    "Everyone from that country is a filthy animal and should be deported.",
    "Women are too stupid to be allowed to vote.",
    "I hope you get cancer and suffer, you disgusting pig.",
    "Go kill yourself, the world would be better without you.",
    "You dumb bitch, learn to read before you comment.",
    "Those people are subhuman trash and deserve to be wiped out.",
    "Your mother is a whore and your father is a drunk.",
    "I'm going to beat the shit out of you after school.",
    "What an ugly, fat, useless waste of space you are.",
    "Shut your fucking mouth, asshole.",
    "You're so ugly even your parents are ashamed of you.",
    "Gay people are disgusting perverts who should be locked up.",
    "Kill all of them, every last one of those vermin.",
    "You are the dumbest person I have ever had the misfortune to meet.",
    "This is the most idiotic bullshit I have ever read, you imbecile.",
    "Nobody cares about you, you miserable little worm.",
    "I swear I will burn your house down with your family inside.",
    "Screw you and your pathetic excuses, you lying scumbag.",
    "Get out of our country, you dirty foreigners.",
    "You're a disgusting creep and a total failure as a human being.",
    "Only a complete moron would write code this stupid.",
    "Eat shit, you worthless sack of garbage.",
    "Jews are greedy parasites who control everything.",
    "Muslims are all terrorists and should be banned.",
    "You people are an infestation and need to be exterminated.",
    "Stop whining, you spineless coward, and grow a pair.",
    "Your face looks like someone set it on fire and put it out with a shovel, you freak.",
    "I'd punch you in the face if I ever saw you, you smug prick.",
    "Fat slob, put down the burger and get off the internet.",
    "You are a cunt and everyone knows it.",
    "What a dick, I hope he rots in hell.",
    "Black people are inferior and should know their place.",
    "You retarded piece of trash, go back to school.",
]
CLEAN = [
    "Use kill -9 only when the process ignores SIGTERM.",
    "Whisk the eggs, then beat in the butter until the mixture is smooth.",
    "The assassination of Archduke Franz Ferdinand helped start the First World War.",
    "Regular breast cancer screening saves thousands of lives every year.",
    "Shoot me an email when the nightly build has finished.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The quick brown fox jumps over the lazy dog.",
    "To reverse a list in Python, call list.reverse() or use slicing with [::-1].",
    "Paris is the capital of France and sits on the river Seine.",
    "Thank you so much for your help, I really appreciate it.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Our quarterly revenue grew by twelve percent compared to last year.",
    "Please remember to water the plants while I am away.",
    "The museum's new exhibition covers the history of Roman Britain.",
    "A binary search runs in logarithmic time on a sorted array.",
    "She thanked the volunteers for their hard work at the food bank.",
    "The hawk dove into the field to catch a mouse.",
    "The children built a sandcastle on the beach all afternoon.",
    "Mix the paint thoroughly before applying a second coat.",
    "Scunthorpe is a town in North Lincolnshire, England.",
    "The committee will vote on the proposal next Tuesday.",
    "Drink plenty of water and get enough sleep before the exam.",
    "The cat curled up on the windowsill and fell asleep in the sun.",
    "Dick Van Dyke starred in Mary Poppins and Chitty Chitty Bang Bang.",
    "The old bridge was demolished and replaced with a new one in 2019.",
    "You can cancel your subscription at any time from the account page.",
    "The patient was given antibiotics to treat the bacterial infection.",
    "Our team won the match three goals to one.",
    "The novel explores themes of memory, grief and forgiveness.",
    "Turn left at the second traffic light and the library is on your right.",
    "The rooster crowed at dawn and woke the whole farm.",
    "Wrap the sandwiches in foil so they stay fresh for the picnic.",
    "The spacecraft entered orbit around Mars after a seven-month journey.",
    "He apologised for the delay and offered a full refund.",
    "The killer whale is actually the largest member of the dolphin family.",
    "Her speech about climate policy received a standing ovation.",
    "Sort the spreadsheet by date, then remove the duplicate rows.",
    "The pianist practised the sonata for hours every day.",
    "The execution of the script stops if the input file is missing.",
    "Good morning! I hope you have a wonderful day.",
]
LONG_CLEAN = " ".join(CLEAN * 4)  # ~500 words: past Detoxify's 512-token input limit


# The offline backend (alt-profanity-check)


@pytest.fixture(scope="module")
def offline() -> ToxicityGuard:
    support.require("profanity_check")
    return ToxicityGuard(OfflineBackend.load(), reason="chosen by the test")


def test_offline_backend_separates_the_labelled_sentences(offline: ToxicityGuard) -> None:
    toxic, clean = support.samples(TOXIC), support.samples(CLEAN)

    flagged = support.flagged(offline.check(toxic + clean))

    caught = sum(sample.id in flagged for sample in toxic)
    false_alarms = sum(sample.id in flagged for sample in clean)
    # Measured: 34/40 caught (it misses profanity-free identity attacks and one threat),
    # 1/40 false alarm (Dick Van Dyke); the bounds leave one sentence of slack each way.
    assert caught >= 33
    assert false_alarms <= 2


@pytest.mark.parametrize(
    "text",
    ["Shut your fucking mouth, asshole.", "You dumb bitch, learn to read before you comment."],
)
def test_offline_verdict_names_backend_model_and_digest(offline: ToxicityGuard, text: str) -> None:
    [verdict] = offline.check(support.samples([text]))

    assert not verdict.passed
    assert verdict.guard.family == "toxicity"
    assert verdict.guard.name == "toxicity-alt-profanity-check"
    assert verdict.rule == "offensive"
    assert verdict.score >= verdict.threshold == 0.5
    detail = verdict.detail
    assert detail["backend"] == "alt-profanity-check"
    assert detail["model"].startswith("linear SVM over TF-IDF")
    assert detail["version"] == importlib.metadata.version("alt-profanity-check")
    package = Path(importlib.import_module("profanity_check").__file__ or "").parent
    data = (package / "data" / "model.joblib").read_bytes()
    data += (package / "data" / "vectorizer.joblib").read_bytes()
    assert detail["checkpoint_digest"] == f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert detail["scores"]["offensive"] == pytest.approx(verdict.score, abs=1e-6)


def test_clean_look_alikes_pass_the_offline_backend(offline: ToxicityGuard) -> None:
    texts = ["Use kill -9 only when the process ignores SIGTERM.", "Scunthorpe is a town."]

    assert offline.check(support.samples(texts)) == []


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("you piece of sh1t", "you piece of shit"),
        ("what an @ssh0le", "what an asshole"),
        ("F.U.C.K off", "FUCK off"),
        ("f u c k you", "fuck you"),
        ("go f*** yourself", "go fuck yourself"),
        ("you dumb c*nt", "you dumb cunt"),
        ("this is bu11sh1t", "this is bullshit"),
        ("You're a b*i*t*c*h.", "You're a bitch."),
        ("You biiiiitch, get out of my sight.", "You bitch, get out of my sight."),
        ("\U0001d41f\U0001d42e\U0001d41c\U0001d424 you", "fuck you"),
        (
            "\ua730\u1d1c\u1d04\u1d0b you, \u0280\u1d07\u1d1b\u1d00\u0280\u1d05.",
            "fuck you, retard.",
        ),
    ],
)
def test_disguised_profanity_is_read_undone_and_caught(
    offline: ToxicityGuard, text: str, reads: str
) -> None:
    assert unmasked(text) == reads
    [verdict] = offline.check(support.samples([text]))
    assert not verdict.passed


@pytest.mark.parametrize(
    "text",
    [
        "def f(*args, **kwargs): return a*b",
        "Python 3.11 shipped in 2022; use utf-8.",
        "s**t is shot or shit or slut: nothing says which",
        "x = y*z + 10",
    ],
)
def test_code_numbers_and_unreadable_stars_read_as_written(text: str) -> None:
    assert unmasked(text) == text


def test_toxic_sentence_deep_inside_a_long_text_is_still_caught(offline: ToxicityGuard) -> None:
    toxic = "Shut your fucking mouth, asshole."
    text = f"{LONG_CLEAN} {toxic} {LONG_CLEAN}"

    verdicts = offline.check(support.samples([text, LONG_CLEAN]))

    assert support.flagged(verdicts) == {sample_from_row({"text": text}).id}


def test_a_toxic_reply_to_a_long_clean_input_is_not_diluted(offline: ToxicityGuard) -> None:
    row = {
        "instruction": "Summarise the paragraph.",
        "input": LONG_CLEAN,
        "output": "I will hurt you and your pathetic family if you say that again.",
    }

    verdicts = offline.check([sample_from_row(row)])

    assert support.flagged(verdicts) == {sample_from_row(row).id}


def test_same_content_twice_in_a_batch_gives_one_verdict(offline: ToxicityGuard) -> None:
    samples = support.samples(["Eat shit, you worthless sack of garbage."] * 2)

    assert len(offline.check(samples)) == 1


def test_unknown_threshold_label_is_refused() -> None:
    support.require("profanity_check")

    with pytest.raises(InputError, match="no such toxicity label"):
        ToxicityGuard(OfflineBackend.load(), {"toxicity": 0.5})


def test_windows_cover_every_word_with_overlap() -> None:
    words = [f"w{i}" for i in range(300)]

    windows = text_windows(" ".join(words), 128)

    assert [len(w.split()) for w in windows] == [128, 128, 76]
    assert {word for window in windows for word in window.split()} == set(words)
    assert windows[0].split()[-16:] == windows[1].split()[:16]
    assert text_windows("short  text\nkept as is") == ["short  text\nkept as is"]


# Backend choice


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache (TORCH_HOME), where Detoxify looks for its weights."""
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    torch = sys.modules.get("torch")
    if torch is not None:  # forget any torch.hub.set_dir
        monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return home


def test_without_detoxify_weights_auto_picks_the_offline_backend_and_says_why(
    torch_home: Path,
) -> None:
    support.require("profanity_check")
    support.require("sentence_transformers")

    assert isinstance(ToxicityGuard.auto(ensemble=True).backend, EnsembleBackend)
    guard = ToxicityGuard.auto()

    assert isinstance(guard.backend, OfflineBackend)
    line = guard.backend_description
    assert "\n" not in line
    assert "alt-profanity-check" in line
    assert guard.backend.card.checkpoint_digest in line
    if importlib.util.find_spec("detoxify") is not None:
        assert "no Detoxify checkpoint in" in line
        assert str(torch_home / "hub" / "checkpoints") in line


def test_hub_dir_is_computed_like_torch_does(torch_home: Path) -> None:
    torch = support.require("torch")

    assert torch_hub_dir() == Path(torch.hub.get_dir()) == torch_home / "hub"


def test_known_checkpoint_names_match_detoxify() -> None:
    detoxify = support.require("detoxify.detoxify")

    expected = {kind: url.rsplit("/", 1)[1] for kind, url in detoxify.MODEL_URLS.items()}
    assert expected == DETOXIFY_CHECKPOINTS


def test_missing_explicit_checkpoint_is_an_error(tmp_path: Path) -> None:
    support.require("detoxify")

    with pytest.raises(InputError, match="does not exist"):
        ToxicityGuard.auto(tmp_path / "nope.ckpt")


# Detoxify, through its own loading code, with a tiny checkpoint built here

LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


@pytest.fixture(scope="module")
def tiny_detoxify(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A Detoxify-style checkpoint of a 2-layer, 32-wide BERT trained here on TOXIC/CLEAN, and the
    local folder (config.json, WordPiece vocabulary) its tokenizer and config load from.

    The checkpoint's `arch.args.model_type`, which Detoxify hands to `from_pretrained`, is that
    folder, so nothing is looked up on the Hugging Face hub.
    """
    torch = support.require("torch")
    transformers = support.require("transformers")
    support.require("detoxify")
    root = tmp_path_factory.mktemp("tiny-detoxify")
    folder = root / "hf"
    folder.mkdir()
    basic = transformers.BasicTokenizer(do_lower_case=True)
    words = sorted({word for text in TOXIC + CLEAN for word in basic.tokenize(text)})
    pieces = [chr(c) for c in range(97, 123)] + [f"##{chr(c)}" for c in range(97, 123)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *pieces]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # From the folder, not BertTokenizer(vocab_file=...): transformers 5 renamed that argument.
    tokenizer = transformers.BertTokenizer.from_pretrained(str(folder), model_max_length=128)
    tokenizer.save_pretrained(folder)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=len(LABELS),
        # Wider initial weights and no dropout: 100 full-batch steps (~2 s) separate the set.
        initializer_range=0.2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    config.save_pretrained(folder)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on two busy cores are many times slower
    try:
        torch.manual_seed(0)
        model = transformers.BertForSequenceClassification(config)
        texts = TOXIC + CLEAN
        targets = torch.zeros(len(texts), len(LABELS))
        targets[: len(TOXIC), 0] = 1.0  # "toxic", which Detoxify renames "toxicity"
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
        loss = torch.nn.BCEWithLogitsLoss()
        model.train()
        for _ in range(100):
            optimiser.zero_grad()
            loss(model(**batch).logits, targets).backward()
            optimiser.step()
    finally:
        torch.set_num_threads(threads)
    checkpoint = root / "tiny-toxic.ckpt"
    torch.save(
        {
            "state_dict": model.state_dict(),
            "config": {
                "arch": {
                    "args": {
                        "model_type": str(folder),
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": len(LABELS),
                    }
                },
                "dataset": {"args": {"classes": LABELS}},
            },
        },
        checkpoint,
    )
    return checkpoint, folder


@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Hugging Face offline mode, and every outbound connection recorded and refused."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    constants = importlib.import_module("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError(f"test: no network ({address})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield attempts
    assert attempts == [], f"the Detoxify load touched the network: {attempts}"


def test_detoxify_from_explicit_checkpoint_flags_toxic_and_names_checkpoint(
    tiny_detoxify: tuple[Path, Path], offline_hub: list[object]
) -> None:
    checkpoint, folder = tiny_detoxify

    guard = ToxicityGuard.auto(checkpoint, huggingface_config_path=folder)
    toxic, clean = support.samples(TOXIC[:8]), support.samples(CLEAN[:8])
    verdicts = guard.check(toxic + clean)

    assert isinstance(guard.backend, DetoxifyBackend)
    assert support.flagged(verdicts) == {sample.id for sample in toxic}
    digest = file_digest(checkpoint)
    for verdict in verdicts:
        assert verdict.guard.name == "toxicity-detoxify"
        assert verdict.rule == "toxicity"
        assert verdict.threshold == 0.5
        assert verdict.detail["backend"] == "detoxify"
        assert verdict.detail["model"] == "detoxify-tiny-toxic (BertForSequenceClassification)"
        assert verdict.detail["checkpoint"] == str(checkpoint)
        assert verdict.detail["checkpoint_digest"] == digest
        assert set(verdict.detail["scores"]) == {
            "toxicity",
            "severe_toxicity",
            "obscene",
            "threat",
            "insult",
            "identity_attack",
        }
    assert "given explicitly" in guard.backend_description
    assert digest in guard.backend_description


def test_guard_scores_are_detoxifys_own_predictions(
    tiny_detoxify: tuple[Path, Path], offline_hub: list[object]
) -> None:
    checkpoint, folder = tiny_detoxify
    detoxify = importlib.import_module("detoxify")
    reference = detoxify.Detoxify(checkpoint=str(checkpoint), huggingface_config_path=str(folder))
    texts = TOXIC[:5] + CLEAN[:3]
    guard = ToxicityGuard.auto(checkpoint, huggingface_config_path=folder, thresholds={"insult": 0})

    verdicts = {verdict.sample_id: verdict for verdict in guard.check(support.samples(texts))}

    # Scored in batches sorted by length (other padding) versus one by one: the same numbers.
    for sample, text in zip(support.samples(texts), texts, strict=True):
        expected = reference.predict(text)
        scores = verdicts[sample.id].detail["scores"]
        assert scores == pytest.approx(expected, abs=1e-5)


def test_detoxify_found_in_the_torch_hub_cache_loads_through_detoxify(
    tiny_detoxify: tuple[Path, Path], torch_home: Path, offline_hub: list[object]
) -> None:
    checkpoint, _ = tiny_detoxify
    cached = torch_home / "hub" / "checkpoints" / DETOXIFY_CHECKPOINTS["original"]
    cached.parent.mkdir(parents=True)
    shutil.copyfile(checkpoint, cached)

    guard = ToxicityGuard.auto()
    verdicts = guard.check(support.samples([TOXIC[0], CLEAN[0]]))

    assert isinstance(guard.backend, DetoxifyBackend)
    assert guard.backend_description.endswith(f"found {cached.name} in the torch hub cache")
    [verdict] = verdicts
    assert verdict.detail["model"] == "detoxify-original (BertForSequenceClassification)"
    assert verdict.detail["checkpoint"] == str(cached)
    assert verdict.detail["checkpoint_digest"] == file_digest(checkpoint)


def test_unloadable_hub_checkpoint_falls_back_and_says_why(
    torch_home: Path, offline_hub: list[object]
) -> None:
    support.require("detoxify")
    support.require("profanity_check")
    cached = torch_home / "hub" / "checkpoints" / DETOXIFY_CHECKPOINTS["unbiased"]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not a torch checkpoint")

    guard = ToxicityGuard.auto()

    assert isinstance(guard.backend, OfflineBackend)
    assert f"Detoxify's checkpoint {cached} was found but did not load" in (
        guard.backend_description
    )


def test_config_digest_follows_the_checkpoint(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path, offline_hub: list[object]
) -> None:
    checkpoint, folder = tiny_detoxify
    other = tmp_path / "tiny-toxic.ckpt"
    torch = importlib.import_module("torch")
    loaded = torch.load(checkpoint, weights_only=False)
    loaded["state_dict"]["classifier.bias"] += 1.0
    torch.save(loaded, other)

    first = ToxicityGuard.auto(checkpoint, huggingface_config_path=folder).info
    second = ToxicityGuard.auto(other, huggingface_config_path=folder).info

    assert first.name == second.name
    assert first.config_digest != second.config_digest
