"""Tiny but real GGUF models (llama architecture, random weights) whose vocabularies have, or lack,
fill-in-the-middle and repository tokens: llama.cpp loads them in milliseconds, so the way the server
reads a model's special tokens is tested on real files, offline."""

from __future__ import annotations

from pathlib import Path

import numpy

FIM = ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>")
REPOSITORY = ("<|repo_name|>", "<|file_sep|>")
_BASE = ["<unk>", "<s>", "</s>", *[f"<0x{byte:02X}>" for byte in range(256)], "▁", "▁x", "▁=", "▁1", "def", "▁return"]


def write_model(path: Path, special: tuple[str, ...] = ()) -> Path:
    """A one-layer model whose vocabulary ends with ``special`` (control tokens)."""
    import gguf

    vocab = [*_BASE, *special]
    dim, heads, ff = 32, 2, 64
    rng = numpy.random.default_rng(0)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(path.stem)
    writer.add_context_length(512)
    writer.add_embedding_length(dim)
    writer.add_block_count(1)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(dim // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(vocab)
    writer.add_token_scores([float(-index) for index in range(len(vocab))])
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * (len(_BASE) - 259)
    types += [gguf.TokenType.CONTROL] * len(special)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)

    def tensor(name: str, *shape: int) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(numpy.float32))

    tensor("token_embd.weight", len(vocab), dim)
    writer.add_tensor("output_norm.weight", numpy.ones(dim, dtype=numpy.float32))
    tensor("output.weight", len(vocab), dim)
    writer.add_tensor("blk.0.attn_norm.weight", numpy.ones(dim, dtype=numpy.float32))
    for part in ("attn_q", "attn_k", "attn_v", "attn_output"):
        tensor(f"blk.0.{part}.weight", dim, dim)
    writer.add_tensor("blk.0.ffn_norm.weight", numpy.ones(dim, dtype=numpy.float32))
    tensor("blk.0.ffn_gate.weight", ff, dim)
    tensor("blk.0.ffn_up.weight", ff, dim)
    tensor("blk.0.ffn_down.weight", dim, ff)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
