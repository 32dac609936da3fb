"""The sample pictures offered on the upload page, with the credits their licences ask for.

static/samples/samples.json lists them (file, title, author, licence,
source); static/samples/CREDITS.md says the same for people.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app


@dataclass(frozen=True)
class Sample:
    name: str  # the file's stem: what the form posts, never a path
    path: Path
    title: str
    author: str
    licence: str
    source: str


def load_samples(folder: Path) -> dict[str, Sample]:
    """name -> Sample, in the listing's order; a listed file that is missing stops the start."""
    listing = json.loads((folder / "samples.json").read_text(encoding="utf-8"))
    samples = {}
    for entry in listing:
        path = folder / entry["file"]
        if not path.is_file():
            raise FileNotFoundError(f"sample {path} is listed in samples.json but missing")
        samples[path.stem] = Sample(path.stem, path, entry["title"], entry["author"], entry["licence"],
                                    entry["source"])
    return samples


def init_app(app: Flask, folder: Path) -> None:
    """Load the samples listed in `folder` for this app."""
    app.extensions["samples"] = load_samples(folder)


def current_samples() -> dict[str, Sample]:
    """The current app's samples, name -> Sample (loaded by init_app)."""
    return current_app.extensions["samples"]
