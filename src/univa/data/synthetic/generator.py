"""Synthetic CMU-MOSEI / M3ED datasets, written in the released on-disk layout (docs/data-format.md §1),
and a `generic` one (4 other labels, text and audio only) written in univa's generic format.

The package trains and tests on this data when the real release is absent, so it has to be
learnable the way the real data is, not noise. The generative story, per split:

1. Dialogues of 3-12 utterances (`full`: the benchmark's split sizes and dialogue lengths,
   see `plan`). Each dialogue has a mood (a label set); most of its
   utterances keep it and the rest draw a fresh one, so neighbours correlate. Label sets come
   from a per-flavor table whose probabilities give realistic label frequencies and
   co-occurrence (sad with anger/disgust/fear, happy with surprise, rarely happy with sad).
2. Each present label gets an intensity in thirds (1/3 .. 3), as in MOSEI's annotations.
3. True valence/arousal = intensity-weighted mean of the labels' NRC-VAD coordinates
   (docs/method.md §3.2; no label -> neutral). Each modality's VA = true VA + its own noise + a
   small per-modality bias, reported on [-1, 1] like a unimodal VA regressor's output.
4. Audio / vision frames = a per-modality projection of the intensity-weighted labels, in which
   each modality sees some labels well (audio: high arousal; vision: happy and surprised faces)
   and others weakly, times a random per-frame gain, plus an utterance nuisance and per-frame
   noise. Only real frames carry anything; padding is exactly zero.
5. Text = filler words plus, for each label (not always), a few words of its vocabulary, and
   now and then a stray emotion word. Its GloVe-style rows come from a per-seed word table in
   which a label's words lie near that label's direction.
6. Next to the data, `text_model/` holds a tiny PLM with random weights and a tokenizer trained
   on the corpus (RoBERTa style for MOSEI, BERT style for M3ED), so the PLM path runs offline.

The generic flavour follows the same story with its own labels (cued by the closest benchmark
label's words and visibility) and leaves vision out.

Everything is drawn from one ``numpy.random.default_rng(seed)``: the same seed gives
byte-identical files. `python -m univa.data.synthetic out=DIR` writes one (`__main__.py`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from univa.constants import MODALITIES, SPLITS
from univa.data.generic.format import MANIFEST_FILE
from univa.data.generic.write import write_dataset
from univa.data.records import GENERIC, M3ED, MOSEI, DatasetRecord
from univa.files import building_folder

T = TypeVar("T")

RELEASED_MARKER = "preprocess_data"
TEXT_MODEL_DIR = "text_model"  # the tiny local PLM, written next to the data
MAX_LEN = {"text": 24, "audio": 40, "vision": 40}  # steps per modality of the small sizes
GLOVE_DIM = 300
CHUNK_BYTES = 256 * 2**20  # float64 frames drawn at once: bounds a large split's temporaries
# How clearly each modality's frames show each label: audio hears arousal, vision sees faces.
VISIBILITY = {
    "audio": {"happy": 0.5, "sad": 0.5, "anger": 1.0, "surprise": 0.8, "disgust": 0.25,
              "fear": 0.9, "neutral": 0.4},
    "vision": {"happy": 1.0, "sad": 0.5, "anger": 0.35, "surprise": 0.9, "disgust": 0.6,
               "fear": 0.25, "neutral": 0.4},
}  # fmt: skip
WORDS = {  # space-separated vocabularies; every word appears once
    "filler": "the a an and but so then it is was are be to of in on at for with this that these "
    "those we you they he she i me my your our their there here what when where how why who "
    "which very just also still about after before because if or not do did does have has had "
    "will would can could should go going went get got make made say said think know see look "
    "come take want need time day people thing way year week today tomorrow yesterday home work "
    "place part kind lot bit some any many much more most other another same each every first "
    "last next new old big small long little right left back again ever never always often",
    "happy": "glad happy wonderful great love amazing delighted joyful fantastic excited cheerful "
    "awesome pleased smile laugh enjoy thrilled lovely",
    "sad": "sad sorry miss lonely cry tears unhappy depressed grief hurt lost heartbroken gloomy "
    "regret tragic mourn sorrowful",
    "anger": "angry furious mad hate annoyed outraged rage irritated livid hostile yell damn "
    "unfair insulting fuming resent",
    "surprise": "wow surprised unexpected shocked sudden unbelievable astonished whoa incredible "
    "stunned suddenly amazed startled really speechless",
    "disgust": "disgusting gross nasty awful revolting sick yuck vile filthy horrible repulsive "
    "ew rotten creepy nauseating",
    "fear": "afraid scared terrified fear nervous worried anxious panic frightened dread horror "
    "threat danger uneasy alarmed",
    "neutral": "okay fine sure alright maybe normal usual regular plain standard ordinary "
    "whatever average moderate typical",
}
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
SHOWS = ("AnJia", "HuanLeSong", "WoDeQianBanSheng", "XiaoHuanXi", "DouLuoDaLu", "ZhengYangMen")
INTENSITY_P = (0.25, 0.2, 0.17, 0.12, 0.09, 0.07, 0.05, 0.03, 0.02)  # of k/3 for k = 1..9
MOOD_KEEP = 0.6  # chance an utterance keeps its dialogue's mood
VA_NOISE, VA_BIAS = 0.06, 0.04  # per-modality VA noise std and largest bias, in [0, 1] units
SIGNAL = {"audio": 0.2, "vision": 0.22}  # label signal per frame, relative to FRAME_NOISE
NUISANCE, FRAME_NOISE = 0.6, 1.0  # std of the per-utterance offset and of per-frame noise
SAY_PROB, SLIP_PROB = 0.55, 0.3  # chance a label is put into words; chance of a stray word


@dataclass(frozen=True)
class FlavorSpec:
    """What tells the flavours apart: the dataset's data record (name, labels and their VA
    points, modalities, released text file), label statistics, feature sizes."""

    record: DatasetRecord
    label_sets: dict[str, float]  # space-joined label set ("" = none) -> probability, sum 1
    audio_dim: int
    vision_dim: int
    text_style: str  # tokenizer style of the tiny local PLM, as the paper's PLM for this dataset
    dialogue_ids: str = "video"  # "video": YouTube-like ids; "episode": show_episode_scene
    cues: tuple[str, ...] = ()  # each label's key in WORDS and VISIBILITY; () = its lower case
    # the benchmark's split sizes (docs/method.md §1), fewest and most utterances of a dialogue,
    # steps and audio/vision widths of `size=full`; None: the flavour has no full size
    full_utterances: dict[str, int] | None = None
    full_turns: tuple[int, int] | None = None
    full_max_len: dict[str, int] | None = None
    full_dims: dict[str, int] | None = None

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def labels(self) -> tuple[str, ...]:
        return self.record.labels

    @property
    def cue_keys(self) -> list[str]:
        return list(self.cues) or [label.lower() for label in self.labels]

    @property
    def marker(self) -> str:
        """The entry whose presence says the dataset is complete (written last)."""
        return RELEASED_MARKER if self.record.text_file else MANIFEST_FILE


# fmt: off
FLAVORS: dict[str, FlavorSpec] = {
    "mosei": FlavorSpec(
        record=MOSEI,
        label_sets={
            "happy": 0.42, "happy surprise": 0.06, "happy sad": 0.02, "happy anger": 0.01,
            "happy disgust": 0.01, "sad": 0.1, "sad anger": 0.03, "sad disgust": 0.02,
            "sad fear": 0.03, "sad anger disgust": 0.04, "sad fear surprise": 0.01, "anger": 0.05,
            "anger disgust": 0.07, "anger fear": 0.01, "surprise": 0.02, "disgust": 0.04,
            "fear": 0.03, "": 0.03,
        },
        audio_dim=74,
        vision_dim=35,
        text_style="roberta",  # roberta-base
        full_utterances={"train": 16326, "valid": 1871, "test": 4659},
        full_turns=(2, 12),  # 7 on average: 22.9k utterances in 3.2k videos
        full_max_len={"text": 50, "audio": 100, "vision": 100},
        full_dims={"audio": 74, "vision": 35},  # COVAREP, Facet
    ),
    "m3ed": FlavorSpec(
        record=M3ED,
        label_sets={
            "Neutral": 0.41, "Neutral Surprise": 0.02, "Neutral Sad": 0.02, "Happy": 0.17,
            "Happy Surprise": 0.04, "Sad": 0.1, "Sad Anger": 0.02, "Sad Fear": 0.01, "Anger": 0.115,
            "Anger Disgust": 0.02, "Surprise": 0.023, "Disgust": 0.03, "Fear": 0.02, "": 0.002,
        },
        audio_dim=130,  # real M3ED audio is 1582-d; smaller keeps CPU training fast
        vision_dim=64,
        text_style="bert",  # chinese-roberta-wwm-ext is a BERT
        dialogue_ids="episode",
        full_utterances={"train": 17427, "valid": 2871, "test": 4151},
        full_turns=(10, 39),  # 24.5 on average: 24.4k utterances in 990 dialogues
        # audio: the 1582 IS10 functionals, one vector per utterance; vision: 342-d Denseface
        # frames (the M3ED paper's features; the UniVA release's widths are not documented)
        full_max_len={"text": 50, "audio": 1, "vision": 100},
        full_dims={"audio": 1582, "vision": 342},
    ),
    # another label set, no vision, written in the generic format (univa.data.generic.format)
    "generic": FlavorSpec(
        record=GENERIC,
        label_sets={
            "joy": 0.3, "joy neutral": 0.05, "anger": 0.15, "anger sadness": 0.05,
            "sadness": 0.15, "neutral": 0.27, "": 0.03,
        },
        audio_dim=48,
        vision_dim=8,  # drawn like the others' (same generative story), never written
        text_style="roberta",
        cues=("happy", "anger", "sad", "neutral"),
    ),
}
RELEASED_FLAVORS: tuple[str, ...] = ("mosei", "m3ed")  # written in the released layout
# fmt: on
SIZES: dict[str, dict[str, int]] = {  # dialogues per split, 7.5 utterances each on average
    "tiny": {"train": 8, "valid": 3, "test": 3},
    "small": {"train": 54, "valid": 10, "test": 17},
    "default": {"train": 214, "valid": 40, "test": 67},
}

FULL = "full"  # the benchmark's split sizes, dialogue lengths and feature shapes (`plan`)
SIZE_NAMES = (*SIZES, FULL)


@dataclass(frozen=True)
class Plan:
    """What one size of one flavor generates, known without generating it."""

    dialogues: dict[str, int] | None  # per split (the small sizes); their lengths are drawn
    utterances: dict[str, int] | None  # per split, exact (full): dialogues drawn until reached
    turns: tuple[int, int]  # fewest and most utterances of a dialogue
    max_len: dict[str, int]  # steps per modality (the arrays' L)
    dims: dict[str, int]  # feature width per modality (the arrays' D)
    pickle_protocol: int  # 5 writes large arrays without a copy; 4 keeps the small sizes' bytes

    def feature_bytes(self, n_utterances: int) -> int:
        """Bytes of a split's float32 features and masks: N * sum over m of L_m * (D_m + 1) * 4."""
        return n_utterances * 4 * sum(self.max_len[m] * (self.dims[m] + 1) for m in MODALITIES)


