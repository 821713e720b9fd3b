"""The Streamlit web UI of deep-research: ask a question, watch the run, crash the worker, read the report.

`deep-research ui` serves `ui/app.py`. The UI talks to runs only through `research_agent.client` and reads
everything it shows from the database, so a browser refresh or a UI restart loses nothing.
"""
