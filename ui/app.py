"""Streamlit entry point (`deep-research ui` runs `streamlit run` on this file): pages and the banner."""

from __future__ import annotations

import streamlit as st

from ui import backend, components

st.set_page_config(page_title="deep-research", page_icon=":material/travel_explore:", layout="wide")

pages = [
    st.Page(
        "views/new_research.py", title="New research", icon=":material/edit:", url_path="new", default=True
    ),
    st.Page("views/run.py", title="Run", icon=":material/description:", url_path="run"),
    st.Page("views/history.py", title="History", icon=":material/history:", url_path="history"),
]
page = st.navigation(pages)
settings = backend.settings()
backend.client()  # an unusable database gets its error page before anything else is drawn
components.banner(settings)
with st.sidebar:
    components.worker_panel(settings)
page.run()