def plan(flavor: str, size: str) -> Plan:
    """The `Plan` of `size` for `flavor`: `full` has the benchmark's exact split sizes."""
    spec = _choose(FLAVORS, flavor, "flavor")
    dialogues = _choose({**SIZES, FULL: None}, size, "size")
    if dialogues is None:
        if spec.full_utterances is None:
            raise ValueError(
                f"size {FULL!r} exists for the benchmark flavours {list(RELEASED_FLAVORS)}, "
                f"not for {flavor!r}"
            )
        return Plan(
            dialogues=None,
            utterances=dict(spec.full_utterances),
            turns=spec.full_turns,
            max_len=dict(spec.full_max_len),
            dims={"text": GLOVE_DIM, **spec.full_dims},
            pickle_protocol=5,
        )
    return Plan(
        dialogues=dict(dialogues),
        utterances=None,
        turns=(3, 12),
        max_len=dict(MAX_LEN),
        dims={"text": GLOVE_DIM, "audio": spec.audio_dim, "vision": spec.vision_dim},
        pickle_protocol=4,
    )


@dataclass(frozen=True)
class _World:
    """Per-seed tables shared by all splits: how each label shows in each modality."""

    words: list[str]
    word_vectors: np.ndarray  # (V, 300)
    label_words: list[np.ndarray]  # word ids of each label's vocabulary
    directions: dict[str, np.ndarray]  # audio/vision -> (C, D_m) label projections
    va_bias: dict[str, np.ndarray]  # text/audio/vision -> (2,)


