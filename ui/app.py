"""Streamlit entry point (`deep-research ui` runs `streamlit run` on this file): the same-origin check, then
pages and the banner."""

from __future__ import annotations

import streamlit as st

from ui import backend, components, same_origin
from ui.markdown_safety import plain

st.set_page_config(page_title="deep-research", page_icon=":material/travel_explore:", layout="wide")

# Before any page, widget or action: a session opened by a page of another site gets nothing else.
if refused := same_origin.refusal(st.context.headers, st.get_option("server.allowedHosts")):
    st.error(
        f"**This session was refused**: {plain(refused)}.\n\nOpen the UI at the address `deep-research ui` "
        "printed; to reach it by another name, start it with `deep-research ui --allowed-host NAME`.",
        icon=":material/gpp_bad:",
    )
    st.stop()

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
