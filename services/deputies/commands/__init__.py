"""Commands of the deputies context and their handlers, one module per aggregate.

Every handler takes ``(command, context)``: a ``CommandContext`` of a request, or the operator's
``OperatorContext`` (``context.py``) for the ``renda`` verbs. It loads one aggregate, checks
access, decides and appends through ``EventStore.execute``, which also answers a retried
command (same command id) with what it did the first time: no handler checks that by hand.
"""