@dataclass(frozen=True)
class _Split:
    """All rows of one split, in dialogue order."""

    structure: dict[str, list[str]]  # dialogue id -> utterance ids
    rows: list[tuple[str, int, int]]  # (dialogue id, clip id, position in dialogue)
    labels: np.ndarray  # (N, C) float32 0/1
    intensity: np.ndarray  # (N, C) in thirds, 0 where absent
    texts: list[str]
    speakers: list[str]
    va: dict[str, np.ndarray]  # modality -> (N, 2) on [-1, 1], rounded to 6 decimals
    seqs: dict[str, tuple[np.ndarray, np.ndarray]]  # modality -> (N, L, D) float32, (N, L) mask

    @property
    def utt_ids(self) -> list[str]:
        return [f"{d}_{c}" for d, c, _ in self.rows]


def _make_world(spec: FlavorSpec, dims: dict[str, int], rng: np.random.Generator) -> _World:
    keys = spec.cue_keys
    vocab = [WORDS[k].split() for k in ["filler", *keys]]
    label_dirs = rng.normal(0.0, 0.4, (len(keys), GLOVE_DIM))
    vectors = [rng.normal(0.0, 0.4, (len(vocab[0]), GLOVE_DIM))]
    vectors += [
        d + rng.normal(0.0, 0.3, (len(v), GLOVE_DIM))
        for d, v in zip(label_dirs, vocab[1:], strict=True)
    ]
    starts = np.cumsum([len(v) for v in vocab])[:-1]  # first word id of each label
    return _World(
        words=[w for v in vocab for w in v],
        word_vectors=np.concatenate(vectors).astype(np.float32),
        label_words=[np.arange(s, s + len(v)) for s, v in zip(starts, vocab[1:], strict=True)],
        directions={m: rng.normal(0.0, 1.0, (len(keys), dims[m])) for m in ("audio", "vision")},
        va_bias={m: rng.uniform(-VA_BIAS, VA_BIAS, 2) for m in MODALITIES},
    )


