"""Measuring research quality with pydantic-evals: a dataset of questions over the bundled corpora, the
evaluators that score each run's report, and the runner behind `deep-research eval`.

Every case runs through the real `deep_research` workflow on a worker, like any run, and the evaluators
read the run's final status. See `evals/README.md` for the dataset and the figures.
"""
