"""History: every run, newest first, filterable by status; select a row to open it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from research_agent.schema import Phase
from ui import backend

client = backend.client()

st.title("History", anchor=False)
left, right = st.columns([3, 1])
phases = left.multiselect("Status", [p.value for p in Phase], placeholder="All statuses")
limit = right.selectbox("Show the last", [50, 200, 1000], index=1)

with backend.database_errors():
    runs = client.list_runs(limit=limit)
if phases:
    runs = [r for r in runs if r.phase.value in phases]
if not runs:
    st.info("No runs yet." if not phases else "No run has the chosen status.")
    st.page_link("views/new_research.py", label="Start a new research", icon=":material/edit:")
    st.stop()

frame = pd.DataFrame(
    [
        {
            "question": r.question,
            "status": r.phase.value,
            "duration (s)": (
                round((r.updated_at - r.created_at).total_seconds(), 1)
                if r.phase.finished and r.created_at and r.updated_at
                else None
            ),
            "created": r.created_at.astimezone() if r.created_at else None,
            "run id": r.run_id,
        }
        for r in runs
    ]
)
st.caption(f"{len(runs)} run{'s' if len(runs) != 1 else ''} · select a row to open it")
selection = st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "question": st.column_config.TextColumn(width="large"),
        "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
    },
    key="history-table",
)
rows = selection.selection.rows if selection else []
if rows:
    st.switch_page("views/run.py", query_params={"run": frame.iloc[rows[0]]["run id"]})

chosen = st.selectbox(
    "Or open a run by id", [r.run_id for r in runs], index=None, placeholder="Run id", key="open-run-id"
)
if chosen:
    st.switch_page("views/run.py", query_params={"run": chosen})