def _label_rows(spec: FlavorSpec, lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multi-hot rows (N, C): a dialogue keeps its mood for most of its utterances."""
    sets = np.array([[lab in s.split() for lab in spec.labels] for s in spec.label_sets])
    p = np.array(list(spec.label_sets.values()))
    p /= p.sum()
    n = int(lengths.sum())
    moods = np.repeat(rng.choice(len(p), size=len(lengths), p=p), lengths)
    fresh = rng.choice(len(p), size=n, p=p)
    y = sets[np.where(rng.random(n) < MOOD_KEEP, moods, fresh)].astype(np.int64)
    for c in np.flatnonzero(~y.any(0)):  # tiny splits must still hold every label
        spare = np.flatnonzero(((y == 0) | (y.sum(0) >= 2)).all(1))  # rows no label depends on
        row = rng.choice(spare)
        y[row] = 0
        y[row, c] = 1
    return y


def _va_scores(
    spec: FlavorSpec, intensity: np.ndarray, world: _World, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Each modality's noisy, biased view of the true VA; rounded so JSON strings round-trip."""
    coords = np.array([spec.record.label_va[label] for label in spec.labels])
    total = intensity.sum(1, keepdims=True)
    true_va = np.where(total > 0, intensity @ coords / np.maximum(total, 1e-9), 0.5)
    return {
        m: np.round(2 * (true_va + bias + rng.normal(0.0, VA_NOISE, true_va.shape)) - 1, 6)
        for m, bias in world.va_bias.items()
    }


def _frames(
    signal: np.ndarray, max_len: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Signal on every real frame (random gain) + utterance offset + frame noise; zero padding.

    Drawn in chunks of rows (`CHUNK_BYTES`) so a benchmark-sized split needs no float64 copy
    of itself; the small sizes fit in one chunk, so their draws are those of a single one."""
    n, d = signal.shape
    lengths = rng.integers(max(1, max_len // 5), max_len + 1, n)
    mask = (np.arange(max_len) < lengths[:, None]).astype(np.float32)
    x = np.empty((n, max_len, d), dtype=np.float32)
    step = max(1, CHUNK_BYTES // (max_len * d * 8))
    for start in range(0, n, step):
        rows = slice(start, start + step)
        m = len(signal[rows])
        chunk = rng.uniform(0.5, 1.5, (m, max_len, 1)) * signal[rows, None]
        chunk += rng.normal(0.0, NUISANCE, (m, 1, d)) + rng.normal(
            0.0, FRAME_NOISE, (m, max_len, d)
        )
        x[rows] = chunk * mask[rows, :, None]
    return x, mask


def _sentences(
    y: np.ndarray, intensity: np.ndarray, max_len: int, world: _World, rng: np.random.Generator
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts with their GloVe-style rows (N, L, 300) and masks (N, L), left-aligned."""
    n = len(y)
    n_filler = len(WORDS["filler"].split())
    ids = np.zeros((n, max_len), dtype=np.int64)
    mask = np.zeros((n, max_len), dtype=np.float32)
    texts = []
    for i in range(n):
        words = list(rng.choice(n_filler, size=rng.integers(2, 13)))
        for c in np.flatnonzero(y[i]):
            if rng.random() < SAY_PROB:
                words += list(rng.choice(world.label_words[c], 1 + rng.poisson(intensity[i, c])))
        if rng.random() < SLIP_PROB:
            words.append(rng.choice(world.label_words[rng.integers(y.shape[1])]))
        words = list(rng.permutation(words))[:max_len]
        texts.append(" ".join(world.words[w] for w in words))
        ids[i, : len(words)] = words
        mask[i, : len(words)] = 1.0
    return texts, world.word_vectors[ids] * mask[..., None], mask


def _dialogues(
    spec: FlavorSpec, lengths: np.ndarray, offset: int, rng: np.random.Generator
) -> list[tuple[str, np.ndarray]]:
    """(dialogue id, clip ids). MOSEI: YouTube-like video ids, clip ids with gaps (so a reader
    cannot mistake them for positions); M3ED: show_episode_scene, unique through `offset`."""
    if spec.dialogue_ids == "video":
        return [
            (
                "".join(rng.choice(list(ID_ALPHABET), 11)),
                np.sort(rng.choice(k + 2, k, replace=False)),
            )
            for k in lengths
        ]
    shows = rng.choice(len(SHOWS), len(lengths))
    return [
        (f"{SHOWS[s]}_{(offset + i) // 9 + 1}_{(offset + i) % 9 + 1}", np.arange(1, k + 1))
        for i, (s, k) in enumerate(zip(shows, lengths, strict=True))
    ]


def _dialogue_lengths(size: Plan, split: str, rng: np.random.Generator) -> np.ndarray:
    """Utterances per dialogue: `size.dialogues[split]` draws, or draws until exactly
    `size.utterances[split]` (the last dialogue cut to fit)."""
    low, high = size.turns
    if size.utterances is None:
        return rng.integers(low, high + 1, size.dialogues[split])
    total = size.utterances[split]
    lengths = rng.integers(low, high + 1, total // low + 1)
    ends = np.cumsum(lengths)
    count = int(np.searchsorted(ends, total)) + 1
    lengths = lengths[:count]
    lengths[-1] -= ends[count - 1] - total
    return lengths


def _make_split(
    flavor: str, size: Plan, split: str, offset: int, world: _World, rng: np.random.Generator
) -> _Split:
    spec = FLAVORS[flavor]
    lengths = _dialogue_lengths(size, split, rng)
    dialogues = _dialogues(spec, lengths, offset, rng)
    y = _label_rows(spec, lengths, rng)
    intensity = y * rng.choice(np.arange(1, 10), size=y.shape, p=INTENSITY_P) / 3
    texts, text, text_mask = _sentences(y, intensity, size.max_len["text"], world, rng)
    seqs = {"text": (text, text_mask)}
    for m in ("audio", "vision"):
        visible = np.array([VISIBILITY[m][key] for key in spec.cue_keys])
        signal = SIGNAL[m] * (intensity * visible) @ world.directions[m]
        seqs[m] = _frames(signal, size.max_len[m], rng)
    turns = np.cumsum(rng.random(len(y)) < 0.7) % 2
    return _Split(
        structure={d: [f"{d}_{c}" for c in clips] for d, clips in dialogues},
        rows=[(d, int(c), pos) for d, clips in dialogues for pos, c in enumerate(clips)],
        labels=y.astype(np.float32),
        intensity=np.round(intensity, 3),
        texts=texts,
        speakers=["AB"[t] for t in turns],
        va=_va_scores(spec, intensity, world, rng),
        seqs=seqs,
    )


def _dump_json(obj: object, path: Path) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")


def _dump_pickle(obj: object, path: Path, protocol: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def _write_features(
    feat: Path, spec: FlavorSpec, split: str, sp: _Split, protocol: int = 4
) -> None:
    for m in ("audio", "vision"):
        x, mask = sp.seqs[m]
        part = {
            m: x,
            f"{m}_utt_mask": mask,
            f"{m}_VA_values": sp.va[m].astype(np.float32),
            "labels_class": sp.labels,
        }
        path = feat / m[0].upper() / f"{spec.name}_{split}_{m}_utt_VA.pkl"
        _dump_pickle({split: part, "num_labels": len(spec.labels)}, path, protocol)
    x, mask = sp.seqs["text"]
    text = {"text": x, "text_utt_mask": mask, "text_VA_values": sp.va["text"].astype(np.float32)}
    _dump_pickle(text, feat / "T" / f"{spec.name}_{split}_text_glove300_VA.pkl", protocol)


def _text_va(sp: _Split) -> dict[str, list[str]]:
    """utt_id -> [text, valence, arousal], sorted by utt_id so readers must look rows up."""
    rows = zip(sp.utt_ids, sp.texts, sp.va["text"], strict=True)
    return dict(sorted((u, [t, f"{v:.6f}", f"{a:.6f}"]) for u, t, (v, a) in rows))


def _utt_annot(spec: FlavorSpec, sp: _Split) -> dict[str, dict[str, str]]:
    rows = zip(sp.utt_ids, sp.texts, sp.labels, sp.speakers, strict=True)
    return {
        u: {
            "text": t,
            "Emotion": ",".join(lab for lab, on in zip(spec.labels, y, strict=True) if on),
            "Speaker": s,
        }
        for u, t, y, s in rows
    }


def _write_mosei_csv(path: Path, spec: FlavorSpec, splits: dict[str, _Split]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["video_id", "clip_id", "text", *spec.labels, "mode", "truely_sort"])
        for s, sp in splits.items():
            for (d, c, pos), t, values in zip(sp.rows, sp.texts, sp.intensity, strict=True):
                writer.writerow([d, c, t, *(float(v) for v in values), s, pos])


def _write_utt_annot(path: Path, spec: FlavorSpec, splits: dict[str, _Split]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _dump_json({s: _utt_annot(spec, sp) for s, sp in splits.items()}, path)


# the released text file of each text order (the data record says which a dataset has)
TEXT_WRITERS = {"csv_rows": _write_mosei_csv, "annotation_keys": _write_utt_annot}


def _split_written(
    root: Path, flavor: str, size: Plan, split: str, offset: int, world: _World, rng
) -> _Split:
    """Generate one split, write its feature pickles, and keep all of it but those arrays, so a
    benchmark-sized dataset holds one split's features in memory at a time."""
    sp = _make_split(flavor, size, split, offset, world, rng)
    _write_features(
        root / RELEASED_MARKER / "final_feat", FLAVORS[flavor], split, sp, size.pickle_protocol
    )
    return dataclasses.replace(sp, seqs={})


def _write(root: Path, spec: FlavorSpec, splits: dict[str, _Split]) -> None:
    """The text and label files of docs/data-format.md §1 (`_split_written` writes the features); row i
    of each file of a split is the same utterance."""
    pre = root / RELEASED_MARKER
    _dump_json({s: sp.structure for s, sp in splits.items()}, pre / "videos_structure.json")
    _dump_json({s: _text_va(sp) for s, sp in splits.items()}, pre / "raw_utt_text_textVA.json")
    TEXT_WRITERS[spec.record.text_order](root / spec.record.text_file, spec, splits)


def _generic_split(spec: FlavorSpec, sp: _Split) -> dict:
    """One split as `write_dataset` takes it: the record's modalities only, real steps a prefix."""
    table: dict[str, list] = {
        "utt_id": sp.utt_ids,
        "dialogue_id": [d for d, _, _ in sp.rows],
        "turn": [position for _, _, position in sp.rows],
        "text": sp.texts,
    }
    for m in spec.record.modalities:
        table[f"{m}_valence"], table[f"{m}_arousal"] = sp.va[m].astype(np.float32).T.tolist()
    modalities = spec.record.modalities
    return {
        "table": table,
        "labels": sp.labels.astype(np.int64),
        "features": {m: sp.seqs[m][0] for m in modalities},
        "lengths": {m: sp.seqs[m][1].sum(1).astype(np.int64) for m in modalities},
    }


def _write_generic(root: Path, spec: FlavorSpec, splits: dict[str, _Split]) -> None:
    """The generic format (univa.data.generic.format); the tiny PLM goes beside it, as for the
    released flavours (the synthetic presets point `text.encoder` at it)."""
    splits_data = {s: _generic_split(spec, sp) for s, sp in splits.items()}
    written = write_dataset(root / "generic", spec.record.manifest(), splits_data)
    for entry in list(written.iterdir()):
        entry.rename(root / entry.name)
    written.rmdir()


def _choose(options: dict[str, T], key: str, what: str) -> T:
    if key not in options:
        raise ValueError(f"unknown {what} {key!r}; valid values: {', '.join(options)}")
    return options[key]


def write_synthetic_dataset(
    out_dir: str | Path, flavor: str = "mosei", seed: int = 1111, size: str = "default"
) -> Path:
    """Generate a dataset folder and return its path: the released layout (it holds
    ``preprocess_data/``), or the generic format for the `generic` flavour.

    Files go to a temporary sibling first and are moved into place at the end, so an
    interrupted run leaves no half dataset; an existing dataset is never overwritten.
    """
    spec = _choose(FLAVORS, flavor, "flavor")
    shape = plan(flavor, size)
    out = Path(out_dir)
    taken = [
        n for n in (RELEASED_MARKER, "final_multi_labels.csv", MANIFEST_FILE) if (out / n).exists()
    ]
    if taken:
        raise FileExistsError(
            f"{out} already holds a dataset ({', '.join(taken)}); not overwriting it"
        )
    from univa.data.synthetic.tiny_text_model import (
        write_tiny_text_model,  # transformers: only here
    )

    rng = np.random.default_rng(seed)
    world = _make_world(spec, shape.dims, rng)
    released = spec.record.text_file is not None
    with building_folder(out, last=spec.marker) as tmp:  # data modules look for it
        splits: dict[str, _Split] = {}
        offset = 0  # dialogues so far: keeps M3ED dialogue ids unique
        for s in SPLITS:
            if released:
                splits[s] = _split_written(tmp, flavor, shape, s, offset, world, rng)
            else:
                splits[s] = _make_split(flavor, shape, s, offset, world, rng)
            offset += len(splits[s].structure)
        (_write if released else _write_generic)(tmp, spec, splits)
        corpus = [text for split in splits.values() for text in split.texts]
        write_tiny_text_model(tmp / TEXT_MODEL_DIR, corpus, style=spec.text_style, seed=seed)
    return out
