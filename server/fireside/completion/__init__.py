"""Completions from a local model: prompt building, generation, post-processing. No pygls here."""
