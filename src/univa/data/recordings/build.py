"""A folder of recordings to a dataset in the generic format: every recording extracted into a
part (in parallel worker processes, with a progress bar, resuming where an interrupted run
stopped, or only a shard `I/N` of them for a job array), then the parts assembled into the
dataset, labelled and split, written atomically by `dataset_writer`.

Parts live in `<out>.parts/` beside the dataset until it is written; the extraction options
are kept there (`recipe.json`), so a resumed or sharded run with other options is refused."""

from __future__ import annotations

import json
import os
import shutil
import signal
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from multiprocessing import get_context
from pathlib import Path

from univa.constants import SPLITS
from univa.data.generic.write import dataset_writer
from univa.data.recordings.audio import smile
from univa.data.recordings.media import find_recordings
from univa.data.recordings.recipe import Recipe
from univa.data.recordings.recording import (
    Part,
    extract_recording,
    is_done,
    load_part,
    part_key,
    save_part,
)
from univa.data.recordings.tables import (
    TIME_TOLERANCE,
    LabelRow,
    LabelTable,
    Segment,
    read_labels,
    read_subtitles,
    read_transcripts,
    recording_splits,
    sidecar_subtitles,
)
from univa.errors import InputError, InterruptedRunError, OutputWriteError, UsageError
from univa.files import holds_something
from univa.progress import progress_bar
from univa.safe_json import read_json

RECIPE_FILE = "recipe.json"
EXTRACTORS = ("opensmile", "faster-whisper")  # whose versions the provenance records


@dataclass(frozen=True)
class Extraction:
    """What `univa.extract` was asked: the recordings (`source`, a file or folder), the dataset
    to write (`out`), the recipe, the optional transcripts and labels tables, the split seed,
    the worker processes, the shard (`(index, count)`, None for all), and the manifest's
    name, text encoder and language."""

    source: Path
    out: Path
    recipe: Recipe
    transcripts: Path | None
    labels: Path | None
    seed: int
    workers: int | None
    shard: tuple[int, int] | None
    name: str | None
    text_encoder: str | None
    language: str | None


def parts_folder(out: Path) -> Path:
    """Where the parts of the dataset `out` are kept until it is written."""
    return out.with_name(out.name + ".parts")


def extractor_versions() -> dict[str, str]:
    """The installed versions of the extractors, for the manifest's provenance."""
    found = {}
    for package in EXTRACTORS:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _claim_parts(parts: Path, recipe: Recipe) -> None:
    """Create `parts` for `recipe`, or check that the parts already there were extracted with
    it; of shards starting together, the first to write the record sets it for all."""
    wanted = asdict(recipe)
    record = parts / RECIPE_FILE
    parts.mkdir(parents=True, exist_ok=True)
    try:
        with record.open("x", encoding="utf-8") as file:
            file.write(json.dumps(wanted))
        return
    except FileExistsError:
        kept = read_json(record)
    if kept != wanted:
        raise UsageError(
            f"{parts} holds recordings extracted with {kept}, not {wanted}: use the same "
            "options to resume, or remove that folder"
        )


def recording_segments(
    job: Extraction, recordings: Mapping[str, Path]
) -> dict[str, list[Segment] | None]:
    """Recording -> its segments: from the transcripts table, else the subtitles beside it,
    else None (speech recognition, or the whole recording)."""
    table = (
        read_transcripts(job.transcripts, recordings, job.source)
        if job.transcripts is not None
        else {}
    )
    segments: dict[str, list[Segment] | None] = {}
    for recording, media in recordings.items():
        subtitles = sidecar_subtitles(media)
        if recording in table:
            segments[recording] = table[recording]
        elif subtitles is not None:
            segments[recording] = read_subtitles(subtitles)
        else:
            segments[recording] = None
    return segments


def _extract_into(
    recording: str, media: Path, recipe: Recipe, segments: list[Segment] | None, path: Path
) -> str | None:
    """A worker's task: extract and save one recording's part; why it was skipped, or None.
    A problem of the recording is a skip; one of the options or of writing stops all."""
    try:
        save_part(extract_recording(recording, media, recipe, segments), path)
    except (UsageError, OutputWriteError):  # the options, or the disk: no use going on
        raise
    except InputError as error:
        return str(error)
    except Exception as error:  # a decoder or extractor failing on this file alone
        return f"{media}: {type(error).__name__}: {error}"
    return None


Task = tuple[str, Path, Recipe, "list[Segment] | None", Path]


