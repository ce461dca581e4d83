"""Backends by name: every registry entry imports to what it promises, and adding a backend is one module
plus one registry line (a throwaway module here, registered at test time, reaches `load` and the CLI)."""

import sys

import pytest

from vlmteach import reasoners, teachers
from vlmteach.cli.main import main
from vlmteach.errors import VlmteachError
from vlmteach.registry import Registry, resolve

# A backend module as a user would write one: factories wrapping the built-in tiny models, recording the spec.
THROWAWAY = '''
from vlmteach.reasoners.tiny import from_spec as tiny_reasoner
from vlmteach.teachers.tiny import from_spec as tiny_teacher

CALLS = []


def reasoner(path):
    CALLS.append(("reasoner", path))
    return tiny_reasoner(None)


def teacher(path):
    CALLS.append(("teacher", path))
    return tiny_teacher(None)
'''
MODULE = "vlmteach_throwaway_backends"


@pytest.fixture
def throwaway(tmp_path, monkeypatch):
    """The throwaway module registered as reasoner "echo" and teacher "echo_judge"; the registries and
    sys.modules are restored afterwards."""
    (tmp_path / f"{MODULE}.py").write_text(THROWAWAY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(reasoners.BACKENDS, "targets", dict(reasoners.BACKENDS.targets))
    monkeypatch.setattr(teachers.BACKENDS, "targets", dict(teachers.BACKENDS.targets))
    reasoners.register("echo", f"{MODULE}:reasoner")
    teachers.register("echo_judge", f"{MODULE}:teacher")
    yield
    module = sys.modules.pop(MODULE, None)
    if module is not None:
        module.CALLS.clear()


@pytest.mark.parametrize("registry", [reasoners.BACKENDS, teachers.BACKENDS], ids=["reasoners", "teachers"])
def test_every_backend_resolves_to_a_factory(registry):
    for name in registry.names():
        assert callable(registry.get(name)), name


@pytest.mark.parametrize("registry", [reasoners.TINY_CHECKS, teachers.TINY_CHECKS], ids=["reasoners", "teachers"])
def test_every_tiny_check_entry_is_labelled_builders_of_a_registered_backend(registry):
    backends = reasoners.BACKENDS if registry is reasoners.TINY_CHECKS else teachers.BACKENDS
    for name in registry.names():
        assert name in backends
        pairs = registry.get(name)
        assert pairs and all(isinstance(label, str) and callable(build) for label, build in pairs), name


def test_names_and_unknown_names():
    assert reasoners.names() == ["tiny", "wan", "wan_tiny"]
    assert teachers.names() == ["tiny", "openai_chat", "qwen_vl", "qwen_vl_tiny"]
    with pytest.raises(VlmteachError, match="^unknown reasoner 'x'; known: tiny, wan, wan_tiny$"):
        reasoners.load("x")
    with pytest.raises(VlmteachError, match="^unknown teacher 'x'; known: tiny, openai_chat, qwen_vl, qwen_vl_tiny$"):
        teachers.load("x")


def test_a_registered_backend_loads_and_is_listed(throwaway):
    import vlmteach_throwaway_backends as module
    from vlmteach.reasoners.tiny import TinyReasoner
    from vlmteach.teachers.tiny import TinyTeacher

    assert isinstance(reasoners.load("echo", "some,spec"), TinyReasoner)
    assert isinstance(teachers.load("echo_judge"), TinyTeacher)
    assert module.CALLS == [("reasoner", "some,spec"), ("teacher", None)]
    assert reasoners.names()[-1] == "echo" and teachers.names()[-1] == "echo_judge"
    with pytest.raises(VlmteachError, match="known: tiny, wan, wan_tiny, echo$"):
        reasoners.load("nope")
    with pytest.raises(VlmteachError, match="known: tiny, openai_chat, qwen_vl, qwen_vl_tiny, echo_judge$"):
        teachers.load("nope")


def test_solve_accepts_a_registered_backend_from_the_command_line(throwaway, tmp_path, capsys):
    import vlmteach_throwaway_backends as module

    with pytest.raises(SystemExit):
        main(["solve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "wan_tiny, echo" in help_text and "qwen_vl_tiny, echo_judge" in help_text
    out = tmp_path / "x.mp4"
    assert main(["solve", "--family", "maze", "--method", "vanilla", "--reasoner", "echo:a,b=1",
                 "--teacher", "echo_judge", "--out", str(out)]) == 0
    assert out.exists() and module.CALLS == [("teacher", None), ("reasoner", "a,b=1")]
    assert main(["solve", "--family", "maze", "--method", "vanilla", "--reasoner", "nope",
                 "--out", str(tmp_path / "y.mp4")]) == 2
    assert "unknown reasoner 'nope'; known: tiny, wan, wan_tiny, echo" in capsys.readouterr().err


def test_register_needs_a_module_and_an_attribute():
    registry = Registry("gadget", {})
    for bad in ("nocolon", ":attr", "module:"):
        with pytest.raises(VlmteachError, match=f"gadget 'g': target '{bad}' is not 'module:attribute'"):
            registry.register("g", bad)
    registry.register("g", "vlmteach.errors:TaskError")
    assert "g" in registry and registry.names() == ["g"]
    assert registry.get("g") is resolve("vlmteach.errors:TaskError")


def test_importing_the_packages_loads_no_model_code():
    """The CLI builds its parser from the registries: listing names must not import torch (run in a fresh
    process, since this one has torch loaded already)."""
    import subprocess

    code = ("import sys; from vlmteach import reasoners, teachers; reasoners.names(); teachers.names(); "
            "print(','.join(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_backend_class_is_the_reasoner_class_without_loading_a_model():
    from vlmteach import reasoners
    from vlmteach.reasoners.registry import CLASSES
    from vlmteach.reasoners.tiny import TinyReasoner

    assert reasoners.backend_class("tiny") is TinyReasoner
    assert reasoners.backend_class("no-such-backend") is None  # checked per job instead
    CLASSES.register("broken", "vlmteach_no_such_module:Reasoner")
    try:
        assert reasoners.backend_class("broken") is None  # a missing extra: loading it will say which
    finally:
        del CLASSES.targets["broken"]
