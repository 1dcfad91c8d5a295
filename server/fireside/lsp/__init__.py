"""The LSP layer: thin handlers that translate lsprotocol types to domain calls and back."""
