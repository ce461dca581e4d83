"""Makes family_properties.py (the property checks every task family must pass) importable by the test
modules here, with pytest's assertion messages: the tests run with --import-mode=importlib, which puts
no test folder on sys.path."""

import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))
pytest.register_assert_rewrite("family_properties")
