"""The teacher layer: vision-language judges behind one Teacher interface."""

from __future__ import annotations

from pathlib import Path

from vlmteach.errors import VlmteachError
from vlmteach.paths import weights_dir
from vlmteach.teachers.base import QuerySet, Teacher, TeacherCost
from vlmteach.teachers.rulebook import generic_queries


def load(name: str = "tiny", path: str | Path | None = None) -> Teacher:
    """A teacher by name: "tiny" loads the shipped weights (or those in `path`); "openai_chat" is a
    query writer at the URL in `path` ("URL[,model=NAME,...]"), to combine with a judge; "qwen_vl" is a
    Qwen2.5-VL / Qwen3-VL model in a local folder or the offline cache ("PATH[,dtype=bf16,frames=8,...]");
    "qwen_vl_tiny" a random tiny one ("[qwen3_vl|qwen2_5_vl][,...]") for checking the code path."""
    if name == "tiny":
        from vlmteach.teachers.tiny import TinyTeacher

        return TinyTeacher.load(path or weights_dir())
    if name == "openai_chat":
        from vlmteach.teachers.openai_chat import OpenAIChatWriter, parse_spec

        if not path:
            raise VlmteachError("openai_chat needs a URL: openai_chat:http://HOST:PORT/v1[,model=NAME]")
        return OpenAIChatWriter(parse_spec(str(path)))
    if name == "qwen_vl":
        from vlmteach.teachers.qwen_vl import QwenVLTeacher
        from vlmteach.teachers.qwen_vl import parse_spec as parse_qwen_spec

        if not path:
            raise VlmteachError("qwen_vl needs a model folder or cached model id: qwen_vl:PATH[,dtype=bf16,device=cuda,frames=8]")
        model_path, cfg = parse_qwen_spec(str(path))
        return QwenVLTeacher.from_pretrained(model_path, cfg)
    if name == "qwen_vl_tiny":  # random weights: for checking the code path, e.g. `vlmteach solve --teacher qwen_vl_tiny`
        from vlmteach.specs import parse_spec_options
        from vlmteach.teachers.qwen_tiny import tiny_qwen_vl
        from vlmteach.teachers.qwen_vl import QwenVLConfig

        kind, given = parse_spec_options(str(path or "qwen3_vl"), QwenVLConfig, "qwen_vl_tiny", "a kind (qwen3_vl, qwen2_5_vl)")
        return tiny_qwen_vl(kind, **given)
    raise VlmteachError(f"unknown teacher {name!r}; known: {', '.join(KNOWN)}")


KNOWN = ("tiny", "openai_chat", "qwen_vl", "qwen_vl_tiny")


__all__ = ["QuerySet", "Teacher", "TeacherCost", "generic_queries", "load", "weights_dir"]
