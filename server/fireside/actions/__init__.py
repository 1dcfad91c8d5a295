"""Code actions written by the local model and checked before they are offered: docstrings, type hints,
quick fixes and function bodies. Each action proposes an :class:`~fireside.actions.validate.Edit`; the
shared check in ``validate.py`` accepts it, or it is regenerated once with the error and then dropped.

Nothing here imports pygls: the LSP layer (``fireside.lsp.code_actions``) converts to and from the protocol.
"""