def _leave_ctrl_c_to_the_parent() -> None:
    """A worker prints nothing on Ctrl-C: the parent stops the workers and says how to resume."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_pool(
    tasks: Mapping[str, Task], workers: int, done: Callable[[str, str | None], None]
) -> None:
    """Run `tasks` in `workers` spawned processes, calling `done(recording, why_skipped)` as each
    ends. A worker that dies (a decoder crashing on a hostile file) breaks the pool: the
    recordings it left unfinished are then run one per fresh process, so that the one that
    kills its process is skipped, named, and the others still extracted."""
    unfinished = dict(tasks)
    # spawn: a fresh interpreter per worker, nothing of the parent's threads inherited
    context = get_context("spawn")
    with ProcessPoolExecutor(workers, context, initializer=_leave_ctrl_c_to_the_parent) as pool:
        futures = {pool.submit(_extract_into, *task): r for r, task in tasks.items()}
        try:
            for future in as_completed(futures):
                recording = futures[future]
                done(recording, future.result())
                del unfinished[recording]
        except BrokenProcessPool:
            pass
        except BaseException as error:  # a stopping error, or Ctrl-C: stop (parts are whole)
            if isinstance(error, KeyboardInterrupt):  # a second Ctrl-C would cut the clean-up
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            for process in list(pool._processes.values()):  # no public way to stop them at once
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    for recording, task in unfinished.items():
        if is_done(task[4]):  # finished before the pool broke, not yet reported
            done(recording, None)
        elif len(tasks) == 1:
            done(recording, f"{task[1]}: the process extracting it died (a decoder crash?)")
        else:
            _in_pool({recording: task}, 1, done)


def extract_parts(
    todo: Mapping[str, Path],
    segments: Mapping[str, list[Segment] | None],
    recipe: Recipe,
    paths: Mapping[str, Path],
    workers: int | None,
) -> dict[str, str]:
    """Extract the recordings `todo` into their part folders `paths` in `workers` processes
    (None: one per CPU core, at most one per recording), or in this process for `workers=1`;
    returns the skipped ones, recording -> why."""
    skipped: dict[str, str] = {}
    tasks = {r: (r, todo[r], recipe, segments[r], paths[r]) for r in todo}
    with progress_bar(len(tasks), "extracting") as advance:

        def done(recording: str, why: str | None) -> None:
            if why is not None:
                skipped[recording] = why
            advance(1)

        if workers == 1:
            for recording, task in tasks.items():
                done(recording, _extract_into(*task))
        elif tasks:
            _in_pool(tasks, workers or min(os.cpu_count() or 1, len(tasks)), done)
    return skipped


def _label_index(table: LabelTable, parts: Mapping[str, Part]) -> dict[str, LabelRow]:
    """Utterance id -> its label row, by `utt_id`, by start and end, or by recording (a
    recording of one utterance); a row matching no utterance, nor one left out, is refused."""
    found: dict[str, LabelRow] = {}
    for row in table.rows:
        part = parts.get(row.recording)
        if part is None:  # a recording skipped, with its warning
            continue
        candidates = [*part.utterances, *part.left_out]
        if row.utt_id is not None:
            match = [u for u in candidates if u["utt_id"] == row.utt_id]
        elif row.start is not None:
            match = [
                u
                for u in candidates
                if abs(u["start"] - row.start) <= TIME_TOLERANCE
                and abs(u["end"] - row.end) <= TIME_TOLERANCE
            ]
        else:
            match = candidates
            if len(candidates) > 1:
                raise InputError(
                    f"{row.where}: {row.recording} has {len(candidates)} utterances; label them "
                    "by utt_id or start and end"
                )
        if not match:
            raise InputError(f"{row.where}: matches no utterance of {row.recording}")
        if match[0]["utt_id"] in found:
            raise InputError(f"{row.where}: labels {match[0]['utt_id']} a second time")
        found[match[0]["utt_id"]] = row
    return found


def write_parts(
    job: Extraction,
    parts: Mapping[str, Part],
    labels: LabelTable | None,
    split_of: Mapping[str, str],
) -> Path:
    """The dataset `job.out` from the recordings' `parts`, labelled by `labels` and split as
    `split_of` says (a recording it leaves out has no label row: its utterances too)."""
    index = _label_index(labels, parts) if labels is not None else None
    rows: dict[str, list[tuple[str, int, dict, object, LabelRow | None]]] = {}
    unlabelled = 0
    for recording in sorted(parts):
        part, kept = parts[recording], []
        for utterance, audio in zip(part.utterances, part.audio, strict=True):
            row = index.get(utterance["utt_id"]) if index is not None else None
            if recording not in split_of or (index is not None and row is None):
                unlabelled += 1
            else:
                kept.append((utterance, audio, row))
        if kept:
            chosen = rows.setdefault(split_of[recording], [])
            chosen += [(recording, turn, *entry) for turn, entry in enumerate(kept)]
    if unlabelled:
        warnings.warn(
            f"{unlabelled} utterances have no row in labels={job.labels}: left out", stacklevel=2
        )
    if not rows:
        raise InputError(f"univa.extract: no utterance of input={job.source} to write")
    label_names = list(labels.labels) if labels is not None else []
    manifest = {
        "name": job.name or job.out.name,
        **({"labels": label_names} if labels is not None else {}),
        "features": job.recipe.provenance(extractor_versions()),
        **({"text_encoder": job.text_encoder} if job.text_encoder else {}),
        **({"language": job.language} if job.language else {}),
    }
    header = ["utt_id", "dialogue_id", "turn", "text", "start", "end", *label_names]
    with dataset_writer(job.out, manifest) as writer:
        for split in [s for s in SPLITS if s in rows]:
            chosen = rows[split]
            steps = max(len(audio) for *_, audio, _ in chosen)
            width = chosen[0][3].shape[1]
            with writer.split(split, header, len(chosen), {"audio": (steps, width)}) as out:
                for recording, turn, utterance, audio, row in chosen:
                    cells = [utterance["utt_id"], recording, turn, utterance["text"]]
                    cells += [f"{utterance['start']:.3f}", f"{utterance['end']:.3f}"]
                    out.add([*cells, *(row.values if row else ())], {"audio": audio})
    return job.out


def _shard(recordings: Mapping[str, Path], shard: tuple[int, int] | None) -> dict[str, Path]:
    if shard is None:
        return dict(recordings)
    index, count = shard
    return {r: p for i, (r, p) in enumerate(sorted(recordings.items())) if i % count == index}


def run_extraction(job: Extraction, report: Callable[[str], None] = print) -> Path | None:
    """Extract `job`'s recordings (its shard of them) and, unless sharded, write the dataset;
    returns the dataset folder, or None for a shard. Options and tables are checked before
    any recording is decoded; a recording that fails is skipped with a warning."""
    if holds_something(job.out):
        raise UsageError(f"out={job.out} exists and is not empty; not writing into it")
    recordings = find_recordings(job.source)
    segments = recording_segments(job, recordings)
    untold = [r for r, cut in segments.items() if cut is None]
    if untold and job.recipe.asr_model is None:
        warnings.warn(
            f"{len(untold)} recordings ({', '.join(untold[:3])}{', ...' if len(untold) > 3 else ''})"
            " have no transcript row, no subtitles beside them and no asr_model=: each is one "
            "utterance without text",
            stacklevel=2,
        )
    labels = read_labels(job.labels, recordings, job.source) if job.labels else None
    split_of = recording_splits(labels, recordings, job.seed)  # two splits: refused now
    smile(job.recipe)  # an unknown feature set, or no openSMILE: refused before any part
    parts = parts_folder(job.out)
    _claim_parts(parts, job.recipe)
    mine = _shard(recordings, job.shard)
    paths = {r: parts / part_key(r, media, segments[r]) for r, media in mine.items()}
    todo = {r: media for r, media in mine.items() if not is_done(paths[r])}
    if len(todo) < len(mine):
        report(f"resuming: {len(mine) - len(todo)} of {len(mine)} recordings already extracted")
    try:
        skipped = extract_parts(todo, segments, job.recipe, paths, job.workers)
    except KeyboardInterrupt:
        kept = sum(is_done(path) for path in paths.values())
        raise InterruptedRunError(
            f"extraction interrupted: {kept} of {len(mine)} recordings are kept in {parts}; "
            "the same command again resumes"
        ) from None
    for why in skipped.values():
        warnings.warn(f"skipped: {why}", stacklevel=2)
    done = {r: path for r, path in paths.items() if is_done(path)}
    if job.shard is not None:
        report(
            f"shard {job.shard[0]}/{job.shard[1]}: {len(done)} of {len(mine)} recordings in "
            f"{parts}; run again without shard= to write {job.out}"
        )
        return None
    loaded = {r: load_part(path) for r, path in done.items()}
    for part in loaded.values():
        for warning in part.warnings:
            warnings.warn(warning, stacklevel=2)
    out = write_parts(job, loaded, labels, split_of)
    shutil.rmtree(parts, ignore_errors=True)
    report(f"wrote {out}: {len(loaded)} of {len(recordings)} recordings")
    return out
