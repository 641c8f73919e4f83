"""Raw recordings (video or audio files) to a dataset in the generic format: decoding
(`media`), segments, labels and splits (`tables`), features (`audio`, `asr`), one recording's
extraction (`recording`) and the whole folder's, in parallel, resumable and sharded (`build`).
The extractors are optional extras: `pip install 'univa[extract]'` (and `[asr]`)."""
