"""The Hugging Face Space's own code (``app.py`` is its shell): presentation helpers and time estimates.

Not part of the ``landscape4d`` library: everything here serves the page, and every limit, default and rule it
shows comes from the library (``landscape4d.settings``, ``photo``, ``pipeline``, ``trajectories``, ``exporters``).
"""
