"""Command handlers of the suggestions context, one module per aggregate; each is ``(command, ctx)``.

``context.py``: the handlers' context and the one load → check → decide → append path;
``references.py``: the ids a body names (exist and visible, or 422); ``suggestions.py``,
``oversight.py``, ``opinions.py``, ``units.py``: the handlers; ``attachments.py``: the files.
"""
