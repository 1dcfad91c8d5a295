"""The model lifecycle: a watched models directory whose new GGUF files are validated before they
serve anyone, swapped in atomically, and rolled back on demand (``fireside models ...``)."""
