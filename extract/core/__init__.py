"""The core: one record from one text with one model.

The retry-and-repair loop (``_loop``: prompt, call, repair, validate, re-ask) as a
sans-IO generator and its two drivers, what a call is given (``_options``,
``_prompt``, ``_fields``), what it gives back (``_result``, ``_errors``), the repair of
free text (``_repair``), long texts read in chunks (``_long``), the embedded default
model (``_model``) and the grounding of values in the text (``grounding``). It uses
``extract.schemas`` and ``extract.backends`` and nothing above it.
"""
