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


class Alias(BaseModel):
    """Another name by which a question may name an entity: a former or local name, the people's name, its
    capital, its highest mountain. `kind` says which, so a question naming a capital can be read as asking
    about the capital."""

    name: str
    entity: str
    kind: str
    """"name" (another name of the entity or of its people), "capital" or "mountain"."""
