"""The unit of retrieval."""

from __future__ import annotations

from pydantic import BaseModel


class Passage(BaseModel):
    """A titled piece of a document: what a corpus search returns."""

    title: str
    entity: str = ""
    """What the passage is about (a country, a document): searches that name it are narrowed to it."""
    section: str = ""
    location: str
    text: str
