"""deep-research: a crash-proof multi-agent research assistant (pydantic-ai + DBOS), offline by default."""

__version__ = "0.3.0"

__all__ = ["__version__"]
